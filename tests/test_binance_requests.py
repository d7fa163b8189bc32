"""What the Binance adapters cost in requests: rules and prices read together and once for every
concurrent reader (the venue's prices still served when the ranking's market data is down); the NOTIONAL
check asks Binance's average price only for a sell near the minimum."""
from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest

from tests.binance_world import binance_bot
from tests.builders import NOW
from tests.fakes import ScriptedMarket
from tradingbot.adapters.venue_market import VenueMarket
from tradingbot.adapters.clock import ManualClock
from tradingbot.core.domain import OrderRequest, OrderStatus, Side
from tradingbot.core.errors import OrderRejected, VenueUnavailable
from tradingbot.core.money import floor_to_step
from tradingbot.core.params import StrategyParams

AVG_PRICE, EXCHANGE_INFO, TICKERS = "/api/v3/avgPrice", "/api/v3/exchangeInfo", "/api/v3/ticker/price"


def _asked(bot, path: str) -> int:
    return sum(1 for r in bot.sim.requests if r.path == path)


def test_a_sell_asks_for_the_average_price_only_near_the_minimum_notional(tmp_path):
    async def scenario():
        async with binance_bot(tmp_path, StrategyParams()) as bot:
            prices = await bot.market.prices()
            # the symbol whose lot step is finest in money, so "5 % above the minimum" is a quantity on the step
            rules = min((r for r in await bot.market.symbols() if r.symbol in prices),
                        key=lambda r: r.step_size * prices[r.symbol] / r.min_notional)
            symbol, price = rules.symbol, prices[rules.symbol]
            assert rules.step_size * price < rules.min_notional / 100
            await bot.exchange.place_market_order(OrderRequest("b", symbol, Side.BUY, quote_amount=Decimal(500)))

            def worth(multiple: str) -> Decimal:  # a quantity on the lot step worth that many minimum notionals
                return floor_to_step(rules.min_notional * Decimal(multiple) / price, rules.step_size)

            far = await bot.exchange.place_market_order(OrderRequest("s1", symbol, Side.SELL, quantity=worth("3")))
            assert far.status is OrderStatus.FILLED and _asked(bot, AVG_PRICE) == 0
            near = await bot.exchange.place_market_order(OrderRequest("s2", symbol, Side.SELL, quantity=worth("1.05")))
            assert near.status is OrderStatus.FILLED and _asked(bot, AVG_PRICE) == 1
            sent = len(bot.orders_sent())
            with pytest.raises(OrderRejected) as below:
                await bot.exchange.place_market_order(OrderRequest("s3", symbol, Side.SELL, quantity=worth("0.9")))
            assert below.value.code == -1013 and _asked(bot, AVG_PRICE) == 2
            assert len(bot.orders_sent()) == sent  # refused here, never sent
    asyncio.run(scenario())


def test_concurrent_readers_share_one_read_of_rules_and_prices_and_the_reads_overlap(tmp_path):
    async def scenario():
        async with binance_bot(tmp_path, StrategyParams()) as bot:
            for t in bot.transports:
                t.timeout = 60.0  # no retry while the server holds the requests below
                await t.open()  # python-binance pings and reads the time here: not part of what is counted
            bot.sim.requests.clear()
            # The server holds the three reads unanswered (logging each as it arrives): all three show up
            # only if they went out together; one after another, the second would wait for the first.
            bot.sim.faults.hang_next(2, EXCHANGE_INFO, method="GET")
            bot.sim.faults.hang_next(1, TICKERS, method="GET")
            readers = asyncio.gather(*(bot.market.prices() for _ in range(10)),
                                     *(bot.market.symbols() for _ in range(10)))
            await _until(lambda: len(bot.sim.requests) >= 3, "the three reads in flight together")
            assert sorted((r.path, r.status) for r in bot.sim.requests) == [(EXCHANGE_INFO, 0), (EXCHANGE_INFO, 0),
                                                                             (TICKERS, 0)]
            readers.cancel()
            with pytest.raises(asyncio.CancelledError):
                await readers

            bot.sim.faults.clear()
            bot.sim.requests.clear()
            answers = await asyncio.gather(*(bot.market.prices() for _ in range(10)),
                                           *(bot.market.symbols() for _ in range(10)))
            assert all(a == answers[0] for a in answers[:10]) and answers[0]["BTCUSDT"] > 0
            assert all(a == answers[10] for a in answers[10:]) and answers[10]
            # the venue's rules, the ranking's rules (same server here) and the prices: three requests for all
            assert (_asked(bot, EXCHANGE_INFO), _asked(bot, TICKERS)) == (2, 1)
    asyncio.run(scenario())


async def _until(condition, what: str, timeout: float = 30.0) -> None:
    """Wait for a condition; the timeout only keeps a broken test from hanging."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"never happened: {what}"
        await asyncio.sleep(0.01)


class _Unreachable(ScriptedMarket):
    async def symbols(self):
        raise VenueUnavailable("market data: cannot reach it")


def test_the_venue_s_prices_do_not_need_the_ranking_s_market_data():
    clock = ManualClock(NOW)
    venue = ScriptedMarket(clock, {"BTCUSDT": lambda t: 60000}, listed=NOW - timedelta(days=9))
    market = VenueMarket(_Unreachable(clock, {}, listed=NOW), venue, "testnet")
    assert asyncio.run(market.prices()) == {"BTCUSDT": Decimal(60000)}
    with pytest.raises(VenueUnavailable):
        asyncio.run(market.symbols())
