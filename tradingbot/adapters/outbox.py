"""Pushes waiting for delivery, in SQLite: they survive restarts and outages and leave in order."""
from __future__ import annotations

from datetime import datetime

import sqlite_utils

from ..app.ports import Push
from ..core.redaction import shown
from ..core.timefmt import iso

PENDING, SENT, FAILED = "pending", "sent", "failed"


class SqliteOutbox:
    """The Outbox port on the bot's database (tables outbox and outbox_photos)."""

    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def enqueue(self, kind: str, bodies: list[str], chat_ids: list[int], silent: bool, at: datetime,
                photos: list[tuple[str, bytes]] | None = None, caption: str = "") -> None:
        """One row per chat and chunk (then one album row, if photos), all in one transaction, in order."""
        with self.db.atomic():
            for chat in chat_ids:
                for body in bodies:
                    self._insert(at, chat, kind, body, silent)
                if photos:
                    row = self._insert(at, chat, kind, caption, silent)
                    self.db.conn.executemany(
                        "INSERT INTO outbox_photos (outbox_id, position, name, png) VALUES (?, ?, ?, ?)",
                        [(row, i, name, png) for i, (name, png) in enumerate(photos)],
                    )

    def _insert(self, at: datetime, chat: int, kind: str, body: str, silent: bool) -> int:
        cur = self.db.execute(  # notify chats may hold viewers: a push shows what a viewer may see
            "INSERT INTO outbox (created_at, chat_id, kind, body, silent, status) VALUES (?, ?, ?, ?, ?, ?)",
            [iso(at), chat, kind, shown(body, admin=False), int(silent), PENDING],
        )
        return int(cur.lastrowid or 0)

    def heads(self) -> list[Push]:
        """The oldest pending push of every chat: a chat's later pushes wait behind it, other chats do not."""
        rows = self.db.execute(
            "SELECT id, chat_id, kind, body, silent, attempts FROM outbox WHERE id IN"
            " (SELECT MIN(id) FROM outbox WHERE status = ? GROUP BY chat_id) ORDER BY id", [PENDING]
        ).fetchall()
        return [Push(i, c, k, b, bool(s), a, self._photos(i)) for i, c, k, b, s, a in rows]

    def _photos(self, push_id: int) -> tuple[tuple[str, bytes], ...]:
        rows = self.db.execute("SELECT name, png FROM outbox_photos WHERE outbox_id = ? ORDER BY position",
                               [push_id]).fetchall()
        return tuple((name, bytes(png)) for name, png in rows)

    def pending_count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM outbox WHERE status = ?", [PENDING]).fetchone()[0]

    def sent(self, push_id: int, at: datetime) -> None:
        with self.db.atomic():
            self.db.execute("UPDATE outbox SET status = ?, sent_at = ?, attempts = attempts + 1 WHERE id = ?",
                            [SENT, iso(at), push_id])

    def failed_attempt(self, push_id: int, error: str) -> None:
        """Still pending: it is tried again, in order, when Telegram answers."""
        with self.db.atomic():
            self.db.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                            [error[:500], push_id])

    def given_up(self, push_id: int, error: str) -> None:
        """Undeliverable (the chat blocked the bot, or Telegram refuses the text): kept, with the reason."""
        with self.db.atomic():
            self.db.execute("UPDATE outbox SET status = ?, attempts = attempts + 1, last_error = ? WHERE id = ?",
                            [FAILED, error[:500], push_id])
