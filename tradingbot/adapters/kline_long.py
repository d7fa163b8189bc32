"""Long candle CSVs (a header row, one row per candle, any number of symbols) read a block at a time.

Each block is parsed into typed columns (int64 open times, float64 amounts, the symbol as text only until it
becomes an int32 code) and its text dropped before the next block is read, so memory follows the candles, not
the file: from its bytes where every row is plain (kline_bytes.py), else by NumPy's C reader. A block NumPy
refuses (a row with a missing field, an amount that is no number, a date instead of milliseconds) is read
again by the slower path of kline_files that finds each bad row and names its line. An import stores the
amounts as written: where every block was parsed from its bytes, they come from those bytes (the file is read
once); else the file is read a second time, block by block, for them.
"""
from __future__ import annotations

import io
import itertools
from collections import Counter
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from .kline_files import (AMOUNTS, MICROS_FROM, PRICES, CandleColumns, Converted, blocks, check_claim,
                          checked_columns, convert_columns, open_text, row_flags, split_table)
from .kline_bytes import parse_block
from .kline_spacing import Claim

TEXT_CHARS = 40
TEXT = f"U{TEXT_CHARS}"  # symbols and flags as NumPy text while a block is parsed (longer ones take the slow path)


class _Codes(dict[str, int]):
    """Symbol -> number in order of first appearance: a block's symbols become int32 codes without sorting text."""

    def __missing__(self, key: str) -> int:
        self[key] = len(self)
        return self[key]


def read_long(path: Path, name: str, first: str, parts: Iterable[str] | Iterable[bytes], claim: Claim | None,
              wanted: tuple[str, ...], written: bool = False) -> CandleColumns:
    """A CSV with a header naming symbol, open_time (or open_time_ms), open, high, low, close, volume.

    Blocks of bytes are parsed from the bytes where every row is plain (kline_bytes.py); the others, and
    blocks of text, go through NumPy's text reader, or row by row where that refuses one. With `written`, the
    amounts as written are kept from the bytes while every block so far was plain (see CandleColumns.text)."""
    check_claim(name, claim)
    header = [h.strip().lower() for h in first.split(",")]
    time_key = "open_time_ms" if "open_time_ms" in header else "open_time"
    missing = [k for k in ("symbol", time_key, *PRICES, "volume") if k not in header]
    if missing:
        raise ValueError(f"{name}: not a candle file: no column {', '.join(missing)} in line 1")
    codes, blocks_read, line = _Codes(), [], 2
    skipped: Counter[str] = Counter()
    flagged: Counter[str] = Counter()
    kept: list[dict[str, np.ndarray]] | None = [] if written else None  # each block's amounts as written
    for part in parts:
        fast = parse_block(header, time_key, wanted, part, kept is not None) if isinstance(part, bytes) else None
        if fast is not None:  # every line a plain row
            runs, heads, flags, count, converted, text_of = fast
            if kept is not None:
                kept.append(text_of)
            code = np.repeat(np.array([codes[s] for s in runs], dtype=np.int32), np.diff(heads, append=count))
            lines, bad = np.arange(count, dtype=np.int64) + line, []
        else:
            text, kept = _text(part), None  # this block's amounts would need the file read again
            count = text.count("\n")
            symbols, lines, bad, flags, converted = (_parsed(header, time_key, wanted, text, line, count)
                                                     or _split(name, header, time_key, wanted, text, line))
            code = np.fromiter(map(codes.__getitem__, symbols), np.int32, len(lines))
        line += count
        usable, skip, flag = row_flags(flags, len(lines))
        skipped, flagged = skipped + skip, flagged + flag
        blocks_read.append((code, lines, bad, usable, converted))
    names, code, lines, bad, usable, converted = _joined(codes, blocks_read)
    del blocks_read  # the joined columns replace the blocks' own
    as_written = _read_once(kept) if kept is not None else lambda: _amount_text(path, header, len(usable))
    result = checked_columns(name, claim, (names, code), converted, lines, bad, usable, as_written)
    result.skipped, result.flagged = skipped, flagged
    return result


def _text(part: str | bytes) -> str:
    """A block as text with universal newlines (as the text reader would have read it)."""
    return part if isinstance(part, str) else io.StringIO(part.decode(), newline=None).read()


def _parsed(header: list[str], time_key: str, wanted: tuple[str, ...], part: str, line: int,
            count: int) -> tuple | None:
    """A block through NumPy's C reader with each column's dtype given; None if any row does not parse."""
    kinds = {"symbol": TEXT, "flags": TEXT, "open_time_ms": np.int64, **{k: np.float64 for k in wanted}}
    if time_key != "open_time_ms":
        return None  # dates: the slow path parses them (and says which do not)
    if not _all_of_width(part, len(header)):
        return None  # NumPy would ignore a row's extra fields where the slow path reports the row
    use = [i for i, h in enumerate(header) if h in kinds]
    dtype = np.dtype([(header[i], kinds[header[i]]) for i in use])
    try:
        table = np.loadtxt(io.StringIO(part), delimiter=",", dtype=dtype, usecols=use, comments=None, ndmin=1)
    except ValueError:
        return None
    full = [np.ascontiguousarray(table[k]).view(np.uint32)[TEXT_CHARS - 1::TEXT_CHARS] for k in ("symbol", "flags")
            if k in header]  # the last character of each: not 0 where a text may have been cut short
    if len(table) != count or any(f.any() for f in full):
        return None  # a blank line (the rows' lines would be off), or a text too long for TEXT
    ms = table["open_time_ms"]
    converted: Converted = (np.where(ms >= MICROS_FROM, ms // 1000, ms), np.zeros(count, dtype=bool),
                 {k: np.ascontiguousarray(table[k]) for k in wanted if k in header}, {})
    flags = table["flags"] if "flags" in header else None
    return table["symbol"].tolist(), np.arange(count, dtype=np.int64) + line, [], flags, converted


def _all_of_width(part: str, width: int) -> bool:
    """Whether every line of the block has exactly `width` fields (counted in C, not line by line)."""
    raw = np.frombuffer(part.encode(), dtype=np.uint8)
    commas = np.concatenate([[0], np.cumsum(raw == ord(","))])
    ends = np.flatnonzero(raw == ord("\n"))
    return bool((np.diff(commas[np.concatenate([[0], ends + 1])]) == width - 1).all())


def _split(name: str, header: list[str], time_key: str, wanted: tuple[str, ...], part: str, line: int) -> tuple:
    """A block split as text: slower, but every row that does not parse is named with its line."""
    columns, lines, bad = split_table(name, part, len(header), line)
    col = dict(zip(header, columns))
    usable = row_flags(col.get("flags"), len(lines))[0]
    text = {k: col[k] for k in AMOUNTS if k in col}
    return col["symbol"], lines, bad, col.get("flags"), convert_columns(col[time_key], text, wanted, usable)


def _joined(codes: _Codes, parts: list[tuple]) -> tuple:
    """The blocks' columns end to end; symbols as sorted names and a code per row."""
    raw = list(codes)
    names = sorted({s.strip().upper() for s in raw})
    at = {s: i for i, s in enumerate(names)}
    remap = np.array([at[s.strip().upper()] for s in raw] or [0], dtype=np.int32)
    code = remap[np.concatenate([p[0] for p in parts])] if parts else np.zeros(0, dtype=np.int32)
    offsets = np.cumsum([0] + [len(p[1]) for p in parts])
    reasons = {i + int(o): r for p, o in zip(parts, offsets) for i, r in p[4][3].items()}
    keys = parts[0][4][2].keys() if parts else ()
    converted = (_cat([p[4][0] for p in parts], np.int64), _cat([p[4][1] for p in parts], bool),
                 {k: _cat([p[4][2][k] for p in parts], np.float64) for k in keys}, reasons)
    return (np.array(names, dtype=str), code, _cat([p[1] for p in parts], np.int64), [b for p in parts for b in p[2]],
            _cat([p[3] for p in parts], bool), converted)


def _cat(arrays: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(arrays) if arrays else np.zeros(0, dtype=dtype)


def _read_once(kept: list[dict[str, np.ndarray]]) -> Callable[[], Iterator[dict[str, list[str]]]]:
    """The amounts as written, from the blocks' bytes kept while parsing, each block let go of once given out
    (an import reads them once, while it stores the rows; a second reading is refused, not silently empty)."""
    given = False

    def text() -> Iterator[dict[str, list[str]]]:
        nonlocal given
        if given:
            raise RuntimeError("the amounts as written were read once already")
        given = True
        while kept:
            block = kept.pop(0)
            # joined and split as one text: ~2x faster than decoding each field (all ASCII, no newline inside)
            yield {k: b"\n".join(v.tolist()).decode().split("\n") for k, v in block.items()}

    return text


def _amount_text(path: Path, header: list[str], rows: int) -> Iterator[dict[str, list[str]]]:
    """A long file's amount columns as written, read again block by block (an import stores the text)."""
    f, name = open_text(path)
    with f:
        parts = blocks(f)
        head = next(parts, "\n").partition("\n")[2]
        read = 0
        for part in itertools.chain([head], parts):
            columns, lines, _ = split_table(name, part, len(header), 0)
            read += len(lines)
            col = dict(zip(header, columns))
            yield {k: col[k] for k in AMOUNTS if k in col}
    if read != rows:
        raise ValueError(f"{name} changed while it was imported: import it again")
