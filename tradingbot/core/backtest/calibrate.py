"""Fitting the volume cost model's impact prefactor k to real fills (pure).

Each market order gives one observation: what it paid against the mid price when it was sent, less the
half-spread (the touch against the mid when the book was read, else the model's estimate), against the
model's driver x = σ_daily · √(quote amount / daily quote volume). The square-root law says
cost − half-spread = k · x, so k is the least-squares slope through the origin, Σxy / Σx²: one number,
no intercept (a zero-size order pays no impact). Orders without a mid, a volume or a σ carry no information
on k and are left out, counted.

It needs per order only: side, mid at send, average fill price, quote amount, the day's quote volume and σ.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Iterable

from ..errors import UserError

MIN_FILLS = 5  # fewer cannot tell a slope from noise


@dataclass(frozen=True)
class FillCost:
    """One market order as the fit reads it (floats: this is statistics, not the ledger)."""

    side: str  # BUY or SELL
    mid: float  # mid price when the order was sent
    avg_price: float  # its fills' quote over their base quantity
    quote: float  # quote amount traded
    volume: float  # the symbol's daily quote volume (7-day mean, as the backtester's model reads it)
    sigma: float  # σ of daily log returns (30 days, as the backtester's model reads it)
    half_spread: float = 0.0  # (best ask − mid) / mid at send, or the model's estimate

    @property
    def cost(self) -> float:
        """What the order paid against the mid, as a fraction (a buy above it, a sell below it)."""
        move = self.avg_price / self.mid - 1.0
        return move if self.side.upper() == "BUY" else -move

    @property
    def driver(self) -> float:
        """σ · √(quote / volume): the impact the square-root law predicts for k = 1."""
        return self.sigma * math.sqrt(self.quote / self.volume)

    @property
    def usable(self) -> bool:
        return all(math.isfinite(v) and v > 0 for v in (self.mid, self.avg_price, self.quote, self.volume, self.sigma))


@dataclass(frozen=True)
class KFit:
    """The fitted k and how well the model with it predicts each order's cost."""

    k: float
    fills: int
    left_out: int
    rmse_bps: float  # of (cost − half-spread − k·x), in basis points
    median_abs_error_bps: float
    r_squared: float  # of the fit through the origin (uncentred)


def fit_impact_k(fills: Iterable[FillCost]) -> KFit:
    """k = Σ x·y / Σ x² over the usable orders (y = cost − half-spread, x = σ√(Q/V)), floored at 0."""
    all_fills = list(fills)
    usable = [f for f in all_fills if f.usable]
    if len(usable) < MIN_FILLS:
        raise UserError(f"calibrating k needs at least {MIN_FILLS} market orders with a mid price, a daily "
                        f"volume and a σ (found {len(usable)} of {len(all_fills)})")
    x = [f.driver for f in usable]
    y = [f.cost - f.half_spread for f in usable]
    sxx = sum(v * v for v in x)
    k = max(sum(a * b for a, b in zip(x, y)) / sxx, 0.0) if sxx > 0 else 0.0
    errors = [b - k * a for a, b in zip(x, y)]
    syy = sum(v * v for v in y)
    return KFit(k, len(usable), len(all_fills) - len(usable),
                math.sqrt(sum(e * e for e in errors) / len(errors)) * 1e4,
                statistics.median(abs(e) for e in errors) * 1e4,
                1.0 - sum(e * e for e in errors) / syy if syy > 0 else 0.0)

