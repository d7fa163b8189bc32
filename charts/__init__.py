"""Charts as pure functions: the engine's typed results in, PNG bytes sized for a phone out.

Matplotlib through Figure and the Agg canvas only, never pyplot: the long-running bot must not
keep figures in pyplot's global registry. See charts/style.py for the shared look.
"""
from __future__ import annotations


class NothingToChart(Exception):
    """There is no data to draw; str(exc) is one line to send to the chat instead."""


# Imported after NothingToChart: the chart modules import it from here.
from charts.equity import equity_chart  # noqa: E402
from charts.heatmap import heatmap_chart  # noqa: E402
from charts.holdings import allocation_chart  # noqa: E402
from charts.inventory import inventory_chart  # noqa: E402
from charts.ranking import ranking_chart  # noqa: E402
from charts.rebalances import rebalance_pnl_chart  # noqa: E402

__all__ = ["NothingToChart", "equity_chart", "allocation_chart", "rebalance_pnl_chart", "ranking_chart",
           "inventory_chart", "heatmap_chart"]
