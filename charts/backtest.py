"""Backtest results as the bot's charts: the equity chart over a simulated path, heatmaps over a sweep."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Sequence
from zoneinfo import ZoneInfo

from charts.equity import equity_chart
from charts.heatmap import heatmap_chart
from tradingbot.core.backtest.metrics import ANNUALISED_METRICS, ANNUALISED_MIN_DAYS, annualised, window_span
from tradingbot.core.domain import EquityMark

if TYPE_CHECKING:
    from tradingbot.app.backtester import BacktestReport, SweepRow

UTC = ZoneInfo("UTC")


def _dec(x: float) -> Decimal:
    return Decimal(repr(float(x)))


def backtest_equity_chart(report: BacktestReport) -> bytes:
    """The simulated equity at each day's close, BTC and the equal-weight universe beside it."""
    # A day's equity is valued at its close, which is the next midnight UTC
    start = datetime.combine(report.first_day, time(), timezone.utc) + timedelta(days=1)
    days = [start + timedelta(days=i) for i in range(len(report.equity))]
    marks = [EquityMark(t, _dec(e), Decimal(0), _dec(e), "backtest") for t, e in zip(days, report.equity.tolist())]
    benchmarks = {name: list(zip(days, map(_dec, path.tolist()))) for name, path in report.benchmarks.items()}
    return equity_chart(marks, _dec(report.config.capital), _dec(report.metrics["fees_paid"]), benchmarks, UTC,
                        report.config.params.quote)


def sweep_heatmap(rows: Sequence[SweepRow], x_key: str, y_key: str, metric: str, title: str,
                  settings: str = "") -> bytes:
    """The metric over two swept keys (rows given for one value of every other key)."""
    def value(row: SweepRow, key: str) -> str:
        return next(p.split("=", 1)[1] for p in row.pairs if p.startswith(key + "="))

    xs = list(dict.fromkeys(value(r, x_key) for r in rows))
    ys = list(dict.fromkeys(value(r, y_key) for r in rows))
    cell = {(value(r, y_key), value(r, x_key)): r.metrics.get(metric) for r in rows}
    grid = [[cell.get((y, x)) for x in xs] for y in ys]
    return heatmap_chart(grid, [f"{x_key} {x}" for x in xs], [f"{y_key} {y}" for y in ys], title, metric, settings,
                         _not_annualised(rows, metric))


def _not_annualised(rows: Sequence[SweepRow], metric: str) -> str:
    """Why some of the runs have no value of an annualised metric: their window is too short for one."""
    short = [r.metrics["days"] for r in rows if not annualised(r.metrics["days"])]
    if metric not in ANNUALISED_METRICS or not short:
        return ""
    return f"n/a: {metric} is annualised, not shown for windows under {ANNUALISED_MIN_DAYS} days ({window_span(short)})"
