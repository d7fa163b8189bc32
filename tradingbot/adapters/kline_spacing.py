"""A candle file's interval, read from the spacing of its open times.

Binance writes a candle for every interval a market trades, so the smallest step between two open times of
one symbol is the file's interval; larger steps are halts. A file's name (or --interval) is only a claim: an
hourly file named or flagged as daily would otherwise lose 23 rows in 24 as "off the daily grid" and store the
rest as daily candles, a silently wrong history. So a mismatch, a step that is no stored interval, or a file
whose symbols (or one symbol's rows) change interval is refused as a whole, naming the file and a line.
"""
from __future__ import annotations

import numpy as np

from .kline_store import INTERVAL_MS

Claim = tuple[str, str]  # (interval, who says so: "its name" or "--interval")
HOUR_MS = INTERVAL_MS["1h"]
NAMES = {ms: name for name, ms in INTERVAL_MS.items()}


# Binance's weekly candles open on Mondays 00:00 UTC; the epoch was a Thursday, so their grid is shifted 4 days.
GRID_OFFSET_MS = {"1w": 4 * INTERVAL_MS["1d"]}


def off_grid(open_time: np.ndarray, interval: str) -> np.ndarray:
    """True where an open time is not where Binance opens a candle of the interval."""
    return (open_time - GRID_OFFSET_MS.get(interval, 0)) % INTERVAL_MS[interval] != 0


def duration_text(ms: int) -> str:
    """A step between open times as a person writes it: 1h, 4h, 1d, 3d, 36h."""
    if ms in NAMES:
        return NAMES[ms]
    if ms % INTERVAL_MS["1d"] == 0:
        return f"{ms // INTERVAL_MS['1d']}d"
    return f"{ms // HOUR_MS}h" if ms % HOUR_MS == 0 else f"{ms / 60_000:g} minutes"


def candle_spacing(name: str, names: np.ndarray, code: np.ndarray, open_time: np.ndarray, lines: np.ndarray,
                   usable: np.ndarray, claim: Claim | None) -> str:
    """The file's interval: its open times' spacing, which a claim must match; the claim (or 1d) when no
    symbol has two rows to measure. Raises ValueError naming the file and line of a refusal.

    Rows off the hourly grid are left to the grid check (one bad row each), not taken as a finer interval.
    """
    rows = np.flatnonzero(usable & (open_time % HOUR_MS == 0))
    codes = code[rows]  # each row's symbol as its place in names
    step = np.diff(open_time[rows])
    code_step = np.diff(codes)
    if (code_step < 0).any() or ((code_step == 0) & (step <= 0)).any():  # not already by symbol, then time
        order = np.lexsort((open_time[rows], codes))
        rows, codes = rows[order], codes[order]
        step = np.diff(open_time[rows])
    measured = (np.diff(codes) == 0) & (step > 0)
    if not measured.any():
        return claim[0] if claim else "1d"
    finest = np.full(codes.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(finest, codes[1:][measured], step[measured])
    spacing = int(finest.min())
    first = int(np.flatnonzero(measured & (step == spacing))[0])
    at = f"{name}:{lines[rows[first + 1]]}"
    if spacing not in NAMES:
        raise ValueError(f"{at}: open times {duration_text(spacing)} apart, not a candle interval the cache "
                         f"stores ({', '.join(INTERVAL_MS)})")
    if claim and claim[0] != NAMES[spacing]:
        raise ValueError(f"{at}: open times {NAMES[spacing]} apart, but {claim[1]} says {claim[0]}: refused")
    _refuse_mixed(name, names, code, lines, rows, codes, step, measured, finest, spacing)
    return NAMES[spacing]


def _refuse_mixed(name: str, names: np.ndarray, code: np.ndarray, lines: np.ndarray, rows: np.ndarray,
                  codes: np.ndarray, step: np.ndarray, measured: np.ndarray, finest: np.ndarray, spacing: int) -> None:
    """Refuse a symbol spaced coarser than the file, or one whose rows turn coarser and stay so.

    Two steps in a row of the same coarser interval of a day or more read as a change of interval, not a
    halt: a halt is one step of whatever length, while an illiquid market's hourly candles may well skip
    a few hours again and again (Binance writes no candle for an hour without trades).
    """
    measured_at = np.flatnonzero(measured)
    coarse = [c for c in np.unique(codes[1:][measured]) if finest[c] != spacing]
    if coarse:
        k = int(measured_at[np.isin(codes[1:][measured_at], coarse)][0])
        row, own = rows[k + 1], duration_text(int(finest[codes[k + 1]]))
        raise ValueError(f"{name}:{lines[row]}: {names[code[row]]}'s open times are {own} apart, other symbols' "
                         f"{NAMES[spacing]}: a file holds one interval")
    other = measured & (step != spacing) & (step >= INTERVAL_MS["1d"]) & np.isin(step, list(NAMES))
    turned = other[1:] & other[:-1] & (step[1:] == step[:-1])
    if turned.any():
        k = int(np.flatnonzero(turned)[0])
        row = rows[k + 1]
        raise ValueError(f"{name}:{lines[row]}: {names[code[row]]}'s open times turn {NAMES[int(step[k])]} apart "
                         f"here, after {NAMES[spacing]}: a file holds one interval")
