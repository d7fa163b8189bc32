"""Backtester figures: load, one daily run, a 40-configuration sweep, and the whole CLI process.

Real data from ../shared/data when present, else a synthetic panel of the same size written to a file.
A naive per-day pandas loop over the same run is measured in the same process as the baseline (and
must reach the same final equity). The whole-process rows (issue 17) run each command as a child process,
interleaved with their baseline so both see the same load, and read each child's peak RSS from wait4:
the interpreter floor (`python -c "import numpy, sqlite3, asyncio"`) for `bot.py backtest` from the cache,
a pandas reference (read_csv with explicit dtypes, then the naive loop) for the run from the .csv.gz (a first
run, then the same file again with the copy the first kept in its cache's folder), and one backtest process
for the 40-configuration sweep. Children get a bytecode cache (PYTHONPYCACHEPREFIX,
as an installed bot has) even where PYTHONDONTWRITEBYTECODE is set. Prints a table and, last, one JSON line.

    python benchmarks/bench_backtest.py [--runs N]
"""
from __future__ import annotations

import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.installed import BOT  # noqa: E402

import sqlite_utils  # noqa: E402

from tradingbot.adapters.candle_cache import CachedCandles  # noqa: E402
from tradingbot.adapters.kline_import import import_files, load_panel, panel_from_file  # noqa: E402
from tradingbot.adapters.kline_store import KlineStore  # noqa: E402
from tradingbot.adapters.panel_copy import copies_folder  # noqa: E402
from tradingbot.core.backtest.config import BacktestConfig, allowed_columns  # noqa: E402
from tradingbot.core.backtest.panel import Panel, build_panel, day_number  # noqa: E402
from tradingbot.core.backtest.simulate import Run, simulate  # noqa: E402
from tradingbot.app.sweep import run_sweep  # noqa: E402
from tradingbot.core.params import StrategyParams  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "binance_spot_usdt_1d.csv.gz"
START, END = date(2021, 1, 1), date(2024, 12, 31)
PARAMS = StrategyParams(lookback=timedelta(days=7), topn=10, fee_rate=Decimal("0.001"))
CLI = ["--strategy", "momentum", "--lookback", "7d", "--topn", "10", "--every", "1d", "--fee", "0.001",
       "--start", str(START), "--end", str(END), "--json"]
SWEEP = ["--fee", "0.001", "--start", str(START), "--end", str(END), "--json",
         "--sweep", "lookback=1d,3d,7d,14d,30d", "topn=3,5,10,20", "strategy=momentum,reversal"]
FULL = (date(2017, 8, 17), date(2025, 9, 30))
TARGETS = {"cli_cache_over_floor": 4, "cli_file_s": 1.5, "cli_file_peak_mib": 300, "import_cli_s": 4,
           "import_cli_peak_mb": 300, "sweep_over_backtest": 1.5, "full_run_ms": 25, "run_ms": 10}


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


def run_times(panel: Panel, config: BacktestConfig, repeat: int = 9) -> tuple[float, float, Run]:
    """Median wall and CPU seconds of `repeat` runs after one (the CPU time is steadier on a loaded machine)."""
    out = simulate(panel, config)
    walls, cpus = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = simulate(panel, config)
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus), out


def first_run(panel: Panel, config: BacktestConfig) -> float:
    """Median seconds of a run on a warmed panel no run used yet (its filtered closes and exclusion mask are
    made first, as in a one-off `bot.py backtest`), over 3 fresh panels; the rows above are later runs."""
    def once() -> float:
        fresh = replace(panel).warm()
        return timed(lambda: simulate(fresh, config))[0]
    return statistics.median(once() for _ in range(3))


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


# Runs one command and prints its wall time and peak RSS. A child forked from this (large) process would report
# this process's RSS as its peak (Linux keeps the high-water mark across fork and exec), so a small launcher forks it.
LAUNCHER = """import os, subprocess, sys, time
t = time.perf_counter()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(p.pid, 0)
print(time.perf_counter() - t, usage.ru_maxrss, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status))
"""
CPU: dict[str, list[float]] = {}  # CPU seconds (user + system) per command kind: steadier than wall on a loaded machine


def child(*args: str, env: dict[str, str], kind: str = "") -> tuple[float, float]:
    """Wall seconds and peak RSS in MiB of one child process (its own rusage, from wait4)."""
    done = subprocess.run([sys.executable, "-c", LAUNCHER, *args], cwd=ROOT, env=env, capture_output=True, text=True)
    wall, peak_kb, cpu, code = done.stdout.split()
    if int(code) or done.returncode:
        raise SystemExit(f"{' '.join(args)} failed: {done.stderr}")
    CPU.setdefault(kind, []).append(float(cpu))
    return float(wall), int(peak_kb) / 1024


def pandas_reference(path: str) -> None:
    """The reference: pandas reads the file (explicit dtypes, no text kept) and the naive loop runs on it."""
    import pandas as pd

    df = pd.read_csv(path, usecols=["symbol", "open_time_ms", "open", "close", "volume", "flags"],
                     dtype={"symbol": "category", "open_time_ms": "int64", "open": "float64", "close": "float64",
                            "volume": "float64", "flags": "category"})
    df = df[df["flags"] != "partial_day"]
    panel = build_panel(df["symbol"].astype(str).to_numpy(), df["open_time_ms"].to_numpy() // 86_400_000,
                        df["open"].to_numpy(), df["close"].to_numpy(), (df["close"] * df["volume"]).to_numpy())
    del df
    naive_pandas(panel, BacktestConfig(PARAMS, START, END))


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def whole_processes(cache: Path, data: Path, folder: Path, runs: int) -> dict[str, list[float]]:
    """The issue-17 rows: each command and its baseline as child processes, interleaved run by run."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
    bot = BOT
    have_pandas = subprocess.run([sys.executable, "-c", "import pandas"], capture_output=True).returncode == 0
    child(*bot, "backtest", "--cache", str(cache), *CLI, env=env)  # bytecode cache and panel copy made once
    file_cache = folder / "file-runs.sqlite"  # where `--data` runs keep the file's copy (never beside the file)
    out: dict[str, list[float]] = {}

    def add(key: str, value: float) -> None:
        out.setdefault(key, []).append(value)

    for i in range(runs):
        add("floor_s", child(sys.executable, "-c", "import numpy, sqlite3, asyncio", env=env, kind="floor")[0])
        add("cli_cache_s", child(*bot, "backtest", "--cache", str(cache), *CLI, env=env, kind="cli_cache")[0])
        add("sweep_cli_s", child(*bot, "backtest", "--cache", str(cache), *SWEEP, "--out", str(folder / "sweep"),
                                 env=env, kind="sweep_cli")[0])
        KlineStore(sqlite_utils.Database(cache)).set_listing("BENCHWRITEUSDT", None, i)  # a write: a stale copy
        add("cli_cache_rebuild_s", child(*bot, "backtest", "--cache", str(cache), *CLI, env=env,
                                         kind="cli_cache_rebuild")[0])
        shutil.rmtree(copies_folder(file_cache), ignore_errors=True)  # a first run of the file: no copy of it yet
        wall, peak = child(*bot, "backtest", "--cache", str(file_cache), "--data", str(data), *CLI, env=env,
                           kind="cli_file")
        add("cli_file_s", wall), add("cli_file_peak_mib", peak)
        wall, peak = child(*bot, "backtest", "--cache", str(file_cache), "--data", str(data), *CLI, env=env,
                           kind="cli_file_again")  # the same file again: its copy mapped
        add("cli_file_again_s", wall), add("cli_file_again_peak_mib", peak)
        if have_pandas:
            wall, peak = child(sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); "
                               f"import bench_backtest as b; b.pandas_reference({str(data)!r})", env=env,
                               kind="reference_file")
            add("reference_file_s", wall), add("reference_file_peak_mib", peak)
        fresh = folder / f"import{i}.sqlite"
        wall, peak = child(*bot, "data", "import", "--cache", str(fresh), str(data), env=env, kind="import_cli")
        add("import_cli_s", wall), add("import_cli_peak_mb", peak * 1.048576)
        fresh.unlink()
    return out


def main() -> int:
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 3
    folder = Path(tempfile.mkdtemp(prefix="bench-bt-"))
    try:
        return measure(folder, runs)
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # the cache, its panel copy and the children's bytecode


def measure(folder: Path, runs: int) -> int:
    data = SHARED if SHARED.exists() else synthetic_file(folder)
    cache = folder / "klines.sqlite"
    t_import, _ = timed(lambda: import_files(KlineStore(sqlite_utils.Database(cache)), [data]))
    config = BacktestConfig(PARAMS, START, END)
    t_cache, panel = timed(lambda: load_panel(sqlite_utils.Database(cache), START, END, 30), 3)
    CachedCandles(cache).load(START, END, 30, "USDT", True)  # makes the binary copy
    t_copy, _ = timed(lambda: CachedCandles(cache).load(START, END, 30, "USDT", True), 5)
    t_file, _ = timed(lambda: panel_from_file(data), 1)
    t_warm, _ = timed(panel.warm)
    t_run, cpu_run, run = run_times(panel, config)
    full_config = BacktestConfig(PARAMS, *FULL)
    full_panel = CachedCandles(cache).load(*FULL, 30, "USDT", False)[0].warm()
    t_full, cpu_full, _ = run_times(full_panel, full_config)
    t_first, t_full_first = first_run(panel, config), first_run(full_panel, full_config)
    engine_load = os.getloadavg()[0]
    configs = [BacktestConfig(StrategyParams(strategy=s, lookback=timedelta(days=lb), topn=n,
                                             fee_rate=Decimal("0.001")), START, END)
               for lb in (1, 3, 7, 14, 30) for n in (3, 5, 10, 20) for s in ("momentum", "reversal")]
    t_sweep, _ = timed(lambda: run_sweep(panel, configs), 3)
    t_sweep1, _ = timed(lambda: run_sweep(panel, configs, workers=1))
    procs = {k: median(v) for k, v in whole_processes(cache, data, folder, runs).items()}
    try:
        t_naive, naive_final = timed(lambda: naive_pandas(panel, config))
    except ImportError:
        t_naive, naive_final = float("nan"), float("nan")
    final = float(run.equity[-1])
    floor, t_cli = procs["floor_s"], procs["cli_cache_s"]
    ref_s, ref_mib = procs.get("reference_file_s", float("nan")), procs.get("reference_file_peak_mib", float("nan"))
    figures = {
        "cli_cache_over_floor": round(t_cli / floor, 2), "cli_file_s": round(procs["cli_file_s"], 3),
        "cli_file_peak_mib": round(procs["cli_file_peak_mib"], 1), "import_cli_s": round(procs["import_cli_s"], 3),
        "import_cli_peak_mb": round(procs["import_cli_peak_mb"], 1),
        "sweep_over_backtest": round(procs["sweep_cli_s"] / t_cli, 2), "full_run_ms": round(t_full * 1000, 2),
        "run_ms": round(t_run * 1000, 2),
    }
    engine = {"run_cpu_ms": round(cpu_run * 1000, 2), "full_run_cpu_ms": round(cpu_full * 1000, 2),
              "first_run_ms": round(t_first * 1000, 2), "full_first_run_ms": round(t_full_first * 1000, 2),
              "engine_load_average": round(engine_load, 2)}
    rows = [
        ("data", "real (shared, 620 symbols)" if data == SHARED else "synthetic (600 symbols)"),
        ("symbols in the run's panel", f"{len(panel.symbols)}"),
        ("import file into cache (in process)", f"{t_import:.2f} s"),
        ("load panel from cache, SQLite (2021-2024)", f"{t_cache * 1000:.0f} ms"),
        ("load panel from cache, binary copy", f"{t_copy * 1000:.1f} ms"),
        ("load panel from .csv.gz", f"{t_file * 1000:.0f} ms"),
        ("derived arrays (once per panel)", f"{t_warm * 1000:.0f} ms"),
        ("simulation alone (panel loaded), median of 9 runs", f"load average {engine_load:.1f}"),
        ("  one daily run 2021-2024, full mode", f"{t_run * 1000:.1f} ms, CPU {cpu_run * 1000:.1f} ms   "
                                                  "(target <= 10 ms)"),
        ("  one daily run 2017-08 - 2025-09", f"{t_full * 1000:.1f} ms, CPU {cpu_full * 1000:.1f} ms   "
                                              "(target <= 25 ms)"),
        ("  a panel's first run, 2021-2024 / whole history", f"{t_first * 1000:.1f} / {t_full_first * 1000:.1f} ms"),
        ("naive per-day pandas loop, same run", f"{t_naive * 1000:.0f} ms"),
        ("40-config sweep, all cores (in process)",
         f"{t_sweep:.2f} s  ({os.cpu_count()} cores; one core {t_sweep1:.2f} s)"),
        (f"whole processes, median of {runs}, interleaved", f"load average {os.getloadavg()[0]:.1f}"),
        ("  floor: python -c 'import numpy, sqlite3, asyncio'", f"{floor:.2f} s"),
        ("  bot.py backtest --json, cache (copy valid)",
         f"{t_cli:.2f} s = {t_cli / floor:.2f}x floor   (target <= 4x)"),
        ("  the same right after a write (copy rebuilt)", f"{procs['cli_cache_rebuild_s']:.2f} s"),
        ("  bot.py backtest --json --data .csv.gz", f"{procs['cli_file_s']:.2f} s, {procs['cli_file_peak_mib']:.0f} MiB"
                                                     "   (target <= 1.5 s, <= 300 MiB)"),
        ("  the same file again (its copy mapped)", f"{procs['cli_file_again_s']:.2f} s, "
                                                    f"{procs['cli_file_again_peak_mib']:.0f} MiB"),
        ("  reference: pandas read_csv + naive loop", f"{ref_s:.2f} s, {ref_mib:.0f} MiB"),
        ("  bot.py data import .csv.gz (fresh cache)", f"{procs['import_cli_s']:.2f} s, "
                                                      f"{procs['import_cli_peak_mb']:.0f} MB"
                                                      "   (target <= 4 s, <= 300 MB)"),
        ("  40-config sweep --json, cache", f"{procs['sweep_cli_s']:.2f} s = {procs['sweep_cli_s'] / t_cli:.2f}x one "
                                           "backtest   (target <= 1.5x)"),
        ("final equity fast / naive", f"{final:,.4f} / {naive_final:,.4f}"),
    ]
    rows.append(("  CPU seconds (user + system), medians",
                 ", ".join(f"{k} {median(v):.2f}" for k, v in CPU.items() if k)))
    for name, value in rows:
        print(f"{name:52} {value}")
    print(json.dumps({
        "data": "real" if data == SHARED else "synthetic", "symbols": len(panel.symbols),
        "import_s": round(t_import, 3), "load_cache_ms": round(t_cache * 1000, 1),
        "load_file_ms": round(t_file * 1000, 1),
        "load_copy_ms": round(t_copy * 1000, 2),
        "naive_pandas_ms": round(t_naive * 1000, 1),
        "sweep_40_s": round(t_sweep, 3), "sweep_40_one_core_s": round(t_sweep1, 3),
        "cli_cache_s": round(t_cli, 3), "floor_s": round(floor, 3),
        "cli_cache_rebuild_s": round(procs["cli_cache_rebuild_s"], 3), "sweep_cli_s": round(procs["sweep_cli_s"], 3),
        "cli_file_again_s": round(procs["cli_file_again_s"], 3),
        "cli_file_again_peak_mib": round(procs["cli_file_again_peak_mib"], 1),
        "reference_file_s": round(ref_s, 3), "reference_file_peak_mib": round(ref_mib, 1),
        **figures, **engine, **{f"{k}_cpu_s": round(median(v), 3) for k, v in CPU.items() if k},
        "load_average": round(os.getloadavg()[0], 2), "runs": runs,
        "final_equity": final, "naive_final_equity": naive_final, "targets": TARGETS,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
