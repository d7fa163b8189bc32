"""The P/L ledger (pure): cash, inventory and average-cost P/L, derived from deposits and fills.

Identity kept at every step: equity - deposits = sum(realized) + sum(value - cost).
Buy fees charged in the base asset shrink the quantity received, so they sit in the cost
basis; sell fees charged in quote reduce the proceeds, so they sit in realized P/L.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Iterable, Mapping

from .domain import QUOTE_UNIT as COST_UNIT, ZERO, Fill, Position, Side



@dataclass
class Ledger:
    quote: str
    cash: Decimal = ZERO
    deposits: Decimal = ZERO
    fees: Decimal = ZERO
    positions: dict[str, Position] = field(default_factory=dict)

    def deposit(self, amount: Decimal) -> None:
        """Capital paid in (in the quote asset)."""
        self.cash += amount
        self.deposits += amount

    def apply_fill(self, fill: Fill, base: str) -> None:
        """Book one execution of `base` against the quote asset."""
        pos = self.positions.get(base) or Position(base, ZERO, ZERO, ZERO, ZERO)
        notional = fill.price * fill.quantity
        if fill.side is Side.BUY:
            pos = replace(pos, quantity=pos.quantity + fill.quantity, cost=pos.cost + notional)
            self.cash -= notional
        else:
            if fill.quantity > pos.quantity:
                raise ValueError(f"sell of {fill.quantity} {base} exceeds the {pos.quantity} held")
            # Whole positions take their whole cost; partial ones a share rounded to the quote's
            # precision, so cost + realized stay exact sums and the P/L identity holds to the unit.
            if fill.quantity == pos.quantity:
                cost_out = pos.cost
            else:
                cost_out = (pos.cost * fill.quantity / pos.quantity).quantize(COST_UNIT)
            pos = replace(
                pos,
                quantity=pos.quantity - fill.quantity,
                cost=pos.cost - cost_out,
                realized=pos.realized + notional - cost_out,
            )
            self.cash += notional
        pos = self._charge(pos, fill)
        self.positions[base] = pos
        self.fees += fill.fee_quote

    def _charge(self, pos: Position, fill: Fill) -> Position:
        """Take the commission out of the asset Binance charged it in."""
        pos = replace(pos, fees=pos.fees + fill.fee_quote)
        if fill.commission_asset == pos.asset:
            return replace(pos, quantity=pos.quantity - fill.commission)
        if fill.commission_asset == self.quote:
            self.cash -= fill.commission
            if fill.side is Side.BUY:
                return replace(pos, cost=pos.cost + fill.commission)
            return replace(pos, realized=pos.realized - fill.commission)
        # A third asset (BNB with "pay fees in BNB"): that holding shrinks by the commission and its
        # cost by the fee's value, so the fee is a cost of this trade and equity stays cash + holdings.
        payer = self.positions.get(fill.commission_asset) or Position(fill.commission_asset, ZERO, ZERO, ZERO, ZERO)
        self.positions[payer.asset] = replace(payer, quantity=payer.quantity - fill.commission,
                                              cost=payer.cost - fill.fee_quote)
        if fill.side is Side.BUY:
            return replace(pos, cost=pos.cost + fill.fee_quote)
        return replace(pos, realized=pos.realized - fill.fee_quote)

    def holdings(self) -> dict[str, Decimal]:
        """Base asset -> quantity for every non-empty position."""
        return {a: p.quantity for a, p in self.positions.items() if p.quantity}

    def valued(self, prices: Mapping[str, Decimal]) -> list[Position]:
        """Positions still held, priced by symbol (asset + quote); unpriced ones keep price None."""
        return [
            replace(p, price=prices.get(p.asset + self.quote))
            for p in sorted(self.positions.values(), key=lambda p: p.asset)
            if p.quantity
        ]

    def equity(self, prices: Mapping[str, Decimal]) -> Decimal:
        """Cash plus every holding at its price (a holding with no price counts at zero)."""
        return self.cash + sum((p.value for p in self.valued(prices)), ZERO)

    @property
    def realized(self) -> Decimal:
        return sum((p.realized for p in self.positions.values()), ZERO)


def replay(quote: str, deposits: Iterable[Decimal], fills: Iterable[tuple[Fill, str]]) -> Ledger:
    """Rebuild the ledger from scratch: the check that stored balances equal what fills imply."""
    ledger = Ledger(quote)
    for amount in deposits:
        ledger.deposit(amount)
    for fill, base in fills:
        ledger.apply_fill(fill, base)
    return ledger
