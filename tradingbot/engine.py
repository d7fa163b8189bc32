"""The rebalance use case: rank, plan, execute through any venue, journal every step.

Every slot has a key and a journal row; every order has a deterministic client order id and
is written to the journal before it is sent. A process killed half-way resumes from the
journal: orders left in `sending` are looked up at the venue before anything is re-sent.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from decimal import Decimal
from typing import Callable

from .adapters.sqlite_store import RebalanceRow, SqliteStore
from .domain import (
    ZERO, EquityMark, OrderRequest, OrderResult, OrderStatus, Plan, RebalanceSummary, Side, SkippedOrder, SymbolRules,
)
from .errors import OrderRejected, VenueUnavailable
from .market_view import rank_now, rules_by_symbol
from .params import StrategyParams
from .planning import Book, Costs, plan_buys, plan_sells
from .ports import Clock, Exchange, MarketData

log = logging.getLogger(__name__)
SELL_LEG, BUY_LEG = "S", "B"
DUPLICATE = "Duplicate order sent."  # Binance -2010 text when a client order id is still known
ACTIVE = ("selling", "buying")
Progress = Callable[[str], None]
_ID_OK = re.compile(r"^[A-Za-z0-9_-]{1,36}$")


def client_order_id(slot: str, leg: str, symbol: str) -> str:
    """Deterministic from (slot, leg, symbol) and within Binance's 36-character rule."""
    readable = f"{slot}-{leg}-{symbol}"
    if _ID_OK.match(readable):
        return readable
    return f"{slot}-{leg}-{hashlib.sha256(readable.encode()).hexdigest()[:12]}"


class Rebalancer:
    def __init__(self, store: SqliteStore, exchange: Exchange, market: MarketData, clock: Clock,
                 retries: int = 3, backoff_s: float = 1.0):
        self.store, self.exchange, self.market, self.clock = store, exchange, market, clock
        self.quote = store.quote
        self.retries, self.backoff_s = retries, backoff_s
        self._lock = asyncio.Lock()  # one rebalance at a time, whoever triggers it

    async def run(self, slot: str, kind: str, params: StrategyParams,
                  progress: Progress | None = None) -> RebalanceSummary:
        """Run (or resume, or decline to repeat) the rebalance of one slot."""
        async with self._lock:
            row = self.store.get_rebalance(slot)
            if row and row.state not in ACTIVE:
                return await self.summary(row, already_done=True)
            if row is None:
                row = await self._open(slot, kind, params)
                if row.state == "skipped":
                    return await self.summary(row)
            else:
                log.info("resuming rebalance %s from state %s", slot, row.state)
            return await self._continue(row, params, progress or (lambda _: None))

    async def resume_unfinished(self, params: StrategyParams) -> list[RebalanceSummary]:
        """At start-up: finish whatever a crash interrupted, never repeating a filled order."""
        return [await self.run(row.slot, row.kind, params) for row in self.store.unfinished_rebalances()]

    async def _open(self, slot: str, kind: str, params: StrategyParams) -> RebalanceRow:
        now = self.clock.now()
        prices = await self.market.prices()
        equity = self.store.load_ledger().equity(prices)
        if kind == "liquidate":
            return self.store.start_rebalance(slot, kind, "selling", now, params.strategy, "full", (), equity)
        ranking = await rank_now(self.market, params, now)
        if not ranking.selected:
            note = f"skipped: no eligible token among {len(ranking.rows)} symbols"
            log.warning("rebalance %s %s", slot, note)
            return self.store.start_rebalance(slot, kind, "skipped", now, params.strategy, params.mode, (),
                                              equity, note, ranking)
        return self.store.start_rebalance(slot, kind, "selling", now, params.strategy, params.mode,
                                          ranking.selected, equity, ranking=ranking)

    async def _continue(self, row: RebalanceRow, params: StrategyParams, progress: Progress) -> RebalanceSummary:
        rules = await rules_by_symbol(self.market)
        costs = Costs(params.fee_rate, params.slippage_bps)
        done = True
        if row.state == "selling":
            mode = "full" if row.kind == "liquidate" else row.mode
            done = await self._leg(row, SELL_LEG, rules, progress,
                                   lambda book: plan_sells(book, row.targets, mode, params.invest_fraction, costs))
            if done:
                self.store.update_rebalance(row.slot, state="buying")
        if done and row.targets:
            done = await self._leg(row, BUY_LEG, rules, progress,
                                   lambda book: plan_buys(book, row.targets, params.invest_fraction, costs))
        if done:
            await self._finish(row)
        return await self.summary(self.store.get_rebalance(row.slot) or row)

    async def _leg(self, row: RebalanceRow, leg: str, rules: dict[str, SymbolRules], progress: Progress,
                   planner: Callable[[Book], Plan]) -> bool:
        """Plan a leg once (journaled), then send what is not settled yet; False if the venue is down."""
        orders = self.store.orders_for(row.slot, leg)
        if not orders:
            plan = planner(await self._book(rules))
            self.store.add_orders(row.id, row.slot, _journal_rows(row.slot, leg, plan), self.clock.now())
            orders = self.store.orders_for(row.slot, leg)
        pending = [o for o in orders if o["status"] in (OrderStatus.PLANNED.value, OrderStatus.SENDING.value)]
        for i, order in enumerate(pending, 1):
            progress(f"{'sell' if leg == SELL_LEG else 'buy'} {i}/{len(pending)} {order['symbol']}")
            if not await self._execute(row, order, rules):
                self.store.update_rebalance(row.slot, note="venue unavailable; will resume")
                return False
        return True

    async def _book(self, rules: dict[str, SymbolRules]) -> Book:
        balances = await self.exchange.balances()
        cash = balances.get(self.quote, ZERO)
        holdings = {a: q for a, q in balances.items() if a != self.quote and q > 0}
        return Book(self.quote, cash, holdings, rules, await self.market.prices())

    async def _execute(self, row: RebalanceRow, order: dict, rules: dict[str, SymbolRules]) -> bool:
        """Send one journaled order, or settle it from the venue if an earlier attempt's outcome is unknown.

        Re-sending happens only after the venue said it does not know the client order id; when it
        cannot be asked, the order stays `sending` (False) and is looked up again on the next run.
        """
        coid, symbol = order["client_order_id"], order["symbol"]
        try:
            if order["status"] == OrderStatus.SENDING.value:
                found = await self._find(symbol, coid)
                if found:
                    self._record(row, found, rules)
                    return True
            self.store.set_order_status(coid, OrderStatus.SENDING.value, self.clock.now())
            result = await self._send(_request(order), symbol)
        except VenueUnavailable as e:
            log.warning("order %s: outcome unknown, venue unavailable (%s); will look it up on resume", coid, e)
            return False
        except OrderRejected as e:
            log.warning("order %s rejected: %s", coid, e)
            self.store.set_order_status(coid, OrderStatus.REJECTED.value, self.clock.now(), e.code, e.message)
            return True
        self._record(row, result, rules)
        return True

    async def _send(self, request: OrderRequest, symbol: str) -> OrderResult:
        """Place with retries; after each transient failure, find out whether the order went through."""
        for attempt in range(self.retries + 1):
            try:
                return await self.exchange.place_market_order(request)
            except OrderRejected as e:
                if e.message != DUPLICATE:
                    raise
                found = await self._find(symbol, request.client_order_id)  # sent before, outcome now known
                if found:
                    return found
                raise
            except VenueUnavailable as e:
                if attempt == self.retries:
                    raise
                await self.clock.sleep(e.retry_after or self.backoff_s * 2**attempt)
                found = await self._find(symbol, request.client_order_id)
                if found:
                    return found
        raise AssertionError("unreachable")

    async def _find(self, symbol: str, coid: str) -> OrderResult | None:
        """The venue's answer for a client order id: the order, or None when it surely never arrived."""
        for attempt in range(self.retries + 1):
            try:
                return await self.exchange.find_order(symbol, coid)
            except VenueUnavailable as e:
                if attempt == self.retries:
                    raise
                await self.clock.sleep(e.retry_after or self.backoff_s * 2**attempt)
        raise AssertionError("unreachable")

    def _record(self, row: RebalanceRow, result: OrderResult, rules: dict[str, SymbolRules]) -> None:
        base = rules[result.symbol].base if result.symbol in rules else result.symbol.removesuffix(self.quote)
        self.store.record_execution(result.client_order_id, result.status.value, result.exchange_order_id,
                                    result.fills, base, row.id, self.clock.now())

    async def _finish(self, row: RebalanceRow) -> None:
        now = self.clock.now()
        prices = await self.market.prices()
        ledger = self.store.load_ledger()
        fills = self.store.fills(rebalance_id=row.id)
        positions = ledger.valued(prices)
        equity = ledger.equity(prices)
        latency = (max(f.time for f in fills) - row.started_at).total_seconds() * 1000 if fills else None
        rejected = [o for o in self.store.orders_for(row.slot) if o["status"] == OrderStatus.REJECTED.value]
        self.store.add_inventory(now, row.id, positions, ledger.cash)
        self.store.add_mark(EquityMark(now, equity, ledger.cash, equity - ledger.cash, "rebalance"))
        self.store.update_rebalance(
            row.slot, state="done", finished_at=now, equity_after=equity,
            fees=sum((f.fee_quote for f in fills), ZERO), turnover=sum((f.quote_quantity for f in fills), ZERO),
            signal_to_fill_ms=latency, note=f"{len(rejected)} order(s) rejected" if rejected else "",
        )
        if row.kind == "liquidate":
            self.store.set_state("paused", "1")

    async def summary(self, row: RebalanceRow, already_done: bool = False) -> RebalanceSummary:
        """The typed result of a slot, rebuilt from the journal (so a resumed run reports all of it)."""
        orders = self.store.orders_for(row.slot)
        prices = await self.market.prices()
        ledger = self.store.load_ledger()
        return RebalanceSummary(
            slot=row.slot, state=row.state, started_at=row.started_at, finished_at=row.finished_at,
            strategy=row.strategy, mode=row.mode, targets=row.targets, equity_before=row.equity_before,
            equity_after=row.equity_after if row.equity_after is not None else ledger.equity(prices),
            fees=row.fees, turnover=row.turnover, orders=orders,
            fills=list(reversed(self.store.fills(rebalance_id=row.id))),
            errors=[f"{o['symbol']} {o['side']}: {o['error']}" for o in orders if o["status"] == "rejected"]
            + ([row.note] if row.state in ACTIVE + ("skipped",) and row.note else []),
            skipped=[SkippedOrder(o["symbol"], Side(o["side"]), Decimal(o["requested_qty"] or 0), ZERO, o["error"])
                     for o in orders if o["status"] == OrderStatus.SKIPPED.value],
            positions=ledger.valued(prices), already_done=already_done,
            signal_to_fill_ms=row.signal_to_fill_ms,
        )


def _request(order: dict) -> OrderRequest:
    """The venue request for a journaled order: sells by quantity, buys by quote amount."""
    side = Side(order["side"])
    return OrderRequest(
        order["client_order_id"], order["symbol"], side,
        quantity=Decimal(order["requested_qty"]) if side is Side.SELL else None,
        quote_amount=Decimal(order["requested_quote"]) if side is Side.BUY else None,
    )


def _journal_rows(slot: str, leg: str, plan: Plan) -> list[dict]:
    rows = [
        {"client_order_id": client_order_id(slot, leg, o.symbol), "leg": leg, "symbol": o.symbol,
         "side": o.side.value, "requested_qty": o.quantity, "requested_quote": o.quote_amount,
         "est_price": o.est_price, "status": OrderStatus.PLANNED.value}
        for o in plan.orders
    ]
    rows += [
        {"client_order_id": client_order_id(slot, leg, s.symbol), "leg": leg, "symbol": s.symbol,
         "side": s.side.value, "requested_qty": s.quantity, "status": OrderStatus.SKIPPED.value, "error": s.reason}
        for s in plan.skipped
    ]
    return rows

