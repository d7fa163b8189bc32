"""Capacity (pure): one configuration at several capitals under the volume cost model, and where its edge goes.

Under the flat model a run's return does not depend on its capital; under the volume model every fill's
impact grows with √(order / volume), so a larger book pays more. The edge is gone at the smallest capital
tried whose net return (fees, slippage, spread and impact paid) is ≤ 0, so its CAGR is too: at that size
the strategy does no better than holding cash. The same configuration with no costs at all is run beside
it, so a strategy without an edge even before costs reads as such instead of as a capacity limit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from decimal import Decimal

from ..errors import UserError
from .config import BacktestConfig
from .execution import Execution

MAX_CAPITALS = 12  # each is one full run


def parse_capitals(text: str) -> tuple[float, ...]:
    """'1e4,1e5,1e6' -> the capitals in increasing order; one clear line when one is not a number above 0."""
    values = []
    for item in (t.strip() for t in text.split(",")):
        try:
            value = float(item)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and 0 < value <= 1e15):
            raise UserError(f"--capacity takes capitals above 0 separated by commas, like 1e4,1e5,1e6 "
                            f"(got '{item[:20]}')")
        values.append(value)
    if not 1 <= len(set(values)) <= MAX_CAPITALS:
        raise UserError(f"--capacity takes 1 to {MAX_CAPITALS} capitals (got {len(set(values))})")
    return tuple(sorted(set(values)))


def cost_bps(metrics: dict[str, float], key: str) -> float:
    """A cost figure of a run as basis points of the value it traded (0 when nothing traded)."""
    return metrics[key] / metrics["traded_value"] * 10_000 if metrics["traded_value"] > 0 else 0.0


def at_capitals(config: BacktestConfig, capitals: tuple[float, ...]) -> list[BacktestConfig]:
    """The configuration at each capital, priced by the volume model (with the configuration's k)."""
    volume = replace(config.execution, cost_model="volume")
    return [replace(config, capital=c, execution=volume) for c in capitals]


def without_costs(config: BacktestConfig) -> BacktestConfig:
    """The same configuration with no fee, slippage, spread or impact: the edge before costs."""
    params = replace(config.params, fee_rate=Decimal(0), slippage_bps=Decimal(0))
    return replace(config, params=params, execution=Execution())


@dataclass(frozen=True)
class CapacityPoint:
    capital: float
    metrics: dict[str, float]


@dataclass(frozen=True)
class Capacity:
    """Net figures per capital, and the configuration's figures with no costs at all."""

    config: BacktestConfig
    points: tuple[CapacityPoint, ...]
    zero_cost: dict[str, float]

    @property
    def edge_gone_at(self) -> float | None:
        """The smallest capital whose net return is ≤ 0 (CAGR ≤ 0: no better than cash); None if none is."""
        return next((p.capital for p in self.points if p.metrics["total_return"] <= 0), None)

    @property
    def edge_before_costs(self) -> bool:
        return self.zero_cost["total_return"] > 0
