"""The bot's filled market orders as the cost calibration reads them, from the orders, fills and rankings tables.

Amounts stay Decimal until the fit (core/backtest/calibrate.py) turns them into statistics.
"""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import sqlite_utils

from ..core.backtest.calibrate import FilledOrder
from ..core.timefmt import parse_iso

# Each order with fills, beside the 7-day mean daily quote volume its rebalance's ranking recorded (if any).
_ORDERS = """
    SELECT o.client_order_id, o.symbol, o.side, o.created_at, o.signal_mid, o.send_mid, o.send_touch, o.avg_price,
        (SELECT k.quote_volume FROM rankings k WHERE k.rebalance_id = o.rebalance_id AND k.symbol = o.symbol
         ORDER BY k.id LIMIT 1) AS ranked_volume
    FROM orders o WHERE EXISTS (SELECT 1 FROM fills f WHERE f.client_order_id = o.client_order_id)
    ORDER BY o.created_at, o.client_order_id"""


def _amount(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


class SqliteFilledOrders:
    """Read-only: every order with fills, with the fills' quote and base summed and their pricing models."""

    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def filled_market_orders(self) -> list[FilledOrder]:
        quote: dict[str, Decimal] = defaultdict(Decimal)
        qty: dict[str, Decimal] = defaultdict(Decimal)
        models: dict[str, set[str]] = defaultdict(set)
        for f in self.db.query("SELECT client_order_id, quantity, quote_quantity, priced_by FROM fills"):
            coid = f["client_order_id"]
            quote[coid] += Decimal(f["quote_quantity"])
            qty[coid] += Decimal(f["quantity"])
            if f["priced_by"]:
                models[coid].add(f["priced_by"])
        out = []
        for o in self.db.query(_ORDERS):
            coid = o["client_order_id"]
            if not qty[coid]:
                continue
            out.append(FilledOrder(o["symbol"], o["side"], parse_iso(o["created_at"]).date(),
                                   _amount(o["signal_mid"]), _amount(o["send_mid"]),
                                   _amount(o["send_touch"]), _amount(o["avg_price"]) or quote[coid] / qty[coid],
                                   quote[coid], frozenset(models[coid]), _amount(o["ranked_volume"])))
        return out
