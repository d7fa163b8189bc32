"""Core engine figures: one paper rebalance on 400 synthetic symbols; /status and /pnl on a year of data.

Prints a table and, last, one JSON line. Baselines are measured in the same run:
- rebalance: a naive market read (the whole lookback of hourly candles per symbol, then the same ranking);
- the demo's first rebalance as a user runs it, `bot.py --demo rebalance --now --json` on a fresh database
  (wall and CPU time, and the signal-to-fill it reports), interleaved run by run with the interpreter floor
  (`python -c "import numpy, sqlite3, asyncio"`); the same rebalance in process, wired as bot.py wires it
  (the paper venue's default 50 ms latency included), for its signal-to-fill beside the whole process's;
- /status, /pnl: a naive ledger (replaying every fill and scanning every mark in Python).

    python benchmarks/bench_core.py [--days 365] [--symbols 400] [--process-runs 7] [--no-year]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.installed import BOT  # noqa: E402

from bench_startup import FLOOR  # noqa: E402  (this folder is on the path: the script's own)

from handlers.commands import Context, dispatch  # noqa: E402
from tradingbot.adapters.lockfile import FileLock
from tradingbot.adapters.paper import PaperExchange  # noqa: E402
from tradingbot.adapters.sqlite_store import SqliteStore, open_database  # noqa: E402
from tradingbot.adapters.synthetic import SyntheticMarket  # noqa: E402
from tradingbot.adapters.clock import ManualClock
from tradingbot.app.current_params import CurrentParams  # noqa: E402
from tradingbot.app.rebalancer import Rebalancer  # noqa: E402
from tradingbot.core.domain import EquityMark  # noqa: E402
from tradingbot.core.ledger import replay  # noqa: E402
from tradingbot.app.market_view import snapshot_universe  # noqa: E402
from tradingbot.core.params import StrategyParams  # noqa: E402
from tradingbot.core.ranking import anchors, build_snapshot, rank_universe, volume_window  # noqa: E402
from tradingbot.app.services import Services  # noqa: E402

START = datetime(2025, 11, 24, 9, 0, 30, tzinfo=timezone.utc)


def build(path: Path, symbols: int):
    clock = ManualClock(START)
    market = SyntheticMarket(clock, seed=7, n_symbols=symbols)
    db = open_database(path)
    store = SqliteStore(db, "USDT")
    params = CurrentParams(store, StrategyParams(topn=10, latency_ms=0))
    paper = PaperExchange(db, market, clock, params.costs)
    rebalancer = Rebalancer(store, paper, market, clock, FileLock(f"{path}.lock"))
    services = Services(store, paper, market, clock, rebalancer, params, "synthetic")
    with db.atomic():
        paper.deposit("USDT", Decimal(10000))
        store.deposit(Decimal(10000), clock.now())
    return clock, market, store, services


async def naive_rank(market, params, now):
    """Baseline: read every hourly candle of the lookback window, then rank the same way."""
    at_now, at_then = anchors(now, params.lookback)
    first_day, last_day = volume_window(now)
    snaps = []
    for r in await market.symbols():
        if r.quote != params.quote or not r.trading:
            continue
        hourly = await market.candles(r.symbol, "1h", at_then, at_now)
        daily = await market.candles(r.symbol, "1d", first_day, last_day)
        snaps.append(build_snapshot(r, await market.first_candle_time(r.symbol), hourly, hourly, daily, now,
                                    params.lookback))
    return rank_universe(snaps, params, now)


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


async def bench_rebalance(tmp: Path, symbols: int, runs: int) -> dict:
    clock, market, store, services = build(tmp / "rebalance.sqlite", symbols)
    await services.rebalance_slot()  # day 0: buys only; from day 1 every rebalance sells 10 and buys 10
    walls, fills, rank_ms, naive_ms = [], [], [], []
    for _ in range(runs):
        clock.advance(timedelta(days=1))
        t0 = time.perf_counter()
        summary = await services.rebalance_slot()
        walls.append((time.perf_counter() - t0) * 1000)
        fills.append(len(summary.fills))
        t0 = time.perf_counter()
        await snapshot_universe(market, services.params, clock.now())
        rank_ms.append((time.perf_counter() - t0) * 1000)  # warm: the same reads again
        t0 = time.perf_counter()
        await naive_rank(market, services.params, clock.now())
        naive_ms.append((time.perf_counter() - t0) * 1000)
    listed = sum(1 for r in await market.symbols() if r.trading)
    return {"rebalance_ms_median": statistics.median(walls), "rebalance_ms_max": max(walls),
            "fills_per_rebalance": statistics.median(fills), "symbols_trading": listed,
            "market_read_warm_ms_median": statistics.median(rank_ms),
            "baseline_naive_market_read_ms_median": statistics.median(naive_ms)}


async def bench_queries(tmp: Path, symbols: int, days: int) -> dict:
    clock, market, store, services = build(tmp / "year.sqlite", symbols)
    t0 = time.perf_counter()
    for day in range(days):
        await services.rebalance_slot()
        clock.advance(timedelta(days=1))
    fill_secs = time.perf_counter() - t0
    equity = store.load_ledger().equity(await market.prices())
    store.add_marks([EquityMark(START + timedelta(hours=h), equity, Decimal(1), equity - 1) for h in range(days * 24)])
    # Each command runs through the command table (service + formatting), as a chat user would see it.
    ctx = Context(services, "bench")
    results = {}
    for name in ("/status", "/pnl", "/positions"):
        reply = await dispatch(ctx, name)  # warm-up, and proof the command really answered
        assert not reply.text.startswith("⚠"), reply.text
        samples = []
        for _ in range(50):
            t0 = time.perf_counter()
            await dispatch(ctx, name)
            samples.append((time.perf_counter() - t0) * 1000)
        results[f"{name[1:]}_ms_median"] = statistics.median(samples)
        results[f"{name[1:]}_ms_p95"] = sorted(samples)[int(len(samples) * 0.95) - 1]

    def naive_pnl():
        ledger = replay("USDT", store.deposits(), [(f, f.symbol.removesuffix("USDT")) for f in store.fills_in_order()])
        marks = store.marks()
        since = clock.now() - timedelta(days=7)
        start = [m for m in marks if m.time <= since]
        return ledger, start

    results["baseline_naive_pnl_ms_median"] = statistics.median(timed(naive_pnl, 5))
    results.update(days_of_rebalances=days, fills_in_db=len(store.fills()), marks_in_db=len(store.marks()),
                   setup_rebalance_s=round(fill_secs, 1))
    return results


def child(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall and CPU seconds (user + system, from the children's rusage) of one process, and its stdout."""
    before, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    wall, after = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr[-2000:]}")
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, done.stdout


def demo_env(symbols: int) -> dict[str, str]:
    """The environment of a demo run: no settings file, no Telegram or Binance settings, `symbols` symbols."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BINANCE_", "EXCHANGE", "MARKET_"))}
    return {**env, "SYNTHETIC_SYMBOLS": str(symbols)}


def whole_rebalances(tmp: Path, symbols: int, runs: int) -> dict:
    """`bot.py --demo rebalance --now --json` on a fresh database each time, interleaved with the floor."""
    env, absent = demo_env(symbols), str(tmp / "absent.env")
    walls, cpus, floors, floor_cpus, s2f = [], [], [], [], []
    for run in range(runs + 1):  # the first run of each only warms the file cache and the bytecode
        wall_f, cpu_f, _ = child(FLOOR, env)
        db = tmp / f"process{run}.sqlite"
        wall, cpu, out = child([*BOT, "--demo", "--db", str(db), "--env-file", absent,
                                "rebalance", "--now", "--json"], env)
        if run:
            floors.append(wall_f), floor_cpus.append(cpu_f), walls.append(wall), cpus.append(cpu)
            s2f.append(json.loads(out)["signal_to_fill_ms"])
    return {"process_rebalance_s_median": statistics.median(walls), "process_rebalance_cpu_s_median":
            statistics.median(cpus), "process_signal_to_fill_ms_median": statistics.median(s2f),
            "baseline_floor_s_median": statistics.median(floors),
            "baseline_floor_cpu_s_median": statistics.median(floor_cpus),
            "process_over_floor": statistics.median(walls) / statistics.median(floors), "process_runs": runs}


def demo_signal_to_fill(tmp: Path, symbols: int, runs: int) -> dict:
    """The whole process's rebalance in process (built by bootstrap.build, real clock): signal-to-fill."""
    from tradingbot.bootstrap import RunOptions, account_lock, build
    from tradingbot.settings import load_settings

    settings = load_settings(env_file=None, synthetic_symbols=symbols)
    s2f, walls, cpus = [], [], []
    for run in range(runs):
        db = str(tmp / f"inprocess{run}.sqlite")
        app = build(settings, RunOptions(demo=True, db=db), account_lock(db))
        t0, c0 = time.perf_counter(), time.process_time()
        summary = asyncio.run(app.services.rebalance_now(None))
        walls.append((time.perf_counter() - t0) * 1000)
        cpus.append((time.process_time() - c0) * 1000)  # steadier than wall on a loaded machine
        s2f.append(summary.row.signal_to_fill_ms)
    return {"inprocess_signal_to_fill_ms_median": statistics.median(s2f),
            "inprocess_first_rebalance_ms_median": statistics.median(walls),
            "inprocess_first_rebalance_cpu_ms_median": statistics.median(cpus)}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--symbols", type=int, default=400)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--process-runs", type=int, default=7)
    parser.add_argument("--no-year", action="store_true", help="skip /status and /pnl on a year (a minute)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        figures = await bench_rebalance(Path(tmp), args.symbols, args.runs)
        figures.update(whole_rebalances(Path(tmp), args.symbols, args.process_runs))
        figures.update(await asyncio.to_thread(demo_signal_to_fill, Path(tmp), args.symbols, args.process_runs))
        if not args.no_year:
            figures.update(await bench_queries(Path(tmp), args.symbols, args.days))
    figures = {k: round(v, 2) if isinstance(v, float) else v for k, v in figures.items()}
    for key, value in figures.items():
        print(f"{key:>40}: {value}")
    figures["targets"] = {"rebalance_ms": 200, "status_ms": 20, "pnl_ms": 20, "process_rebalance_s": 1.2,
                          "signal_to_fill_ms": 200}
    print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
