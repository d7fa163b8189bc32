"""What one backtest run is: the live StrategyParams plus the window, capital and execution delay."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from ..costs import Costs
from ..errors import UserError
from ..params import StrategyParams, parse_duration
from .execution import Execution
from .panel import Panel

DAY = timedelta(days=1)
MAX_EVERY = timedelta(days=365)


@dataclass(frozen=True)
class BacktestConfig:
    """One run; the strategy keys (strategy, lookback, topn, every, mode, fees, filters) are the live ones."""

    params: StrategyParams = field(default_factory=StrategyParams)
    start: date | None = None  # None: as early as the data allows the lookback
    end: date | None = None  # None: the data's last day
    delay: int = 0  # 0 fills at the signal day's close; 1 at the next day's open
    capital: float = 10_000.0
    # The backtest's own period, any whole number of days or weeks ('3d', '2w'); None: the live params' every.
    # Kept apart from params.every because the live schedule takes only 1h, 4h, 1d and 1w.
    every: str | None = None
    execution: Execution = field(default_factory=Execution)  # the cost model fills are priced with

    def __post_init__(self) -> None:
        p = self.params
        if p.lookback % DAY:
            raise UserError(f"lookback must be whole days with daily candles (got {p.to_strings()['lookback']})")
        if self.period % DAY or not DAY <= self.period <= MAX_EVERY:
            raise UserError(f"every must be a whole number of days or weeks with daily candles, up to 365d, "
                            f"like 1d, 3d or 2w (got {self.every_text})")
        if self.delay not in (0, 1):
            raise UserError(f"delay must be 0 or 1 (got {self.delay})")
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
        return max(self.lookback_days, 7)


def allowed_columns(panel: Panel, params: StrategyParams) -> np.ndarray:
    """Symbols of the quote asset that no exclusion list or blacklist keeps out, as a column mask."""
    quote = params.quote
    bases = [s[: -len(quote)] if s.endswith(quote) else "" for s in panel.symbols]
    known = frozenset(b for b in bases if b)  # lets PEPEUP count as leveraged when PEPE is listed
    return np.array([bool(b) and not params.skip_reason(b, s, known) for b, s in zip(bases, panel.symbols)])


def window(panel: Panel, config: BacktestConfig) -> tuple[int, int]:
    """First and last row of the equity path, clamped to the data."""
    first = panel.row(config.start) if config.start else config.lookback_days
    last = panel.row(config.end) if config.end else panel.days - 1
    first, last = max(first, 0), min(last, panel.days - 1)
    if first > last:
        raise UserError(f"no data between {panel.date_of(first)} and {panel.date_of(last)}")
    return first, last
