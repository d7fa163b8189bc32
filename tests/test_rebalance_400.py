"""A paper rebalance on the 400-symbol demo market: the same candles, prices and fills as before it was made
fast (digests recorded from the code before), and the work it does counted (symbol-days drawn, book reads,
SQLite transactions) rather than timed."""
from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tradingbot.adapters.clock import ManualClock
from tradingbot.adapters.synthetic import SyntheticMarket
from tradingbot.bootstrap import RunOptions, account_lock, build
from tradingbot.settings import load_settings

SLOT_TIME = "2026-11-24T09:00:30Z"
AT = datetime(2026, 11, 24, 9, 0, 30, tzinfo=timezone.utc)


def digest(lines) -> str:
    return hashlib.sha256("\n".join(map(str, lines)).encode()).hexdigest()[:16]


def market_lines(m: SyntheticMarket, now: datetime):
    """Candles of every interval for a spread of symbols (specials included), open hours and all, and prices."""
    symbols = sorted(r.symbol for r in asyncio.run(m.symbols()))[::7] + ["BTCUSDT", "ETHUPUSDT", "WBETHUSDT",
                                                                         "USDCUSDT"]
    for s in symbols:
        yield s, asyncio.run(m.candles(s, "1h", now - timedelta(days=3), now))
        yield s, asyncio.run(m.candles(s, "4h", now - timedelta(days=9), now))
        yield s, asyncio.run(m.candles(s, "1d", now - timedelta(days=40), now))
        yield s, asyncio.run(m.candles(s, "1w", now - timedelta(days=60), now))
    yield sorted(asyncio.run(m.prices()).items())


def test_the_demo_market_draws_the_same_candles_and_prices():
    m = SyntheticMarket(ManualClock(AT), n_symbols=400)
    assert digest(market_lines(m, AT)) == "bc806caf4996e2a4"
    later = AT + timedelta(days=3, minutes=17, seconds=5)
    m2 = SyntheticMarket(ManualClock(later), n_symbols=400)
    assert digest(market_lines(m2, later)) == "35f4783203439380"


def rebalance_lines(tmp: Path, clock: str):
    settings = load_settings(env_file=None, synthetic_symbols=400)
    db = str(tmp / "demo.sqlite")
    app = build(settings, RunOptions(demo=True, db=db, clock=clock, frozen_clock=True), account_lock(db))
    summary = asyncio.run(app.services.rebalance_now(None))
    yield summary.row.slot, summary.row.state, summary.row.targets, summary.row.equity_before, summary.equity_after
    for f in summary.fills:
        yield f.client_order_id, f.side, f.price, f.quantity, f.commission, f.commission_asset, f.fee_quote, f.priced_by
    for o in summary.orders:
        yield o.client_order_id, o.status, o.requested_qty, o.requested_quote, o.error
    yield from summary.positions
    yield from app.services.store.db.query("SELECT * FROM paper_balances ORDER BY asset")
    yield from app.services.store.db.query("SELECT * FROM paper_orders ORDER BY exchange_order_id")


def test_two_demo_rebalances_fill_and_book_exactly_as_before(tmp_path):
    first = list(rebalance_lines(tmp_path, SLOT_TIME))
    assert digest(first) == "375db29851672df2"
    second = list(rebalance_lines(tmp_path, "2026-11-25T09:00:30Z"))
    assert digest(second) == "d994cef6f7c68a73"


def test_a_ranking_draws_each_symbol_day_once_in_a_few_passes_over_every_symbol():
    from tradingbot.app.market_view import rank_now
    from tradingbot.core.params import StrategyParams

    m = SyntheticMarket(ManualClock(AT), n_symbols=400)
    ranking = asyncio.run(rank_now(m, StrategyParams(), AT))
    passes, drawn = m.draws()
    ranked = sum(1 for r in ranking.rows if r.score is not None)
    assert ranked > 300
    # The volume window's 7 days and today, for every symbol trading (a few listed this week have fewer).
    assert 7 * ranked <= drawn <= 8 * len(ranking.rows)
    assert passes <= 8  # one per symbol-day before: 2,920 for this ranking
    asyncio.run(rank_now(m, StrategyParams(), AT))
    assert m.draws() == (passes, drawn)  # the same instant again: nothing drawn twice


def test_a_ranking_in_the_first_hour_of_a_day_draws_the_day_a_lookback_ago_with_the_others():
    """At 00:20 a 7-day lookback's earlier close lies a day before the volume window: its day was drawn one
    symbol at a time (365 passes); now with the others, and the ranking is the one recorded before."""
    from tradingbot.app.market_view import rank_now
    from tradingbot.core.params import StrategyParams

    at = datetime(2026, 11, 24, 0, 20, 5, tzinfo=timezone.utc)
    for lookback, recorded in ((timedelta(days=7), "3255da3af8214f3b"), (timedelta(days=30), "24ffa9fac2ac3349")):
        m = SyntheticMarket(ManualClock(at), n_symbols=400)
        ranking = asyncio.run(rank_now(m, StrategyParams(lookback=lookback), at))
        assert digest(ranking.rows) == recorded
        passes, drawn = m.draws()
        assert passes <= 8 and drawn <= 9 * len(ranking.rows)


def test_ranking_figures_are_what_a_ranking_picks_out_of_the_candles_and_build_no_candle():
    """The synthetic market's figures for a ranking (closes at the two anchors, closed daily quote volumes) equal
    those build_snapshot takes from candles(), at any hour, for a symbol listed or delisted within the window,
    and no Candle is built for them (its closed-candle cache stays empty)."""
    from tradingbot.app.market_view import rank_now
    from tradingbot.core.params import StrategyParams
    from tradingbot.core.ranking import anchors, build_snapshot, volume_window

    probe = SyntheticMarket(ManualClock(AT), n_symbols=400)
    listed = {r.symbol: asyncio.run(probe.first_candle_time(r.symbol)) for r in asyncio.run(probe.symbols())}
    newest = max(listed, key=lambda s: listed[s] or AT)
    instants = (AT, AT.replace(hour=0, minute=20), listed[newest] + timedelta(days=3, minutes=20))
    for at, lookback in zip(instants, (timedelta(days=7), timedelta(days=7), timedelta(hours=30))):
        m = SyntheticMarket(ManualClock(at), n_symbols=400)
        m.delist("ETHUSDT", at - timedelta(days=2, minutes=30))  # a daily candle cut short, none after it
        rules = asyncio.run(m.symbols())
        at_now, at_then = anchors(at, lookback)
        first_day, last_day = volume_window(at)
        figures = [asyncio.run(m.ranking_figures(r.symbol, at_now, at_then, first_day, last_day)) for r in rules]
        assert m._closed.cache_info().currsize == 0
        again = [asyncio.run(m.ranking_figures(r.symbol, at_now, at_then, first_day, last_day)) for r in rules]
        assert again == figures  # the closed ones from what the first read kept
        for r, (close_now, close_then, volumes) in zip(rules, figures):
            daily = asyncio.run(m.candles(r.symbol, "1d", first_day, last_day))
            snap = build_snapshot(r, None, asyncio.run(m.candles(r.symbol, "1h", at_now, at_now)),
                                  asyncio.run(m.candles(r.symbol, "1h", at_then, at_then)), daily, at, lookback)
            assert (str(close_now), str(close_then)) == (str(snap.close_now), str(snap.close_then))
            assert list(map(str, volumes)) == [str(c.quote_volume) for c in daily if c.is_closed(at)]
        assert any(len(v) < 7 for _, _, v in figures) and any(c is None for c, _, _ in figures)
    fresh = SyntheticMarket(ManualClock(AT), n_symbols=400)
    asyncio.run(rank_now(fresh, StrategyParams(), AT))
    assert fresh._closed.cache_info().currsize == 0  # the ranking read figures, not candles


def test_a_packed_seed_draws_the_same_stream_as_the_tuple_it_packs():
    import numpy as np

    from tradingbot.adapters.rng_streams import stream

    cases = [(7, 4, 0, 0), (0, 4, 0, 0), (7, 4, 123, 2556), (2**32 - 1, 4, 2**32 - 1, 1), (7, 0, 5), (3, 1),
             (2**40, 4, 1, 1), (7, 4, 1, 2, 3)]  # the last two are not packed: a part over 32 bits, five parts
    rng = np.random.default_rng(0)
    cases += [tuple(int(x) for x in rng.integers(0, 2**32, size=4)) for _ in range(50)]
    for parts in cases:
        assert np.array_equal(stream(*parts).standard_normal(8), np.random.default_rng(parts).standard_normal(8)), parts


def test_normals_drawn_a_pass_at_a_time_are_each_rows_own_stream():
    import numpy as np

    from tradingbot.adapters.rng_streams import normal_rows

    rng = np.random.default_rng(1)
    rows = [(7, 4, 0, 0), (0, 4, 0, 0), (2**32 - 1, 4, 2**32 - 1, 2**32 - 1), (7, 4, 11, 2556), (5, 1), ()]
    rows += [tuple(int(x) for x in rng.integers(0, 2**32, size=4)) for _ in range(200)]
    got = normal_rows(rows, 313)
    for row, parts in zip(got, rows):
        assert np.array_equal(row, np.random.default_rng(parts).standard_normal(313)), parts
    big = [(2**33, 4, 1, 2), (7, 4, 1, 2)]  # a part over 32 bits: each row seeded as numpy seeds it
    assert np.array_equal(normal_rows(big, 5)[0], np.random.default_rng(big[0]).standard_normal(5))
    assert normal_rows([], 5).shape == (0, 5)
    assert np.array_equal(normal_rows(rows[:3], 9), [np.random.default_rng(r).standard_normal(9) for r in rows[:3]])


def test_a_rebalance_writes_without_looking_the_schema_up(tmp_path):
    """Each order's rows go in as plain SQL: no table or column look-ups (sqlite-utils made ~13 an order)."""
    settings = load_settings(env_file=None, synthetic_symbols=400)
    db = str(tmp_path / "demo.sqlite")
    app = build(settings, RunOptions(demo=True, db=db, clock=SLOT_TIME, frozen_clock=True), account_lock(db))
    statements: list[str] = []
    app.services.store.db.conn.set_trace_callback(statements.append)
    summary = asyncio.run(app.services.rebalance_now(None))
    assert summary.row.state == "done" and len(summary.fills) >= 10
    assert [q for q in statements if q.lstrip().upper().startswith("PRAGMA") or "sqlite_master" in q] == []
    assert sum(q.strip().upper() == "COMMIT" for q in statements) <= 4 * len(summary.orders)  # 37 for 10 orders
