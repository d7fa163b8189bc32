"""A local stand-in for CoinGecko's /coins/markets, for tests and offline runs of the market cap filter.

    python -m standins.coingecko_api --port 8902 --symbols 400 --seed 7 [--clock ISO] [--rate-limit 30]

Its coins are the synthetic market's (the same seed and symbols as the local Binance server, so the bases
match), each at circulating supply × price, plus namesakes of some of them (the symbol collisions CoinGecko
really has: a smaller token with the same ticker) and filler coins, so that the top 1,000 spans four pages.
It pages as CoinGecko does (per_page at most 250, page from 1, ids=…), answers 429 with Retry-After past its
per-minute limit, checks the x-cg-demo-api-key header when given a key, and has a /_sim/ control API:
GET state, requests; POST coins (replace the list), faults ({"status_next": [429, 500], "retry_after": 2,
"down": true}).
"""
from __future__ import annotations

import argparse
import asyncio
import logging
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from tradingbot.adapters.coingecko import KEY_HEADER, PER_PAGE
from tradingbot.adapters.synthetic import SyntheticMarket
from tradingbot.adapters.synthetic_caps import SyntheticCaps
from tradingbot.adapters.clock import ManualClock, OffsetClock, SystemClock
from tradingbot.app.ports import Clock
from tradingbot.core.timefmt import parse_clock
from .serving import serve_until_signalled

Json = dict[str, Any]
FILLERS = 1100  # made-up coins with caps from 50B down, so the top 1,000 needs four full pages
NAMESAKE_EVERY = 7  # one synthetic coin in this many has a smaller namesake


class CoinGeckoSim:
    def __init__(self, clock: Clock, market: SyntheticMarket | None = None, coins: list[Json] | None = None,
                 rate_limit: int | None = None, api_key: str | None = None):
        self.clock, self.rate_limit, self.api_key = clock, rate_limit, api_key
        self._caps = SyntheticCaps(market) if market is not None else None
        self._fixed = coins  # a list set by a test replaces the generated one
        self.requests: list[Json] = []  # path, query, key_sent, status: what clients asked and got
        self.status_next: list[int] = []
        self.retry_after = 1
        self.down = False
        self._minute: tuple[int, int] = (0, 0)  # (minute, requests in it)
        self._runner: web.AppRunner | None = None
        self.host, self.port = "127.0.0.1", 0

    @property
    def url(self) -> str:
        """What COINGECKO_API_URL takes."""
        return f"http://{self.host}:{self.port}/api/v3"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application()
        app.router.add_get("/api/v3/coins/markets", self._markets)
        app.router.add_route("*", "/_sim/{action}", self._control)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.host, self.port = host, site.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> CoinGeckoSim:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def all_coins(self) -> list[Json]:
        """Every coin, largest cap first, in the /coins/markets shape (the fields the bot reads, and a few)."""
        if self._fixed is not None:
            coins = list(self._fixed)
        else:
            coins = await self._generated()
        return sorted(coins, key=lambda c: -(c.get("market_cap") or 0))

    async def _generated(self) -> list[Json]:
        coins: list[Json] = []
        if self._caps is not None:
            for i, c in enumerate(await self._caps.coins()):
                coins.append(_entry(c.coin_id, c.symbol, float(c.market_cap)))
                if i % NAMESAKE_EVERY == 3:  # a smaller token with the same ticker, as CoinGecko lists many
                    coins.append(_entry(f"{c.coin_id}-token", c.symbol, float(c.market_cap) / 40))
        coins += [_entry(f"filler-{n}", f"fil{n}", 5e10 / (n + 1)) for n in range(FILLERS)]
        return coins

    async def _markets(self, request: web.Request) -> web.Response:
        q = request.query
        status = self._gate(request)
        self.requests.append({"path": request.path, "query": dict(q), "key_sent": KEY_HEADER in request.headers,
                              "status": status})
        if status == 429:
            return web.json_response({"status": {"error_code": 429, "error_message": "You've exceeded the Rate "
                                                 "Limit."}}, status=429, headers={"Retry-After": str(self.retry_after)})
        if status != 200:
            return web.json_response({"error": f"HTTP {status}"}, status=status)
        if q.get("vs_currency") != "usd":
            return web.json_response({"error": "invalid vs_currency"}, status=400)
        coins = await self.all_coins()
        if "ids" in q:
            wanted = set(q["ids"].split(","))
            return web.json_response([c for c in coins if c["id"] in wanted])
        try:
            per_page, page = min(int(q.get("per_page", 100)), PER_PAGE), int(q.get("page", 1))
        except ValueError:
            return web.json_response({"error": "invalid page"}, status=400)
        return web.json_response(coins[(page - 1) * per_page: page * per_page] if page >= 1 else [])

    def _gate(self, request: web.Request) -> int:
        """The status this request gets: an injected one, 401 for a wrong key, 429 past the minute's limit."""
        if self.down:
            return 503
        if self.status_next:
            return self.status_next.pop(0)
        if self.api_key is not None and request.headers.get(KEY_HEADER) != self.api_key:
            return 401
        minute = int(self.clock.now().timestamp() // 60)
        count = self._minute[1] + 1 if self._minute[0] == minute else 1
        self._minute = (minute, count)
        if self.rate_limit is not None and count > self.rate_limit:
            self.retry_after = 60 - int(self.clock.now().timestamp()) % 60
            return 429
        return 200

    async def _control(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        body: Json = await request.json() if request.can_read_body else {}
        if action == "state":
            return _ok({"coins": len(await self.all_coins()), "requests": len(self.requests), "down": self.down})
        if action == "requests":
            return _ok(self.requests)
        if action == "coins":
            self._fixed = list(body.get("coins", []))
            return _ok(len(self._fixed))
        if action == "faults":
            self.status_next = [int(s) for s in body.get("status_next", [])]
            self.retry_after = int(body.get("retry_after", self.retry_after))
            self.down = bool(body.get("down", False))
            return _ok({"status_next": self.status_next, "down": self.down})
        return web.json_response({"ok": False, "error": f"unknown action {action}"}, status=404)


def _entry(coin_id: str, symbol: str, cap: float) -> Json:
    return {"id": coin_id, "symbol": symbol, "name": symbol.upper(), "market_cap": round(cap, 2),
            "current_price": None, "market_cap_rank": None}


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGINT/SIGTERM, printing the REST base (COINGECKO_API_URL) and the control URL."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8902)
    parser.add_argument("--symbols", type=int, default=400, help="symbols ever listed by the synthetic market")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--clock", help="start the clock at this ISO time (it runs on from there)")
    parser.add_argument("--frozen", action="store_true", help="the clock stands still at --clock")
    parser.add_argument("--rate-limit", type=int, help="requests per minute before 429 (CoinGecko's free tier: ~30)")
    parser.add_argument("--api-key", help="answer 401 unless the x-cg-demo-api-key header carries this key")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(_serve(args))


async def _serve(args: argparse.Namespace) -> None:
    start = parse_clock(args.clock) if args.clock else None
    clock: Clock = (ManualClock(start or datetime.now(timezone.utc)) if args.frozen
                    else OffsetClock(start) if start else SystemClock())
    sim = CoinGeckoSim(clock, SyntheticMarket(clock, seed=args.seed, n_symbols=args.symbols),
                       rate_limit=args.rate_limit, api_key=args.api_key)
    await sim.start(args.host, args.port)
    print(f"REST:    {sim.url}", flush=True)
    print(f"control: http://{sim.host}:{sim.port}/_sim/{{state,requests,coins,faults}}", flush=True)
    await serve_until_signalled(sim.stop)


if __name__ == "__main__":
    main()
