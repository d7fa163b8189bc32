"""The strategy parameters in force, held once and read by whoever acts on them."""
from __future__ import annotations

from ..core.costs import Costs
from ..core.params import StrategyParams
from .ports import Store


class CurrentParams:
    """The stored parameters over the defaults; `/set` replaces them (Services.set_params), nothing else does.

    The composition root builds it once and hands it to the services and to the paper venue (as the
    source of its costs), so a change reaches the venue by being read, never by being pushed.
    """

    def __init__(self, store: Store, defaults: StrategyParams):
        self.value = StrategyParams.from_strings(store.load_params(), base=defaults)

    def costs(self) -> Costs:
        """The fee, slippage and latency in force now."""
        return Costs.of(self.value)
