"""Services: the use cases a person asks for, returning typed results (formatting lives in handlers/)."""
from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Callable, Sequence

from .dashboard_auth import DashboardAuth
from ..core.yardsticks import scaled, universe_step
from ..core.domain import (
    ZERO, Change, DustTotal, EquityMark, Fill, InventorySnapshot, Position, RebalanceRow, RebalanceSummary, VenueHealth,
)
from .rebalancer import ACTIVE, Progress, Rebalancer
from ..core.errors import UserError, VenueUnavailable
from ..core.ledger import Ledger
from .cap_book import current_caps
from .current_params import CurrentParams
from .market_view import rank_now, rules_by_symbol, valuation_prices, venue_book
from ..core.params import StrategyParams, parse_assignments
from ..core.costs import Costs
from ..core.cost_split import CostSplit, rebalance_cost
from ..core.planning import flag_dust, picks_unchanged, plan_preview
from ..core import reconcile
from ..core.reconcile import Difference, ledger_balances
from .cost_estimate import estimate_costs
from .ports import BacktestRuns, ChangeListener, Clock, Exchange, MarketData, OrderBooks, Store
from .reports import (
    EquityHistory, PnlReport, PnlWindow, PositionsReport, Preview, RankingReport, SlotRefusal, StatusReport,
)
from ..core.schedule import behind_the_journal, last_slot, next_slot, slot_key

if TYPE_CHECKING:  # built by the composition root; the engine loads only when a backtest runs
    from .backtester import Backtester

log = logging.getLogger(__name__)
ParamsListener = Callable[[StrategyParams, list[Change]], None]
COST_WINDOW = 30  # /pnl shows where the money went over this many recent rebalances
UNIVERSE_PRICES = "universe_prices"  # bot_state key: prices at the last benchmark mark


class Services:
    def __init__(self, store: Store, exchange: Exchange, market: MarketData, clock: Clock,
                 rebalancer: Rebalancer, params: CurrentParams, market_name: str,
                 health: Sequence[VenueHealth] = (), listeners: Sequence[ParamsListener] = (),
                 backtester: Backtester | None = None, backtests: BacktestRuns | None = None,
                 books: OrderBooks | None = None):
        self.store, self.exchange, self.market, self.clock = store, exchange, market, clock
        self.health = tuple(health)  # Binance endpoints' reachability and request weight, for /status
        self.rebalancer = rebalancer
        self.market_name = market_name
        self.current = params  # the one holder: the paper venue reads its costs from it too
        self._listeners: list[ParamsListener] = list(listeners)
        self.backtester = backtester  # None when no candle cache is configured: /backtest says so
        self.backtests = backtests  # where backtest results are kept for the dashboard (None: not kept)
        self.books = books  # the venue's order books, for /plan's cost estimate (None: no estimate)
        # The web front end's sign-in while it serves: set by web/server.py when it starts, cleared when it stops.
        self.dashboard: DashboardAuth | None = None
        self._changes: list[ChangeListener] = []
        self._finished_costs: dict[int, CostSplit] = {}  # a finished rebalance's split never changes

    def on_change(self, listener: ChangeListener) -> Callable[[], None]:
        """Call `listener` after each commit a dashboard shows; returns what ends the subscription."""
        self._changes.append(listener)
        return lambda: self._changes.remove(listener)

    def _changed(self, what: str) -> None:
        for listener in list(self._changes):
            listener(what)

    def subscribe(self, listener: ParamsListener) -> Callable[[], None]:
        """Call `listener` after every parameter change; returns what ends the subscription.

        For what exists only once the bot serves (the front end's scheduler); the rest arrives with the constructor.
        """
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @property
    def params(self) -> StrategyParams:
        """The parameters in force."""
        return self.current.value

    @property
    def quote(self) -> str:
        return self.store.quote

    async def _valued(self) -> tuple[Ledger, dict[str, Decimal]]:
        """The ledger and the prices to value it at (a halted holding at its last close)."""
        ledger = self.store.load_ledger()
        return ledger, await valuation_prices(self.market, ledger.holdings(), self.quote, self.clock.now(),
                                              self.store.last_prices())

    async def _holdings(self) -> tuple[Ledger, list[Position]]:
        """The ledger and its positions valued now, each flagged as dust or not by the venue's rules."""
        ledger, prices = await self._valued()
        return ledger, flag_dust(ledger.valued(prices), await rules_by_symbol(self.market), self.quote)

    # --- looking ------------------------------------------------------------------------
    async def status(self) -> StatusReport:
        try:
            ledger, held = await self._holdings()
            equity, marked_at, dust = ledger.cash + sum((p.value for p in held), ZERO), None, DustTotal.of(held)
            count = len(held) - dust.count
        except VenueUnavailable:  # status must answer most of all when the venue does not
            ledger, last = self.store.load_ledger(), self.store.last_mark()
            equity, marked_at = (last.equity, last.time) if last else (ledger.cash, self.clock.now())
            count, dust = len(ledger.holdings()), None
        return StatusReport(
            venue=self.exchange.name, market=self.market_name, params=self.params,
            equity=equity, cash=ledger.cash, positions=count, equity_marked_at=marked_at, dust=dust,
            last_rebalance=self.store.last_rebalance(("done", "skipped", "selling", "buying")),
            next_run=self.scheduled_run(), paused=self.paused, now=self.clock.now(),
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
        recent = self.store.recent_rebalances(COST_WINDOW)
        costs = sum(self.rebalance_costs(recent).values(), CostSplit())
        return PnlReport(equity, ledger.deposits, equity - ledger.deposits, ledger.realized,
                         sum((p.unrealized for p in held), ZERO), ledger.fees, windows, self.quote, now,
                         costs, len(recent))

    def _window(self, label: str, since: datetime, equity: Decimal) -> PnlWindow:
        """Equity now against the last mark at or before `since`, or the account's first mark if younger.

        Capital is deposited once, at the start, so no deposit falls inside a window.
        """
        mark = self.store.mark_at_or_before(since) or self.store.first_mark()
        return PnlWindow(label, max(since, mark.time) if mark else since, equity - mark.equity if mark else None)

    async def positions(self) -> PositionsReport:
        ledger, held = await self._holdings()
        return PositionsReport(tuple(held), ledger.cash, ledger.cash + sum((p.value for p in held), ZERO), self.quote)

    async def ranking(self) -> RankingReport:
        caps = await current_caps(self.rebalancer.caps, self.params)
        ranking = await rank_now(self.market, self.params, self.clock.now(), caps)
        positions = await self.positions()
        held = frozenset(p.asset + self.quote for p in positions.held)
        return RankingReport(ranking, held, caps)

    def history(self, n: int) -> list[RebalanceRow]:
        return self.store.recent_rebalances(n)

    def rebalance_costs(self, rows: Sequence[RebalanceRow]) -> dict[int, CostSplit]:
        """Where each rebalance's money went: fees, spread, impact and delay against its signal prices."""
        known = self._finished_costs
        new = [r for r in rows if r.id not in known]
        traded = self.store.filled_orders([r.slot for r in new])
        found = {r.id: rebalance_cost(traded[r.slot], self.store.fills(rebalance_id=r.id), self.quote) for r in new}
        known.update((r.id, found[r.id]) for r in new if r.state not in ACTIVE)  # it trades no more
        return {r.id: known[r.id] if r.id in known else found[r.id] for r in rows}

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
        ranking = await rank_now(self.market, p, self.clock.now(), await current_caps(self.rebalancer.caps, p))
        rules = await rules_by_symbol(self.market)
        book = await venue_book(self.exchange, self.market, self.store.load_ledger(), rules, self.clock.now(),
                                self.store.last_prices())
        costs = Costs.of(p)
        sells, buys = plan_preview(book, ranking.selected, p.mode, p.invest_fraction, costs)
        delta_fees = None
        if p.mode == "full" and picks_unchanged(sells, ranking.selected):  # full would sell and rebuy the same
            delta = plan_preview(book, ranking.selected, "delta", p.invest_fraction, costs)
            delta_fees = delta[0].est_fees + delta[1].est_fees
        estimate = await estimate_costs(self.books, (sells, buys), rules, p.fee_rate) if self.books else None
        return Preview(ranking, sells, buys, delta_fees, estimate)

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
        self._changed("rebalance")
        return await self.with_dust(summary)

    async def with_dust(self, summary: RebalanceSummary) -> RebalanceSummary:
        """The summary with its positions' dust flags set, so every report shows dust apart."""
        try:
            rules = await rules_by_symbol(self.market)
        except VenueUnavailable:  # the summary of an outage goes out as it is
            return summary
        return replace(summary, positions=tuple(flag_dust(summary.positions, rules, self.quote)))

    def set_params(self, args: str | list[str], who: str) -> list[Change]:
        """Apply key=value pairs all or none; persist with an audit row per change."""
        new, changes = parse_assignments(args, self.params)
        if new.quote != self.quote:
            raise UserError(f"quote must stay {self.quote}: it is this account's cash asset "
                            "(start a new database to trade against another quote)")
        if changes:
            self.store.save_params(new.to_strings(), changes, who, self.clock.now())
            self.current.value = new
            log.info("parameters changed by %s: %s", who, ", ".join(f"{c.key} {c.old} -> {c.new}" for c in changes))
            for listener in list(self._listeners):
                listener(new, changes)
            self._changed("parameters")
        return changes

    @property
    def paused(self) -> bool:
        return self.store.get_state("paused", "0") == "1"

    def pause(self, who: str) -> bool:
        """Stop scheduled rebalances (P/L marking goes on); False if it was already paused."""
        was = self.paused
        self.store.set_state("paused", "1")
        log.info("paused by %s", who)
        self._changed("paused")
        return not was

    def resume(self, who: str) -> bool:
        was = self.paused
        self.store.set_state("paused", "0")
        log.info("resumed by %s", who)
        self._changed("paused")
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
        # Said once: what counts as news is the gap per asset, not the running totals every trade moves.
        text = json.dumps([[d.asset, format(d.gap.normalize(), "f")] for d in found])
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
        self._changed("mark")
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
        with self.store.transaction():
            self.store.set_state(UNIVERSE_PRICES, json.dumps({k: str(v) for k, v in universe.items()}))
            self.store.add_benchmark(self.clock.now(), prices.get("BTC" + self.quote), index, len(universe))

    async def equity_history(self, valued: tuple[datetime, Decimal] | None = None) -> EquityHistory:
        """The marks ending at equity now (or at `valued`, the valuation a reply's text used), with BTC
        buy-and-hold and the equal-weight universe scaled beside them; the last mark when prices are out of reach."""
        ledger = self.store.load_ledger()
        marks = tuple(self.store.marks())
        rows = self.store.benchmarks()
        btc = [(t, b) for t, b, _ in rows if b is not None]
        universe = [(t, u) for t, _, u in rows]
        benchmarks = {"BTC buy & hold": scaled(btc, marks, ledger.deposits),
                      "Equal-weight universe": scaled(universe, marks, ledger.deposits)}
        if valued is None:
            try:
                now, prices = await self._valued()
                valued = (self.clock.now(), now.equity(prices))
            except VenueUnavailable:
                pass
        if valued is not None:
            at, equity = valued
            marks = tuple(m for m in marks if m.time < at) + (EquityMark(at, equity, ledger.cash, equity - ledger.cash,
                                                                         "live"),)
        return EquityHistory(marks, ledger.deposits, ledger.fees, {k: v for k, v in benchmarks.items() if v},
                             live=valued is not None)

    async def inventory(self) -> list[InventorySnapshot]:
        """Value per asset after each rebalance, then now (when prices answer), dust apart by the venue's rules."""
        now = self.clock.now()
        try:
            rules = await rules_by_symbol(self.market)
            ledger, prices = await self._valued()
            live = [Position(self.quote, ledger.cash, ZERO, ZERO, ZERO, Decimal(1)), *ledger.valued(prices)]
        except VenueUnavailable:  # the recorded history still draws, "as of" its last snapshot
            rules, live = {}, None
        snapshots = [InventorySnapshot.of(t, flag_dust(held, rules, self.quote))
                     for t, held in self.store.inventory_history() if live is None or t < now]
        if live is not None:
            snapshots.append(InventorySnapshot.of(now, flag_dust(live, rules, self.quote), live=True))
        return snapshots

    def next_run(self) -> datetime | None:
        """When the next scheduled rebalance falls (paused or not)."""
        p = self.params
        return next_slot(self.clock.now(), p.every, p.at, p.weekday, p.zone)

    def scheduled_run(self) -> datetime | None:
        """The next rebalance that will run on schedule: None while paused."""
        return None if self.paused else self.next_run()
