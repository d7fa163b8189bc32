"""Live streams through python-binance's socket manager: prices without request weight, closed candles
into the cache as they close."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from tests.binance_world import binance_bot
from tradingbot.adapters.binance_stream import MarketStream
from tradingbot.app.market_view import rank_now
from tradingbot.core.params import StrategyParams

PARAMS = StrategyParams(topn=4, min_age_days=1)


async def until(condition, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_stream_prices_and_closing_candles_spare_the_rest_api(tmp_path):
    async def scenario():
        async with binance_bot(tmp_path, PARAMS) as bot:
            cache = bot.market.data  # VenueMarket -> the cached production market data
            raw = cache.source
            await rank_now(cache, PARAMS, bot.clock.now())  # cold: fills the cache up to the last closed hour
            stream = MarketStream(bot.sim.stream_url, raw, cache, bot.clock, reconnect_s=0.1)
            task = asyncio.create_task(stream.run())
            try:
                await until(lambda: raw.live.connected)
                weight = sum(t.health.weight_spent for t in bot.transports)
                prices = await raw.prices()
                assert prices["BTCUSDT"] > 0 and sum(t.health.weight_spent for t in bot.transports) == weight
                bot.clock.advance(timedelta(hours=3))
                await until(lambda: stream.candles_ingested >= 3 * len(stream.symbols) > 0)
                fetches = cache.fetches
                await rank_now(cache, PARAMS, bot.clock.now())
                assert cache.fetches == fetches  # every anchor candle came from the stream
            finally:
                task.cancel()
                await asyncio.wait([task], timeout=5)  # a close handshake may linger; never hang on it
    asyncio.run(scenario())



def test_dropped_streams_reconnect_and_candles_keep_arriving(tmp_path):
    """The server closes every stream while a burst of messages is still unread (pushes every 50 ms here)."""
    async def scenario():
        async with binance_bot(tmp_path, PARAMS) as bot:
            cache, connections = bot.market.data, bot.sim.streams.connections
            raw = cache.source
            stream = MarketStream(bot.sim.stream_url, raw, cache, bot.clock, reconnect_s=0.1)
            task = asyncio.create_task(stream.run())
            try:
                await until(lambda: raw.live.connected and len(connections) == 1)
                dropped = set(connections)
                bot.sim.faults.drop_streams(after_push=True)
                await until(lambda: stream.drops + stream.reconnects > 0)  # the client saw it
                # A kline stream counts closed bars from the one open when it subscribed: wait for the new
                # connection, not merely for the old one to go, before the clock moves
                await until(lambda: len(connections) == 1 and not connections & dropped, seconds=20)
                ingested = stream.candles_ingested
                bot.clock.advance(timedelta(hours=2))
                await until(lambda: stream.candles_ingested >= ingested + 2 * len(stream.symbols) > ingested)
                await until(lambda: raw.live.connected)
            finally:
                task.cancel()
                await asyncio.wait([task], timeout=10)
            assert task.done()  # and with it every connection task (run() waits for them)
            await until(lambda: not connections)
    asyncio.run(scenario())
