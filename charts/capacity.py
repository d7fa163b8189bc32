"""Capacity as a chart: net CAGR against capital (log scale) above, where the money went below."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.ticker import FuncFormatter

from charts import style as s
from tradingbot.core.backtest.capacity import cost_bps

if TYPE_CHECKING:
    from tradingbot.core.backtest.capacity import Capacity

COSTS = (("fees", "fees_paid", s.GREY), ("slippage", "slippage_paid", s.SKY_BLUE), ("spread", "spread_paid", s.ORANGE),
         ("impact", "impact_paid", s.VERMILLION))


def _capital(x: float, _: object = None) -> str:
    """1e4 → 10k, 1e8 → 100M: capitals are powers of ten, their digits are noise on a phone."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= size:
            return f"{x / size:g}{suffix}"
    return f"{x:g}"


def capacity_chart(c: Capacity, settings: str) -> bytes:
    """Net CAGR (total return if the window is too short for one) per capital, the no-cost figure as a dashed
    line, the capital where the edge is gone marked; the costs in bps of the value traded stacked per capital."""
    key = "cagr" if not math.isnan(c.zero_cost["cagr"]) else "total_return"
    caps = np.array([p.capital for p in c.points])
    net = np.array([p.metrics[key] for p in c.points]) * 100
    with s.figure() as fig:
        s.header(fig, f"Capacity: net {'CAGR' if key == 'cagr' else 'return'} by capital", settings)
        top, bottom = fig.add_subplot(2, 1, 1), fig.add_subplot(2, 1, 2)
        s.place(top, 110, 700, 40, s.HEADER_PX + s.LEGEND_PX + 20)
        s.place(bottom, 110, s.BOTTOM_PX, 40, 640)
        top.plot(caps, net, color=s.BLUE, linewidth=3, marker="o", label="net of every cost")
        top.axhline(c.zero_cost[key] * 100, color=s.GREY, linestyle="--", linewidth=2, label="without costs")
        top.axhline(0, color=s.BLACK, linewidth=1)
        if c.edge_gone_at is not None and c.edge_before_costs:  # no edge to lose: no line
            top.axvline(c.edge_gone_at, color=s.LOSS, linewidth=2, label=f"edge gone at {_capital(c.edge_gone_at)}")
        top.set_ylabel(f"{'CAGR' if key == 'cagr' else 'total return'}, %")
        s.legend_above(top, 3)
        base = np.zeros(len(caps))
        for name, metric, colour in COSTS:
            share = np.array([cost_bps(p.metrics, metric) for p in c.points])
            bottom.bar(np.arange(len(caps)), share, bottom=base, color=colour, label=name)
            base += share
        bottom.set_xticks(np.arange(len(caps)), [_capital(x) for x in caps])
        bottom.set_ylabel("costs, bps of the value traded")
        bottom.set_xlabel("starting capital")
        bottom.legend(loc="upper left", frameon=False, ncol=4)
        top.set_xscale("log")
        top.xaxis.set_major_formatter(FuncFormatter(_capital))
        s.footer(fig, "volume cost model: Abdi–Ranaldo half-spread + square-root impact; see README")
        return s.png(fig)
