"""Which reader a candle file needs: a Binance dump (12 unnamed columns, kline_files.py) or a long CSV with a
header (kline_long.py). Apart from both, so that each reader builds on the shared pieces of kline_files.py
without the two importing each other.
"""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import Iterable

from .kline_files import AMOUNTS, VISION_NAME, CandleColumns, blocks, open_text, read_vision
from .kline_long import read_long


def read_candles(path: Path, interval: str | None = None, fields: Iterable[str] = AMOUNTS) -> CandleColumns:
    """A data.binance.vision dump (12 unnamed columns, named like BTCUSDT-1d-2024-01.zip) or a long CSV.

    The interval is read from the spacing of the open times (see candle_spacing); `interval`, or else a dump's
    name, is a claim that spacing must match. Only a file where no symbol has two rows falls back to it (or 1d).
    """
    f, name = open_text(path)
    with f:
        parts = blocks(f)
        head = next(parts, "\n")
        first, _, body = head.partition("\n")
        cells = first.split(",")
        wanted = tuple(fields)
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
