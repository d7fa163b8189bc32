"""A local fake of the Telegram Bot API that the real python-telegram-bot client talks to over HTTP.

The aiohttp server runs in its own thread with its own event loop, so a test's loop (or a bot in another
process, through the /__control API) can talk to it. All state sits behind one lock; blocking helpers
such as wait_for must not be called from a running event loop (use asyncio.to_thread there).
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import copy
import dataclasses
import itertools
import logging
import math
import signal
import threading
import time
from collections import deque
from typing import Any, Callable

from aiohttp import web

from standins.telegram_methods import (ApiCall, ApiError, BotApiMethods, Json, SentMessage, as_int, button_data,
                                          read_params, too_many_requests, user_json)

log = logging.getLogger(__name__)

# Clients may send every parameter in a GET query string (a 4096-character text is ~12 KB percent-encoded);
# aiohttp's default request-line limit of 8190 bytes would refuse what Telegram serves.
MAX_REQUEST_LINE = 1 << 16
CONFLICT = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"


class FakeTelegram(BotApiMethods):
    """One bot's Telegram: inject what people do, inspect what the bot did, and inject faults.

    "Sends" below are sendMessage, sendPhoto, sendDocument and sendMediaGroup (one per call); block() also
    refuses sendChatAction. Recorded params are as sent (ints and bools as strings in forms), JSON fields decoded.
    """

    def __init__(self, token: str = "123456:TEST", bot_username: str = "itradingbot_test",
                 host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(token, bot_username)
        self.host, self.port = host, port
        self._update_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._allowed: list[str] | None = None
        self._poll_generation = 0  # a newer getUpdates supersedes an older one, as on the real server
        self._floods: list[list[Any]] = []  # [chat_id or None, retry_after, remaining]
        self._blocked: set[int] = set()
        self._conflict = self._down = self._refusing = False
        self._latency = 0.0
        self._rate: int | None = None
        self._recent: dict[int, deque[float]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._poll_event: asyncio.Event | None = None
        self._restore: asyncio.TimerHandle | None = None
        self._closing = False

    # ----- addresses and lifecycle -----
    @property
    def base_url(self) -> str:
        """What ApplicationBuilder().base_url() takes: PTB appends the token itself."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def control_url(self) -> str:
        """Root of the control API for a bot running in another process."""
        return f"http://{self.host}:{self.port}/__control"

    def start(self) -> None:
        """Serve on a thread of its own; port 0 picks a free port (then self.port holds it)."""
        if self._thread is not None:
            raise RuntimeError("FakeTelegram is already running")
        ready, failure = threading.Event(), []  # type: tuple[threading.Event, list[BaseException]]
        self._thread = threading.Thread(target=self._run, args=(ready, failure), name="fake-telegram", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]

    def stop(self) -> None:
        """Answer pending long polls, close every connection and end the server thread."""
        if self._thread is None or self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._thread = None

    def __enter__(self) -> FakeTelegram:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve())
        except BaseException as err:  # reported to start(), which re-raises it in the caller's thread
            failure.append(err)
        ready.set()
        if not failure:
            loop.run_forever()
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()

    async def _serve(self) -> None:
        self._closing, self._poll_event = False, asyncio.Event()
        app = web.Application(client_max_size=60 * 1024 * 1024)  # Telegram takes 50 MB documents
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("*", "/__control/{action}", self._handle_control)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0, max_line_size=MAX_REQUEST_LINE,
                                     max_field_size=MAX_REQUEST_LINE)
        await self._runner.setup()
        await self._listen(True)

    async def _shutdown(self) -> None:
        self._closing = True
        self._pulse()
        if self._restore:
            self._restore.cancel()
        if self._runner:
            await self._runner.cleanup()
        self._site = None

    async def _listen(self, on: bool, keep: Any = None) -> None:
        """Open or close the listening socket; closing also drops open connections, so clients see refusals."""
        if on and self._site is None:
            self._site = web.TCPSite(self._runner, self.host, self.port)  # type: ignore[arg-type]
            await self._site.start()
            self.port = self._site.port
        elif not on and self._site is not None:
            await self._site.stop()
            self._site = None
            for conn in self._runner.server.connections if self._runner and self._runner.server else []:
                if conn is not keep:
                    conn.force_close()
        self._refusing = not on
        self._pulse()

    def _pulse(self) -> None:
        """Wake every pending getUpdates so it re-checks updates and faults (runs on the server loop)."""
        if self._poll_event is not None:
            self._poll_event.set()
            self._poll_event.clear()

    def _wake(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._pulse)

    # ----- what people do -----
    def send_text(self, user_id: int, text: str, chat_id: int | None = None, chat_type: str = "private",
                  first_name: str = "Op", forwarded_from: int | None = None) -> int:
        """A person sends text; a leading /command gets its bot_command entity. Returns the update_id.

        forwarded_from: the person forwards a message that user wrote (Telegram keeps its entities).
        """
        chat_id = user_id if chat_id is None else chat_id
        with self._lock:
            # A negative id is never a private chat: let _chat pick group or supergroup from it.
            chat = self._chat(chat_id, None if chat_id < 0 and chat_type == "private" else chat_type, first_name)
            message = {"message_id": self._next_message_id(chat_id), "date": int(time.time()), "chat": chat,
                       "from": user_json(user_id, first_name), "text": text}
            if forwarded_from is not None:
                message["forward_origin"] = {"type": "user", "sender_user": user_json(forwarded_from, "Other"),
                                             "date": int(time.time())}
            command = text.split(maxsplit=1)[0] if text.startswith("/") else ""
            if len(command) > 1:  # length in UTF-16 units and including any @botname, as Telegram counts
                message["entities"] = [{"type": "bot_command", "offset": 0,
                                        "length": len(command.encode("utf-16-le")) // 2}]
            return self._push({"message": message})

    def press_button(self, user_id: int, message_id: int, data: str, chat_id: int | None = None,
                     first_name: str = "Op", forged: bool = False) -> int:
        """A person presses an inline button on a bot message that shows it. Returns the update_id.

        forged: send data the message does not show, as a modified client can (Telegram does not check it).
        """
        chat_id = user_id if chat_id is None else chat_id
        with self._lock:
            msg = self._by_key.get((chat_id, message_id))
            if msg is None or msg.deleted:
                raise ValueError(f"the bot has no message {message_id} in chat {chat_id}")
            if not forged and data not in button_data(msg.reply_markup):  # nobody can press a button that is not shown
                raise ValueError(f"message {message_id} shows no button {data!r}: {button_data(msg.reply_markup)}")
            query_id = f"cb{next(self._callback_ids)}"
            self._open_callbacks.add(query_id)
            query = {"id": query_id, "from": user_json(user_id, first_name), "chat_instance": f"ci{chat_id}",
                     "data": data, "message": self._message_json(msg)}
            return self._push({"callback_query": query})

    def _push(self, payload: Json) -> int:
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, **payload})
        self._changed.notify_all()
        self._wake()
        return update_id

    # ----- what the bot did -----
    @property
    def sent(self) -> list[SentMessage]:
        """Every message the bot created, in order (a copy)."""
        with self._lock:
            return copy.deepcopy(self._sent)

    @property
    def calls(self) -> list[ApiCall]:
        """Every Bot API request, in order (a copy)."""
        with self._lock:
            return copy.deepcopy(self._calls)

    @property
    def commands(self) -> list[Json]:
        """The commands of the last setMyCommands."""
        with self._lock:
            return copy.deepcopy(self._commands)

    @property
    def answered_callbacks(self) -> list[Json]:
        """Every accepted answerCallbackQuery: callback_query_id, text, show_alert."""
        with self._lock:
            return copy.deepcopy(self._answered)

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """The bot's messages in one chat, deleted ones included (see .deleted)."""
        return [m for m in self.sent if m.chat_id == chat_id]

    def wait_for(self, predicate: Callable[[SentMessage], bool], timeout: float = 5.0) -> SentMessage:
        """Block until a sent message (as it is now, edits included) matches; TimeoutError lists what was sent."""
        def describe() -> str:
            lines = [f"  #{m.message_id} to {m.chat_id} [{m.kind}{', deleted' if m.deleted else ''}] {m.text!r:.90}"
                     for m in self._sent[-20:]]
            return "\n".join(lines) or "  nothing"
        return self._wait(lambda: self._sent, predicate, timeout, "message", describe)

    def wait_for_call(self, method: str, timeout: float = 5.0,
                      predicate: Callable[[ApiCall], bool] = lambda call: True) -> ApiCall:
        """Block until a call of that method (case-insensitive) matching predicate was made."""
        def matches(call: ApiCall) -> bool:
            return call.method.lower() == method.lower() and predicate(call)
        return self._wait(lambda: self._calls, matches, timeout, f"{method} call",
                          lambda: ", ".join(f"{c.method}({c.status})" for c in self._calls[-30:]) or "none")

    def _wait(self, items: Callable[[], list[Any]], predicate: Callable[[Any], bool], timeout: float,
              what: str, describe: Callable[[], str]) -> Any:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for item in items():
                    if predicate(item):  # judged under the lock, handed out as a copy
                        return copy.deepcopy(item)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no matching {what} within {timeout}s; so far:\n{describe()}")
                self._changed.wait(remaining)

    # ----- faults -----
    def flood(self, chat_id: int | None, retry_after: int, times: int = 1) -> None:
        """The next `times` message sends to chat_id (None: any chat) get 429 with parameters.retry_after."""
        with self._lock:
            self._floods.append([chat_id, int(retry_after), int(times)])

    def per_chat_limit(self, messages_per_second: int | None) -> None:
        """Like Telegram's flood control: more sends than this to one chat within a second get 429 (None: off)."""
        with self._lock:
            self._rate, self._recent = messages_per_second, {}

    def block(self, chat_id: int) -> None:
        """The person blocked the bot: sends and chat actions to chat_id get 403."""
        with self._lock:
            self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        """The person unblocked the bot."""
        with self._lock:
            self._blocked.discard(chat_id)

    def conflict(self, on: bool = True) -> None:
        """Another instance polls with this token: every getUpdates gets 409 Conflict."""
        with self._lock:
            self._conflict = on
        self._wake()

    def down(self, on: bool = True) -> None:
        """Telegram is unreachable behind its proxy: every method answers 502, which PTB raises as NetworkError."""
        with self._lock:
            self._down = on
        self._wake()

    def latency(self, seconds: float) -> None:
        """Delay every Bot API call by this many seconds before it is handled."""
        with self._lock:
            self._latency = max(0.0, float(seconds))

    def refuse_connections(self, on: bool = True) -> None:
        """Stop listening and drop open connections (PTB: NetworkError); off listens again on the same port."""
        if self._loop is None or self._thread is None:
            raise RuntimeError("FakeTelegram is not running")
        asyncio.run_coroutine_threadsafe(self._listen(not on), self._loop).result(10)

    def faults(self) -> Json:
        """The faults in force, as the control API reports them."""
        with self._lock:
            return {"flood": [dict(zip(("chat_id", "retry_after", "times"), f)) for f in self._floods],
                    "blocked": sorted(self._blocked), "conflict": self._conflict, "down": self._down,
                    "refusing": self._refusing, "latency": self._latency, "per_chat_limit": self._rate}

    def _gate(self, method: str, chat_id: int) -> None:
        """Faults and flood control for a send to chat_id; called under the lock by the methods."""
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if method == "sendchataction":
            return
        for flood in self._floods:
            if flood[0] in (None, chat_id):
                flood[2] -= 1
                if flood[2] <= 0:
                    self._floods.remove(flood)
                raise too_many_requests(flood[1])
        if self._rate:
            now, recent = time.monotonic(), self._recent.setdefault(chat_id, deque())
            while recent and now - recent[0] >= 1.0:
                recent.popleft()
            if len(recent) >= self._rate:
                raise too_many_requests(max(1, math.ceil(recent[0] + 1.0 - now)))
            recent.append(now)

    # ----- HTTP -----
    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        if self._latency:
            await asyncio.sleep(self._latency)
        params: Json = {}
        files: Json = {}
        try:
            if self._refusing:  # a connection accepted just before the socket closed
                raise ConnectionResetError
            if self._down:
                raise ApiError(502, "Bad Gateway")
            if request.match_info["token"] != self.token:  # before parsing: a bad token looks like one
                raise ApiError(401, "Unauthorized")
            params, files = await read_params(request)
            if method.lower() == "getupdates":
                result = await self._get_updates(params)
            else:
                handler = getattr(self, f"_api_{method.lower()}", None)
                if handler is None:
                    raise ApiError(404, "Not Found")
                with self._lock:
                    result = handler(params, files)
            status, body = 200, {"ok": True, "result": result}
        except ApiError as err:
            status, body = err.status, err.envelope()
        except ConnectionResetError:
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=503)  # never reaches the client
        except Exception as err:  # a bug in the fake: answer in Telegram's shape and record it, loudly
            log.exception("fake Telegram failed on %s", method)
            status, body = 500, {"ok": False, "error_code": 500, "description": f"Internal Server Error: {err!r}"}
        if request.transport is not None and not request.transport.is_closing():  # the client still listens
            with self._lock:
                self._calls.append(ApiCall(method, params, time.time(), status, files))
                self._changed.notify_all()
        return web.json_response(body, status=status)

    async def _get_updates(self, params: Json) -> list[Json]:
        """Long poll: confirm updates below offset, then wait up to timeout for one to arrive."""
        offset, limit = as_int(params, "offset", 0) or 0, min(max(as_int(params, "limit", 100) or 100, 1), 100)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(as_int(params, "timeout", 0) or 0, 0)
        with self._lock:
            if self._conflict:
                raise ApiError(409, CONFLICT)
            if params.get("allowed_updates") is not None:
                self._allowed = list(params["allowed_updates"]) or None
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            self._poll_generation += 1
            generation = self._poll_generation
        self._pulse()
        while True:
            with self._lock:
                if self._conflict or generation != self._poll_generation:
                    raise ApiError(409, CONFLICT)
                if self._down:
                    raise ApiError(502, "Bad Gateway")
                if self._refusing:
                    raise ConnectionResetError
                batch = [u for u in self._updates if self._allowed is None or (u.keys() & set(self._allowed))]
            remaining = deadline - loop.time()
            if batch or remaining <= 0 or self._closing:
                return copy.deepcopy(batch[:limit])
            try:
                await asyncio.wait_for(self._poll_event.wait(), remaining)  # type: ignore[union-attr]
            except TimeoutError:
                pass

    async def _handle_control(self, request: web.Request) -> web.StreamResponse:
        """The control API: the Python API over HTTP, for a bot that runs in another process."""
        action = request.match_info["action"]
        try:
            body = await request.json() if request.body_exists else {}
            if action == "send_text":
                update_id = self.send_text(int(body["user_id"]), str(body["text"]), _opt_int(body.get("chat_id")),
                                           body.get("chat_type", "private"), body.get("first_name", "Op"))
                return web.json_response({"ok": True, "update_id": update_id})
            if action == "press_button":
                update_id = self.press_button(int(body["user_id"]), int(body["message_id"]), str(body["data"]),
                                              _opt_int(body.get("chat_id")))
                return web.json_response({"ok": True, "update_id": update_id})
            if action == "sent":
                chat = request.query.get("chat_id")
                messages = self.messages_to(int(chat)) if chat else self.sent
                return web.json_response({"ok": True, "result": [_jsonable(m) for m in messages]})
            if action == "calls":
                return web.json_response({"ok": True, "result": [_jsonable(c) for c in self.calls]})
            if action == "faults":
                await self._apply_faults(body, request)
                return web.json_response({"ok": True, "result": self.faults()})
        except (KeyError, ValueError, TypeError) as err:
            return web.json_response({"ok": False, "description": f"{type(err).__name__}: {err}"}, status=400)
        return web.json_response({"ok": False, "description": f"no control action {action!r}"}, status=404)

    async def _apply_faults(self, body: Json, request: web.Request) -> None:
        if "flood" in body:
            spec = body["flood"]
            self.flood(_opt_int(spec.get("chat_id")), int(spec["retry_after"]), int(spec.get("times", 1)))
        for chat_id in _ids(body.get("block")):
            self.block(chat_id)
        for chat_id in _ids(body.get("unblock")):
            self.unblock(chat_id)
        if "conflict" in body:
            self.conflict(bool(body["conflict"]))
        if "down" in body:
            self.down(bool(body["down"]))
        if "latency" in body:
            self.latency(float(body["latency"]))
        if "per_chat_limit" in body:
            self.per_chat_limit(_opt_int(body["per_chat_limit"]))
        if body.get("refuse_for"):  # restored by a timer: once refusing, this API is unreachable too
            await self._listen(False, keep=request.protocol)
            self._restore = asyncio.get_running_loop().call_later(
                float(body["refuse_for"]), lambda: asyncio.ensure_future(self._listen(True)))


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


def main(argv: list[str] | None = None) -> None:
    """Run the fake standalone and print its base URL (point TELEGRAM_API_BASE_URL at it)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:TEST")
    parser.add_argument("--bot-username", default="itradingbot_test")
    args = parser.parse_args(argv)
    fake = FakeTelegram(args.token, args.bot_username, args.host, args.port)
    # Before serving: a caller that has its answer may send SIGTERM before this thread runs another line.
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    fake.start()
    print(fake.base_url, flush=True)
    print(f"control API: {fake.control_url}/{{send_text,press_button,sent,calls,faults}}", flush=True)
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
