"""Hourly backtests: an hourly panel of 450 symbols × 4 years (≈15.8 M candles), one every=1h run, a
40-configuration sweep on every core, and the daily run beside the same daily run of main's code.

The hourly panel is built in memory (random walks, listings spread over the years): reading 15.8 M rows
through the SQLite cache takes minutes today (the binary panel copy is separate work), so this measures the
engine. The daily baseline runs main's tradingbot package (git archive of `main`) and this tree's in
separate processes on the same seeded daily panel, interleaved, median of each. Prints a table and, last,
one JSON line.

    python benchmarks/bench_hourly.py
"""
from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tradingbot.app.sweep import run_sweep  # noqa: E402
from tradingbot.core.backtest.config import BacktestConfig  # noqa: E402
from tradingbot.core.backtest.panel import Panel, day_date  # noqa: E402
from tradingbot.core.backtest.simulate import simulate  # noqa: E402
from tradingbot.core.params import StrategyParams  # noqa: E402

SYMBOLS, YEARS, FIRST_DAY = 450, 4, 18628  # 2021-01-01
HOUR_MS = 3_600_000
PARAMS = StrategyParams(lookback=timedelta(hours=24), topn=10, every="1h", min_age_days=14,
                        min_quote_volume=Decimal(1_000_000), fee_rate=Decimal("0.001"))
DAILY_RUN = """
import sys, time, statistics
import numpy as np
sys.path.insert(0, sys.argv[1])
from datetime import timedelta
from decimal import Decimal
from tradingbot.core.backtest.config import BacktestConfig
from tradingbot.core.backtest.panel import build_panel
from tradingbot.core.backtest.simulate import simulate
from tradingbot.core.params import StrategyParams
data = np.load(sys.argv[2])
panel = build_panel(data["symbols"], data["day"], data["open"], data["close"], data["qv"]).warm()
config = BacktestConfig(StrategyParams(lookback=timedelta(days=7), topn=10, min_quote_volume=Decimal(1_000_000)))
simulate(panel, config)
times = []
for _ in range(int(sys.argv[3])):
    t = time.perf_counter(); run = simulate(panel, config); times.append(time.perf_counter() - t)
print(statistics.median(times), run.equity[-1])
"""


def walks(rng: np.random.Generator, rows: int, per_day: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """close, open, quote volume (rows × SYMBOLS, NaN before listing) and each symbol's first row."""
    scale = 0.04 / np.sqrt(per_day)
    steps = rng.standard_normal((rows, SYMBOLS), dtype=np.float32) * np.float32(scale)
    close = np.exp(np.cumsum(steps, axis=0, dtype=np.float64) + rng.uniform(-3, 3, SYMBOLS))
    del steps
    open_ = np.empty_like(close)
    open_[0], open_[1:] = close[0], close[:-1]
    volume = np.exp(rng.uniform(12, 19, SYMBOLS))[None, :] / per_day * rng.lognormal(0, 0.5, (rows, 1))
    listed = np.where(rng.random(SYMBOLS) < 0.1, rng.integers(0, rows * 3 // 4, SYMBOLS), 0)
    before = np.arange(rows)[:, None] < listed[None, :]
    for a in (close, open_):
        a[before] = np.nan
    qv = np.where(before, np.nan, volume * close)
    return close, open_, qv, listed


def hourly_panel() -> Panel:
    rows = YEARS * 365 * 24 + 24
    close, open_, qv, listed = walks(np.random.default_rng(15), rows, 24)
    names = tuple(f"S{i:03d}USDT" for i in range(SYMBOLS))
    return Panel(FIRST_DAY * 24, names, close, open_, qv, FIRST_DAY * 24 + listed, HOUR_MS)


def daily_file(folder: Path) -> Path:
    rows = YEARS * 365 + 1
    close, open_, qv, _ = walks(np.random.default_rng(16), rows, 1)
    r, c = np.nonzero(~np.isnan(close))
    path = folder / "daily.npz"
    np.savez(path, symbols=np.array([f"S{i:03d}USDT" for i in range(SYMBOLS)])[c], day=FIRST_DAY + r,
             open=open_[r, c], close=close[r, c], qv=qv[r, c])
    return path


def daily_runs(tree: Path, data: Path, repeat: int = 5) -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", DAILY_RUN, str(tree), str(data), str(repeat)], check=True,
                         capture_output=True, text=True, cwd=tempfile.gettempdir()).stdout.split()
    return float(out[0]), float(out[1])


def main_tree(folder: Path) -> Path | None:
    """main's tradingbot package, unpacked from git (None outside a git checkout with a main branch)."""
    try:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", "main", "tradingbot"], check=True,
                                 capture_output=True).stdout
    except (subprocess.CalledProcessError, FileNotFoundError):
        return None
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def sweep_configs(start) -> list[BacktestConfig]:
    out = []
    for every in ("1h", "4h", "12h", "1d", "1w"):
        for lookback in (24, 72, 168, 336):
            for topn in (5, 10):
                p = replace(PARAMS, lookback=timedelta(hours=lookback), topn=topn)
                out.append(BacktestConfig(p, start=start, every=every))
    return out


def main() -> None:
    load = os.getloadavg()
    t = time.perf_counter()
    panel = hourly_panel()
    built = time.perf_counter() - t
    t = time.perf_counter()
    panel.warm()
    warmed = time.perf_counter() - t
    start = day_date(FIRST_DAY + 10)
    config = BacktestConfig(PARAMS, start=start)
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        run = simulate(panel, config)
        runs.append(time.perf_counter() - t)
    tracemalloc.start()
    simulate(panel, config)
    run_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    configs = sweep_configs(start)
    t = time.perf_counter()
    results = run_sweep(panel, configs)
    sweep = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    candles = int(panel.has.sum())
    with tempfile.TemporaryDirectory() as tmp:
        data = daily_file(Path(tmp))
        old = main_tree(Path(tmp) / "main")
        mine, theirs = [], []
        for _ in range(3):  # interleaved, so load changes hit both
            mine.append(daily_runs(ROOT, data))
            if old:
                theirs.append(daily_runs(old, data))
    daily = statistics.median(m[0] for m in mine)
    daily_main = statistics.median(m[0] for m in theirs) if theirs else float("nan")
    same = bool(theirs) and all(abs(a[1] / b[1] - 1) < 1e-12 for a, b in zip(mine, theirs))
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}, {os.cpu_count()} cores")
    print(f"hourly panel: {SYMBOLS} symbols × {panel.days:,} hours, {candles / 1e6:.1f} M candles "
          f"(built in memory in {built:.1f} s; derived arrays {warmed:.2f} s)")
    print(f"one every=1h run (lookback 24h, top 10, {len(run.trade_rows):,} rebalances): median "
          f"{statistics.median(runs):.3f} s of {', '.join(f'{r:.3f}' for r in runs)}  (target ≤ 1 s)")
    print(f"  its own peak (tracemalloc): {run_peak / 2**30:.2f} GiB; process peak RSS with the panel: "
          f"{rss / 2**30:.2f} GiB  (target ≤ 1.5 GiB)")
    print(f"40-configuration sweep (every 1h…1w × lookback 24h…14d × top 5/10), {os.cpu_count()} workers: "
          f"{sweep:.2f} s  (target ≤ 20 s; {sum(r['rebalances'] for r in results):,.0f} rebalances)")
    print(f"daily run (450 symbols × 4 years, every 1d): this tree {daily * 1000:.1f} ms, main "
          f"{daily_main * 1000:.1f} ms (ratio {daily / daily_main:.2f}; same final equity: {same})")
    print(json.dumps({"bench": "hourly", "load_average": load[0], "candles": candles,
                      "hourly_run_s": statistics.median(runs), "hourly_run_peak_gib": run_peak / 2**30,
                      "process_peak_rss_gib": rss / 2**30, "sweep_40_s": sweep, "daily_run_ms": daily * 1000,
                      "daily_run_main_ms": daily_main * 1000, "daily_same_result": same}))


if __name__ == "__main__":
    main()
