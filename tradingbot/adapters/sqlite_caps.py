"""The market cap cache in the bot's SQLite file: the coins last read from the source, and when."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlite_utils

from ..core.market_caps import CoinCap
from ..core.timefmt import iso, parse_iso

STALE_ALERTED = "market_caps_stale_alerted"  # bot_state key: read_at of the stale cache already announced


class SqliteCapCache:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db  # migrated by SqliteStore (schema V7)

    def load(self) -> tuple[list[CoinCap], datetime] | None:
        rows = self.db.execute("SELECT coin_id, symbol, market_cap, read_at FROM market_caps").fetchall()
        if not rows:
            return None
        return [CoinCap(r[0], r[1], Decimal(r[2])) for r in rows], parse_iso(rows[0][3])

    def save(self, coins: list[CoinCap], read_at: datetime) -> None:
        """Replace the whole reading at once: a cache never mixes two readings."""
        with self.db.atomic():
            self.db.execute("DELETE FROM market_caps")
            self.db.conn.executemany("INSERT OR REPLACE INTO market_caps VALUES (?, ?, ?, ?)",
                                     [(c.coin_id, c.symbol, str(c.market_cap), iso(read_at)) for c in coins])

    def stale_alerted(self) -> datetime | None:
        row = self.db.execute("SELECT value FROM bot_state WHERE key = ?", [STALE_ALERTED]).fetchone()
        return parse_iso(row[0]) if row else None

    def mark_stale_alerted(self, read_at: datetime) -> None:
        with self.db.atomic():
            self.db.execute("INSERT OR REPLACE INTO bot_state VALUES (?, ?)", [STALE_ALERTED, iso(read_at)])
