"""Reports a manager reads at a desk: overview, holdings, rebalances, performance, parameters (typed results).

They read only the store (so `bot.py dashboard` can serve a read-only copy of the database) plus, when the bot
itself serves them, a live valuation: the same `Services.positions` that /positions answers with.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Awaitable, Callable
from zoneinfo import ZoneInfo

import numpy as np

from ..core.domain import ZERO, Fill, OrderRecord, RankRow, RebalanceRow, VenueHealth
from ..core.params import StrategyParams
from ..core.performance import (
    CoinPnl, PeriodReturn, RiskFigures, coin_pnl, period_returns, risk_figures, underwater,
)
from .ports import Clock, ReportReader
from ..core.schedule import next_slot
from .reports import PositionsReport
from ..core.timefmt import parse_iso

Valuation = Callable[[], Awaitable[PositionsReport]]


@dataclass(frozen=True)
class Series:
    times: list[float]  # epoch seconds
    values: list[float]


@dataclass(frozen=True)
class Overview:
    quote: str
    timezone: str
    equity: Decimal
    marked_at: datetime | None
    deposits: Decimal
    net: Decimal
    realized: Decimal
    unrealized: Decimal
    fees: Decimal
    cash: Decimal
    risk: RiskFigures
    equity_series: Series
    drawdown_series: Series
    benchmarks: dict[str, Series]
    param_changes: list[tuple[float, str]]
    last_rebalance: RebalanceRow | None
    next_run: datetime | None
    paused: bool
    venue: str
    market: str  # where prices come from ("" when the page reads a copy of the database)
    health: tuple[VenueHealth, ...]


@dataclass(frozen=True)
class RebalanceLine:
    row: RebalanceRow
    sold: int
    bought: int
    period_pnl: Decimal | None  # from this rebalance's start to the next one's (its own costs included)


@dataclass(frozen=True)
class RebalanceDetail:
    line: RebalanceLine
    ranking: list[RankRow]
    orders: list[OrderRecord]
    fills: list[Fill]
    delta_fees: Decimal | None  # what trading only the differences would have cost (full-mode rebalances)


@dataclass(frozen=True)
class Performance:
    since: datetime | None
    daily: list[PeriodReturn]
    weekly: list[PeriodReturn]
    monthly: list[PeriodReturn]
    coins: list[CoinPnl]


class Reports:
    def __init__(self, store: ReportReader, clock: Clock, defaults: StrategyParams, venue: str = "read-only copy",
                 valuation: Valuation | None = None, health: tuple[VenueHealth, ...] = (), market: str = ""):
        self.store, self.clock, self.defaults, self.venue, self.market = store, clock, defaults, venue, market
        self.valuation, self.health = valuation, health

    @property
    def params(self) -> StrategyParams:
        return StrategyParams.from_strings(self.store.load_params(), base=self.defaults)

    async def positions(self) -> PositionsReport:
        """Live prices when the bot serves the page; else the last prices the bot recorded."""
        if self.valuation is not None:
            return await self.valuation()
        return await asyncio.to_thread(self.store.run, self._recorded_positions)

    def _recorded_positions(self) -> PositionsReport:
        ledger = self.store.load_ledger()
        prices = self.store.last_prices()
        return PositionsReport(tuple(ledger.valued(prices)), ledger.cash, ledger.equity(prices), self.store.quote)

    def overview(self) -> Overview:
        store, p = self.store, self.params
        ledger, last = store.load_ledger(), store.last_mark()
        times, values = store.equity_series()  # floats for the charts and the risk figures; exact text stays
        equity = last.equity if last else ledger.cash
        capital = values[0] if values else float(ledger.deposits)
        daily = store.daily_closes(p.zone)
        return Overview(
            quote=store.quote, timezone=p.timezone, equity=equity, marked_at=last.time if last else None,
            deposits=ledger.deposits, net=equity - ledger.deposits, realized=ledger.realized,
            unrealized=equity - ledger.deposits - ledger.realized, fees=ledger.fees, cash=ledger.cash,
            risk=risk_figures(times, values, daily, capital), equity_series=Series(times, values),
            drawdown_series=Series(times, underwater(values)), benchmarks=self._benchmarks(ledger.deposits),
            param_changes=[(c["time"], f"{c['key']}: {c['old']} → {c['new']}") for c in self._changes()],
            last_rebalance=store.last_rebalance(("done", "skipped", "selling", "buying")),
            next_run=None if self.paused else next_slot(self.clock.now(), p.every, p.at, p.weekday, p.zone),
            paused=self.paused, venue=self.venue, market=self.market, health=self.health)

    @property
    def paused(self) -> bool:
        return self.store.get_state("paused", "0") == "1"

    def _changes(self) -> list[dict]:
        return [dict(c, time=parse_iso(c["time"]).timestamp()) for c in reversed(self.store.param_changes(10_000))]

    def _benchmarks(self, deposits: Decimal) -> dict[str, Series]:
        """BTC buy-and-hold and the equal-weight universe, each worth what the account was worth beside its
        first mark (as scaled() values them for the chat's charts), in floats: lines to draw, not figures."""
        first, times, btc, universe = self.store.benchmark_series()
        start = self.store.mark_at_or_before(first) if first else None
        base = float(start.equity if start else deposits)
        at, out = np.asarray(times, dtype=float), {}
        for name, values in (("BTC buy & hold", btc), ("Equal-weight universe", universe)):
            path = np.asarray(values, dtype=float)  # a BTC price not marked (None) is NaN, left out
            kept = ~np.isnan(path)
            if kept.any() and path[kept][0] > 0:
                out[name] = Series(at[kept].tolist(), (path[kept] * (base / path[kept][0])).tolist())
        return out

    def backtests(self) -> list[dict[str, Any]]:
        return self.store.backtests.listing()

    def backtest(self, run_id: int) -> dict[str, Any] | None:
        return self.store.backtests.get(run_id)

    def parameter_changes(self) -> list[dict]:
        return self.store.param_changes(10_000)

    def holdings_history(self, top: int = 8) -> tuple[list[datetime], dict[str, list[float]]]:
        """The holdings chart's layers ("" = every other coin), held as recorded until the newest mark."""
        times, layers = self.store.value_layers(top)
        last = self.store.last_mark()
        if times and last is not None and last.time > times[-1]:  # so the allocation now has a width too
            times.append(last.time)
            for values in layers.values():
                values.append(values[-1])
        return times, layers

    def rebalances(self) -> list[RebalanceLine]:
        """Every journaled rebalance, newest first, with its trades and the P/L of the period it opened."""
        rows = self.store.recent_rebalances(1_000_000)
        counts = self.store.trade_counts()
        last = self.store.last_mark()
        following = last.equity if last else None
        lines = []
        for row in rows:  # newest first: `following` is the start of the next rebalance in time
            period = following - row.equity_before if following is not None and row.state == "done" else None
            lines.append(RebalanceLine(row, *counts.get(row.id, (0, 0)), period))
            if row.state == "done":
                following = row.equity_before
        return lines

    def rebalance(self, rebalance_id: int) -> RebalanceDetail | None:
        line = next((x for x in self.rebalances() if x.row.id == rebalance_id), None)
        if line is None:
            return None
        fills = list(reversed(self.store.fills(rebalance_id=rebalance_id)))
        return RebalanceDetail(line, self.store.ranking_of(rebalance_id), self.store.orders_for(line.row.slot),
                               fills, delta_fees(line.row, fills) if line.row.mode == "full" else None)

    async def performance(self, window: timedelta | None) -> Performance:
        return performance_report(self.store, await self.positions(), self.params.zone, window)


def performance_report(store: ReportReader, held: PositionsReport, zone: ZoneInfo,
                       window: timedelta | None) -> Performance:
    """Returns per day, week and month, and per-coin P/L since the last rebalance before the window (or start)."""
    marks = store.closing_marks(zone)  # the last of each day: every period's end, exact
    now = marks[-1].time if marks else None
    since, start = store.inventory_at(now - window) if window and now else (None, {})
    fills = store.fills(since=since)
    end = {p.asset: p.value for p in held.positions}
    return Performance(since, period_returns(marks, zone, "day"), period_returns(marks, zone, "week"),
                       period_returns(marks, zone, "month"), coin_pnl(start, end, fills, store.quote))


def delta_fees(row: RebalanceRow, fills: list[Fill]) -> Decimal | None:
    """Fees had the rebalance traded only each coin's difference (bought − sold), at its own fee rate."""
    traded = sum((f.quote_quantity for f in fills), ZERO)
    if not traded:
        return None
    net: dict[str, Decimal] = {}
    for f in fills:
        net[f.symbol] = net.get(f.symbol, ZERO) + (f.quote_quantity if f.side.value == "BUY" else -f.quote_quantity)
    return row.fees / traded * sum((abs(v) for v in net.values()), ZERO)

