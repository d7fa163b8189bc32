"""Eligibility, scores and picks for many rebalance days at once (pure, vectorised over days and symbols)."""
from __future__ import annotations

import numpy as np

from .panel import Panel


def eligible(panel: Panel, rows: np.ndarray, lookback: int, min_age_days: int, min_quote_volume: float,
             allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mask, score) of shape (len(rows), symbols): who may be picked on each signal row, and its return.

    Eligible: a real candle on t and on exactly t - lookback (in rows), listed min_age_days before the signal
    instant, mean daily quote volume over the 7 UTC days closed at t's close at least the minimum, and not excluded.
    """
    back = rows - lookback
    inside = back >= 0
    back = np.maximum(back, 0)
    now_close, then_close = _at(panel.close, rows), _at(panel.close, back)
    ok = _at(panel.has, rows) & _at(panel.has, back)
    ok &= inside[:, None]
    # Age at the signal instant, t's close (the start of t + 1), as the live rebalance there counts it: in
    # candles, against the days asked for (a whole number of candles, as intervals divide a day).
    ok &= panel.listed[None, :] <= (panel.first_day + rows + 1 - min_age_days * panel.per_day)[:, None]
    ok &= _at(panel.volume_mean, rows) >= min_quote_volume
    ok &= allowed[None, :]
    ok &= then_close > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        score = now_close / then_close
    score -= 1.0
    return ok, score


def _at(a: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """a[rows]; a view when the rows are evenly spaced (the usual signal grid), which copies nothing."""
    if len(rows) > 1:
        step = int(rows[1] - rows[0])
        if step > 0 and rows[-1] - rows[0] == step * (len(rows) - 1) and (np.diff(rows) == step).all():
            return a[rows[0]:rows[-1] + 1:step]
    return a[rows]


def pick(ok: np.ndarray, score: np.ndarray, topn: int, strategy: str) -> np.ndarray:
    """Boolean picks per row: the topn highest (momentum) or lowest (reversal) scores, ties by column.

    Columns are in symbol-name order, so the tie rule is the live one; fewer eligible than topn
    picks all of them.
    """
    key = np.where(ok, -score if strategy == "momentum" else score, np.inf)
    if topn >= key.shape[1]:
        return ok.copy()
    # The topn-th smallest key per row; everything below it is in, and ties at it go by column.
    kth = np.partition(key, topn - 1, axis=1)[:, topn - 1:topn]
    below = key < kth
    at = (key == kth) & np.isfinite(key)
    room = topn - below.sum(axis=1, keepdims=True)
    chosen = below | at
    crowded = at.sum(axis=1) > room[:, 0]  # more ties at the kth than places left: only these need counting
    if crowded.any():
        ties = at[crowded]
        chosen[crowded] = below[crowded] | (ties & (np.cumsum(ties, axis=1) <= room[crowded]))
    return chosen
