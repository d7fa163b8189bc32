"""Market capitalisation for the universe filter (pure): coins to base assets, the filter's reasons, its caveats.

Binance publishes no market cap, so caps come from another source (CoinGecko, or the synthetic market's
circulating supply × price). That source's symbols are not unique: many tokens share a ticker, so a base
asset is mapped to the coin with the largest cap for its ticker unless a setting names the coin's id.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Iterable, Mapping

REFRESH_EVERY = timedelta(hours=1)  # the source is read at most this often; the cache serves in between
STALE_AFTER = timedelta(days=1)  # older caps are still used when the source is down, with an alert (once)
CAVEAT = "market cap"  # every note about the filter starts so, which lets a journal note keep it (caveat_of)
_OVERRIDE = re.compile(r"([A-Za-z0-9]{1,20}):([a-z0-9][a-z0-9._-]{0,99})", re.ASCII)


@dataclass(frozen=True)
class CoinCap:
    """One coin as the source lists it: its id, ticker and market cap in USD."""

    coin_id: str
    symbol: str
    market_cap: Decimal


def parse_cap_ids(text: str) -> dict[str, str]:
    """'ABC:coingecko-id,XYZ:other-id' -> {'ABC': 'coingecko-id', ...}; ValueError naming the bad item."""
    out: dict[str, str] = {}
    for item in (i.strip() for i in text.split(",")):
        if not item:
            continue
        match = _OVERRIDE.fullmatch(item)
        if match is None:
            raise ValueError(item)
        out[match[1].upper()] = match[2]
    return out


def map_caps(coins: Iterable[CoinCap], overrides: Mapping[str, str] | None = None) -> dict[str, CoinCap]:
    """Base asset -> its coin: the named id for an override, else the largest cap among coins with that ticker."""
    by_id: dict[str, CoinCap] = {}
    chosen: dict[str, CoinCap] = {}
    for coin in coins:
        if coin.market_cap <= 0:  # CoinGecko lists some coins with no cap (0 or null): unknown, not tiny
            continue
        by_id[coin.coin_id] = coin
        base = coin.symbol.upper()
        best = chosen.get(base)
        if best is None or (coin.market_cap, coin.coin_id) > (best.market_cap, best.coin_id):
            chosen[base] = coin
    for base, coin_id in (overrides or {}).items():
        # An override whose coin the source did not list leaves the base unknown, not mapped to a namesake.
        if coin_id in by_id:
            chosen[base] = by_id[coin_id]
        else:
            chosen.pop(base, None)
    return chosen


def short_usd(x: Decimal) -> str:
    """1.2T, 400.5B, 120.4M, 950K: a cap or a floor at a glance (whole numbers lose their '.0')."""
    for unit, size in (("T", Decimal("1e12")), ("B", Decimal("1e9")), ("M", Decimal("1e6")), ("K", Decimal("1e3"))):
        if x >= size:
            return f"{x / size:.1f}".removesuffix(".0") + unit
    return f"{x:.0f}"


def cap_reason(base: str, caps: Mapping[str, Decimal], floor: Decimal) -> str:
    """Why the market cap filter keeps a coin out ("" when it passes or the filter is off)."""
    if floor <= 0:
        return ""
    cap = caps.get(base.upper())
    if cap is None:
        return "no known market cap"
    if cap < floor:
        return f"market cap {short_usd(cap)} USD < floor {short_usd(floor)}"
    return ""


@dataclass(frozen=True)
class CapView:
    """The caps a ranking uses: mapped coins (None: none at all), when they were read, and why not fresher."""

    source: str  # coingecko | synthetic | off
    coins: Mapping[str, CoinCap] | None  # by base asset
    read_at: datetime | None = None
    problem: str = ""  # why the source could not be read just now ("" when it was, or the cache was fresh)
    overrides: Mapping[str, str] | None = None

    @property
    def caps(self) -> dict[str, Decimal] | None:
        """USD cap by base asset, for the pure ranking; None when there are none (the filter is skipped)."""
        return None if self.coins is None else {base: c.market_cap for base, c in self.coins.items()}

    def stale(self, now: datetime) -> bool:
        return self.read_at is not None and now - self.read_at > STALE_AFTER

    def skipped_note(self) -> str:
        """What a rebalance says when it ran without the filter ("" when the filter applied)."""
        if self.coins is not None:
            return ""
        why = "MARKET_CAPS=off" if self.source == "off" else f"no market caps yet ({self.problem or 'not read'})"
        return f"{CAVEAT} filter skipped: {why}"

    def stale_note(self) -> str:
        """The alert when the source is down and the cache is old (the rebalance used those caps)."""
        read = f"{self.read_at:%Y-%m-%d %H:%M} UTC" if self.read_at else "never"
        return f"{CAVEAT}s stale: last read {read}, the source did not answer ({self.problem}); used them anyway"


def caveat_of(note: str) -> str:
    """The market cap part of a journal note (kept when the rest of the note is rewritten)."""
    return "; ".join(part for part in note.split("; ") if part.startswith(CAVEAT))


def with_caveat(note: str, caveat: str) -> str:
    """A note with the market cap caveat added (once)."""
    parts = [p for p in (note, caveat) if p]
    return "; ".join(dict.fromkeys(parts))
