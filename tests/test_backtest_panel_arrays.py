"""A panel's derived arrays (carried prices, the volume filter's mean) against plain loops over their definitions,
across the blocks of rows they are computed in."""
from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings, strategies as st

from tradingbot.core.backtest.panel import BLOCK_ROWS, DAY_MS, VOLUME_DAYS, Panel


@st.composite
def panels(draw) -> Panel:
    """Up to a few symbols over up to three blocks of rows, with runs of missing candles, on 1d, 4h or 1h."""
    n, rows = draw(st.integers(1, 4)), draw(st.integers(1, 3 * BLOCK_ROWS + 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    close = 10 ** rng.uniform(-3, 3, size=(rows, n))
    close[rng.random((rows, n)) < draw(st.sampled_from([0.0, 0.2, 0.7]))] = np.nan
    close[: rng.integers(0, rows + 1), 0] = np.nan  # a late listing
    volume = np.where(np.isnan(close), np.nan, 10 ** rng.uniform(2, 9, size=(rows, n)))
    step = draw(st.sampled_from([DAY_MS, DAY_MS // 6, DAY_MS // 24]))
    first = 19_000 * (DAY_MS // step) + draw(st.integers(0, 23))
    return Panel(first, tuple(f"S{i}USDT" for i in range(n)), close, close, volume, np.full(n, first), step)


def carried(close: list[list[float]]) -> list[list[float]]:
    last, out = [math.nan] * len(close[0]), []
    for row in close:
        last = [v if v == v else was for v, was in zip(row, last)]
        out.append(last)
    return out


def mean_volume(panel: Panel) -> list[list[float]]:
    """Each row's mean daily quote volume over the days with candles among the VOLUME_DAYS UTC days closed at its
    close, summed oldest first, as the live filter reads it."""
    per_day, volume = panel.per_day, panel.quote_volume.tolist()
    days: dict[tuple[int, int], list[float]] = {}
    for r, row in enumerate(volume):
        for c, v in enumerate(row):
            if v == v:
                days.setdefault(((panel.first_day + r) // per_day, c), []).append(v)
    out = []
    for r in range(panel.days):
        closed = (panel.first_day + r + 1) // per_day - 1
        week = [[sum(days[d, c]) for d in range(closed - VOLUME_DAYS + 1, closed + 1) if (d, c) in days]
                for c in range(len(panel.symbols))]
        out.append([sum(w) / len(w) if w else 0.0 for w in week])
    return out


@settings(max_examples=60, deadline=None)
@given(panel=panels())
def test_the_derived_arrays_are_their_plain_loops(panel):
    want = carried(panel.close.tolist())
    assert np.array_equal(panel.price, np.array(want), equal_nan=True)
    assert panel.price0.tolist() == [[0.0 if v != v else v for v in row] for row in want]
    got, want = panel.volume_mean, np.array(mean_volume(panel))
    if panel.per_day == 1:  # day by day, the same additions in the same order
        assert got.tolist() == want.tolist()
    else:  # a day's hours are summed by NumPy, which may pair them otherwise
        assert np.allclose(got, want, rtol=1e-12, atol=0)
