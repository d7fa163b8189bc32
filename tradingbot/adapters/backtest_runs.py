"""Backtest results kept in the bot's database, so the dashboard can show every /backtest and `bot.py backtest`.

A run keeps its settings, its metrics and its benchmarks', and the daily equity paths; a sweep keeps every
combination's settings and metrics. Stored as JSON documents (floats: the backtester's own arithmetic).
"""
from __future__ import annotations

import json
import math
from datetime import datetime
from typing import TYPE_CHECKING, Any, Sequence

import sqlite_utils

from ..core.timefmt import iso

if TYPE_CHECKING:
    from ..core.backtest.report import BacktestReport, SweepRow


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity (a browser refuses them): such a figure is stored as null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _settings(config: Any) -> dict[str, Any]:
    return {**config.params.to_strings(), "delay": config.delay, "capital": config.capital,
            "cost_model": config.execution.cost_model, "impact_k": config.execution.impact_k,
            "start": config.start.isoformat() if config.start else None,
            "end": config.end.isoformat() if config.end else None}


def run_result(report: BacktestReport) -> dict[str, Any]:
    return {"settings": _settings(report.config), "metrics": report.metrics, "benchmarks": report.benchmark_metrics,
            "first_day": report.first_day.isoformat(), "equity": [round(float(v), 4) for v in report.equity],
            "paths": {name: [round(float(v), 4) for v in path] for name, path in report.benchmarks.items()},
            "symbols": report.symbols, "last_picks": list(report.last_picks)}


def sweep_result(keys: Sequence[str], rows: Sequence[SweepRow], sort: str) -> dict[str, Any]:
    return {"keys": list(keys), "sort": sort, "settings": _settings(rows[0].config) if rows else {},
            "rows": [{"pairs": dict(p.split("=", 1) for p in r.pairs), "metrics": r.metrics} for r in rows]}


class SqliteBacktestRuns:
    def __init__(self, db: sqlite_utils.Database):
        self.db = db

    def add(self, kind: str, result: dict[str, Any], summary: str, who: str, at: datetime) -> None:
        with self.db.atomic():
            self.db.execute("INSERT INTO backtest_runs (time, who, kind, summary, result) VALUES (?, ?, ?, ?, ?)",
                            [iso(at), who, kind, summary, json.dumps(_finite(result), allow_nan=False)])

    def add_run(self, report: BacktestReport, summary: str, who: str, at: datetime) -> None:
        self.add("run", run_result(report), summary, who, at)

    def add_sweep(self, keys: Sequence[str], rows: Sequence[SweepRow], sort: str, who: str, at: datetime) -> None:
        self.add("sweep", sweep_result(keys, rows, sort), f"sweep of {len(rows)} runs over {', '.join(keys)}", who, at)

    def listing(self) -> list[dict[str, Any]]:
        """Every stored run, newest first, with its headline metrics (not its paths)."""
        out = []
        for rid, t, who, kind, summary, result in self.db.execute(
                "SELECT id, time, who, kind, summary, result FROM backtest_runs ORDER BY id DESC"):
            doc = json.loads(result)
            best = max(doc.get("rows", []), key=lambda r: r["metrics"].get(doc.get("sort", "")) or float("-inf"),
                       default=None)
            metrics = doc.get("metrics") or (best["metrics"] if best else {})
            out.append({"id": rid, "time": t, "who": who, "kind": kind, "summary": summary, "metrics": metrics})
        return out

    def get(self, run_id: int) -> dict[str, Any] | None:
        row = self.db.execute("SELECT id, time, who, kind, summary, result FROM backtest_runs WHERE id = ?",
                              [run_id]).fetchone()
        if row is None:
            return None
        return {"id": row[0], "time": row[1], "who": row[2], "kind": row[3], "summary": row[4],
                "result": json.loads(row[5])}
