"""Performance figures from a daily equity path, and the benchmarks to read them against (pure)."""
from __future__ import annotations

import math

import numpy as np

from .config import allowed_columns
from .panel import Panel
from .simulate import Run

YEAR_DAYS = 365  # crypto trades every calendar day
# Every figure of a run (run_metrics), in the order reports list them.
METRICS = ("final_equity", "total_return", "cagr", "sharpe", "sortino", "max_drawdown", "calmar", "days",
           "fees_paid", "fills", "turnover", "avg_holdings", "hit_rate", "rebalances")
PERCENT_METRICS = frozenset({"total_return", "cagr", "max_drawdown", "hit_rate"})  # fractions, shown as %
# Figures whose sign says gain or loss: charted on one scale centred on zero, so runs compare at a glance.
SIGNED_METRICS = frozenset({"total_return", "cagr", "sharpe", "sortino", "max_drawdown", "calmar"})


def curve_metrics(equity: np.ndarray, capital: float) -> dict[str, float]:
    """Return, CAGR, Sharpe, Sortino, max drawdown and Calmar of a daily path that started from capital."""
    path = np.concatenate([[capital], equity])
    returns = path[1:] / path[:-1] - 1.0
    days = len(equity)
    final = float(equity[-1])
    cagr = (final / capital) ** (YEAR_DAYS / days) - 1.0 if final > 0 else -1.0
    std = float(returns.std(ddof=1)) if days > 1 else 0.0
    mean = float(returns.mean())
    downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
    drawdown = float((path / np.maximum.accumulate(path) - 1.0).min())
    return {
        "final_equity": final,
        "total_return": final / capital - 1.0,
        "cagr": cagr,
        "sharpe": mean / std * math.sqrt(YEAR_DAYS) if std > 0 else 0.0,
        "sortino": mean / downside * math.sqrt(YEAR_DAYS) if downside > 0 else 0.0,
        "max_drawdown": drawdown,
        "calmar": cagr / -drawdown if drawdown < 0 else 0.0,
        "days": float(days),
    }


def hit_rate(run: Run) -> float:
    """Share of holding periods (one rebalance to the next, or to the end) whose equity rose."""
    if not len(run.trade_rows):
        return 0.0
    ends = np.append(run.trade_rows[1:] - run.first_row, len(run.equity) - 1)
    starts = run.trade_rows - run.first_row
    keep = ends > starts
    if not keep.any():
        return 0.0
    return float(np.mean(run.equity[ends[keep]] > run.equity[starts[keep]]))


def run_metrics(run: Run) -> dict[str, float]:
    """Every figure of one run: the curve's, plus fees, fills, turnover, holdings and hit rate."""
    out = curve_metrics(run.equity, run.config.capital)
    out.update({
        "fees_paid": run.fees,
        "fills": float(run.fills),
        "turnover": run.traded / float(run.equity.mean()),  # times the average book was traded
        "avg_holdings": float(run.holdings.mean()),
        "hit_rate": hit_rate(run),
        "rebalances": float(len(run.trade_rows)),
    })
    return out


def benchmark_paths(panel: Panel, run: Run, btc: str = "BTCUSDT") -> dict[str, np.ndarray]:
    """BTC bought at the first day's close and held, and the equal-weight universe chained day by day."""
    first, n = run.first_row, len(run.equity)
    capital = run.config.capital
    out: dict[str, np.ndarray] = {}
    if btc in panel.symbols:
        prices = panel.price[first:first + n, panel.symbols.index(btc)]
        if prices[0] > 0:
            out["BTC buy & hold"] = capital * prices / prices[0]
    close = panel.close[first - 1 if first > 0 else 0:first + n]
    both = ~np.isnan(close[1:]) & ~np.isnan(close[:-1]) & allowed_columns(panel, run.config.params)[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(both, close[1:] / close[:-1], 0.0)
    counts = both.sum(axis=1)
    daily = np.divide(rel.sum(axis=1), counts, out=np.ones(len(counts)), where=counts > 0)
    if first == 0:
        daily = np.concatenate([[1.0], daily])
    daily[0] = 1.0  # the index starts at the capital on the first day, like the portfolio's cash
    out["Equal-weight universe"] = capital * np.cumprod(daily)
    return out
