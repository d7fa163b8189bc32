"""Candle files into the SQLite cache, and the cache (or a file) into the backtester's Panel.

Writes go straight to the KlineStore's tables with executemany in one transaction: the
621-symbol daily file is 680,000 rows, far too many for row-by-row upserts.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

import numpy as np
import sqlite_utils

from ..core.backtest.panel import DAY_MS, INTERVALS_MS, Panel, build_panel, day_number
from .kline_files import BadRow, CandleColumns, iter_rows
from .kline_read import read_candles
from .kline_store import INTERVAL_MS, KlineStore

Progress = Callable[[str], None]


@dataclass
class ImportReport:
    files: int = 0
    rows: int = 0
    symbols: set[str] = field(default_factory=set)
    bad: list[BadRow] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    flagged: Counter[str] = field(default_factory=Counter)
    intervals: set[str] = field(default_factory=set)  # of the candles stored
    columns: CandleColumns | None = field(default=None, repr=False)  # the last file's, when asked to keep them


def import_files(store: KlineStore, paths: list[Path], interval: str | None = None,
                 progress: Progress = lambda _: None, keep: bool = False) -> ImportReport:
    """Read each file and store its candles (replacing any already cached); coverage grows to match. With
    `keep`, the report keeps the columns of the last file read (see ImportReport.columns)."""
    report = ImportReport()
    for path in paths:
        progress(f"reading {path.name}")
        columns = read_candles(path, interval, written=True)
        report.columns = columns if keep else None
        progress(f"storing {len(columns):,} candles from {path.name}")
        _store(store, columns)
        report.files += 1
        report.rows += len(columns)
        report.intervals.add(columns.interval)
        report.symbols.update(columns.names[np.unique(columns.code)].tolist())
        report.bad += columns.bad
        report.skipped += columns.skipped
        report.flagged += columns.flagged
    return report


def _store(store: KlineStore, c: CandleColumns) -> None:
    with store.db.atomic():
        store.add_rows(iter_rows(c, INTERVAL_MS[c.interval]))
        for symbol, first, last in _ranges(c):
            store.join_coverage(symbol, c.interval, first, last)


def _ranges(c: CandleColumns) -> list[tuple[str, int, int]]:
    if not len(c):
        return []
    first = np.full(len(c.names), np.iinfo(np.int64).max)
    last = np.full(len(c.names), np.iinfo(np.int64).min)
    np.minimum.at(first, c.code, c.open_time)
    np.maximum.at(last, c.code, c.open_time)
    held = np.unique(c.code)  # a symbol whose every row was refused has no range
    return list(zip(c.names[held].tolist(), first[held].tolist(), last[held].tolist()))


def _joined(parts: list[str]) -> np.ndarray:
    """Comma-joined numbers (SQLite's group_concat) as floats, parsed in C."""
    return np.fromstring(",".join(parts), sep=",")


def load_panel(db: sqlite_utils.Database, start: date | None, end: date | None, history_days: int,
               quote: str = "USDT", opens: bool = True, interval: str = "1d", ranges: bool = False) -> Panel:
    """Candles of one interval of the quote's symbols from the cache, from history_days before start to a day
    after end.

    Quote volume is the stored quote-asset volume, else close × volume. SQLite joins each symbol's
    values into one string (group_concat) that NumPy parses: far faster than a Python tuple per candle. One
    pass over the rows: a missing quote volume comes as 'nan' (group_concat skips NULLs, which would shift the
    rest), and the joined strings are let go before the dense arrays are built, so an hourly panel of millions
    of candles does not hold both.
    Without `opens` the open column is left NaN (only a delayed fill reads it); highs and lows are read only
    with `ranges` (only the volume cost model reads them).
    """
    step = INTERVAL_MS[interval]
    lo, hi = window_ms(start, end, history_days)
    where = f"WHERE interval = '{interval}' AND symbol LIKE ? AND open_time BETWEEN ? AND ?"
    args = [f"%{quote}", lo, hi]
    rows = db.execute(
        f"SELECT symbol, count(*), group_concat(open_time / {step}), group_concat(close), group_concat(volume), "
        f"group_concat(ifnull(quote_volume, 'nan')){', group_concat(open)' if opens else ''}"
        f"{', group_concat(high), group_concat(low)' if ranges else ''} FROM klines {where} GROUP BY symbol",
        args).fetchall()
    if not rows:
        raise LookupError(_no_daily(db, args) if interval == "1d" else f"no {interval} candles in the cache "
                          f"for that window: run `bot.py data fetch --interval {interval}` or `data synth`")
    names, codes = [r[0] for r in rows], np.repeat(np.arange(len(rows)), [r[1] for r in rows])
    day, close, volume, quote_volume = (_joined([r[k] for r in rows]) for k in (2, 3, 4, 5))
    day = day.astype(np.int64)
    open_ = _joined([r[6] for r in rows]) if opens else np.full(len(day), np.nan)
    high, low = (_joined([r[k] for r in rows]) for k in (-2, -1)) if ranges else (None, None)
    del rows
    missing = np.isnan(quote_volume)  # where the source gave the quote-asset volume, it wins
    quote_volume[missing] = close[missing] * volume[missing]
    del volume, missing
    return build_panel(codes, day, open_, close, quote_volume, first_candles(db, quote, interval), step,
                       high=high, low=low, names=names)


def _no_daily(db: sqlite_utils.Database, args: list) -> str:
    """Why the window has no daily candles: nothing at all, or only candles of another interval."""
    held = [r[0] for r in db.execute("SELECT DISTINCT interval FROM klines WHERE symbol LIKE ? "
                                     "AND open_time BETWEEN ? AND ? ORDER BY interval", args)]
    if held:
        return (f"the cache holds {', '.join(held)} candles for that window but no 1d: run with --interval "
                f"{held[0]}, or import daily candles (`bot.py data fetch --interval 1d`)")
    return "no daily candles in the cache for that window: run `bot.py data import` or `data fetch`"


def window_ms(start: date | None, end: date | None, history_days: int) -> tuple[int, int]:
    """Open times a backtest from start to end reads: its history and the volume window before, a day after."""
    lo = (day_number(start) - history_days - 7) * DAY_MS if start else 0
    return lo, (day_number(end) + 1) * DAY_MS if end else 2**62


def held_intervals(db: sqlite_utils.Database, quote: str, lo: int, hi: int) -> list[str]:
    """The intervals whose recorded coverage of the quote's symbols meets [lo, hi], finest first."""
    held = {r[0] for r in db.execute("SELECT DISTINCT interval FROM kline_coverage WHERE symbol LIKE ? AND "
                                     "last >= ? AND first <= ?", [f"%{quote}", lo, hi])}
    return sorted(held & set(INTERVALS_MS), key=INTERVALS_MS.__getitem__)


def first_candles(db: sqlite_utils.Database, quote: str, interval: str = "1d") -> dict[str, int]:
    """First known candle (a day number on 1d) per symbol: the cache's coverage start of that interval, or the
    listing the live adapter recorded."""
    step = INTERVAL_MS[interval]
    rows = db.execute(
        "SELECT symbol, MIN(n) FROM (SELECT symbol, first / ? AS n FROM kline_coverage WHERE interval = ? "
        "UNION ALL SELECT symbol, first_open / ? FROM listings WHERE first_open IS NOT NULL) "
        "WHERE symbol LIKE ? GROUP BY symbol", [step, interval, step, f"%{quote}"]).fetchall()
    return {s: int(d) for s, d in rows}


def panel_from_file(path: Path, quote: str = "USDT", ranges: bool = False) -> tuple[Panel, list[BadRow]]:
    """A Panel straight from one candle file (no cache), and the rows it could not use.

    The file's own interval is read, not assumed: an hourly file read as daily would give a wrong result.
    """
    wanted = ("open", "close", "volume", "quote_volume", *(("high", "low") if ranges else ()))
    c = read_candles(path, fields=wanted)
    bad = c.bad
    return panel_of_columns(c, path.name, quote, ranges), bad


def panel_of_columns(c: CandleColumns, name: str, quote: str = "USDT", ranges: bool = False) -> Panel:
    """The Panel of a file's usable candles of the quote (they are let go of as it is built)."""
    if c.interval not in INTERVALS_MS:
        raise LookupError(f"{name} holds {c.interval} candles; backtests run on "
                          f"{', '.join(INTERVALS_MS)} candles")
    mine = np.char.endswith(c.names, quote)[c.code]
    if not mine.any():
        raise LookupError(f"no {quote} pairs in {name}")

    def pick(a: np.ndarray) -> np.ndarray:
        return a if mine.all() else a[mine]  # the shared file is all USDT pairs: no copies then

    close, values, step = pick(c.values["close"]), c.values, INTERVALS_MS[c.interval]
    qv = pick(values["quote_volume"]) if "quote_volume" in values else close * pick(values["volume"])
    names, code, number, open_ = c.names, pick(c.code), pick(c.open_time) // step, pick(values["open"])
    high, low = (pick(values["high"]), pick(values["low"])) if ranges else (None, None)
    del c, values  # the file's other columns, before the panel's arrays are made
    return build_panel(code, number, open_, close, qv, step_ms=step, high=high, low=low, names=names)
