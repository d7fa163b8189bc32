"""P/L of each completed rebalance as bars, with the fees paid so far as a line."""
from __future__ import annotations

from decimal import Decimal
from typing import Sequence
from zoneinfo import ZoneInfo

import numpy as np
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from charts import NothingToChart
from charts import style as s
from charts.series import day_text, floats, span_text, zone_label
from tradingbot.core.domain import RebalanceRow

MAX_BARS = 60  # ~13 px per bar on the plot: thinner bars stop reading as bars on a phone
MIN_SLOTS = 8  # the x axis is at least this many bars wide


def _date_at(dates: list[str], v: float) -> str:
    """The date under bar v; nothing between bars or beyond them."""
    i = round(v)
    return dates[i] if abs(v - i) < 1e-6 and 0 <= i < len(dates) else ""


def _subtitle(pnl: list[Decimal], fees: Decimal, quote: str, shown: int) -> str:
    """Total P/L and fees, how many went up and down, and whether older ones are cut."""
    ups = sum(1 for p in pnl if p > 0)
    downs = sum(1 for p in pnl if p < 0)
    line1 = f"Total {s.money(float(sum(pnl, Decimal(0))), quote, sign=True)} · fees {s.money(float(fees), quote)}"
    line2 = f"{s.count(len(pnl), 'rebalance')}: {ups} up, {downs} down"
    if shown < len(pnl):
        line2 += f" · latest {shown} shown"
    return f"{line1}\n{line2}"


def _fees_axis(ax: Axes, x: np.ndarray, fees: np.ndarray, quote: str) -> Axes:
    """Cumulative fees as a line on a right-hand axis of their own, coloured like the line, zero level with P/L's."""
    ax2 = ax.twinx()
    ax2.plot(x, fees, color=s.BLUE, linewidth=2.5, marker="o" if len(x) == 1 else None)
    top = max(float(fees[-1]), 1e-9) * 1.1
    ax2.set_ylim(aligned_limits(ax.get_ylim(), top))
    s.money_axis(ax2)
    ticks = ax2.yaxis.get_major_locator().tick_values(0, top)
    ax2.set_yticks([t for t in ticks if 0 <= t <= top])  # fees are never negative: no ticks under the zero
    ax2.grid(False)
    ax2.spines["right"].set_visible(True)
    ax2.tick_params(axis="y", labelcolor=s.BLUE)
    ax2.set_ylabel(f"Cumulative fees, {quote}", color=s.BLUE)
    return ax2


def aligned_limits(left: tuple[float, float], top: float) -> tuple[float, float]:
    """Limits for a second axis reaching `top` whose zero sits at the same height as the first axis's zero."""
    lo, hi = left
    below = -lo / (hi - lo) if hi > lo and lo < 0 < hi else 0.0  # share of the height under zero
    return -top * below / (1 - below), top


def rebalance_pnl_chart(rebalances: Sequence[RebalanceRow], tz: ZoneInfo, quote: str) -> bytes:
    """P/L of each period between done rebalances (costs included), oldest first; cumulative fees on the right.

    A bar is the change in equity since the previous rebalance finished (the first: since it started), so
    it shows what holding the picks earned net of that rebalance's fees and slippage, not the costs alone.
    """
    done = sorted((r for r in rebalances if r.state == "done" and r.equity_after is not None),
                  key=lambda r: (r.started_at, r.id))
    if not done:
        raise NothingToChart("No completed rebalances yet.")
    pnl = [r.equity_after - (done[i - 1].equity_after if i else r.equity_before)  # type: ignore[operator]
           for i, r in enumerate(done)]
    fees = np.cumsum(floats(r.fees for r in done))  # over all of them: the line ends at the true total
    shown = done[-MAX_BARS:]
    first = len(done) - len(shown)
    values, x = floats(pnl[first:]), np.arange(len(shown))
    with s.figure() as fig:
        ax = fig.add_axes((0, 0, 1, 1))
        s.bars(ax, x, values, 0.75, [s.GAIN if v >= 0 else s.LOSS for v in values])
        ax.axhline(0, color=s.GREY, linewidth=1)
        ax.set_ylim(ax.get_ylim())  # fixed now: the fees axis aligns its zero with these limits
        s.money_axis(ax)
        ax.set_ylabel(f"P/L, {quote}")
        pad = max(0.0, (MIN_SLOTS - len(shown)) / 2)  # a few bars stay bar-shaped, not slabs
        ax.set_xlim(-0.6 - pad, len(shown) - 0.4 + pad)
        dates = [day_text(r.started_at, tz, year=False) for r in shown]
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: _date_at(dates, v)))
        span = [shown[0].started_at, shown[-1].started_at]
        ax.set_xlabel(f"Rebalance start ({zone_label(tz, span)}), {span_text(*span, tz)}")
        ax2 = _fees_axis(ax, x, fees[first:], quote)
        left = s.MARGIN_PX + s.LABEL_PX + 22 + s.ytick_px(ax)
        right = s.MARGIN_PX + s.LABEL_PX + 22 + s.ytick_px(ax2)
        for axes in (ax, ax2):
            s.place(axes, left, s.BOTTOM_PX, right, s.HEADER_PX + s.LEGEND_PX)
        s.legend_above(ax, 3, [Patch(color=s.GAIN, label="P/L up"), Patch(color=s.LOSS, label="P/L down"),
                               Line2D([], [], color=s.BLUE, linewidth=2.5, label="cumulative fees")])
        s.header(fig, "P/L per rebalance", _subtitle(pnl, sum((r.fees for r in done), Decimal(0)), quote,
                                                     len(shown)))
        s.footer(fig, f"Amounts in {quote} · P/L = equity change since the previous rebalance, costs included")
        return s.png(fig)
