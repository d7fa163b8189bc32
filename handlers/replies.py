"""What a command answers: text, maybe a table, maybe charts, maybe the rebalance it ran."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Awaitable, Callable

from tradingbot.core.domain import RebalanceSummary


@dataclass(frozen=True)
class Photo:
    name: str
    png: bytes
    caption: str = ""


@dataclass(frozen=True)
class Reply:
    text: str
    monospace: bool = False  # tables: front ends show them in a fixed-width block
    photos: tuple[Photo, ...] = ()
    summary: RebalanceSummary | None = None  # set when the command rebalanced: front ends announce it
    # Charts drawn after the text is sent: the words arrive at once, the picture a moment later.
    later: Callable[[], Awaitable[tuple[Photo, ...]]] | None = None
    confirmable: bool = True  # a preview with nothing to do is the answer itself: no Confirm button

    async def charts(self) -> tuple[Photo, ...]:
        return self.photos + (await self.later() if self.later else ())
