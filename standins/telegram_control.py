"""The fake Telegram's control API: its Python API as JSON over HTTP, for a bot that runs in another process.

Routes (under /__control/): POST send_text {"user_id", "text", "chat_id"?, "chat_type"?, "first_name"?};
POST press_button {"user_id", "message_id", "data", "chat_id"?}; GET sent[?chat_id=]; GET calls; POST faults
{"flood": {...}, "block", "unblock", "conflict", "down", "latency", "per_chat_limit", "refuse_for"}.
"""
from __future__ import annotations

import base64
import dataclasses
from typing import Any, Awaitable, Callable

from aiohttp import web

from .telegram_json import Json
from .telegram_world import TelegramWorld


class ControlApi:
    """Handlers for /__control/{action} over one fake; refuse_for(seconds, keep) stops the server listening."""

    def __init__(self, world: TelegramWorld, refuse_for: Callable[[float, Any], Awaitable[None]]) -> None:
        self.world, self.refuse_for = world, refuse_for

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The control API: the Python API over HTTP, for a bot that runs in another process."""
        action = request.match_info["action"]
        try:
            body = await request.json() if request.body_exists else {}
            if action == "send_text":
                update_id = self.world.send_text(int(body["user_id"]), str(body["text"]), _opt_int(body.get("chat_id")),
                                           body.get("chat_type", "private"), body.get("first_name", "Op"))
                return web.json_response({"ok": True, "update_id": update_id})
            if action == "press_button":
                update_id = self.world.press_button(int(body["user_id"]), int(body["message_id"]), str(body["data"]),
                                              _opt_int(body.get("chat_id")))
                return web.json_response({"ok": True, "update_id": update_id})
            if action == "sent":
                chat = request.query.get("chat_id")
                messages = self.world.messages_to(int(chat)) if chat else self.world.sent
                return web.json_response({"ok": True, "result": [_jsonable(m) for m in messages]})
            if action == "calls":
                return web.json_response({"ok": True, "result": [_jsonable(c) for c in self.world.calls]})
            if action == "faults":
                await self._apply_faults(body, request)
                return web.json_response({"ok": True, "result": self.world.faults()})
        except (KeyError, ValueError, TypeError) as err:
            return web.json_response({"ok": False, "description": f"{type(err).__name__}: {err}"}, status=400)
        return web.json_response({"ok": False, "description": f"no control action {action!r}"}, status=404)

    async def _apply_faults(self, body: Json, request: web.Request) -> None:
        if "flood" in body:
            spec = body["flood"]
            self.world.flood(_opt_int(spec.get("chat_id")), int(spec["retry_after"]), int(spec.get("times", 1)))
        for chat_id in _ids(body.get("block")):
            self.world.block(chat_id)
        for chat_id in _ids(body.get("unblock")):
            self.world.unblock(chat_id)
        if "conflict" in body:
            self.world.conflict(bool(body["conflict"]))
        if "down" in body:
            self.world.down(bool(body["down"]))
        if "latency" in body:
            self.world.latency(float(body["latency"]))
        if "per_chat_limit" in body:
            self.world.per_chat_limit(_opt_int(body["per_chat_limit"]))
        if body.get("refuse_for"):  # restored by a timer: once refusing, this API is unreachable too
            await self.refuse_for(float(body["refuse_for"]), request.protocol)


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _ids(value: Any) -> list[int]:
    return [] if value is None else [int(v) for v in (value if isinstance(value, list) else [value])]


def _jsonable(obj: Any) -> Any:
    """Dataclasses to JSON-ready dicts; bytes as base64 so photos survive the trip."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = dataclasses.asdict(obj)
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return base64.b64encode(obj).decode() if isinstance(obj, (bytes, bytearray)) else obj
