"""Which reader a candle file needs: a Binance dump (12 unnamed columns, kline_files.py) or a long CSV with a
header (kline_long.py). Apart from both, so that each reader builds on the shared pieces of kline_files.py
without the two importing each other.
"""
from __future__ import annotations

import itertools
from contextlib import closing
from pathlib import Path
from typing import Iterable

from .kline_files import (AMOUNTS, VISION_NAME, CandleColumns, blocks, open_bytes, open_text, read_ahead,
                          read_vision)
from .kline_long import read_long

BYTE_BLOCK = 1 << 18  # bytes parsed at a time: small enough that each pass over them stays in the CPU's cache


def read_candles(path: Path, interval: str | None = None, fields: Iterable[str] = AMOUNTS,
                 written: bool = False) -> CandleColumns:
    """A data.binance.vision dump (12 unnamed columns, named like BTCUSDT-1d-2024-01.zip) or a long CSV.

    The interval is read from the spacing of the open times (see candle_spacing); `interval`, or else a dump's
    name, is a claim that spacing must match. Only a file where no symbol has two rows falls back to it (or 1d).
    `written` (an import) keeps the amounts as written from the bytes read, where it can (see read_long).
    """
    raw = open_bytes(path)
    if raw is not None:
        with raw, closing(read_ahead(blocks(raw, BYTE_BLOCK))) as parts:
            head = next(parts, b"\n")
            first, _, body = head.partition(b"\n")
            if b"\r" not in head and len(first.split(b",")) != 12:  # a long CSV with plain newlines: as bytes
                claim = (interval, "--interval") if interval else None
                return read_long(path, path.name, first.decode(), itertools.chain([body], parts), claim,
                                 tuple(fields), written)
    return _read_text(path, interval, tuple(fields))


def _read_text(path: Path, interval: str | None, wanted: tuple[str, ...]) -> CandleColumns:
    """A dump, or a file whose lines end in carriage returns, read as text (universal newlines)."""
    f, name = open_text(path)
    with f:
        parts = blocks(f)
        head = next(parts, "\n")
        first, _, body = head.partition("\n")
        cells = first.split(",")
        if len(cells) != 12:
            claim = (interval, "--interval") if interval else None
            return read_long(path, name, first, itertools.chain([body], parts), claim, wanted)
        vision = VISION_NAME.search(path.name)
        if not vision:
            raise ValueError(f"{name}: a Binance dump's name must give its symbol and interval, "
                             "like BTCUSDT-1d-2024-01.zip")
        headed = not cells[0].strip().isdigit()  # some newer dumps carry a header row
        rows, line = (body + "".join(parts), 2) if headed else (head + "".join(parts), 1)
        claim = (interval, "--interval") if interval else (vision.group(2), "its name")
        return read_vision(name, rows, line, vision.group(1), claim, wanted)
