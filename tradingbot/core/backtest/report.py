"""What a backtest answers: one run's metrics and daily paths, or one row of a sweep (plain values)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from .config import BacktestConfig


@dataclass(frozen=True)
class BacktestReport:
    """One run: its metrics, its benchmarks' metrics, and the daily paths for the chart."""

    config: BacktestConfig
    first_day: date
    equity: np.ndarray
    metrics: dict[str, float]
    benchmarks: dict[str, np.ndarray]
    benchmark_metrics: dict[str, dict[str, float]]
    symbols: int  # columns in the data
    bad_rows: int  # rows of the file that could not be used (reported when read)
    last_picks: tuple[str, ...]
    interval: str = "1d"  # the candles it ran on

    @property
    def last_day(self) -> date:
        return date.fromordinal(self.first_day.toordinal() + len(self.equity) - 1)


@dataclass(frozen=True)
class SweepRow:
    pairs: tuple[str, ...]  # the swept key=value tokens of this run
    config: BacktestConfig
    metrics: dict[str, float]
