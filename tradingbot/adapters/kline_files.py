"""Reading candle files: Binance public-data dumps (data.binance.vision) and long CSV files.

A fast path splits the whole text at once and converts columns in C; a file whose rows do not all
parse takes a slow path that finds the bad rows, so each is reported with its file and line
instead of being dropped silently.
"""
from __future__ import annotations

import gzip
import io
import itertools
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from .kline_spacing import Claim, candle_spacing, off_grid
from .kline_store import INTERVAL_MS

# data.binance.vision kline columns (no header): open_time, open, high, low, close, volume, close_time,
# quote_volume, count, taker_buy_base, taker_buy_quote, ignore.
VISION_COLUMNS = ("open_time", "open", "high", "low", "close", "volume", "close_time", "quote_volume")
VISION_NAME = re.compile(r"([A-Z0-9]+)-(\w+?)-\d{4}-\d{2}(?:-\d{2})?\.(?:zip|csv)$")
MICROS_FROM = 10**14  # ms timestamps are ~1.7e12; Binance's 2025+ dumps switched to µs (~1.7e15)
SKIPPED_FLAGS = {"partial_day": "an unfinished candle"}  # the shared data's flag for its last, partial day
PRICES = ("open", "high", "low", "close")
AMOUNTS = (*PRICES, "volume", "quote_volume")


@dataclass(frozen=True)
class BadRow:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass
class CandleColumns:
    """The usable candles of a file as columns: floats for arithmetic, the file's own text for the cache."""

    interval: str
    symbol: np.ndarray  # str
    open_time: np.ndarray  # int64 ms
    values: dict[str, np.ndarray]  # float64 columns that were asked for
    text: dict[str, list[str]]  # every amount column as written, over all rows read (see keep)
    keep: np.ndarray  # which of the rows read are usable
    bad: list[BadRow] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)  # flag -> rows left out on purpose
    flagged: Counter[str] = field(default_factory=Counter)  # flag -> rows kept unchanged

    def __len__(self) -> int:
        return len(self.open_time)

    def text_column(self, key: str) -> Iterable[str | None]:
        """One amount column as written, usable rows only (None throughout when the file lacks it)."""
        if key not in self.text:
            return itertools.repeat(None, len(self))
        return itertools.compress(self.text[key], self.keep.tolist())


def read_text(path: Path) -> tuple[str, str]:
    """The file's text and a name for messages; gzip and single-CSV ZIP archives are opened."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    elif raw[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            members = [n for n in z.namelist() if n.endswith(".csv")]
            if len(members) != 1:
                raise ValueError(f"{path.name}: expected one CSV inside the ZIP, found {len(members)}")
            return z.read(members[0]).decode(), f"{path.name}/{members[0]}"
    return raw.decode(), path.name


def read_candles(path: Path, interval: str | None = None, fields: Iterable[str] = AMOUNTS) -> CandleColumns:
    """A data.binance.vision dump (12 unnamed columns, named like BTCUSDT-1d-2024-01.zip) or a long CSV.

    The interval is read from the spacing of the open times (see candle_spacing); `interval`, or else a dump's
    name, is a claim that spacing must match. Only a file where no symbol has two rows falls back to it (or 1d).
    """
    text, name = read_text(path)
    text = text.replace("\r\n", "\n")
    text += "" if text.endswith("\n") else "\n"
    first, _, body = text.partition("\n")
    cells = first.split(",")
    wanted = tuple(fields)
    if len(cells) == 12:
        vision = VISION_NAME.search(path.name)
        if not vision:
            raise ValueError(f"{name}: a Binance dump's name must give its symbol and interval, "
                             "like BTCUSDT-1d-2024-01.zip")
        headed = not cells[0].strip().isdigit()  # some newer dumps carry a header row
        rows, line = (body, 2) if headed else (text, 1)
        claim = (interval, "--interval") if interval else (vision.group(2), "its name")
        return _vision(name, rows, line, vision.group(1), claim, wanted)
    return _long(name, first, body, (interval, "--interval") if interval else None, wanted)


def _table(name: str, body: str, width: int, first_line: int) -> tuple[list[list[str]], np.ndarray, list[BadRow]]:
    """Columns of the rows with `width` fields and their line numbers; rows of another width are reported."""
    count = body.count("\n")
    cells = body.replace("\n", ",").split(",")[:-1]
    if len(cells) == width * count:
        return [cells[i::width] for i in range(width)], np.arange(count) + first_line, []
    good, bad = [], []
    for i, row in enumerate(body.split("\n")[:-1]):
        n = row.count(",") + 1
        if n == width:
            good.append(i)
        elif row.strip():
            bad.append(BadRow(name, i + first_line, f"expected {width} fields, found {n}"))
    lines = body.split("\n")
    cells = ",".join(lines[i] for i in good).split(",") if good else []
    return [cells[i::width] for i in range(width)], np.array(good, dtype=np.int64) + first_line, bad


def _numbers(values: list[str], kind: type) -> tuple[np.ndarray, np.ndarray]:
    """(array, bad mask): fast when every value parses, else one by one to find those that do not."""
    dtype = np.float64 if kind is float else np.int64
    try:
        return np.fromiter(map(kind, values), dtype, count=len(values)), np.zeros(len(values), dtype=bool)
    except ValueError:
        out, bad = np.zeros(len(values), dtype=dtype), np.zeros(len(values), dtype=bool)
        for i, v in enumerate(values):
            try:
                out[i] = kind(v)
            except ValueError:
                bad[i] = True
        return out, bad


def _times(values: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Open times in ms from integers (ms, or µs by magnitude) or from dates / ISO times (UTC)."""
    if values and values[0].strip().isdigit():
        ms, bad = _numbers(values, int)
        return np.where(ms >= MICROS_FROM, ms // 1000, ms), bad
    try:
        return np.array(values, dtype="datetime64[ms]").astype(np.int64), np.zeros(len(values), dtype=bool)
    except ValueError:
        out, bad = np.zeros(len(values), dtype=np.int64), np.zeros(len(values), dtype=bool)
        for i, v in enumerate(values):
            try:
                out[i] = np.datetime64(v.strip(), "ms").astype(np.int64)
            except ValueError:
                bad[i] = True
        return out, bad


def _problems(interval: str, open_time: np.ndarray, values: dict[str, np.ndarray]) -> list[tuple[np.ndarray, str]]:
    """(mask, reason) for every check a usable candle must pass."""
    out = [(off_grid(open_time, interval), f"open time is not on the {interval} grid")]
    with np.errstate(invalid="ignore"):
        for k in PRICES:
            if k in values:
                out.append((~(values[k] > 0) | ~np.isfinite(values[k]), f"{k} is not a price above 0"))
        if "low" in values and "high" in values:
            out.append((values["low"] > values["high"], "low is above high"))
        for k in ("volume", "quote_volume"):
            if k in values:
                out.append((~(values[k] >= 0) | ~np.isfinite(values[k]), f"{k} is not a number of 0 or more"))
    return out


def _columns(name: str, claim: Claim | None, symbol: list[str], times: list[str], text: dict[str, list[str]],
             wanted: tuple[str, ...], lines: np.ndarray, bad: list[BadRow], usable: np.ndarray) -> CandleColumns:
    """Convert and check the columns; rows that fail are reported with their line and left out."""
    if claim and claim[0] not in INTERVAL_MS:
        raise ValueError(f"{name}: interval {claim[0]!r} is not one of {', '.join(INTERVAL_MS)}")
    open_time, unparsed = _times(times)
    names = np.array(symbol)
    if not all(s == s.strip().upper() for s in set(symbol)):
        names = np.char.upper(np.char.strip(names))
    interval = candle_spacing(name, names, open_time, lines, usable & ~unparsed, claim)
    reasons = {int(i): "open time does not parse" for i in np.flatnonzero(unparsed & usable)}
    values = {}
    for key in (k for k in wanted if k in text):
        values[key], unparsed = _numbers(text[key], float)
        reasons.update({int(i): f"{key} is not a number: {text[key][i][:30]!r}"
                        for i in np.flatnonzero(unparsed & usable) if int(i) not in reasons})
    for mask, reason in _problems(interval, open_time, values):
        reasons.update({int(i): reason for i in np.flatnonzero(mask & usable) if int(i) not in reasons})
    keep = usable.copy()
    keep[list(reasons)] = False
    bad = bad + [BadRow(name, int(lines[i]), r) for i, r in sorted(reasons.items())]
    return CandleColumns(interval, names[keep], open_time[keep], {k: v[keep] for k, v in values.items()},
                         text, keep, sorted(bad, key=lambda b: b.line))


def _vision(name: str, body: str, first_line: int, symbol: str, claim: Claim,
            wanted: tuple[str, ...]) -> CandleColumns:
    columns, lines, bad = _table(name, body, 12, first_line)
    col = dict(zip(VISION_COLUMNS, columns))
    text = {k: col[k] for k in AMOUNTS}
    usable = np.ones(len(lines), dtype=bool)
    return _columns(name, claim, [symbol] * len(lines), col["open_time"], text, wanted, lines, bad, usable)


def _long(name: str, first: str, body: str, claim: Claim | None, wanted: tuple[str, ...]) -> CandleColumns:
    """A CSV with a header naming symbol, open_time (or open_time_ms), open, high, low, close, volume."""
    header = [h.strip().lower() for h in first.split(",")]
    time_key = "open_time_ms" if "open_time_ms" in header else "open_time"
    missing = [k for k in ("symbol", time_key, *PRICES, "volume") if k not in header]
    if missing:
        raise ValueError(f"{name}: not a candle file: no column {', '.join(missing)} in line 1")
    columns, lines, bad = _table(name, body, len(header), 2)
    col = dict(zip(header, columns))
    usable, skipped, flagged = _flags(col.get("flags"), len(lines))
    text = {k: col[k] for k in AMOUNTS if k in col}
    result = _columns(name, claim, col["symbol"], col[time_key], text, wanted, lines, bad, usable)
    result.skipped, result.flagged = skipped, flagged
    return result


def _flags(flags: list[str] | None, n: int) -> tuple[np.ndarray, Counter[str], Counter[str]]:
    """Rows usable, flags of rows left out on purpose, flags of rows kept unchanged."""
    usable = np.ones(n, dtype=bool)
    raw = Counter(flags or ())
    counts: Counter[str] = Counter()
    for k, v in raw.items():
        if k.strip():
            counts[k.strip()] += v
    left_out = {k for k in raw if k.strip() in SKIPPED_FLAGS}
    if left_out and flags:
        usable[[i for i, f in enumerate(flags) if f in left_out]] = False
    skipped = Counter({k: v for k, v in counts.items() if k in SKIPPED_FLAGS})
    return usable, skipped, Counter({k: v for k, v in counts.items() if k not in SKIPPED_FLAGS})


def iter_rows(c: CandleColumns, size: int) -> Iterator[tuple]:
    """Rows for the klines table, in its column order."""
    opens = c.open_time.tolist()
    closes = (c.open_time + size - 1).tolist()
    return zip(c.symbol.tolist(), itertools.repeat(c.interval), opens, closes,
               *(c.text_column(k) for k in ("open", "high", "low", "close", "volume", "quote_volume")))
