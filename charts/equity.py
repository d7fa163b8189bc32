"""Equity over time against benchmarks, with net P/L, fees and a drawdown panel."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from operator import attrgetter, itemgetter
from typing import Any, Mapping, Sequence
from zoneinfo import ZoneInfo

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.font_manager import FontProperties
from matplotlib.transforms import ScaledTranslation, _interval_contains_close  # type: ignore[attr-defined]

from charts import NothingToChart
from charts import style as s
from charts.render import text_width
from charts.series import MAX_POINTS, date_num_at, day_text, extremes, floats, time_axis, time_text
from tradingbot.core.domain import EquityMark

BENCHMARK_COLOURS = (s.ORANGE, s.REDDISH_PURPLE, s.SKY_BLUE, s.BLACK, s.BLUISH_GREEN)
GAP_PX = 24  # between the equity and the drawdown panel
MIN_SPAN_PCT = 2.0  # the return axis is at least this tall: a 0.15 % fee must not fill the panel


def drawdown(equity: np.ndarray, start: float) -> np.ndarray:
    """Equity below its running peak, in %; the deposits count as the first peak."""
    peak = np.maximum.accumulate(np.concatenate([[start], equity]))[1:]
    out = np.zeros_like(equity)
    np.divide(equity, peak, out=out, where=peak > 0)
    return np.where(peak > 0, (out - 1) * 100, 0.0)


def _line(ax: Axes, times: Sequence[datetime], y: np.ndarray, max_points: int | None, **kw: Any) -> None:
    """One series, thinned for drawing; a lone point gets a marker so it shows at all."""
    keep = extremes(y, max_points)
    ax.plot(date_num_at(times, keep), y[keep], marker="o" if len(keep) == 1 else None, markersize=10, **kw)


def _subtitle(last: Decimal, deposits: Decimal, fees: Decimal, quote: str, worst: float, since: str) -> str:
    """Net P/L in money and %, fees, and the worst drawdown, as two short lines (cents, as the replies write them)."""
    pnl = last - deposits
    pct = f" ({s.number(float(pnl / deposits * 100), 2, sign=True)} %)" if deposits > 0 else ""
    line1 = f"Net P/L {s.number(float(pnl), 2, sign=True)} {quote}{pct} · fees {s.number(float(fees), 2)} {quote}"
    return f"{line1}\nMax drawdown {s.number(worst, 2)} % · since {since}"


def _benchmarks(ax: Axes, benchmarks: Mapping[str, Sequence[tuple[datetime, Decimal]]], scale: Scale,
                max_points: int | None) -> list[np.ndarray]:
    """Each non-empty benchmark as a thinner line under the portfolio's; returns the values drawn (scaled)."""
    drawn: list[np.ndarray] = []
    for name, series in (benchmarks or {}).items():
        if not series:
            continue
        ordered = sorted(series, key=itemgetter(0))
        colour = BENCHMARK_COLOURS[len(drawn) % len(BENCHMARK_COLOURS)]
        drawn.append(scale(floats(map(itemgetter(1), ordered))))
        _line(ax, list(map(itemgetter(0), ordered)), drawn[-1], max_points, color=colour, linewidth=1.8,
              label=name, zorder=2)
    return drawn


class Scale:
    """Equity as % return on the deposits (zero = break-even), or as money when nothing was deposited."""

    def __init__(self, deposits: Decimal) -> None:
        self.base = float(deposits)

    @property
    def percent(self) -> bool:
        return self.base > 0

    def __call__(self, equity: np.ndarray) -> np.ndarray:
        return (equity / self.base - 1) * 100 if self.percent else equity

    def money(self, pct: np.ndarray) -> np.ndarray:
        return self.base * (1 + np.asarray(pct) / 100)


def return_axis(ax: Axes, scale: Scale, values: np.ndarray, quote: str) -> float | None:
    """The % axis with break-even in sight and at least MIN_SPAN_PCT tall, equity in money on the right.

    Returns the room in pixels the layout keeps for the right axis's tick labels (None: no right axis)."""
    if not scale.percent:
        s.money_axis(ax)
        ax.set_ylabel(f"Equity, {quote}")
        return None
    lo, hi = min(0.0, float(values.min())), max(0.0, float(values.max()))
    pad = max(MIN_SPAN_PCT - (hi - lo), 0.0) / 2 + (hi - lo) * 0.08
    ax.set_ylim(lo - pad, hi + pad)
    ax.axhline(0, color=s.GREY, linewidth=1.5, zorder=1)
    s.money_axis(ax, suffix=" %")
    ax.set_ylabel("Return on deposits")
    money_side(ax, scale, quote)
    # The room the layout has always kept for those labels: the second Axes that drew them was measured before
    # it had its limits, so as if labelled "0.0". Kept so the chart draws as it did; wider labels reach into
    # the outer margin.
    return s.text_px("0.0")


def money_side(ax: Axes, scale: Scale, quote: str) -> None:
    """The equity in money along the right edge: spine, tick marks, labels and axis label as matplotlib's own
    right-hand axis draws them, but as a few artists on ax instead of a second Axes (~10 ms a chart)."""
    lo, hi = ax.get_ylim()
    money_lo, money_hi = sorted(float(m) for m in scale.money(np.array([lo, hi])))
    ticks = [t for t in s.RoundTicks(nbins=6, steps=[1, 2, 2.5, 5, 10]).tick_values(money_lo, money_hi)
             if money_lo <= t <= money_hi]
    labels = s.Amount().format_ticks(ticks)
    ax.spines["right"].set_visible(True)
    rc = mpl.rcParams
    at = ax.get_yaxis_transform()  # x in axes fractions, y in data
    s.tick_marks(ax, "right", scale(np.array(ticks)))
    out_pt = rc["ytick.major.size"] + rc["ytick.major.pad"]  # labels start past the tick marks
    colour = rc["ytick.color"] if rc["ytick.labelcolor"] == "inherit" else rc["ytick.labelcolor"]
    for tick, label in zip(ticks, labels):
        ax.text(1, float(scale(np.array(tick))), label, transform=at + _points(ax, out_pt), ha="left",
                va="center_baseline", fontsize=rc["ytick.labelsize"], color=colour, clip_on=False)
    font = FontProperties(size=rc["ytick.labelsize"])
    width = max((text_width(label, font, s.DPI) for label in labels), default=0.0)
    ax.text(1, 0.5, f"Equity, {quote}", transform=ax.transAxes + _points(ax, out_pt + width * 72 / s.DPI
                                                                        + rc["axes.labelpad"]),
            rotation=90, rotation_mode="anchor", ha="center", va="top", fontsize=rc["axes.labelsize"],
            color=rc["axes.labelcolor"], clip_on=False)


def _points(ax: Axes, x_pt: float) -> ScaledTranslation:
    """A shift right by x_pt points."""
    return ScaledTranslation(x_pt / 72, 0, ax.figure.dpi_scale_trans)


def _layout(top: Axes, bottom: Axes, right_labels: float | None, legend_rows: int) -> None:
    """Margins from the widest tick label; the top panel gets 70 % of the height."""
    left = s.MARGIN_PX + s.LABEL_PX + 22 + max(s.ytick_px(top), s.ytick_px(bottom))
    right_px = s.MARGIN_PX + 8 + (s.LABEL_PX + 22 + right_labels if right_labels is not None else 0)
    head = s.HEADER_PX + s.LEGEND_PX * legend_rows
    lower = (s.HEIGHT_PX - head - s.BOTTOM_PX - GAP_PX) * 0.3
    s.place(bottom, left, s.BOTTOM_PX, right_px, s.HEIGHT_PX - s.BOTTOM_PX - lower)
    s.place(top, left, s.BOTTOM_PX + lower + GAP_PX, right_px, head)


def equity_chart(marks: Sequence[EquityMark], deposits: Decimal, fees: Decimal,
                 benchmarks: Mapping[str, Sequence[tuple[datetime, Decimal]]], tz: ZoneInfo, quote: str,
                 *, max_points: int | None = MAX_POINTS, live: bool = True) -> bytes:
    """Return on deposits over time (equity in money on the right), benchmarks as thin lines, drawdown below.

    The header states the last mark's equity: the caller makes it the live valuation its text uses; with
    live=False (prices out of reach) the header says as of when.
    """
    if not marks:
        raise NothingToChart("No equity recorded yet; the first mark comes with the next hourly update.")
    ordered = sorted(marks, key=attrgetter("time"))
    times = list(map(attrgetter("time"), ordered))
    y = floats(map(attrgetter("equity"), ordered))
    dd = drawdown(y, float(deposits))  # from every mark, before thinning, so the worst dip is exact
    scale = Scale(deposits)
    with s.figure() as fig:
        top = fig.add_axes((0, 0, 1, 1))
        low = fig.add_axes((0, 0, 1, 1), sharex=top)
        _line(top, times, scale(y), max_points, color=s.BLUE, linewidth=3, label="Portfolio",
              zorder=3)  # first in legend
        drawn = _benchmarks(top, benchmarks, scale, max_points)
        # the axis spans the benchmarks too: a benchmark falling further than the portfolio stays in sight
        right_labels = return_axis(top, scale, np.concatenate([scale(y), *drawn]), quote)
        keep = extremes(dd, max_points)
        dx, dy = date_num_at(times, keep), dd[keep]
        low.fill_between(dx, dy, 0, color=s.VERMILLION, alpha=0.3, linewidth=0)
        low.plot(dx, dy, color=s.VERMILLION, linewidth=1.5, marker="o" if len(dx) == 1 else None)
        worst = float(dd.min())
        low.set_ylim(min(worst * 1.15, -1.0), 0)
        s.money_axis(low, suffix=" %")
        low.set_ylabel("Drawdown")
        time_axis(low, tz, [ordered[0].time, ordered[-1].time])
        # The top panel's x axis shows only tick marks (the dates are under the lower panel): drawn as marks
        # at the lower axis's ticks rather than by a second time axis working them out anew.
        top.xaxis.set_visible(False)
        view = sorted(low.get_xlim())
        s.tick_marks(top, "bottom", [x for x in low.xaxis.get_major_locator()() if _interval_contains_close(view, x)])
        labels = [str(t) for t in top.get_legend_handles_labels()[1]]
        ncol, rows = s.legend_layout(labels, s.WIDTH_PX - 200)
        _layout(top, low, right_labels, rows)
        s.legend_above(top, ncol)
        last = ordered[-1]
        when = "" if live else f" · as of {time_text(last.time, tz)}"
        s.header(fig, f"Equity {s.number(float(last.equity), 2)} {quote}{when}",
                 _subtitle(last.equity, deposits, fees, quote, worst, day_text(ordered[0].time, tz)))
        s.footer(fig, f"Amounts in {quote} · {s.count(len(ordered), 'equity mark')}"
                      + (" · the last valued now" if live and len(ordered) > 1 else ""))
        return s.png(fig)
