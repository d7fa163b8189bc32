"""Link stores for the dashboard's sign-in (see dashboard_auth): in the bot's database, or in memory.

The bot keeps links in SQLite (`dashboard_links`, `dashboard_keys`), so a link made by the chat is honoured by
the web server of the same process and survives a restart. `bot.py dashboard` serves a database read-only, so
it keeps the same two tables in a small file of its own beside it (`NAME.dashboard-sessions.sqlite`, mode
0600: only link hashes, the signing key and the generation), and a restart keeps everyone signed in; where
that file cannot be written, in memory (a restart signs everyone out).
"""
from __future__ import annotations

import os
import secrets
import sqlite3
from datetime import datetime
from pathlib import Path

import sqlite_utils

from ..core.timefmt import iso
from .schema import V8 as SIGN_IN_TABLES


class SqliteLinkStore:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def _row(self) -> tuple[str, int]:
        row = self.db.execute("SELECT secret, generation FROM dashboard_keys WHERE id = 1").fetchone()
        if row is None:  # generated once, on first use, and kept: cookies survive a restart
            with self.db.atomic():
                self.db.execute("INSERT OR IGNORE INTO dashboard_keys VALUES (1, ?, 1)", [secrets.token_hex(32)])
            row = self.db.execute("SELECT secret, generation FROM dashboard_keys WHERE id = 1").fetchone()
        return row[0], int(row[1])

    def signing_key(self) -> bytes:
        return bytes.fromhex(self._row()[0])

    def generation(self) -> int:
        return self._row()[1]

    def next_generation(self) -> int:
        self._row()
        with self.db.atomic():
            self.db.execute("UPDATE dashboard_keys SET generation = generation + 1 WHERE id = 1")
        return self._row()[1]

    def add_link(self, digest: str, created: datetime, expires: datetime, who: str) -> None:
        with self.db.atomic():
            self.db.execute("DELETE FROM dashboard_links WHERE expires_at < ?", [iso(created)])  # keep it small
            self.db.execute("INSERT INTO dashboard_links (hash, created_at, expires_at, who) VALUES (?, ?, ?, ?)",
                            [digest, iso(created), iso(expires), who])

    def spend_link(self, digest: str, now: datetime) -> bool:
        # One conditional update: two tabs posting the same link at once cannot both sign in.
        with self.db.atomic():
            cur = self.db.execute("UPDATE dashboard_links SET used_at = ? WHERE hash = ? AND used_at IS NULL"
                                  " AND expires_at > ?", [iso(now), digest, iso(now)])
        return cur.rowcount == 1


class MemoryLinkStore:
    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._generation = 1
        self._links: dict[str, tuple[datetime, bool]] = {}  # digest -> (expires, used)

    def signing_key(self) -> bytes:
        return self._key

    def generation(self) -> int:
        return self._generation

    def next_generation(self) -> int:
        self._generation += 1
        return self._generation

    def add_link(self, digest: str, created: datetime, expires: datetime, who: str) -> None:
        self._links[digest] = (expires, False)

    def spend_link(self, digest: str, now: datetime) -> bool:
        expires, used = self._links.get(digest, (now, True))
        if used or expires <= now:
            return False
        self._links[digest] = (expires, True)
        return True


def sessions_file(db_path: str | Path) -> Path:
    """Where `bot.py dashboard` keeps its sign-in state for a database: a file beside it."""
    path = Path(db_path)
    return path.with_name(f"{path.stem}.dashboard-sessions.sqlite")


def open_sessions(path: Path) -> SqliteLinkStore:
    """The standalone dashboard's own sign-in file, created private (0600: it holds the cookie signing key)."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)  # a file left wider by hand is made private again
    conn = sqlite3.connect(path, check_same_thread=False)  # the server's loop, and a `--revoke` beside it
    conn.execute("PRAGMA busy_timeout = 5000")
    db = sqlite_utils.Database(conn)
    with db.atomic():
        for sql in SIGN_IN_TABLES:
            db.execute(sql.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1))
    return SqliteLinkStore(db)
