"""MarketData with a disk cache in front: closed candles are fetched once, then read from SQLite.

A warm rebalance asks the network only for candles the cache lacks; candles pushed by the kline
stream (`ingest`) extend the cache as they close, so with the stream up a rebalance fetches none.
Daily candles are assembled from 24 cached hourly ones when those are complete — the exchange
builds its daily candle from the same trades, so the sums are exact. A symbol's first hourly read
fetches its recent RECENT_DAYS of hours in the same request, so a cold ranking asks one klines
request per symbol instead of one per candle range (now, now - lookback, the daily volumes); that
request reaches back to the age filter's horizon when it can, and its first candle then answers
the listing question too (first_candle_time's listed_by), so no listing request is sent either.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Iterable

from ..core.domain import Candle, SymbolRules
from ..app.ports import Clock, MarketData
from .kline_store import INTERVAL_MS, Coverage, KlineStore, from_ms, to_ms

HOUR_MS, DAY_MS = INTERVAL_MS["1h"], INTERVAL_MS["1d"]
MAX_GAP_CANDLES = 5000  # a hole wider than this restarts coverage instead of fetching years of history
UNLISTED_RECHECK_MS = HOUR_MS  # "not listed yet" is asked again after this long
RECENT_DAYS = 8  # the volume window's 7 closed days and the default 7-day lookback, from midnight back
ONE_REQUEST_CANDLES = 1000  # Binance's klines page: a wider first read would cost more requests, not fewer


class CachedMarketData:
    """Implements MarketData over `source` (Binance or synthetic) with a KlineStore cache."""

    def __init__(self, source: MarketData, store: KlineStore, clock: Clock):
        self.source, self.store, self.clock = source, store, clock
        self.fetches = 0  # candle requests sent to the source (benchmarks and tests read it)

    async def symbols(self) -> list[SymbolRules]:
        return await self.source.symbols()

    async def prices(self) -> dict[str, Decimal]:
        return await self.source.prices()

    async def first_candle_time(self, symbol: str, listed_by: datetime | None = None) -> datetime | None:
        now = to_ms(self.clock.now())
        known = self.store.listing(symbol)
        if known is not None and (known[0] is not None or now - known[1] < UNLISTED_RECHECK_MS):
            return from_ms(known[0]) if known[0] is not None else None
        if listed_by is not None:
            early = await self._hour_by(symbol, to_ms(listed_by))
            if early is not None:
                return from_ms(early)
        first = await self.source.first_candle_time(symbol)
        self.store.set_listing(symbol, None if first is None else to_ms(first), now)
        return first

    async def _hour_by(self, symbol: str, by: int) -> int | None:
        """Open time of the first cached hourly candle when it opened at or before `by`, else None.

        Without the symbol's hours cached, the recent hours a ranking reads are fetched first, widened back
        to `by` when one request still brings it all: that request would be sent anyway, and its first
        candle proves the listing old enough, so a cold ranking needs no listing request per symbol.
        """
        size = HOUR_MS
        cov = self.store.coverage(symbol, "1h")
        last_closed = to_ms(self.clock.now()) // size * size - size
        if cov is None and (last_closed - by) // size < ONE_REQUEST_CANDLES:
            await self._fill(symbol, "1h", size, min(by // size * size, last_closed), last_closed, None)
            cov = self.store.coverage(symbol, "1h")
        if cov is None or cov.first > by:
            return None
        return cov.first if self.store.get(symbol, "1h", cov.first, cov.first) else None  # else a gap or young

    async def candles(self, symbol: str, interval: str, start: datetime, end: datetime) -> list[Candle]:
        """Closed candles from the cache (filled from the source as needed); a still-open one from the source."""
        size = INTERVAL_MS.get(interval)
        if size is None:  # an interval the cache does not keep: straight through
            return await self.source.candles(symbol, interval, start, end)
        now = to_ms(self.clock.now())
        first = -(-to_ms(start) // size) * size  # first open time at or after start
        last_closed = (now // size) * size - size  # open time of the newest candle that has closed
        last = min(to_ms(end) // size * size, last_closed)
        closed = await self._closed(symbol, interval, size, first, last) if first <= last else []
        if to_ms(end) >= max(first, last_closed + size):  # the range reaches the still-open candle
            open_bar = await self.source.candles(symbol, interval, max(start, from_ms(last_closed + size)), end)
            closed += [c for c in open_bar if not c.is_closed(self.clock.now())]
        return closed

    async def _closed(self, symbol: str, interval: str, size: int, first: int, last: int) -> list[Candle]:
        cov = self.store.coverage(symbol, interval)
        if cov is None or not cov.holds(first, last):
            if interval == "1d" and self._daily_from_hourly(symbol, first, last, cov):
                return self.store.get(symbol, interval, first, last)
            await self._fill(symbol, interval, size, first, last, cov)
        return self.store.get(symbol, interval, first, last)

    async def _fill(self, symbol: str, interval: str, size: int, first: int, last: int, cov: Coverage | None) -> None:
        """Fetch what the coverage lacks so that it becomes one range holding [first, last]."""
        if cov is None or max(first - cov.last, cov.first - last) > MAX_GAP_CANDLES * size:
            new = self._with_recent(interval, size, first, last)
            spans = [(new.first, new.last)]
        else:
            new = Coverage(min(first, cov.first), max(last, cov.last))
            spans = _outside(new, cov, size)
        fetched: list[Candle] = []
        for a, b in spans:
            self.fetches += 1
            got = await self.source.candles(symbol, interval, from_ms(a), from_ms(b))
            # The range is only known complete once the source has answered for all of it
            kept = [c for c in got if a <= to_ms(c.open_time) <= b]
            self.store.put(symbol, interval, kept)
            fetched += kept
        self.store.put(symbol, interval, [], covered=new)
        if interval == "1h" and cov is None and self.store.coverage(symbol, "1d") is None:
            self._days_of(symbol, new, fetched)

    def _days_of(self, symbol: str, hours: Coverage, candles: list[Candle]) -> None:
        """The daily candles of the complete days in a first hourly fill, from the candles in hand: a cold
        ranking's volume filter then reads them instead of reading its hours back from the cache."""
        first, last = -(-hours.first // DAY_MS) * DAY_MS, (hours.last + HOUR_MS) // DAY_MS * DAY_MS - DAY_MS
        if first > last:
            return
        complete = (h for h in candles if first <= to_ms(h.open_time) < last + DAY_MS)
        self.store.put(symbol, "1d", _daily(complete), covered=Coverage(first, last))

    def _with_recent(self, interval: str, size: int, first: int, last: int) -> Coverage:
        """[first, last] widened to the recent hours a ranking reads, when one request still brings it all."""
        if interval != "1h":
            return Coverage(first, last)
        now = to_ms(self.clock.now())
        wide = Coverage(min(first, now // DAY_MS * DAY_MS - RECENT_DAYS * DAY_MS), max(last, now // size * size - size))
        return wide if (wide.last - wide.first) // size < ONE_REQUEST_CANDLES else Coverage(first, last)

    def _daily_from_hourly(self, symbol: str, first: int, last: int, cov: Coverage | None) -> bool:
        """Build the daily candles the coverage lacks from complete cached hourly ones; False when the hours
        are not all cached. Days already covered are not rebuilt: a closed day never changes."""
        joined = cov is not None and cov.first <= last + DAY_MS and first <= cov.last + DAY_MS
        if joined and cov:
            covered = Coverage(min(first, cov.first), max(last, cov.last))
            spans = _outside(covered, cov, DAY_MS)
        else:
            covered, spans = Coverage(first, last), [(first, last)]
        hourly = self.store.coverage(symbol, "1h")
        if hourly is None or not all(hourly.holds(a, b + DAY_MS - HOUR_MS) for a, b in spans):
            return False
        hours = (h for a, b in spans for h in self.store.get(symbol, "1h", a, b + DAY_MS - HOUR_MS))
        self.store.put(symbol, "1d", _daily(hours), covered=covered)
        return True

    def ingest(self, symbol: str, interval: str, candle: Candle) -> None:
        """A closed candle from the stream: stored, and the coverage extended when it is the next one."""
        size = INTERVAL_MS.get(interval)
        if size is None or not candle.is_closed(self.clock.now() + timedelta(milliseconds=1)):
            return
        cov, at = self.store.coverage(symbol, interval), to_ms(candle.open_time)
        extend = cov is not None and cov.last + size == at
        self.store.put(symbol, interval, [candle], covered=Coverage(cov.first, at) if extend and cov else None)
        if interval == "1h" and extend and (at + HOUR_MS) % DAY_MS == 0:
            self._close_day(symbol, at + HOUR_MS - DAY_MS)

    def _close_day(self, symbol: str, day: int) -> None:
        """The day's last hour arrived: its daily candle is assembled now, not during the next rebalance."""
        daily = self.store.coverage(symbol, "1d")
        if daily is not None and daily.last + DAY_MS == day:
            self._daily_from_hourly(symbol, day, day, daily)


def _outside(wanted: Coverage, have: Coverage, size: int) -> list[tuple[int, int]]:
    """The candle ranges of `wanted` that `have` lacks, before it and after it (each may be empty)."""
    return [(a, b) for a, b in ((wanted.first, have.first - size), (have.last + size, wanted.last)) if a <= b]


def _daily(hours: Iterable[Candle]) -> list[Candle]:
    """The daily candles of these hourly ones, by day, oldest first."""
    days: dict[int, list[Candle]] = {}
    for h in hours:
        days.setdefault(to_ms(h.open_time) // DAY_MS * DAY_MS, []).append(h)
    return [_merge(day, bars) for day, bars in sorted(days.items())]


def _merge(day: int, bars: list[Candle]) -> Candle:
    """One daily candle from that day's hourly candles (exact: the same trades, summed)."""
    return Candle(
        open_time=from_ms(day), close_time=from_ms(day + DAY_MS - 1), open=bars[0].open, close=bars[-1].close,
        high=max(b.high for b in bars), low=min(b.low for b in bars),
        volume=sum((b.volume for b in bars), Decimal(0)), quote_volume=sum((b.quote_volume for b in bars), Decimal(0)),
    )
