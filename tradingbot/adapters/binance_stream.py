"""Live market streams: `!miniTicker@arr` for prices and `<symbol>@kline_1h` for closed hourly candles.

Both cost no request weight. Closed candles go straight into the candle cache, so at the top of
the hour a rebalance finds every anchor candle already on disk. Streams are split over several
connections (long combined URLs) and each reconnects with backoff; while one is down, prices fall
back to REST (see BinanceMarketData.prices) and missing candles are fetched on demand.
"""
from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from typing import Any

from binance import AsyncClient, BinanceSocketManager

from ..app.ports import Clock
from . import binance_parse as wire
from .binance_market import BinanceMarketData, LivePrices
from .cached_market import CachedMarketData

log = logging.getLogger(__name__)

STREAMS_PER_CONNECTION = 100
MINI_TICKERS = "!miniTicker@arr"
FATAL = frozenset({"BinanceWebsocketUnableToConnect", "BinanceWebsocketQueueOverflow"})


def _socket_manager(client: AsyncClient, stream_url: str) -> BinanceSocketManager:
    cls = type("PointedSocketManager", (BinanceSocketManager,), {"STREAM_URL": stream_url.rstrip("/") + "/"})
    manager = cls(client, max_queue_size=1000)
    # python-binance stops reading a socket whose close handshake has begun and waits for it to close; but
    # websockets pauses reading while more than max_queue (16) messages wait unread, so with a burst pending
    # the server's end of the connection is never read, the socket stays CLOSING and is never reopened.
    # Unbounded here; python-binance's own queue (max_queue_size above) still bounds what waits for us.
    manager.ws_kwargs = {"max_queue": None}
    return manager


class MarketStream:
    """Runs the stream connections until cancelled."""

    def __init__(self, stream_url: str, market: BinanceMarketData, cache: CachedMarketData, clock: Clock,
                 quote: str = "USDT", reconnect_s: float = 1.0):
        self.stream_url, self.market, self.cache, self.clock = stream_url, market, cache, clock
        self.quote, self.reconnect_s = quote, reconnect_s
        self.live: LivePrices = market.live
        self.symbols: list[str] = []  # whose hourly candles are streamed
        self.candles_ingested = 0
        self.reconnects = 0  # connections we reopened after the library gave up
        self.drops = 0  # drops the library reported (it repairs most by itself)

    async def run(self) -> None:
        """Subscribe to prices and the hourly candles of every trading symbol of the quote."""
        client = await self.market.transport.open()
        self.symbols = [r.symbol for r in await self.market.symbols() if r.quote == self.quote and r.trading]
        names = [MINI_TICKERS] + [f"{s.lower()}@kline_1h" for s in self.symbols]
        chunks = [names[i:i + STREAMS_PER_CONNECTION] for i in range(0, len(names), STREAMS_PER_CONNECTION)]
        tasks = [asyncio.create_task(self._connection(client, chunk)) for chunk in chunks]
        try:
            await asyncio.gather(*tasks)
        finally:  # gather gives up at the first cancelled child: the others are stopped and waited for here
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)
            self.live.connected = False

    async def _connection(self, client: AsyncClient, streams: list[str]) -> None:
        """One combined connection, reopened with backoff whenever it drops."""
        pause = self.reconnect_s
        while True:
            try:
                async with _socket_manager(client, self.stream_url).multiplex_socket(streams) as socket:
                    pause = self.reconnect_s
                    while True:
                        message = await socket.recv()
                        task = asyncio.current_task()
                        if task is not None and task.cancelling():  # recv's wait_for can swallow a cancel (3.11)
                            raise asyncio.CancelledError
                        if not self._handle(message):
                            break
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the library raises several kinds; all mean "reconnect"
                log.warning("market stream dropped (%s); reconnecting in %.0f s", type(exc).__name__, pause)
            if MINI_TICKERS in streams:
                self.live.connected = False
            self.reconnects += 1
            await self.clock.sleep(pause)
            pause = min(pause * 2, 60)

    def _handle(self, message: Any) -> bool:
        """Apply one message; False when the library gives the connection up (we then open a new one)."""
        if not isinstance(message, dict):
            return False
        if message.get("e") == "error":
            # python-binance reports a drop it is repairing itself as a message; only some are final
            log.warning("market stream: %s", message.get("type"))
            self.live.connected = False
            self.drops += 1
            return message.get("type") not in FATAL
        data = message.get("data", message)
        if isinstance(data, list):  # mini tickers of the symbols that changed
            self.live.prices.update({t["s"]: Decimal(t["c"]) for t in data})
            self.live.updated, self.live.connected = self.clock.now(), True
        elif isinstance(data, dict) and data.get("e") == "kline" and data["k"].get("x"):
            self.cache.ingest(data["s"], data["k"]["i"], wire.stream_candle(data["k"]))
            self.candles_ingested += 1
        return True
