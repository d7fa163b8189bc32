"""The reports both front ends read: period returns, risk figures, per-coin P/L, rebalance periods, and the
chat commands /daily, /weekly, /monthly, /performance that show them."""
from __future__ import annotations

import math

import asyncio
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from handlers.commands import Context, dispatch
from tests.dashboard_world import build_history
from tradingbot.adapters.readonly_store import ReadOnlyStore
from tradingbot.adapters.clock import ManualClock
from tradingbot.core.domain import EquityMark
from tradingbot.core.params import StrategyParams
from tradingbot.core.performance import daily_closes, period_returns, risk_figures
from tradingbot.app.dashboard_reports import Reports, performance_report

T0 = datetime(2026, 3, 28, 20, 0, tzinfo=timezone.utc)  # the night Paris moves to summer time


def marks(*values: int, step: timedelta = timedelta(hours=6)) -> list[EquityMark]:
    return [EquityMark(T0 + i * step, Decimal(v), Decimal(0), Decimal(v)) for i, v in enumerate(values)]


def test_periods_follow_the_managers_calendar_and_chain_from_the_previous_period():
    days = period_returns(marks(100, 110, 99, 121, 120, 130), ZoneInfo("Europe/Paris"), "day")
    # 20:00Z and 02:00Z+ fall on Paris dates 28, 29, 29, 29 (DST at 01:00Z), 29, 30
    assert [d.start.isoformat() for d in days] == ["2026-03-28", "2026-03-29", "2026-03-30"]
    assert [d.equity_end for d in days] == [100, 120, 130]
    assert days[1].equity_start == 100 and days[1].pct == Decimal("0.2")
    assert sum(d.change for d in days) == 30  # chained: the periods add up to the whole
    months = period_returns(marks(100, 150, step=timedelta(days=5)), ZoneInfo("UTC"), "month")
    assert [(m.start.isoformat(), m.change) for m in months] == [("2026-03-01", 0), ("2026-04-01", 50)]


def test_daily_closes_by_midnight_search_equal_the_period_table():
    zone = ZoneInfo("Europe/Paris")
    sample = marks(*range(100, 160), step=timedelta(hours=5))  # 12 days across the change to summer time
    sample = sample[:10] + sample[20:]  # and two days without a mark
    days = period_returns(sample, zone, "day")
    closes = daily_closes([m.time.timestamp() for m in sample], [float(m.equity) for m in sample], zone)
    span = (sample[-1].time.astimezone(zone).date() - sample[0].time.astimezone(zone).date()).days + 1
    assert closes == [float(d.equity_end) for d in days] and len(closes) < span  # a day without a mark is skipped


def test_drawdown_is_measured_from_the_peak_until_it_is_regained():
    hour = 3600.0
    figures = risk_figures([0, hour, 2 * hour, 3 * hour, 4 * hour, 5 * hour], [100, 120, 90, 95, 130, 125],
                           [120.0, 130.0, 125.0], 100.0)
    assert figures.max_drawdown == pytest.approx(90 / 120 - 1)
    assert figures.max_drawdown_duration == timedelta(hours=3)  # peak at 1 h, regained at 4 h
    assert figures.drawdown_now == pytest.approx(125 / 130 - 1)
    # Three days are too few for annualised ratios (the backtester's 90-day rule): not reported, not a number
    assert math.isnan(figures.sharpe) and math.isnan(figures.sortino) and figures.volatility > 0 and figures.days == 3


@pytest.fixture
def year(world):
    asyncio.run(build_history(world, days=5))
    return world


def test_per_coin_pnl_adds_up_to_the_accounts_pnl_exactly(year):
    s = year.services
    held = asyncio.run(s.positions())
    report = performance_report(s.store, held, s.params.zone, None)
    assert report.since is None and len(report.coins) >= 4
    assert sum(c.pnl for c in report.coins) == held.equity - Decimal(10000)
    since_two_days = performance_report(s.store, held, s.params.zone, timedelta(days=2))
    assert since_two_days.since is not None and since_two_days.since <= s.clock.now() - timedelta(days=2)


def test_rebalance_periods_chain_to_the_latest_mark_and_delta_costs_less(year, tmp_path):
    reports = Reports(ReadOnlyStore(tmp_path / "bot.sqlite"), year.clock, StrategyParams(topn=4, min_age_days=1))
    lines = reports.rebalances()
    assert len(lines) == 5 and all(x.row.state == "done" for x in lines)
    first, last = lines[-1].row, year.store.last_mark()
    assert sum(x.period_pnl for x in lines) == last.equity - first.equity_before
    detail = reports.rebalance(lines[0].row.id)
    assert detail is not None and detail.ranking and len(detail.fills) >= 4
    assert detail.delta_fees is not None and detail.delta_fees < detail.line.row.fees  # full sells and rebuys
    assert reports.rebalance(10_000) is None


def test_the_period_and_performance_commands_answer_from_the_same_reports(year):
    ctx = Context(year.services, "console")
    daily = asyncio.run(dispatch(ctx, "/daily 3")).text
    assert daily.startswith("Daily returns, USDT, UTC") and len(daily.splitlines()) == 2 + 3
    weekly = asyncio.run(dispatch(ctx, "/weekly")).text
    assert "Weekly" in weekly and "%" in weekly
    assert "2026-11" in asyncio.run(dispatch(ctx, "/monthly")).text
    performance = asyncio.run(dispatch(ctx, "/performance all")).text
    assert "P/L per coin" in performance and "since the start" in performance
    assert "since the start" in asyncio.run(dispatch(ctx, "/performance 999999w")).text  # older than the record
    for bad in ("/daily abc", "/weekly 0", "/performance 5x", "/performance 7d 2", "/performance 0d"):
        reply = asyncio.run(dispatch(ctx, bad)).text
        assert reply.startswith("⚠") and "\n" not in reply, bad


def test_the_dashboard_command_says_so_when_no_dashboard_runs(world):
    reply = asyncio.run(dispatch(Context(world.services, "console"), "/dashboard")).text
    assert reply.startswith("⚠") and "dashboard" in reply and "\n" not in reply


def test_a_database_newer_than_nothing_but_older_than_the_code_is_refused(tmp_path):
    import sqlite3

    from tradingbot.adapters.readonly_store import DatabaseNotReady

    with pytest.raises(DatabaseNotReady):
        ReadOnlyStore(tmp_path / "missing.sqlite")
    sqlite3.connect(tmp_path / "old.sqlite").execute("CREATE TABLE meta (key TEXT, value TEXT)").connection.commit()
    with pytest.raises(DatabaseNotReady):
        ReadOnlyStore(tmp_path / "old.sqlite")


def test_reports_time_comes_from_the_clock(year, tmp_path):
    clock = ManualClock(datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc))
    reports = Reports(ReadOnlyStore(tmp_path / "bot.sqlite"), clock, StrategyParams(topn=4, min_age_days=1))
    assert reports.overview().next_run == datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)


def test_a_chart_keeps_every_extreme_of_a_long_series_in_at_most_2000_points():
    import math as m

    from tradingbot.core.performance import underwater
    from web.api import thinned

    equity = [10_000 * (1 + 0.3 * m.sin(i / 500) + 0.01 * m.sin(i * 1.7)) for i in range(8_760)]
    drawdown = underwater(equity)
    kept = thinned(equity, drawdown)
    assert len(kept) <= 2_000 and kept == sorted(set(kept)) and kept[0] == 0 and kept[-1] == 8_759
    for series in (equity, drawdown):
        assert min(series[i] for i in kept) == min(series) and max(equity[i] for i in kept) == max(equity)
    assert thinned(equity[:500], drawdown[:500]) == list(range(500))
