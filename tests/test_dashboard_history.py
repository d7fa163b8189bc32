"""The dashboard reads a year of history without rebuilding it per request: period ends found by searching
the marks' times (exact Decimals for ~366 marks, not 8,760), and the read-only store's float series kept
between requests, read again only for the rows the bot added since."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given, settings, strategies as st

from handlers.commands import Context, dispatch
from tests.conftest import World
from tests.dashboard_world import build_history
from tradingbot.adapters.readonly_store import ReadOnlyStore
from tradingbot.app.dashboard_reports import Reports
from tradingbot.core.domain import EquityMark
from tradingbot.core.params import StrategyParams
from tradingbot.core.performance import closing_indices, daily_closes, day_ends, period_returns
from handlers import period_text
from web import api, tables

# Zones whose clocks jump at or around midnight (São Paulo until 2019, Lord Howe's half hour, Apia's lost day)
ZONES = ("UTC", "Europe/Paris", "America/Sao_Paulo", "Australia/Lord_Howe", "Pacific/Apia", "Asia/Kathmandu")
START = datetime(2011, 12, 20, tzinfo=timezone.utc)


@settings(max_examples=60, deadline=None)
@given(zone=st.sampled_from(ZONES), start_days=st.integers(0, 2_900),
       gaps=st.lists(st.integers(1, 40 * 3600), min_size=1, max_size=120))
def test_period_ends_found_by_search_give_every_period_exactly_as_all_marks_do(zone, start_days, gaps):
    tz, t = ZoneInfo(zone), START + timedelta(days=start_days)
    marks = []
    for i, gap in enumerate(gaps):
        t += timedelta(seconds=gap)
        marks.append(EquityMark(t, Decimal(1000 + i * 7 % 13), Decimal(0), Decimal(0)))
    times = [m.time.timestamp() for m in marks]
    by_day = [i for i in range(len(marks))
              if i == len(marks) - 1 or marks[i + 1].time.astimezone(tz).date() != marks[i].time.astimezone(tz).date()]
    assert day_ends(times, tz) == by_day
    closing = [marks[i] for i in closing_indices(times, tz)]
    for period in ("day", "week", "month"):
        assert period_returns(closing, tz, period) == period_returns(marks, tz, period)


def test_the_dashboard_and_the_chat_show_the_same_period_figures(world, tmp_path):
    asyncio.run(build_history(world, days=4))
    world.store.add_mark(EquityMark(world.clock.now() - timedelta(days=9), Decimal("123.45"), Decimal(0),
                                    Decimal(0)))  # marked out of order: an older day appears
    world.services.set_params("timezone=Asia/Tokyo", "test")  # the manager's calendar, read by both
    reports = Reports(ReadOnlyStore(tmp_path / "bot.sqlite"), world.clock, StrategyParams())
    body, _ = asyncio.run(api.performance(reports, {"window": "all"}))
    daily = asyncio.run(dispatch(Context(world.services, "console"), "/daily 10")).text
    full = period_returns(world.store.marks(), ZoneInfo("Asia/Tokyo"), "day")  # every mark, exact
    assert len(full) == 6  # the day marked out of order, and five of the history
    assert daily == period_text.periods(full, "day", 10, "USDT", ZoneInfo("Asia/Tokyo"))
    assert body["tables"]["daily"] == tables.periods(full).json()


def _vm_steps(store: ReadOnlyStore, read) -> int:
    """SQLite work (hundreds of VM instructions) a read takes: work done, not wall time."""
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0
    store.db.conn.set_progress_handler(count, 100)
    try:
        read()
    finally:
        store.db.conn.set_progress_handler(None, 0)
    return steps[0]


def test_after_a_write_the_store_reads_only_the_new_rows_and_answers_as_a_fresh_one(world, tmp_path):
    asyncio.run(build_history(world, days=6))
    path = tmp_path / "bot.sqlite"
    store = ReadOnlyStore(path)
    read_all = (lambda: store.equity_series(), lambda: store.value_layers(8))
    first = [_vm_steps(store, read) for read in read_all]
    paris = ZoneInfo("Europe/Paris")
    assert store.closing_ids(paris) == world.store.closing_ids(paris)  # the writer's, found over every mark
    world.clock.advance(timedelta(hours=1))
    asyncio.run(world.services.mark())  # one new mark
    asyncio.run(world.services.rebalance_slot())  # one new inventory snapshot
    again = [_vm_steps(store, read) for read in read_all]
    assert all(a * 3 < f for a, f in zip(again, first)), (first, again)
    fresh = ReadOnlyStore(path)
    assert store.equity_series() == fresh.equity_series()
    assert store.closing_ids(paris) == fresh.closing_ids(paris) == world.store.closing_ids(paris)
    assert store.daily_closes(paris) == daily_closes(*fresh.equity_series(), paris)  # searched over every mark
    assert store.closing_marks(ZoneInfo("UTC")) == world.store.closing_marks(ZoneInfo("UTC"))  # another zone
    assert store.value_layers(8) == fresh.value_layers(8)
    world.store.add_mark(EquityMark(world.clock.now() - timedelta(days=3), Decimal(1), Decimal(1), Decimal(0)))
    assert store.equity_series() == ReadOnlyStore(path).equity_series()  # out of order: read all again
    assert store.closing_ids(paris) == world.store.closing_ids(paris)


def test_value_layers_stack_to_each_snapshots_value(world, tmp_path):
    asyncio.run(build_history(world, days=5))
    times, layers = ReadOnlyStore(tmp_path / "bot.sqlite").value_layers(2)
    snapshots = world.store.inventory_history()
    assert [t for t, _ in snapshots] == times and "" in layers and "USDT" in layers and len(layers) == 4
    for i, (_, held) in enumerate(snapshots):
        total = sum(float(p.quantity * p.price) for p in held)
        assert abs(sum(values[i] for values in layers.values()) - total) < 1e-6 * total


def test_benchmark_lines_in_floats_match_the_exact_scaling_the_chat_charts_use(world, tmp_path):
    from tradingbot.core.yardsticks import scaled

    asyncio.run(build_history(world, days=3))
    reports = Reports(ReadOnlyStore(tmp_path / "bot.sqlite"), world.clock, StrategyParams())
    for _ in range(2):  # and again after new marks: read from the series kept
        lines = reports.overview().benchmarks
        rows = world.store.benchmarks()
        start = world.store.mark_at_or_before(rows[0][0])
        exact = scaled([(t, u) for t, _, u in rows], [start], world.store.load_ledger().deposits)
        assert lines["Equal-weight universe"].times == [t.timestamp() for t, _ in exact]
        assert all(abs(v - float(e)) <= 1e-9 * float(e) for v, (_, e) in
                   zip(lines["Equal-weight universe"].values, exact, strict=True))
        world.clock.advance(timedelta(hours=1))
        asyncio.run(world.services.mark())
