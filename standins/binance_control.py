"""The local Binance's control API: its Python API as JSON over HTTP (no auth), for a bot in another process.

Routes (all under /_sim/): GET state; POST clock {"set": ISO} | {"advance_seconds": n}; POST account
{"api_key", "api_secret", "balances"}; GET balances?api_key= | POST balances {"api_key", "balances"}; GET
orders?api_key=; GET requests | POST requests {"clear": true}; POST faults {...} (see Faults.apply); POST delist
{"symbol", "at"}. Answers are {"ok": true, "result": ...} or {"ok": false, "description": ...}.
"""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Awaitable, Callable

from aiohttp import web

from tradingbot.adapters.synthetic import SyntheticMarket
from tradingbot.app.ports import Clock
from tradingbot.core.timefmt import iso, parse_clock
from .binance_engine import MatchingEngine
from .binance_faults import Faults
from .binance_json import Json, order_full


class ControlApi:
    """Handlers for /_sim/{action}, over the server's parts; `state` describes the server as a whole."""

    def __init__(self, engine: MatchingEngine, faults: Faults, market: SyntheticMarket, clock: Clock,
                 requests: list[Any], state: Callable[[], Json]):
        self.engine, self.faults, self.market, self.clock = engine, faults, market, clock
        self.requests, self.state = requests, state

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Run one action; a malformed body or an unknown account answers 400 with the reason."""
        action: Callable[[web.Request, Json], Awaitable[Any]] | None = {
            "state": self._state, "clock": self._clock, "account": self._account,
            "balances": self._balances, "orders": self._orders, "requests": self._requests,
            "faults": self._faults, "delist": self._delist,
        }.get(request.match_info["action"])
        if action is None:
            return web.json_response({"ok": False, "description": "no such control action"}, status=404)
        try:
            body = await request.json() if request.method == "POST" and request.body_exists else {}
            return web.json_response({"ok": True, "result": await action(request, body)})
        except (KeyError, ValueError, TypeError, AttributeError, ArithmeticError) as err:
            return web.json_response({"ok": False, "description": f"{type(err).__name__}: {err}"}, status=400)

    async def _state(self, request: web.Request, body: Json) -> Json:
        """Server time, weight used, accounts, open streams and the faults in force."""
        return self.state()

    async def _clock(self, request: web.Request, body: Json) -> Json:
        """{"set": ISO} or {"advance_seconds": n}; needs a clock that can be moved (ManualClock, ShiftedClock)."""
        clock: Any = self.clock
        if not hasattr(clock, "advance"):
            raise TypeError(f"a {type(clock).__name__} cannot be moved")
        if "set" in body:
            clock.set(parse_clock(str(body["set"])))
        if "advance_seconds" in body:
            clock.advance(timedelta(seconds=float(body["advance_seconds"])))
        return {"clock": iso(self.clock.now()), "server_time": self.state()["server_time"]}

    async def _account(self, request: web.Request, body: Json) -> Json:
        balances = {a: Decimal(str(v)) for a, v in (body.get("balances") or {}).items()}
        self.engine.add_account(str(body["api_key"]), str(body["api_secret"]), balances)
        return _texts(self.engine.balances(str(body["api_key"])))

    async def _balances(self, request: web.Request, body: Json) -> Json:
        """GET ?api_key=K: the balances; POST {"api_key", "balances": {asset: amount}} sets those assets."""
        key = str(body["api_key"]) if body else request.query["api_key"]
        for asset, value in (body.get("balances") or {}).items():
            self.engine.accounts[key].balances[asset] = Decimal(str(value))
        return _texts(self.engine.balances(key))

    async def _orders(self, request: web.Request, body: Json) -> list[Json]:
        key = request.query.get("api_key") or str(body["api_key"])
        return [order_full(o) for o in self.engine.accounts[key].orders]

    async def _requests(self, request: web.Request, body: Json) -> list[list[Any]]:
        """The request log; POST {"clear": true} empties it after reading."""
        seen = [list(r) for r in self.requests]
        if body.get("clear"):
            self.requests.clear()
        return seen

    async def _faults(self, request: web.Request, body: Json) -> Json:
        self.faults.apply(body)
        return self.faults.describe()

    async def _delist(self, request: web.Request, body: Json) -> Json:
        """{"symbol", "at": ISO (default now)}: the symbol stops trading then."""
        when = parse_clock(str(body["at"])) if body.get("at") else self.clock.now()
        self.market.delist(str(body["symbol"]), when)
        return {"symbol": body["symbol"], "at": iso(when)}


def _texts(amounts: dict[str, Decimal]) -> dict[str, str]:
    return {a: format(v, "f") for a, v in amounts.items()}


class ShiftedClock:
    """A running clock that the control API can still set or advance (it keeps ticking from there)."""

    def __init__(self, base: Clock):
        self._base, self._shift = base, timedelta(0)

    def now(self) -> datetime:
        return self._base.now() + self._shift

    def advance(self, delta: timedelta) -> None:
        self._shift += delta

    def set(self, when: datetime) -> None:
        self._shift = when - self._base.now()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
