"""Gather what ranking needs from any MarketData port (I/O here, arithmetic in ranking.py)."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Iterable, Mapping

from ..core.domain import Ranking, SymbolRules, SymbolSnapshot
from ..core.errors import INVALID_SYMBOL, OrderRejected
from ..core.ledger import Ledger
from ..core.params import StrategyParams
from ..core.planning import Book, book_from
from ..core.market_caps import CapView
from .ports import Exchange, MarketData, ReadsRankingFigures, ReadsTogether
from ..core.ranking import anchors, build_snapshot, mean_volume, rank_universe, volume_window

# Bounded fan-out: enough to hide a remote venue's latency, small enough to respect its rate limits.
CONCURRENCY = 16
STALE_PRICE_WINDOW = timedelta(days=30)


async def snapshot_universe(market: MarketData, params: StrategyParams, now: datetime,
                            rules: list[SymbolRules] | None = None) -> list[SymbolSnapshot]:
    """One snapshot per listed symbol of the quote; candles are fetched only for symbols that could be eligible.

    Pairs in other quotes are not the universe: Binance lists a few thousand symbols in every quote, and a
    ranking of one quote's few hundred must cost what those cost, however many others are listed.
    """
    listed = await market.symbols() if rules is None else rules
    if isinstance(market, ReadsTogether):  # the days the snapshots read, every symbol's at once
        wanted = [r.symbol for r in listed if r.quote == params.quote and r.trading]
        first_day, at_then = volume_window(now)[0], anchors(now, params.lookback)[1]
        await market.prefetch(wanted, first_day, now)
        if at_then < first_day:  # the close a lookback ago lies before the volume window (a 7-day lookback
            await market.prefetch(wanted, at_then, at_then)  # in the first hour of a UTC day): its day too
    universe = [r for r in listed if r.quote == params.quote]
    if isinstance(market, ReadsRankingFigures):  # answered at once, from memory: one after the other, no tasks
        return [await _figures_snapshot(market, r, params, now) if r.trading else _untraded(r) for r in universe]
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(r: SymbolRules) -> SymbolSnapshot:
        if not r.trading:
            return _untraded(r)
        async with gate:
            return await _snapshot(market, r, params, now)

    return list(await asyncio.gather(*(one(r) for r in universe)))


def _untraded(r: SymbolRules) -> SymbolSnapshot:
    return SymbolSnapshot(r, None, None, None, Decimal(0))


async def _figures_snapshot(market: ReadsRankingFigures, r: SymbolRules, params: StrategyParams,
                            now: datetime) -> SymbolSnapshot:
    """_snapshot's figures, read without candles."""
    first = await market.first_candle_time(r.symbol, now - timedelta(days=params.min_age_days))
    close_now, close_then, volumes = await market.ranking_figures(r.symbol, *anchors(now, params.lookback),
                                                                  *volume_window(now))
    return SymbolSnapshot(r, first, close_now, close_then, mean_volume(volumes))


async def _snapshot(market: MarketData, r: SymbolRules, params: StrategyParams, now: datetime) -> SymbolSnapshot:
    at_now, at_then = anchors(now, params.lookback)
    first_day, last_day = volume_window(now)
    first = await market.first_candle_time(r.symbol, now - timedelta(days=params.min_age_days))
    hourly_now = await market.candles(r.symbol, "1h", at_now, at_now)
    hourly_then = await market.candles(r.symbol, "1h", at_then, at_then)
    daily = await market.candles(r.symbol, "1d", first_day, last_day)
    return build_snapshot(r, first, hourly_now, hourly_then, daily, now, params.lookback)


async def rank_now(market: MarketData, params: StrategyParams, now: datetime, caps: CapView | None = None) -> Ranking:
    """The ranking a rebalance at `now` would act on (caps: for min_market_cap; None or empty skips that filter)."""
    rules = await market.symbols()
    bases = frozenset(r.base for r in rules)  # every quote's: PEPEUP is leveraged when any PEPE pair is listed
    snapshots = await snapshot_universe(market, params, now, rules)
    return rank_universe(snapshots, params, now, caps.caps if caps else None, bases)


async def rules_by_symbol(market: MarketData) -> dict[str, SymbolRules]:
    return {r.symbol: r for r in await market.symbols()}


async def valuation_prices(market: MarketData, assets: Iterable[str], quote: str, now: datetime,
                           known: Mapping[str, Decimal] | None = None) -> dict[str, Decimal]:
    """Current prices, plus the last close for a held asset that has none (halted, delisted).

    Valuing a halted holding at zero would book a loss that has not happened; its last traded
    price is the honest mark until it trades again or is written off. A delisted symbol has no
    candles either (the venue answers "Invalid symbol"): it keeps the last price the bot saw for
    it (`known`, from the ledger's own records) and stays in the ledger until a person writes it off.
    """
    prices = await market.prices()
    for asset in assets:
        symbol = asset + quote
        if symbol not in prices:
            try:
                recent = await market.candles(symbol, "1h", now - STALE_PRICE_WINDOW, now)
            except OrderRejected as e:
                if e.code != INVALID_SYMBOL:
                    raise
                recent = []  # unknown to the venue: delisted
            if recent:
                prices[symbol] = recent[-1].close
            elif known and symbol in known:
                prices[symbol] = known[symbol]
    return prices


async def venue_book(exchange: Exchange, market: MarketData, ledger: Ledger, rules: dict[str, SymbolRules],
                     now: datetime, known: Mapping[str, Decimal] | None = None) -> Book:
    """What the bot may trade, valued for planning (a halted holding at its last close)."""
    balances = owned(await exchange.balances(), ledger)
    held = [a for a in balances if a != ledger.quote]
    return book_from(ledger.quote, balances, rules, await valuation_prices(market, held, ledger.quote, now, known))


def owned(venue: dict[str, Decimal], ledger: Ledger) -> dict[str, Decimal]:
    """Per asset, the smaller of what the venue holds and what the ledger says is the bot's.

    A Spot Testnet account comes stocked with many assets, and a manager may keep BNB for fees in
    the same account: the strategy must never sell or spend what it did not buy or receive. After
    a fee in the asset received, venue and ledger agree, so nothing of the bot's own is held back.
    """
    mine = {ledger.quote: ledger.cash, **ledger.holdings()}
    return {a: min(q, mine[a]) for a, q in venue.items() if a in mine and min(q, mine[a]) > 0}
