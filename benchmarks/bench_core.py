"""Core engine figures: one paper rebalance on 400 synthetic symbols; /status and /pnl on a year of data.

Prints a table and, last, one JSON line. Baselines are measured in the same run:
- rebalance: a naive market read (the whole lookback of hourly candles per symbol, then the same ranking);
- /status, /pnl: a naive ledger (replaying every fill and scanning every mark in Python).

    python benchmarks/bench_core.py [--days 365] [--symbols 400]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--symbols", type=int, default=400)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        figures = await bench_rebalance(Path(tmp), args.symbols, args.runs)
        figures.update(await bench_queries(Path(tmp), args.symbols, args.days))
    figures = {k: round(v, 2) if isinstance(v, float) else v for k, v in figures.items()}
    for key, value in figures.items():
        print(f"{key:>40}: {value}")
    figures["targets"] = {"rebalance_ms": 200, "status_ms": 20, "pnl_ms": 20}
    print(json.dumps(figures))


if __name__ == "__main__":
    asyncio.run(main())
