"""The Binance adapter sleeps and times its waits on the clock it is given, as every other part of the bot does:
on a test clock a Retry-After or an order's recvWindow passes at once, and the waits are still all taken
(counted on that clock), through the real python-binance client against the local Binance."""
from __future__ import annotations

import asyncio

from tests.binance_world import KEY, SECRET, SEED, START, SYMBOLS
from tradingbot.adapters.binance_client import BinanceTransport
from tradingbot.adapters.binance_exchange import BinanceExchange
from tradingbot.adapters.binance_market import BinanceMarketData
from tradingbot.adapters.clock import ManualClock, OffsetClock
from tradingbot.adapters.synthetic import SyntheticMarket
from standins.binance_api import BinanceSim

ORDER = "/api/v3/order"


async def _with_sim(scenario) -> None:
    """The local Binance on its own running clock; the adapter under test gets a manual one."""
    sim_clock = OffsetClock(START)
    sim = BinanceSim(SyntheticMarket(sim_clock, seed=SEED, n_symbols=SYMBOLS), sim_clock, stream_interval=0.05)
    sim.add_account(KEY, SECRET, {"USDT": 1000})
    await sim.start()
    try:
        await scenario(sim)
    finally:
        await sim.stop()


def test_a_retry_after_is_waited_on_the_injected_clock():
    clock = ManualClock(START)

    async def scenario(sim: BinanceSim) -> None:
        transport = BinanceTransport("market data", sim.rest_url, clock=clock)
        try:
            await transport.open()
            sim.faults.fail_next(1, 429, None, retry_after=90)
            served = await transport.call("get_server_time", 1)
            assert served["serverTime"] > 0
            assert transport.health.waits == [90.0]
            assert clock.monotonic() == 90.0  # the whole Retry-After, taken on the test's clock
        finally:
            await transport.close()

    asyncio.run(_with_sim(scenario))


def test_an_order_not_found_is_declared_missing_once_its_recv_window_has_passed_on_the_injected_clock():
    clock = ManualClock(START)

    async def scenario(sim: BinanceSim) -> None:
        transport = BinanceTransport("testnet", sim.rest_url, KEY, SECRET, clock=clock)
        exchange = BinanceExchange("testnet", transport, BinanceMarketData(transport, clock), clock)
        try:
            assert await exchange.find_order("BTCUSDT", "never-sent") is None
            lookups = [r for r in sim.requests if r.path == ORDER and r.method == "GET"]
            assert len(lookups) == 2  # asked, waited out the recvWindow, asked again
            assert clock.monotonic() >= (transport.recv_window_ms + 1000) / 1000
        finally:
            await transport.close()

    asyncio.run(_with_sim(scenario))
