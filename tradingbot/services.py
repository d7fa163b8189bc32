"""Services: the use cases a person asks for, returning typed results (formatting lives in handlers/)."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Callable, Sequence

from .adapters.backtest_runs import SqliteBacktestRuns
from .adapters.sqlite_store import SqliteStore
from .backtest_service import Backtester
from .benchmarks import scaled, universe_step
from .dashboard_auth import DashboardAuth
from .domain import (
    DUST_VALUE, ZERO, Change, EquityMark, Fill, Plan, Position, Ranking, RebalanceRow, RebalanceSummary, VenueHealth,
)
from .engine import Progress, Rebalancer
from .errors import UserError, VenueUnavailable
from .ledger import Ledger
from .market_view import rank_now, rules_by_symbol, valuation_prices, venue_book
from .params import StrategyParams, parse_assignments
from .planning import Costs, picks_unchanged, plan_preview
from . import reconcile
from .reconcile import Difference, ledger_balances
from .ports import Clock, Exchange, MarketData
from .schedule import behind_the_journal, last_slot, next_slot, slot_key

log = logging.getLogger(__name__)
ParamsListener = Callable[[StrategyParams, list[Change]], None]
UNIVERSE_PRICES = "universe_prices"  # bot_state key: prices at the last benchmark mark


@dataclass(frozen=True)
class StatusReport:
    venue: str
    market: str
    params: StrategyParams
    equity: Decimal
    cash: Decimal
    positions: int
    last_rebalance: RebalanceRow | None
    next_run: datetime | None
    paused: bool
    now: datetime
    health: tuple[VenueHealth, ...] = ()
    equity_marked_at: datetime | None = None  # set when prices were unreachable: equity is that mark's


@dataclass(frozen=True)
class PnlWindow:
    label: str
    since: datetime | None
    change: Decimal | None  # equity change net of deposits; None when there is no mark that old


@dataclass(frozen=True)
class PnlReport:
    equity: Decimal
    deposits: Decimal
    net: Decimal
    realized: Decimal
    unrealized: Decimal
    fees: Decimal
    windows: tuple[PnlWindow, ...]
    quote: str


@dataclass(frozen=True)
class PositionsReport:
    positions: tuple[Position, ...]
    cash: Decimal
    equity: Decimal
    quote: str

    def weight(self, p: Position) -> Decimal:
        return p.value / self.equity if self.equity else ZERO


@dataclass(frozen=True)
class EquityHistory:
    """What the equity chart shows: the marks, capital, fees, and benchmarks scaled to the account."""

    marks: tuple[EquityMark, ...]
    deposits: Decimal
    fees: Decimal
    benchmarks: dict[str, list[tuple[datetime, Decimal]]]


@dataclass(frozen=True)
class SlotRefusal:
    """Why the scheduled slot was not run: paused, late (past the grace period) or past (the clock went back)."""

    slot: str
    reason: str
    message: str


@dataclass(frozen=True)
class RankingReport:
    ranking: Ranking
    held: frozenset[str]


@dataclass(frozen=True)
class Preview:
    """A rebalance now, planned but not sent; delta_fees: in full mode with the picks unchanged, what delta mode
    would pay in fees to reach the same target (full sells and rebuys every holding)."""

    ranking: Ranking
    sells: Plan
    buys: Plan
    delta_fees: Decimal | None = None


class Services:
    def __init__(self, store: SqliteStore, exchange: Exchange, market: MarketData, clock: Clock,
                 rebalancer: Rebalancer, defaults: StrategyParams, market_name: str,
                 health: Sequence[VenueHealth] = ()):
        self.store, self.exchange, self.market, self.clock = store, exchange, market, clock
        self.health = tuple(health)  # Binance endpoints' reachability and request weight, for /status
        self.rebalancer = rebalancer
        self.market_name = market_name
        self.params = StrategyParams.from_strings(store.load_params(), base=defaults)
        self.listeners: list[ParamsListener] = []
        self.backtester: Backtester | None = None  # set by the composition root when a candle cache is configured
        self.dashboard: DashboardAuth | None = None  # set by the composition root when the dashboard is served
        self.backtests: SqliteBacktestRuns | None = None  # where backtest results are kept for the dashboard
        self.next_run: Callable[[], datetime | None] = self._computed_next_run

    @property
    def quote(self) -> str:
        return self.store.quote

    async def _valued(self) -> tuple[Ledger, dict[str, Decimal]]:
        """The ledger and the prices to value it at (a halted holding at its last close)."""
        ledger = self.store.load_ledger()
        return ledger, await valuation_prices(self.market, ledger.holdings(), self.quote, self.clock.now(),
                                              self.store.last_prices())

    # --- looking ------------------------------------------------------------------------
    async def status(self) -> StatusReport:
        try:
            ledger, prices = await self._valued()
            equity, marked_at = ledger.equity(prices), None
        except VenueUnavailable:  # status must answer most of all when the venue does not
            ledger, last = self.store.load_ledger(), self.store.last_mark()
            equity, marked_at = (last.equity, last.time) if last else (ledger.cash, self.clock.now())
        return StatusReport(
            venue=self.exchange.name, market=self.market_name, params=self.params,
            equity=equity, cash=ledger.cash, positions=len(ledger.holdings()), equity_marked_at=marked_at,
            last_rebalance=self.store.last_rebalance(("done", "skipped", "selling", "buying")),
            next_run=None if self.paused else self.next_run(), paused=self.paused, now=self.clock.now(),
            health=self.health,
        )

    async def pnl(self) -> PnlReport:
        ledger, prices = await self._valued()
        equity = ledger.equity(prices)
        held = ledger.valued(prices)
        now = self.clock.now()
        local_midnight = now.astimezone(self.params.zone).replace(hour=0, minute=0, second=0, microsecond=0)
        windows = (
            PnlWindow("since start", None, equity - ledger.deposits),
            self._window("today", local_midnight, equity),
            self._window("last 7 days", now - timedelta(days=7), equity),
        )
        return PnlReport(equity, ledger.deposits, equity - ledger.deposits, ledger.realized,
                         sum((p.unrealized for p in held), ZERO), ledger.fees, windows, self.quote)

    def _window(self, label: str, since: datetime, equity: Decimal) -> PnlWindow:
        """Equity now against the last mark at or before `since`, or the account's first mark if younger.

        Capital is deposited once, at the start, so no deposit falls inside a window.
        """
        mark = self.store.mark_at_or_before(since) or self.store.first_mark()
        return PnlWindow(label, max(since, mark.time) if mark else since, equity - mark.equity if mark else None)

    async def positions(self) -> PositionsReport:
        ledger, prices = await self._valued()
        return PositionsReport(tuple(ledger.valued(prices)), ledger.cash, ledger.equity(prices), self.quote)

    async def ranking(self) -> RankingReport:
        ranking = await rank_now(self.market, self.params, self.clock.now())
        positions = await self.positions()
        held = frozenset(p.asset + self.quote for p in positions.positions if p.value >= DUST_VALUE)
        return RankingReport(ranking, held)

    def history(self, n: int) -> list[RebalanceRow]:
        return self.store.recent_rebalances(n)

    def trades(self, n: int) -> list[Fill]:
        return self.store.fills(limit=n)

    def rebalance_pnl(self, summary: RebalanceSummary) -> tuple[Decimal, Decimal | None]:
        """Net P/L since start, and the equity change since the rebalance before this one (if any)."""
        deposits = self.store.load_ledger().deposits
        previous = self.store.previous_rebalance(summary.row.id)
        since_previous = summary.equity_after - previous.equity_after if previous and previous.equity_after else None
        return summary.equity_after - deposits, since_previous

    # --- acting -------------------------------------------------------------------------
    async def preview(self) -> Preview:
        """What a rebalance now would sell and buy (buys estimated as if the sells filled at last price)."""
        p = self.params
        ranking = await rank_now(self.market, p, self.clock.now())
        book = await venue_book(self.exchange, self.market, self.store.load_ledger(), await rules_by_symbol(self.market),
                                self.clock.now(), self.store.last_prices())
        costs = Costs(p.fee_rate, p.slippage_bps)
        sells, buys = plan_preview(book, ranking.selected, p.mode, p.invest_fraction, costs)
        delta_fees = None
        if p.mode == "full" and picks_unchanged(sells, ranking.selected):  # full would sell and rebuy the same
            delta = plan_preview(book, ranking.selected, "delta", p.invest_fraction, costs)
            delta_fees = delta[0].est_fees + delta[1].est_fees
        return Preview(ranking, sells, buys, delta_fees)

    async def rebalance_now(self, progress: Progress | None = None,
                            requested_at: datetime | None = None) -> RebalanceSummary:
        """A manual rebalance keyed by when it was asked for (to the second): a repeated request never doubles."""
        key = slot_key(requested_at or self.clock.now(), kind="manual")
        return await self._benchmarked(await self.rebalancer.run(key, "manual", self.params, progress))

    async def rebalance_slot(self, progress: Progress | None = None) -> RebalanceSummary:
        """The scheduled slot due now (the latest slot at or before now)."""
        p = self.params
        due = last_slot(self.clock.now(), p.every, p.at, p.weekday, p.zone)
        return await self._benchmarked(await self.rebalancer.run(slot_key(due), "scheduled", p, progress))

    async def scheduled_rebalance(self, grace: timedelta,
                                  progress: Progress | None = None) -> RebalanceSummary | SlotRefusal:
        """The scheduled slot, only when it is due: not paused, within the grace period, not in the past.

        A slot already journaled goes to the engine, which declines to repeat a finished one and
        finishes an open one; nothing else trades unless it is due now.
        """
        p, now = self.params, self.clock.now()
        due = last_slot(now, p.every, p.at, p.weekday, p.zone)
        key = slot_key(due)
        refusal = self._refusal(key, due, now, grace)
        if refusal is not None:
            log.info("slot %s not run: %s", key, refusal.message)
            return refusal
        return await self.rebalance_slot(progress)

    def _refusal(self, key: str, due: datetime, now: datetime, grace: timedelta) -> SlotRefusal | None:
        if self.paused:
            return SlotRefusal(key, "paused", f"paused: slot {key} not run, nothing sent (/resume restarts the "
                                              "schedule; a manual rebalance still runs when asked)")
        if self.store.get_rebalance(key) is not None:
            return None
        past = behind_the_journal(key, now, *self.store.newest_journaled())
        if past:
            return SlotRefusal(key, "past", f"{past}: nothing sent")
        if now - due > grace:
            p, late = self.params, int((now - due).total_seconds() // 60)
            upcoming = next_slot(now, p.every, p.at, p.weekday, p.zone).astimezone(p.zone)
            return SlotRefusal(key, "late", f"slot {key} was due {late // 60} h {late % 60:02d} min ago, past the "
                                            f"{int(grace.total_seconds() // 60)}-minute grace period: nothing sent "
                                            f"(the next slot is at {upcoming:%Y-%m-%d %H:%M %Z})")
        return None

    async def liquidate(self, progress: Progress | None = None,
                        requested_at: datetime | None = None) -> RebalanceSummary:
        """Sell everything to the quote asset, then pause scheduled rebalances."""
        key = slot_key(requested_at or self.clock.now(), kind="liquidate")
        return await self._benchmarked(await self.rebalancer.run(key, "liquidate", self.params, progress))

    async def _benchmarked(self, summary: RebalanceSummary) -> RebalanceSummary:
        """A rebalance marks equity; the benchmarks are marked beside it, so charts compare like with like."""
        if summary.state == "done" and not summary.already_done:
            _, prices = await self._valued()
            await self._mark_benchmarks(prices)
        return summary

    def set_params(self, args: str | list[str], who: str) -> list[Change]:
        """Apply key=value pairs all or none; persist with an audit row per change."""
        new, changes = parse_assignments(args, self.params)
        if new.quote != self.quote:
            raise UserError(f"quote must stay {self.quote}: it is this account's cash asset "
                            "(start a new database to trade against another quote)")
        if changes:
            self.store.save_params(new.to_strings(), changes, who, self.clock.now())
            self.params = new
            log.info("parameters changed by %s: %s", who, ", ".join(f"{c.key} {c.old} -> {c.new}" for c in changes))
            for listener in self.listeners:
                listener(new, changes)
        return changes

    @property
    def paused(self) -> bool:
        return self.store.get_state("paused", "0") == "1"

    def pause(self, who: str) -> bool:
        """Stop scheduled rebalances (P/L marking goes on); False if it was already paused."""
        was = self.paused
        self.store.set_state("paused", "1")
        log.info("paused by %s", who)
        return not was

    def resume(self, who: str) -> bool:
        was = self.paused
        self.store.set_state("paused", "0")
        log.info("resumed by %s", who)
        return was

    async def reconcile(self) -> tuple[list[Difference], bool]:
        """Compare the venue with the ledger; returns the differences and whether they changed since last time."""
        ledger = ledger_balances(self.store.load_ledger())
        venue = await self.exchange.balances()
        base = reconcile.decode(self.store.get_state(reconcile.BASELINE_KEY))
        if base is None:  # the first check: what the account held besides the bot's own is the baseline
            base = {"venue": venue, "ledger": ledger}
            self.store.set_state(reconcile.BASELINE_KEY, json.dumps(
                {"venue": reconcile.encode(venue), "ledger": reconcile.encode(ledger)}))
        found = reconcile.differences(venue, base["venue"], ledger, base["ledger"])
        text = json.dumps([d.describe() for d in found])
        changed = text != (self.store.get_state(reconcile.LAST_KEY) or "[]")
        if found:
            self.store.add_reconciliation(self.clock.now(), [(d.asset, d.venue_change, d.ledger_change) for d in found])
        if changed:
            self.store.set_state(reconcile.LAST_KEY, text)
        return found, changed

    async def mark(self, source: str = "periodic") -> EquityMark:
        """Record equity at current prices, and the benchmarks beside it (what P/L windows and charts read)."""
        ledger, prices = await self._valued()
        equity = ledger.equity(prices)
        mark = EquityMark(self.clock.now(), equity, ledger.cash, equity - ledger.cash, source)
        self.store.add_mark(mark)
        await self._mark_benchmarks(prices)
        return mark

    async def _mark_benchmarks(self, prices: dict[str, Decimal]) -> None:
        rules = await self.market.symbols()
        bases = frozenset(r.base for r in rules)
        universe = {r.symbol: prices[r.symbol] for r in rules
                    if r.quote == self.quote and r.trading and r.symbol in prices
                    and not self.params.skip_reason(r.base, r.symbol, bases)}
        last = self.store.benchmarks()[-1:] or [(self.clock.now(), None, Decimal(1))]
        # The previous mark's prices are kept with the state, so the chain survives restarts.
        before = {k: Decimal(v) for k, v in json.loads(self.store.get_state(UNIVERSE_PRICES, "{}") or "{}").items()}
        index = universe_step(last[0][2], before, universe)
        with self.store.db.atomic():
            self.store.set_state(UNIVERSE_PRICES, json.dumps({k: str(v) for k, v in universe.items()}))
            self.store.add_benchmark(self.clock.now(), prices.get("BTC" + self.quote), index, len(universe))

    def equity_history(self) -> EquityHistory:
        """The account's marks with BTC buy-and-hold and the equal-weight universe scaled beside them."""
        ledger = self.store.load_ledger()
        marks = tuple(self.store.marks())
        rows = self.store.benchmarks()
        btc = [(t, b) for t, b, _ in rows if b is not None]
        universe = [(t, u) for t, _, u in rows]
        benchmarks = {"BTC buy & hold": scaled(btc, marks, ledger.deposits),
                      "Equal-weight universe": scaled(universe, marks, ledger.deposits)}
        return EquityHistory(marks, ledger.deposits, ledger.fees, {k: v for k, v in benchmarks.items() if v})

    def _computed_next_run(self) -> datetime | None:
        p = self.params
        return next_slot(self.clock.now(), p.every, p.at, p.weekday, p.zone)
