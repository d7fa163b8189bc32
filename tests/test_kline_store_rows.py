"""KlineStore.add_rows writes many rows a statement: the same table as one statement a row, in fewer statements."""
from __future__ import annotations

import sqlite3

import pytest
import sqlite_utils

from tradingbot.adapters.kline_store import ROWS_PER_INSERT, KlineStore

DAY = 86_400_000


def candle_rows(n: int, symbols: int = 3) -> list[tuple]:
    """n rows over a few symbols; every 7th repeats an earlier key with new amounts (the later one must win)."""
    out = []
    for i in range(n):
        day = i // symbols if i % 7 else max(i // symbols - 2, 0)
        qv = None if i % 5 == 0 else f"{i}.25"
        out.append((f"S{i % symbols}USDT", "1d", day * DAY, (day + 1) * DAY - 1, f"{i}.5", f"{i + 1}", "1e-8",
                    f"{i}.50", "0", qv))
    return out


def reference(path, rows: list[tuple]) -> list[tuple]:
    """A plain loop: one INSERT OR REPLACE a row into the same schema."""
    store = KlineStore(sqlite_utils.Database(path))
    with store.db.atomic():
        for row in rows:
            store.db.execute("INSERT OR REPLACE INTO klines VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
    return store.db.execute("SELECT * FROM klines ORDER BY symbol, interval, open_time").fetchall()


@pytest.mark.parametrize("n", [0, 1, ROWS_PER_INSERT - 1, ROWS_PER_INSERT, 3 * ROWS_PER_INSERT + 17])
def test_rows_stored_many_a_statement_equal_a_row_a_statement(tmp_path, n):
    rows = candle_rows(n)
    store = KlineStore(sqlite_utils.Database(tmp_path / "k.sqlite"))
    with store.db.atomic():
        store.add_rows(iter(rows))
    stored = store.db.execute("SELECT * FROM klines ORDER BY symbol, interval, open_time").fetchall()
    assert stored == reference(tmp_path / "ref.sqlite", rows)


def test_rows_are_inserted_many_a_statement(tmp_path):
    store = KlineStore(sqlite_utils.Database(tmp_path / "k.sqlite"))
    inserts: list[str] = []
    store.db.conn.set_trace_callback(lambda sql: inserts.append(sql) if sql.startswith("INSERT") else None)
    with store.db.atomic():
        store.add_rows(candle_rows(10 * ROWS_PER_INSERT + 3))
    assert len(inserts) == 10 + 3  # ten statements of ROWS_PER_INSERT rows, then the last rows one by one


@pytest.mark.parametrize("at", [5, 10 * ROWS_PER_INSERT + 1])  # in a full batch; among the last rows
def test_a_row_of_another_length_is_refused_not_shifted_into_the_next(tmp_path, at):
    rows = candle_rows(10 * ROWS_PER_INSERT + 3)
    rows[at] = rows[at][:-1]
    store = KlineStore(sqlite_utils.Database(tmp_path / "k.sqlite"))
    with pytest.raises((ValueError, sqlite3.ProgrammingError)):
        with store.db.atomic():
            store.add_rows(rows)
    assert store.db.execute("SELECT count(*) FROM klines").fetchone()[0] == 0  # the transaction rolled back


def test_an_existing_cache_opens_without_a_write_so_bots_starting_together_never_wait_on_each_other(tmp_path):
    path = tmp_path / "k.sqlite"
    KlineStore(sqlite_utils.Database(path)).db.conn.close()  # a new cache: the schema is written once
    writer = sqlite3.connect(path)
    writer.execute("BEGIN IMMEDIATE")  # another process in the middle of writing candles
    try:
        reader = sqlite_utils.Database(sqlite3.connect(path, timeout=0))  # a write would fail at once: locked
        assert KlineStore(reader).db is reader
    finally:
        writer.rollback()
        writer.close()
