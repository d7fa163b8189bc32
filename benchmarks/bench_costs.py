"""The volume cost model's price: one daily backtest under --cost-model volume against the same run under flat.

Target (issue 14): within 2x the flat run. Measured in the same process on the same panel (the shared real
data when present, else bench_backtest's synthetic file of the same size): the simulation alone, and the
panel load plus the simulation (the volume model also reads highs and lows). Medians of several repeats, with
the load average beside them: on a shared machine the ratio is the figure to read. A run keeps what it worked
out with the panel (the exclusion mask and filtered closes, the volume model's inputs), so a repeat on the same
panel (a sweep, the capacity curve) reads less: the "cold" rows drop all of it before each run, flat and volume
alike (a panel's first run, as a single `bot.py backtest` does). Ends with one JSON line.

    python benchmarks/bench_costs.py [--repeat 9]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_backtest import END, PARAMS, SHARED, START, synthetic_file, timed  # noqa: E402

from tradingbot.adapters.kline_import import panel_from_file  # noqa: E402
from tradingbot.core.backtest.config import BacktestConfig  # noqa: E402
from tradingbot.core.backtest.execution import Execution  # noqa: E402
from tradingbot.core.backtest.simulate import simulate  # noqa: E402

TARGET_RATIO = 2.0


def interleaved(runs: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Median CPU seconds of each run, the runs taking turns (a busy machine's drift falls on all alike); CPU time,
    not wall time: on a shared machine the other processes' share of the cores is not the run's cost."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            start = time.process_time()
            run()
            times[name].append(time.process_time() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    data = SHARED if SHARED.exists() else synthetic_file(Path(tempfile.mkdtemp(prefix="itb-costs-")))
    load = {m: timed(lambda m=m: panel_from_file(data, ranges=m == "volume")[0].warm(), 3) for m in ("flat", "volume")}
    panel = load["volume"][1]
    figures: dict[str, dict[str, float]] = {}
    for mode in ("delta", "full"):
        base = BacktestConfig(replace(PARAMS, mode=mode), start=START, end=END)
        flat, volume = (replace(base, execution=Execution(model)) for model in ("flat", "volume"))
        runs = {"flat": lambda: simulate(panel, flat), "volume": lambda: simulate(panel, volume),
                "flat_cold": lambda: (panel.forget(), simulate(panel, flat))[1],
                "volume_cold": lambda: (panel.forget(), simulate(panel, volume))[1]}
        times = interleaved(runs, args.repeat)
        for name in runs:
            figures[f"{mode}_{name}"] = {"run_ms": times[name] * 1000}
    ratios = {f"{mode}{cold}": figures[f"{mode}_volume{cold}"]["run_ms"] / figures[f"{mode}_flat{cold}"]["run_ms"]
              for mode in ("delta", "full") for cold in ("", "_cold")}
    whole = {mode: (load["volume"][0] * 1000 + figures[f"{mode}_volume_cold"]["run_ms"])  # one backtest's process
             / (load["flat"][0] * 1000 + figures[f"{mode}_flat_cold"]["run_ms"]) for mode in ("delta", "full")}
    print(f"data: {'real (shared)' if data == SHARED else 'synthetic'}, {len(panel.symbols)} symbols, "
          f"{START} → {END}, daily momentum top 10; load average {os.getloadavg()[0]:.1f}")
    print(f"{'':34}{'flat':>12}{'volume':>12}{'ratio':>8}")
    print(f"{'load .csv.gz (median of 3)':34}{load['flat'][0] * 1000:>9.0f} ms{load['volume'][0] * 1000:>9.0f} ms"
          f"{load['volume'][0] / load['flat'][0]:>8.2f}")
    for mode in ("delta", "full"):
        f, v = figures[f"{mode}_flat"]["run_ms"], figures[f"{mode}_volume"]["run_ms"]
        print(f"{'a repeat run (CPU), ' + mode + ' mode':34}{f:>9.1f} ms{v:>9.1f} ms{ratios[mode]:>8.2f}")
        f, v = figures[f"{mode}_flat_cold"]["run_ms"], figures[f"{mode}_volume_cold"]["run_ms"]
        print(f"{'  first run on a panel, ' + mode:34}{f:>9.1f} ms{v:>9.1f} ms{ratios[mode + '_cold']:>8.2f}")
        print(f"{'  load + cold run, ' + mode + ' mode':34}{'':>24}{whole[mode]:>8.2f}")
    print(f"target: volume within {TARGET_RATIO:g}x flat")
    print(json.dumps({"load_average": os.getloadavg()[0], "repeat": args.repeat,
                      **{f"{k}_run_ms": round(v["run_ms"], 2) for k, v in figures.items()},
                      **{f"ratio_run_{k}": round(v, 3) for k, v in ratios.items()},
                      **{f"ratio_load_and_run_{k}": round(v, 3) for k, v in whole.items()},
                      "targets": {"ratio": TARGET_RATIO}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
