"""Binance market streams over WebSocket: raw /ws/<name>, combined /stream?streams=a/b, live SUBSCRIBE.

Every connection pushes on a real-time timer (stream_interval), reading prices at the injected clock's now.
A kline stream sends the final (x=true) event of every bar that closed since its previous push, oldest
first and at most MAX_CATCH_UP of them, before the update of the bar now open.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from aiohttp import WSCloseCode, WSMsgType, web

from tradingbot.adapters.synthetic import INTERVAL_HOURS
from tradingbot.app.ports import Clock
from .binance_listing import Listing
from .binance_json import Json, kline_event, mini_ticker_event

log = logging.getLogger(__name__)

MAX_CATCH_UP = 48  # closed bars replayed after a clock jump
_KLINE = re.compile(r"^([a-z0-9]+)@kline_([0-9]+[smhdwM])$")
_MINI = re.compile(r"^([a-z0-9]+)@(?i:miniticker)$")  # Binance spells it @miniTicker
_ALL_MINI = re.compile(r"^!miniticker@arr(@1000ms)?$", re.IGNORECASE)


@dataclass
class Subscription:
    """One stream on one connection; a kline stream remembers the bars it already reported."""

    name: str
    kind: str  # all_mini | mini | kline
    symbol: str = ""
    interval: str = ""
    open_bar: datetime | None = None  # open time of the bar that was open at the last push
    final_sent: datetime | None = None  # open time of the last bar sent with x=true


def parse_stream(name: str) -> Subscription | None:
    """A stream name with a lowercase symbol, as Binance wants it, or None for streams this server does not feed."""
    if _ALL_MINI.match(name):
        return Subscription(name, "all_mini")
    if m := _MINI.match(name):
        return Subscription(name, "mini", m.group(1).upper())
    if (m := _KLINE.match(name)) and m.group(2) in INTERVAL_HOURS:
        return Subscription(name, "kline", m.group(1).upper(), m.group(2))
    return None


@dataclass(frozen=True)
class _Moment:
    """One push round's instant and the symbols listed and trading then."""

    now: datetime
    event_ms: int
    listed: set[str]
    live: set[str]


class Connection:
    """One client WebSocket and what it is subscribed to."""

    def __init__(self, ws: web.WebSocketResponse, combined: bool):
        self.ws, self.combined = ws, combined
        self.subs: dict[str, Subscription | None] = {}  # unknown names are kept (listed) but never fed
        self.drop_after_push = False
        self._lock = asyncio.Lock()  # the pusher and the SUBSCRIBE replies share the socket

    async def send(self, payload: Any, stream: str | None = None) -> None:
        """Send one message, wrapped {"stream", "data"} on combined connections."""
        if stream is not None and self.combined:
            payload = {"stream": stream, "data": payload}
        async with self._lock:
            await self.ws.send_str(json.dumps(payload, separators=(",", ":")))


class StreamHub:
    """Serves the stream endpoints and keeps every connection fed until it closes or is dropped."""

    def __init__(self, listing: Listing, clock: Clock, interval: float, server_ms: Callable[[], int]):
        self.listing, self.clock, self.interval, self.server_ms = listing, clock, interval, server_ms
        self.connections: set[Connection] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """GET /ws[/<a>/<b>] (raw payloads) or /stream?streams=a/b (wrapped)."""
        combined = request.path.startswith("/stream")
        spec = request.query.get("streams", "") if combined else request.match_info.get("names", "")
        ws = web.WebSocketResponse(heartbeat=20.0)  # Binance pings every 20 s; the client's pong keeps it open
        await ws.prepare(request)
        conn = Connection(ws, combined)
        await self._subscribe(conn, [n for n in spec.split("/") if n])
        self.connections.add(conn)
        pusher = asyncio.create_task(self._push_loop(conn))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_request(conn, msg.data)
        finally:
            pusher.cancel()
            self.connections.discard(conn)
            with contextlib.suppress(asyncio.CancelledError):
                await pusher
        return ws

    def drop_all(self, after_push: bool = False) -> None:
        """Close every connection (from the server's loop), now or right behind its next round of pushes;
        clients see the close and reconnect."""
        for conn in list(self.connections):
            if after_push:
                conn.drop_after_push = True
            else:
                self._drop(conn)

    def _drop(self, conn: Connection) -> None:
        # A task of its own: closing waits for the handler, which cancels the push loop
        task = asyncio.get_running_loop().create_task(conn.ws.close(code=WSCloseCode.GOING_AWAY))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Close every connection and wait for it (server shutdown)."""
        await asyncio.gather(*(c.ws.close(code=WSCloseCode.GOING_AWAY) for c in list(self.connections)),
                             return_exceptions=True)

    async def _on_request(self, conn: Connection, text: str) -> None:
        """The live control methods: SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS."""
        try:
            req = json.loads(text)
            method, params, req_id = req["method"], req.get("params", []), req.get("id")
        except (ValueError, KeyError, TypeError, AttributeError):
            await conn.send({"error": {"code": 3, "msg": "Invalid JSON: expected a request object"}})
            return
        if method == "SUBSCRIBE":
            await self._subscribe(conn, [str(p) for p in params])
            await conn.send({"result": None, "id": req_id})
        elif method == "UNSUBSCRIBE":
            for name in params:
                conn.subs.pop(str(name), None)
            await conn.send({"result": None, "id": req_id})
        elif method == "LIST_SUBSCRIPTIONS":
            await conn.send({"result": list(conn.subs), "id": req_id})
        else:
            await conn.send({"error": {"code": 2, "msg": f"Invalid request: unknown method {method!r}"},
                             "id": req_id})

    async def _subscribe(self, conn: Connection, names: list[str]) -> None:
        for name in names:
            sub = parse_stream(name)
            if sub is not None and sub.kind == "kline":  # start counting closed bars from the one open now
                bars = await self._recent(sub, self.clock.now(), 1)
                sub.open_bar = bars[-1].open_time if bars else None
            conn.subs[name] = sub

    async def _push_loop(self, conn: Connection) -> None:
        """Every interval (real time), one round of messages for each subscription."""
        try:
            while not conn.ws.closed:
                await asyncio.sleep(self.interval)
                moment = await self._moment()
                for name, sub in list(conn.subs.items()):
                    for payload in await self._payloads(sub, moment) if sub else []:
                        await conn.send(payload, name)
                if conn.drop_after_push:  # the close frame goes out before the client reads this round
                    self._drop(conn)
                    return
        except (ConnectionError, RuntimeError) as err:  # the client went away between two sends
            log.debug("stream push stopped: %s", err)

    async def _moment(self) -> _Moment:
        """What one round reads, taken once: 400 streams on a connection must not list the symbols 400 times."""
        rules, prices = await self.listing.rules(), await self.listing.prices()
        live = {s for s, r in rules.items() if r.trading and s in prices}
        return _Moment(self.clock.now(), self.server_ms(), set(rules), live)

    async def _payloads(self, sub: Subscription, moment: _Moment) -> list[Any]:
        """This round's messages of one subscription (the all-symbols ticker is one array)."""
        now, event_ms = moment.now, moment.event_ms
        if sub.kind == "all_mini":
            return [[mini_ticker_event(s, await self.listing.day(s, now), event_ms) for s in sorted(moment.live)]]
        if sub.symbol not in moment.listed:
            return []
        if sub.kind == "mini":
            live = sub.symbol in moment.live
            return [mini_ticker_event(sub.symbol, await self.listing.day(sub.symbol, now), event_ms)] if live else []
        return await self._kline_payloads(sub, now, event_ms)

    async def _kline_payloads(self, sub: Subscription, now: datetime, event_ms: int) -> list[Json]:
        """Final events of bars closed since the last push, then the open bar's update."""
        size = timedelta(hours=INTERVAL_HOURS[sub.interval])
        since = sub.open_bar if sub.open_bar is not None else now - size
        count = max(1, min((now - since) // size + 1, MAX_CATCH_UP + 1))  # a clock set back: just the open bar
        out = []
        for bar in await self._recent(sub, now, count):
            if bar.is_closed(now):
                if sub.final_sent is None or bar.open_time > sub.final_sent:
                    out.append(kline_event(sub.symbol, sub.interval, bar, True, event_ms))
                    sub.final_sent = bar.open_time
            else:
                out.append(kline_event(sub.symbol, sub.interval, bar, False, event_ms))
            sub.open_bar = bar.open_time
        return out

    async def _recent(self, sub: Subscription, now: datetime, count: int) -> list[Any]:
        """The last `count` bars of the stream's symbol up to now, the open one included."""
        size = timedelta(hours=INTERVAL_HOURS[sub.interval])
        return (await self.listing.candles(sub.symbol, sub.interval, now - size * count, now))[-count:]
