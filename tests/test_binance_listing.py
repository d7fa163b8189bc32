"""What the local Binance lists and how it writes its numbers: the listing's market-data side."""
from __future__ import annotations

import asyncio
from collections import Counter
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, localcontext

from hypothesis import given, strategies as st

from standins.binance_json import half, num
from standins.binance_quotes import QUOTES
from tests.binance_world import binance_bot
from tests.test_binance_sim import run
from tradingbot.core.domain import QUOTE_UNIT
from tradingbot.core.params import StrategyParams

D = Decimal


def _num_by_quantize(x: Decimal) -> str:
    """The plain rule: quantize half up to 1e-8 at ample precision, print fixed-point, no negative zero."""
    with localcontext(prec=60):
        text = format(x.quantize(QUOTE_UNIT, rounding=ROUND_HALF_UP), "f")
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


@given(st.integers(-10**30, 10**30), st.integers(-14, 6))
def test_numbers_print_as_the_plain_quantize_rule_prints_them(units, exponent):
    x = Decimal(units).scaleb(exponent)
    assert num(x) == _num_by_quantize(x)


@given(st.integers(-10**30, 10**30), st.integers(-14, 6))
def test_halves_print_as_the_plain_round_down_rule_prints_them(units, exponent):
    x = Decimal(units).scaleb(exponent)
    with localcontext(prec=60):
        assert half(x) == _num_by_quantize((x / 2).quantize(QUOTE_UNIT, rounding=ROUND_DOWN))


def test_numbers_print_with_eight_decimals_and_never_a_negative_zero():
    assert [num(Decimal(v)) for v in ("0.001", "5", "1E+3", "-0", "-0.000000004", "0.000000005", "-1.5")] == [
        "0.00100000", "5.00000000", "1000.00000000", "0.00000000", "0.00000000", "0.00000001", "-1.50000000"]


# ----- a listing in every quote -----------------------------------------------------------------------------

def test_the_local_binance_lists_pairs_in_many_quotes_that_follow_their_usdt_pair():
    async def scenario(sim, client):
        symbols = (await client.get_exchange_info())["symbols"]
        by_name = {s["symbol"]: s for s in symbols}
        quotes = Counter(s["quoteAsset"] for s in symbols)
        pair = next(s for s in symbols if s["quoteAsset"] == "BTC" and s["status"] == "TRADING")
        followed = pair["baseAsset"] + "USDT"
        rate = next(q.usdt for q in QUOTES if q.asset == "BTC")
        prices = {p["symbol"]: D(p["price"]) for p in await client.get_all_tickers()}
        hours = {s: await client.get_klines(symbol=s, interval="1h", limit=3) for s in (pair["symbol"], followed)}
        first = await client.get_klines(symbol=pair["symbol"], interval="1h", startTime=0, limit=1)
        first_usdt = await client.get_klines(symbol=followed, interval="1h", startTime=0, limit=1)
        return by_name, quotes, pair, followed, rate, prices, hours, first, first_usdt

    by_name, quotes, pair, followed, rate, prices, hours, first, first_usdt = run(scenario, quote_pairs=900)
    assert len(quotes) >= 20 and quotes["USDT"] < len(by_name) / 3 and 800 < len(by_name) - quotes["USDT"] < 1000
    assert {"TRADING", "BREAK"} <= {s["status"] for s in by_name.values() if s["quoteAsset"] != "USDT"}
    assert {f["filterType"] for f in pair["filters"]} >= {"PRICE_FILTER", "LOT_SIZE", "NOTIONAL"}
    assert pair["permissionSets"] == [["SPOT"]]
    assert prices[pair["symbol"]] == (prices[followed] / rate).quantize(D("0.00000001"), rounding=ROUND_HALF_UP)
    for mine, theirs in zip(*(h[:-1] for h in hours.values())):  # closed hours: prices in the quote, same volume
        assert (mine[0], mine[5]) == (theirs[0], theirs[5])
        assert D(mine[4]) == (D(theirs[4]) / rate).quantize(D("0.00000001"), rounding=ROUND_HALF_UP)
    assert first[0][0] == first_usdt[0][0]  # listed when the pair it follows listed


def _ranking_and_requests(tmp_path, quote_pairs: int):
    """A cold /ranking through the real python-binance client; its rows and the requests by endpoint."""
    async def scenario():
        async with binance_bot(tmp_path, StrategyParams(), quote_pairs=quote_pairs) as bot:
            for t in bot.transports:
                await t.open()
            listed = {s["symbol"]: s for s in (await bot.transports[0].call("get_exchange_info", 20))["symbols"]}
            bot.sim.requests.clear()
            report = await bot.services.ranking()
            return report.ranking, Counter(r.path for r in bot.sim.requests), listed
    return asyncio.run(scenario())


def test_a_ranking_over_a_listing_of_every_quote_ranks_the_quote_s_pairs_as_a_usdt_only_listing_does(tmp_path):
    alone, alone_requests, usdt_only = _ranking_and_requests(tmp_path / "usdt", 0)
    ranking, requests, listed = _ranking_and_requests(tmp_path / "every", 1500)
    assert len(listed) > len(usdt_only) + 1400 and len({s["quoteAsset"] for s in listed.values()}) > 20
    assert ranking.rows == alone.rows and ranking.selected == alone.selected and ranking.selected
    assert {r.symbol for r in ranking.rows} == {s for s, info in listed.items() if info["quoteAsset"] == "USDT"}
    assert all(r.symbol.endswith("USDT") for r in ranking.rows if r.eligible)
    # The work is the quote's: one klines request per trading USDT pair and the same few listing and price reads
    trading_usdt = sum(1 for s in listed.values() if s["quoteAsset"] == "USDT" and s["status"] == "TRADING")
    assert requests == alone_requests and requests["/api/v3/klines"] == trading_usdt
