import sqlite3
from datetime import timedelta
from decimal import Decimal

import pytest

from tests.builders import NOW
from tradingbot.adapters import schema
from tradingbot.adapters.sqlite_store import SqliteStore, open_database
from tradingbot.core.domain import ZERO, Change, EquityMark


def test_schema_is_versioned_wal_and_enforces_foreign_keys(tmp_path):
    db = open_database(tmp_path / "x.sqlite")
    store = SqliteStore(db, "USDT")
    assert store.schema_version == len(schema.MIGRATIONS)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO fills (client_order_id, symbol, side, price, quantity, quote_quantity, commission,"
                   " commission_asset, fee_quote, time) VALUES ('nope', 'X', 'BUY', '1', '1', '1', '0', 'X', '0', 't')")
    SqliteStore(db, "USDT")  # reopening migrates nothing twice
    assert store.schema_version == len(schema.MIGRATIONS)


def test_a_version_1_database_is_migrated_in_place(tmp_path):
    db = open_database(tmp_path / "old.sqlite")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    for sql in schema.V1:
        db.execute(sql)
    db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    db.execute("INSERT INTO params VALUES ('topn', '5')")
    db.conn.commit()
    store = SqliteStore(db, "USDT")
    assert store.schema_version == len(schema.MIGRATIONS) and store.load_params() == {"topn": "5"}
    assert "rankings" in db.table_names()


def test_slot_can_be_started_only_once(tmp_path):
    store = SqliteStore(open_database(tmp_path / "x.sqlite"), "USDT")
    store.start_rebalance("S20261124T0900", "scheduled", "selling", NOW, "momentum", "full", ("AUSDT",), Decimal(1))
    with pytest.raises(sqlite3.IntegrityError):
        store.start_rebalance("S20261124T0900", "scheduled", "selling", NOW, "momentum", "full", (), Decimal(1))


def test_params_and_their_audit_rows_are_saved_together(tmp_path):
    store = SqliteStore(open_database(tmp_path / "x.sqlite"), "USDT")
    store.save_params({"topn": "5"}, [Change("topn", "10", "5")], "telegram:42", NOW)
    assert store.load_params() == {"topn": "5"}
    assert store.param_changes() == [{"time": "2026-11-24T09:00:00.000Z", "who": "telegram:42", "key": "topn",
                                      "old": "10", "new": "5"}]


def test_marks_are_found_by_time_and_exact(tmp_path):
    store = SqliteStore(open_database(tmp_path / "x.sqlite"), "USDT")
    store.add_marks([EquityMark(NOW + timedelta(hours=h), Decimal("10000.123456789"), Decimal(1), Decimal(0))
                     for h in range(48)])
    mark = store.mark_at_or_before(NOW + timedelta(hours=5, minutes=30))
    assert mark.time == NOW + timedelta(hours=5) and mark.equity == Decimal("10000.123456789")
    assert store.mark_at_or_before(NOW - timedelta(seconds=1)) is None
    assert len(store.marks(since=NOW + timedelta(hours=40))) == 8


def test_bi_views_read_as_numbers(tmp_path):
    db = open_database(tmp_path / "x.sqlite")
    store = SqliteStore(db, "USDT")
    store.add_mark(EquityMark(NOW, Decimal("10000.5"), Decimal("0.5"), Decimal(10000)))
    assert db.execute("SELECT equity FROM bi_equity").fetchone()[0] == 10000.5


def test_the_last_known_price_is_the_newest_of_snapshot_and_fill(world):
    import asyncio

    from tradingbot.core.domain import Position

    summary = asyncio.run(world.services.rebalance_slot())
    fill = summary.fills[0]
    asset = fill.symbol.removesuffix("USDT")
    assert world.store.last_prices()[fill.symbol] != Decimal(999)
    # a snapshot older than the fill (as when a later slot traded and has not finished yet) loses to it
    world.store.add_inventory(fill.time - timedelta(hours=1), None,
                              [Position(asset, Decimal(1), ZERO, ZERO, ZERO, Decimal(999))], ZERO)
    assert world.store.last_prices()[fill.symbol] == fill.price
    # and a newer snapshot wins over the fill
    world.store.add_inventory(fill.time + timedelta(hours=1), None,
                              [Position(asset, Decimal(1), ZERO, ZERO, ZERO, Decimal(999))], ZERO)
    assert world.store.last_prices()[fill.symbol] == Decimal(999)


def _vm_steps(db, read) -> int:
    """SQLite virtual-machine instructions (in hundreds) a read takes: work done, not wall time."""
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    db.conn.set_progress_handler(count, 100)
    try:
        read()
    finally:
        db.conn.set_progress_handler(None, 0)
    return steps[0]


def test_the_last_known_prices_cost_per_asset_not_per_snapshot_kept(tmp_path):
    """/status and /pnl read them on every call: a year of daily snapshots must not make them slower (issue 17)."""
    from tradingbot.core.domain import Position

    db = open_database(tmp_path / "x.sqlite")
    store = SqliteStore(db, "USDT")
    held = [Position(f"A{i}", Decimal(1), ZERO, ZERO, ZERO, Decimal(i + 1)) for i in range(20)]
    work, prices, kept = [], [], 0
    for days in (50, 400):
        for day in range(kept, days):
            store.add_inventory(NOW + timedelta(days=day), None, held, ZERO)
        kept = days
        work.append(_vm_steps(db, store.last_prices))
        prices.append(store.last_prices())
    assert prices[0] == prices[1] == {f"A{i}USDT": Decimal(i + 1) for i in range(20)}
    assert work[1] <= work[0] * 1.5 + 1, f"8× the snapshots: {work[1]}00 VM steps against {work[0]}00"
