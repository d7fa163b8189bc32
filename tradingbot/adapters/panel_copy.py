"""A binary copy of the candle cache's panel beside the cache file, memory-mapped by every later backtest.

Building a panel from SQLite parses every candle's text (~0.6 s for the shared 621-symbol daily history);
the same arrays as NumPy `.npy` files map in a millisecond and a window of them is copied at memory speed.
One copy holds every candle of one interval and one quote, highs and lows included (written always, so one
copy serves both cost models; a window hands them out only when asked for). It is named by its interval, its
quote and the cache's version stamp, which every write through KlineStore renews: a daily copy never answers
an hourly request, and a copy made before a write has another name and is never read again (the stamp and
the candles are read in one transaction, so a copy cannot mix two versions). A copy that does not open as
written (truncated, damaged) is rebuilt. Copies live in `<cache file>.panels/`, beside the cache (data/ by
default, never the repository); deleting that folder only costs one rebuild. Hourly candles get their copy too:
its rows are dense, yet 180 days of 190 hourly symbols take 31 MiB, a third of their SQLite file.

NumPy's own format rather than Arrow/Parquet: the backtester's arrays are NumPy already, `.npy` maps without
a new dependency, and nothing but this module reads the files.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import numpy as np
import sqlite_utils

from ..core.backtest.panel import INTERVALS_MS, Panel
from .kline_files import CandleColumns
from .kline_import import first_candles, load_panel, panel_from_file, panel_of_columns, window_ms
from .kline_store import KlineStore

ARRAYS = ("close", "open", "quote_volume", "high", "low")
FILE_COPIES = 4  # copies of `--data` files kept in the folder (see file_panel)
NO_CANDLE = np.iinfo(np.int64).max  # `known` of a symbol the cache has no coverage or listing for


@dataclass(frozen=True)
class PanelCopy:
    """Every candle of the cache's panel of one interval; `known` is each symbol's first candle by coverage or
    listing (in candles of step_ms since the epoch, as Panel.first_day)."""

    first_day: int
    step_ms: int
    symbols: tuple[str, ...]
    close: np.ndarray
    open: np.ndarray
    quote_volume: np.ndarray
    high: np.ndarray | None  # None only in a copy of a file read without them (file_panel)
    low: np.ndarray | None
    known: np.ndarray
    bad: int = 0  # rows of a file that were left out as unusable

    @classmethod
    def of(cls, p: Panel, known: np.ndarray, bad: int = 0) -> PanelCopy:
        """The copy of a panel's candles."""
        return cls(p.first_day, p.step_ms, p.symbols, p.close, p.open, p.quote_volume, p.high, p.low, known, bad)


def copies_folder(cache: Path) -> Path:
    return cache.with_name(cache.name + ".panels")


def cached_panel(db: sqlite_utils.Database, cache: Path, start: date | None, end: date | None, history_days: int,
                 quote: str, opens: bool, interval: str = "1d", ranges: bool = False) -> Panel:
    """load_panel's result, from the binary copy when one matches the cache's stamp (made first when not)."""
    def query() -> Panel:
        return load_panel(db, start, end, history_days, quote, opens, interval, ranges)

    full = current_copy(db, cache, quote, interval) if interval in INTERVALS_MS else None
    if full is None:  # a read-only cache, or no candles of the interval: the window's own query says why
        return query()
    return window(full, *window_ms(start, end, history_days), opens, ranges) or query()


def current_copy(db: sqlite_utils.Database, cache: Path, quote: str, interval: str) -> PanelCopy | None:
    """The copy matching the cache's stamp, built first when there is none; None without candles of the
    interval. The data commands call it right after their write, so the next backtest maps the copy at once."""
    if not _has_stamp(db):
        return None
    db.conn.execute("BEGIN")  # the stamp and the candles from one snapshot of the file
    try:
        stamp = db.execute("SELECT stamp FROM kline_version").fetchone()[0]
        folder = copies_folder(cache) / f"{interval}-{quote}-{stamp}"
        full = read_copy(folder)
        if full is None:
            try:
                full = _full_panel(db, quote, interval)
            except LookupError:
                return None
            write_copy(folder, full)
    finally:
        db.conn.rollback()
    return full


def _has_stamp(db: sqlite_utils.Database) -> bool:
    """Whether the cache has its version stamp, added now to a cache written before stamps existed."""
    try:  # opening a complete cache writes nothing
        KlineStore(db)
    except sqlite3.OperationalError:  # a read-only cache: no copies, the plain query every time
        return False
    return True


def _full_panel(db: sqlite_utils.Database, quote: str, interval: str) -> PanelCopy:
    p = load_panel(db, None, None, 0, quote, opens=True, interval=interval, ranges=True)
    known = first_candles(db, quote, interval)
    assert p.high is not None and p.low is not None  # asked for with ranges
    return PanelCopy.of(p, np.array([known.get(s, NO_CANDLE) for s in p.symbols], dtype=np.int64))


def copy_from_columns(store: KlineStore, cache: Path, columns: CandleColumns, name: str, quote: str = "USDT") -> None:
    """After importing one file into an empty cache, the copy current_copy would build, from the file's columns.

    The cache then holds exactly the file's usable candles and their coverage, no listings: the same rows,
    floats parsed from the same text, first candles at the coverage's starts, so the same arrays, without
    reading back and parsing 680,000 rows (~1.2 s of an import's CPU). Any other import builds its copy from
    SQLite (tests compare both)."""
    if columns.interval not in INTERVALS_MS or not len(columns):
        return
    try:
        p = panel_of_columns(columns, name, quote, ranges=True)
    except LookupError:  # no candles of the quote: nothing for a backtest to map
        return
    assert p.high is not None and p.low is not None  # asked for with ranges
    folder = copies_folder(cache) / f"{columns.interval}-{quote}-{store.stamp()}"
    write_copy(folder, PanelCopy.of(p, p.listed))


def window(full: PanelCopy, lo_ms: int, hi_ms: int, opens: bool, ranges: bool) -> Panel | None:
    """What load_panel gives for open times in [lo_ms, hi_ms]: its rows with candles, its symbols with candles;
    None if empty. Highs and lows only with `ranges`, as load_panel."""
    step, rows_held = full.step_ms, len(full.close)
    r0 = max(-(-lo_ms // step) - full.first_day, 0)
    r1 = min(hi_ms // step + 1 - full.first_day, rows_held)
    if r0 >= r1:
        return None
    has = ~np.isnan(full.close[r0:r1])
    cols, rows = np.flatnonzero(has.any(axis=0)), np.flatnonzero(has.any(axis=1))
    if not len(cols):
        return None
    a, b = rows[0], rows[-1] + 1
    first = full.first_day + r0 + int(a)

    def take(x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(x[r0 + a:r0 + b][:, cols])

    seen = first + has[a:b][:, cols].argmax(axis=0)
    open_ = take(full.open) if opens else np.full((b - a, len(cols)), np.nan)
    high, low = (take(full.high), take(full.low)) if ranges and full.high is not None and full.low is not None \
        else (None, None)
    return Panel(first, tuple(full.symbols[i] for i in cols.tolist()), take(full.close), open_,
                 take(full.quote_volume), np.minimum(seen, full.known[cols]), step, high, low)


def read_copy(folder: Path, mode: Literal["r", "c"] = "r") -> PanelCopy | None:
    """The copy memory-mapped, or None when it is missing or does not open as written. Mode "c" maps it copy
    on write: arrays handed out whole may be written to without reaching the file."""
    try:
        meta = json.loads((folder / "meta.json").read_text())
        first_day, step, symbols = int(meta["first_day"]), int(meta["step_ms"]), tuple(meta["symbols"])
        names = ARRAYS if meta.get("ranges", True) else ARRAYS[:3]
        arrays = [np.load(folder / f"{name}.npy", mmap_mode=mode) for name in names]
        known = np.load(folder / "known.npy", mmap_mode=mode)
        bad = int(meta.get("bad", 0))
    except (OSError, EOFError, ValueError, KeyError, TypeError):  # missing, cut short, not what was written
        return None
    shape = (meta.get("days"), len(symbols))
    if any(a.shape != shape or a.dtype != np.float64 for a in arrays) or known.shape != shape[1:] \
            or known.dtype != np.int64:
        return None
    close, open_, quote_volume, high, low = (*arrays, None, None)[:5]
    return PanelCopy(first_day, step, symbols, close, open_, quote_volume, high, low, known, bad)


def write_copy(folder: Path, full: PanelCopy) -> None:
    """Write beside the cache under a temporary name and rename it in place; older copies are removed.

    A copy that cannot be written (a read-only folder, a full disk) only costs the next run a rebuild.
    """
    temp = folder.with_name(f".{folder.name}.{os.getpid()}")
    try:
        shutil.rmtree(folder, ignore_errors=True)  # a damaged copy under this name
        temp.mkdir(parents=True, exist_ok=True)
        for name in ARRAYS:
            if getattr(full, name) is not None:
                np.save(temp / f"{name}.npy", getattr(full, name))
        np.save(temp / "known.npy", full.known)
        meta = {"first_day": full.first_day, "step_ms": full.step_ms, "days": len(full.close),
                "symbols": list(full.symbols), "ranges": full.high is not None, "bad": full.bad}
        (temp / "meta.json").write_text(json.dumps(meta))
        temp.rename(folder)
    except OSError:
        shutil.rmtree(temp, ignore_errors=True)
        return
    prefix = folder.name.rsplit("-", 1)[0] + "-"
    for old in folder.parent.iterdir():
        if old.name.startswith(prefix) and old != folder:
            shutil.rmtree(old, ignore_errors=True)


def file_panel(path: Path, copies: Path, quote: str, ranges: bool) -> tuple[Panel, int]:
    """panel_from_file's panel and count of unusable rows, from a copy in the cache's folder of panel copies
    when one was made from this very file (same path, size, modification time and inode), made first when not.

    Reading and checking a large `.csv.gz` costs a second of CPU; its copy maps in milliseconds, so a second
    backtest of one file starts as fast as one from the cache. A changed file has another identity, so its
    old copy is never read again (and is removed when the new one is written); a file that changes while it
    is read gets no copy. Copies never go beside the data file, which may be shared or read-only.
    """
    before = _identity(path)
    folder = copies / _file_copy_name(path, quote, ranges, before)
    full = read_copy(folder, mode="c")
    if full is None:
        panel, bad = panel_from_file(path, quote, ranges)
        full = PanelCopy.of(panel, panel.listed, len(bad))
        if _identity(path) == before:
            write_copy(folder, full)
            _keep_latest(copies)
    else:
        with contextlib.suppress(OSError):
            os.utime(folder)  # the latest used is kept longest
    return Panel(full.first_day, full.symbols, full.close, full.open, full.quote_volume, full.known, full.step_ms,
                 full.high, full.low), full.bad


def _keep_latest(copies: Path) -> None:
    """At most FILE_COPIES copies of files, the latest used: one per file backtested would grow without end."""
    def used(folder: Path) -> int:
        try:
            return folder.stat().st_mtime_ns
        except OSError:  # removed meanwhile by another run
            return 0

    for old in sorted(copies.glob("file-*"), key=used, reverse=True)[FILE_COPIES:]:
        shutil.rmtree(old, ignore_errors=True)


def _identity(path: Path) -> tuple[str, int, int, int]:
    st = path.stat()
    return str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino


def _file_copy_name(path: Path, quote: str, ranges: bool, identity: tuple) -> str:
    """`file-<path>-<quote>-<columns>-<identity>`, hashed: write_copy removes the same path's older copies by
    everything before the last dash. Highs and lows are in the name because reading them also checks them
    (a row whose low is above its high is left out only when they are read)."""
    def digest(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    return f"file-{digest(identity[0])}-{quote}-{'hl' if ranges else 'c'}-{digest(repr(identity))}"
