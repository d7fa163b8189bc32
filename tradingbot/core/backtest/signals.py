"""Eligibility, scores and picks for many rebalance days at once (pure, vectorised over days and symbols)."""
from __future__ import annotations

import numpy as np

from .panel import Panel


Filters = tuple[int, float, np.ndarray]  # min_age_days, min_quote_volume, the allowed columns
CHUNKS = 10  # ranked_picks' parts of the signal rows, each ranking only the columns listed by its last row


def eligible(panel: Panel, rows: np.ndarray, lookback: int, min_age_days: int, min_quote_volume: float,
             allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mask, score) of shape (len(rows), symbols): who may be picked on each signal row, and its return.

    Eligible: a real candle on t and on exactly t - lookback (in rows), listed min_age_days before the signal
    instant, mean daily quote volume over the 7 UTC days closed at t's close at least the minimum, and not excluded.
    """
    order, _ = _by_listing(panel)
    inside = rows >= lookback
    ratio = np.full((len(rows), len(order)), np.nan)
    ratio[np.ix_(inside, order)] = _ratios(panel, rows[inside], lookback, (min_age_days, min_quote_volume, allowed))
    return ~np.isnan(ratio), ratio - 1.0


def ranked_picks(panel: Panel, rows: np.ndarray, lookback: int, filters: Filters, topn: int,
                 strategy: str) -> tuple[np.ndarray, np.ndarray]:
    """pick(*eligible(...)) as (index into rows, column) pairs in row then column order, without the mask.

    `rows` ascend. The key is -score (momentum) or score (reversal), as pick's: 1 - ratio is exactly
    -(ratio - 1). Each part of the rows ranks only the columns (in listing order) up to the last one eligible
    on any of its rows: over the whole history that is 40 % of the panel."""
    order, _ = _by_listing(panel)
    width = _eligible(panel, filters)[1]
    skip = int(np.count_nonzero(rows < lookback))  # no candle lookback rows before: nobody is eligible
    tops = [np.empty((0, topn), dtype=np.int64)]
    for part in np.array_split(np.arange(skip, len(rows)), min(CHUNKS, len(rows) - skip) or 1):
        if len(part):
            w = int(width[rows[part]].max())
            key = _ratios(panel, rows[part], lookback, filters, w)
            if strategy == "momentum":
                np.subtract(1.0, key, out=key)
            else:
                key -= 1.0
            np.fmin(key, np.inf, out=key)  # the ineligible (NaN) last: argpartition is ~3x slower over NaN than ∞
            tops.append(_lowest_columns(key, topn, order[:w], len(order)))
    top = np.vstack(tops)
    top.sort(axis=1)
    at, place = np.nonzero(top < len(order))
    return at + skip, top[at, place]


def _ratios(panel: Panel, rows: np.ndarray, lookback: int, filters: Filters, width: int | None = None
            ) -> np.ndarray:
    """close[t] / close[t - lookback] where eligible, NaN elsewhere (every row >= lookback), over the first
    `width` columns in listing order."""
    closes, _ = _eligible(panel, filters)
    base = _by_listing(panel)[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return _at(closes, rows)[:, :width] / _at(base, rows - lookback)[:, :width]


def _by_listing(panel: Panel) -> tuple[np.ndarray, np.ndarray]:
    """The columns in listing order, and in it the closes a return can be taken from: a real candle above 0
    (the others NaN)."""
    def make() -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(panel.listed, kind="stable")
        base = np.take(panel.close, order, axis=1)  # as close[:, order], 5x faster
        base[base <= 0] = np.nan
        return order, base
    return panel.memo("by listing", make)


def _eligible(panel: Panel, filters: Filters) -> tuple[np.ndarray, np.ndarray]:
    """The close where a symbol passes the filters that do not depend on the lookback, NaN elsewhere, columns in
    listing order; and per row, the columns up to its last such one."""
    min_age_days, min_quote_volume, allowed = filters

    def make() -> tuple[np.ndarray, np.ndarray]:
        ok = panel.has & allowed[None, :]
        ok &= panel.volume_mean >= min_quote_volume
        # Age at the signal instant, t's close (the start of t + 1), as the live rebalance there counts it: in
        # candles, against the days asked for (a whole number of candles, as intervals divide a day).
        ok &= panel.listed[None, :] <= (panel.first_day + np.arange(panel.days) + 1
                                        - min_age_days * panel.per_day)[:, None]
        order, base = _by_listing(panel)
        ok = np.take(ok, order, axis=1)
        width = np.where(ok.any(axis=1), ok.shape[1] - np.argmax(ok[:, ::-1], axis=1), 0)
        # The return base is the close in that order unless some close is 0 or below (none in real candles).
        closes = base if not (panel.close <= 0).any() else np.take(panel.close, order, axis=1)
        return np.where(ok, closes, np.nan), width
    return panel.memo(("eligible", min_age_days, float(min_quote_volume), allowed.tobytes()), make)


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
    return _lowest(key, topn)


def _lowest(key: np.ndarray, topn: int) -> np.ndarray:
    """Per row, the topn smallest finite keys (fewer if fewer are finite), ties at the last place by column."""
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


def _lowest_columns(key: np.ndarray, topn: int, columns: np.ndarray, none: int) -> np.ndarray:
    """_lowest's picks per row as topn panel columns (`none` past the picks), the ineligible keyed ∞; key's
    columns are the panel's `columns`.

    argpartition brings each row's topn + 1 smallest keys to its front; the topn first are the picks unless the
    last place's key ties with the next one, and only those rows (rare) go through _lowest's column rule."""
    if topn >= key.shape[1]:
        top = np.where(np.isfinite(key), columns, none)
        return np.hstack([top, np.full((len(key), topn - key.shape[1]), none)])
    front = np.argpartition(key, topn, axis=1)[:, :topn + 1]
    keys = np.take_along_axis(key, front, axis=1)
    kth = keys[:, :topn].max(axis=1)
    top = np.where(np.isfinite(keys[:, :topn]), columns[front[:, :topn]], none)  # fewer eligible than topn
    crowded = np.flatnonzero((kth == keys[:, topn]) & np.isfinite(kth))
    if len(crowded):
        by_name = np.argsort(columns)  # the tie rule goes by panel column
        chosen = _lowest(key[crowded][:, by_name], topn)
        top[crowded] = columns[by_name][np.nonzero(chosen)[1]].reshape(len(crowded), topn)
    return top
