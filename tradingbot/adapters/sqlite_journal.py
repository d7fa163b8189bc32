"""The rebalance journal in SQLite: slots, the ranking each acted on, orders, and how fills are booked.

Every write that must land together is one transaction; booking an execution is idempotent, so a
second process or a repeated lookup can never book the same fills twice.
"""
from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any, Callable, Iterable, Sequence

import sqlite_utils

from ..app.ports import Checkpoint
from ..core.domain import (
    EquityMark, Fill, OrderRecord, OrderStatus, Position, RankRow, Ranking, RebalanceRow, Side,
)
from ..core.ledger import Ledger
from ..core.timefmt import iso, parse_iso

UNSETTLED = (OrderStatus.PLANNED.value, OrderStatus.SENDING.value)


def text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


class SqliteJournal:
    """Journal methods of SqliteStore, which provides the ledger methods declared here."""

    db: sqlite_utils.Database
    quote: str
    checkpoint: Checkpoint  # named steps a crash test may kill at (crashpoints.POINTS); no-op in production
    # The journal books fills into the same ledger, in the same transaction.
    load_ledger: Callable[[], Ledger]
    _save_ledger: Callable[[Ledger, datetime], None]
    add_inventory: Callable[[datetime, int | None, list[Position], Decimal], None]
    add_mark: Callable[[EquityMark], None]

    # --- slots --------------------------------------------------------------------------
    def get_rebalance(self, slot: str) -> RebalanceRow | None:
        return next(iter(self._rebalances("WHERE slot = ?", [slot])), None)

    def unfinished_rebalances(self) -> list[RebalanceRow]:
        return self._rebalances("WHERE state IN ('selling', 'buying') ORDER BY id")

    # Newest and previous go by when a rebalance started, not by insertion order: a journal written
    # while a clock ran backwards (before that was refused) still reads in time order.
    def recent_rebalances(self, limit: int) -> list[RebalanceRow]:
        return self._rebalances("ORDER BY started_at DESC, id DESC LIMIT ?", [limit])

    def last_rebalance(self, states: tuple[str, ...] = ("done",)) -> RebalanceRow | None:
        marks = ",".join("?" * len(states))
        return next(iter(self._rebalances(f"WHERE state IN ({marks}) ORDER BY started_at DESC, id DESC LIMIT 1",
                                          list(states))), None)

    def previous_rebalance(self, rebalance_id: int) -> RebalanceRow | None:
        """The last completed rebalance that started before this one."""
        return next(iter(self._rebalances(
            "WHERE state = 'done' AND (started_at, id) < (SELECT started_at, id FROM rebalances WHERE id = ?)"
            " ORDER BY started_at DESC, id DESC LIMIT 1", [rebalance_id])), None)

    def newest_journaled(self) -> tuple[str | None, datetime | None]:
        """The newest scheduled slot's key (keys sort by time) and the latest start of any rebalance."""
        slot, started = self.db.execute(
            "SELECT (SELECT MAX(slot) FROM rebalances WHERE kind = 'scheduled'), MAX(started_at) FROM rebalances"
        ).fetchone()
        return slot, parse_iso(started) if started else None

    def _rebalances(self, where: str, params: list[Any] | None = None) -> list[RebalanceRow]:
        cur = self.db.execute(f"SELECT * FROM rebalances {where}", params or [])
        cols = [d[0] for d in cur.description]
        return [_rebalance(dict(zip(cols, row))) for row in cur.fetchall()]

    def start_rebalance(self, slot: str, kind: str, state: str, at: datetime, strategy: str, mode: str,
                        targets: tuple[str, ...], equity_before: Decimal, note: str = "",
                        ranking: Ranking | None = None) -> RebalanceRow:
        """Open the journal entry of a slot (with the ranking it acts on); a second start of a slot fails."""
        with self.db.atomic():
            cur = self.db.execute(
                "INSERT INTO rebalances (slot, kind, state, started_at, strategy, mode, targets, equity_before,"
                " turnover, fees, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '0', '0', ?)",
                [slot, kind, state, iso(at), strategy, mode, json.dumps(list(targets)), str(equity_before), note],
            )
            if ranking is not None:
                self.db.conn.executemany(
                    "INSERT INTO rankings (rebalance_id, rank, symbol, score, quote_volume, eligible, selected,"
                    " reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(cur.lastrowid, r.rank, r.symbol, text(r.score), str(r.quote_volume), r.eligible,
                      r.selected, r.reason) for r in ranking.rows],
                )
        row = self.get_rebalance(slot)
        assert row is not None
        return row

    def ranking_of(self, rebalance_id: int) -> list[RankRow]:
        rows = self.db.execute(
            "SELECT symbol, score, quote_volume, eligible, reason, selected, rank FROM rankings"
            " WHERE rebalance_id = ? ORDER BY id", [rebalance_id]
        ).fetchall()
        return [RankRow(s, Decimal(sc) if sc is not None else None, Decimal(v), bool(e), why, bool(sel), rk)
                for s, sc, v, e, why, sel, rk in rows]

    def update_rebalance(self, slot: str, **fields: Any) -> None:
        with self.db.atomic():
            self._update_rebalance(slot, fields)

    def _update_rebalance(self, slot: str, fields: dict[str, Any]) -> None:
        values = {k: (iso(v) if isinstance(v, datetime) else str(v) if isinstance(v, Decimal) else v)
                  for k, v in fields.items()}
        sets = ", ".join(f"{k} = ?" for k in values)
        self.db.execute(f"UPDATE rebalances SET {sets} WHERE slot = ?", [*values.values(), slot])

    def finish_rebalance(self, row: RebalanceRow, at: datetime, positions: list[Position], cash: Decimal,
                         mark: EquityMark, **fields: Any) -> None:
        """Inventory snapshot, equity mark and the final state land together (a kill cannot half-finish)."""
        with self.db.atomic():
            self.add_inventory(at, row.id, positions, cash)
            self.add_mark(mark)
            self._update_rebalance(row.slot, fields)

    # --- orders -------------------------------------------------------------------------
    def add_orders(self, rebalance_id: int | None, slot: str, orders: Iterable[OrderRecord], at: datetime) -> None:
        """Journal planned (and skipped) orders, all together, before anything is sent."""
        with self.db.atomic():
            self.db.conn.executemany(
                "INSERT INTO orders (client_order_id, rebalance_id, slot, leg, symbol, side, requested_qty,"
                " requested_quote, status, error, created_at, updated_at, signal_mid)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [(o.client_order_id, rebalance_id, slot, o.leg, o.symbol, o.side.value, text(o.requested_qty),
                  text(o.requested_quote), o.status.value, o.error, iso(at), iso(at), text(o.signal_mid))
                 for o in orders],
            )

    def orders_for(self, slot: str, leg: str | None = None) -> list[OrderRecord]:
        sql, params = "SELECT * FROM orders WHERE slot = ?", [slot]
        if leg:
            sql, params = sql + " AND leg = ?", [slot, leg]
        cur = self.db.execute(sql + " ORDER BY rowid", params)
        cols = [d[0] for d in cur.description]
        return [_order(dict(zip(cols, r))) for r in cur.fetchall()]

    def filled_orders(self, slots: Sequence[str]) -> dict[str, list[OrderRecord]]:
        """The orders with fills of each slot, in one query: a rebalance also records an order skipped for each
        dust holding, and those pile up over a year (a cost report reads only what traded)."""
        if not slots:
            return {}
        cur = self.db.execute(f"SELECT * FROM orders WHERE slot IN ({','.join('?' * len(slots))}) AND EXISTS "
                              "(SELECT 1 FROM fills WHERE fills.client_order_id = orders.client_order_id) "
                              "ORDER BY rowid", list(slots))
        cols = [d[0] for d in cur.description]
        found: dict[str, list[OrderRecord]] = {slot: [] for slot in slots}
        for r in cur.fetchall():
            row = dict(zip(cols, r))
            found[row["slot"]].append(_order(row))
        return found

    def unsettled_orders(self, leg: str) -> list[OrderRecord]:
        """Orders of a leg still planned or being sent, oldest first (what a crash left open)."""
        cur = self.db.execute(f"SELECT * FROM orders WHERE leg = ? AND status IN ({','.join('?' * len(UNSETTLED))})"
                              " ORDER BY rowid", [leg, *UNSETTLED])
        cols = [d[0] for d in cur.description]
        return [_order(dict(zip(cols, r))) for r in cur.fetchall()]

    def set_order_status(self, client_order_id: str, status: OrderStatus, at: datetime,
                         error_code: int | None = None, error: str = "") -> None:
        """Move an unsettled order on; a settled one (filled, rejected) never changes again."""
        with self.db.atomic():
            self.db.execute(
                "UPDATE orders SET status = ?, error_code = ?, error = ?, updated_at = ?"
                f" WHERE client_order_id = ? AND status IN ({','.join('?' * len(UNSETTLED))})",
                [status.value, error_code, error, iso(at), client_order_id, *UNSETTLED],
            )

    def record_execution(self, client_order_id: str, status: OrderStatus, exchange_order_id: str,
                         fills: tuple[Fill, ...], base: str, rebalance_id: int | None, at: datetime,
                         quoted: tuple[Decimal | None, Decimal | None] = (None, None)) -> bool:
        """Book an execution once: fills, the order's final status (with the mid and best quote it met, `quoted`,
        and its average price) and the ledger move in one transaction.

        Returns False (and writes nothing) when the order was already settled, e.g. by another process.
        """
        with self.db.atomic():
            cur = self.db.execute(
                "UPDATE orders SET status = ?, exchange_order_id = ?, updated_at = ?, send_mid = ?, send_touch = ?,"
                f" avg_price = ? WHERE client_order_id = ? AND status IN ({','.join('?' * len(UNSETTLED))})",
                [status.value, exchange_order_id, iso(at), text(quoted[0]), text(quoted[1]), text(average(fills)),
                 client_order_id, *UNSETTLED],
            )
            if cur.rowcount == 0:
                return False
            ledger = self.load_ledger()
            for f in fills:
                self.db.execute(
                    "INSERT INTO fills (client_order_id, rebalance_id, symbol, side, price, quantity, quote_quantity,"
                    " commission, commission_asset, fee_quote, time, trade_id, priced_by)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    [client_order_id, rebalance_id, f.symbol, f.side.value, str(f.price), str(f.quantity),
                     str(f.quote_quantity), str(f.commission), f.commission_asset, str(f.fee_quote),
                     iso(f.time), f.trade_id, f.priced_by or None],
                )
                ledger.apply_fill(f, base)
            self.checkpoint("ledger-write")
            self._save_ledger(ledger, at)
        return True


def _rebalance(r: dict[str, Any]) -> RebalanceRow:
    return RebalanceRow(
        id=r["id"], slot=r["slot"], kind=r["kind"], state=r["state"],
        started_at=parse_iso(r["started_at"]),
        finished_at=parse_iso(r["finished_at"]) if r["finished_at"] else None,
        strategy=r["strategy"], mode=r["mode"], targets=tuple(json.loads(r["targets"])),
        equity_before=Decimal(r["equity_before"]),
        equity_after=Decimal(r["equity_after"]) if r["equity_after"] is not None else None,
        turnover=Decimal(r["turnover"]), fees=Decimal(r["fees"]),
        signal_to_fill_ms=r["signal_to_fill_ms"], note=r["note"] or "",
        signal_prices={s: Decimal(p) for s, p in json.loads(r.get("signal_prices") or "{}").items()},
    )


def _order(r: dict[str, Any]) -> OrderRecord:
    return OrderRecord(
        client_order_id=r["client_order_id"], rebalance_id=r["rebalance_id"], slot=r["slot"], leg=r["leg"],
        symbol=r["symbol"], side=Side(r["side"]),
        requested_qty=Decimal(r["requested_qty"]) if r["requested_qty"] is not None else None,
        requested_quote=Decimal(r["requested_quote"]) if r["requested_quote"] is not None else None,
        status=OrderStatus(r["status"]), error_code=r["error_code"], error=r["error"] or "",
        signal_mid=_amount(r.get("signal_mid")), send_mid=_amount(r.get("send_mid")),
        send_touch=_amount(r.get("send_touch")), avg_price=_amount(r.get("avg_price")),
    )


def _amount(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def average(fills: tuple[Fill, ...]) -> Decimal | None:
    """The fills' volume-weighted price (None without fills)."""
    qty = sum((f.quantity for f in fills), Decimal(0))
    return sum((f.quote_quantity for f in fills), Decimal(0)) / qty if qty else None
