"""What one backtest run is: the live StrategyParams plus the window, capital, execution delay and slot time."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

from ..costs import Costs
from ..errors import UserError
from ..params import StrategyParams, excerpt, format_duration, parse_duration
from ..schedule import HOUR, slot_instants
from .execution import Execution
from .panel import INTERVALS_MS, Panel

DAY = timedelta(days=1)
MAX_EVERY = timedelta(days=365)
_DELAY = re.compile(r"(\d{1,6})([mhdw])", re.ASCII | re.IGNORECASE)
_MINUTES = {"m": 1, "h": 60, "d": 1440, "w": 10080}


def delay_duration(text: str) -> timedelta:
    """A delay as typed with its unit: 5m, 1h, 4h, 1d (minutes allowed, to be refused on coarser candles)."""
    match = _DELAY.fullmatch(text.strip())
    if not match or int(match[1]) == 0:
        raise UserError(f"delay must be 0, 1 or a duration like 1h, 4h or 1d (got '{excerpt(text)}')")
    return timedelta(minutes=int(match[1]) * _MINUTES[match[2].lower()])


@dataclass(frozen=True)
class BacktestConfig:
    """One run; the strategy keys (strategy, lookback, topn, every, mode, fees, filters) are the live ones."""

    params: StrategyParams = field(default_factory=StrategyParams)
    start: date | None = None  # None: as early as the data allows the lookback
    end: date | None = None  # None: the data's last day
    # 0 fills at the signal candle's close; 1 at the open of the candle starting at the signal instant (the next
    # day's open on daily candles); a duration ('1h', '1d') at the open of the first candle at or after signal + it.
    delay: int | str = 0
    capital: float = 10_000.0
    # The backtest's own period, any whole multiple of the candle interval ('4h', '3d', '2w'); None: the live
    # params' every. Kept apart from params.every because the live schedule takes only 1h, 4h, 1d and 1w.
    every: str | None = None
    execution: Execution = field(default_factory=Execution)  # the cost model fills are priced with
    # Slot time of day in params.timezone, read as the live schedule reads it; None: rebalance at the close of
    # the window's first UTC day and every `every` after it.
    at: time | None = None
    interval: str | None = None  # the candles to run on; None: the finest the source holds for the window

    def __post_init__(self) -> None:
        p = self.params
        if p.lookback % HOUR:
            raise UserError(f"lookback must be whole hours (got {p.to_strings()['lookback']})")
        if self.period % HOUR or not HOUR <= self.period <= MAX_EVERY or (self.period < DAY and DAY % self.period):
            raise UserError(f"every must be a whole number of days or weeks up to 365d, or of hours dividing a "
                            f"day, like 4h, 12h, 1d, 3d or 2w (got {self.every_text})")
        if self.delay not in (0, 1):
            delay_duration(str(self.delay))
        if self.interval not in (None, *INTERVALS_MS):
            raise UserError(f"interval must be one of {', '.join(INTERVALS_MS)} (got {self.interval})")
        if not self.capital > 0:
            raise UserError(f"capital must be above 0 (got {self.capital})")
        if self.start and self.end and self.start > self.end:
            raise UserError(f"start {self.start} is after end {self.end}")

    @property
    def lookback_days(self) -> int:
        return self.params.lookback // DAY

    @property
    def period(self) -> timedelta:
        """Time between rebalances: the backtest's own every, else the live one."""
        return parse_duration(self.every) if self.every else self.params.period

    @property
    def every_text(self) -> str:
        return self.every or self.params.every

    @property
    def every_days(self) -> int:
        return self.period // DAY

    @property
    def costs(self) -> Costs:
        """The fee and slippage every simulated fill pays: the live ones (latency has no meaning on a daily bar)."""
        return Costs.of(self.params)

    def history_days(self) -> int:
        """How many days before start the signals look back (lookback and the volume window)."""
        return max(-(-self.params.lookback // DAY), 7)

    def lookback_rows(self, panel: Panel) -> int:
        return candles(panel, self.params.lookback, "lookback")

    def fill_offset(self, panel: Panel) -> tuple[int, bool]:
        """Rows from the signal row to the fill row, and whether the fill takes that row's open."""
        if self.delay == 0:
            return 0, False
        if self.delay == 1:
            return 1, True
        return 1 + candles(panel, delay_duration(str(self.delay)), "delay"), True


def candles(panel: Panel, span: timedelta, what: str) -> int:
    """A duration as a whole number of the panel's candles; UserError otherwise."""
    ms = span // timedelta(milliseconds=1)
    if ms % panel.step_ms:
        raise UserError(f"{what} {format_duration(span)} is not a whole number of {panel.interval} candles")
    return ms // panel.step_ms


def allowed_columns(panel: Panel, params: StrategyParams) -> np.ndarray:
    """Symbols of the quote asset that no exclusion list or blacklist keeps out, as a column mask (read-only).

    Made once per panel and rules: it asks the exclusion lists symbol by symbol, in Python."""
    key = ("allowed", params.quote, params.exclude, params.blacklist)
    return panel.memo(key, lambda: _allowed(panel, params))


def _allowed(panel: Panel, params: StrategyParams) -> np.ndarray:
    quote = params.quote
    bases = [s[: -len(quote)] if s.endswith(quote) else "" for s in panel.symbols]
    known = frozenset(b for b in bases if b)  # lets PEPEUP count as leveraged when PEPE is listed
    return np.array([bool(b) and not params.skip_reason(b, s, known) for b, s in zip(bases, panel.symbols)])


def window(panel: Panel, config: BacktestConfig) -> tuple[int, int]:
    """First and last row of the equity path (the start day's first candle, the end day's last), clamped."""
    if config.start:
        first = panel.row(config.start)
    else:  # the first whole UTC day after the lookback, so the marks at day closes fall at a fixed stride
        first = -(-(panel.first_day + config.lookback_rows(panel)) // panel.per_day) * panel.per_day - panel.first_day
    last = panel.row(config.end) + panel.per_day - 1 if config.end else panel.days - 1
    first, last = max(first, 0), min(last, panel.days - 1)
    if first > last:
        raise UserError(f"no data between {panel.date_of(first)} and {panel.date_of(last)}")
    return first, last


def signal_rows(panel: Panel, config: BacktestConfig, first: int, last: int) -> np.ndarray:
    """Rows at whose close the strategy rebalances, within [first, last].

    Without `at`: the last candle of the window's first UTC day, then every `every`. With it: the live
    schedule's slots (core/schedule.py) in params.timezone, each of which must be a candle close.
    """
    step = candles(panel, config.period, "every")
    if config.at is None:
        start = first + (panel.per_day - 1 - (panel.first_day + first) % panel.per_day)
        return np.arange(start, last + 1, step)
    p = config.params
    closes = _slot_ms(config.period, config.at, p.weekday, p.timezone, int(panel.open_ms(first)) + panel.step_ms,
                      int(panel.open_ms(last)) + panel.step_ms)
    off = closes % panel.step_ms != 0
    if off.any():
        when = datetime.fromtimestamp(int(closes[off][0]) / 1000, timezone.utc)
        raise UserError(f"the slot at {config.at:%H:%M} {p.timezone} ({when:%Y-%m-%d %H:%M} UTC) is no close of "
                        f"{panel.interval} candles: choose an at on the candles' grid, or finer candles")
    return closes // panel.step_ms - panel.first_day - 1


@lru_cache(maxsize=64)
def _slot_ms(period: timedelta, at: time, weekday: str, tz: str, lo: int, hi: int) -> np.ndarray:
    utc = [datetime.fromtimestamp(ms / 1000, timezone.utc) for ms in (lo, hi)]
    found = slot_instants(period, at, weekday, ZoneInfo(tz), utc[0], utc[1])
    return np.array([int(t.timestamp()) * 1000 for t in found], dtype=np.int64)

