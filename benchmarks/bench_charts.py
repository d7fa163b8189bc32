"""Chart render times on a year of data: each chart's median beside a bare matplotlib line from the same run.

Inputs: 8,760 hourly equity marks with two benchmark series, 10 positions, 365 rebalances,
a 300-row ranking, 365 inventory snapshots of ~12 assets, an 8 × 5 heatmap. Baselines:
- bare_figure_line: a default-styled Figure with one 8,760-point line saved by savefig (the floor
  the issue sets: every chart within 1.2× of it);
- equity_no_downsampling: the same equity chart drawing all 8,760 points of every series.

Rounds are interleaved: each round renders every chart and the baselines once, in a rotating order, so a
burst of load on the shared machine hits them alike; the ratio is each chart's median over the bare line's.
Each round draws a different year of data (other numbers in titles, scores, symbols and tick labels), as
a bot sending charts of new data would (`--same-data`: one year for every round, a chart sent again).

Prints a table and, last, one JSON line. p95 includes the interpreter's occasional full garbage
collection (each render leaves a figure's worth of cyclic garbage), as it would in the bot.

    python benchmarks/bench_charts.py [--runs 15] [--same-data]
"""
from __future__ import annotations

import argparse
import gc
import io
import json
import math
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import charts  # noqa: E402
from tradingbot.core.domain import EquityMark, Position, Ranking, RankRow, RebalanceRow  # noqa: E402

START = datetime(2025, 11, 24, 9, 0, tzinfo=timezone.utc)
TZ = ZoneInfo("Europe/Berlin")
HOURS = 365 * 24
TARGET_RATIO = 1.2  # each chart's median within 1.2× the bare line's (issue 17)
BARE = "baseline_bare_figure_line"


def money(x: float) -> Decimal:
    return Decimal(f"{x:.2f}")


def year_of_marks(rng: np.random.Generator) -> tuple[list[EquityMark], dict[str, list[tuple[datetime, Decimal]]]]:
    """Hourly equity as a random walk, and two benchmarks over the same hours."""
    equity = 10000 * np.exp(np.cumsum(rng.normal(0.00003, 0.004, HOURS)))
    btc = 10000 * np.exp(np.cumsum(rng.normal(0.00002, 0.005, HOURS)))
    universe = 10000 * np.exp(np.cumsum(rng.normal(0.0, 0.003, HOURS)))
    times = [START + timedelta(hours=h) for h in range(HOURS)]
    marks = [EquityMark(t, money(e), money(e * 0.1), money(e * 0.9)) for t, e in zip(times, equity)]
    return marks, {"BTC buy & hold": [(t, money(v)) for t, v in zip(times, btc)],
                   "Equal-weight universe": [(t, money(v)) for t, v in zip(times, universe)]}


def positions(rng: np.random.Generator) -> list[Position]:
    """Ten holdings around 1,000 each, gains and losses mixed."""
    out = []
    for i in range(10):
        price = Decimal(f"{rng.uniform(0.5, 500):.4f}")
        qty = (Decimal(1000) / price).quantize(Decimal("0.001"))
        cost = money(float(qty * price) * rng.uniform(0.8, 1.2))
        out.append(Position(f"TOK{i}", qty, cost, Decimal(0), money(1.0), price))
    return out


def rebalances(rng: np.random.Generator) -> list[RebalanceRow]:
    """A year of daily rebalances, a few of them failed (which the chart skips)."""
    rows, equity = [], 10000.0
    for i in range(365):
        after = equity + rng.normal(3, 60)
        rows.append(RebalanceRow(i + 1, f"slot{i}", "scheduled", "failed" if i % 50 == 7 else "done",
                                 START + timedelta(days=i), START + timedelta(days=i, minutes=2), "momentum", "paper",
                                 ("AUSDT",), money(equity), money(after), money(2000), money(abs(rng.normal(2, 0.5))),
                                 120.0, ""))
        equity = after
    return rows


def ranking(rng: np.random.Generator) -> tuple[Ranking, frozenset[str]]:
    """300 eligible symbols with normal scores, the top 10 picked, four of them held."""
    scores = sorted(rng.normal(0, 0.08, 300), reverse=True)
    rows = tuple(RankRow(f"SYM{i:03d}USDT", Decimal(f"{sc:.4f}"), Decimal(5_000_000), True, "",
                         selected=i < 10, rank=i + 1 if i < 10 else None) for i, sc in enumerate(scores))
    return Ranking(START, "momentum", timedelta(days=7), 10, rows), frozenset(r.symbol for r in rows[:4])


def inventory(rng: np.random.Generator) -> list[tuple[datetime, dict[str, Decimal]]]:
    """A year of daily snapshots: cash plus ~11 of 30 tokens held at a time."""
    out = []
    for day in range(365):
        held = {f"TOK{(day // 7 + k * 3) % 30}": money(rng.uniform(500, 1500)) for k in range(11)}
        out.append((START + timedelta(days=day), {"USDT": money(rng.uniform(50, 500)), **held}))
    return out


def bare_figure(y: np.ndarray) -> bytes:
    """Baseline floor: one line on a default Figure, saved the ordinary way."""
    fig = Figure(figsize=(8, 10), dpi=128)
    FigureCanvasAgg(fig)
    fig.add_subplot().plot(y)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def inputs(seed: int) -> dict[str, Callable[[], bytes]]:
    """Every chart and baseline as a render of one year of data drawn from seed."""
    rng = np.random.default_rng(seed)
    marks, bench = year_of_marks(rng)
    fees = Decimal("730.50")
    held_positions = positions(rng)
    rows = rebalances(rng)
    rank, held = ranking(rng)
    snaps = inventory(rng)
    grid = [[None if (i * 5 + j) % 11 == 3 else float(rng.normal(0.4, 0.8)) for j in range(5)] for i in range(8)]
    line = np.array([float(m.equity) for m in marks])
    return {
        "equity": lambda: charts.equity_chart(marks, Decimal(10000), fees, bench, TZ, "USDT"),
        "allocation": lambda: charts.allocation_chart(held_positions, Decimal("812.40"), Decimal("10950.00"), "USDT"),
        "rebalance_pnl": lambda: charts.rebalance_pnl_chart(rows, TZ, "USDT"),
        "ranking": lambda: charts.ranking_chart(rank, held),
        "inventory": lambda: charts.inventory_chart(snaps, TZ, "USDT"),
        "heatmap": lambda: charts.heatmap_chart(grid, ["3", "5", "10", "15", "20"],
                                                ["1d", "2d", "3d", "5d", "7d", "10d", "14d", "30d"],
                                                "Sharpe by lookback and top N", "Sharpe"),
        "baseline_equity_no_downsampling": lambda: charts.equity_chart(marks, Decimal(10000), fees, bench, TZ, "USDT",
                                                                       max_points=None),
        "baseline_bare_figure_line": lambda: bare_figure(line),
    }


def measure(rounds: list[dict[str, Callable[[], bytes]]], warm_up: dict[str, Callable[[], bytes]]
            ) -> dict[str, dict[str, float]]:
    """Median and p95 wall milliseconds and median CPU milliseconds of each render over the rounds, after one
    warm-up round. CPU time moves less than wall time when other processes share the machine."""
    sizes = {name: len(render()) for name, render in warm_up.items()}
    gc.collect()  # start clean of the warm-up's garbage
    wall: dict[str, list[float]] = {name: [] for name in warm_up}
    cpu: dict[str, list[float]] = {name: [] for name in warm_up}
    names = list(warm_up)
    for k, renders in enumerate(rounds):
        for name in names[k % len(names):] + names[:k % len(names)]:  # rotate: no chart always runs first
            t0, c0 = time.perf_counter(), time.process_time()
            renders[name]()
            wall[name].append((time.perf_counter() - t0) * 1000)
            cpu[name].append((time.process_time() - c0) * 1000)
    out = {}
    for name, times in wall.items():
        times.sort()
        p95 = times[min(len(times) - 1, math.ceil(0.95 * len(times)) - 1)]
        out[name] = {"median_ms": round(statistics.median(times), 1), "p95_ms": round(p95, 1),
                     "cpu_median_ms": round(statistics.median(cpu[name]), 1), "png_kb": round(sizes[name] / 1024)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--same-data", action="store_true", help="the same year of data in every round")
    args = parser.parse_args()
    rounds = [inputs(7 if args.same_data else 100 + k) for k in range(args.runs)]
    results = measure(rounds, inputs(7))
    floor, cpu_floor = results[BARE]["median_ms"], results[BARE]["cpu_median_ms"]
    for r in results.values():
        r["ratio_to_bare_line"] = round(r["median_ms"] / floor, 2)
        r["cpu_ratio_to_bare_line"] = round(r["cpu_median_ms"] / cpu_floor, 2)
    print(f"{'chart':>34} {'median ms':>10} {'p95 ms':>8} {'× bare line':>12} {'CPU ms':>7} {'× bare':>7} {'PNG KB':>7}")
    for name, r in results.items():
        print(f"{name:>34} {r['median_ms']:>10} {r['p95_ms']:>8} {r['ratio_to_bare_line']:>12} "
              f"{r['cpu_median_ms']:>7} {r['cpu_ratio_to_bare_line']:>7} {r['png_kb']:>7}")
    worst = max((r["ratio_to_bare_line"], name) for name, r in results.items() if not name.startswith("baseline"))
    print(f"worst: {worst[1]} at {worst[0]}× the bare line ({floor} ms this run); target ≤ {TARGET_RATIO}×")
    print(json.dumps({"runs": args.runs, "same_data": args.same_data, "equity_marks": HOURS, "charts": results,
                      "targets": {"ratio_to_bare_line": TARGET_RATIO}, "worst_chart_ratio": worst[0],
                      "worst_chart_median_ms": max(r["median_ms"] for name, r in results.items()
                                                   if not name.startswith("baseline")),
                      "within_target": worst[0] <= TARGET_RATIO}))


if __name__ == "__main__":
    main()
