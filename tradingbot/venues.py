"""Market data, venue and market cap adapters chosen from settings (the composition root, bootstrap.py, calls this).

  --demo / MARKET_DATA=synthetic  the generated market, offline
  MARKET_DATA=binance             production public data (no key), candles cached on disk, live streams
  EXCHANGE=paper                  local fills at those prices (fees, slippage, latency simulated)
  EXCHANGE=testnet|demo|live      Binance's order path on that venue; ranking stays on production data
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Coroutine

import sqlite_utils

from .adapters.paper import PaperExchange
from .adapters.sqlite_caps import SqliteCapCache
from .adapters.sqlite_store import open_database
from .adapters.synthetic import SyntheticMarket
from .adapters.synthetic_caps import SyntheticCaps
from .app.cap_book import MarketCapBook
from .app.ports import Clock, Exchange, MarketCaps, MarketData, OrderBooks
from .core.costs import CostSource
from .core.domain import VenueHealth
from .core.market_caps import parse_cap_ids
from .settings import Settings, SettingsError


@dataclass
class VenueConnections:
    """The market data, the exchange and the market cap source the settings chose, with what keeps them
    connected while the bot runs; built once, by build_venue."""

    market: MarketData  # what the engine reads: rules, candles, prices
    exchange: Exchange
    market_name: str
    caps: MarketCapBook
    health: list[VenueHealth] = field(default_factory=list)  # shown by /status
    background: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)  # run while the bot serves
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    books: OrderBooks | None = None  # the venue's order books, for /plan's cost estimate

    @property
    def paper(self) -> PaperExchange | None:
        return self.exchange if isinstance(self.exchange, PaperExchange) else None

    async def close(self) -> None:
        for close in self.closers:
            await close()


def build_venue(settings: Settings, db: sqlite_utils.Database, clock: Clock, costs: CostSource,
                demo: bool) -> VenueConnections:
    """Wire the market data source, the venue (a paper one charges `costs()`) and the market cap source the
    settings ask for."""
    if demo or settings.market_data == "synthetic":
        # The synthetic market exists only in this process, so only the paper venue can fill against it
        synthetic = SyntheticMarket(clock, seed=settings.synthetic_seed, n_symbols=settings.synthetic_symbols)
        caps, cap_closers = build_market_caps(settings, db, synthetic, clock)
        from .adapters.synthetic_books import SyntheticBooks  # books whose depth follows each coin's volume

        books = SyntheticBooks(synthetic, clock)
        paper = PaperExchange(db, synthetic, clock, costs, books=books)
        return VenueConnections(synthetic, paper, "synthetic", caps, closers=cap_closers, books=books)
    return _binance_venue(settings, db, clock, costs)


def _binance_venue(settings: Settings, db: sqlite_utils.Database, clock: Clock, costs: CostSource) -> VenueConnections:
    # Imported here: python-binance and aiohttp take a few hundred milliseconds to import, which the
    # synthetic market (the demo, `bot.py --demo chat ...`) should not pay for.
    from .adapters.binance_client import BinanceTransport
    from .adapters.binance_exchange import BinanceExchange
    from .adapters.binance_market import BinanceMarketData
    from .adapters.binance_stream import MarketStream
    from .adapters.cached_market import CachedMarketData
    from .adapters.kline_store import KlineStore
    from .adapters.venue_market import VenueMarket

    public = BinanceTransport("market data", settings.binance_market_data_url, clock=clock,
                              weight_budget=settings.binance_weight_budget)
    raw = BinanceMarketData(public, clock)
    cache = CachedMarketData(raw, KlineStore(open_database(settings.kline_db_path)), clock)
    stream = MarketStream(settings.binance_stream_url, raw, cache, clock)
    caps, cap_closers = build_market_caps(settings, db, cache, clock)
    if settings.exchange == "paper":
        paper = PaperExchange(db, cache, clock, costs, books=raw)  # fills walk GET /api/v3/depth
        return VenueConnections(cache, paper, "binance", caps, [public.health], [stream.run],
                                [public.close, *cap_closers], books=raw)
    assert settings.binance_api_key is not None and settings.binance_api_secret is not None  # settings checked
    trading = BinanceTransport(settings.exchange, settings.trading_url, settings.binance_api_key.get_secret_value(),
                               settings.binance_api_secret.get_secret_value(), clock=clock,
                               weight_budget=settings.binance_weight_budget)
    venue_data = BinanceMarketData(trading, clock)
    market = VenueMarket(cache, venue_data, settings.exchange)
    return VenueConnections(market, BinanceExchange(settings.exchange, trading, market, clock), "binance", caps,
                            [public.health, trading.health], [stream.run], [public.close, trading.close, *cap_closers],
                            books=venue_data)  # the book of the venue the orders go to


Closer = Callable[[], Awaitable[None]]


def build_market_caps(settings: Settings, db: sqlite_utils.Database, market: MarketData,
                      clock: Clock) -> tuple[MarketCapBook, list[Closer]]:
    """The market cap source MARKET_CAPS asks for, cached in the bot's database, and what closes its connection
    (SettingsError if it cannot be)."""
    choice = settings.market_caps
    if choice == "auto":
        choice = "synthetic" if isinstance(market, SyntheticMarket) else "coingecko"
    overrides = parse_cap_ids(settings.market_cap_ids or "")
    source: MarketCaps | None = None
    closers: list[Closer] = []
    if choice == "synthetic":
        if not isinstance(market, SyntheticMarket):
            raise SettingsError("MARKET_CAPS: synthetic works only with the synthetic market (--demo or "
                                "MARKET_DATA=synthetic); use coingecko or off")
        source = SyntheticCaps(market)
    elif choice == "coingecko":
        from .adapters.coingecko import CoinGeckoCaps  # aiohttp: imported only when CoinGecko is asked for

        key = settings.coingecko_api_key.get_secret_value() if settings.coingecko_api_key else None
        gecko = CoinGeckoCaps(clock, settings.coingecko_api_url, key, overrides.values())
        source, closers = gecko, [gecko.close]
    return MarketCapBook(source, SqliteCapCache(db), clock, overrides), closers
