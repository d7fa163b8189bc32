"""The synthetic market's intraday paths: each symbol-day a Brownian bridge on a 5-minute grid between the day's
open and close, and its hourly bars, drawn on first use and kept.

A day depends only on (seed, symbol, day): it has its own random stream, so any instant has one answer whatever
was asked before. Days are drawn many at once, a row each (numpy's per-call cost, about as much as the arithmetic
of a whole day, is then paid once a pass): the arithmetic is the same element by element, so a day drawn with
others equals that day drawn alone.
"""
from __future__ import annotations

import math
from typing import Iterable, NamedTuple, Sequence

import numpy as np

from .rng_streams import normal_rows

DAY_MS, KNOT_MS = 86_400_000, 300_000
KNOTS = DAY_MS // KNOT_MS  # 288 five-minute steps a day
UNIT = 10**8  # prices and quote volumes are held as integers of 1e-8, as Binance quotes them
MAX_PASS = 512  # symbol-days drawn in one pass at most (a pass holds ~2.5 KiB of floats per day)
_FRAC = np.arange(1, KNOTS + 1) / KNOTS
_HOUR_SHAPE = 1 + 0.35 * np.cos(2 * np.pi * (np.arange(24) - 15) / 24)  # busiest around the US open


def open_units(level: np.ndarray, d: int, i: int) -> int:
    """Close of day d - 1 (open of day d) in 1e-8 units; both neighbouring days use this one value."""
    return max(round(math.exp(level[d, i]) * UNIT), 1)


def price_in(day: Day, ms: int) -> int:
    """The price `ms` into the day."""
    j, r = divmod(ms, KNOT_MS)
    return between(int(day.knots[j]), int(day.knots[j + 1]), r)


def between(a: int, b: int, r: int) -> int:
    """The price r ms into a 5-minute step from knot a to knot b, interpolated linearly."""
    return a + (b - a) * r // KNOT_MS


class Day(NamedTuple):
    """One symbol-day in integer units: 289 five-minute knot prices and 24 hourly bars."""

    knots: np.ndarray
    bars: np.ndarray  # rows: open, high, low, close, base volume (in step-size units), quote volume
    whole: tuple[int, int, int, int, int, int]  # the same over the whole day (volumes within int64: 4e18 at most)


class SymbolDays:
    """Symbol-days drawn so far (the least recently used dropped first), and drawing the missing ones."""

    def __init__(self, seed: int, level: np.ndarray, scale: Sequence[float], key: Sequence[int],
                 mean_volume: Sequence[float], vdec: Sequence[int], size: int):
        self._seed, self._level, self.size = seed, level, size
        self._scale, self._key, self._mean_volume, self._vdec = scale, key, mean_volume, vdec
        self._kept: dict[tuple[int, int], Day] = {}
        self.passes = self.drawn = 0  # how many passes drew how many symbol-days (counted, for tests)

    def __contains__(self, pair: tuple[int, int]) -> bool:
        return pair in self._kept

    def day(self, i: int, d: int, through: int = -1) -> Day:
        """Symbol i's day d; when missing, drawn in one pass with those of days d + 1 .. through not kept yet."""
        day = self._kept.pop((i, d), None)
        if day is None:
            later = (e for e in range(d + 1, min(through, d + MAX_PASS - 1) + 1) if (i, e) not in self._kept)
            day = self.draw([(i, d), *((i, e) for e in later)])[0]
        self._kept[i, d] = day  # now the most recently used
        return day

    def draw(self, pairs: Sequence[tuple[int, int]]) -> list[Day]:
        """Draw these (symbol, day) pairs, a pass per MAX_PASS of them, keep them and return them in order."""
        out: list[Day] = []
        for start in range(0, len(pairs), MAX_PASS):
            chunk = pairs[start : start + MAX_PASS]
            made = self._draw(chunk)
            for pair, day in zip(chunk, made):
                self._kept[pair] = day
            out += made
        while len(self._kept) > self.size:
            del self._kept[next(iter(self._kept))]
        return out

    def missing(self, pairs: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
        return [p for p in pairs if p not in self._kept]

    def _noise(self, keys_days: Sequence[tuple[int, int]]) -> np.ndarray:
        """Normals for each (symbol, day): the 5-minute bridge, 24 hourly volume weights, the day's volume."""
        return normal_rows([(self._seed, 4, key, d) for key, d in keys_days], KNOTS + 25)

    def _draw(self, pairs: Sequence[tuple[int, int]]) -> list[Day]:
        """A row per (symbol, day): the bridge between the day's open and close, then its hourly bars."""
        if not all(0 <= d < len(self._level) - 1 for _, d in pairs):
            raise ValueError(f"the synthetic market covers {len(self._level) - 1} days from its epoch only")
        self.passes, self.drawn = self.passes + 1, self.drawn + len(pairs)
        own = self._noise(pairs)
        # Tokens move with their driver intraday: their bridge takes the driver's normals.
        driven = [j for j, (i, _) in enumerate(pairs) if self._key[i] != i]
        z = own
        if driven:
            z = own.copy()
            z[driven] = self._noise([(self._key[pairs[j][0]], pairs[j][1]) for j in driven])
        symbols, days = [i for i, _ in pairs], [d for _, d in pairs]
        scale = [self._scale[i] for i in symbols]
        w = np.cumsum(z[:, :KNOTS], axis=1) * np.array([[s / math.sqrt(KNOTS)] for s in scale])
        opening, closing = self._level[days, symbols], self._level[[d + 1 for d in days], symbols]
        bridge = opening[:, None] + (closing - opening)[:, None] * _FRAC + w - _FRAC * w[:, -1:]
        knots = np.empty((len(pairs), KNOTS + 1), np.int64)
        knots[:, 1:] = np.maximum(np.rint(np.exp(bridge) * UNIT), 1)
        knots[:, 0] = [open_units(self._level, d, i) for i, d in pairs]  # so consecutive days join exactly
        knots[:, KNOTS] = [open_units(self._level, d + 1, i) for i, d in pairs]
        grid = knots[:, :-1].reshape(len(pairs), 24, 12)
        o, c = grid[:, :, 0], knots[:, 12::12]
        h, l = np.maximum(grid.max(axis=2), c), np.minimum(grid.min(axis=2), c)  # noqa: E741
        volume = [[self._volume(i, row[-1], opening[j], closing[j], scale[j])]
                  for j, (row, i) in enumerate(zip(own, symbols))]
        weights = _HOUR_SHAPE * np.exp(0.5 * own[:, KNOTS:-1])
        qv = np.rint(np.array(volume) * weights / weights.sum(axis=1, keepdims=True) * UNIT).astype(np.int64)
        lots = np.array([[10 ** self._vdec[i]] for i in symbols], dtype=np.float64)
        bv = np.rint(qv / ((h + l + c) / 3) * lots).astype(np.int64)
        bars = np.stack([o, h, l, c, bv, qv], axis=1)
        whole = zip(o[:, 0].tolist(), h.max(axis=1).tolist(), l.min(axis=1).tolist(), c[:, -1].tolist(),
                    bv.sum(axis=1).tolist(), qv.sum(axis=1).tolist())
        return [Day(knots[j], bars[j], day) for j, day in enumerate(whole)]

    def _volume(self, i: int, shock: float, opening: float, closing: float, scale: float) -> float:
        """The day's quote volume: log-normal day to day and larger on big moves, as on a real exchange."""
        move = min(abs(closing - opening) / abs(scale), 5.0)
        return min(self._mean_volume[i] * math.exp(0.45 * shock - 0.1) * (0.5 + 0.6 * move), 4e10)
