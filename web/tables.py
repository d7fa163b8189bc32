"""Every table a dashboard page shows, built once: the page renders it and the CSV download writes it.

Cells keep exact values (Decimal as text, times as epoch seconds); the browser formats them, the CSV keeps them.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Sequence

from tradingbot.core.params import PARAM_SPECS, StrategyParams
from tradingbot.core.performance import CoinPnl, PeriodReturn
from tradingbot.app.dashboard_reports import RebalanceDetail, RebalanceLine
from tradingbot.app.reports import PositionsReport
from tradingbot.core.timefmt import parse_iso

# kinds tell the browser how to format a column: text, money, qty, pct, time, int, ms
Column = tuple[str, str]


@dataclass(frozen=True)
class Table:
    columns: list[Column]
    rows: list[list[Any]]

    def json(self) -> dict[str, Any]:
        return {"columns": [{"name": n, "kind": k} for n, k in self.columns],
                "rows": [[_json_cell(v) for v in row] for row in self.rows]}

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([name for name, _ in self.columns])
        for row in self.rows:
            writer.writerow([_csv_cell(v, kind) for v, (_, kind) in zip(row, self.columns)])
        return out.getvalue()


def _json_cell(v: Any) -> Any:
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, datetime):
        return v.timestamp()
    return v


def _csv_cell(v: Any, kind: str) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.astimezone(timezone.utc).isoformat()
    text = str(v)
    # A cell a spreadsheet would run as a formula (=, +, -, @ at the start of text from the database) stays text.
    return "'" + text if kind == "text" and text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def holdings(report: PositionsReport) -> Table:
    """Positions by value, then cash, then dust (leftovers no order can sell: see core.planning.is_dust)."""
    ranked = sorted(report.positions, key=lambda p: (p.dust, -p.value))
    cash = [report.quote, report.cash, Decimal(1), report.cash,
            report.cash / report.equity * 100 if report.equity else Decimal(0), Decimal(0), False]
    rows = [[p.asset, p.quantity, p.price, p.value, report.weight(p) * 100, p.unrealized, p.dust]
            for p in ranked]
    held = sum(1 for p in ranked if not p.dust)
    return Table([("asset", "text"), ("quantity", "qty"), ("price", "money"), ("value", "money"),
                  ("weight %", "pct"), ("unrealized P/L", "money"), ("dust", "bool")], rows[:held] + [cash] + rows[held:])


def rebalances(lines: Sequence[RebalanceLine]) -> Table:
    rows = [[x.row.id, x.row.slot, x.row.started_at, x.row.state, x.row.kind, x.row.mode, x.sold, x.bought,
             x.row.turnover, x.row.fees, x.period_pnl, x.row.signal_to_fill_ms, x.row.note] for x in lines]
    return Table([("id", "int"), ("slot", "text"), ("started", "time"), ("state", "text"), ("kind", "text"),
                  ("mode", "text"), ("sold", "int"), ("bought", "int"), ("turnover", "money"), ("fees", "money"),
                  ("period P/L", "money"), ("signal to fill ms", "ms"), ("note", "text")], rows)


def ranking(detail: RebalanceDetail) -> Table:
    picked = sum(1 for r in detail.ranking if r.selected)
    rows = [[r.rank, r.symbol, r.score * 100 if r.score is not None else None, r.selected, r.eligible,
             r.reason or ("" if r.selected else f"ranked below the top {picked}"), r.quote_volume]
            for r in detail.ranking]
    return Table([("rank", "int"), ("symbol", "text"), ("score %", "pct"), ("bought", "bool"), ("eligible", "bool"),
                  ("why not bought", "text"), ("quote volume", "money")], rows)


def orders(detail: RebalanceDetail) -> Table:
    rows = [[o.symbol, o.side.value, o.status.value, o.requested_qty, o.requested_quote, o.error, o.leg,
             o.client_order_id] for o in detail.orders]
    return Table([("symbol", "text"), ("side", "text"), ("status", "text"), ("quantity asked", "qty"),
                  ("quote asked", "money"), ("error", "text"), ("leg", "text"), ("client order id", "text")], rows)


def fills(detail: RebalanceDetail) -> Table:
    rows = [[f.symbol, f.side.value, f.price, f.quantity, f.quote_quantity, f.fee_quote, f.commission,
             f.commission_asset, f.time] for f in detail.fills]
    return Table([("symbol", "text"), ("side", "text"), ("price", "money"), ("quantity", "qty"), ("quote", "money"),
                  ("fee", "money"), ("commission", "qty"), ("commission asset", "text"), ("time", "time")], rows)


def periods(items: Sequence[PeriodReturn]) -> Table:
    rows = [[r.start.isoformat(), r.equity_start, r.equity_end, r.change, r.pct * 100 if r.pct is not None else None]
            for r in reversed(items)]
    return Table([("period", "text"), ("equity at start", "money"), ("equity at end", "money"),
                  ("change", "money"), ("return %", "pct")], rows)


def coins(items: Sequence[CoinPnl]) -> Table:
    rows = [[c.asset, c.pnl, c.value_start, c.bought, c.sold, c.value_end, c.fees] for c in items]
    return Table([("asset", "text"), ("P/L", "money"), ("value at start", "money"), ("bought", "money"),
                  ("sold", "money"), ("value at end", "money"), ("fees", "money")], rows)


def parameters(params: StrategyParams) -> Table:
    values = params.to_strings()
    return Table([("key", "text"), ("value", "text"), ("meaning", "text"), ("allowed", "text")],
                 [[s.key, values[s.key], s.help, s.allowed] for s in PARAM_SPECS])


def parameter_changes(changes: Sequence[dict[str, str]]) -> Table:
    return Table([("time", "time"), ("who", "text"), ("key", "text"), ("old", "text"), ("new", "text")],
                 [[parse_iso(c["time"]), c["who"], c["key"], c["old"], c["new"]] for c in changes])


BACKTEST_METRICS = (("total return %", "total_return", "pct"), ("CAGR %", "cagr", "pct"), ("Sharpe", "sharpe", "num"),
                    ("Sortino", "sortino", "num"), ("max drawdown %", "max_drawdown", "pct"),
                    ("final equity", "final_equity", "money"), ("fees", "fees_paid", "money"))


def _metric(metrics: dict[str, Any], key: str, kind: str) -> Any:
    value = metrics.get(key)
    return value * 100 if kind == "pct" and value is not None else value


def backtests(runs: Sequence[dict[str, Any]]) -> Table:
    """Every stored backtest, newest first; a sweep shows its best run by its sort metric."""
    rows = [[r["id"], parse_iso(r["time"]), r["who"], r["kind"], r["summary"],
             *(_metric(r["metrics"], key, kind) for _, key, kind in BACKTEST_METRICS)] for r in runs]
    return Table([("id", "int"), ("time", "time"), ("who", "text"), ("kind", "text"), ("settings", "text"),
                  *((name, kind) for name, _, kind in BACKTEST_METRICS)], rows)


def backtest_metrics(result: dict[str, Any]) -> Table:
    """One run's figures beside its benchmarks'."""
    columns = {"strategy": result["metrics"], **result.get("benchmarks", {})}
    return Table([("figure", "text"), *((name, "num") for name in columns)],
                 [[name, *(_metric(m, key, kind) for m in columns.values())] for name, key, kind in BACKTEST_METRICS])


def sweep(result: dict[str, Any]) -> Table:
    keys = result["keys"]
    ordered = sorted(result["rows"], key=lambda r: -(r["metrics"].get(result["sort"]) or float("-inf")))
    return Table([*((k, "text") for k in keys), *((name, kind) for name, _, kind in BACKTEST_METRICS)],
                 [[*(r["pairs"].get(k) for k in keys), *(_metric(r["metrics"], key, kind)
                                                         for _, key, kind in BACKTEST_METRICS)] for r in ordered])
