"""Charts as pure functions: the engine's typed results in, PNG bytes sized for a phone out.

Matplotlib through Figure and the Agg canvas only, never pyplot: the long-running bot must not
keep figures in pyplot's global registry. See charts/style.py for the shared look.

The chart functions are imported on first use (PEP 562 `__getattr__`), not here: importing matplotlib
costs a few hundred milliseconds, and a text-only command (`bot.py chat /status`) must not pay for it.
"""
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING


class NothingToChart(Exception):
    """There is no data to draw; str(exc) is one line to send to the chat instead."""


# Each public chart function -> the module that draws it.
_MODULES = {"equity_chart": "equity", "heatmap_chart": "heatmap", "allocation_chart": "holdings",
            "inventory_chart": "inventory", "ranking_chart": "ranking", "rebalance_pnl_chart": "rebalances"}

if TYPE_CHECKING:
    from charts.equity import equity_chart
    from charts.heatmap import heatmap_chart
    from charts.holdings import allocation_chart
    from charts.inventory import inventory_chart
    from charts.ranking import ranking_chart
    from charts.rebalances import rebalance_pnl_chart


def __getattr__(name: str):
    if name not in _MODULES:
        raise AttributeError(f"module 'charts' has no attribute {name!r}")
    return getattr(import_module(f"charts.{_MODULES[name]}"), name)


__all__ = ["NothingToChart", *_MODULES]
