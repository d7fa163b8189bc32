"""/ranking on a local Binance that lists every quote, as Binance does: 400, 3,000 and 10,000 symbols listed.

The synthetic market lists its USDT pairs (SyntheticMarket(seed=7, n_symbols=400): 337 listed at the clock's
start, 333 trading); BinanceSim's --quote-pairs adds pairs in 33 other quotes (USDC, FDUSD, BTC, ETH, BNB, TRY,
EUR, ...) up to the size, about one in twelve of them BREAK. The bot is wired as bench_binance's (the real
python-binance client, VenueMarket over CachedMarketData + BinanceMarketData, 50 ms added per request, the
server in its own process) and ranks USDT only, so the work that may grow with the listing is the listing's:
exchangeInfo and prices read and parsed, symbols filtered.

Each size runs in a child process of its own, so the peak RSS (ru_maxrss) is that size's:
  cold   /ranking's reply (Services.ranking, then the text) with an empty candle cache
  warm   the same 31 s later: the listing is read again (its 30 s TTL ran out), the candles come from the cache
  rss    the child's RSS before the first /ranking (imports, clients) and its peak after both
The server's peak RSS (VmHWM) is printed beside it. Prints a table, then one JSON line.

    python benchmarks/bench_ranking.py [--sizes 400,3000,10000] [--latency-ms 50]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_binance as bb  # noqa: E402
from handlers import texts  # noqa: E402
from tradingbot.adapters.binance_market import SYMBOLS_TTL  # noqa: E402

USDT_LISTED = 337  # the synthetic market's USDT pairs listed at bench_binance.START (seed 7, 400 ever)
TARGET_S = 2.0


def _rss_mib() -> float:
    """Current RSS of this process (MiB), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _server_peak_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


async def one_size(size: int, latency_ms: float) -> dict[str, Any]:
    """Build the bot against a fresh server listing `size` symbols; time /ranking cold, then warm."""
    with tempfile.TemporaryDirectory() as tmp:
        world = await bb.build(Path(tmp), 400, latency_ms, in_process=False,
                               quote_pairs=max(0, size - USDT_LISTED))
        try:
            listed = await world.raw.symbols()
            rss_before = _rss_mib()
            out: dict[str, Any] = {"size": size, "listed": len(listed),
                                   "usdt_trading": sum(1 for r in listed if r.quote == "USDT" and r.trading),
                                   "quotes": len({r.quote for r in listed}), "rss_before_mib": round(rss_before, 1)}
            for name in ("cold", "warm"):
                if name == "warm":
                    world.clock.advance(SYMBOLS_TTL + timedelta(seconds=1))
                    await world.sim.advance(SYMBOLS_TTL + timedelta(seconds=1))
                health = [(t.health.requests, t.health.weight_spent) for t in world.transports]
                t0, c0 = time.perf_counter(), time.process_time()
                report = await world.services.ranking()
                reply = texts.ranking(report, 20)
                out[f"{name}_s"] = round(time.perf_counter() - t0, 3)
                out[f"{name}_cpu_s"] = round(time.process_time() - c0, 3)
                out[f"{name}_requests"] = sum(t.health.requests - r for t, (r, _) in zip(world.transports, health))
                out[f"{name}_weight"] = sum(t.health.weight_spent - w for t, (_, w) in zip(world.transports, health))
                out["rows"], out["eligible"] = len(report.ranking.rows), report.ranking.eligible_count
                out["reply_lines"] = len(reply.splitlines())
            out["rss_peak_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
            proc = getattr(world.sim, "proc", None)
            out["server_peak_mib"] = _server_peak_mib(proc.pid) if proc is not None else None
            return out
        finally:
            await world.close()


def run_child(size: int, latency_ms: float) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--one", str(size), "--latency-ms", str(latency_ms)],
                          cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if done.returncode != 0:
        raise SystemExit(f"size {size} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="400,3000,10000")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child: one size, one JSON line
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(asyncio.run(one_size(args.one, args.latency_ms))))
        return
    t_all = time.perf_counter()
    rows = [run_child(int(s), args.latency_ms) for s in args.sizes.split(",")]
    print(f"/ranking on BinanceSim in its own process, +{args.latency_ms:g} ms per REST request; USDT ranked "
          f"(synthetic market seed {bb.SEED}, 400 symbols ever listed); each size in a fresh process")
    print(f"{'listed':>7}{'quotes':>7}{'USDT':>6}{'rows':>6}{'cold s':>8}{'cpu':>6}{'req':>5}{'wt':>6}"
          f"{'warm s':>8}{'cpu':>6}{'req':>5}{'wt':>5}{'RSS MiB':>9}{'peak':>7}{'server':>8}")
    for r in rows:
        server = f"{r['server_peak_mib']:.0f}" if r["server_peak_mib"] else "-"
        print(f"{r['listed']:>7}{r['quotes']:>7}{r['usdt_trading']:>6}{r['rows']:>6}{r['cold_s']:>8.2f}"
              f"{r['cold_cpu_s']:>6.2f}{r['cold_requests']:>5}{r['cold_weight']:>6}{r['warm_s']:>8.2f}"
              f"{r['warm_cpu_s']:>6.2f}{r['warm_requests']:>5}{r['warm_weight']:>5}{r['rss_before_mib']:>9.0f}"
              f"{r['rss_peak_mib']:>7.0f}{server:>8}")
    print("  (rows: the ranking's rows, the USDT pairs; RSS: the bot before its first /ranking and its peak; "
          "server: the local Binance's peak)")
    base = rows[0]
    for r in rows[1:]:
        extra = r["listed"] - base["listed"]
        print(f"  {r['listed']} listed vs {base['listed']}: warm x{r['warm_s'] / base['warm_s']:.2f}, "
              f"cold x{r['cold_s'] / base['cold_s']:.2f}; peak RSS +{r['rss_peak_mib'] - base['rss_peak_mib']:.0f} MiB"
              f" = {(r['rss_peak_mib'] - base['rss_peak_mib']) * 1024 / max(1, extra):.1f} KiB per extra symbol")
    for r in rows:  # a cold cache is the cold start's (bench_binance); its cost does not grow with the listing
        if r["listed"] >= 2500:
            ok = r["warm_s"] <= TARGET_S
            print(f"target /ranking with {r['listed']} listed <= {TARGET_S:g} s: {r['warm_s']:.2f} "
                  f"{'ok' if ok else 'MISSED'} (cold cache: {r['cold_s']:.2f} s, x{r['cold_s'] / base['cold_s']:.2f} "
                  f"the {base['listed']}-symbol listing's)")
    print(f"benchmark ran {time.perf_counter() - t_all:.0f} s")
    print(json.dumps({f"size_{r['size']}": r for r in rows}))  # by size, so compare.py reads each figure


if __name__ == "__main__":
    main()
