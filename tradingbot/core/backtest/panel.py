"""Daily candles as aligned arrays: one row per calendar day, one column per symbol (pure)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property

import numpy as np

EPOCH_DAY = date(1970, 1, 1)
DAY_MS = 86_400_000
VOLUME_DAYS = 7  # the volume filter's window: t-6 ... t, as the live engine's 7 closed days


def day_number(d: date) -> int:
    """Days since 1970-01-01."""
    return (d - EPOCH_DAY).days


def day_date(n: int) -> date:
    return EPOCH_DAY + timedelta(days=int(n))


@dataclass(frozen=True, eq=False)
class Panel:
    """Closes, opens and quote volumes by (day, symbol); NaN where the symbol has no candle that day.

    `listed` is each symbol's first candle as a day number, which may lie before the panel's first
    row (the listing age counts from it even when older rows were not loaded).
    """

    first_day: int  # day number of row 0
    symbols: tuple[str, ...]  # sorted, so column order is name order (ranking ties go by name)
    close: np.ndarray
    open: np.ndarray
    quote_volume: np.ndarray
    listed: np.ndarray = field(repr=False)
    # Daily highs and lows, loaded only for the volume cost model's spread estimate (execution.py).
    high: np.ndarray | None = field(default=None, repr=False)
    low: np.ndarray | None = field(default=None, repr=False)

    @property
    def days(self) -> int:
        return self.close.shape[0]

    def row(self, d: date) -> int:
        return day_number(d) - self.first_day

    def date_of(self, row: int) -> date:
        return day_date(self.first_day + row)

    @cached_property
    def has(self) -> np.ndarray:
        """True where a real candle exists."""
        return ~np.isnan(self.close)

    @cached_property
    def price(self) -> np.ndarray:
        """The close carried forward over days without a candle; NaN before the first one."""
        rows = np.where(self.has, np.arange(self.days)[:, None], -1)
        np.maximum.accumulate(rows, axis=0, out=rows)
        filled = np.take_along_axis(self.close, np.maximum(rows, 0), axis=0)
        return np.where(rows >= 0, filled, np.nan)

    @cached_property
    def price0(self) -> np.ndarray:
        """price with 0 where there is none: a zero holding times it stays zero (NaN * 0 would not)."""
        return np.nan_to_num(self.price, nan=0.0)

    @cached_property
    def volume_mean(self) -> np.ndarray:
        """Mean quote volume over the real candles among the last VOLUME_DAYS days (0 if none)."""
        qv = np.where(self.has, self.quote_volume, 0.0)
        sums = _rolling_sum(qv, VOLUME_DAYS)
        counts = _rolling_sum(self.has.astype(np.float64), VOLUME_DAYS)
        return np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)

    @cached_property
    def age(self) -> np.ndarray:
        """Days since each symbol's first candle, per row (negative before it)."""
        return (self.first_day + np.arange(self.days))[:, None] - self.listed[None, :]

    def warm(self) -> Panel:
        """Compute the derived arrays now (before forking workers, so they share them)."""
        for name in ("has", "price", "price0", "volume_mean", "age"):
            getattr(self, name)
        return self


def _rolling_sum(a: np.ndarray, window: int) -> np.ndarray:
    c = np.cumsum(a, axis=0)
    out = c.copy()
    out[window:] -= c[:-window]
    return out


def build_panel(symbols: np.ndarray, day: np.ndarray, open_: np.ndarray, close: np.ndarray,
                quote_volume: np.ndarray, listed: dict[str, int] | None = None,
                high: np.ndarray | None = None, low: np.ndarray | None = None) -> Panel:
    """A Panel from one row per candle (symbol, day number, open, close, quote volume, and optionally high and
    low); later rows win."""
    names, col = np.unique(np.asarray(symbols).astype(str), return_inverse=True)
    if len(day) == 0:
        raise ValueError("no candles")
    first, last = int(day.min()), int(day.max())
    shape = (last - first + 1, len(names))
    arrays = []
    ranges = (high, low) if high is not None and low is not None else ()
    for values in (close, open_, quote_volume, *ranges):
        a = np.full(shape, np.nan)
        a[day - first, col] = values
        arrays.append(a)
    seen = np.full(len(names), np.iinfo(np.int64).max)
    np.minimum.at(seen, col, day.astype(np.int64))
    if listed:
        seen = np.minimum(seen, [listed.get(n, s) for n, s in zip(names.tolist(), seen.tolist())])
    return Panel(first, tuple(names.tolist()), arrays[0], arrays[1], arrays[2], seen, *arrays[3:])
