"""Reading candle files: Binance public-data dumps (data.binance.vision) here, and the pieces the long CSV reader
(kline_long.py) shares; kline_read.py chooses between the two.

A long CSV is read a block at a time, each block converted to typed columns (int64 times, float64
amounts, int32 symbol codes) before the next is read, so memory follows the candles, not the text; a block
splits its whole text at once and converts columns in C. A block whose rows do not all parse takes a slow
path that finds the bad rows, so each is reported with its file and line instead of being dropped silently.
An import also needs the amounts as written (the cache stores text): a long CSV keeps them from the bytes it
parsed where it can, else reads the file a second time for them (kline_long.py).
"""
from __future__ import annotations

import gzip
import io
import itertools
import queue
import re
import threading
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, AnyStr, BinaryIO, Callable, Generator, Iterable, Iterator, cast

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
# Open times, which of them did not parse, the amounts as floats, and why rows fail (row -> reason).
Converted = tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], dict[int, str]]
BLOCK_CHARS = 1 << 20  # text read at a time: ~13,000 rows of the shared daily file


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
    names: np.ndarray  # str: the symbols, sorted
    code: np.ndarray  # int32 per candle: its symbol's place in names (a name per row would cost ~60 bytes)
    open_time: np.ndarray  # int64 ms
    values: dict[str, np.ndarray]  # float64 columns that were asked for
    text: Callable[[], Iterator[dict[str, list[str]]]]  # the amount columns as written, part by part (see keep)
    keep: np.ndarray  # which of the rows read are usable
    bad: list[BadRow] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)  # flag -> rows left out on purpose
    flagged: Counter[str] = field(default_factory=Counter)  # flag -> rows kept unchanged

    def __len__(self) -> int:
        return len(self.open_time)

    @property
    def symbol(self) -> np.ndarray:
        """Each candle's symbol (a str array as long as the file: for small files and tests)."""
        return self.names[self.code]

    def amount_columns(self) -> Iterator[tuple[int, list[Iterable[str | None]]]]:
        """Part by part: how many usable rows, and their amounts as written in AMOUNTS order (None throughout
        where the file lacks a column)."""
        done = 0
        for part in self.text():
            keep = self.keep[done:done + len(part["open"])]
            done += len(keep)
            mask = keep.tolist()
            yield int(keep.sum()), [itertools.compress(part[k], mask) if k in part else itertools.repeat(None)
                                    for k in AMOUNTS]


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


def open_bytes(path: Path) -> BinaryIO | None:
    """The file's bytes as a stream (a gzip file decompressed as read); None for a ZIP archive."""
    with path.open("rb") as f:
        magic = f.read(4)
    if magic[:2] == b"\x1f\x8b":
        return cast(BinaryIO, gzip.open(path, "rb"))  # a GzipFile reads as any binary file does
    return None if magic == b"PK\x03\x04" else path.open("rb")


def open_text(path: Path) -> tuple[IO[str], str]:
    """The file as text (universal newlines) and a name for messages; gzip and single-CSV ZIP archives are opened."""
    with path.open("rb") as f:
        magic = f.read(4)
    if magic[:2] == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8"), path.name
    if magic == b"PK\x03\x04":  # a Binance dump: one month of one symbol, small enough to read whole
        text, name = read_text(path)
        return io.StringIO(text, newline=None), name
    return path.open(encoding="utf-8"), path.name


def blocks(f: IO[AnyStr], size: int = BLOCK_CHARS) -> Iterator[AnyStr]:
    """The text (or bytes) in blocks of whole lines, each ending in a newline (the last one too)."""
    rest = f.read(0)
    newline = "\n" if isinstance(rest, str) else b"\n"
    while chunk := f.read(size):
        chunk = rest + chunk
        cut = chunk.rfind(newline) + 1
        if cut:
            yield chunk[:cut]
        rest = chunk[cut:]
    if rest:
        yield rest + newline


def read_ahead(parts: Iterator[AnyStr], depth: int = 4) -> Generator[AnyStr, None, None]:
    """The same blocks, read (and decompressed: zlib lets go of the GIL) by a thread while the caller parses
    the ones before, so a second core takes the decompression. Close it before the file: the thread stops
    when the caller does."""
    ready: queue.Queue = queue.Queue(depth)
    stop = threading.Event()

    def offer(item: tuple) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for part in parts:
                if not offer((part, None)):
                    return
            offer((None, None))
        except BaseException as e:  # noqa: BLE001 - handed to the reader, who raises it where it reads
            offer((None, e))

    worker = threading.Thread(target=produce, name="candle-file-reader", daemon=True)
    worker.start()
    try:
        while True:
            part, error = ready.get()
            if error is not None:
                raise error
            if part is None:
                return
            yield part
    finally:
        stop.set()
        worker.join()


def split_table(name: str, body: str, width: int, first_line: int) -> tuple[list[list[str]], np.ndarray, list[BadRow]]:
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


def check_claim(name: str, claim: Claim | None) -> None:
    if claim and claim[0] not in INTERVAL_MS:
        raise ValueError(f"{name}: interval {claim[0]!r} is not one of {', '.join(INTERVAL_MS)}")


def convert_columns(times: list[str], text: dict[str, list[str]], wanted: tuple[str, ...],
                    usable: np.ndarray) -> Converted:
    """Open times, which of them do not parse, the wanted amounts as floats, and why usable rows fail to parse."""
    open_time, unparsed = _times(times)
    reasons = {int(i): "open time does not parse" for i in np.flatnonzero(unparsed & usable)}
    values = {}
    for key in (k for k in wanted if k in text):
        values[key], bad = _numbers(text[key], float)
        reasons.update({int(i): f"{key} is not a number: {text[key][i][:30]!r}"
                        for i in np.flatnonzero(bad & usable) if int(i) not in reasons})
    return open_time, unparsed, values, reasons


def checked_columns(name: str, claim: Claim | None, symbols: tuple[np.ndarray, np.ndarray], converted: Converted,
                    lines: np.ndarray, bad: list[BadRow], usable: np.ndarray,
                    text: Callable[[], Iterator[dict[str, list[str]]]]) -> CandleColumns:
    """Check the converted columns as a whole; rows that fail are reported with their line and left out."""
    open_time, unparsed, values, reasons = converted
    names, code = symbols
    interval = candle_spacing(name, names, code, open_time, lines, usable & ~unparsed, claim)
    for mask, reason in _problems(interval, open_time, values):
        reasons.update({int(i): reason for i in np.flatnonzero(mask & usable) if int(i) not in reasons})
    keep = usable.copy()
    keep[list(reasons)] = False
    bad = bad + [BadRow(name, int(lines[i]), r) for i, r in sorted(reasons.items())]
    return CandleColumns(interval, names, code[keep], open_time[keep], {k: v[keep] for k, v in values.items()},
                         text, keep, sorted(bad, key=lambda b: b.line))


def read_vision(name: str, body: str, first_line: int, symbol: str, claim: Claim,
               wanted: tuple[str, ...]) -> CandleColumns:
    """One Binance dump's rows (12 unnamed columns, one symbol, named in the file's name)."""
    check_claim(name, claim)
    columns, lines, bad = split_table(name, body, 12, first_line)
    col = dict(zip(VISION_COLUMNS, columns))
    text = {k: col[k] for k in AMOUNTS}
    usable = np.ones(len(lines), dtype=bool)
    symbols = (np.array([symbol.strip().upper()]), np.zeros(len(lines), dtype=np.int32))
    converted = convert_columns(col["open_time"], text, wanted, usable)
    return checked_columns(name, claim, symbols, converted, lines, bad, usable, lambda: iter([text]))


def row_flags(flags: list[str] | np.ndarray | None, n: int) -> tuple[np.ndarray, Counter[str], Counter[str]]:
    """Rows usable, flags of rows left out on purpose, flags of rows kept unchanged."""
    if flags is None:
        return np.ones(n, dtype=bool), Counter(), Counter()
    flags = np.asarray(flags, dtype=str)
    some = np.flatnonzero(flags != "")  # most rows carry no flag: only the others are sorted
    kinds, inverse, raw = np.unique(flags[some], return_inverse=True, return_counts=True)
    counts: Counter[str] = Counter()
    for k, v in zip(kinds.tolist(), raw.tolist()):
        if k.strip():
            counts[k.strip()] += v
    left_out = [i for i, k in enumerate(kinds.tolist()) if k.strip() in SKIPPED_FLAGS]
    usable = np.ones(n, dtype=bool)
    usable[some[np.isin(inverse.reshape(-1), left_out)]] = False
    skipped = Counter({k: v for k, v in counts.items() if k in SKIPPED_FLAGS})
    return usable, skipped, Counter({k: v for k, v in counts.items() if k not in SKIPPED_FLAGS})


def iter_rows(c: CandleColumns, size: int) -> Iterator[tuple]:
    """Rows for the klines table, in its column order, made a block at a time (and joined in C, not per row)."""
    return itertools.chain.from_iterable(_row_blocks(c, size))


def _row_blocks(c: CandleColumns, size: int) -> Iterator[Iterator[tuple]]:
    at = 0
    for n, amounts in c.amount_columns():
        t = c.open_time[at:at + n]
        yield zip(c.names[c.code[at:at + n]].tolist(), itertools.repeat(c.interval), t.tolist(),
                  (t + size - 1).tolist(), *amounts)
        at += n
