"""Hourly backtests: an hourly panel of 450 symbols × 4 years (≈15.8 M candles), one every=1h run, a
40-configuration sweep on every core, and the daily run beside the same daily run of main's code.

The hourly panel is built in memory (random walks, listings spread over the years), so the run and the sweep
measure the engine. The daily baseline runs main's tradingbot package (git archive of `main`) and this tree's
in separate processes on the same seeded daily panel, interleaved, median of each. Prints a table and, last,
one JSON line.

With `--cache`, also the load from the candle cache as a backtest does it (CachedCandles.load, the 4 years at
1h): the synthetic market's hourly candles of 450 symbols (≈13.6 M: listings spread over the years) are
written into a cache first (minutes: every candle goes through SQLite; the time is printed), then each load
runs in its own process for its own peak RSS: the first after the write (builds the binary panel copy), then
the next ones (map the copy). `--cache PATH` keeps the cache there and reuses it when the file exists (its
copies are dropped first).

    python benchmarks/bench_hourly.py [--cache [PATH]]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import replace
from datetime import date, timedelta
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
from datetime import date, timedelta
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


CACHE_DAYS, CACHE_SEED = YEARS * 365 + 1, 7  # the synthetic market's first 4 years (from 2024-01-01)
CACHE_LOAD = """
import resource, sys, time
sys.path.insert(0, sys.argv[1])
from datetime import date, timedelta
from pathlib import Path
from tradingbot.adapters.candle_cache import CachedCandles
from tradingbot.app.backtester import Backtester
from tradingbot.core.backtest.config import BacktestConfig
from tradingbot.core.params import StrategyParams
params = StrategyParams(lookback=timedelta(hours=24), topn=10, every="1h")
config = BacktestConfig(params, start=date.fromisoformat(sys.argv[2]), end=date.fromisoformat(sys.argv[3]))
t = time.perf_counter()
panel, _ = Backtester(CachedCandles(Path(sys.argv[4]))).load([config])
took = time.perf_counter() - t
print(took, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, int(panel.has.sum()), len(panel.symbols))
"""


def write_cache(path: Path) -> float | None:
    """The synthetic hourly candles written into the cache at path; seconds taken (None: already there)."""
    from tradingbot.adapters.candle_cache import SqliteCandleCache
    from tradingbot.adapters.clock import SystemClock

    if path.exists():
        return None
    t = time.perf_counter()
    asyncio.run(SqliteCandleCache(path, SystemClock()).synth(CACHE_DAYS, SYMBOLS, "1h", CACHE_SEED, lambda xs: xs))
    return time.perf_counter() - t


def cache_load(path: Path) -> tuple[float, int, int, int]:
    """One backtest's load of the whole 4 years at 1h in a fresh process: seconds, peak RSS, candles, symbols."""
    start, end = date(2024, 1, 1), date(2024, 1, 1) + timedelta(days=CACHE_DAYS - 1)
    out = subprocess.run([sys.executable, "-c", CACHE_LOAD, str(ROOT), str(start), str(end), str(path)],
                         check=True, capture_output=True, text=True, cwd=tempfile.gettempdir()).stdout.split()
    return float(out[0]), int(out[1]), int(out[2]), int(out[3])


def cache_figures(path: Path) -> dict:
    """Write (unless kept from before), the first load (builds the copy), then three loads from the copy."""
    from tradingbot.adapters.panel_copy import copies_folder

    load = os.getloadavg()
    wrote = write_cache(path)
    if wrote is None:  # a kept cache: drop its copies so the first load builds one again
        shutil.rmtree(copies_folder(path), ignore_errors=True)
    first = cache_load(path)
    again = [cache_load(path) for _ in range(3)]
    median = statistics.median(a[0] for a in again)
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} before the cache part")
    print("cache write (synthetic 1h, 450 symbols × 4 years): " + (f"{wrote:.0f} s" if wrote is not None else
          "kept from an earlier run") + f"; file {path.stat().st_size / 2**30:.2f} GiB")
    print(f"load from the cache, {first[2] / 1e6:.1f} M candles of {first[3]} symbols: first after the write "
          f"(builds the copy) {first[0]:.2f} s, peak RSS {first[1] / 2**30:.2f} GiB; from the copy median "
          f"{median:.2f} s of {', '.join(f'{a[0]:.2f}' for a in again)}, peak RSS "
          f"{max(a[1] for a in again) / 2**30:.2f} GiB  (target ≤ 2 s)")
    return {"cache_write_s": wrote, "cache_candles": first[2], "cache_first_load_s": first[0],
            "cache_first_load_rss_gib": first[1] / 2**30, "cache_load_s": median,
            "cache_load_rss_gib": max(a[1] for a in again) / 2**30, "cache_load_average": load[0]}


def sweep_configs(start) -> list[BacktestConfig]:
    out = []
    for every in ("1h", "4h", "12h", "1d", "1w"):
        for lookback in (24, 72, 168, 336):
            for topn in (5, 10):
                p = replace(PARAMS, lookback=timedelta(hours=lookback), topn=topn)
                out.append(BacktestConfig(p, start=start, every=every))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", nargs="?", const="", metavar="PATH",
                        help="also time the load from a candle cache (written first; kept at PATH if given)")
    args = parser.parse_args()
    cached = {}
    if args.cache is not None:
        with tempfile.TemporaryDirectory() as tmp:
            cached = cache_figures(Path(args.cache) if args.cache else Path(tmp) / "klines.sqlite")
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
                      "daily_run_main_ms": daily_main * 1000, "daily_same_result": same, **cached}))


if __name__ == "__main__":
    main()
