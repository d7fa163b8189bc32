"""Clocks: the real one, and a manual one for tests, replays and --clock."""
from __future__ import annotations

import asyncio
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


class ManualClock:
    """Starts at a given instant and moves only when told (or when something sleeps on it)."""

    def __init__(self, start: datetime):
        self._now = _aware(start)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, when: datetime) -> None:
        self._now = _aware(when)

    async def sleep(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        await asyncio.sleep(0)


class OffsetClock:
    """Real time shifted so that it started at a chosen instant (--clock on a running bot)."""

    def __init__(self, start: datetime):
        self._offset = _aware(start) - datetime.now(timezone.utc)

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self._offset

    def advance(self, delta: timedelta) -> None:
        """Jump ahead (tests, replays); time keeps flowing from there."""
        self._offset += delta

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


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
