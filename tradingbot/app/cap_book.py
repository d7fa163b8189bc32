"""The market caps a ranking uses: read from the source at most hourly, cached in SQLite, never silently missing.

- fresh cache (read less than REFRESH_EVERY ago): used as it is, the source is not asked;
- otherwise the source is read and the cache replaced; if it cannot be read, the cache is used however old,
  and a cache older than STALE_AFTER is announced once (with the rebalance that used it);
- no cache at all and no source: the filter is skipped for that rebalance, and its journal note says so.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Mapping

from ..core.errors import VenueUnavailable
from ..core.market_caps import REFRESH_EVERY, CapView, CoinCap, map_caps
from ..core.params import StrategyParams
from .ports import CapCache, Clock, MarketCaps

log = logging.getLogger(__name__)


class MarketCapBook:
    def __init__(self, source: MarketCaps | None, cache: CapCache, clock: Clock,
                 overrides: Mapping[str, str] | None = None):
        self.source, self.cache, self.clock = source, cache, clock
        self.overrides = dict(overrides or {})
        self._reading = asyncio.Lock()  # two rankings at once read the source once

    async def view(self) -> CapView:
        """The caps to rank with now (see the module's docstring for which)."""
        if self.source is None:
            return CapView("off", None)
        async with self._reading:
            cached = self.cache.load()
            if cached is not None and self.clock.now() - cached[1] < REFRESH_EVERY:
                return self._view(*cached)
            try:
                coins = await self.source.coins()
            except VenueUnavailable as e:
                problem = str(e)[:200]  # the source's own errors name it ("coingecko: HTTP 503 ...")
                log.warning("market caps not read (%s); %s", problem,
                            f"using those read at {cached[1]:%Y-%m-%d %H:%M} UTC" if cached else "none cached")
                return self._view(*cached, problem=problem) if cached else CapView(self.source.name, None,
                                                                                  problem=problem)
            read_at = self.clock.now()
            self.cache.save(coins, read_at)
            log.info("market caps read from %s: %d coins", self.source.name, len(coins))
            return self._view(coins, read_at)

    def _view(self, coins: list[CoinCap], read_at: datetime, problem: str = "") -> CapView:
        name = self.source.name if self.source is not None else "off"
        return CapView(name, map_caps(coins, self.overrides), read_at, problem, self.overrides)

    def rebalance_note(self, view: CapView) -> str:
        """What the rebalance's journal note (and so its summary and /history) says about the caps it used."""
        skipped = view.skipped_note()
        if skipped:
            return skipped
        if view.problem and view.stale(self.clock.now()) and self.cache.stale_alerted() != view.read_at:
            assert view.read_at is not None
            self.cache.mark_stale_alerted(view.read_at)  # one alert per stale reading, not one per rebalance
            return view.stale_note()
        return ""


async def current_caps(book: MarketCapBook | None, params: StrategyParams) -> CapView | None:
    """The caps for a ranking with these parameters; None while min_market_cap is 0 (the source is not asked)."""
    if params.min_market_cap <= 0:
        return None
    return await book.view() if book is not None else CapView("off", None)


async def caps_for_rebalance(book: MarketCapBook | None, params: StrategyParams) -> tuple[CapView | None, str]:
    """The caps a rebalance ranks with, and what its journal note must say about them."""
    view = await current_caps(book, params)
    if view is None:
        return None, ""
    return view, book.rebalance_note(view) if book is not None else view.skipped_note()
