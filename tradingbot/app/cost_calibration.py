"""Fitting the volume cost model's k to the bot's own fills (`bot.py costs calibrate`).

Each filled market order the database holds, with its mid and best quote when sent, is set against σ and the
daily volume from the candle cache (core/backtest/calibrate.py says how); orders that say nothing about k are
counted by reason, so a manager sees how much of the record the figure rests on.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from ..core.backtest.calibrate import MIN_FILLS, FillCost, KFit, fit_impact_k, order_cost, unpriced
from ..core.backtest.execution import SIGMA_DAYS
from ..core.errors import UserError
from .ports import CandleSource, FilledOrders


@dataclass(frozen=True)
class Calibration:
    """The fitted k, over how many of the bot's filled orders, and why the others were left out."""

    fit: KFit
    orders: int  # filled market orders in the database
    left_out: dict[str, int] = field(default_factory=dict)  # reason -> orders
    at_signal: int = 0  # of those fitted, orders whose venue did not report the book (mid: the signal price)


def calibrate_from_fills(orders: FilledOrders, candles: CandleSource, quote: str) -> Calibration:
    """k fitted to every filled market order that recorded its mid; UserError (one line) when too few did."""
    found = orders.filled_market_orders()
    if not found:
        raise UserError("no filled market orders in the database yet: nothing to fit k to")
    left_out = Counter(reason for o in found if (reason := unpriced(o)))
    priced = [o for o in found if not unpriced(o)]
    fills: list[FillCost] = []
    at_signal = 0
    if priced:  # the candles are read only when some order can use them
        first, last = min(o.day for o in priced), max(o.day for o in priced)
        panel = candles.load(first - timedelta(days=1), last, SIGMA_DAYS + 1, quote, opens=False, ranges=True)[0]
        for order in priced:
            cost = order_cost(order, panel)
            if isinstance(cost, str):
                left_out[cost] += 1
            else:
                fills.append(cost)
                at_signal += not order.send_mid
    if len(fills) < MIN_FILLS:
        why = "; ".join(f"{n} {reason}" for reason, n in left_out.most_common())
        raise UserError(f"calibrating k needs at least {MIN_FILLS} filled market orders with a mid price, a daily "
                        f"volume and a σ (found {len(fills)} of {len(found)}; left out: {why})")
    return Calibration(fit_impact_k(fills), len(found), dict(left_out.most_common()), at_signal)
