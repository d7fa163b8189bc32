"""Performance figures from a daily equity path, and the benchmarks to read them against (pure)."""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from .config import allowed_columns
from .panel import Panel
from .simulate import Run

YEAR_DAYS = 365  # crypto trades every calendar day
# Where the money went besides fees, in quote: slippage_bps, and the volume cost model's spread and impact; and
# the quote value of every fill, buys and sells, which they are shares of.
COST_METRICS = ("slippage_paid", "spread_paid", "impact_paid", "traded_value")
# Every figure of a run (run_metrics), in the order reports list them.
METRICS = ("final_equity", "total_return", "cagr", "sharpe", "sortino", "max_drawdown", "calmar", "days",
           "fees_paid", "fills", "turnover", "avg_holdings", "hit_rate", "rebalances", *COST_METRICS)
PERCENT_METRICS = frozenset({"total_return", "cagr", "max_drawdown", "hit_rate"})  # fractions, shown as %
# Figures whose sign says gain or loss: charted on one scale centred on zero, so runs compare at a glance.
SIGNED_METRICS = frozenset({"total_return", "cagr", "sharpe", "sortino", "max_drawdown", "calmar"})
# Figures scaled to a year: CAGR compounds the window's return to 365 days, Calmar divides that by the drawdown,
# Sharpe and Sortino multiply a daily ratio by √365. Over a few days they extrapolate luck (BTC's +15.9 % over
# 2024-02-01 → 02-12 reads as CAGR +8,711 %, Sharpe 15), so a shorter window gets NaN for them: not reported.
# Sharpe and Sortino do not explode like CAGR, but n daily returns estimate an annualised Sharpe only to about
# ±√(365 / n) (±5.5 over 12 days), and a reader compares them with yearly figures: the same rule holds.
ANNUALISED_METRICS = ("cagr", "sharpe", "sortino", "calmar")
ANNUALISED_MIN_DAYS = 90


def annualised(days: float) -> bool:
    """Whether a window of this many days is long enough to report annualised figures."""
    return days >= ANNUALISED_MIN_DAYS


def window_span(days: Iterable[float]) -> str:
    """Window lengths as '12 d', or '12–40 d' when they differ."""
    ds = sorted({int(d) for d in days})
    return f"{ds[0]:,} d" if len(ds) == 1 else f"{ds[0]:,}–{ds[-1]:,} d"


def not_annualised_note(days: Iterable[float]) -> str:
    """Why the annualised figures of windows this long are missing, in one line."""
    return (f"CAGR, Sharpe, Sortino and Calmar are annualised, reported only for windows of at least "
            f"{ANNUALISED_MIN_DAYS} days (window {window_span(days)})")


def curve_metrics(equity: np.ndarray, capital: float) -> dict[str, float]:
    """Return, CAGR, Sharpe, Sortino, max drawdown and Calmar of a daily path that started from capital.

    The annualised ones are NaN for a window shorter than ANNUALISED_MIN_DAYS."""
    path = np.concatenate([[capital], equity])
    returns = path[1:] / path[:-1] - 1.0
    days = len(equity)
    final = float(equity[-1])
    cagr = (final / capital) ** (YEAR_DAYS / days) - 1.0 if final > 0 else -1.0
    std = float(returns.std(ddof=1)) if days > 1 else 0.0
    mean = float(returns.mean())
    downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
    drawdown = float((path / np.maximum.accumulate(path) - 1.0).min())
    out = {
        "final_equity": final,
        "total_return": final / capital - 1.0,
        "cagr": cagr,
        "sharpe": mean / std * math.sqrt(YEAR_DAYS) if std > 0 else 0.0,
        "sortino": mean / downside * math.sqrt(YEAR_DAYS) if downside > 0 else 0.0,
        "max_drawdown": drawdown,
        "calmar": cagr / -drawdown if drawdown < 0 else 0.0,
        "days": float(days),
    }
    if not annualised(days):
        out.update(dict.fromkeys(ANNUALISED_METRICS, math.nan))
    return out


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
    daily = run.daily_equity  # figures over calendar days, whatever the candles' interval
    out = curve_metrics(daily, run.config.capital)
    out.update({
        "fees_paid": run.fees,
        "fills": float(run.fills),
        "turnover": run.traded / float(daily.mean()),  # times the average book was traded
        "avg_holdings": float(run.holdings[run.day_ends].mean()),
        "hit_rate": hit_rate(run),
        "rebalances": float(len(run.trade_rows)),
        "slippage_paid": run.slippage,
        "spread_paid": run.spread,
        "impact_paid": run.impact,
        "traded_value": run.traded,
    })
    return out


def benchmark_paths(panel: Panel, run: Run, btc: str = "BTCUSDT") -> dict[str, np.ndarray]:
    """BTC bought at the first row's close and held, and the equal-weight universe chained candle by candle,
    both marked at every row as the run is."""
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
