"""Venue balances against the ledger: every difference is recorded and reported, never written over.

The comparison is of changes since a baseline (the first check on this database): a Spot Testnet
account starts stocked with assets the bot never bought, and a manager may keep BNB for fees, so
absolute balances differ by design; what must match is what the bot's own trading did to each.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from .domain import QUOTE_UNIT, ZERO
from .ledger import Ledger
from .money import fmt_decimal

BASELINE_KEY = "reconcile_baseline"
LAST_KEY = "reconcile_last"


@dataclass(frozen=True)
class Difference:
    asset: str
    venue_change: Decimal  # since the baseline
    ledger_change: Decimal

    @property
    def gap(self) -> Decimal:
        return self.venue_change - self.ledger_change

    def describe(self) -> str:
        return (f"{self.asset}: venue {_signed(self.venue_change)} vs ledger {_signed(self.ledger_change)}"
                f" since the baseline (gap {_signed(self.gap)})")


def _signed(x: Decimal) -> str:
    return ("+" if x > 0 else "") + fmt_decimal(x)


def ledger_balances(ledger: Ledger) -> dict[str, Decimal]:
    """What the ledger says the account holds because of the bot: cash and every position."""
    return {ledger.quote: ledger.cash, **{a: p.quantity for a, p in ledger.positions.items() if p.quantity}}


def differences(venue: dict[str, Decimal], venue_base: dict[str, Decimal],
                ledger: dict[str, Decimal], ledger_base: dict[str, Decimal]) -> list[Difference]:
    """Assets whose venue change and ledger change since the baseline differ by a unit of the venue or more."""
    out = []
    for asset in sorted(set(venue) | set(venue_base) | set(ledger) | set(ledger_base)):
        dv = venue.get(asset, ZERO) - venue_base.get(asset, ZERO)
        dl = ledger.get(asset, ZERO) - ledger_base.get(asset, ZERO)
        # The venue reports 8 decimals; the ledger keeps each fill's exact price x quantity
        if abs(dv - dl) >= QUOTE_UNIT:
            out.append(Difference(asset, dv, dl))
    return out


def encode(balances: dict[str, Decimal]) -> dict[str, str]:
    return {a: fmt_decimal(q) for a, q in sorted(balances.items())}


def decode(text: str | None) -> dict[str, dict[str, Decimal]] | None:
    if not text:
        return None
    raw = json.loads(text)
    return {side: {a: Decimal(q) for a, q in values.items()} for side, values in raw.items()}
