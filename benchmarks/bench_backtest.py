"""Backtester figures: load, one daily run, a 40-configuration sweep, and the whole CLI process.

Real data from ../shared/data when present, else a synthetic panel of the same size written to a file.
A naive per-day pandas loop over the same run is measured in the same process as the baseline (and
must reach the same final equity). Prints a table and, last, one JSON line.

    python benchmarks/bench_backtest.py
"""
from __future__ import annotations

import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlite_utils  # noqa: E402

from tradingbot.adapters.kline_import import import_files, load_panel, panel_from_file  # noqa: E402
from tradingbot.adapters.kline_store import KlineStore  # noqa: E402
from tradingbot.core.backtest.config import BacktestConfig, allowed_columns  # noqa: E402
from tradingbot.core.backtest.panel import Panel, day_number  # noqa: E402
from tradingbot.core.backtest.simulate import simulate  # noqa: E402
from tradingbot.app.sweep import run_sweep  # noqa: E402
from tradingbot.core.params import StrategyParams  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "binance_spot_usdt_1d.csv.gz"
START, END = date(2021, 1, 1), date(2024, 12, 31)
PARAMS = StrategyParams(lookback=timedelta(days=7), topn=10, fee_rate=Decimal("0.001"))
CLI = ["--strategy", "momentum", "--lookback", "7d", "--topn", "10", "--every", "1d", "--fee", "0.001",
       "--start", str(START), "--end", str(END), "--json"]


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def synthetic_file(folder: Path, symbols: int = 600) -> Path:
    """Random daily candles shaped like the shared file (2017-08 to 2025-09, listings spread over the years)."""
    rng = np.random.default_rng(5)
    first, last = day_number(date(2017, 8, 17)), day_number(date(2025, 9, 30))
    path = folder / "synthetic_1d.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write("symbol,open_time,open_time_ms,open,high,low,close,volume,flags\n")
        for i in range(symbols):
            start = int(rng.integers(first, last - 200))
            n = last - start
            close = 10 ** rng.uniform(-3, 3) * np.exp(np.cumsum(rng.normal(0, 0.05, n)))
            volume = 10 ** rng.uniform(5, 8) / close * np.exp(rng.normal(0, 0.7, n))
            for d in range(n):
                c = close[d]
                day = np.datetime64(start + d, "D")
                f.write(f"S{i:03d}USDT,{day},{(start + d) * 86_400_000},{c:.6g},{c * 1.02:.6g},{c * 0.98:.6g},"
                        f"{c:.6g},{volume[d]:.6g},\n")
    return path


def naive_pandas(panel: Panel, config: BacktestConfig) -> float:
    """The same run as one pandas step per day: eligibility, ranking and trades recomputed each day."""
    import pandas as pd

    p = config.params
    dates = pd.RangeIndex(panel.first_day, panel.first_day + panel.days)
    close = pd.DataFrame(panel.close, index=dates, columns=panel.symbols)
    price = close.ffill()
    qv = pd.DataFrame(panel.quote_volume, index=dates, columns=panel.symbols)
    listed = pd.Series(panel.listed, index=panel.symbols)
    allowed = pd.Series(allowed_columns(panel, p), index=panel.symbols)
    k, fee, slip = config.lookback_days, float(config.costs.fee_rate), float(config.costs.slippage)
    cash, held = config.capital, pd.Series(dtype=float)
    for day in range(day_number(config.start), day_number(config.end) + 1):
        now, then = close.loc[day], close.loc[day - k]
        volume = qv.loc[day - 6:day].where(close.loc[day - 6:day].notna()).mean()
        ok = now.notna() & then.notna() & (day - listed >= p.min_age_days) & (volume >= float(p.min_quote_volume))
        ok &= allowed
        scores = (now / then - 1)[ok].rename("score").reset_index()
        picks = scores.sort_values(["score", "index"], ascending=[False, True]).head(p.topn)["index"]
        px = price.loc[day]
        if len(picks):
            cash += float((held * px[held.index] * (1 - slip) * (1 - fee)).sum())
            spend = cash / len(picks)
            held = spend / (px[picks] * (1 + slip)) * (1 - fee)
            cash -= spend * len(picks)
        equity = cash + float((held * px[held.index]).sum())
    return equity


def cli(*args: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "bot.py", *args], cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - t


def main() -> int:
    folder = Path(tempfile.mkdtemp(prefix="bench-bt-"))
    data = SHARED if SHARED.exists() else synthetic_file(folder)
    cache = folder / "klines.sqlite"
    t_import, _ = timed(lambda: import_files(KlineStore(sqlite_utils.Database(cache)), [data]))
    config = BacktestConfig(PARAMS, START, END)
    t_cache, panel = timed(lambda: load_panel(sqlite_utils.Database(cache), START, END, 30), 3)
    t_file, _ = timed(lambda: panel_from_file(data), 1)
    t_warm, _ = timed(panel.warm)
    simulate(panel, config)
    t_run, run = timed(lambda: simulate(panel, config), 9)
    configs = [BacktestConfig(StrategyParams(strategy=s, lookback=timedelta(days=lb), topn=n,
                                             fee_rate=Decimal("0.001")), START, END)
               for lb in (1, 3, 7, 14, 30) for n in (3, 5, 10, 20) for s in ("momentum", "reversal")]
    t_sweep, _ = timed(lambda: run_sweep(panel, configs), 3)
    t_sweep1, _ = timed(lambda: run_sweep(panel, configs, workers=1))
    t_cli = statistics.median(cli("backtest", "--cache", str(cache), *CLI) for _ in range(3))
    t_cli_file = statistics.median(cli("backtest", "--data", str(data), *CLI) for _ in range(3))
    try:
        t_naive, naive_final = timed(lambda: naive_pandas(panel, config))
    except ImportError:
        t_naive, naive_final = float("nan"), float("nan")
    final = float(run.equity[-1])
    rows = [
        ("data", "real (shared, 620 symbols)" if data == SHARED else "synthetic (600 symbols)"),
        ("symbols in the run's panel", f"{len(panel.symbols)}"),
        ("import file into cache", f"{t_import:.2f} s"),
        ("load panel from cache (2021-2024)", f"{t_cache * 1000:.0f} ms"),
        ("load panel from .csv.gz", f"{t_file * 1000:.0f} ms"),
        ("derived arrays (once per panel)", f"{t_warm * 1000:.0f} ms"),
        ("one daily run, full mode", f"{t_run * 1000:.1f} ms"),
        ("naive per-day pandas loop, same run", f"{t_naive * 1000:.0f} ms"),
        ("40-config sweep, all cores", f"{t_sweep:.2f} s  ({os.cpu_count()} cores; one core {t_sweep1:.2f} s)"),
        ("bot.py backtest --json, cache", f"{t_cli:.2f} s"),
        ("bot.py backtest --json, --data .csv.gz", f"{t_cli_file:.2f} s"),
        ("final equity fast / naive", f"{final:,.4f} / {naive_final:,.4f}"),
    ]
    for name, value in rows:
        print(f"{name:40} {value}")
    print(json.dumps({
        "data": "real" if data == SHARED else "synthetic", "symbols": len(panel.symbols),
        "import_s": round(t_import, 3), "load_cache_ms": round(t_cache * 1000, 1), "load_file_ms": round(t_file * 1000, 1),
        "run_ms": round(t_run * 1000, 2), "naive_pandas_ms": round(t_naive * 1000, 1),
        "sweep_40_s": round(t_sweep, 3), "sweep_40_one_core_s": round(t_sweep1, 3),
        "cli_cache_s": round(t_cli, 3), "cli_file_s": round(t_cli_file, 3),
        "final_equity": final, "naive_final_equity": naive_final,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
