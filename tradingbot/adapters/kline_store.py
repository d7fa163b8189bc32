"""The candle cache on disk: one SQLite file shared by the live market adapter and the backtester.

Kept apart from the bot's ledger database: it is large, rebuildable, and a backtest import must
never lock the ledger. Amounts are TEXT so Decimals round-trip exactly; SQL can CAST them to REAL
for the vectorised backtester. Times are integer milliseconds since the epoch, as on Binance.

Version: every write through this class gives the file a new random stamp (`kline_version`), so a copy
derived from the candles (adapters/panel_copy.py) can tell it is stale without reading them.

Coverage: per (symbol, interval) one range [first, last] of open times for which every closed
candle that exists is stored. A missing candle inside it means the symbol did not trade (a halt),
not that we did not ask — that distinction is what lets a warm rebalance skip the network.
"""
from __future__ import annotations

import itertools
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Iterable, Iterator

import sqlite_utils

from ..core.domain import Candle
from ..core.money import fmt_decimal

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
INTERVAL_MS = {"1h": 3_600_000, "4h": 14_400_000, "1d": 86_400_000, "1w": 604_800_000}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS klines (
    symbol TEXT NOT NULL, interval TEXT NOT NULL, open_time INTEGER NOT NULL, close_time INTEGER NOT NULL,
    open TEXT NOT NULL, high TEXT NOT NULL, low TEXT NOT NULL, close TEXT NOT NULL,
    volume TEXT NOT NULL, quote_volume TEXT,  -- NULL where the source has no quote volume column
    PRIMARY KEY (symbol, interval, open_time)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kline_coverage (
    symbol TEXT NOT NULL, interval TEXT NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL,
    PRIMARY KEY (symbol, interval)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS listings (
    symbol TEXT PRIMARY KEY, first_open INTEGER, checked_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS kline_version (  -- one row: a fresh random stamp after every write
    id INTEGER PRIMARY KEY CHECK (id = 1), stamp TEXT NOT NULL);
INSERT OR IGNORE INTO kline_version VALUES (1, lower(hex(randomblob(8))));
"""
# Random rather than a counter: a cache file deleted and imported again must not reach an old stamp.
_BUMP = "UPDATE kline_version SET stamp = lower(hex(randomblob(8)))"
KLINE_FIELDS = 10
ROWS_PER_INSERT = 50
_INSERT_ONE = f"INSERT OR REPLACE INTO klines VALUES ({', '.join('?' * KLINE_FIELDS)})"
_INSERT_MANY = _INSERT_ONE + f", ({', '.join('?' * KLINE_FIELDS)})" * (ROWS_PER_INSERT - 1)


def _has_schema(db: sqlite_utils.Database) -> bool:
    """The schema is complete: its last statement's row is there (the script runs statement by statement)."""
    try:
        return db.execute("SELECT 1 FROM kline_version WHERE id = 1").fetchone() is not None
    except sqlite3.OperationalError:  # no such table: a new cache
        return False


def _batches(rows: Iterator[tuple], rest: list[tuple]) -> Iterator[tuple]:
    """The parameters of ROWS_PER_INSERT rows at a time, flat; the last, shorter batch's rows go to `rest`."""
    while batch := tuple(itertools.islice(rows, ROWS_PER_INSERT)):
        flat = tuple(itertools.chain.from_iterable(batch))
        if len(batch) < ROWS_PER_INSERT:
            rest.extend(batch)  # each row still checked by SQLite for its number of fields
        elif len(flat) != KLINE_FIELDS * ROWS_PER_INSERT:  # a row of another length would shift the rest
            raise ValueError(f"klines rows have {KLINE_FIELDS} fields; a row of these has another number")
        else:
            yield flat


def to_ms(t: datetime) -> int:
    d = t - EPOCH  # integer parts, not timedelta division: a cold start converts a few hundred thousand times
    return (d.days * 86_400 + d.seconds) * 1000 + d.microseconds // 1000


def from_ms(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


@dataclass(frozen=True)
class Coverage:
    """Open times [first, last] for which the cache holds every candle that exists."""

    first: int
    last: int

    def holds(self, first: int, last: int) -> bool:
        return self.first <= first and last <= self.last


def _row(symbol: str, interval: str, c: Candle) -> tuple:
    """A klines row in column order."""
    return (symbol, interval, to_ms(c.open_time), to_ms(c.close_time), fmt_decimal(c.open), fmt_decimal(c.high),
            fmt_decimal(c.low), fmt_decimal(c.close), fmt_decimal(c.volume),
            None if c.quote_volume is None else fmt_decimal(c.quote_volume))


def _candle(r: tuple) -> Candle:
    open_time, close_time, o, h, low, c, v, qv = r
    return Candle(from_ms(open_time), from_ms(close_time), Decimal(o), Decimal(h), Decimal(low), Decimal(c),
                  Decimal(v), Decimal(qv) if qv is not None else Decimal(c) * Decimal(v))


class KlineStore:
    """Candles, coverage ranges and listing times in one SQLite file."""

    def __init__(self, db: sqlite_utils.Database):
        self.db = db
        if not _has_schema(db):  # an existing cache is opened without writing: bots starting together never queue
            with db.atomic():
                db.executescript(_SCHEMA)

    def put(self, symbol: str, interval: str, candles: Iterable[Candle], covered: Coverage | None = None) -> None:
        """Store closed candles; `covered` replaces the symbol's coverage range in the same transaction."""
        with self.db.atomic():
            self.add_rows(_row(symbol, interval, c) for c in candles)
            if covered is not None:
                self.set_coverage(symbol, interval, covered)

    def add_rows(self, rows: Iterable[tuple]) -> None:
        """Bulk insert-or-replace of klines rows in column order (inside the caller's transaction).

        Imports and fetches write hundreds of thousands of rows: executemany, not a dict per row, and
        ROWS_PER_INSERT rows a statement (one multi-row VALUES), which spends ~20 % less CPU than a statement a
        row (each row still replaces any earlier one with its key, in order, as row by row).
        """
        rest: list[tuple] = []
        self.db.conn.executemany(_INSERT_MANY, _batches(iter(rows), rest))
        self.db.conn.executemany(_INSERT_ONE, rest)
        self.db.execute(_BUMP)

    def set_coverage(self, symbol: str, interval: str, covered: Coverage) -> None:
        self.db.execute("INSERT OR REPLACE INTO kline_coverage VALUES (?, ?, ?, ?)",
                        [symbol, interval, covered.first, covered.last])
        self.db.execute(_BUMP)

    def join_coverage(self, symbol: str, interval: str, first: int, last: int) -> None:
        """Add a complete span [first, last] to the coverage when it touches or overlaps the known range.

        Two ranges with a gap between them cannot be one range: nobody has said the gap is a halt,
        so the older range is kept and the new span's candles are stored without coverage.
        """
        size = INTERVAL_MS[interval]
        cov = self.coverage(symbol, interval)
        if cov is None:
            self.set_coverage(symbol, interval, Coverage(first, last))
        elif first <= cov.last + size and cov.first <= last + size:
            self.set_coverage(symbol, interval, Coverage(min(first, cov.first), max(last, cov.last)))

    def get(self, symbol: str, interval: str, first: int, last: int) -> list[Candle]:
        """Stored candles with open time in [first, last] (ms), oldest first."""
        rows = self.db.execute(
            "SELECT open_time, close_time, open, high, low, close, volume, quote_volume FROM klines "
            "WHERE symbol = ? AND interval = ? AND open_time BETWEEN ? AND ? ORDER BY open_time",
            [symbol, interval, first, last]).fetchall()
        return [_candle(r) for r in rows]

    def stamp(self) -> str:
        """The cache's version: a new one after every write through this class."""
        return self.db.execute("SELECT stamp FROM kline_version").fetchone()[0]

    def coverage(self, symbol: str, interval: str) -> Coverage | None:
        row = self.db.execute(
            "SELECT first, last FROM kline_coverage WHERE symbol = ? AND interval = ?", [symbol, interval]).fetchone()
        return Coverage(*row) if row else None

    def listing(self, symbol: str) -> tuple[int | None, int] | None:
        """(first open time or None, when we last asked), or None if never asked."""
        row = self.db.execute("SELECT first_open, checked_at FROM listings WHERE symbol = ?", [symbol]).fetchone()
        return (row[0], row[1]) if row else None

    def set_listing(self, symbol: str, first_open: int | None, checked_at: int) -> None:
        with self.db.atomic():
            self.db.execute("INSERT OR REPLACE INTO listings VALUES (?, ?, ?)", [symbol, first_open, checked_at])
            self.db.execute(_BUMP)
