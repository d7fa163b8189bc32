"""A local fake of the Telegram Bot API that the real python-telegram-bot client talks to over HTTP.

The aiohttp server runs in its own thread with its own event loop, so a test's loop (or a bot in another
process, through the /__control API) can talk to it. All state sits behind one lock; blocking helpers
such as wait_for must not be called from a running event loop (use asyncio.to_thread there).
"""
from __future__ import annotations

import argparse
import asyncio
import copy
import logging
import signal
import threading
import time
from typing import Any

from aiohttp import web

from .telegram_control import ControlApi
from .telegram_json import ApiCall, ApiError, Json, as_int, read_params
from .telegram_world import TelegramWorld

log = logging.getLogger(__name__)

# Clients may send every parameter in a GET query string (a 4096-character text is ~12 KB percent-encoded);
# aiohttp's default request-line limit of 8190 bytes would refuse what Telegram serves.
MAX_REQUEST_LINE = 1 << 16
CONFLICT = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"


class FakeTelegram(TelegramWorld):
    """One bot's Telegram served over HTTP: the Bot API under /bot<token>/, the control API under /__control/."""

    def __init__(self, token: str = "123456:TEST", bot_username: str = "itradingbot_test",
                 host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(token, bot_username)
        self.host, self.port = host, port
        self._allowed: list[str] | None = None
        self._poll_generation = 0  # a newer getUpdates supersedes an older one, as on the real server
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
        app.router.add_route("*", "/__control/{action}", ControlApi(self, self._refuse_for).handle)
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
        """Nudge pending getUpdates from any thread."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._pulse)

    def refuse_connections(self, on: bool = True) -> None:
        """Stop listening and drop open connections (PTB: NetworkError); off listens again on the same port."""
        if self._loop is None or self._thread is None:
            raise RuntimeError("FakeTelegram is not running")
        asyncio.run_coroutine_threadsafe(self._listen(not on), self._loop).result(10)

    async def _refuse_for(self, seconds: float, keep: Any) -> None:
        """Refuse connections (but keep the one asking) for `seconds`, then listen again on the same port."""
        await self._listen(False, keep=keep)
        self._restore = asyncio.get_running_loop().call_later(seconds, lambda: asyncio.ensure_future(self._listen(True)))

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
