"""Binance venue figures: the bot against the local Binance (BinanceSim) with 50 ms added to every REST request.

The real python-binance client talks HTTP/WebSocket to BinanceSim, wired as tests/binance_world.py wires it
(two BinanceTransports, CachedMarketData + KlineStore, VenueMarket, BinanceExchange, Rebalancer, Services).
Universe: SyntheticMarket(seed=7, n_symbols=400); StrategyParams(topn=10, min_age_days=1); the clock starts
at 2025-06-02T09:00:05Z and runs in real time from there.

Scenarios, each on a fresh BinanceSim and a fresh temporary directory:
  cold           empty kline cache, one full rebalance (buys only)
  warm + stream  one day later, the closed hourly candles delivered by the kline streams, one rebalance
  warm           one day later without the stream: the cache stops at the previous day
  naive          the same warm rebalance without any cache and with market_view.CONCURRENCY = 1
  floor          3 round trips x (50 ms + measured local round trip)
Each warm rebalance switches the strategy momentum -> reversal, so all 10 holdings are sold and 10 others bought.

By default BinanceSim runs in its own process (`python -m standins.binance_api`, driven through its /_sim/
control API), so its CPU (building klines, stream pushes) is not counted in the bot's wall time, as on the real
venue; --in-process runs it on the bot's event loop instead, as the tests do. The streams push every 2 s, as
Binance's kline streams do. After the clock jump both transports re-sync their time (outside the timings): the
jump is the benchmark's, and without it the first signed request would fail -1021 and the public weight gate
would still count the cold start's minute.

Prints a table and, last, one JSON line.

    python benchmarks/bench_binance.py [--latency-ms 50] [--symbols 400] [--in-process] [--no-naive] [--timeline]
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Awaitable, Callable

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import tradingbot.app.market_view as market_view  # noqa: E402
from tradingbot.adapters.binance_client import BinanceTransport  # noqa: E402
from tradingbot.adapters.binance_exchange import BinanceExchange  # noqa: E402
from tradingbot.adapters.binance_market import BinanceMarketData  # noqa: E402
from tradingbot.adapters.binance_stream import STREAMS_PER_CONNECTION, MarketStream  # noqa: E402
from tradingbot.adapters.cached_market import CachedMarketData  # noqa: E402
from tradingbot.adapters.kline_store import KlineStore  # noqa: E402
from tradingbot.adapters.sqlite_store import SqliteStore, open_database  # noqa: E402
from tradingbot.adapters.synthetic import SyntheticMarket  # noqa: E402
from tradingbot.adapters.venue_market import VenueMarket  # noqa: E402
from tradingbot.adapters.clock import OffsetClock  # noqa: E402
from tradingbot.core.domain import RebalanceSummary, Side  # noqa: E402
from tradingbot.app.current_params import CurrentParams  # noqa: E402
from tradingbot.app.rebalancer import Rebalancer  # noqa: E402
from tradingbot.core.params import StrategyParams  # noqa: E402
from tradingbot.app.ports import MarketData  # noqa: E402
from tradingbot.app.services import Services  # noqa: E402
from standins.binance_api import BinanceSim  # noqa: E402

START = datetime(2025, 6, 2, 9, 0, 5, tzinfo=timezone.utc)
SEED = 7
KEY, SECRET = "bench-api-key-0123456789", "bench-api-secret-abcdefghijklmnop"
CAPITAL = Decimal(10000)
PARAMS = StrategyParams(topn=10, min_age_days=1)
STREAM_INTERVAL = 2.0  # Binance pushes kline_1h updates every 2 s
TARGETS = {"cold_s": 4.0, "cold_weight": 1000, "warm_stream_s": 1.0, "warm_stream_weight": 300}
LogEntry = tuple[str, str, int, int]  # method, path, weight, status — as BinanceSim.requests records them


# ----- the local Binance, in this process or in another one -------------------------------------------------

class InProcessSim:
    """BinanceSim on this event loop, sharing the bot's clock (as tests/binance_world.py runs it)."""

    def __init__(self, clock: OffsetClock, symbols: int, latency_ms: float, quote_pairs: int = 0):
        self.clock = clock
        self.sim = BinanceSim(SyntheticMarket(clock, seed=SEED, n_symbols=symbols), clock,
                              stream_interval=STREAM_INTERVAL, quote_pairs=quote_pairs)
        self.sim.add_account(KEY, SECRET, {"USDT": CAPITAL})
        self.latency_ms = latency_ms
        self._seen = 0

    async def start(self) -> None:
        await self.sim.start()
        self.sim.faults.latency(self.latency_ms)

    @property
    def rest_url(self) -> str:
        return self.sim.rest_url

    @property
    def stream_url(self) -> str:
        return self.sim.stream_url

    async def latency(self, ms: float) -> None:
        self.sim.faults.latency(ms)

    async def advance(self, delta: timedelta) -> None:
        pass  # the clock is shared: advancing the bot's moves the server's

    async def mark(self) -> None:
        self._seen = len(self.sim.requests)

    async def log_since_mark(self) -> list[LogEntry]:
        return [tuple(r) for r in self.sim.requests[self._seen:]]  # type: ignore[misc]

    async def stream_connections(self) -> int:
        return len(self.sim.streams.connections)

    def cpu_s(self) -> float | None:
        return None  # its CPU is this process's

    async def stop(self) -> None:
        await self.sim.stop()


class ProcessSim:
    """BinanceSim in a child process (python -m standins.binance_api), driven through /_sim/."""

    COMMAND = ("-m", "standins.binance_api")

    def __init__(self, clock: OffsetClock, symbols: int, latency_ms: float, quote_pairs: int = 0):
        self.clock, self.symbols, self.latency_ms, self.quote_pairs = clock, symbols, latency_ms, quote_pairs
        self.proc: asyncio.subprocess.Process | None = None
        self.rest_url = self.stream_url = self.control_url = ""
        self.http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, *self.COMMAND, "--port", "0", "--symbols", str(self.symbols),
            "--seed", str(SEED), "--clock", self.clock.now().isoformat(), "--latency-ms", str(self.latency_ms),
            "--stream-interval", str(STREAM_INTERVAL), "--api-key", KEY, "--api-secret", SECRET,
            "--deposit", str(CAPITAL), "--quote-pairs", str(self.quote_pairs), cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert self.proc.stdout is not None
        while not self.control_url:
            line = (await asyncio.wait_for(self.proc.stdout.readline(), 60)).decode()
            if not line:
                raise SystemExit("the local Binance process exited at start")
            name, _, url = line.partition(":")
            url = url.strip()
            if name == "REST":
                self.rest_url = url
            elif name == "streams":
                self.stream_url = url
            elif name == "control":
                self.control_url = url.split("/{")[0]
        self.http = aiohttp.ClientSession()
        await self._call("POST", "clock", {"set": self.clock.now().isoformat()})  # same instant as the bot's

    async def _call(self, method: str, action: str, body: dict | None = None) -> Any:
        assert self.http is not None
        async with self.http.request(method, f"{self.control_url}/{action}", json=body) as r:
            answer = await r.json()
        if not answer.get("ok"):
            raise SystemExit(f"/_sim/{action}: {answer}")
        return answer["result"]

    async def latency(self, ms: float) -> None:
        await self._call("POST", "faults", {"latency_ms": ms})

    async def advance(self, delta: timedelta) -> None:
        await self._call("POST", "clock", {"advance_seconds": delta.total_seconds()})

    async def mark(self) -> None:
        await self._call("POST", "requests", {"clear": True})

    async def log_since_mark(self) -> list[LogEntry]:
        return [tuple(r) for r in await self._call("GET", "requests")]

    async def stream_connections(self) -> int:
        return int((await self._call("GET", "state"))["streams"])

    def cpu_s(self) -> float | None:
        """User + system CPU seconds of the server process so far (Linux /proc), None where unavailable."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()  # type: ignore[union-attr]
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError, AttributeError):
            return None

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.close()
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.proc.wait(), 10)
            if self.proc.returncode is None:
                self.proc.kill()
                await self.proc.wait()


Sim = InProcessSim | ProcessSim


# ----- the bot ----------------------------------------------------------------------------------------------

class _NoLock:
    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        pass


class Spans:
    """When each transport call was in flight (wraps BinanceTransport.call on the two instances)."""

    def __init__(self, transports: tuple[BinanceTransport, ...]):
        self.items: list[tuple[float, float, str]] = []
        for t in transports:
            original = t.call

            async def call(method: str, weight: int, *, _original: Any = original, **params: Any) -> Any:
                t0 = time.perf_counter()
                try:
                    return await _original(method, weight, **params)
                finally:
                    self.items.append((t0, time.perf_counter(), method))

            t.call = call  # type: ignore[method-assign]

    def since(self, t0: float) -> list[tuple[float, float, str]]:
        return [s for s in self.items if s[0] >= t0]

    @staticmethod
    def busy(spans: list[tuple[float, float, str]]) -> float:
        """Seconds with at least one request in flight."""
        total, end = 0.0, float("-inf")
        for a, z, _ in sorted(spans):
            if z > end:
                total += z - max(a, end)
                end = z
        return total

    @staticmethod
    def waves(spans: list[tuple[float, float, str]]) -> int:
        """Round trips in sequence: stretches of time with requests in flight, separated by none in flight."""
        count, end = 0, float("-inf")
        for a, z, _ in sorted(spans):
            if a > end:
                count += 1
            end = max(end, z)
        return count


@dataclass
class World:
    clock: OffsetClock
    sim: Sim
    public: BinanceTransport
    trading: BinanceTransport
    raw: BinanceMarketData
    cache: CachedMarketData
    market: VenueMarket
    exchange: BinanceExchange
    store: SqliteStore
    services: Services
    spans: Spans

    @property
    def transports(self) -> tuple[BinanceTransport, ...]:
        return self.public, self.trading

    async def close(self) -> None:
        for t in self.transports:
            await t.close()
        await self.sim.stop()


def _services(store: SqliteStore, exchange: BinanceExchange, market: MarketData, clock: OffsetClock) -> Services:
    rebalancer = Rebalancer(store, exchange, market, clock, _NoLock(), retries=3, backoff_s=0.05)
    return Services(store, exchange, market, clock, rebalancer, CurrentParams(store, PARAMS), "bench")


async def build(tmp: Path, symbols: int, latency_ms: float, in_process: bool, quote_pairs: int = 0) -> World:
    """The bot on EXCHANGE=testnet with every URL pointed at a fresh local Binance (quote_pairs: see BinanceSim)."""
    tmp.mkdir(parents=True, exist_ok=True)
    clock = OffsetClock(START)
    sim: Sim = (InProcessSim if in_process else ProcessSim)(clock, symbols, latency_ms, quote_pairs)
    await sim.start()
    public = BinanceTransport("market data", sim.rest_url, clock=clock, backoff=0.05)
    trading = BinanceTransport("testnet", sim.rest_url, KEY, SECRET, clock=clock, backoff=0.05, timeout=5.0)
    raw = BinanceMarketData(public, clock)
    cache = CachedMarketData(raw, KlineStore(open_database(tmp / "klines.sqlite")), clock)
    market = VenueMarket(cache, BinanceMarketData(trading, clock), "testnet")
    exchange = BinanceExchange("testnet", trading, market, clock)
    store = SqliteStore(open_database(tmp / "bot.sqlite"), "USDT")
    store.deposit(CAPITAL, clock.now())
    await public.open()  # python-binance pings and reads the server time here, not in the first timing
    await trading.open()
    return World(clock, sim, public, trading, raw, cache, market, exchange, store,
                 _services(store, exchange, market, clock), Spans((public, trading)))


async def next_day_reversal(world: World) -> None:
    """One day later, and the opposite strategy: every holding is sold and ten others bought."""
    world.clock.advance(timedelta(days=1))
    await world.sim.advance(timedelta(days=1))
    for t in world.transports:
        await t.sync_time()  # the venue's time jumped with the benchmark's clock (see the module docstring)
    world.services.set_params("strategy=reversal", "bench")


# ----- measuring --------------------------------------------------------------------------------------------

@dataclass
class Measure:
    """What one timed operation cost: wall time, requests and weight as the client and the server counted them."""

    name: str
    wall_s: float = 0.0
    cpu_s: float = 0.0  # this process's CPU time (client work; with --in-process the server's too)
    sim_cpu_s: float | None = None  # the server process's CPU time (None: in this process)
    busy_s: float = 0.0  # time with at least one request in flight
    waves: int = 0  # round trips in sequence (the floor counts 3)
    timeline: list[tuple[float, float, str]] = field(default_factory=list)  # each call's start, end (s from t0)
    durations: dict[str, list[float]] = field(default_factory=dict)  # per client method, seconds
    requests: int = 0  # both transports' health.requests
    weight: int = 0  # both transports' health.weight_spent
    server_requests: int = 0  # BinanceSim.requests
    server_weight: int = 0
    candle_fetches: int = 0  # CachedMarketData.fetches (naive: klines requests)
    sells: int = 0
    buys: int = 0
    new_picks: int = 0  # symbols bought that were not held before
    weight_waits: int = 0  # pauses for the next weight minute
    endpoints: collections.Counter = field(default_factory=collections.Counter)
    endpoint_weight: collections.Counter = field(default_factory=collections.Counter)  # server weight per kind
    per_transport: dict[str, tuple[int, int]] = field(default_factory=dict)


async def measured(name: str, world: World, action: Callable[[], Awaitable[RebalanceSummary]],
                   cache: CachedMarketData | None = None) -> Measure:
    health = [t.health for t in world.transports]
    before = [(h.requests, h.weight_spent, len(h.waits)) for h in health]
    fetches = cache.fetches if cache else 0
    held_before = set(world.store.load_ledger().holdings())
    await world.sim.mark()
    s0 = world.sim.cpu_s()
    t0, c0 = time.perf_counter(), time.process_time()
    summary = await action()
    m = Measure(name, wall_s=time.perf_counter() - t0, cpu_s=time.process_time() - c0)
    s1 = world.sim.cpu_s()
    m.sim_cpu_s = s1 - s0 if s0 is not None and s1 is not None else None
    spans = world.spans.since(t0)
    m.busy_s, m.waves = Spans.busy(spans), Spans.waves(spans)
    m.timeline = [(a - t0, z - t0, method) for a, z, method in sorted(spans)]
    for a, z, method in spans:
        m.durations.setdefault(method, []).append(z - a)
    log = await world.sim.log_since_mark()
    for h, (r, w, n) in zip(health, before):
        m.requests += h.requests - r
        m.weight += h.weight_spent - w
        m.weight_waits += len(h.waits) - n
        m.per_transport[h.name] = (h.requests - r, h.weight_spent - w)
    m.server_requests, m.server_weight = len(log), sum(entry[2] for entry in log)
    m.endpoints = collections.Counter(f"{method} {path.removeprefix('/api')}" for method, path, *_ in log)
    for method, path, weight, _ in log:
        m.endpoint_weight[f"{method} {path.removeprefix('/api')}"] += weight
    m.candle_fetches = cache.fetches - fetches if cache else m.endpoints["GET /v3/klines"]
    m.sells = len({f.client_order_id for f in summary.fills if f.side is Side.SELL})  # orders, not trades
    m.buys = len({f.client_order_id for f in summary.fills if f.side is Side.BUY})
    m.new_picks = len({f.symbol.removesuffix("USDT") for f in summary.fills if f.side is Side.BUY} - held_before)
    if summary.row.state != "done" or summary.errors:
        raise SystemExit(f"{name}: rebalance ended {summary.row.state}: {summary.errors}")
    return m


async def wait_stable(value: Callable[[], int], quiet_s: float, limit_s: float = 60.0) -> float:
    """Wait until value() is non-zero and has not grown for quiet_s; returns the seconds waited."""
    t0 = time.perf_counter()
    last, since = value(), time.perf_counter()
    while time.perf_counter() - t0 < limit_s:
        await asyncio.sleep(0.05)
        now = value()
        if now != last:
            last, since = now, time.perf_counter()
        elif now and time.perf_counter() - since >= quiet_s:
            break
    return time.perf_counter() - t0


async def until(condition: Callable[[], Awaitable[bool]], limit_s: float = 30.0) -> None:
    t0 = time.perf_counter()
    while not await condition():
        if time.perf_counter() - t0 > limit_s:
            raise SystemExit("timed out waiting for the streams")
        await asyncio.sleep(0.05)


async def stop_stream(task: asyncio.Task) -> int:
    """Cancel MarketStream.run(); returns how many of its connection tasks outlived the cancellation.

    python-binance's recv() is an asyncio.wait_for over a queue that a busy stream keeps full; on Python 3.11
    wait_for returns the item when it is ready at the moment of cancellation, swallowing the CancelledError, and
    run()'s gather reports cancelled as soon as one child is. Survivors are cancelled here until they stop.
    """
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    survivors: set[asyncio.Task] = set()
    for _ in range(200):
        left = [t for t in asyncio.all_tasks()
                if not t.done() and getattr(t.get_coro(), "__qualname__", "") == "MarketStream._connection"]
        if not left:
            break
        survivors.update(left)
        for t in left:
            t.cancel()
        await asyncio.sleep(0.05)
    return len(survivors)


async def round_trip(transport: BinanceTransport, n: int) -> float:
    """Median seconds of one light request (GET /api/v3/ping, weight 1) through the whole client stack."""
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        await transport.call("ping", 1)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


# ----- scenarios --------------------------------------------------------------------------------------------

async def scenario_stream(tmp: Path, symbols: int, latency_ms: float, in_process: bool) -> dict[str, Any]:
    """Local round trip, cold start, then the warm rebalance with the kline streams up."""
    world = await build(tmp, symbols, latency_ms, in_process)
    try:
        await world.sim.latency(0)
        local_rtt = await round_trip(world.public, 30)
        await world.sim.latency(latency_ms)
        per_request = await round_trip(world.public, 20)

        cold = await measured("cold start", world, world.services.rebalance_now, world.cache)

        stream = MarketStream(world.sim.stream_url, world.raw, world.cache, world.clock, reconnect_s=0.2)
        task = asyncio.create_task(stream.run())
        try:
            trading = sum(1 for r in await world.raw.symbols() if r.quote == "USDT" and r.trading)
            connections = -(-(trading + 1) // STREAMS_PER_CONNECTION)

            async def subscribed() -> bool:  # each kline stream counts closed bars from the one open at subscription
                return world.raw.live.connected and await world.sim.stream_connections() >= connections

            await until(subscribed)
            await next_day_reversal(world)
            c0 = time.process_time()
            waited = await wait_stable(lambda: stream.candles_ingested, quiet_s=1.5 * STREAM_INTERVAL)
            ingest_cpu = time.process_time() - c0
            ingested, reconnects = stream.candles_ingested, stream.reconnects
            warm = await measured("warm + stream", world, world.services.rebalance_now, world.cache)
        finally:
            survivors = await stop_stream(task)
        return {"local_rtt_s": local_rtt, "per_request_s": per_request, "cold": cold, "warm_stream": warm,
                "stream_candles": ingested, "stream_wait_s": waited, "stream_ingest_cpu_s": ingest_cpu,
                "stream_connections": connections, "stream_reconnects": reconnects,
                "stream_survivors": survivors, "symbols_trading": trading}
    finally:
        await world.close()


async def scenario_no_stream(tmp: Path, symbols: int, latency_ms: float, in_process: bool) -> dict[str, Any]:
    """Cold start (a second sample), then the warm rebalance with the cache a day behind."""
    world = await build(tmp, symbols, latency_ms, in_process)
    try:
        cold = await measured("cold start (2nd sim)", world, world.services.rebalance_now, world.cache)
        await next_day_reversal(world)
        warm = await measured("warm, no stream", world, world.services.rebalance_now, world.cache)
        return {"cold2": cold, "warm_nostream": warm}
    finally:
        await world.close()


async def scenario_naive(tmp: Path, symbols: int, latency_ms: float, in_process: bool) -> dict[str, Any]:
    """The same warm rebalance read the naive way: no candle cache, one symbol at a time."""
    world = await build(tmp, symbols, latency_ms, in_process)
    try:
        await world.sim.latency(0)  # the cold start only brings the account to the same state: no need to wait
        await world.services.rebalance_now()
        await world.sim.latency(latency_ms)
        await next_day_reversal(world)
        plain = VenueMarket(BinanceMarketData(world.public, world.clock), BinanceMarketData(world.trading, world.clock),
                            "testnet")
        naive = _services(world.store, BinanceExchange("testnet", world.trading, plain, world.clock), plain, world.clock)
        saved = market_view.CONCURRENCY
        market_view.CONCURRENCY = 1
        try:
            warm = await measured("naive (no cache, 1 at a time)", world, naive.rebalance_now)
        finally:
            market_view.CONCURRENCY = saved
        return {"naive": warm}
    finally:
        await world.close()


# ----- report -----------------------------------------------------------------------------------------------

def _row(m: Measure) -> str:
    trades = f"{m.sells}/{m.buys}"
    sim = f"{m.sim_cpu_s:>8.2f}" if m.sim_cpu_s is not None else f"{'-':>8}"
    return (f"{m.name:<31}{m.wall_s:>8.2f}{m.wall_s - m.busy_s:>8.2f}{m.cpu_s:>7.2f}{sim}{m.requests:>6}{m.weight:>7}"
            f"{m.server_requests:>8}{m.server_weight:>7}{m.candle_fetches:>7}  {trades:>6}{m.new_picks:>5}"
            f"{m.weight_waits:>6}{m.waves:>6}")


def _breakdown(m: Measure) -> str:
    parts = ", ".join(f"{path} x{n} = {m.endpoint_weight[path]} weight"
                      for path, n in sorted(m.endpoints.items(), key=lambda kv: (-kv[1], kv[0])))
    per = "; ".join(f"{name}: {r} req / {w} weight" for name, (r, w) in m.per_transport.items())
    slow = ", ".join(f"{method} {statistics.mean(d) * 1000:.0f}" for method, d in
                     sorted(m.durations.items(), key=lambda kv: -statistics.mean(kv[1])))
    return f"  {m.name}: {parts}\n      ({per})\n      mean ms per call: {slow}"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--symbols", type=int, default=400)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--in-process", action="store_true", help="run BinanceSim on the bot's event loop")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive baseline (the slowest part)")
    parser.add_argument("--timeline", action="store_true", help="print when each request of the warm rebalance ran")
    args = parser.parse_args()
    t_all = time.perf_counter()
    run = (args.symbols, args.latency_ms, args.in_process)
    f: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        f.update(await scenario_stream(root / "stream", *run))
        f.update(await scenario_no_stream(root / "nostream", *run))
        if not args.no_naive:
            f.update(await scenario_naive(root / "naive", *run))

    per_request = f["per_request_s"]
    floor = 3 * per_request
    rows: list[Measure] = [f[k] for k in ("cold", "cold2", "warm_stream", "warm_nostream", "naive") if k in f]
    where = "on the bot's event loop" if args.in_process else "in its own process"
    print(f"BinanceSim {where}: {args.symbols} synthetic symbols ({f['symbols_trading']} trading in USDT), "
          f"+{args.latency_ms:g} ms per REST request, clock from {START:%Y-%m-%dT%H:%M:%SZ}, topn={PARAMS.topn}, "
          f"CONCURRENCY={market_view.CONCURRENCY}")
    print(f"local round trip without added latency {f['local_rtt_s'] * 1000:.1f} ms; one request with it "
          f"{per_request * 1000:.1f} ms; physical floor 3 x {per_request * 1000:.1f} ms = {floor:.3f} s")
    print(f"kline streams: {f['stream_connections']} connections, {f['stream_candles']} closed candles ingested "
          f"in {f['stream_wait_s']:.1f} s ({f['stream_ingest_cpu_s']:.1f} s CPU), {f['stream_reconnects']} "
          f"reconnects; connection tasks that outlived cancelling MarketStream.run(): {f['stream_survivors']}")
    print()
    print(f"{'scenario':<31}{'wall s':>8}{'idle s':>8}{'cpu s':>7}{'sim cpu':>8}{'req':>6}{'weight':>7}"
          f"{'srv req':>8}{'srv wt':>7}{'klines':>7}  {'sell/buy':>6}{'new':>5}{'waits':>6}{'trips':>6}")
    for m in rows:
        print(_row(m))
    print("  (idle: no request in flight, i.e. the bot computing; cpu: this process; sim cpu: the server process;"
          " req/weight: both transports; srv: the server's log; klines: candle requests; sell/buy: orders;"
          " new: bought and not held before; waits: weight-budget pauses;"
          " trips: round trips in sequence, i.e. stretches with requests in flight)")
    print(f"{'floor (3 round trips)':<31}{floor:>8.2f}")
    print()
    for m in rows:
        print(f"  {m.name:<31} {m.wall_s / per_request:7.1f} round-trip equivalents ({m.wall_s / floor:6.1f} x floor)")
    print()
    print("requests by endpoint (server log):")
    for m in rows:
        print(_breakdown(m))
    print()
    checks = [("cold_s", f["cold"].wall_s), ("cold_weight", f["cold"].weight),
              ("warm_stream_s", f["warm_stream"].wall_s), ("warm_stream_weight", f["warm_stream"].weight)]
    for key, value in checks:
        print(f"target {key} <= {TARGETS[key]:g}: {value:.2f} {'ok' if value <= TARGETS[key] else 'MISSED'}")
    if args.timeline:
        print("\nwarm + stream, each request (ms from the start of the rebalance):")
        for a, z, method in f["warm_stream"].timeline:
            print(f"  {a * 1000:7.0f} {z * 1000:7.0f}  {method}")
    print(f"benchmark ran {time.perf_counter() - t_all:.0f} s")

    warm = f["warm_stream"]
    naive = f.get("naive")
    print(json.dumps({
        "cold_s": round(f["cold"].wall_s, 3), "cold_weight": f["cold"].weight,
        "warm_stream_s": round(warm.wall_s, 3), "warm_stream_weight": warm.weight,
        "warm_nostream_s": round(f["warm_nostream"].wall_s, 3), "warm_nostream_weight": f["warm_nostream"].weight,
        "naive_s": round(naive.wall_s, 3) if naive else None, "naive_weight": naive.weight if naive else None,
        "floor_s": round(floor, 3), "sells": warm.sells, "buys": warm.buys,
        "cold_server_weight": f["cold"].server_weight, "cold_requests": f["cold"].requests,
        "cold_candle_fetches": f["cold"].candle_fetches, "warm_stream_requests": warm.requests,
        "warm_stream_round_trips": round(warm.wall_s / per_request, 1),
        "warm_stream_trips": warm.waves, "local_rtt_ms": round(f["local_rtt_s"] * 1000, 2),
        "sim": "in-process" if args.in_process else "process",
    }))


if __name__ == "__main__":
    asyncio.run(main())
