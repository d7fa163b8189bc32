"""The dashboard's JSON answers, one per page, each with its tables (which the CSV download writes as they are).

Store reads run in a worker thread (one at a time on the read-only connection), so a page never holds up
the bot's asyncio loop; a live valuation (when the bot serves the page) runs on the loop like /positions.
"""
from __future__ import annotations

import asyncio
import gzip
import json
import math
import time
from datetime import datetime, timedelta
from decimal import Decimal
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

import numpy as np

from tradingbot.core.errors import UserError
from tradingbot.core.params import format_duration
from tradingbot.core.performance import parse_window
from tradingbot.core.redaction import shown
from tradingbot.app.dashboard_reports import Overview, Reports, Series, performance_report

from . import tables
from .tables import Table

T = TypeVar("T")
MAX_POINTS = 2_000  # per chart series sent to a browser


class NotFound(Exception):
    pass


async def _read(reports: Reports, fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(reports.store.run, fn, *args)


def _time(t: datetime | None) -> float | None:
    return t.timestamp() if t else None


def _aligned(times: list[float], series: Series | None, within_s: float = 120.0) -> list[float | None]:
    """A benchmark's value at each equity mark it was marked beside (None between: the chart joins its points)."""
    if series is None or not series.times:
        return [None] * len(times)
    at, marked = np.asarray(times, dtype=float), np.asarray(series.times, dtype=float)
    i = np.searchsorted(marked, at + within_s, side="right") - 1
    near = (i >= 0) & (np.abs(marked[np.maximum(i, 0)] - at) <= within_s)
    values = np.asarray(series.values, dtype=float)[np.maximum(i, 0)]
    return [float(v) if ok else None for v, ok in zip(values, near)]


def _rebalance_json(row: Any) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"id": row.id, "slot": row.slot, "state": row.state, "kind": row.kind,
            "started": _time(row.started_at), "finished": _time(row.finished_at), "note": row.note}


def thinned(equity: list[float], drawdown: list[float], most: int = MAX_POINTS) -> list[int]:
    """Indices of the points a chart keeps: all of them when few, else per bucket its first point, lowest and
    highest equity and deepest drawdown (a screen is ~1,500 px wide; a year of hourly marks is 8,760)."""
    n = len(equity)
    if n <= most:
        return list(range(n))
    size = math.ceil(n / (most / 4))
    e, d = np.asarray(equity), np.asarray(drawdown)
    keep = {n - 1}
    for start in range(0, n, size):
        end = min(n, start + size)
        keep.update((start, start + int(e[start:end].argmin()), start + int(e[start:end].argmax()),
                     start + int(d[start:end].argmin())))
    return sorted(keep)


def overview_json(o: Overview) -> dict[str, Any]:
    r = o.risk
    figures: dict[str, float | None] = {k: float(v) for k, v in (("equity", o.equity), ("deposits", o.deposits), ("net", o.net),
                                        ("realized", o.realized), ("unrealized", o.unrealized), ("fees", o.fees),
                                        ("cash", o.cash))}
    figures.update(marked_at=_time(o.marked_at), max_drawdown=r.max_drawdown, drawdown_now=r.drawdown_now,
                   max_drawdown_days=r.max_drawdown_duration / timedelta(days=1), sharpe=r.sharpe,
                   sortino=r.sortino, volatility=r.volatility, days=r.days)
    kept = thinned(o.equity_series.values, o.drawdown_series.values)
    t = [o.equity_series.times[i] for i in kept]
    return {
        "quote": o.quote, "timezone": o.timezone, "figures": figures,
        "status": {"last_rebalance": _rebalance_json(o.last_rebalance), "next_run": _time(o.next_run),
                   "paused": o.paused, "venue": o.venue, "market": o.market,
                   "health": [{"name": h.name, "host": h.host, "reachable": h.reachable, "weight": h.used_weight,
                               "budget": h.budget, "error": shown(h.last_error, admin=False)} for h in o.health]},
        "equity": {"t": t, "equity": [o.equity_series.values[i] for i in kept],
                   "btc": _aligned(t, o.benchmarks.get("BTC buy & hold")),
                   "universe": _aligned(t, o.benchmarks.get("Equal-weight universe")),
                   "drawdown": [o.drawdown_series.values[i] for i in kept]},
        "changes": o.param_changes,
    }


def _page(head: dict[str, Any], named: dict[str, Table]) -> tuple[dict[str, Any], dict[str, Table]]:
    return {**head, "tables": {name: table.json() for name, table in named.items()}}, named


async def overview(reports: Reports, query: dict[str, str]) -> tuple[dict[str, Any], dict[str, Table]]:
    return _page(overview_json(await _read(reports, reports.overview)), {})


async def holdings(reports: Reports, query: dict[str, str]) -> tuple[dict[str, Any], dict[str, Table]]:
    held = await reports.positions()
    times, layers = await _read(reports, reports.holdings_history)
    stepped = {"t": [t.timestamp() for t in times], "layers": [[name, values] for name, values in layers.items()]}
    return _page({"quote": held.quote, "equity": float(held.equity), "history": stepped},
                 {"holdings": tables.holdings(held)})


async def rebalances(reports: Reports, query: dict[str, str]) -> tuple[dict[str, Any], dict[str, Table]]:
    lines = await _read(reports, reports.rebalances)
    return _page({"quote": reports.store.quote}, {"rebalances": tables.rebalances(lines)})


async def rebalance(reports: Reports, query: dict[str, str]) -> tuple[dict[str, Any], dict[str, Table]]:
    rid = query.get("id", "")
    if not rid.isdigit() or len(rid) > 12:
        raise NotFound("no such rebalance")
    detail = await _read(reports, reports.rebalance, int(rid))
    if detail is None:
        raise NotFound("no such rebalance")
    row = detail.line.row
    head = {"quote": reports.store.quote, "rebalance": {
        **(_rebalance_json(row) or {}), "mode": row.mode, "strategy": row.strategy, "targets": list(row.targets),
        "equity_before": float(row.equity_before), "turnover": float(row.turnover), "fees": float(row.fees),
        "equity_after": float(row.equity_after) if row.equity_after is not None else None,
        "signal_to_fill_ms": row.signal_to_fill_ms, "sold": detail.line.sold, "bought": detail.line.bought,
        "period_pnl": float(detail.line.period_pnl) if detail.line.period_pnl is not None else None,
        "delta_fees": float(detail.delta_fees) if detail.delta_fees is not None else None}}
    return _page(head, {"ranking": tables.ranking(detail), "orders": tables.orders(detail),
                        "fills": tables.fills(detail)})


async def performance(reports: Reports, query: dict[str, str]) -> tuple[dict[str, Any], dict[str, Table]]:
    try:
        window = parse_window(query.get("window", "30d"))
    except UserError as e:
        raise NotFound(str(e)) from None
    window_text = "all" if window is None else format_duration(window)
    held = await reports.positions()
    zone = (await _read(reports, lambda: reports.params)).zone
    report = await _read(reports, performance_report, reports.store, held, zone, window)
    monthly = [{"month": r.start.isoformat()[:7], "pct": float(r.pct) if r.pct is not None else None}
               for r in report.monthly]
    return _page({"quote": held.quote, "window": window_text, "since": _time(report.since), "monthly": monthly},
                 {"coins": tables.coins(report.coins), "daily": tables.periods(report.daily),
                  "weekly": tables.periods(report.weekly), "monthly": tables.periods(report.monthly)})


async def parameters(reports: Reports, query: dict[str, str]) -> tuple[dict[str, Any], dict[str, Table]]:
    params = await _read(reports, lambda: reports.params)
    changes = await _read(reports, reports.parameter_changes)
    return _page({}, {"current": tables.parameters(params), "changes": tables.parameter_changes(changes)})


async def backtests(reports: Reports, query: dict[str, str]) -> tuple[dict[str, Any], dict[str, Table]]:
    runs = await _read(reports, reports.backtests)
    return _page({}, {"backtests": tables.backtests(runs)})


async def backtest(reports: Reports, query: dict[str, str]) -> tuple[dict[str, Any], dict[str, Table]]:
    rid = query.get("id", "")
    run = await _read(reports, reports.backtest, int(rid)) if rid.isdigit() and len(rid) <= 12 else None
    if run is None:
        raise NotFound("no such backtest")
    result = run.pop("result")
    if run["kind"] == "sweep":
        grid = {"keys": result["keys"], "sort": result["sort"], "rows": result["rows"]}
        return _page({"backtest": run, "sweep": grid}, {"runs": tables.sweep(result)})
    paths = {"first_day": result["first_day"], "equity": result["equity"], "benchmarks": result["paths"]}
    return _page({"backtest": run, "paths": paths, "settings": result["settings"]},
                 {"metrics": tables.backtest_metrics(result)})


PAGES = {"overview": overview, "holdings": holdings, "rebalances": rebalances, "rebalance": rebalance,
         "performance": performance, "parameters": parameters, "backtests": backtests, "backtest": backtest}


def _finite(value: Any) -> Any:
    """The body with every NaN or infinity replaced by None, at any depth."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


@dataclass(frozen=True)
class Encoded:
    """A page's JSON as sent: encoded once per computation (a year's overview is ~0.3 MB), and gzipped."""

    plain: bytes
    gzipped: bytes

    @classmethod
    def of(cls, body: dict[str, Any]) -> "Encoded":
        # JSON has no NaN: a figure not reported (an annualised ratio under 90 days, say) is sent as null. Most
        # bodies have none, so the walk replacing them runs only when encoding finds one.
        try:
            plain = json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
        except ValueError:
            plain = json.dumps(_finite(body), separators=(",", ":"), allow_nan=False).encode()
        return cls(plain, gzip.compress(plain, 1))  # fastest: the time is the answer's, the size barely grows


class PageCache:
    """The last answer per page and query, kept until the bot writes something a page shows (the store's
    `newest` signature changes) and, for pages valued at live prices, at most LIVE_TTL_S: the dashboards that
    refresh together after a rebalance cost one computation, not one each."""

    LIVE_TTL_S = 5.0
    LIVE_PAGES = frozenset({"holdings", "performance"})
    SIZE = 64

    def __init__(self) -> None:
        self._entries: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[Any, float, Any]] = {}
        self.hits = self.misses = 0

    async def page(self, reports: Reports, name: str,
                   query: dict[str, str]) -> tuple[dict[str, Any], dict[str, Table], Encoded]:
        key = (name, tuple(sorted(query.items())))
        signature = await _read(reports, reports.store.newest)
        now = time.monotonic()
        live = name in self.LIVE_PAGES and reports.valuation is not None
        found = self._entries.get(key)
        if found and found[0] == signature and not (live and now - found[1] > self.LIVE_TTL_S):
            self.hits += 1
            return found[2]
        self.misses += 1
        body, named = await PAGES[name](reports, query)
        built = (body, named, await asyncio.to_thread(Encoded.of, body))  # off the bot's loop
        self._entries.pop(key, None)
        self._entries[key] = (signature, now, built)
        while len(self._entries) > self.SIZE:  # oldest first out
            self._entries.pop(next(iter(self._entries)))
        return built
