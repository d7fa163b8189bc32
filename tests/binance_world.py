"""A bot wired to the local Binance-compatible server through the real python-binance client.

Both venues the engine can face are built here the same way, so one contract suite runs on each:
`paper` (the local fill engine on the synthetic market) and `binance` (BinanceExchange +
BinanceMarketData over HTTP/WebSocket to BinanceSim, backed by a synthetic market with the same seed).
"""
from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import AsyncIterator, Callable

from sqlite_utils import Database

from tradingbot.adapters.binance_client import BinanceTransport
from tradingbot.adapters.binance_exchange import BinanceExchange
from tradingbot.adapters.binance_market import BinanceMarketData
from tradingbot.adapters.cached_market import CachedMarketData
from tradingbot.adapters.kline_store import KlineStore
from tradingbot.adapters.paper import PaperExchange
from tradingbot.adapters.sqlite_store import SqliteStore, open_database
from tradingbot.adapters.synthetic import SyntheticMarket
from tradingbot.adapters.venue_market import VenueMarket
from tradingbot.adapters.clock import OffsetClock
from tradingbot.app.current_params import CurrentParams
from tradingbot.app.rebalancer import Rebalancer
from tradingbot.core.params import StrategyParams
from tradingbot.app.ports import Exchange, MarketData
from tradingbot.app.services import Services
from standins.binance_api import BinanceSim

START = datetime(2025, 6, 2, 9, 0, 5, tzinfo=timezone.utc)
KEY, SECRET = "test-api-key-0123456789", "test-api-secret-abcdefghijklmnop"
CAPITAL = Decimal(10000)
SEED, SYMBOLS = 11, 80


@dataclass
class Bot:
    """The engine's view of one venue, plus the handles tests need to inspect and disturb it."""

    kind: str
    clock: OffsetClock
    exchange: Exchange
    market: MarketData
    store: SqliteStore
    services: Services
    sim: BinanceSim | None = None
    transports: tuple[BinanceTransport, ...] = ()
    connect: Callable[[], Bot] | None = None  # builds another process of this bot on the same files
    databases: tuple[Database, ...] = ()  # the process's own connections (closed on a restart)

    def orders_sent(self) -> list[dict]:
        assert self.sim is not None
        return self.sim.orders(KEY)

    async def close(self) -> None:
        """End this process: its clients and its database connections (the venue and the files stay)."""
        for t in self.transports:
            await t.close()
        for db in self.databases:
            db.conn.close()

    async def restart(self) -> None:
        """A new process on the same database files, as after a restart: every client and connection anew."""
        assert self.connect is not None
        await self.close()
        fresh = self.connect()
        for name in ("exchange", "market", "store", "services", "transports", "databases"):
            setattr(self, name, getattr(fresh, name))


def _services(store: SqliteStore, exchange: Exchange, market: MarketData, clock: OffsetClock,
              params: StrategyParams) -> Services:
    rebalancer = Rebalancer(store, exchange, market, clock, _NoLock(), retries=3, backoff_s=0.05)
    return Services(store, exchange, market, clock, rebalancer, CurrentParams(store, params), "test")


class _NoLock:
    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        pass


@contextlib.asynccontextmanager
async def paper_bot(tmp_path, params: StrategyParams, start: datetime = START) -> AsyncIterator[Bot]:
    clock = OffsetClock(start)
    market = SyntheticMarket(clock, seed=SEED, n_symbols=SYMBOLS)
    db = open_database(tmp_path / "paper.sqlite")
    store = SqliteStore(db, "USDT")
    exchange = PaperExchange(db, market, clock)
    exchange.deposit("USDT", CAPITAL)
    store.deposit(CAPITAL, clock.now())
    yield Bot("paper", clock, exchange, market, store, _services(store, exchange, market, clock, params))


@contextlib.asynccontextmanager
async def binance_bot(tmp_path, params: StrategyParams, start: datetime = START, extra: dict | None = None,
                      recv_window_ms: int = 1000, latency_ms: float = 0, quote_pairs: int = 0) -> AsyncIterator[Bot]:
    """The bot on EXCHANGE=testnet with every URL pointed at a local BinanceSim (quote_pairs: see BinanceSim)."""
    clock = OffsetClock(start)
    sim = BinanceSim(SyntheticMarket(clock, seed=SEED, n_symbols=SYMBOLS), clock, stream_interval=0.05,
                     quote_pairs=quote_pairs)
    sim.add_account(KEY, SECRET, {"USDT": CAPITAL, **(extra or {})})
    await sim.start()
    if latency_ms:
        sim.faults.latency(latency_ms)
    bot = _connect(tmp_path, params, clock, sim, recv_window_ms)
    bot.store.deposit(CAPITAL, clock.now())
    try:
        yield bot
    finally:
        for t in bot.transports:
            await t.close()
        await sim.stop()


def _connect(tmp_path, params: StrategyParams, clock: OffsetClock, sim: BinanceSim, recv_window_ms: int) -> Bot:
    """One process of the bot: its clients to the sim and its connections to the database files in tmp_path."""
    # A rate-limit ban runs out on the test's clock: OffsetClock.monotonic moves on with clock.advance
    public = BinanceTransport("market data", sim.rest_url, clock=clock, backoff=0.05)
    trading = BinanceTransport("testnet", sim.rest_url, KEY, SECRET, clock=clock, backoff=0.05, timeout=2.0)
    trading.recv_window_ms = recv_window_ms
    klines, bot_db = open_database(tmp_path / "k.sqlite"), open_database(tmp_path / "bot.sqlite")
    cache = CachedMarketData(BinanceMarketData(public, clock), KlineStore(klines), clock)
    market = VenueMarket(cache, BinanceMarketData(trading, clock), "testnet")
    exchange = BinanceExchange("testnet", trading, market, clock)
    store = SqliteStore(bot_db, "USDT")
    return Bot("binance", clock, exchange, market, store, _services(store, exchange, market, clock, params),
               sim, (public, trading), functools.partial(_connect, tmp_path, params, clock, sim, recv_window_ms),
               (klines, bot_db))


def make_bot(kind: str, tmp_path, params: StrategyParams, **kw) -> contextlib.AbstractAsyncContextManager[Bot]:
    return paper_bot(tmp_path, params) if kind == "paper" else binance_bot(tmp_path, params, **kw)
