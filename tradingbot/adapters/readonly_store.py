"""The dashboard's view of the database: a read-only connection (SQLite `mode=ro`), never the bot's writer.

It reuses SqliteStore's queries (marks, journal, ledger) and adds the few the web pages need. WAL mode lets it
read while the bot writes; SQLite itself refuses any write on this connection.
"""
from __future__ import annotations

import sqlite3
import threading
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, TypeVar
from zoneinfo import ZoneInfo

import sqlite_utils

from ..app.ports import no_checkpoint
from .backtest_runs import SqliteBacktestRuns
from ..core.timefmt import parse_iso
from .schema import MIGRATIONS
from .read_caches import COINS, DayEnds, InventorySnapshots, TimeSeries
from .sqlite_store import SqliteStore

T = TypeVar("T")


class DatabaseNotReady(Exception):
    """The file is missing, not SQLite, or older than this code (start the bot on it once to migrate it)."""


def connect_read_only(path: str | Path) -> sqlite3.Connection:
    if not Path(path).is_file():
        raise DatabaseNotReady(f"{path}: no such database file")
    uri = f"{Path(path).resolve().as_uri()}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, check_same_thread=False)  # used under ReadOnlyStore.lock only
    conn.execute("PRAGMA busy_timeout = 5000")
    conn.execute("PRAGMA query_only = ON")
    return conn


class ReadOnlyStore(SqliteStore):
    """SqliteStore's reads over a read-only connection; `run` serialises calls from worker threads."""

    def __init__(self, path: str | Path):
        self.db = sqlite_utils.Database(connect_read_only(path))
        self.checkpoint = no_checkpoint
        self.lock = threading.Lock()
        try:
            version = self.schema_version
            quote = self._one("SELECT quote FROM account LIMIT 1")
        except (sqlite3.DatabaseError, TypeError) as e:
            raise DatabaseNotReady(f"{path}: not a bot database ({e})") from None
        if version < len(MIGRATIONS) or quote is None:
            raise DatabaseNotReady(f"{path}: schema {version} is older than this bot's {len(MIGRATIONS)} "
                                   "(run the bot on it once)")
        self.quote = quote
        self.backtests = SqliteBacktestRuns(self.db)  # reads only, on this connection
        # What a year of history costs to read is paid once: later calls read only the rows added since
        self._marks = TimeSeries("equity_marks", "CAST(equity AS REAL)")
        self._benchmarks = TimeSeries("benchmark_marks", "CAST(btc_price AS REAL)", "CAST(universe_index AS REAL)")
        self._inventory, self._day_ends = InventorySnapshots(quote), DayEnds()

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        """One query at a time on this connection (the web server calls from a thread pool)."""
        with self.lock:
            return fn(*args)

    def equity_series(self) -> tuple[list[float], list[float]]:
        """(epoch seconds, equity) of every mark, oldest first, as floats: what charts and risk figures read."""
        marks = self._marks.read(self.db)
        return list(marks.times), list(marks.columns[0])

    def benchmark_series(self) -> tuple[datetime | None, list[float], list[float | None], list[float]]:
        """(first mark's time, epoch seconds, BTC price or None, universe index) of every benchmark mark, as
        floats for the overview's chart; oldest first."""
        marks = self._benchmarks.read(self.db)
        first = parse_iso(marks.first) if marks.first else None
        return first, list(marks.times), list(marks.columns[0]), list(marks.columns[1])

    def closing_ids(self, zone: ZoneInfo) -> list[int]:
        return self._day_ends.ids(self._marks.read(self.db), zone)

    def daily_closes(self, zone: ZoneInfo) -> list[float]:
        """Equity at the last mark of each local day that has one, as floats (the risk figures' daily path)."""
        marks = self._marks.read(self.db)
        return [marks.columns[0][i] for i in self._day_ends.indices(marks, zone)]

    def value_layers(self, top: int) -> tuple[list[datetime], dict[str, list[float]]]:
        """Value after each rebalance of the `top` coins held now (largest first), of all others summed, and of
        cash: what the holdings chart stacks (from the snapshots kept in memory: a year is ~50,000 rows)."""
        snapshots = self._inventory.read(self.db)
        if not snapshots:
            return [], {}
        newest = snapshots[-1][1]
        held = sorted((a for a, v in newest.items() if a not in (self.quote, COINS) and v >= 1),
                      key=lambda a: -newest[a])[:top]
        layers: dict[str, list[float]] = {a: [] for a in [*held, "", self.quote]}
        for _, values in snapshots:
            for a in held:
                layers[a].append(values.get(a, 0.0))
            layers[self.quote].append(values.get(self.quote, 0.0))
            coins = values.get(COINS, 0.0)
            rest = coins - sum(values.get(a, 0.0) for a in held)
            layers[""].append(rest if rest > coins * 1e-9 else 0.0)  # not a rounding crumb
        return [parse_iso(t) for t, _ in snapshots], {k: v for k, v in layers.items() if any(v)}

    def newest(self) -> tuple[Any, ...]:
        """What changes when the bot writes something a page shows: newest mark, rebalance state, parameters."""
        return tuple(self.db.execute(
            "SELECT (SELECT MAX(id) FROM equity_marks), (SELECT MAX(id) FROM rebalances),"
            " (SELECT group_concat(state) FROM (SELECT state FROM rebalances ORDER BY id DESC LIMIT 3)),"
            " (SELECT MAX(id) FROM param_changes), (SELECT value FROM bot_state WHERE key = 'paused')").fetchone())

    def trade_counts(self) -> dict[int, tuple[int, int]]:
        """rebalance id -> (filled sells, filled buys)."""
        counts: dict[int, tuple[int, int]] = {}
        for rid, side, n in self.db.execute(
                "SELECT rebalance_id, side, COUNT(DISTINCT client_order_id) FROM fills"
                " WHERE rebalance_id IS NOT NULL GROUP BY rebalance_id, side"):
            sells, buys = counts.get(rid, (0, 0))
            counts[rid] = (n, buys) if side == "SELL" else (sells, n)
        return counts
