"""Live updates: Server-Sent Events telling open pages that the bot wrote something they show.

One watcher polls a tiny query on the read-only connection (newest mark, newest rebalance and its state,
newest parameter change, paused) every POLL_S; a change is sent to every open page, which fetches its data
again. Polling the file works the same whether the bot serves the page or `bot.py dashboard` reads a copy
another process writes; `notify()` lets the bot's own process say so at once.
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
KEEPALIVE_S = 15.0


class LiveFeed:
    def __init__(self, newest: Callable[[], Any], poll_s: float = POLL_S):
        self._newest, self.poll_s = newest, poll_s
        self._queues: set[asyncio.Queue[str]] = set()
        self._task: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self.sent = 0  # events delivered, for tests and benchmarks

    @property
    def listeners(self) -> int:
        return len(self._queues)

    def notify(self, what: str = "change") -> None:
        for queue in self._queues:
            queue.put_nowait(what)

    async def _watch(self) -> None:
        last = await asyncio.to_thread(self._newest)
        while not self._closing.is_set():
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.poll_s)
            try:
                now = await asyncio.to_thread(self._newest)
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
            self._task = asyncio.create_task(self._watch())
        try:
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
        self.notify("closing")
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
