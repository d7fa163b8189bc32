"""Paper fills that walk the book against the flat model: a paper rebalance of 10 coins on the local Binance with
50 ms added to every REST request.

EXCHANGE=paper, MARKET_DATA=binance, wired as tradingbot/venues.py wires it: BinanceTransport + BinanceMarketData
(the order books, GET /api/v3/depth) + CachedMarketData + KlineStore, the PaperExchange, Rebalancer, Services.
Universe: SyntheticMarket(seed=7, --symbols 60); StrategyParams(topn=10, min_age_days=1), the default paper
latency. The local Binance runs in its own process (bench_binance.ProcessSim) unless --in-process.

A first rebalance fills the kline cache (not timed). Then --rounds times, alternating so that the machine's load
falls on both alike: the flat model (the venue without books), then the book walk (each order reads its book,
all orders of a leg at once), each a manual rebalance that switches momentum <-> reversal so that 10 holdings are
sold and 10 others bought. Reported: median wall seconds of each, their ratio (target <= 1.5), depth requests and
their weight per rebalance, the load average. Prints a table and, last, one JSON line.

    python benchmarks/bench_book.py [--latency-ms 50] [--rounds 5] [--symbols 60] [--in-process]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_binance import CAPITAL, START, InProcessSim, ProcessSim  # noqa: E402
from tradingbot.adapters.binance_client import BinanceTransport  # noqa: E402
from tradingbot.adapters.binance_market import BinanceMarketData  # noqa: E402
from tradingbot.adapters.cached_market import CachedMarketData  # noqa: E402
from tradingbot.adapters.clock import OffsetClock  # noqa: E402
from tradingbot.adapters.kline_store import KlineStore  # noqa: E402
from tradingbot.adapters.paper import PaperExchange  # noqa: E402
from tradingbot.adapters.sqlite_store import SqliteStore, open_database  # noqa: E402
from tradingbot.app.current_params import CurrentParams  # noqa: E402
from tradingbot.app.rebalancer import Rebalancer  # noqa: E402
from tradingbot.app.services import Services  # noqa: E402
from tradingbot.core.params import StrategyParams  # noqa: E402

PARAMS = StrategyParams(topn=10, min_age_days=1)
TARGET_RATIO = 1.5
DEPTH = "/api/v3/depth"


class Lock:
    """The rebalance lock of a single benchmark process: always free."""

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        pass


async def measure(args: argparse.Namespace, work: Path) -> dict[str, object]:
    clock = OffsetClock(START)
    sim = (InProcessSim if args.in_process else ProcessSim)(clock, args.symbols, 0)
    await sim.start()
    transport = BinanceTransport("market data", sim.rest_url, clock=clock)
    try:
        data = BinanceMarketData(transport, clock)
        market = CachedMarketData(data, KlineStore(open_database(work / "klines.sqlite")), clock)
        db = open_database(work / "bot.sqlite")
        store = SqliteStore(db, "USDT")
        params = CurrentParams(store, PARAMS)
        paper = PaperExchange(db, market, clock, params.costs, books=data)
        with db.atomic():
            paper.deposit("USDT", CAPITAL)
            store.deposit(CAPITAL, clock.now())
        services = Services(store, paper, market, clock, Rebalancer(store, paper, market, clock, Lock()), params,
                            "binance")
        await services.rebalance_now(requested_at=START)  # fills the kline cache; not timed
        await sim.latency(args.latency_ms)
        times: dict[str, list[float]] = {"flat": [], "book": []}
        depth: dict[str, list[tuple[int, int]]] = {"flat": [], "book": []}
        orders: list[int] = []
        for i in range(2 * args.rounds):
            model = ("flat", "book")[i % 2]
            paper.books = data if model == "book" else None
            services.set_params([f"strategy={('reversal', 'momentum')[i % 2]}"], "bench")
            await sim.mark()
            began = time.perf_counter()
            summary = await services.rebalance_now(requested_at=START + timedelta(minutes=1, seconds=i))
            times[model].append(time.perf_counter() - began)
            reads = [entry for entry in await sim.log_since_mark() if entry[1] == DEPTH]
            depth[model].append((len(reads), sum(entry[2] for entry in reads)))
            orders.append(sum(1 for o in summary.orders if o.status.value == "filled"))
        return {"times": times, "depth": depth, "orders": orders}
    finally:
        await transport.close()
        await sim.stop()


def report(result: dict[str, object], args: argparse.Namespace) -> dict[str, object]:
    times: dict[str, list[float]] = result["times"]  # type: ignore[assignment]
    depth: dict[str, list[tuple[int, int]]] = result["depth"]  # type: ignore[assignment]
    flat, book = statistics.median(times["flat"]), statistics.median(times["book"])
    reads = statistics.median(n for n, _ in depth["book"])
    weight = statistics.median(w for _, w in depth["book"])
    load = os.getloadavg()
    print(f"paper rebalance of {PARAMS.topn} coins, {args.latency_ms:.0f} ms per request, {args.rounds} rounds each; "
          f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(f"{'model':<6}{'median s':>10}{'min s':>8}{'max s':>8}{'depth reads':>13}{'weight':>8}")
    for model in ("flat", "book"):
        row = times[model]
        n, w = statistics.median(d[0] for d in depth[model]), statistics.median(d[1] for d in depth[model])
        print(f"{model:<6}{statistics.median(row):>10.3f}{min(row):>8.3f}{max(row):>8.3f}{n:>13.0f}{w:>8.0f}")
    ratio = book / flat
    print(f"book / flat: {ratio:.2f}x (target <= {TARGET_RATIO}x); orders filled per rebalance {result['orders']}")
    return {"bench": "book", "latency_ms": args.latency_ms, "rounds": args.rounds, "flat_s": round(flat, 3),
            "book_s": round(book, 3), "ratio": round(ratio, 3), "target_ratio": TARGET_RATIO,
            "depth_reads": reads, "depth_weight": weight, "loadavg": [round(x, 2) for x in load],
            "ok": ratio <= TARGET_RATIO}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--symbols", type=int, default=60)
    parser.add_argument("--in-process", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(measure(args, Path(tmp)))
    print(json.dumps(report(result, args)))


if __name__ == "__main__":
    main()
