"""Backtest results as text (chat replies and the CLI) and as one JSON-ready dict."""
from __future__ import annotations

import math
from typing import Any, Sequence

from tradingbot.core.backtest.config import BacktestConfig
from tradingbot.core.backtest.metrics import (ANNUALISED_METRICS, ANNUALISED_MIN_DAYS, PERCENT_METRICS, annualised,
                                         not_annualised_note, window_span)
from tradingbot.app.backtester import BacktestReport, SweepRow
from tradingbot.core.params import StrategyParams, format_duration

CURVE_ROWS = (("final equity", "final_equity"), ("total return", "total_return"), ("CAGR", "cagr"),
              ("Sharpe", "sharpe"), ("Sortino", "sortino"), ("max drawdown", "max_drawdown"), ("Calmar", "calmar"))


def show(key: str, v: float) -> str:
    if math.isnan(v):
        return "n/a"  # an annualised figure of a window too short for one
    if key in PERCENT_METRICS:
        return f"{v * 100:+,.1f} %" if key != "hit_rate" else f"{v * 100:.1f} %"
    if key in ("final_equity", "fees_paid"):
        return f"{v:,.2f}" if abs(v) < 100 else f"{v:,.0f}"
    if key in ("fills", "rebalances", "days"):
        return f"{v:,.0f}"
    return f"{v:,.2f}"


def describe(c: BacktestConfig) -> str:
    p = c.params
    return ", ".join([f"{p.strategy} {format_duration(p.lookback)} top {p.topn}", f"every {c.every_text}", p.mode,
                      *_invested(p).values(), f"fee {float(p.fee_rate) * 100:g} %",
                      f"slippage {p.slippage_bps} bps", f"delay {c.delay}",
                      *([f"at {c.at:%H:%M} {p.timezone}"] if c.at else [])])


def _invested(p: StrategyParams) -> dict[str, str]:
    """The share of equity invested, by its key, said only when some of it stays cash."""
    return {} if p.invest_fraction == 1 else {"invest_fraction": f"{float(p.invest_fraction) * 100:g} % invested"}


def fixed_settings(rows: Sequence[SweepRow], swept: Sequence[str]) -> str:
    """What every run of a sweep group shares: the keys not swept (strategy ones, the delay, the window)."""
    c = rows[0].config
    p = c.params
    shown = {"strategy": p.strategy, "lookback": f"lookback {format_duration(p.lookback)}", "topn": f"top {p.topn}",
             "every": f"every {c.every_text}", "mode": p.mode, "fee_rate": f"fee {float(p.fee_rate) * 100:g} %",
             "slippage_bps": f"slippage {p.slippage_bps} bps", **_invested(p)}
    return ", ".join([*(v for k, v in shown.items() if k not in swept),
                      *([] if "delay" in swept else [f"delay {c.delay}"]), _window(rows, swept)])


def _window(rows: Sequence[SweepRow], swept: Sequence[str]) -> str:
    """The window's ends that no run changes (a swept end differs from run to run), and its length."""
    c = rows[0].config
    start = None if "start" in swept else c.start or "first day"
    end = None if "end" in swept else c.end or "last day"
    span = window_span(r.metrics["days"] for r in rows)
    if start and end:
        return f"{start} → {end} ({span})"
    return f"from {start} ({span})" if start else f"to {end} ({span})" if end else f"window {span}"


def report_text(r: BacktestReport) -> str:
    """The headline, a metrics table against the benchmarks, and the trading figures."""
    names = ["strategy", *r.benchmark_metrics]
    columns = [r.metrics, *r.benchmark_metrics.values()]
    short = {"BTC buy & hold": "BTC hold", "Equal-weight universe": "EW universe"}
    head = f"{'':14}" + "".join(f"{short.get(n, n):>13}" for n in names)
    m = r.metrics
    short_window = not annualised(m["days"])
    missing = f"n/a (window {window_span([m['days']])})"  # the benchmarks share the window: one cell for all
    lines = [head] + [
        f"{label:14}" + (f"{missing:>{13 * len(columns)}}" if short_window and key in ANNUALISED_METRICS
                         else "".join(f"{show(key, c[key]):>13}" for c in columns))
        for label, key in CURVE_ROWS]
    return "\n".join([
        f"Backtest: {describe(r.config)}",
        f"{r.first_day} → {r.last_day} ({len(r.equity):,} days) on {r.interval} candles, {r.symbols} symbols, "
        f"capital {r.config.capital:,.0f}",
        "", *lines, "",
        f"fees {show('fees_paid', m['fees_paid'])} · fills {show('fills', m['fills'])} · "
        f"turnover {m['turnover']:,.1f}× · holdings {m['avg_holdings']:.1f} · hit rate {show('hit_rate', m['hit_rate'])}",
        *([not_annualised_note([m["days"]])] if short_window else []),
        *([f"{r.bad_rows} row(s) of the data file were unusable"] if r.bad_rows else []),
    ])


def metrics_json(m: dict[str, float]) -> dict[str, Any]:
    """A run's metrics for JSON: a figure not reported is null (JSON has no NaN), with the rule and why."""
    return {**{k: None if math.isnan(v) else v for k, v in m.items()}, "annualised_min_days": ANNUALISED_MIN_DAYS,
            "annualised_note": None if annualised(m["days"]) else not_annualised_note([m["days"]])}


def report_json(r: BacktestReport) -> dict[str, Any]:
    return {
        **metrics_json(r.metrics), "start": r.first_day.isoformat(), "end": r.last_day.isoformat(),
        "interval": r.interval,
        "params": {**r.config.params.to_strings(), "every": r.config.every_text, "delay": r.config.delay, "capital": r.config.capital},
        "benchmarks": {name: metrics_json(m) for name, m in r.benchmark_metrics.items()}, "symbols": r.symbols,
        "last_picks": list(r.last_picks),
    }


def sweep_table(rows: Sequence[SweepRow], keys: Sequence[str], metric: str, limit: int | None = None) -> str:
    """The runs sorted by the metric, best first; runs without it (n/a) last, in the sweep's order."""
    shown = ("final_equity", "total_return", "cagr", "sharpe", "max_drawdown", "fees_paid", "turnover")
    ordered = sorted(rows, key=lambda r: sort_key(r.metrics, metric))[:limit]
    widths = [max(len(k), *(len(p.split("=", 1)[1]) for r in rows for p in r.pairs if p.startswith(k + "=")))
              for k in keys]
    head = "  ".join(f"{k:<{w}}" for k, w in zip(keys, widths)) + "".join(f"{k:>14}" for k in shown)
    body = ["  ".join(f"{p.split('=', 1)[1]:<{w}}" for p, w in zip(r.pairs, widths))
            + "".join(f"{show(k, r.metrics[k]):>14}" for k in shown) for r in ordered]
    short = [r.metrics["days"] for r in rows if not annualised(r.metrics["days"])]
    return "\n".join([f"sorted by {metric}", head, *body, *([f"n/a: {not_annualised_note(short)}"] if short else [])])


def sort_key(metrics: dict[str, float], metric: str) -> tuple[bool, float]:
    """Best first; a figure not reported (NaN, or absent) after every reported one."""
    v = metrics.get(metric, math.nan)
    return (math.isnan(v), -v if not math.isnan(v) else 0.0)
