"""Performance arithmetic over the live account's record (pure): period returns, risk figures, per-coin P/L.

The chat (`/daily`, `/weekly`, `/monthly`, `/performance`) and the web dashboard both read these, so the two
front ends can never disagree on a number.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

import numpy as np

from .domain import ZERO, EquityMark, Fill, Side
from .errors import UserError
from .params import excerpt, parse_duration

PERIODS = ("day", "week", "month")
LONGEST_WINDOW = timedelta(days=36_500)  # longer is the whole record: and now − 999999w is no date at all


@dataclass(frozen=True)
class PeriodReturn:
    """Equity change over one local day, ISO week (from Monday) or calendar month."""

    start: date
    equity_start: Decimal  # equity at the end of the period before (or the first mark)
    equity_end: Decimal  # equity at the period's last mark
    change: Decimal
    pct: Decimal | None


@dataclass(frozen=True)
class RiskFigures:
    max_drawdown: float  # fraction of the running peak, 0 or negative
    max_drawdown_duration: timedelta  # longest time spent below a previous peak
    drawdown_now: float
    sharpe: float  # daily returns, annualised over 365 days
    sortino: float
    volatility: float  # annualised standard deviation of daily returns
    days: int


@dataclass(frozen=True)
class CoinPnl:
    """What one coin contributed over a window: value now − value then − bought + sold (fees included)."""

    asset: str
    pnl: Decimal
    bought: Decimal
    sold: Decimal
    fees: Decimal
    value_start: Decimal
    value_end: Decimal


def parse_window(text: str) -> timedelta | None:
    """'7d', '12h', '2w' or 'all' (None: the whole record); under an hour is refused in one line."""
    if text.strip().lower() == "all":
        return None
    try:
        window = parse_duration(text)
    except UserError:
        raise UserError(f"window must be like 7d, 12h or 2w, or all (got '{excerpt(text)}')") from None
    if window < timedelta(hours=1):
        raise UserError(f"window must be at least 1h (got '{excerpt(text)}')")
    return min(window, LONGEST_WINDOW)


def period_start(day: date, period: str) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1) if period == "month" else day


def period_returns(marks: Sequence[EquityMark], zone: ZoneInfo, period: str) -> list[PeriodReturn]:
    """One row per period that has a mark, oldest first; each starts from the previous period's last mark."""
    ends: dict[date, Decimal] = {}
    for m in marks:  # oldest first: the last mark of a period wins
        ends[period_start(m.time.astimezone(zone).date(), period)] = m.equity
    out: list[PeriodReturn] = []
    before = marks[0].equity if marks else ZERO
    for start, end in ends.items():
        change = end - before
        out.append(PeriodReturn(start, before, end, change, change / before if before else None))
        before = end
    return out


def day_ends(times: Sequence[float], zone: ZoneInfo) -> list[int]:
    """Index of the last mark of each local day that has one (times: epoch seconds, oldest first).

    Found by searching each next local midnight, so a year of hourly marks costs ~1,100 time-zone conversions,
    not 8,760; each guess is checked against the marks beside it, so a midnight that a clock change skips or
    repeats cannot move a mark to the wrong day."""
    stamps, n, out, i = np.asarray(times, dtype=float), len(times), [], 0

    def day(k: int) -> date:
        return datetime.fromtimestamp(float(stamps[k]), zone).date()
    while i < n:
        today = day(i)
        guess = datetime.combine(today + timedelta(days=1), time(), zone).timestamp()
        j = max(int(np.searchsorted(stamps, guess, side="left")), i + 1)  # first mark of a later day, roughly
        while j > i + 1 and day(j - 1) > today:
            j -= 1
        while j < n and day(j) == today:
            j += 1
        out.append(j - 1)
        i = j
    return out


def daily_closes(times: Sequence[float], values: Sequence[float], zone: ZoneInfo) -> list[float]:
    """The last value of each local day that has a mark (times: epoch seconds, oldest first)."""
    return np.asarray(values, dtype=float)[day_ends(times, zone)].tolist() if len(times) else []


def closing_indices(times: Sequence[float], zone: ZoneInfo) -> list[int]:
    """The first mark and the last of each local day: all that period_returns reads, for every period."""
    return sorted({0, *day_ends(times, zone)}) if len(times) else []


def risk_figures(times: Sequence[float], equity: Sequence[float], daily: Sequence[float],
                 capital: float) -> RiskFigures:
    """Drawdowns from every mark (epoch seconds, equity); Sharpe, Sortino and volatility from daily closes."""
    # The backtester's metrics, loaded here rather than at import: /status and /pnl never need the engine.
    from .backtest.metrics import YEAR_DAYS, curve_metrics

    if not equity:
        return RiskFigures(0.0, timedelta(0), 0.0, 0.0, 0.0, 0.0, 0)
    path = np.asarray(equity, dtype=float)
    under = path / np.maximum.accumulate(path) - 1.0
    curve = curve_metrics(np.asarray(daily, dtype=float), capital) if daily else {}
    path_daily = np.concatenate([[capital], np.asarray(daily, dtype=float)])
    returns = path_daily[1:] / path_daily[:-1] - 1.0
    vol = float(returns.std(ddof=1)) * math.sqrt(YEAR_DAYS) if len(returns) > 1 else 0.0
    return RiskFigures(float(under.min()), _longest_underwater(times, under), float(under[-1]),
                       curve.get("sharpe", 0.0), curve.get("sortino", 0.0), vol, len(daily))


def underwater(equity: Sequence[float]) -> list[float]:
    """Drawdown from the running peak at every point (0 or negative)."""
    path = np.asarray(equity, dtype=float)
    return (path / np.maximum.accumulate(path) - 1.0).tolist() if len(path) else []


def _longest_underwater(times: Sequence[float], under: np.ndarray) -> timedelta:
    """The longest time from a peak to the mark that regained it (or to the last mark, if none has)."""
    longest, peak, below = 0.0, times[0], False
    for t, dd in zip(times, under):
        if dd < 0:
            below = True
            continue
        if below:
            longest, below = max(longest, t - peak), False
        peak = t
    if below:
        longest = max(longest, times[-1] - peak)
    return timedelta(seconds=longest)


def coin_pnl(start: Mapping[str, Decimal], end: Mapping[str, Decimal], fills: Iterable[Fill],
             quote: str) -> list[CoinPnl]:
    """Per-coin P/L over a window; summed with the cash they moved, it is the window's equity change exactly."""
    bought: dict[str, Decimal] = {}
    sold: dict[str, Decimal] = {}
    fees: dict[str, Decimal] = {}
    for f in fills:
        asset = f.symbol.removesuffix(quote)
        fees[asset] = fees.get(asset, ZERO) + f.fee_quote
        if f.side is Side.BUY:  # a fee in the coin itself is already missing from the value held
            extra = f.fee_quote if f.commission_asset != asset else ZERO
            bought[asset] = bought.get(asset, ZERO) + f.quote_quantity + extra
        else:
            sold[asset] = sold.get(asset, ZERO) + f.quote_quantity - f.fee_quote
    assets = (set(start) | set(end) | set(bought) | set(sold)) - {quote}
    rows = [CoinPnl(a, end.get(a, ZERO) - start.get(a, ZERO) - bought.get(a, ZERO) + sold.get(a, ZERO),
                    bought.get(a, ZERO), sold.get(a, ZERO), fees.get(a, ZERO), start.get(a, ZERO), end.get(a, ZERO))
            for a in assets]
    return sorted(rows, key=lambda r: (-r.pnl, r.asset))

