"""Candles as aligned arrays: one row per candle interval (an hour, four hours, a day), one column per symbol (pure)."""
from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from typing import Any, TypeVar

import numpy as np

EPOCH_DAY = date(1970, 1, 1)
DAY_MS = 86_400_000
BLOCK_ROWS = 128  # rows per block where a whole-panel pass would go to memory and back (a block: ~0.6 MiB)
VOLUME_DAYS = 7  # the volume filter's window: the 7 UTC days closed at the signal, as the live engine's 7 closed days
INTERVALS_MS = {"1h": 3_600_000, "4h": 14_400_000, "1d": DAY_MS}  # candle intervals a backtest runs on
# What a panel's memo may hold, in arrays the size of its closes (hourly ones run to 100s of MiB): the
# listing-order copy and the filtered closes of two filter settings (signals.py), with room for the small arrays.
MEMO_PANELS = 4
T = TypeVar("T")


def interval_name(step_ms: int) -> str:
    return next(name for name, ms in INTERVALS_MS.items() if ms == step_ms)


def day_number(d: date) -> int:
    """Days since 1970-01-01."""
    return (d - EPOCH_DAY).days


def day_date(n: int) -> date:
    return EPOCH_DAY + timedelta(days=int(n))


@dataclass(frozen=True, eq=False)
class Panel:
    """Closes, opens and quote volumes by (candle, symbol); NaN where the symbol has no candle then.

    Row r is the candle opening at (first_day + r) × step_ms since the epoch: on daily candles first_day is
    the day number of row 0, on hourly ones its hour number. `listed` is each symbol's first candle in the
    same units, which may lie before the panel's first row (the listing age counts from it even when older
    rows were not loaded).
    """

    first_day: int  # row 0's candle number since the epoch, in candles of step_ms (the day number on 1d)
    symbols: tuple[str, ...]  # sorted, so column order is name order (ranking ties go by name)
    close: np.ndarray
    open: np.ndarray
    quote_volume: np.ndarray
    listed: np.ndarray = field(repr=False)
    step_ms: int = DAY_MS  # the candle interval
    # Highs and lows, loaded only for the volume cost model's spread estimate (execution.py).
    high: np.ndarray | None = field(default=None, repr=False)
    low: np.ndarray | None = field(default=None, repr=False)
    # Arrays derived for some run options (the exclusion mask, the filtered closes), shared by the runs on the
    # panel; dataclasses.replace starts a new one, as it does the cached properties.
    _memo: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False)

    @property
    def days(self) -> int:
        """Rows: candles of step_ms (days on a daily panel)."""
        return self.close.shape[0]

    @property
    def per_day(self) -> int:
        """Candles in a day (1 on daily candles, 24 on hourly ones)."""
        return DAY_MS // self.step_ms

    @property
    def interval(self) -> str:
        return interval_name(self.step_ms)

    def row(self, d: date) -> int:
        """Row of the first candle of day d (UTC)."""
        return day_number(d) * self.per_day - self.first_day

    def date_of(self, row: int) -> date:
        """The UTC day the row's candle opens on."""
        return day_date((self.first_day + row) // self.per_day)

    def open_ms(self, row: int | np.ndarray) -> int | np.ndarray:
        """Open time of a row's candle, in ms since the epoch."""
        return (self.first_day + row) * self.step_ms

    @cached_property
    def has(self) -> np.ndarray:
        """True where a real candle exists."""
        return ~np.isnan(self.close)

    @cached_property
    def price(self) -> np.ndarray:
        """The close carried forward over days without a candle; NaN before the first one."""
        price = self.close.copy()
        # Row by row: NumPy's accumulations down axis 0 walk a C-ordered panel column by column, 5x slower.
        for row in range(1, len(price)):
            np.copyto(price[row], price[row - 1], where=~self.has[row])
        return price

    @cached_property
    def price0(self) -> np.ndarray:
        """price with 0 where there is none: a zero holding times it stays zero (NaN * 0 would not)."""
        return np.where(np.isnan(self.price), 0.0, self.price)

    @cached_property
    def volume_mean(self) -> np.ndarray:
        """Mean daily quote volume at each row's close, as the live filter reads it: over the days with candles
        among the last VOLUME_DAYS UTC days closed by then (0 if none). On daily candles: t-6 ... t."""
        has = self.has
        if self.per_day == 1:
            return _mean_over_days(self.quote_volume, has)
        qv = np.where(has, self.quote_volume, 0.0)
        # Hours grouped into their UTC days (padded to whole days), then each row reads the days closed at its close.
        pad = self.first_day % self.per_day
        days = -(-(pad + self.days) // self.per_day)
        grouped = np.zeros((days * self.per_day, qv.shape[1]))
        grouped[pad:pad + self.days] = qv
        seen = np.zeros(grouped.shape, dtype=bool)
        seen[pad:pad + self.days] = has
        shape = (days, self.per_day, qv.shape[1])
        daily = _mean_over_days(grouped.reshape(shape).sum(axis=1), np.asarray(seen.reshape(shape).any(axis=1)))
        closed = (pad + np.arange(self.days) + 1) // self.per_day - 1  # the last UTC day closed at each row's close
        return np.where((closed >= 0)[:, None], daily[np.maximum(closed, 0)], 0.0)

    def memo(self, key: Hashable, make: Callable[[], T]) -> T:
        """make()'s result for the key (an array or a tuple of fresh arrays), made once for this panel and made
        read-only, as runs share it. Past MEMO_PANELS close-sized arrays the least recently used results go (the
        newest stays), so a session trying many options holds a bounded few."""
        made = self._memo.get(key)
        return self.keep(key, make() if made is None else made)

    def recall(self, key: Hashable) -> Any:
        """What was kept for the key, or None (it may have gone to make room)."""
        return self._memo.get(key)

    def keep(self, key: Hashable, made: T) -> T:
        """Keep `made` for the key (replacing what was kept), read-only, as the most recently used."""
        arrays: tuple[np.ndarray, ...] = made if isinstance(made, tuple) else (made,)  # type: ignore[assignment]
        for a in arrays:
            a.flags.writeable = False
        self._memo.pop(key, None)
        self._memo[key] = made  # last: the most recently used
        while len(self._memo) > 1 and self.memo_bytes() > MEMO_PANELS * self.close.nbytes:
            del self._memo[next(iter(self._memo))]
        return made

    def forget(self) -> None:
        """Drop everything kept for this panel (a benchmark's first run on a panel)."""
        self._memo.clear()

    def memo_bytes(self) -> int:
        return sum(a.nbytes for made in self._memo.values() for a in (made if isinstance(made, tuple) else (made,)))

    def warm(self) -> Panel:
        """Compute the derived arrays now (before forking workers, so they share them)."""
        for name in ("has", "price", "price0", "volume_mean"):
            getattr(self, name)
        return self


def _mean_over_days(volume: np.ndarray, has: np.ndarray) -> np.ndarray:
    """Per day row, the mean of the volumes of the days with candles among the last VOLUME_DAYS (0 if none).

    A block of rows at a time (with the days before it its windows reach): a whole panel's passes go to memory,
    a block's stay in cache (5x on the 3,000 days × 620 symbols of the whole history)."""
    out = np.empty(volume.shape)
    for start in range(0, len(volume), BLOCK_ROWS):
        lo, stop = max(start - VOLUME_DAYS + 1, 0), start + BLOCK_ROWS
        seen = has[lo:stop]
        sums = _rolling_sum(np.where(seen, volume[lo:stop], 0.0), VOLUME_DAYS)
        counts = _rolling_sum(seen.astype(np.uint8), VOLUME_DAYS)
        # No candle in a window: its sum is 0 (a divide with `where=` is 5x slower).
        np.divide(sums[start - lo:], np.maximum(counts[start - lo:], 1), out=out[start:stop])
    return out


def _rolling_sum(a: np.ndarray, window: int) -> np.ndarray:
    """Per row, the sum of the last `window` rows (fewer at the start), oldest first as a plain loop adds them.

    Shifted adds rather than differences of a cumulative sum: exact to the loop, and NumPy's cumsum down axis 0
    of a C-ordered panel is slow."""
    out = np.zeros_like(a)
    for back in range(min(window, len(a)) - 1, -1, -1):
        out[back:] += a[:len(a) - back]
    return out


def build_panel(symbols: np.ndarray, day: np.ndarray, open_: np.ndarray, close: np.ndarray,
                quote_volume: np.ndarray, listed: dict[str, int] | None = None, step_ms: int = DAY_MS,
                high: np.ndarray | None = None, low: np.ndarray | None = None,
                names: np.ndarray | list[str] | None = None) -> Panel:
    """A Panel from one row per candle (symbol, candle number, open, close, quote volume, and optionally high
    and low); later rows win.

    A candle's number is its open time / step_ms (the day number on daily candles), as is `listed`.
    With `names` (distinct), `symbols` holds each row's index into them instead of a name: sorting a name
    per candle is most of the build's time and memory on millions of candles."""
    if names is None:
        names, col = np.unique(np.asarray(symbols).astype(str), return_inverse=True)
    else:
        names, col = _coded_columns(np.asarray(names).astype(str), np.asarray(symbols))
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
    return Panel(first, tuple(names.tolist()), arrays[0], arrays[1], arrays[2], seen, step_ms, *arrays[3:])


def _coded_columns(names: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The names some row uses, sorted, and each row's column among them: as np.unique over the rows' names."""
    used = np.flatnonzero(np.bincount(codes, minlength=len(names)))
    order = used[np.argsort(names[used], kind="stable")]
    column = np.empty(len(names), dtype=np.int64)
    column[order] = np.arange(len(order))
    return names[order], column[codes]
