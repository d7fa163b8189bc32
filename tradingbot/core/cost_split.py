"""Where the money went between the signal and the fill (pure): fees, spread, impact and delay, per order and per
rebalance.

Measured against a zero-cost fill of the same quantity at the mid when the ranking chose the trade (the signal):
  delay  = qty x (mid when sent - mid at the signal)        the market moving while the order waited
  spread = qty x (best quote when sent - mid when sent)     half the spread, paid by crossing it
  impact = fills' value - qty x best quote                  walking the book beyond the touch
  fees   = the commission, valued at the signal mid when charged in the base asset
(signs turned for a sell, so a cost is positive). The four add up, to the last unit, to the equity difference
at the signal mids between the account after the zero-cost fill and after the real fills. An order whose venue
did not say what it met (a mid or best quote unknown) counts that part as impact; one without a signal price
is left out.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Iterable, Sequence

from .book_walk import BookWalk
from .costs import BPS
from .domain import ZERO, Fill, OrderRecord, Side

_PREC = 60  # the parts must add up exactly: nothing here is rounded


@dataclass(frozen=True)
class CostSplit:
    """Costs in the quote asset, and the value traded at the signal mids that the basis points are of."""

    fees: Decimal = ZERO
    spread: Decimal = ZERO
    impact: Decimal = ZERO
    delay: Decimal = ZERO
    traded: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.fees + self.spread + self.impact + self.delay

    def bps(self, amount: Decimal) -> Decimal | None:
        """An amount in basis points of the value traded (None when nothing was)."""
        return amount / self.traded * BPS if self.traded else None

    def __add__(self, other: CostSplit) -> CostSplit:
        with localcontext(prec=_PREC):
            return CostSplit(self.fees + other.fees, self.spread + other.spread, self.impact + other.impact,
                             self.delay + other.delay, self.traded + other.traded)


def order_cost(order: OrderRecord, fills: Sequence[Fill], base: str, quote: str) -> CostSplit | None:
    """One order's split; None without fills or without the price at the signal."""
    signal = order.signal_mid
    if signal is None or not fills:
        return None
    mid = order.send_mid if order.send_mid is not None else signal
    touch = order.send_touch if order.send_touch is not None else mid
    with localcontext(prec=_PREC):
        qty = sum((f.quantity for f in fills), ZERO)
        value = sum((f.price * f.quantity for f in fills), ZERO)
        fees = sum((_fee_at(f, signal, base, quote) for f in fills), ZERO)
        return _split(order.side, qty, value, fees, signal, mid, touch)


def walk_cost(side: Side, walk: BookWalk, mid: Decimal, touch: Decimal, base: str) -> CostSplit:
    """What an order walking a book now would cost against a zero-cost fill at its mid (no delay yet)."""
    with localcontext(prec=_PREC):
        fees = sum((f.commission * mid if f.commission_asset == base else f.fee_quote for f in walk.fills), ZERO)
        return _split(side, walk.qty, walk.quote, fees, mid, mid, touch)


def _split(side: Side, qty: Decimal, value: Decimal, fees: Decimal, signal: Decimal, mid: Decimal,
           touch: Decimal) -> CostSplit:
    sign = 1 if side is Side.BUY else -1
    return CostSplit(fees=fees, spread=sign * qty * (touch - mid), impact=sign * (value - qty * touch),
                     delay=sign * qty * (mid - signal), traded=qty * signal)


def rebalance_cost(orders: Iterable[OrderRecord], fills: Iterable[Fill], quote: str) -> CostSplit:
    """The split of every order of a rebalance that has fills and a signal price."""
    by_order: dict[str, list[Fill]] = defaultdict(list)
    for f in fills:
        by_order[f.client_order_id].append(f)
    total = CostSplit()
    for order in orders:
        split = order_cost(order, by_order.get(order.client_order_id, ()), order.symbol.removesuffix(quote), quote)
        if split is not None:
            total = total + split
    return total


def _fee_at(fill: Fill, signal: Decimal, base: str, quote: str) -> Decimal:
    """A commission in quote: a base-asset one is base the account no longer holds, worth the signal mid each."""
    if fill.commission_asset == base:
        return fill.commission * signal
    if fill.commission_asset == quote:
        return fill.commission
    return fill.fee_quote  # a third asset (BNB): its value as the venue reported it
