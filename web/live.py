"""Live updates: Server-Sent Events telling open pages that the bot wrote something they show.

One watcher reads a tiny query on the read-only connection (newest mark, newest rebalance and its state,
newest parameter change, paused) and sends a change to every open page, which fetches its data again. When
the bot serves the page, its services wake the watcher after each commit (`wake()`, on the bot's own loop), so
an update needs no polling; a slow poll stays as a backstop for another process writing the same file (a
`bot.py rebalance --now` from cron). `bot.py dashboard` reads a file another process writes: it polls every
POLL_S.
"""
from __future__ import annotations

import asyncio
import json
import logging
from contextlib import suppress
from typing import Any, Callable

from aiohttp import web

log = logging.getLogger(__name__)
POLL_S = 0.5
BACKSTOP_POLL_S = 10.0  # beside the bot, which says when it writes
KEEPALIVE_S = 15.0


class LiveFeed:
    def __init__(self, newest: Callable[[], Any], poll_s: float = POLL_S):
        self._newest, self.poll_s = newest, poll_s
        self._queues: set[asyncio.Queue[str]] = set()
        self._task: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self._wake = asyncio.Event()
        self._ready = asyncio.Event()  # the watcher has read what is there now: a change after it is heard
        self._loop: asyncio.AbstractEventLoop | None = None
        self.sent = 0  # events delivered, for tests and benchmarks
        self.checks = 0  # reads of the "what changed" query

    @property
    def listeners(self) -> int:
        return len(self._queues)

    def notify(self, what: str = "change") -> None:
        for queue in self._queues:
            queue.put_nowait(what)

    def wake(self, what: str = "change") -> None:
        """The bot committed something a page shows: look now, not at the next poll (from any thread)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def _check(self) -> Any:
        self.checks += 1
        return await asyncio.to_thread(self._newest)

    async def _watch(self) -> None:
        self._loop = asyncio.get_running_loop()
        try:
            last = await self._check()
        finally:
            self._ready.set()
        while not self._closing.is_set():
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
            self._wake.clear()
            try:
                now = await self._check()
            except Exception:  # a locked or vanished file: try again at the next poll
                log.debug("dashboard: live poll failed", exc_info=True)
                continue
            if now != last:
                last = now
                self.notify()

    async def stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                               "X-Accel-Buffering": "no"})
        await response.prepare(request)
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._queues.add(queue)
        if self._task is None or self._task.done():
            self._ready.clear()
            self._task = asyncio.create_task(self._watch())
        try:
            await self._ready.wait()
            await response.write(b"retry: 1000\n\n")
            while not self._closing.is_set():
                try:
                    what = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                except asyncio.TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                await response.write(f"event: change\ndata: {json.dumps({'what': what})}\n\n".encode())
                self.sent += 1
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self._queues.discard(queue)
            if not self._queues and self._task is not None:
                self._task.cancel()
                self._task = None
        return response

    async def close(self) -> None:
        self._closing.set()
        self._wake.set()
        self.notify("closing")
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
