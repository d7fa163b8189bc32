"""Fitting the volume cost model's impact prefactor k to real fills (pure).

Each market order gives one observation: what it paid against the mid price when it was sent, less the
half-spread (the touch against the mid when the book was read, else the model's estimate), against the
model's driver x = σ_daily · √(quote amount / daily quote volume). The square-root law says
cost − half-spread = k · x, so k is the least-squares slope through the origin, Σxy / Σx²: one number,
no intercept (a zero-size order pays no impact). Orders without a mid, a volume or a σ carry no information
on k and are left out, counted.

It needs per order only: side, mid at send, average fill price, quote amount, the day's quote volume and σ.
`order_cost` turns one of the bot's own recorded orders (FilledOrder) into that, with σ and, when its ranking
did not record one, the volume read from daily candles as the backtester's model reads them. A real Binance
order does not say which book it met: its mid is the symbol's price when the ranking chose it (the signal,
seconds before), and its half-spread the model's estimate from the same candles.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Iterable

import numpy as np

from ..errors import UserError
from .execution import SIGMA_DAYS, model_inputs
from .panel import Panel

MIN_FILLS = 5  # fewer cannot tell a slope from noise
MIN_CLOSES = 21  # of the SIGMA_DAYS + 1 closes before an order: 20 returns still give σ to within ~16 %

# Why one of the bot's filled orders says nothing about k (counted, one line each).
NO_MID = "no mid recorded (placed before schema V10)"
FLAT = "priced flat (the paper venue had no book to walk)"
NO_SIGMA = f"no σ (under {MIN_CLOSES} of the {SIGMA_DAYS + 1} daily closes before it in the candle cache)"
NO_VOLUME = "no daily quote volume (neither its ranking nor the candle cache has one)"


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


@dataclass(frozen=True)
class FilledOrder:
    """One of the bot's market orders with fills, as its database records it."""

    symbol: str
    side: str  # BUY or SELL
    day: date  # the UTC day it was sent
    signal_mid: Decimal | None  # the symbol's price when the ranking chose it (None before schema V10)
    send_mid: Decimal | None  # the mid when the venue took it (None before V10, and on a venue that does not say)
    send_touch: Decimal | None  # the best quote it met then: the ask for a buy, the bid for a sell
    avg_price: Decimal
    quote: Decimal  # its fills' quote, summed
    priced_by: frozenset[str]  # the paper venue's model of its fills ('book', 'flat'); empty for a real venue's
    ranked_volume: Decimal | None  # the 7-day mean daily quote volume its rebalance's ranking recorded


def unpriced(order: FilledOrder) -> str | None:
    """Why the order's own record cannot tell what it paid against the mid (None: it can)."""
    if "flat" in order.priced_by:  # its price came from the last trade moved by a fixed slippage, not a book
        return FLAT
    return None if order.send_mid or order.signal_mid else NO_MID


def order_cost(order: FilledOrder, panel: Panel) -> FillCost | str:
    """The order as the fit reads it, or why it is left out. σ (and, without a recorded touch, the half-spread)
    comes from the SIGMA_DAYS + 1 daily closes up to the day before it (the last whole day when it was sent),
    the volume from its ranking, else the candles' 7-day mean daily quote volume to that day (the same reading,
    which the backtester's model takes too). The panel needs the candles' highs and lows."""
    if reason := unpriced(order):
        return reason
    row = panel.row(order.day - timedelta(days=1))
    if order.symbol not in panel.symbols or not 0 <= row < panel.days:
        return NO_SIGMA
    col = panel.symbols.index(order.symbol)
    estimate, sigma = (float(v[0]) for v in model_inputs(panel, np.array([row]), np.array([col])))
    if np.count_nonzero(np.isfinite(panel.close[max(row - SIGMA_DAYS, 0):row + 1, col])) < MIN_CLOSES or not sigma > 0:
        return NO_SIGMA
    volume = float(order.ranked_volume or 0) or float(panel.volume_mean[row, col])
    if not volume > 0:
        return NO_VOLUME
    mid = float(order.send_mid or order.signal_mid or 0)
    if order.send_mid:  # the touch it met (a mid without one: the spread is unknown and counts as impact)
        half_spread = abs(float(order.send_touch) / mid - 1) if order.send_touch else 0.0
    else:
        half_spread = estimate
    return FillCost(order.side, mid, float(order.avg_price), float(order.quote), volume, sigma, half_spread)
