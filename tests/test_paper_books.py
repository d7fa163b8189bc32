"""The paper venue with Binance market data walks the book GET /api/v3/depth shows (the local Binance's, over the
real python-binance client): thin and deep books, reading deeper, and the flat model when the book is unreadable."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlite_utils import Database

from standins.binance_api import BinanceSim
from tests.test_binance_sim import connect
from tradingbot.adapters.binance_client import BinanceTransport
from tradingbot.adapters.binance_market import BinanceMarketData
from tradingbot.adapters.clock import ManualClock
from tradingbot.adapters.paper import PaperExchange, fill_price
from tradingbot.adapters.synthetic import SyntheticMarket
from tradingbot.adapters.synthetic_books import SyntheticBooks
from tradingbot.core.costs import Costs
from tradingbot.core.domain import OrderRequest, OrderStatus, Side

D = Decimal
START = datetime(2025, 3, 1, 12, 30, tzinfo=timezone.utc)
COSTS = Costs(fee_rate=D("0.001"), slippage_bps=D(5))
DEPTH = "/api/v3/depth"
KEY, SECRET = "k-books", "s-books"


def run(scenario, timeout: float = 0.5) -> Any:
    """scenario(sim, paper) against a local Binance on a small synthetic market; the paper account holds 10M USDT.
    The short timeout serves the hung-read tests; a test counting read weights gives a long one, since a
    5,000-level answer can take longer than 0.5 s on a loaded machine and its retry would count twice."""
    async def main():
        clock = ManualClock(START)  # one instant: the paper venue and the local Binance see the same book
        sim = BinanceSim(SyntheticMarket(clock, seed=7, n_symbols=60), clock, check_timestamps=False)
        sim.add_account(KEY, SECRET, {"USDT": D(10**7)})
        async with sim:
            transport = BinanceTransport("market data", sim.rest_url, clock=clock, backoff=0.01, timeout=timeout,
                                         attempts=2)
            data = BinanceMarketData(transport, clock)
            paper = PaperExchange(Database(memory=True), data, clock, lambda: COSTS, books=data)
            paper.deposit("USDT", D(10**7))
            try:
                return await scenario(sim, paper)
            finally:
                await transport.close()
    return asyncio.run(main())


async def thinnest(sim: BinanceSim) -> str:
    """The listed USDT pair whose day traded the least (the thinnest book)."""
    rules, now = await sim.listing.rules(), sim.clock.now()
    volumes = {s: (await sim.listing.day(s, now)).quote_volume for s, r in rules.items() if r.trading}
    return min(volumes, key=volumes.__getitem__)


def buy(symbol: str, quote: Decimal, coid: str = "b1") -> OrderRequest:
    return OrderRequest(coid, symbol, Side.BUY, quote_amount=quote)


def depth_weights(sim: BinanceSim) -> list[int]:
    return [r.weight for r in sim.requests if r.path == DEPTH]


def test_a_buy_on_a_thin_book_fills_level_by_level_as_the_local_binance_fills_the_same_order():
    async def scenario(sim, paper):
        symbol = await thinnest(sim)
        mine = await paper.place_market_order(buy(symbol, D(100_000)))  # past the first 100 levels
        client = await connect(sim, KEY, SECRET)
        try:
            theirs = await client.order_market_buy(symbol=symbol, quoteOrderQty="100000")
        finally:
            await client.close_connection()
        return mine, theirs
    mine, theirs = run(scenario)
    assert mine.status is OrderStatus.FILLED and len(mine.fills) > 100 and theirs["status"] == "FILLED"
    assert {f.priced_by for f in mine.fills} == {"book"}
    assert [(f.price, f.quantity, f.commission, f.commission_asset) for f in mine.fills] == [
        (D(f["price"]), D(f["qty"]), D(f["commission"]), f["commissionAsset"]) for f in theirs["fills"]]
    assert mine.send_touch == mine.fills[0].price and mine.send_mid is not None and mine.send_mid < mine.send_touch


def test_the_same_buy_on_a_deep_book_takes_one_level_at_the_best_ask():
    async def scenario(sim, paper):
        return await paper.place_market_order(buy("BTCUSDT", D(3000)))
    result = run(scenario)
    assert len(result.fills) == 1 and result.fills[0].price == result.send_touch
    assert result.fills[0].priced_by == "book"


def test_a_sell_walks_the_bids_and_pays_its_fee_in_the_quote_on_each_level():
    async def scenario(sim, paper):
        symbol = await thinnest(sim)
        bought = await paper.place_market_order(buy(symbol, D(3000)))
        held = sum(f.quantity - f.commission for f in bought.fills)
        step = (await sim.listing.rules())[symbol].step_size
        sold = await paper.place_market_order(OrderRequest("s1", symbol, Side.SELL, quantity=held // step * step))
        return sold, await paper.balances()
    sold, balances = run(scenario)
    assert len(sold.fills) > 2 and [f.price for f in sold.fills] == sorted((f.price for f in sold.fills), reverse=True)
    assert sold.send_touch == sold.fills[0].price < sold.send_mid
    assert all(f.commission_asset == "USDT" and f.commission == (f.price * f.quantity * COSTS.fee_rate)
               .quantize(D("0.00000001")) for f in sold.fills)
    assert balances["USDT"] < 10**7  # a round trip through a thin book costs the spread, the walk and the fees


def thin_buy(amount: Decimal):
    """A buy of `amount` USDT of the thinnest coin: its result and the weight of each depth read it made."""
    async def scenario(sim, paper):
        result = await paper.place_market_order(buy(await thinnest(sim), amount))
        return result, depth_weights(sim)
    return run(scenario, timeout=30)


def test_a_book_shallower_than_the_order_is_read_deeper_and_never_extrapolated():
    result, weights = thin_buy(D(100_000))
    assert weights[:3] == [5, 5, 25]  # neither 20 nor 100 levels covered it; 500 were read next
    assert len(result.fills) > 100 and {f.priced_by for f in result.fills} == {"book"}
    assert result.status is OrderStatus.FILLED


def test_an_order_deeper_than_the_deepest_read_fills_what_the_book_shows_and_the_rest_expires():
    result, weights = thin_buy(D(9_000_000))
    assert weights == [5, 5, 25, 50, 250]
    assert result.status is OrderStatus.PARTIAL and len(result.fills) == 5000


def test_a_refused_or_timed_out_depth_read_prices_the_order_flat_and_the_fill_says_so():
    async def scenario(sim, paper):
        rules = (await sim.listing.rules())["BTCUSDT"]
        sim.faults.fail_next(n=2, status=503, path=DEPTH)
        refused = await paper.place_market_order(buy("BTCUSDT", D(3000), "r1"))
        last_refused = (await paper.market.prices())["BTCUSDT"]
        sim.faults.hang_next(n=2, path=DEPTH)
        timed_out = await paper.place_market_order(buy("BTCUSDT", D(3000), "t1"))
        last_timed_out = (await paper.market.prices())["BTCUSDT"]
        return rules, (refused, last_refused), (timed_out, last_timed_out)
    rules, *outcomes = run(scenario)
    for result, last in outcomes:
        assert [f.priced_by for f in result.fills] == ["flat"]
        assert result.fills[0].price == fill_price(last, Side.BUY, rules, COSTS.slippage_bps)
        assert result.send_mid == result.send_touch == last


def test_the_synthetic_markets_books_follow_each_coins_volume_so_the_demo_pays_more_on_a_thin_coin():
    async def scenario():
        clock = ManualClock(START)
        market = SyntheticMarket(clock, seed=7, n_symbols=60)
        books = SyntheticBooks(market, clock)
        paper = PaperExchange(Database(memory=True), market, clock, lambda: COSTS, books=books)
        paper.deposit("USDT", D(10**6))
        now, rules = clock.now(), {r.symbol: r for r in await market.symbols() if r.trading}
        volume = {s: sum(c.quote_volume for c in await market.candles(s, "1h", now - timedelta(days=1), now))
                  for s in rules}
        thin, deep = min(volume, key=volume.__getitem__), max(volume, key=volume.__getitem__)
        tops = [(await books.order_book(s, 5)).asks[0] for s in (thin, deep)]
        fills = [await paper.place_market_order(buy(s, D(5000), f"d{i}")) for i, s in enumerate((thin, deep))]
        return tops, fills
    (thin_top, deep_top), (thin, deep) = asyncio.run(scenario())
    assert thin_top.price * thin_top.qty < deep_top.price * deep_top.qty
    cost = [sum(f.price * f.quantity for f in r.fills) / sum(f.quantity for f in r.fills) / r.send_mid - 1
            for r in (thin, deep)]
    assert len(thin.fills) > len(deep.fills) == 1 and cost[0] > cost[1] > 0


class SlowBooks:
    """The synthetic books behind a round trip of `trip` seconds on the clock; records when each read began."""

    def __init__(self, market, clock, trip: float):
        self.inner, self.clock, self.trip, self.started = SyntheticBooks(market, clock), clock, trip, []

    async def order_book(self, symbol, limit):
        self.started.append(self.clock.monotonic())
        await self.clock.sleep(self.trip / 2)  # the venue answers from the book as it is halfway through
        book = await self.inner.order_book(symbol, limit)
        await self.clock.sleep(self.trip / 2)
        return book


def test_the_book_read_starts_half_a_round_trip_early_so_the_order_walks_the_book_it_meets_after_its_latency():
    async def scenario():
        clock = ManualClock(START)
        market = SyntheticMarket(clock, seed=7, n_symbols=60)
        books = SlowBooks(market, clock, trip=0.2)
        paper = PaperExchange(Database(memory=True), market, clock, lambda: Costs(latency_ms=1000), books=books)
        paper.deposit("USDT", D(10**6))
        sent = []
        for coid in ("a1", "a2"):
            sent.append(clock.monotonic())
            await paper.place_market_order(buy("BTCUSDT", D(1000), coid))
        return [start - at for start, at in zip(books.started, sent)]
    first, second = asyncio.run(scenario())
    assert first == 1.0  # no round trip measured yet: read after the full latency
    assert abs(second - 0.9) < 1e-9  # half of the 0.2 s measured, early: the venue looks at t + 1.0 s
