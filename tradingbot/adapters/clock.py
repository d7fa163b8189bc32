"""Clocks: the real one, and a manual one for tests, replays and --clock."""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone


def _aware(t: datetime) -> datetime:
    """Refuse naive times: astimezone() would silently read them as the machine's local time."""
    if t.tzinfo is None:
        raise ValueError("clock time must be timezone-aware")
    return t.astimezone(timezone.utc)


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock:
    """Starts at a given instant and moves only when told (or when something sleeps on it)."""

    def __init__(self, start: datetime):
        self._now = _aware(start)
        self._elapsed = 0.0  # the steady reading: moved on by advance and sleep, never back by set

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta
        self._elapsed += max(0.0, delta.total_seconds())

    def set(self, when: datetime) -> None:
        when = _aware(when)
        self._elapsed += max(0.0, (when - self._now).total_seconds())
        self._now = when

    async def sleep(self, seconds: float) -> None:
        self.advance(timedelta(seconds=seconds))
        await asyncio.sleep(0)

    def monotonic(self) -> float:
        return self._elapsed


class OffsetClock:
    """Real time shifted so that it started at a chosen instant (--clock on a running bot)."""

    def __init__(self, start: datetime):
        self._offset = _aware(start) - datetime.now(timezone.utc)
        self._jumped = 0.0  # seconds jumped ahead, so a wait timed on this clock ends with the jump

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self._offset

    def advance(self, delta: timedelta) -> None:
        """Jump ahead (tests, replays); time keeps flowing from there."""
        self._offset += delta
        self._jumped += max(0.0, delta.total_seconds())

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def monotonic(self) -> float:
        return time.monotonic() + self._jumped


class FrozenClock:
    """Time stands still at one instant while sleeping really waits (test-only, see bot.py).

    Every price of a run is then read at that instant, so two runs of a slot (say, one killed half-way
    and its restart, and one left alone) trade against the same market.
    """

    def __init__(self, at: datetime):
        self._now = _aware(at)

    def now(self) -> datetime:
        return self._now

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def monotonic(self) -> float:
        return time.monotonic()  # sleeping really waits, so waits are timed in real time
