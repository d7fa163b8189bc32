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
    now_close, then_close = panel.close[rows], panel.close[back]
    ok = panel.has[rows] & panel.has[back] & inside[:, None]
    # Age at the signal instant, t's close (the start of t + 1), as the live rebalance there counts it: in
    # candles, against the days asked for (a whole number of candles, as intervals divide a day).
    ok &= panel.first_day + rows[:, None] + 1 - panel.listed[None, :] >= min_age_days * panel.per_day
    ok &= panel.volume_mean[rows] >= min_quote_volume
    ok &= allowed[None, :]
    ok &= then_close > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        score = now_close / then_close - 1.0
    return ok, score


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
    return below | (at & (np.cumsum(at, axis=1) <= room))
