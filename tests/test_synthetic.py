"""The synthetic market: deterministic, internally consistent, Binance-shaped, and statistically alive."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pytest

from tradingbot.adapters.synthetic import EPOCH, SyntheticMarket, _market
from tradingbot.adapters.clock import ManualClock
from tradingbot.core.domain import Candle

NOW = datetime(2025, 6, 15, 13, 37, 21, 500_000, tzinfo=timezone.utc)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
THIS_HOUR = NOW.replace(minute=0, second=0, microsecond=0)
SPECIALS = ("BTCUSDT", "ETHUSDT", "USDCUSDT", "FDUSDUSDT", "TUSDUSDT", "EURUSDT", "BTCUPUSDT",
            "BTCDOWNUSDT", "ETHUPUSDT", "ETHDOWNUSDT", "WBTCUSDT", "WBETHUSDT")


def run(coro):
    return asyncio.run(coro)


def market(now: datetime = NOW, **kw) -> SyntheticMarket:
    return SyntheticMarket(ManualClock(now), **kw)


@pytest.fixture(scope="module")
def mkt() -> SyntheticMarket:
    return market()


def by_symbol(m: SyntheticMarket) -> dict:
    return {r.symbol: r for r in run(m.symbols())}


def sample(m: SyntheticMarket, k: int = 12) -> list[str]:
    """BTC, ETH, a stablecoin, a leveraged token and a spread of ordinary coins."""
    coins = [s for s in by_symbol(m) if s not in SPECIALS]
    return ["BTCUSDT", "ETHUSDT", "USDCUSDT", "BTCDOWNUSDT", *coins[:: max(1, len(coins) // k)]]


def test_universe_has_btc_eth_the_special_tokens_and_enough_made_up_coins(mkt):
    rules = by_symbol(mkt)
    assert set(SPECIALS) <= set(rules)
    trading = [r for r in rules.values() if r.trading]
    assert len(trading) >= 201
    made_up = [r.base for r in rules.values() if r.symbol not in SPECIALS]
    assert len(set(made_up)) == len(made_up)
    assert all(b.isalpha() and b.isupper() and 3 <= len(b) <= 5 for b in made_up)
    assert all(r.quote == "USDT" and r.symbol == r.base + "USDT" for r in rules.values())


def test_prices_look_like_their_assets(mkt):
    p = run(mkt.prices())
    assert Decimal(40_000) <= p["BTCUSDT"] <= Decimal(110_000)
    assert abs(p["USDCUSDT"] - 1) < Decimal("0.01") and abs(p["FDUSDUSDT"] - 1) < Decimal("0.01")
    assert Decimal("0.95") < p["EURUSDT"] < Decimal("1.25")
    assert abs(p["WBTCUSDT"] / p["BTCUSDT"] - 1) < Decimal("0.01")
    assert Decimal("0.97") < p["WBETHUSDT"] / p["ETHUSDT"] < Decimal("1.1")
    coins = [v for s, v in p.items() if s not in SPECIALS]
    assert min(coins) < Decimal("0.001") and max(coins) > Decimal(1000)
    assert all(-v.as_tuple().exponent <= 8 for v in p.values())


def test_two_instances_with_one_seed_agree_and_another_seed_differs():
    a, b, c = market(), market(), market(seed=8)
    assert run(a.symbols()) == run(b.symbols())
    assert run(a.prices()) == run(b.prices())
    assert run(a.prices())["BTCUSDT"] != run(c.prices())["BTCUSDT"]
    for s in sample(a):
        assert run(a.candles(s, "1h", NOW - 3 * DAY, NOW)) == run(b.candles(s, "1h", NOW - 3 * DAY, NOW))


def test_answers_do_not_depend_on_query_order_or_on_later_questions():
    early, late = NOW - 40 * DAY, NOW
    first = market(early)
    before = {s: run(first.candles(s, "1h", early - 2 * DAY, early)) for s in sample(first)}
    prices_before = run(first.prices())

    clock = ManualClock(late)
    second = SyntheticMarket(clock)  # asks about later times first, and about days before hours
    for s in before:
        run(second.candles(s, "1d", late - 60 * DAY, late))
        run(second.candles(s, "1w", late - 60 * DAY, late))
    clock.set(early)
    assert run(second.prices()) == prices_before
    for s, candles in reversed(before.items()):
        assert run(second.candles(s, "1h", early - 2 * DAY, early)) == candles


def hourly_of(m: SyntheticMarket, s: str, c: Candle, now: datetime) -> list[Candle]:
    return run(m.candles(s, "1h", c.open_time, min(c.close_time, now)))


@pytest.mark.parametrize("interval", ["4h", "1d", "1w"])
def test_longer_candles_are_made_of_their_hours(mkt, interval):
    for s in sample(mkt):
        for c in run(mkt.candles(s, interval, NOW - 20 * DAY, NOW)):
            hours = hourly_of(mkt, s, c, NOW)
            assert (c.open, c.close) == (hours[0].open, hours[-1].close)
            assert (c.high, c.low) == (max(h.high for h in hours), min(h.low for h in hours))
            assert c.quote_volume == sum(h.quote_volume for h in hours)
            assert c.volume == sum(h.volume for h in hours)


def test_hours_chain_and_candles_are_binance_shaped(mkt):
    for s in sample(mkt):
        rules = by_symbol(mkt)[s]
        hours = run(mkt.candles(s, "1h", THIS_HOUR - 5 * DAY, NOW))
        assert len(hours) == 5 * 24 + 1 and hours[-1].open_time == THIS_HOUR
        for prev, cur in zip(hours, hours[1:]):
            assert cur.open == prev.close and cur.open_time == prev.open_time + HOUR
        for h in hours:
            assert h.close_time == h.open_time + HOUR - timedelta(milliseconds=1)
            assert h.low <= min(h.open, h.close) <= max(h.open, h.close) <= h.high
            assert h.volume % rules.step_size == 0 and -h.quote_volume.as_tuple().exponent <= 8
            if h.is_closed(NOW):  # quote volume is volume times a price inside the bar
                assert h.low * Decimal("0.99") <= h.quote_volume / h.volume <= h.high * Decimal("1.01")
        for d in run(mkt.candles(s, "1d", NOW - 5 * DAY, NOW)):
            assert d.close_time == d.open_time + DAY - timedelta(milliseconds=1)


def test_the_open_candle_closes_at_the_current_price_and_grows():
    clock = ManualClock(NOW)
    m = SyntheticMarket(clock)
    prices = run(m.prices())
    for s in sample(m):
        hour = run(m.candles(s, "1h", NOW - 2 * HOUR, NOW))[-1]
        day = run(m.candles(s, "1d", NOW - 2 * DAY, NOW))[-1]
        assert hour.open_time <= NOW < hour.close_time and not hour.is_closed(NOW)
        assert hour.close == day.close == prices[s]
        assert hour.low <= prices[s] <= hour.high
    clock.advance(timedelta(minutes=1))
    later = run(m.prices())
    assert sum(later[s] != prices[s] for s in prices) > 0.9 * len(prices)
    clock.advance(HOUR)
    fresh = market()
    for s in sample(m):
        partial = run(fresh.candles(s, "1h", THIS_HOUR, NOW))[0]
        full = run(m.candles(s, "1h", THIS_HOUR, NOW))[0]
        assert full.is_closed(clock.now())
        assert partial.quote_volume <= full.quote_volume and partial.volume <= full.volume
        assert partial.high <= full.high and partial.low >= full.low


def test_a_candle_opening_exactly_now_has_no_volume_and_the_last_close():
    at = NOW.replace(minute=0, second=0, microsecond=0)
    m = market(at)
    c = run(m.candles("BTCUSDT", "1h", at - HOUR, at))
    assert c[-1].open_time == at and c[-1].quote_volume == 0
    assert c[-1].open == c[-1].close == c[-2].close == run(m.prices())["BTCUSDT"]


def test_no_candle_from_the_future_or_before_the_epoch(mkt):
    for interval in ("1h", "4h", "1d", "1w"):
        c = run(mkt.candles("ETHUSDT", interval, NOW - 30 * DAY, NOW + 30 * DAY))
        assert c and c[-1].open_time <= NOW
    first = run(mkt.candles("BTCUSDT", "1d", datetime(2023, 6, 1, tzinfo=timezone.utc), EPOCH + DAY))
    assert [c.open_time for c in first] == [EPOCH, EPOCH + DAY]


def test_bad_interval_raises_and_unknown_symbol_is_empty(mkt):
    with pytest.raises(ValueError):
        run(mkt.candles("BTCUSDT", "5m", NOW - DAY, NOW))
    assert run(mkt.candles("NOPEUSDT", "1h", NOW - DAY, NOW)) == []
    assert run(mkt.first_candle_time("NOPEUSDT")) is None


def test_some_symbols_were_delisted_and_have_no_price_and_no_later_candles(mkt):
    broken = [r.symbol for r in run(mkt.symbols()) if r.status == "BREAK"]
    assert broken
    prices = run(mkt.prices())
    for s in broken:
        assert s not in prices
        last = run(mkt.candles(s, "1h", EPOCH, NOW))[-1]
        assert last.open_time < NOW - DAY


def test_the_delist_hook_stops_trading_mid_hour():
    m = market()
    when = NOW - 5 * HOUR + timedelta(minutes=20)
    before = run(m.candles("ETHUSDT", "1h", NOW - DAY, NOW))
    m.delist("ETHUSDT", when)
    assert by_symbol(m)["ETHUSDT"].status == "BREAK" and "ETHUSDT" not in run(m.prices())
    after = run(m.candles("ETHUSDT", "1h", NOW - DAY, NOW))
    assert after[-1].open_time < when <= after[-1].close_time
    assert after[:-1] == before[: len(after) - 1]
    assert after[-1].quote_volume < before[len(after) - 1].quote_volume
    assert run(m.candles("ETHUSDT", "1d", NOW - DAY, NOW))[-1].close == after[-1].close


def test_listings_continue_after_the_epoch_and_new_symbols_are_hidden_until_listed(mkt):
    times = {s: run(mkt.first_candle_time(s)) for s in by_symbol(mkt)}
    assert times["BTCUSDT"] == EPOCH
    assert sum(t > EPOCH for t in times.values()) >= 20
    assert any(NOW - t < 30 * DAY for t in times.values())
    assert all(t.minute == t.second == t.microsecond == 0 for t in times.values())
    later = market(datetime(2027, 12, 1, tzinfo=timezone.utc))
    future = {s: run(later.first_candle_time(s)) for s in by_symbol(later).keys() - times.keys()}
    assert future
    newcomer = min(future, key=future.__getitem__)
    listed = future[newcomer]
    just_before = market(listed - timedelta(minutes=1))
    assert newcomer not in by_symbol(just_before) and newcomer not in run(just_before.prices())
    assert run(just_before.first_candle_time(newcomer)) is None
    assert run(just_before.candles(newcomer, "1h", EPOCH, listed)) == []
    at_listing = market(listed + 2 * HOUR)
    hours = run(at_listing.candles(newcomer, "1h", listed - DAY, listed + DAY))
    assert hours[0].open_time == listed and len(hours) == 3
    day = run(at_listing.candles(newcomer, "1d", listed - DAY, listed))[-1]
    assert day.open == hours[0].open and day.quote_volume == sum(h.quote_volume for h in hours)


def test_filters_follow_the_price_level_at_listing(mkt):
    rules = by_symbol(mkt)
    assert rules["BTCUSDT"].step_size == Decimal("0.00001") and rules["BTCUSDT"].tick_size == Decimal("0.01")
    assert rules["USDCUSDT"].step_size == Decimal("0.1")
    notionals = {r.min_notional for r in rules.values()}
    assert notionals == {Decimal(5), Decimal(10)}
    for s, r in rules.items():
        assert r.min_qty == r.step_size and r.max_qty >= 9_000_000
        listed = run(mkt.first_candle_time(s))
        first = run(mkt.candles(s, "1h", listed, listed))[0].open
        # The smallest order is far below the minimum notional, so min_notional is the binding filter.
        assert first * r.min_qty < 1 <= first * r.max_qty / 1000
        assert r.tick_size == (Decimal("0.01") if first >= 1000 else Decimal("0.0001") if first >= 1
                               else Decimal("0.00000001"))


def test_volumes_spread_like_a_real_exchange(mkt):
    mean = {}
    for s in by_symbol(mkt):
        days = [c for c in run(mkt.candles(s, "1d", NOW - 8 * DAY, NOW)) if c.is_closed(NOW)]
        if len(days) == 7:
            mean[s] = sum(c.quote_volume for c in days) / 7
    assert max(mean, key=mean.get) == "BTCUSDT"
    assert min(mean.values()) < 200_000 and sorted(mean.values())[-5] > 100_000_000


def daily_closes(m: SyntheticMarket, days: int, count: int) -> np.ndarray:
    """Daily closes from the epoch of ordinary coins listed at the epoch and still trading."""
    coins = [s for s, r in by_symbol(m).items() if s not in SPECIALS and r.trading
             and run(m.first_candle_time(s)) == EPOCH][:count]
    rows = [[float(c.close) for c in run(m.candles(s, "1d", EPOCH, EPOCH + (days - 1) * DAY))] for s in coins]
    return np.array(rows).T


@pytest.fixture(scope="module")
def closes(mkt) -> np.ndarray:
    return daily_closes(mkt, 1 + 7 * 52, 80)  # a year of 80 coins keeps this test near one second


def test_daily_returns_are_fat_tailed_and_share_a_market_factor(closes):
    r = np.diff(np.log(closes), axis=0)
    z = (r - r.mean(0)) / r.std(0)
    kurtosis = (z**4).mean(0)
    assert np.median(kurtosis) > 4 and (kurtosis > 3).mean() > 0.9
    corr = np.corrcoef(r.T)
    assert corr[np.triu_indices_from(corr, 1)].mean() > 0.1


def test_weekly_ranks_persist_in_momentum_spells_and_flip_in_reversal_spells(closes):
    weekly = np.diff(np.log(closes[::7]), axis=0)
    ranks = weekly.argsort(1).argsort(1)
    ic = np.array([np.corrcoef(a, b)[0, 1] for a, b in zip(ranks, ranks[1:])])
    # Public-API proxy: the week-to-week rank correlation swings both ways over a month at a time.
    monthly = np.convolve(ic, np.ones(4) / 4, "valid")
    assert monthly.max() > 0.15 and monthly.min() < -0.1
    # And the swings line up with the model's regimes (weeks k+1 of each pair, from the private path).
    kappa = _market(7)[1]
    regime = np.array([kappa[7 * (k + 1) : 7 * (k + 2)].mean() for k in range(len(ic))])
    assert (regime > 0.2).sum() >= 5 and (regime < -0.2).sum() >= 5
    assert ic[regime > 0.2].mean() > 0.1 and ic[regime < -0.2].mean() < -0.05


def test_leveraged_tokens_are_volatile_and_stablecoins_are_not(mkt):
    def vol(s: str) -> float:
        c = [float(x.close) for x in run(mkt.candles(s, "1d", NOW - 120 * DAY, NOW - DAY))]
        return float(np.diff(np.log(c)).std())

    assert vol("BTCUPUSDT") > 2.5 * vol("BTCUSDT") and vol("BTCDOWNUSDT") > 2.5 * vol("BTCUSDT")
    assert vol("USDCUSDT") < 0.002 and vol("EURUSDT") < 0.01


def test_the_market_ends_with_2030():
    m = market(datetime(2031, 1, 1, 0, 30, tzinfo=timezone.utc))
    with pytest.raises(ValueError):
        run(m.prices())
