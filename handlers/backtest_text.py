"""Backtest results as text (chat replies and the CLI) and as one JSON-ready dict."""
from __future__ import annotations

import math
from typing import Any, Sequence

from tradingbot.core.backtest.capacity import Capacity, cost_bps
from tradingbot.core.backtest.config import BacktestConfig
from tradingbot.core.backtest.metrics import (ANNUALISED_METRICS, ANNUALISED_MIN_DAYS, COST_METRICS, PERCENT_METRICS,
                                         annualised, not_annualised_note, window_span)
from tradingbot.app.backtester import BacktestReport, SweepRow
from tradingbot.core.params import StrategyParams, format_duration

CURVE_ROWS = (("final equity", "final_equity"), ("total return", "total_return"), ("CAGR", "cagr"),
              ("Sharpe", "sharpe"), ("Sortino", "sortino"), ("max drawdown", "max_drawdown"), ("Calmar", "calmar"))


def show(key: str, v: float) -> str:
    if math.isnan(v):
        return "n/a"  # an annualised figure of a window too short for one
    if key in PERCENT_METRICS:
        return f"{v * 100:+,.1f} %" if key != "hit_rate" else f"{v * 100:.1f} %"
    if key in ("final_equity", "fees_paid", *COST_METRICS):
        return f"{v:,.2f}" if abs(v) < 100 else f"{v:,.0f}"
    if key in ("fills", "rebalances", "days"):
        return f"{v:,.0f}"
    return f"{v:,.2f}"


def describe(c: BacktestConfig) -> str:
    p = c.params
    return ", ".join([f"{p.strategy} {format_duration(p.lookback)} top {p.topn}", f"every {c.every_text}", p.mode,
                      *_invested(p).values(), f"fee {float(p.fee_rate) * 100:g} %",
                      f"slippage {p.slippage_bps} bps", f"delay {c.delay}",
                      *([f"at {c.at:%H:%M} {p.timezone}"] if c.at else []), *_cost_model(c)])


def _cost_model(c: BacktestConfig) -> list[str]:
    """The volume cost model and its k, said only when chosen (flat is the default)."""
    return [f"volume costs (k {c.execution.impact_k:g})"] if c.execution.volume else []


def cost_split(m: dict[str, float]) -> str:
    """Where the money went: fees, slippage_bps, and the volume model's spread and impact, in quote."""
    return (f"costs: fees {show('fees_paid', m['fees_paid'])} · slippage {show('slippage_paid', m['slippage_paid'])}"
            f" · spread {show('spread_paid', m['spread_paid'])} · impact {show('impact_paid', m['impact_paid'])}")


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
        cost_split(m),
        f"fills {show('fills', m['fills'])} · "
        f"turnover {m['turnover']:,.1f}× · holdings {m['avg_holdings']:.1f} · hit rate {show('hit_rate', m['hit_rate'])}",
        *([not_annualised_note([m["days"]])] if short_window else []),
        *([f"{r.bad_rows} row(s) of the data file were unusable"] if r.bad_rows else []),
    ])


def metrics_json(m: dict[str, float]) -> dict[str, Any]:
    """A run's metrics for JSON: a figure not reported is null (JSON has no NaN), with the rule and why."""
    return {**{k: None if math.isnan(v) else v for k, v in m.items()}, "annualised_min_days": ANNUALISED_MIN_DAYS,
            "annualised_note": None if annualised(m["days"]) else not_annualised_note([m["days"]])}


def report_json_params(c: BacktestConfig) -> dict[str, Any]:
    """A run's settings for JSON: the strategy's, the window's and the cost model's."""
    return {**c.params.to_strings(), "every": c.every_text, "delay": c.delay, "capital": c.capital,
            "cost_model": c.execution.cost_model, "impact_k": c.execution.impact_k}


def report_json(r: BacktestReport) -> dict[str, Any]:
    return {
        **metrics_json(r.metrics), "start": r.first_day.isoformat(), "end": r.last_day.isoformat(),
        "interval": r.interval,
        "params": report_json_params(r.config),
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


COST_COLUMNS = (("fees", "fees_paid"), ("slippage", "slippage_paid"), ("spread", "spread_paid"),
                ("impact", "impact_paid"))


def capacity_text(c: Capacity) -> str:
    """Net CAGR and the cost split (bps of the value traded) at each capital, and where the edge goes."""
    head = f"{'capital':>14}{'CAGR':>10}{'return':>10}" + "".join(f"{name:>10}" for name, _ in COST_COLUMNS)
    rows = [f"{p.capital:>14,.0f}{show('cagr', p.metrics['cagr']):>10}"
            f"{show('total_return', p.metrics['total_return']):>10}"
            + "".join(f"{cost_bps(p.metrics, key):>10,.1f}" for _, key in COST_COLUMNS) for p in c.points]
    return "\n".join([f"Capacity: {describe(c.config)}", "costs in bps of the value traded (buys and sells)", "",
                      head, *rows, "", edge_verdict(c)])


def edge_verdict(c: Capacity) -> str:
    """Where the edge is gone, in one line (the rule: net return ≤ 0, so CAGR ≤ 0, as holding cash)."""
    z = c.zero_cost
    before = f"without any costs: CAGR {show('cagr', z['cagr'])}, return {show('total_return', z['total_return'])}"
    if not c.edge_before_costs:
        return f"no edge even before costs ({before})"
    gone = c.edge_gone_at
    if gone is None:
        return f"the edge holds at every capital tried (net return > 0 up to {c.points[-1].capital:,.0f}; {before})"
    return (f"the edge is gone at {gone:,.0f}: the first capital whose net return is ≤ 0, no better than cash "
            f"({before})")


def capacity_json(c: Capacity) -> dict[str, Any]:
    return {"params": report_json_params(c.config), "zero_cost": metrics_json(c.zero_cost),
            "edge_gone_at": c.edge_gone_at, "edge_before_costs": c.edge_before_costs,
            "capacity": [{"capital": p.capital, **metrics_json(p.metrics)} for p in c.points]}
