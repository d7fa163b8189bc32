"""Answers and charts shared between the people who ask the same thing at about the same moment.

Twenty people sending /pnl within a second ask one question: the account valued once, and its chart drawn once,
answer every one of them. A report is shared for SHARE_S seconds (the venue's prices are that old anyway:
Binance's ticker is read at most every 2 s, binance_market.PRICES_TTL) and never across a write the bot announces (a mark, a rebalance, a
parameter change: `Services.on_change`) or a command that may write (the front end calls `forget`). A chart is
keyed by exactly the report it illustrates, so words and chart state the same figures, and a chart drawn before
a mark or a rebalance is never shown after it. Requests for a chart being drawn wait for that drawing
(single flight) instead of drawing it again.
"""
from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Hashable, TypeVar

if TYPE_CHECKING:
    from tradingbot.app.services import Services

    from .replies import Photo

T = TypeVar("T")
SHARE_S = 2.0
MAX_CHARTS = 8  # a few kinds of chart, each for the newest report or two: ~100-200 KB of PNG each


class SharedAnswers:
    def __init__(self, services: Services, share_s: float = SHARE_S, max_charts: int = MAX_CHARTS):
        self.clock, self.share_s, self.max_charts = services.clock, share_s, max_charts
        self.drawn = 0  # drawings started here (nothing to draw counts too); every other request shared one
        self._reports: dict[str, tuple[float, asyncio.Future[Any]]] = {}
        self._charts: OrderedDict[Hashable, asyncio.Future[Photo]] = OrderedDict()
        self.unsubscribe = services.on_change(lambda _what: self.forget())

    def forget(self) -> None:
        """Something was written: the next request values the account again and draws afresh."""
        self._reports.clear()
        self._charts.clear()

    async def report(self, kind: str, fetch: Callable[[], Awaitable[T]]) -> T:
        """`fetch()`'s report, or the one fetched for someone else less than SHARE_S ago (or being fetched)."""
        now = self.clock.monotonic()
        held = self._reports.get(kind)
        if held is None or now - held[0] >= self.share_s or _failed(held[1]):
            held = (now, asyncio.ensure_future(fetch()))
            self._reports[kind] = held
        return await asyncio.shield(held[1])

    async def chart(self, key: Hashable, draw: Callable[[], Awaitable[Photo]]) -> Photo:
        """The chart for `key` (kind and the report it shows), drawn once however many ask for it."""
        future = self._charts.get(key)
        if future is None or _failed(future):
            future = asyncio.ensure_future(self._draw(draw))
            self._charts[key] = future
            while len(self._charts) > self.max_charts:
                self._charts.popitem(last=False)
        self._charts.move_to_end(key)
        return await asyncio.shield(future)

    async def _draw(self, draw: Callable[[], Awaitable[Photo]]) -> Photo:
        self.drawn += 1
        return await draw()


def _failed(future: asyncio.Future[Any]) -> bool:
    """A fetch or drawing that failed (nothing to chart yet, the venue down) is tried again by the next asker."""
    return future.done() and (future.cancelled() or future.exception() is not None)
