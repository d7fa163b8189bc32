"""A bot wired to the local Binance-compatible server through the real python-binance client.

Both venues the engine can face are built here the same way, so one contract suite runs on each:
`paper` (the local fill engine on the synthetic market) and `binance` (BinanceExchange +
BinanceMarketData over HTTP/WebSocket to BinanceSim, backed by a synthetic market with the same seed).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import AsyncIterator

from tradingbot.adapters.binance_client import BinanceTransport
from tradingbot.adapters.binance_exchange import BinanceExchange
from tradingbot.adapters.binance_market import BinanceMarketData
from tradingbot.adapters.cached_market import CachedMarketData
from tradingbot.adapters.kline_store import KlineStore
from tradingbot.adapters.paper import PaperExchange
from tradingbot.adapters.sqlite_store import SqliteStore, open_database
from tradingbot.adapters.synthetic import SyntheticMarket
from tradingbot.adapters.venue_market import VenueMarket
from tradingbot.clock import OffsetClock
from tradingbot.engine import Rebalancer
from tradingbot.params import StrategyParams
from tradingbot.ports import Exchange, MarketData
from tradingbot.services import Services
from tradingbot.sim.binance_api import BinanceSim

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

    def orders_sent(self) -> list[dict]:
        assert self.sim is not None
        return self.sim.orders(KEY)


def _services(store: SqliteStore, exchange: Exchange, market: MarketData, clock: OffsetClock,
              params: StrategyParams) -> Services:
    rebalancer = Rebalancer(store, exchange, market, clock, _NoLock(), retries=3, backoff_s=0.05)
    return Services(store, exchange, market, clock, rebalancer, params, "test")


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
                      recv_window_ms: int = 1000, latency_ms: float = 0) -> AsyncIterator[Bot]:
    """The bot on EXCHANGE=testnet with every URL pointed at a local BinanceSim."""
    clock = OffsetClock(start)
    sim = BinanceSim(SyntheticMarket(clock, seed=SEED, n_symbols=SYMBOLS), clock, stream_interval=0.05)
    sim.add_account(KEY, SECRET, {"USDT": CAPITAL, **(extra or {})})
    await sim.start()
    if latency_ms:
        sim.faults.latency(latency_ms)
    def monotonic() -> float:  # a rate-limit ban runs out on the test's clock
        return clock.now().timestamp()

    public = BinanceTransport("market data", sim.rest_url, backoff=0.05, monotonic=monotonic)
    trading = BinanceTransport("testnet", sim.rest_url, KEY, SECRET, backoff=0.05, timeout=2.0, monotonic=monotonic)
    trading.recv_window_ms = recv_window_ms
    cache = CachedMarketData(BinanceMarketData(public, clock), KlineStore(open_database(tmp_path / "k.sqlite")), clock)
    market = VenueMarket(cache, BinanceMarketData(trading, clock), "testnet")
    exchange = BinanceExchange("testnet", trading, market)
    store = SqliteStore(open_database(tmp_path / "bot.sqlite"), "USDT")
    store.deposit(CAPITAL, clock.now())
    try:
        yield Bot("binance", clock, exchange, market, store, _services(store, exchange, market, clock, params),
                  sim, (public, trading))
    finally:
        for t in (public, trading):
            await t.close()
        await sim.stop()


def make_bot(kind: str, tmp_path, params: StrategyParams, **kw) -> contextlib.AbstractAsyncContextManager[Bot]:
    return paper_bot(tmp_path, params) if kind == "paper" else binance_bot(tmp_path, params, **kw)
