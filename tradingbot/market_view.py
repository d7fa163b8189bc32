"""Gather what ranking needs from any MarketData port (I/O here, arithmetic in ranking.py)."""
from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal

from .domain import Ranking, SymbolRules, SymbolSnapshot
from .params import StrategyParams
from .ports import MarketData
from .ranking import anchors, build_snapshot, rank_universe, volume_window

# Bounded fan-out: enough to hide a remote venue's latency, small enough to respect its rate limits.
CONCURRENCY = 16


async def snapshot_universe(market: MarketData, params: StrategyParams, now: datetime) -> list[SymbolSnapshot]:
    """One snapshot per listed symbol; candles are fetched only for symbols that could be eligible."""
    rules = await market.symbols()
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(r: SymbolRules) -> SymbolSnapshot:
        if r.quote != params.quote or not r.trading:
            return SymbolSnapshot(r, None, None, None, Decimal(0))
        async with gate:
            return await _snapshot(market, r, params, now)

    return list(await asyncio.gather(*(one(r) for r in rules)))


async def _snapshot(market: MarketData, r: SymbolRules, params: StrategyParams, now: datetime) -> SymbolSnapshot:
    at_now, at_then = anchors(now, params.lookback)
    first_day, last_day = volume_window(now)
    first = await market.first_candle_time(r.symbol)
    hourly_now = await market.candles(r.symbol, "1h", at_now, at_now)
    hourly_then = await market.candles(r.symbol, "1h", at_then, at_then)
    daily = await market.candles(r.symbol, "1d", first_day, last_day)
    return build_snapshot(r, first, hourly_now, hourly_then, daily, now, params.lookback)


async def rank_now(market: MarketData, params: StrategyParams, now: datetime) -> Ranking:
    """The ranking a rebalance at `now` would act on."""
    return rank_universe(await snapshot_universe(market, params, now), params, now)


async def rules_by_symbol(market: MarketData) -> dict[str, SymbolRules]:
    return {r.symbol: r for r in await market.symbols()}
