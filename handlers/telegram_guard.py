"""What keeps one chatty person from costing everyone else: rate limits, quiet refusals, a bounded heavy lane.

Plain bookkeeping on a monotonic clock (injected, so tests need no sleeping); no Telegram here.
"""
from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import Enum
from typing import AsyncIterator, Callable, Hashable

Now = Callable[[], float]


class Verdict(Enum):
    GO = "go"  # within the limit: answer
    WARN = "warn"  # just over it: say "slow down" once
    QUIET = "quiet"  # still over it: say nothing


@dataclass(frozen=True)
class Limits:
    burst: int = 10  # commands a person may send at once
    per_minute: float = 30.0  # then this many a minute
    queue: int = 2  # heavy commands a person may have waiting behind the one running

    def __post_init__(self) -> None:
        if self.burst < 1 or self.per_minute <= 0:
            raise ValueError("a rate limit needs a burst of at least 1 and a positive rate")


class Throttle:
    """A token bucket per person: a small burst, then one "slow down", then silence until it refills."""

    def __init__(self, limits: Limits, now: Now = time.monotonic):
        self.limits, self.now = limits, now
        self._buckets: dict[Hashable, tuple[float, float, bool]] = {}  # tokens, last seen, warned

    def check(self, key: Hashable) -> Verdict:
        t = self.now()
        tokens, last, warned = self._buckets.get(key, (float(self.limits.burst), t, False))
        tokens = min(float(self.limits.burst), tokens + (t - last) * self.limits.per_minute / 60.0)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, t, False)
            return Verdict.GO
        self._buckets[key] = (tokens, t, True)
        return Verdict.QUIET if warned else Verdict.WARN

    def forget_idle(self) -> None:
        """Drop full buckets: they hold nothing a fresh one would not (keeps memory flat under floods of ids)."""
        t, rate = self.now(), self.limits.per_minute / 60.0
        self._buckets = {k: v for k, v in self._buckets.items()
                         if v[0] + (t - v[1]) * rate < self.limits.burst}


class OncePer:
    """At most one event per key per period: a stranger's refusal, a chat's "not allowed here"."""

    def __init__(self, period_s: float, now: Now = time.monotonic):
        self.period_s, self.now = period_s, now
        self._last: dict[Hashable, float] = {}

    def first(self, key: Hashable) -> bool:
        t = self.now()
        last = self._last.get(key)
        if last is not None and t - last < self.period_s:
            return False
        self._last[key] = t
        return True

    def forget_old(self) -> None:
        t = self.now()
        self._last = {k: v for k, v in self._last.items() if t - v < self.period_s}


class QuietLog:
    """A repeated warning logged once per period, then as a count: a flood cannot fill the log."""

    def __init__(self, logger: logging.Logger, what: str, period_s: float, now: Now = time.monotonic):
        self.logger, self.what, self.period_s, self.now = logger, what, period_s, now
        self._since: float | None = None
        self._unlogged = 0

    def warning(self, message: str, *args: object) -> None:
        if self._since is None:
            self._since = self.now()
            self.logger.warning(message, *args)
        else:
            self._unlogged += 1
        self.tick()

    def tick(self) -> None:
        """Called now and then: at the end of a period, log how many were not logged one by one."""
        if self._since is None or self.now() - self._since < self.period_s:
            return
        if self._unlogged:
            self.logger.warning("%d more %s in the last %.0f s", self._unlogged, self.what, self.now() - self._since)
            self._since, self._unlogged = self.now(), 0
        else:
            self._since = None


class HeavyLane:
    """CPU-heavy commands: at most `slots` run at a time, urgent (admin) ones first, one at a time per person.

    A person may have `queue` more waiting behind their running one; beyond that, `full` says so.
    """

    def __init__(self, slots: int, queue: int):
        self.slots, self.queue = slots, queue
        self._running = 0
        self._mine: dict[Hashable, tuple[asyncio.Lock, int]] = {}  # per person: one at a time, and how many
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def full(self, owner: Hashable) -> bool:
        return self._mine.get(owner, (None, 0))[1] > self.queue

    @asynccontextmanager
    async def slot(self, owner: Hashable, urgent: bool) -> AsyncIterator[None]:
        lock, count = self._mine.get(owner, (asyncio.Lock(), 0))
        self._mine[owner] = (lock, count + 1)
        try:
            async with lock:
                await self._take(urgent)
                try:
                    yield
                finally:
                    self._release()
        finally:
            lock, count = self._mine[owner]
            if count > 1:
                self._mine[owner] = (lock, count - 1)
            else:
                del self._mine[owner]

    async def _take(self, urgent: bool) -> None:
        if self._running < self.slots and not self._waiting:
            self._running += 1
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (0 if urgent else 1, next(self._order), turn))
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # handed the slot as it was cancelled: pass it on
                self._release()
            raise

    def _release(self) -> None:
        while self._waiting:
            _, _, turn = heapq.heappop(self._waiting)
            if not turn.done():
                turn.set_result(None)  # the slot passes straight to the next in line
                return
        self._running -= 1
