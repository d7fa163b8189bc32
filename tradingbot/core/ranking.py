"""Universe filters and cross-sectional ranking (pure).

Only closed candles are used: the candle still open at `now` never enters a score.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Mapping, Sequence

from .domain import ZERO, Candle, RankRow, Ranking, SymbolRules, SymbolSnapshot
from .market_caps import cap_reason
from .params import StrategyParams

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
VOLUME_DAYS = 7


def floor_hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def floor_day(t: datetime) -> datetime:
    return t.replace(hour=0, minute=0, second=0, microsecond=0)


def anchors(now: datetime, lookback: timedelta) -> tuple[datetime, datetime]:
    """Open times of the last closed hourly candle and of the one ending exactly lookback earlier."""
    last_closed = floor_hour(now) - HOUR
    return last_closed, last_closed - lookback


def volume_window(now: datetime) -> tuple[datetime, datetime]:
    """Open times of the first and last closed daily candles of the volume filter."""
    today = floor_day(now)
    return today - VOLUME_DAYS * DAY, today - DAY


def build_snapshot(
    rules: SymbolRules,
    first_open_time: datetime | None,
    hourly_now: Sequence[Candle],
    hourly_then: Sequence[Candle],
    daily: Sequence[Candle],
    now: datetime,
    lookback: timedelta,
) -> SymbolSnapshot:
    """Pick the two closes and the volume mean out of whatever candles the market returned."""
    at_now, at_then = anchors(now, lookback)
    first_day, last_day = volume_window(now)
    close_now = _close_at(hourly_now, at_now, now)
    close_then = _close_at(hourly_then, at_then, now)
    volumes = [c.quote_volume for c in daily if first_day <= c.open_time <= last_day and c.is_closed(now)]
    return SymbolSnapshot(rules, first_open_time, close_now, close_then, mean_volume(volumes))


def mean_volume(volumes: Sequence[Decimal]) -> Decimal:
    """The volume filter's mean daily quote volume (zero without a closed day)."""
    return sum(volumes, ZERO) / len(volumes) if volumes else ZERO


def _close_at(candles: Sequence[Candle], open_time: datetime, now: datetime) -> Decimal | None:
    for c in candles:
        if c.open_time == open_time and c.is_closed(now):
            return c.close
    return None


def ineligibility(snap: SymbolSnapshot, params: StrategyParams, now: datetime, bases: frozenset[str],
                  caps: Mapping[str, Decimal] | None = None) -> str:
    """Why a symbol may not be picked now; "" when it may (caps None: no market caps, that filter is skipped)."""
    rules = snap.rules
    if rules.quote != params.quote:
        return f"quote is {rules.quote}, not {params.quote}"
    if not rules.trading:
        return f"status {rules.status}"
    skipped = params.skip_reason(rules.base, rules.symbol, bases)
    if skipped:
        return skipped
    if snap.first_open_time is None or now - snap.first_open_time < timedelta(days=params.min_age_days):
        return f"listed less than {params.min_age_days} days ago"
    if snap.close_now is None:
        return "no closed candle now"
    if snap.close_then is None or snap.close_then <= 0:
        return "no closed candle at now - lookback"
    if snap.mean_daily_quote_volume < params.min_quote_volume:
        return "volume below minimum"
    return cap_reason(rules.base, caps, params.min_market_cap) if caps is not None else ""


def rank_universe(snapshots: Sequence[SymbolSnapshot], params: StrategyParams, now: datetime,
                  caps: Mapping[str, Decimal] | None = None, listed_bases: frozenset[str] | None = None) -> Ranking:
    """Score every eligible symbol by lookback return and select the top (momentum) or bottom (reversal) N.

    caps: USD market cap by base asset for the min_market_cap filter; None skips that filter.
    listed_bases: the base assets listed in any quote (default: the snapshots').
    """
    scored: list[tuple[Decimal, SymbolSnapshot]] = []
    rejected: list[RankRow] = []
    seen: set[str] = set()
    # lets PEPEUP count as leveraged when PEPE is listed
    bases = listed_bases if listed_bases is not None else frozenset(s.rules.base for s in snapshots)
    for snap in snapshots:
        symbol = snap.rules.symbol
        if symbol in seen:  # a market that lists a symbol twice must not get it picked twice
            continue
        seen.add(symbol)
        reason = ineligibility(snap, params, now, bases, caps)
        score = snap.close_now / snap.close_then - 1 if snap.close_now and snap.close_then else None
        if reason or score is None:
            rejected.append(RankRow(symbol, score, snap.mean_daily_quote_volume, False, reason))
        else:
            scored.append((score, snap))
    if params.strategy == "momentum":
        scored.sort(key=lambda item: (-item[0], item[1].rules.symbol))
    else:
        scored.sort(key=lambda item: (item[0], item[1].rules.symbol))
    rows = [
        RankRow(s.rules.symbol, score, s.mean_daily_quote_volume, True, "", i < params.topn, i + 1)
        for i, (score, s) in enumerate(scored)
    ]
    rows.extend(sorted(rejected, key=lambda r: r.symbol))
    return Ranking(now, params.strategy, params.lookback, params.topn, tuple(rows))
