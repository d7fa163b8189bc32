"""A block of a long candle CSV parsed straight from its bytes, without decoding the text.

NumPy's text reader (kline_long._parsed) needs the block decoded to str, a pass counting each line's fields,
and the symbols as fixed-width text; most of a `--data` run went there. Here the separators are found once
in the raw bytes, each wanted column is gathered into a small fixed-width byte matrix and converted in C
(floats correctly rounded, as Python's float() and NumPy's reader do; open times as digits), and a symbol is
decoded once per run of equal symbols (the shared file is grouped by symbol), not once per row.

It accepts only plain rows: every line with exactly the header's fields, no carriage return, open times of
digits only, amounts of digits, sign, point and exponent only. Anything else gives None, and the caller
reads that block through the text path, which reports bad rows by line, so what a file yields never depends
on which path read it (tests compare the two).

An import stores the amounts as written: asked for them, a block also keeps each amount column's fields as the
same fixed-width bytes its floats were converted from (~12 bytes a field), so the file is read once.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .kline_files import AMOUNTS, MICROS_FROM, Converted

NUMBER_BYTES = np.zeros(256, dtype=bool)
NUMBER_BYTES[list(b"0123456789.eE+-\0")] = True  # \0 pads a short field in its fixed-width matrix
MAX_DIGITS = 18  # an int64 open time: longer takes the text path
# A block's columns: (symbols of each run, each run's first row), the flags or None, row count, Converted,
# the amounts as written (bytes arrays; only when asked for)
Parsed = tuple[list[str], np.ndarray, np.ndarray | None, int, Converted, dict[str, np.ndarray]]


def parse_block(header: list[str], time_key: str, wanted: tuple[str, ...], part: bytes,
                written: bool = False) -> Parsed | None:
    """The block's columns, or None when any row is not plain (the text path then reads it). With `written`,
    also every amount column's fields as written (a NUL byte, which would end such a field early, takes the
    text path)."""
    if time_key != "open_time_ms" or b"\r" in part or (written and b"\0" in part):
        return None
    raw = np.frombuffer(part, dtype=np.uint8)
    bounds = _fields(raw, len(header))
    if bounds is None:
        return None
    starts, ends = bounds
    field = {name: (starts[:, j], ends[:, j]) for j, name in enumerate(header)}
    if (ends[:, header.index("symbol")] == starts[:, header.index("symbol")]).any():
        return None  # an empty symbol: the text path says which line
    open_time = _digits(raw, *field[time_key])
    if open_time is None:
        return None
    values, text = {}, {}
    for key in (k for k in (AMOUNTS if written else wanted) if k in field):
        column = _written(raw, *field[key])
        if column is None:
            return None
        if written:
            text[key] = column
        if key in wanted:
            try:
                values[key] = column.astype(np.float64)
            except ValueError:  # "1e", "+", "1-2": the text path names the row
                return None
    names, heads = _runs(part, raw, *field["symbol"])
    flags = _flags(part, *field["flags"]) if "flags" in field else None
    rows = len(starts)
    converted: Converted = (np.where(open_time >= MICROS_FROM, open_time // 1000, open_time),
                            np.zeros(rows, dtype=bool), values, {})
    return names, heads, flags, rows, converted, text


def _fields(raw: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Each row's field starts and ends (rows × width), or None unless every line has exactly `width` fields."""
    newline = raw == ord("\n")
    stops = np.flatnonzero(newline | (raw == ord(",")))
    rows = len(stops) // width
    if not rows or len(stops) != rows * width:
        return None
    ends = stops.reshape(rows, width)
    if ends[-1, -1] != len(raw) - 1 or not newline[ends[:, -1]].all() or newline[ends[:, :-1]].any():
        return None
    starts = np.empty_like(ends)
    starts[0, 0] = 0
    starts[1:, 0] = ends[:-1, -1] + 1
    starts[:, 1:] = ends[:, :-1] + 1
    return starts, ends


def _matrix(raw: np.ndarray, start: np.ndarray, end: np.ndarray, right: bool = False) -> np.ndarray:
    """The fields as rows of a byte matrix as wide as the longest, padded with 0 (on the left with `right`)."""
    width = max(int((end - start).max()), 1)
    at = (end - width if right else start)[:, None] + np.arange(width)
    inside = (at >= start[:, None]) if right else (at < end[:, None])
    return np.take(raw, at, mode="clip") * inside  # clipped places are outside the field, so zeroed


def _digits(raw: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray | None:
    """Fields of 1 to 18 digits as int64, or None."""
    length = end - start
    if (length < 1).any() or (length > MAX_DIGITS).any():
        return None
    matrix = _matrix(raw, start, end, right=True)
    digit = matrix.astype(np.int64) - ord("0")
    digit[matrix == 0] = 0
    if ((digit < 0) | (digit > 9))[matrix != 0].any():
        return None
    return digit @ 10 ** np.arange(matrix.shape[1] - 1, -1, -1, dtype=np.int64)


def _written(raw: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray | None:
    """Fields of only the bytes of plain decimal numbers, as a fixed-width bytes array; None otherwise. NumPy
    converts it to float64 correctly rounded."""
    if (end == start).any():
        return None
    matrix = _matrix(raw, start, end)
    if not NUMBER_BYTES[matrix].all():
        return None
    return matrix.view(f"S{matrix.shape[1]}").ravel()


def _runs(part: bytes, raw: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[list[str], np.ndarray]:
    """The symbol of each run of rows with the same symbol, and each run's first row."""
    matrix = _matrix(raw, start, end)
    heads = np.flatnonzero(np.concatenate([[True], (matrix[1:] != matrix[:-1]).any(axis=1)]))
    decode: Callable[[int, int], str] = lambda s, e: part[s:e].decode()
    return list(map(decode, start[heads].tolist(), end[heads].tolist())), heads


def _flags(part: bytes, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Each row's flag as text ("" for most)."""
    some = np.flatnonzero(end > start)
    texts = [part[s:e].decode() for s, e in zip(start[some].tolist(), end[some].tolist())]
    flags = np.zeros(len(start), dtype=f"U{max(map(len, texts), default=1)}")
    flags[some] = texts
    return flags
