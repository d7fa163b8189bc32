"""A local Binance Spot (REST v3 subset and market streams) backed by the synthetic market, for tests and demos.

The real python-binance client talks to it over HTTP and WebSocket: point AsyncClient.API_URL at rest_url and
BinanceSocketManager.STREAM_URL at stream_url. It runs on the caller's event loop (await start() / stop()).
Binance's hard truths are kept: a reused newClientOrderId trades again once the first order filled, a 5xx or a
lost answer says nothing about execution, weight is per minute with 429 then 418, time comes from the Clock.
Market orders fill against each symbol's own book (binance_book, binance_engine), not the product's paper venue.
A bot in another process drives it through the JSON control API under /_sim/.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, NamedTuple

from aiohttp import web

from tradingbot.adapters.synthetic import SyntheticMarket
from tradingbot.adapters.clock import ManualClock, OffsetClock, SystemClock
from tradingbot.app.ports import Clock
from tradingbot.core.timefmt import iso, parse_clock
from .binance_control import ControlApi, ShiftedClock
from .binance_faults import ORDER_PATH, Faults
from .binance_gate import Params, WeightMeter, check_signature, check_time, mandatory, parse_params
from .binance_engine import MatchingEngine
from .binance_json import ApiError, Json, ms, order_full
from .binance_listing import Listing
from .binance_quotes import QuotePairs
from .binance_orders import Account
from .binance_rest import Call, SpotApi
from .binance_streams import StreamHub
from .serving import serve_until_signalled

log = logging.getLogger(__name__)

_MAX_LINE = 1 << 16  # a combined stream URL naming 400 symbols is far longer than aiohttp's default 8 KiB


class SimRequest(NamedTuple):
    """One REST request as the server saw it; status 0 means it was never answered (hung or dropped)."""

    method: str
    path: str
    weight: int
    status: int


class BinanceSim:
    """One local Binance: a synthetic market, accounts in memory, faults on demand."""

    def __init__(self, market: SyntheticMarket, clock: Clock, *, fee_rate: Decimal = Decimal("0.001"),
                 weight_limit: int = 6000, listed: set[str] | None = None, stream_interval: float = 1.0,
                 check_timestamps: bool = True, quote_pairs: int = 0):
        # check_timestamps=False skips the recvWindow rule, for a ManualClock that stands still while real time
        # (and so the client's timestamps) runs on. quote_pairs: about that many pairs in other quotes besides.
        self.market, self.clock, self.check_timestamps = market, clock, check_timestamps
        self.listing = Listing(market, listed, QuotePairs(quote_pairs, seed=0) if quote_pairs else None)
        self.engine = MatchingEngine(Decimal(fee_rate))
        self.streams = StreamHub(self.listing, clock, stream_interval, self.server_ms)
        self.faults = Faults(self.listing, self.streams.drop_all)
        self.meter = WeightMeter(weight_limit)
        self.api = SpotApi(self.listing, self.engine, self.faults, clock, weight_limit)
        self.requests: list[SimRequest] = []
        self.host, self.port = "127.0.0.1", 0
        self._routes = self.api.routes()
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()

    # ----- addresses, time, accounts -----
    @property
    def rest_url(self) -> str:
        """AsyncClient.API_URL: python-binance appends /v3/<path>."""
        return f"http://{self.host}:{self.port}/api"

    @property
    def stream_url(self) -> str:
        """BinanceSocketManager.STREAM_URL: python-binance appends ws/... or stream?..."""
        return f"ws://{self.host}:{self.port}/"

    @property
    def control_url(self) -> str:
        """Root of the JSON control API (see binance_control)."""
        return f"http://{self.host}:{self.port}/_sim"

    @property
    def used_weight(self) -> int:
        """Request weight used in the current minute window."""
        return self.meter.used(ms(self.clock.now()))

    def server_ms(self) -> int:
        """The server's time: the clock's, shifted by any skew fault."""
        return ms(self.clock.now()) + self.faults.skew_ms

    def add_account(self, api_key: str, api_secret: str, balances: dict[str, Decimal]) -> None:
        """Create (or reset) an account with these free balances."""
        self.engine.add_account(api_key, api_secret, balances)

    def balances(self, api_key: str) -> dict[str, Decimal]:
        """Non-zero free balances of an account."""
        return self.engine.balances(api_key)

    def orders(self, api_key: str) -> list[dict]:
        """Every order the server executed for the account, oldest first, in the FULL response shape."""
        return [order_full(o) for o in self.engine.accounts[api_key].orders]

    def state(self) -> Json:
        """Server time, weight used, accounts, open streams and the faults in force (the control API's state)."""
        return {"server_time": self.server_ms(), "clock": iso(self.clock.now()), "used_weight": self.used_weight,
                "weight_limit": self.meter.limit, "accounts": sorted(self.engine.accounts),
                "streams": len(self.streams.connections), "faults": self.faults.describe()}

    # ----- lifecycle -----
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on host:port (0: a free port, then self.port holds it)."""
        if self._runner is not None:
            raise RuntimeError("BinanceSim is already running")
        self._closing = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/api/{path:.*}", self._handle_rest)
        app.router.add_get("/ws", self.streams.handle)
        app.router.add_get("/ws/{names:.*}", self.streams.handle)
        app.router.add_get("/stream", self.streams.handle)
        control = ControlApi(self.engine, self.faults, self.market, self.clock, self.requests, self.state)
        app.router.add_route("*", "/_sim/{action}", control.handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0, max_line_size=_MAX_LINE,
                                     max_field_size=_MAX_LINE)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.host, self.port = host, site.port

    async def stop(self) -> None:
        """Release hung requests, close every stream and stop listening."""
        if self._runner is None:
            return
        self._closing.set()
        await self.streams.close()
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> BinanceSim:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ----- REST -----
    async def _handle_rest(self, request: web.Request) -> web.StreamResponse:
        """Gateway faults, weight, authentication, the endpoint, then the headers every answer carries."""
        method, path = request.method, request.path
        if self.faults.latency_ms:
            await asyncio.sleep(self.faults.latency_ms / 1000)
        route = self._routes.get((method, path))
        if route is None:
            return self._answer(request, SimRequest(method, path, 0, 404), {"code": -1000, "msg": "Not found."})
        if self.faults.take_hang(method, path):
            return await self._never_answer(request, SimRequest(method, path, 0, 0))
        raw_query, raw_body = request.raw_path.partition("?")[2], (await request.read()).decode("utf-8", "replace")
        params = parse_params(raw_query, raw_body)
        weight, headers = 0, {}
        try:
            failure = self.faults.take_failure(method, path)
            if failure is not None and not failure.execute:
                raise ApiError(failure.status, failure.code, failure.msg, failure.retry_after)
            cost = route.weight(params)
            self.meter.charge(cost, ms(self.clock.now()), request.remote or "127.0.0.1")
            weight = cost  # counted from here on, whatever the endpoint answers
            account = self._authenticate(request, raw_query, raw_body, params) if route.signed else None
            body = await route.handler(Call(params, account, self.server_ms()))
            if failure is not None:  # executed behind the gateway, yet the client hears only a 5xx
                raise ApiError(failure.status, failure.code, failure.msg, failure.retry_after)
            status = 200
            if (method, path) == ("POST", ORDER_PATH) and account is not None:
                headers = self._order_counts(account)
                if self.faults.take_lost():
                    return await self._drop(request, SimRequest(method, path, weight, 0))
        except ApiError as err:
            status, body = err.status, err.body()
            if err.retry_after is not None:
                headers["Retry-After"] = str(err.retry_after)
        except Exception:  # a bug in the server: answer in Binance's shape, loudly
            log.exception("local Binance failed on %s %s", method, path)
            status, body = 500, {"code": -1000, "msg": "An unknown error occurred while processing the request."}
        return self._answer(request, SimRequest(method, path, weight, status), body, headers)

    def _answer(self, request: web.Request, entry: SimRequest, body: Any,
                headers: dict[str, str] | None = None) -> web.Response:
        self.requests.append(entry)
        headers = {"X-MBX-USED-WEIGHT-1M": str(self.used_weight), **(headers or {})}
        return web.json_response(body, status=entry.status, headers=headers)

    async def _never_answer(self, request: web.Request, entry: SimRequest) -> web.StreamResponse:
        """Hold the request unexecuted until the server stops; the client times out first."""
        self.requests.append(entry)
        await self._closing.wait()
        return await self._drop(request, None)

    async def _drop(self, request: web.Request, entry: SimRequest | None) -> web.StreamResponse:
        """Close the connection without an answer."""
        if entry is not None:
            self.requests.append(entry)
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=503)  # never reaches the client

    def _authenticate(self, request: web.Request, raw_query: str, raw_body: str, params: Params) -> Account:
        """X-MBX-APIKEY, then the signature over the raw query + body, then the recvWindow rule."""
        key = request.headers.get("X-MBX-APIKEY", "")
        if not key:
            raise ApiError(401, -2014, "API-key format invalid.")
        account = self.engine.accounts.get(key)
        if account is None:
            raise ApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        mandatory(params, "timestamp")
        check_signature(account.api_secret, raw_query, raw_body, params)
        if self.check_timestamps:
            check_time(params, self.server_ms())
        return account

    def _order_counts(self, account: Account) -> dict[str, str]:
        """X-MBX-ORDER-COUNT-10S / -1D on an accepted order."""
        now = self.server_ms()
        times = [o.time_ms for o in account.orders]
        return {"X-MBX-ORDER-COUNT-10S": str(sum(1 for t in times if now - t < 10_000)),
                "X-MBX-ORDER-COUNT-1D": str(sum(1 for t in times if now - t < 86_400_000))}

def main(argv: list[str] | None = None) -> None:
    """Serve a local Binance until SIGINT/SIGTERM, printing its REST, stream and control URLs."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8901)
    parser.add_argument("--symbols", type=int, default=400, help="symbols ever listed by the synthetic market")
    parser.add_argument("--quote-pairs", type=int, default=0,
                        help="about this many pairs in other quotes besides (USDC, FDUSD, BTC, ETH, BNB, TRY, EUR, ...)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--clock", help="start the clock at this ISO time (it runs on from there)")
    parser.add_argument("--frozen", action="store_true", help="a manual clock: moves only via /_sim/clock")
    parser.add_argument("--fee-rate", default="0.001")
    parser.add_argument("--weight-limit", type=int, default=6000)
    parser.add_argument("--stream-interval", type=float, default=1.0)
    parser.add_argument("--api-key")
    parser.add_argument("--api-secret")
    parser.add_argument("--deposit", default="10000", help="starting balance of the --api-key account")
    parser.add_argument("--deposit-asset", default="USDT")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(_serve(args))


async def _serve(args: argparse.Namespace) -> None:
    start = parse_clock(args.clock) if args.clock else None
    clock: Clock
    if args.frozen:
        clock = ManualClock(start or datetime.now(timezone.utc))
    else:
        clock = ShiftedClock(OffsetClock(start) if start else SystemClock())
    sim = BinanceSim(SyntheticMarket(clock, seed=args.seed, n_symbols=args.symbols), clock,
                     fee_rate=Decimal(args.fee_rate), weight_limit=args.weight_limit,
                     stream_interval=args.stream_interval, check_timestamps=not args.frozen,
                     quote_pairs=args.quote_pairs)
    sim.faults.latency(args.latency_ms)
    if args.api_key:
        sim.add_account(args.api_key, args.api_secret or "", {args.deposit_asset: Decimal(args.deposit)})
    await sim.start(args.host, args.port)
    print(f"REST:    {sim.rest_url}", flush=True)
    print(f"streams: {sim.stream_url}", flush=True)
    print(f"control: {sim.control_url}/{{state,clock,account,balances,orders,requests,faults,delist}}", flush=True)
    await serve_until_signalled(sim.stop)


if __name__ == "__main__":
    main()
