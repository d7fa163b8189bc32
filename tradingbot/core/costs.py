"""What trading costs (pure): one value built from the strategy parameters, read by every place that trades.

The planner estimates with it, the paper venue fills with it and the backtester simulates with it, so
`/set fee_rate=...` means the same everywhere, with the parameters' bounds as the only validation.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Callable

from .domain import QUOTE_UNIT
from .params import StrategyParams, check_value

BPS = Decimal(10_000)
_KEYS = ("fee_rate", "slippage_bps", "latency_ms")


@dataclass(frozen=True)
class Costs:
    """The fee rate per fill (charged in the asset received), slippage against the order, and the venue's delay.

    The defaults are a venue without slippage or delay at Binance's standard fee; the bot builds its
    Costs from the strategy parameters (`Costs.of`).
    """

    fee_rate: Decimal = Decimal("0.001")
    slippage_bps: Decimal = Decimal(0)
    latency_ms: int = 0

    def __post_init__(self) -> None:
        # The parameters' bounds and types, not a second set: a float or a 50 % fee never gets this far.
        for key in _KEYS:
            check_value(key, getattr(self, key))

    @classmethod
    def of(cls, params: StrategyParams) -> Costs:
        """The costs the parameters set."""
        return cls(params.fee_rate, params.slippage_bps, params.latency_ms)

    @property
    def slippage(self) -> Decimal:
        """Slippage as a fraction of the price."""
        return self.slippage_bps / BPS


# Asked once per order, so a change of the parameters applies from the next order on.
CostSource = Callable[[], Costs]


def commission(amount: Decimal, fee_rate: Decimal) -> Decimal:
    """Binance's fee on one fill: the amount received times the rate, to 8 decimals, never more than the amount."""
    return min((amount * fee_rate).quantize(QUOTE_UNIT, rounding=ROUND_HALF_UP), amount)
