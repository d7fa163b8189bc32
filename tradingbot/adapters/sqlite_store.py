"""SQLite persistence for the ledger, the rebalance journal, parameters and equity marks.

Plain table and column names so a BI tool (Metabase, Datasette) can read the file directly.
Money is stored as exact decimal TEXT; the `bi_*` views cast it to REAL for charting.
"""
from __future__ import annotations

import errno
import json
import os
import sqlite3

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, ContextManager, Iterator
from zoneinfo import ZoneInfo

import sqlite_utils

from ..app.ports import Checkpoint, no_checkpoint
from ..core.domain import ZERO, Change, EquityMark, Fill, Position, Side
from ..core.ledger import Ledger
from ..core.money import fmt_decimal
from ..core.performance import closing_indices
from ..core.timefmt import iso, parse_iso
from .schema import MIGRATIONS
from .sqlite_journal import SqliteJournal, text


def open_database(path: str | Path) -> sqlite_utils.Database:
    """Open (creating folders, and the file owner-only) with WAL so readers never block the bot, foreign keys on."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        _create_private(Path(path))
    db = sqlite_utils.Database(path)
    db.conn.execute("PRAGMA busy_timeout = 5000")  # a BI reader holding a lock waits, never fails
    if str(path) != ":memory:":
        db.enable_wal()
    db.conn.execute("PRAGMA foreign_keys = ON")
    db.conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL survives a process kill
    return db


def _create_private(path: Path) -> None:
    """A new database file is created 0600 before SQLite opens it; SQLite gives its -wal and -shm files the
    database file's mode. An existing file keeps the mode its owner chose (a BI tool may read it by group)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


class SqliteStore(SqliteJournal):
    """The bot's database: ledger, parameters, marks, and (from SqliteJournal) the rebalance journal."""

    def __init__(self, db: sqlite_utils.Database, quote: str, checkpoint: Checkpoint = no_checkpoint):
        self.db = db
        self.quote = quote
        self.checkpoint = checkpoint
        self._migrate()

    # --- schema -------------------------------------------------------------------------
    def _migrate(self) -> None:
        db = self.db
        db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = int(row[0]) if row else 0
        for target, statements in enumerate(MIGRATIONS[version:], start=version + 1):
            with db.atomic():
                for sql in statements:
                    db.execute(sql)
                db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(target)])

    def transaction(self) -> ContextManager[object]:
        """The writes inside land together: one SQLite transaction (a savepoint when nested in another)."""
        return self.db.atomic()

    def is_busy(self, error: BaseException) -> bool:
        """Another connection (a BI tool, a second process) held the write lock past busy_timeout."""
        return (isinstance(error, sqlite3.OperationalError)
                and getattr(error, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED))

    def storage_failure(self, error: BaseException) -> str | None:
        """One line naming this database and why it cannot be written (disk or database full), or None."""
        cause = error if _is_full(error) else error.__cause__ if error.__cause__ and _is_full(error.__cause__) else None
        if cause is None:
            return None
        files = [row[2] for row in self.db.execute("PRAGMA database_list") if row[1] == "main"]
        return f"the database {files[0] if files and files[0] else ':memory:'} cannot be written: {cause} " \
               "(free some disk space; an interrupted rebalance is finished once it can be written again)"

    @property
    def schema_version(self) -> int:
        return int(self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])

    def _one(self, sql: str, params: list[Any] | None = None) -> Any:
        row = self.db.execute(sql, params or []).fetchone()
        return row[0] if row else None

    # --- key/value state and parameters -------------------------------------------------
    def get_state(self, key: str, default: str | None = None) -> str | None:
        value = self._one("SELECT value FROM bot_state WHERE key = ?", [key])
        return default if value is None else value

    def set_state(self, key: str, value: str) -> None:
        with self.db.atomic():
            self.db.execute("INSERT OR REPLACE INTO bot_state VALUES (?, ?)", [key, value])

    def load_params(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT key, value FROM params").fetchall())

    def save_params(self, values: dict[str, str], changes: list[Change], who: str, at: datetime) -> None:
        """Store the new parameters and one audit row per change, together or not at all."""
        with self.db.atomic():
            for key, value in values.items():
                self.db.execute("INSERT OR REPLACE INTO params VALUES (?, ?)", [key, value])
            for c in changes:
                self.db.execute(
                    "INSERT INTO param_changes (time, who, key, old, new) VALUES (?, ?, ?, ?, ?)",
                    [iso(at), who, c.key, c.old, c.new],
                )

    def param_changes(self, limit: int = 20) -> list[dict[str, str]]:
        rows = self.db.execute(
            "SELECT time, who, key, old, new FROM param_changes ORDER BY id DESC LIMIT ?", [limit]
        ).fetchall()
        return [dict(zip(("time", "who", "key", "old", "new"), r)) for r in rows]

    # --- the ledger ---------------------------------------------------------------------
    def deposit(self, amount: Decimal, at: datetime, note: str = "starting capital") -> None:
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO deposits (time, asset, amount, note) VALUES (?, ?, ?, ?)",
                [iso(at), self.quote, str(amount), note],
            )
            ledger = self.load_ledger()
            ledger.deposit(amount)
            self._save_ledger(ledger, at)
            if not ledger.holdings():  # a new account: its first mark is the capital, equity = cash
                self.add_mark(EquityMark(at, ledger.cash, ledger.cash, ZERO, "deposit"))

    def deposits(self) -> list[Decimal]:
        return [Decimal(r[0]) for r in self.db.execute("SELECT amount FROM deposits ORDER BY id")]

    def load_ledger(self) -> Ledger:
        ledger = Ledger(self.quote)
        row = self.db.execute("SELECT cash, deposits, fees FROM account WHERE quote = ?", [self.quote]).fetchone()
        if row:
            ledger.cash, ledger.deposits, ledger.fees = (Decimal(v) for v in row)
        for asset, qty, cost, realized, fees in self.db.execute(
            "SELECT asset, quantity, cost, realized, fees FROM positions"
        ):
            ledger.positions[asset] = Position(asset, Decimal(qty), Decimal(cost), Decimal(realized), Decimal(fees))
        return ledger

    def _save_ledger(self, ledger: Ledger, at: datetime) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO account VALUES (?, ?, ?, ?, ?)",
            [self.quote, str(ledger.cash), str(ledger.deposits), str(ledger.fees), iso(at)],
        )
        for p in ledger.positions.values():
            self.db.execute(
                "INSERT OR REPLACE INTO positions VALUES (?, ?, ?, ?, ?, ?)",
                [p.asset, str(p.quantity), str(p.cost), str(p.realized), str(p.fees), iso(at)],
            )

    def fills(self, limit: int | None = None, rebalance_id: int | None = None,
              since: datetime | None = None) -> list[Fill]:
        """Newest first; of one rebalance, or filled after `since`, when given."""
        sql, params = "SELECT * FROM fills WHERE 1", list[Any]()
        if rebalance_id is not None:
            sql, params = sql + " AND rebalance_id = ?", [rebalance_id]
        if since is not None:
            sql, params = sql + " AND time > ?", [*params, iso(since)]
        sql += " ORDER BY id DESC" + (f" LIMIT {int(limit)}" if limit else "")
        cur = self.db.execute(sql, params)
        cols = [d[0] for d in cur.description]
        rows = [dict(zip(cols, r)) for r in cur.fetchall()]
        return [
            Fill(r["client_order_id"], r["symbol"], Side(r["side"]), Decimal(r["price"]), Decimal(r["quantity"]),
                 Decimal(r["commission"]), r["commission_asset"], Decimal(r["fee_quote"]), parse_iso(r["time"]),
                 r["trade_id"] or "", r.get("priced_by") or "")
            for r in rows
        ]

    def fills_in_order(self) -> Iterator[Fill]:
        """Every fill, oldest first (for re-deriving the ledger)."""
        return iter(reversed(self.fills()))

    # --- inventory and equity marks -----------------------------------------------------
    def add_inventory(self, at: datetime, rebalance_id: int | None, positions: list[Position], cash: Decimal) -> None:
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO inventory (time, rebalance_id, asset, quantity, price, value) VALUES (?,?,?,?,?,?)",
                [iso(at), rebalance_id, self.quote, str(cash), "1", str(cash)],
            )
            for p in positions:
                self.db.execute(
                    "INSERT INTO inventory (time, rebalance_id, asset, quantity, price, value) VALUES (?,?,?,?,?,?)",
                    [iso(at), rebalance_id, p.asset, str(p.quantity), text(p.price), str(p.value)],
                )

    def add_mark(self, mark: EquityMark) -> None:
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO equity_marks (time, equity, cash, positions_value, source) VALUES (?,?,?,?,?)",
                [iso(mark.time), str(mark.equity), str(mark.cash), str(mark.positions_value), mark.source],
            )

    def add_marks(self, marks: list[EquityMark]) -> None:
        """Bulk insert (benchmarks, imports)."""
        with self.db.atomic():
            self.db.conn.executemany(
                "INSERT INTO equity_marks (time, equity, cash, positions_value, source) VALUES (?,?,?,?,?)",
                [(iso(m.time), str(m.equity), str(m.cash), str(m.positions_value), m.source) for m in marks],
            )

    def mark_at_or_before(self, at: datetime) -> EquityMark | None:
        row = self.db.execute(
            "SELECT time, equity, cash, positions_value, source FROM equity_marks WHERE time <= ?"
            " ORDER BY time DESC LIMIT 1", [iso(at)]
        ).fetchone()
        return _mark(row) if row else None

    def first_mark(self) -> EquityMark | None:
        row = self.db.execute(
            "SELECT time, equity, cash, positions_value, source FROM equity_marks ORDER BY time LIMIT 1"
        ).fetchone()
        return _mark(row) if row else None

    def last_mark(self) -> EquityMark | None:
        row = self.db.execute(
            "SELECT time, equity, cash, positions_value, source FROM equity_marks ORDER BY time DESC LIMIT 1"
        ).fetchone()
        return _mark(row) if row else None

    def marks(self, since: datetime | None = None) -> list[EquityMark]:
        sql = "SELECT time, equity, cash, positions_value, source FROM equity_marks"
        params: list[Any] = []
        if since:
            sql, params = sql + " WHERE time >= ?", [iso(since)]
        return [_mark(r) for r in self.db.execute(sql + " ORDER BY time", params)]

    def closing_marks(self, zone: ZoneInfo) -> list[EquityMark]:
        """The first mark and the last of each local day, exact: all that period returns read. Found by
        searching the marks' times, so a year of hourly marks builds ~366 rows of Decimals, not 8,760."""
        wanted = json.dumps(self.closing_ids(zone))
        return [_mark(r) for r in self.db.execute(
            "SELECT time, equity, cash, positions_value, source FROM equity_marks"
            " WHERE id IN (SELECT value FROM json_each(?)) ORDER BY time, id", [wanted])]

    def closing_ids(self, zone: ZoneInfo) -> list[int]:
        """Ids of the first mark and the last of each local day (what closing_marks reads)."""
        rows = self.db.execute("SELECT id, time FROM equity_marks ORDER BY time, id").fetchall()
        return [rows[i][0] for i in closing_indices([parse_iso(t).timestamp() for _, t in rows], zone)]


    # --- benchmarks and inventory history (for charts) -----------------------------------
    def add_benchmark(self, at: datetime, btc_price: Decimal | None, universe_index: Decimal, size: int) -> None:
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO benchmark_marks (time, btc_price, universe_index, universe_size) VALUES (?,?,?,?)",
                [iso(at), text(btc_price), str(universe_index), size],
            )

    def benchmarks(self, since: datetime | None = None) -> list[tuple[datetime, Decimal | None, Decimal]]:
        """(time, BTC price, equal-weight universe index) at every benchmark mark, oldest first."""
        sql, params = "SELECT time, btc_price, universe_index FROM benchmark_marks", []
        if since:
            sql, params = sql + " WHERE time >= ?", [iso(since)]
        return [(parse_iso(t), Decimal(b) if b is not None else None, Decimal(u))
                for t, b, u in self.db.execute(sql + " ORDER BY time", params)]

    def add_reconciliation(self, at: datetime, rows: list[tuple[str, Decimal, Decimal]]) -> None:
        """Record (asset, venue change, ledger change) differences found at one check."""
        with self.db.atomic():
            self.db.table("reconciliations").insert_all(
                {"time": iso(at), "asset": a, "venue_change": fmt_decimal(v), "ledger_change": fmt_decimal(lc)}
                for a, v, lc in rows)

    def last_prices(self) -> dict[str, Decimal]:
        """Symbol -> the last price the bot valued or traded each asset at (a delisted holding keeps it)."""
        latest = {a + self.quote: (t, p) for a, t, p in self.db.execute(
            _newest_per("inventory", "asset", "price IS NOT NULL")) if a != self.quote}
        for symbol, t, price in self.db.execute(  # a fill newer than the last snapshot (an unfinished slot) wins
                _newest_per("fills", "symbol")):
            if symbol not in latest or parse_iso(t) > parse_iso(latest[symbol][0]):
                latest[symbol] = (t, price)
        return {symbol: Decimal(price) for symbol, (_, price) in latest.items()}

    def inventory_at(self, at: datetime) -> tuple[datetime | None, dict[str, Decimal]]:
        """The last inventory snapshot (value per asset, cash included) taken at or before `at`."""
        rows = self.db.execute("SELECT time, asset, value FROM inventory WHERE time = (SELECT MAX(time) FROM"
                               " inventory WHERE time <= ?) ORDER BY id", [iso(at)]).fetchall()
        return (parse_iso(rows[0][0]), {a: Decimal(v) for _, a, v in rows}) if rows else (None, {})

    def inventory_history(self) -> list[tuple[datetime, list[Position]]]:
        """What was held after each rebalance, oldest first: quantity and price per asset (cash at price 1)."""
        history: dict[str, list[Position]] = {}
        for t, asset, qty, price in self.db.execute(
                "SELECT time, asset, quantity, price FROM inventory ORDER BY time, id"):
            history.setdefault(t, []).append(Position(asset, Decimal(qty), ZERO, ZERO, ZERO,
                                                      None if price is None else Decimal(price)))
        return [(parse_iso(t), held) for t, held in history.items()]


def _newest_per(table: str, key: str, where: str = "1") -> str:
    """SQL for (key, time, price) of the newest row (highest id) of each distinct key among the rows `where` keeps.

    A loose index scan over the (key, id) index of migration V8: one seek for the next key, one for its newest
    row, so the cost grows with the keys (assets), not with a year of snapshots as a GROUP BY over all rows would.
    """
    return (f"WITH RECURSIVE keys(k) AS (SELECT MIN({key}) FROM {table} WHERE {where} UNION ALL"
            f" SELECT (SELECT MIN({key}) FROM {table} WHERE {where} AND {key} > keys.k) FROM keys WHERE k IS NOT NULL)"
            f" SELECT t.{key}, t.time, t.price FROM keys JOIN {table} t ON t.id ="
            f" (SELECT MAX(id) FROM {table} WHERE {where} AND {key} = keys.k)")


def _is_full(error: BaseException) -> bool:
    """SQLITE_FULL (database or disk full), or the disk full under a file the bot writes beside it."""
    if isinstance(error, sqlite3.Error):
        return (getattr(error, "sqlite_errorcode", 0) or 0) & 0xFF == sqlite3.SQLITE_FULL
    return isinstance(error, OSError) and error.errno == errno.ENOSPC


def _mark(row: tuple) -> EquityMark:
    return EquityMark(parse_iso(row[0]), Decimal(row[1]), Decimal(row[2]), Decimal(row[3]), row[4])

