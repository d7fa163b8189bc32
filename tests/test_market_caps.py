"""The universe by market capitalisation: CoinGecko's pages and rate limits through real HTTP to the local
stand-in, symbol collisions and overrides, unknown coins, stale and missing caches, and the filter in a rebalance."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.request
from datetime import timedelta
from decimal import Decimal

import pytest

from handlers.commands import Context
from handlers.console import ConsoleChat
from tests.builders import NOW, snapshot
from tests.local_binance import ROOT
from tradingbot.adapters.coingecko import KEY_HEADER, PER_PAGE, CoinGeckoCaps
from tradingbot.adapters.sqlite_caps import SqliteCapCache
from tradingbot.adapters.synthetic import SyntheticMarket
from tradingbot.adapters.synthetic_caps import SyntheticCaps
from tradingbot.app.cap_book import MarketCapBook
from tradingbot.adapters.clock import ManualClock
from tradingbot.core.errors import VenueUnavailable
from tradingbot.core.market_caps import CoinCap, map_caps, parse_cap_ids
from tradingbot.core.params import StrategyParams
from tradingbot.core.ranking import rank_universe
from standins.coingecko_api import CoinGeckoSim

D = Decimal
FLOOR = D(500_000_000)


def coin(coin_id: str, symbol: str, cap: float | None) -> dict:
    return {"id": coin_id, "symbol": symbol, "name": coin_id, "market_cap": cap}


# The World's symbols trend at rates that rank LIMA, KILO, JULIET, INDIA first (momentum, topn=4).
COINS = [
    coin("lima-network", "lima", 120_400_000),  # below the floor: LIMA is out, naming its cap and the floor
    coin("juliet", "juliet", 9e9), coin("india", "india", 2e9), coin("hotel", "hotel", 1e9),
    coin("golf", "golf", 8e8), coin("foxtrot", "foxtrot", 7e8),
    coin("kilo-old", "kilo", 4e8), coin("kilo-new", "kilo", 3e9),  # a shared ticker: the larger cap wins
    coin("echo-wrapped", "echo", 5e9), coin("echo", "echo", 1e8),  # the larger namesake is wrong: overridden
    coin("delta", "delta", None),  # CoinGecko lists some coins with no cap: unknown, not zero
]


def run_with_stand_in(scenario, coins=COINS, clock=None, **options):
    """scenario(sim, clock) with the CoinGecko stand-in serving on a free port, in one event loop."""
    clock = clock or ManualClock(NOW)

    async def main():
        async with CoinGeckoSim(clock, coins=coins, **options) as sim:
            return await scenario(sim, clock)
    return asyncio.run(main())


def test_a_ticker_shared_by_several_coins_maps_to_the_largest_cap_unless_overridden() -> None:
    coins = [CoinCap("kilo-old", "kilo", D(4)), CoinCap("kilo-new", "KILO", D(30)), CoinCap("abc", "abc", D(5)),
             CoinCap("gone", "gone", D(0))]
    assert {b: c.coin_id for b, c in map_caps(coins).items()} == {"KILO": "kilo-new", "ABC": "abc"}
    overridden = map_caps(coins, {"KILO": "kilo-old", "ABC": "not-listed"})
    assert overridden["KILO"].coin_id == "kilo-old" and "ABC" not in overridden  # never mapped to a namesake
    assert parse_cap_ids(" abc:abc-token , XYZ:xyz-network ") == {"ABC": "abc-token", "XYZ": "xyz-network"}
    with pytest.raises(ValueError):
        parse_cap_ids("ABC=abc-token")


def test_every_coin_the_filter_excludes_says_why_with_its_cap_and_the_floor() -> None:
    snaps = [snapshot("BIGUSDT"), snapshot("SMALLUSDT"), snapshot("NOCAPUSDT")]
    caps = {"BIG": D("2.5e9"), "SMALL": D(120_400_000)}
    params = StrategyParams(min_market_cap=FLOOR)
    rows = {r.symbol: r for r in rank_universe(snaps, params, NOW, caps).rows}
    assert rows["BIGUSDT"].eligible and rows["BIGUSDT"].selected
    assert rows["SMALLUSDT"].reason == "market cap 120.4M USD < floor 500M"
    assert rows["NOCAPUSDT"].reason == "no known market cap"
    # No caps at all: the filter is skipped (the caller says so), the floor 0 turns it off.
    assert rank_universe(snaps, params, NOW, None).eligible_count == 3
    assert rank_universe(snaps, StrategyParams(), NOW, {}).eligible_count == 3


def test_the_adapter_pages_through_the_top_thousand_and_asks_for_override_ids_by_id() -> None:
    market_clock = ManualClock(NOW)
    market = SyntheticMarket(market_clock, seed=5, n_symbols=60)

    async def scenario(sim, clock):
        source = CoinGeckoCaps(clock, sim.url, api_key="CG-demo-key", extra_ids=["filler-1099", "bitcoin-cash"])
        try:
            coins = await source.coins()
        finally:
            await source.close()
        return coins, sim.requests

    coins, requests = run_with_stand_in(scenario, coins=None, market=market, api_key="CG-demo-key")
    pages = [r["query"] for r in requests if "page" in r["query"]]
    assert [(q["page"], q["per_page"], q["vs_currency"]) for q in pages] == [(str(n), str(PER_PAGE), "usd")
                                                                           for n in (1, 2, 3, 4)]
    assert [r["query"]["ids"] for r in requests if "ids" in r["query"]] == ["bitcoin-cash,filler-1099"]
    assert all(r["key_sent"] and r["status"] == 200 for r in requests)  # the stand-in answers 401 without it
    assert len(coins) == 4 * PER_PAGE + 1 and coins[-1].coin_id == "filler-1099"
    caps = [c.market_cap for c in coins[:1000]]
    assert caps == sorted(caps, reverse=True)  # the top 1,000 by market cap
    assert {"btc", "eth"} <= {c.coin_id for c in coins}


def test_a_429_waits_for_its_retry_after_and_a_5xx_backs_off_then_the_reading_completes() -> None:
    async def scenario(sim, clock):
        sim.status_next, sim.retry_after = [429, 429, 503], 7
        source = CoinGeckoCaps(clock, sim.url, backoff_s=2.0)
        try:
            coins = await source.coins()
        finally:
            await source.close()
        return coins, [r["status"] for r in sim.requests], clock.now() - NOW

    coins, statuses, waited = run_with_stand_in(scenario)
    assert statuses == [429, 429, 503, 200]
    assert waited == timedelta(seconds=7 + 7 + 8)  # Retry-After twice, then the third try's backoff (2 × 2²)
    assert len(coins) == len(COINS) - 1  # the coin without a cap is left out


def test_the_per_minute_rate_limit_is_waited_out_until_the_next_minute() -> None:
    async def scenario(sim, clock):
        source = CoinGeckoCaps(clock, sim.url, pages=4)
        try:
            return await source.coins(), [r["status"] for r in sim.requests], clock.now()
        finally:
            await source.close()

    many = [coin(f"c{n}", f"c{n}", 1e9 - n) for n in range(3 * PER_PAGE + 10)]
    coins, statuses, now = run_with_stand_in(scenario, coins=many, rate_limit=2)
    assert statuses == [200, 200, 429, 200, 200] and len(coins) == len(many)
    assert now == NOW + timedelta(minutes=1)  # Retry-After took it to the start of the next minute


def test_a_source_that_stays_down_is_one_venue_unavailable_naming_coingecko() -> None:
    async def scenario(sim, clock):
        sim.down = True
        source = CoinGeckoCaps(clock, sim.url, retries=2)
        try:
            with pytest.raises(VenueUnavailable) as caught:
                await source.coins()
        finally:
            await source.close()
        return str(caught.value), len(sim.requests)

    message, asked = run_with_stand_in(scenario)
    assert message == "coingecko: HTTP 503 (after 3 tries)" and asked == 3


def test_caps_are_read_at_most_hourly_and_cached_with_the_time_read(world) -> None:
    cache = SqliteCapCache(world.db)

    async def scenario(sim, clock):
        source = CoinGeckoCaps(clock, sim.url)
        book = MarketCapBook(source, cache, clock, parse_cap_ids("ECHO:echo"))
        try:
            first = await book.view()
            clock.advance(timedelta(minutes=59))
            second = await book.view()
            asked = len(sim.requests)
            clock.advance(timedelta(minutes=2))
            third = await book.view()
        finally:
            await source.close()
        return first, second, third, asked, len(sim.requests)

    first, second, third, asked, asked_later = run_with_stand_in(scenario, clock=world.clock)
    assert asked == 1 and asked_later == 2
    assert first.read_at == second.read_at == NOW and third.read_at == NOW + timedelta(minutes=61)
    assert cache.load()[1] == third.read_at  # the cache holds the reading with its time
    assert first.coins["KILO"].coin_id == "kilo-new" and first.coins["ECHO"].coin_id == "echo"  # override
    assert "DELTA" not in first.coins and first.caps["LIMA"] == D(120_400_000)


def test_a_stale_cache_is_used_when_the_source_is_down_and_alerted_once(world) -> None:
    cache = SqliteCapCache(world.db)
    cache.save([CoinCap("juliet", "juliet", D("9e9"))], NOW - timedelta(hours=30))

    async def scenario(sim, clock):
        sim.down = True
        source = CoinGeckoCaps(clock, sim.url, retries=0)
        book = MarketCapBook(source, cache, clock)
        try:
            view = await book.view()
            return view, book.rebalance_note(view), book.rebalance_note(await book.view())
        finally:
            await source.close()

    view, first_note, second_note = run_with_stand_in(scenario, clock=world.clock)
    assert view.caps == {"JULIET": D("9e9")} and view.stale(NOW)
    assert first_note.startswith("market caps stale: last read 2026-11-23 03:00 UTC") and "HTTP 503" in first_note
    assert second_note == ""  # the same old reading is not announced again


def with_caps(world, sim, clock, floor: str = "500000000") -> CoinGeckoCaps:
    source = CoinGeckoCaps(clock, sim.url, retries=0)
    world.services.rebalancer.caps = MarketCapBook(source, SqliteCapCache(world.db), clock,
                                                   parse_cap_ids("ECHO:echo"))
    return source


def test_set_min_market_cap_changes_the_next_ranking_and_the_rebalance_picks_all_clear_the_floor(world) -> None:
    chat = ConsoleChat(Context(world.services, "console"))

    async def scenario(sim, clock):
        source = with_caps(world, sim, clock)
        try:
            before = (await world.services.ranking()).ranking.selected
            refused = (await chat.answer("/set min_market_cap=abc")).text
            done = (await chat.answer("/set min_market_cap=500000000")).text
            ranking = (await chat.answer("/ranking 4")).text
            summary = await world.services.rebalance_now()
        finally:
            await source.close()
        return before, refused, done, ranking, summary

    before, refused, done, ranking, summary = run_with_stand_in(scenario, clock=world.clock)
    assert before == ("LIMAUSDT", "KILOUSDT", "JULIETUSDT", "INDIAUSDT")  # the filter off: the plain ranking
    assert refused == "⚠ min_market_cap must be a number from 0 to 1e15, like 500000000 or 5e8 (got 'abc')"
    assert "min_market_cap: 0 → 500000000" in done
    audit = world.db.execute("SELECT key, old, new FROM param_changes WHERE key = 'min_market_cap'").fetchall()
    assert audit == [("min_market_cap", "0", "500000000")]
    assert summary.state == "done" and summary.targets == ("KILOUSDT", "JULIETUSDT", "INDIAUSDT", "HOTELUSDT")
    caps = {"KILO": 3e9, "JULIET": 9e9, "INDIA": 2e9, "HOTEL": 1e9}
    assert all(caps[t.removesuffix("USDT")] >= FLOOR for t in summary.targets) and not summary.errors
    reasons = dict(world.db.execute("SELECT symbol, reason FROM rankings WHERE eligible = 0").fetchall())
    assert reasons["LIMAUSDT"] == "market cap 120.4M USD < floor 500M"
    assert reasons["ECHOUSDT"] == "market cap 100M USD < floor 500M"  # the override, not the larger namesake
    assert reasons["DELTAUSDT"] == reasons["ALPHAUSDT"] == "no known market cap"
    assert "KILO→kilo-new 3B, JULIET→juliet 9B, INDIA→india 2B, HOTEL→hotel 1B" in ranking
    assert "Below the floor (2): LIMA 120.4M, ECHO 100M" in ranking and "6 eligible of 12" in ranking
    assert "No known market cap (4): ALPHA, BRAVO, CHARLIE, DELTA" in ranking


def test_with_no_cache_the_filter_is_skipped_and_the_summary_and_history_say_so(world) -> None:
    chat = ConsoleChat(Context(world.services, "console"))

    async def scenario(sim, clock):
        sim.down = True
        source = with_caps(world, sim, clock)
        try:
            world.services.set_params("min_market_cap=5e8", "test")
            summary = await world.services.rebalance_now()
            history = (await chat.answer("/history")).text
        finally:
            await source.close()
        return summary, history

    summary, history = run_with_stand_in(scenario, clock=world.clock)
    assert summary.state == "done" and summary.targets == ("LIMAUSDT", "KILOUSDT", "JULIETUSDT", "INDIAUSDT")
    skipped = "market cap filter skipped: no market caps yet (coingecko: HTTP 503 (after 1 tries))"
    assert summary.errors == (skipped,)  # so the summary shows it as a problem and the alert carries it
    assert world.store.recent_rebalances(1)[0].note == skipped and skipped in history


def test_synthetic_caps_are_circulating_supply_times_price() -> None:
    clock = ManualClock(NOW)
    market = SyntheticMarket(clock, seed=7, n_symbols=60)
    caps = SyntheticCaps(market)
    first = {c.coin_id: c.market_cap for c in asyncio.run(caps.coins())}
    prices_then = asyncio.run(market.prices())
    clock.advance(timedelta(days=3))
    later = {c.coin_id: c.market_cap for c in asyncio.run(caps.coins())}
    prices_now = asyncio.run(market.prices())
    btc = "BTCUSDT"
    assert first["btc"] / prices_then[btc] == later["btc"] / prices_now[btc]  # a fixed supply
    assert len(first) > 40 and all(v > 0 for v in first.values())


def test_the_stand_in_runs_on_its_own_with_python_m() -> None:
    process = subprocess.Popen([sys.executable, "-m", "standins.coingecko_api", "--port", "0", "--symbols",
                                "60", "--clock", "2026-11-24T09:00:00Z"], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[1]
        with urllib.request.urlopen(f"{url}/coins/markets?vs_currency=usd&per_page=250&page=1", timeout=30) as r:
            page = json.loads(r.read())
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert len(page) == 250 and page[0]["market_cap"] >= page[-1]["market_cap"]
    assert KEY_HEADER == "x-cg-demo-api-key"
