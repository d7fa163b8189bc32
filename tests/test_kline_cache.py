"""The candle cache: answers exactly what the source would, and asks the source only for what it lacks."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings, strategies as st

from tradingbot.adapters.cached_market import DAY_MS, CachedMarketData
from tradingbot.adapters.kline_store import KlineStore
from tradingbot.adapters.sqlite_store import open_database
from tradingbot.adapters.synthetic import SyntheticMarket
from tradingbot.adapters.clock import ManualClock
from tradingbot.app.market_view import rank_now
from tradingbot.core.params import StrategyParams

NOW = datetime(2025, 3, 10, 9, 0, 0, 250_000, tzinfo=timezone.utc)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


class CountingSource:
    """The synthetic market, recording every candle request it answers."""

    def __init__(self, market: SyntheticMarket):
        self.market, self.calls = market, []

    async def symbols(self):
        return await self.market.symbols()

    async def prices(self):
        return await self.market.prices()

    async def first_candle_time(self, symbol, listed_by=None):
        self.calls.append(("first", symbol))
        return await self.market.first_candle_time(symbol)

    async def candles(self, symbol, interval, start, end):
        self.calls.append((symbol, interval, start, end))
        return await self.market.candles(symbol, interval, start, end)


def setup(now: datetime = NOW, n: int = 60):
    clock = ManualClock(now)
    market = SyntheticMarket(clock, seed=3, n_symbols=n)
    source = CountingSource(market)
    cached = CachedMarketData(source, KlineStore(open_database(":memory:")), clock)
    return clock, market, source, cached


def run(coro):
    return asyncio.run(coro)


@settings(max_examples=40, deadline=None)
@given(spans=st.lists(st.tuples(st.integers(-400, 30), st.integers(0, 200)), min_size=1, max_size=5),
       interval=st.sampled_from(["1h", "1d"]))
def test_cached_answers_equal_the_source_for_any_sequence_of_ranges(spans, interval):
    clock, market, _, cached = setup()
    unit = HOUR if interval == "1h" else DAY
    for offset, length in spans:
        start = NOW + offset * unit
        end = start + length * unit
        assert run(cached.candles("BTCUSDT", interval, start, end)) == run(market.candles("BTCUSDT", interval, start, end))


@settings(max_examples=40, deadline=None)
@given(steps=st.lists(st.tuples(st.sampled_from(["1h", "1d"]), st.integers(-12, 2), st.integers(0, 10),
                                st.integers(0, 30)), min_size=1, max_size=6))
def test_hourly_and_daily_reads_mixed_while_time_passes_answer_as_the_source_does(steps):
    """Days assembled from cached hours next to days fetched or assembled earlier; the clock moves between reads."""
    clock, market, _, cached = setup()
    for interval, offset_days, length, advance_hours in steps:
        clock.advance(advance_hours * HOUR)
        start = (clock.now() + offset_days * DAY).replace(minute=0, second=0, microsecond=0)
        if interval == "1d":
            start = start.replace(hour=0)
        end = start + length * DAY
        got = run(cached.candles("BTCUSDT", interval, start, end))
        assert got == run(market.candles("BTCUSDT", interval, start, end))


def test_a_second_read_of_closed_candles_asks_nothing():
    _, _, source, cached = setup()
    first = run(cached.candles("ETHUSDT", "1h", NOW - 7 * DAY, NOW - HOUR))
    calls = len(source.calls)
    assert run(cached.candles("ETHUSDT", "1h", NOW - 5 * DAY, NOW - 2 * HOUR)) == first[48:-1]
    assert len(source.calls) == calls


def test_an_hour_later_only_the_new_candle_is_fetched():
    clock, market, source, cached = setup()
    run(cached.candles("ETHUSDT", "1h", NOW - 7 * DAY, NOW - HOUR))
    clock.advance(HOUR)
    source.calls.clear()
    got = run(cached.candles("ETHUSDT", "1h", NOW - 7 * DAY, NOW))
    assert got == run(market.candles("ETHUSDT", "1h", NOW - 7 * DAY, NOW))
    assert source.calls == [("ETHUSDT", "1h", NOW.replace(microsecond=0), NOW.replace(microsecond=0))]


def test_daily_candles_are_assembled_exactly_from_complete_hours():
    _, market, source, cached = setup()
    run(cached.candles("BTCUSDT", "1h", NOW - 10 * DAY, NOW))
    source.calls.clear()
    day0 = (NOW - 8 * DAY).replace(hour=0, minute=0, second=0, microsecond=0)
    got = run(cached.candles("BTCUSDT", "1d", day0, day0 + 7 * DAY))
    assert got == run(market.candles("BTCUSDT", "1d", day0, day0 + 7 * DAY))
    assert [c for c in source.calls if c[1] == "1d"] == []


def test_ingested_stream_candles_extend_coverage_so_the_next_rank_fetches_nothing():
    clock, market, source, cached = setup()
    params = StrategyParams()
    before = run(rank_now(cached, params, NOW))
    clock.advance(DAY)
    symbols = [r.symbol for r in run(market.symbols())]
    daily_before = {s: cached.store.coverage(s, "1d") for s in symbols}
    for symbol in symbols:
        for c in run(market.candles(symbol, "1h", NOW - HOUR, NOW + DAY - HOUR)):
            cached.ingest(symbol, "1h", c)
    assert any(daily_before.values())
    for s, cov in daily_before.items():  # yesterday closed during the stream, so its daily candle is built already
        if cov is not None:
            assert cached.store.coverage(s, "1d").last == cov.last + DAY_MS
    source.calls.clear()
    after = run(rank_now(cached, params, NOW + DAY))
    assert source.calls == []
    assert after == run(rank_now(market, params, NOW + DAY)) and after != before


def test_a_cold_ranking_reads_each_symbol_s_recent_hours_in_one_request():
    _, market, source, cached = setup()
    params = StrategyParams()
    assert run(rank_now(cached, params, NOW)) == run(rank_now(market, params, NOW))
    candle_calls = [c for c in source.calls if c[0] != "first"]
    asked = {c[0] for c in candle_calls}
    assert asked and len(candle_calls) == len(asked)  # one request per symbol: now, lookback and volumes
    assert {c[1] for c in candle_calls} == {"1h"}  # the daily volumes come from those hours


def test_an_old_range_is_not_widened_beyond_one_request():
    _, market, source, cached = setup()
    start, end = (NOW - 300 * DAY).replace(microsecond=0), (NOW - 299 * DAY).replace(microsecond=0)
    assert run(cached.candles("BTCUSDT", "1h", start, end)) == run(market.candles("BTCUSDT", "1h", start, end))
    assert source.calls == [("BTCUSDT", "1h", start, end)]


def test_listing_times_are_asked_once():
    _, market, source, cached = setup()
    assert run(cached.first_candle_time("BTCUSDT")) == run(market.first_candle_time("BTCUSDT"))
    run(cached.first_candle_time("BTCUSDT"))
    assert source.calls.count(("first", "BTCUSDT")) == 1


def test_a_cold_ranking_asks_no_listing_time_for_symbols_its_candles_prove_old_enough():
    """The default 14-day age filter: each symbol's one hourly request reaches back past the horizon, so only the
    symbols listed since (whose first candle it cannot prove) are asked for their listing; the ranking is the one a
    full cache and the source itself give."""
    now = datetime(2025, 5, 20, 9, 0, 0, 250_000, tzinfo=timezone.utc)  # a coin listed on 2025-05-11
    _, market, source, cached = setup(now)
    params = StrategyParams()  # min_age_days=14, lookback 7d
    cold = run(rank_now(cached, params, now))
    assert cold == run(rank_now(market, params, now)) == run(rank_now(cached, params, now))
    horizon = now - timedelta(days=params.min_age_days)
    trading = [r.symbol for r in run(market.symbols()) if r.trading]
    young = {s for s in trading if run(market.first_candle_time(s)) > horizon}
    asked = {c[1] for c in source.calls if c[0] == "first"}
    assert len(trading) > 40 and young and asked == young
    candle_calls = [c for c in source.calls if c[0] != "first"]
    assert len(candle_calls) == len(trading)  # still one candle request per symbol
    assert any(row.reason.startswith("listed less than") for row in cold.rows)


def test_a_first_hourly_fill_assembles_its_complete_days_so_the_daily_read_asks_nothing():
    _, market, source, cached = setup()
    hours = run(cached.candles("ETHUSDT", "1h", NOW - 3 * DAY, NOW - HOUR))  # widened to the recent 8 days
    assert hours == run(market.candles("ETHUSDT", "1h", NOW - 3 * DAY, NOW - HOUR))
    covered = cached.store.coverage("ETHUSDT", "1d")
    today = NOW.replace(hour=0, minute=0, second=0, microsecond=0)
    assert covered is not None and covered.last == DAY_MS * ((today - timedelta(days=1)).timestamp() // 86400)
    source.calls.clear()
    days = run(cached.candles("ETHUSDT", "1d", today - 7 * DAY, today - DAY))
    assert days == run(market.candles("ETHUSDT", "1d", today - 7 * DAY, today - DAY)) and len(days) == 7
    assert source.calls == []
