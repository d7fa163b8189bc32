"""The rebalance use case: rank, plan, execute through any venue, journal every step.

Every slot has a key and a journal row; every order has a deterministic client order id and
is written to the journal before it is sent. A process killed half-way resumes from the
journal: an order whose outcome is unknown is looked up at the venue before anything is
re-sent, and re-sent only when the venue says it never arrived.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Callable

from ..core.domain import (
    CLIENT_ORDER_ID, ZERO, EquityMark, OrderRecord, OrderStatus, Plan, RebalanceRow, RebalanceSummary, SkippedOrder,
    SymbolRules,
)
from ..core.errors import UserError, VenueUnavailable
from .cap_book import MarketCapBook, caps_for_rebalance
from ..core.market_caps import caveat_of, with_caveat
from .market_view import rank_now, rules_by_symbol, valuation_prices, venue_book
from ..core.params import StrategyParams
from ..core.costs import Costs
from ..core.planning import Book, plan_buys, plan_sells
from ..core.schedule import behind_the_journal
from .order_desk import OrderDesk
from .ports import Checkpoint, Clock, Exchange, MarketData, ProcessLock, Progress, Store, no_checkpoint

log = logging.getLogger(__name__)
SELL_LEG, BUY_LEG = "S", "B"
ACTIVE = ("selling", "buying")
ORDER_CONCURRENCY = 10  # orders of one leg in flight at once; Binance allows 50 orders per 10 s
MAX_SLOT_WAIT_S = 600.0  # an unreachable exchange is waited for this long at most before the slot is skipped
MAX_BACKOFF_S = 60.0  # retry pauses double up to this


def client_order_id(slot: str, leg: str, symbol: str) -> str:
    """Deterministic from (slot, leg, symbol) and within Binance's [A-Za-z0-9_-]{1,36}."""
    readable = f"{slot}-{leg}-{symbol}"
    if CLIENT_ORDER_ID.match(readable):
        return readable
    return "h" + hashlib.sha256(readable.encode()).hexdigest()[:35]


class Rebalancer:
    def __init__(self, store: Store, exchange: Exchange, market: MarketData, clock: Clock,
                 lock: ProcessLock, retries: int = 3, backoff_s: float = 1.0,
                 checkpoint: Checkpoint = no_checkpoint, caps: MarketCapBook | None = None):
        self.store, self.exchange, self.market, self.clock, self.lock = store, exchange, market, clock, lock
        self.caps = caps  # market caps for min_market_cap (None: no source; the filter is skipped, and said so)
        self.quote = store.quote
        self.retries, self.backoff_s = retries, backoff_s
        self.checkpoint = checkpoint  # named steps a crash test may kill at (crashpoints.POINTS); no-op in production
        self.desk = OrderDesk(store, exchange, clock, retries, backoff_s, checkpoint)
        self._lock = asyncio.Lock()  # one rebalance at a time in this process; self.lock across processes

    async def run(self, slot: str, kind: str, params: StrategyParams,
                  progress: Progress | None = None) -> RebalanceSummary:
        """Run (or resume, or decline to repeat) the rebalance of one slot."""
        async with self._lock:
            if not self.lock.acquire():
                raise UserError("another process is rebalancing this account; try again when it has finished")
            try:
                return await self._run(slot, kind, params, progress or (lambda _: None))
            finally:
                self.lock.release()

    async def resume_unfinished(self, params: StrategyParams) -> list[RebalanceSummary]:
        """At start-up and periodically: finish (or abandon, if stale) what a crash or outage left open."""
        summaries = []
        # Newest first: it supersedes (and settles) any older open slot.
        for row in reversed(self.store.unfinished_rebalances()):
            try:
                summary = await self.run(row.slot, row.kind, params)
                if summary.state not in ACTIVE:  # still open (the venue is still out): announced when it ends
                    summaries.append(summary)
            except UserError:
                raise
            except VenueUnavailable as e:  # an outage is no reason to give the slot up: the next resume retries
                log.warning("rebalance %s not resumed: venue unavailable (%s)", row.slot, e)
            except Exception as e:  # one broken slot must not block the bot: record it, alert, go on
                if self.store.is_busy(e):  # a lock held by another writer passes: the next resume retries
                    log.warning("rebalance %s not resumed: the database is locked by another writer", row.slot)
                    continue
                full = self.store.storage_failure(e)
                if full:  # so does a full disk: once space returns, the next resume finishes the slot
                    log.error("rebalance %s not resumed: %s", row.slot, full)
                    continue
                log.exception("rebalance %s failed", row.slot)
                self.store.update_rebalance(row.slot, state="failed", finished_at=self.clock.now(),
                                            note=f"failed: {type(e).__name__}: {str(e)[:200]}")
                failed = self.store.get_rebalance(row.slot)
                summaries.append(await self.summary(failed or row))
        return summaries

    async def _run(self, slot: str, kind: str, params: StrategyParams, progress: Progress) -> RebalanceSummary:
        row = self.store.get_rebalance(slot)
        if row and row.state not in ACTIVE:
            return await self.summary(row, already_done=True)
        if row is None:
            past = behind_the_journal(slot, self.clock.now(), *self.store.newest_journaled())
            if past:
                raise UserError(f"{past}: nothing sent")
            row = await self._open(slot, kind, params)
            if row.state == "skipped":
                return await self.summary(row)
            self.checkpoint("slot-opened")
            resumed = False
        else:
            await self._settle_older(slot, params)
            if self._stale(row, params):
                return await self.summary(await self._abandon(row, "still unfinished one period later"))
            log.info("resuming rebalance %s from state %s", slot, row.state)
            resumed = True
        try:
            return await self._continue(row, params, progress, resumed)
        except VenueUnavailable as e:  # balances or rules out of reach mid-slot: the resume job finishes it
            log.warning("rebalance %s interrupted: venue unavailable (%s); will resume", slot, e)
            self.store.update_rebalance(slot, note=with_caveat(f"venue unavailable; will resume ({str(e)[:200]})",
                                                               caveat_of(row.note)))
            return await self.summary(self.store.get_rebalance(slot) or row)

    def _stale(self, row: RebalanceRow, params: StrategyParams) -> bool:
        """A plan older than one rebalance period no longer fits the market: finish no more of it."""
        return self.clock.now() - row.started_at > max(params.period, timedelta(hours=1))

    async def _settle_older(self, slot: str, params: StrategyParams) -> None:
        """A new slot supersedes any other open one: it re-plans from what the account really holds."""
        for row in self.store.unfinished_rebalances():
            if row.slot != slot:
                await self._abandon(row, f"superseded by {slot}")

    async def _abandon(self, row: RebalanceRow, why: str) -> RebalanceRow:
        """Stop a slot: book what the venue did execute, mark the rest unsent, keep the record."""
        rules = await rules_by_symbol(self.market)
        for order in self.store.orders_for(row.slot):
            if order.status is OrderStatus.SENDING:
                found = await self.desk.find(order.symbol, order.client_order_id)
                if found:
                    self.desk.record(row, found, rules)
                    continue
            if order.status in (OrderStatus.PLANNED, OrderStatus.SENDING):
                self.store.set_order_status(order.client_order_id, OrderStatus.SKIPPED, self.clock.now(),
                                            error="not sent: the slot was abandoned")
        log.warning("rebalance %s abandoned: %s", row.slot, why)
        self.store.update_rebalance(row.slot, state="abandoned", finished_at=self.clock.now(),
                                    note=f"abandoned: {why}")
        return self.store.get_rebalance(row.slot) or row

    async def _open(self, slot: str, kind: str, params: StrategyParams) -> RebalanceRow:
        """Settle older slots, rank and journal this one; retried while the exchange is unreachable.

        When it stays unreachable for MAX_SLOT_WAIT_S (a manual request: through `retries` tries), or asks
        to be left alone longer than that, as a 418 ban does, the slot is journaled as skipped, with why:
        it shows in /history, is announced once, and is never run later (its key exists); the next slot
        runs as usual.
        """
        waited, attempt = 0.0, 0
        while True:
            try:
                await self._settle_older(slot, params)
                return await self._rank_and_start(slot, kind, params)
            except VenueUnavailable as e:
                pause = e.retry_after or min(self.backoff_s * 2**attempt, MAX_BACKOFF_S)
                # A scheduled slot waits out a blip of up to 10 minutes; a person asking waits seconds.
                gave_up = attempt == self.retries if kind != "scheduled" else waited + pause > MAX_SLOT_WAIT_S
                if gave_up or waited + pause > MAX_SLOT_WAIT_S:
                    return self._skip_unreachable(slot, kind, params, e)
                log.warning("rebalance %s: exchange unreachable (%s); trying again in %.0f s", slot, e, pause)
                await self.clock.sleep(pause)
                waited, attempt = waited + pause, attempt + 1

    def _skip_unreachable(self, slot: str, kind: str, params: StrategyParams, e: VenueUnavailable) -> RebalanceRow:
        note = f"exchange unreachable: {str(e)[:200]}"
        log.warning("rebalance %s skipped: %s", slot, note)
        last = self.store.last_mark()  # no prices to value the account at: its last known equity
        equity = last.equity if last else self.store.load_ledger().cash
        return self.store.start_rebalance(slot, kind, "skipped", self.clock.now(), params.strategy, params.mode, (),
                                          equity, note)

    async def _rank_and_start(self, slot: str, kind: str, params: StrategyParams) -> RebalanceRow:
        now = self.clock.now()
        ledger = self.store.load_ledger()
        prices = await valuation_prices(self.market, ledger.holdings(), self.quote, now, self.store.last_prices())
        equity = ledger.equity(prices)
        if kind == "liquidate":
            row = self.store.start_rebalance(slot, kind, "selling", now, params.strategy, "full", (), equity)
            return self._note_signal_prices(row, prices, (), ledger.holdings())
        caps, caveat = await caps_for_rebalance(self.caps, params)
        ranking = await rank_now(self.market, params, now, caps)
        if caveat:  # a universe without its market cap filter, or with old caps, is never a silent change
            log.warning("rebalance %s: %s", slot, caveat)
        if not ranking.selected:
            note = f"no eligible token among {len(ranking.rows)} symbols"
            log.warning("rebalance %s skipped: %s", slot, note)
            return self.store.start_rebalance(slot, kind, "skipped", now, params.strategy, params.mode, (),
                                              equity, with_caveat(note, caveat), ranking)
        row = self.store.start_rebalance(slot, kind, "selling", now, params.strategy, params.mode,
                                         ranking.selected, equity, caveat, ranking=ranking)
        return self._note_signal_prices(row, prices, ranking.selected, ledger.holdings())

    def _note_signal_prices(self, row: RebalanceRow, prices: dict[str, Decimal], targets: tuple[str, ...],
                            held: dict[str, Decimal]) -> RebalanceRow:
        """Journal the last prices when the ranking chose (the signal), for every symbol the slot may trade:
        what each order's cost is measured from."""
        wanted = set(targets) | {asset + self.quote for asset in held}
        chosen = {s: p for s, p in prices.items() if s in wanted}
        self.store.update_rebalance(row.slot, signal_prices=json.dumps({s: str(p) for s, p in chosen.items()}))
        return replace(row, signal_prices=chosen)

    async def _continue(self, row: RebalanceRow, params: StrategyParams, progress: Progress,
                        resumed: bool) -> RebalanceSummary:
        rules = await rules_by_symbol(self.market)
        costs = Costs.of(params)
        done = True
        if row.state == "selling":
            mode = "full" if row.kind == "liquidate" else row.mode
            done = await self._leg(row, SELL_LEG, rules, progress, resumed,
                                   lambda book: plan_sells(book, row.targets, mode, params.invest_fraction, costs))
            if done:
                self.store.update_rebalance(row.slot, state="buying")
                self.checkpoint("sells-done")
        if done and row.targets:
            done = await self._leg(row, BUY_LEG, rules, progress, resumed,
                                   lambda book: plan_buys(book, row.targets, params.invest_fraction, costs))
        if done:
            await self._finish(row)
        return await self.summary(self.store.get_rebalance(row.slot) or row)

    async def _leg(self, row: RebalanceRow, leg: str, rules: dict[str, SymbolRules], progress: Progress,
                   resumed: bool, planner: Callable[[Book], Plan]) -> bool:
        """Plan a leg once (journaled), then send what is not settled yet; False if the venue is down."""
        orders = self.store.orders_for(row.slot, leg)
        if not orders:
            plan = planner(await self._book(rules))
            self.store.add_orders(row.id, row.slot, _journal(row, leg, plan), self.clock.now())
            self.checkpoint("sells-planned" if leg == SELL_LEG else "buys-planned")
            orders, resumed = self.store.orders_for(row.slot, leg), False
        pending = [o for o in orders if o.status in (OrderStatus.PLANNED, OrderStatus.SENDING)]
        gate, down, sent = asyncio.Semaphore(ORDER_CONCURRENCY), asyncio.Event(), 0

        async def one(order: OrderRecord) -> None:
            nonlocal sent
            async with gate:
                if down.is_set():  # the venue failed: send nothing more, the resume picks it up
                    return
                sent += 1
                progress(f"{'sell' if leg == SELL_LEG else 'buy'} {sent}/{len(pending)} {order.symbol}")
                try:
                    settled = await self.desk.execute(row, order, rules, look_first=resumed)
                except BaseException:
                    down.set()  # whatever went wrong, start no further order of this leg
                    raise
                if not settled:
                    down.set()

        # A leg's orders are independent (sells by quantity, buys by quote amount planned from the
        # cash the sells left), so they go out together: one round trip for the leg, not one per order.
        # After a failure no new order starts, and those already in flight finish (recorded) first.
        outcomes = await asyncio.gather(*(one(o) for o in pending), return_exceptions=True)
        errors = [o for o in outcomes if isinstance(o, BaseException)]
        for extra in errors[1:]:
            log.error("rebalance %s: another order failed too", row.slot, exc_info=extra)
        if errors:
            raise errors[0]
        if down.is_set():
            self.store.update_rebalance(row.slot, note=with_caveat("venue unavailable; will resume",
                                                                   caveat_of(row.note)))
            return False
        return True

    async def _book(self, rules: dict[str, SymbolRules]) -> Book:
        return await venue_book(self.exchange, self.market, self.store.load_ledger(), rules, self.clock.now(),
                                self.store.last_prices())

    async def _finish(self, row: RebalanceRow) -> None:
        now = self.clock.now()
        ledger = self.store.load_ledger()
        prices = await valuation_prices(self.market, ledger.holdings(), self.quote, now, self.store.last_prices())
        fills = self.store.fills(rebalance_id=row.id)
        positions = ledger.valued(prices)
        equity = ledger.equity(prices)
        latency = (max(f.time for f in fills) - row.started_at).total_seconds() * 1000 if fills else None
        rejected = sum(1 for o in self.store.orders_for(row.slot) if o.status is OrderStatus.REJECTED)
        self.store.finish_rebalance(
            row, now, positions, ledger.cash, EquityMark(now, equity, ledger.cash, equity - ledger.cash, "rebalance"),
            state="done", finished_at=now, equity_after=equity,
            fees=sum((f.fee_quote for f in fills), ZERO), turnover=sum((f.quote_quantity for f in fills), ZERO),
            signal_to_fill_ms=latency,
            note=with_caveat(f"{rejected} order(s) rejected" if rejected else "", caveat_of(row.note)),
        )
        if row.kind == "liquidate":
            self.store.set_state("paused", "1")

    async def summary(self, row: RebalanceRow, already_done: bool = False) -> RebalanceSummary:
        """The typed result of a slot, rebuilt from the journal (so a resumed run reports all of it)."""
        orders = self.store.orders_for(row.slot)
        ledger = self.store.load_ledger()
        try:
            prices = await valuation_prices(self.market, ledger.holdings(), self.quote, self.clock.now(),
                                            self.store.last_prices())
            equity_now = ledger.equity(prices)
        except VenueUnavailable:  # the summary of an outage must not need the venue: the last prices seen
            prices, equity_now = self.store.last_prices(), row.equity_before
        return RebalanceSummary(
            row=row,
            equity_after=row.equity_after if row.equity_after is not None else equity_now,
            orders=tuple(orders),
            fills=tuple(reversed(self.store.fills(rebalance_id=row.id))),
            skipped=tuple(SkippedOrder(o.symbol, o.side, o.requested_qty or ZERO, ZERO, o.error)
                          for o in orders if o.status is OrderStatus.SKIPPED),
            errors=tuple(f"{o.symbol} {o.side.value}: {o.error}" for o in orders if o.status is OrderStatus.REJECTED)
            + ((row.note,) if row.state != "done" and row.note else ())
            + ((caveat_of(row.note),) if row.state == "done" and caveat_of(row.note) else ()),
            positions=tuple(ledger.valued(prices)), already_done=already_done,
        )


def _journal(row: RebalanceRow, leg: str, plan: Plan) -> list[OrderRecord]:
    planned = [
        OrderRecord(client_order_id(row.slot, leg, o.symbol), row.id, row.slot, leg, o.symbol, o.side,
                    o.quantity, o.quote_amount, OrderStatus.PLANNED, signal_mid=row.signal_prices.get(o.symbol))
        for o in plan.orders
    ]
    skipped = [
        OrderRecord(client_order_id(row.slot, leg, s.symbol), row.id, row.slot, leg, s.symbol, s.side,
                    s.quantity, None, OrderStatus.SKIPPED, error=s.reason)
        for s in plan.skipped
    ]
    return planned + skipped

