"""Equity over time against benchmarks, with net P/L, fees and a drawdown panel."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Mapping, Sequence
from zoneinfo import ZoneInfo

import numpy as np
from matplotlib.axes import Axes

from charts import NothingToChart
from charts import style as s
from charts.series import MAX_POINTS, date_num, downsample, floats, local, time_axis
from tradingbot.domain import EquityMark

BENCHMARK_COLOURS = (s.ORANGE, s.REDDISH_PURPLE, s.SKY_BLUE, s.BLACK, s.BLUISH_GREEN)
GAP_PX = 24  # between the equity and the drawdown panel


def drawdown(equity: np.ndarray, start: float) -> np.ndarray:
    """Equity below its running peak, in %; the deposits count as the first peak."""
    peak = np.maximum.accumulate(np.concatenate([[start], equity]))[1:]
    out = np.zeros_like(equity)
    np.divide(equity, peak, out=out, where=peak > 0)
    return np.where(peak > 0, (out - 1) * 100, 0.0)


def _line(ax: Axes, x: np.ndarray, y: np.ndarray, max_points: int | None, **kw: Any) -> None:
    """One series, thinned for drawing; a lone point gets a marker so it shows at all."""
    dx, dy = downsample(x, y, max_points)
    ax.plot(dx, dy, marker="o" if len(dx) == 1 else None, markersize=10, **kw)


def _subtitle(last: Decimal, deposits: Decimal, fees: Decimal, quote: str, worst: float, since: str) -> str:
    """Net P/L in money and %, fees, and the worst drawdown, as two short lines."""
    pnl = last - deposits
    pct = f" ({s.number(float(pnl / deposits * 100), 1, sign=True)} %)" if deposits > 0 else ""
    line1 = f"Net P/L {s.money(float(pnl), quote, sign=True)}{pct} · fees {s.money(float(fees), quote)}"
    return f"{line1}\nMax drawdown {s.number(worst, 1)} % · since {since}"


def _benchmarks(ax: Axes, benchmarks: Mapping[str, Sequence[tuple[datetime, Decimal]]],
                max_points: int | None) -> None:
    """Each non-empty benchmark as a thinner line under the portfolio's."""
    drawn = 0
    for name, series in (benchmarks or {}).items():
        if not series:
            continue
        ordered = sorted(series, key=lambda p: p[0])
        colour = BENCHMARK_COLOURS[drawn % len(BENCHMARK_COLOURS)]
        _line(ax, date_num(t for t, _ in ordered), floats(v for _, v in ordered), max_points,
              color=colour, linewidth=1.8, label=name, zorder=2)
        drawn += 1


def _layout(top: Axes, bottom: Axes, legend_rows: int) -> None:
    """Margins from the widest tick label; the top panel gets 70 % of the height."""
    left = s.MARGIN_PX + s.LABEL_PX + 22 + max(s.ytick_px(top), s.ytick_px(bottom))
    head = s.HEADER_PX + s.LEGEND_PX * legend_rows
    lower = (s.HEIGHT_PX - head - s.BOTTOM_PX - GAP_PX) * 0.3
    s.place(bottom, left, s.BOTTOM_PX, s.MARGIN_PX + 8, s.HEIGHT_PX - s.BOTTOM_PX - lower)
    s.place(top, left, s.BOTTOM_PX + lower + GAP_PX, s.MARGIN_PX + 8, head)


def equity_chart(marks: Sequence[EquityMark], deposits: Decimal, fees: Decimal,
                 benchmarks: Mapping[str, Sequence[tuple[datetime, Decimal]]], tz: ZoneInfo, quote: str,
                 *, max_points: int | None = MAX_POINTS) -> bytes:
    """Equity curve with net P/L and fees in the header, benchmarks as thin lines, drawdown below."""
    if not marks:
        raise NothingToChart("No equity recorded yet; the first mark comes with the next hourly update.")
    ordered = sorted(marks, key=lambda m: m.time)
    x = date_num(m.time for m in ordered)
    y = floats(m.equity for m in ordered)
    dd = drawdown(y, float(deposits))  # from every mark, before thinning, so the worst dip is exact
    with s.figure() as fig:
        top = fig.add_axes((0, 0, 1, 1))
        low = fig.add_axes((0, 0, 1, 1), sharex=top)
        _line(top, x, y, max_points, color=s.BLUE, linewidth=3, label="Portfolio", zorder=3)  # first in legend
        _benchmarks(top, benchmarks, max_points)
        if deposits > 0:
            top.axhline(float(deposits), color=s.GREY, linestyle=(0, (4, 3)), linewidth=1.5, label="Deposits",
                        zorder=1)
        s.money_axis(top)
        top.set_ylabel(f"Equity, {quote}")
        top.tick_params(labelbottom=False)
        dx, dy = downsample(x, dd, max_points)
        low.fill_between(dx, dy, 0, color=s.VERMILLION, alpha=0.3, linewidth=0)
        low.plot(dx, dy, color=s.VERMILLION, linewidth=1.5, marker="o" if len(dx) == 1 else None)
        worst = float(dd.min())
        low.set_ylim(min(worst * 1.15, -1.0), 0)
        s.money_axis(low, suffix=" %")
        low.set_ylabel("Drawdown")
        time_axis(low, tz, [ordered[0].time, ordered[-1].time])
        if len(x) == 1:  # one mark: a day around it, not the locator's default of years
            low.set_xlim(x[0] - 0.5, x[0] + 0.5)
        labels = [str(t) for t in top.get_legend_handles_labels()[1]]
        ncol, rows = s.legend_layout(labels, s.WIDTH_PX - 200)
        _layout(top, low, rows)
        s.legend_above(top, ncol)
        since = local(ordered[0].time, tz).strftime("%d %b %Y")
        s.header(fig, f"Equity {s.money(float(ordered[-1].equity), quote)}",
                 _subtitle(ordered[-1].equity, deposits, fees, quote, worst, since))
        s.footer(fig, f"Amounts in {quote} · {s.count(len(ordered), 'equity mark')}")
        return s.png(fig)
