"""What the account holds: the allocation now, and the inventory's value per asset over time."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Mapping, Sequence
from zoneinfo import ZoneInfo

import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Patch

from charts import NothingToChart
from charts import style as s
from charts.series import MAX_POINTS, date_num, local, time_axis
from tradingbot.domain import Position

DUST = Decimal(1)  # positions worth less than one quote unit
MAX_BARS = 15  # positions drawn one by one; smaller ones fold into "others" to keep bars readable
TOP_ASSETS = 8  # inventory areas; the rest fold into "other"


@dataclass(frozen=True)
class _Bar:
    label: str
    value: float
    pnl: float | None  # unrealized; None where it means nothing (cash, dust)
    cost: float
    colour: str


def _group(label: str, group: Sequence[Position], colour: str | None = None) -> _Bar:
    """Several positions as one bar; coloured by their P/L together unless told otherwise."""
    pnl = sum((p.unrealized for p in group), Decimal(0))
    cost = sum((p.cost for p in group), Decimal(0))
    value = sum((p.value for p in group), Decimal(0))
    shown_pnl = None if colour else float(pnl)
    return _Bar(label, float(value), shown_pnl, float(cost), colour or (s.GAIN if pnl >= 0 else s.LOSS))


def _bars(positions: Sequence[Position], cash: Decimal, quote: str) -> list[_Bar]:
    """Positions by value, then the folded small ones, dust and cash, top to bottom."""
    held = sorted((p for p in positions if p.quantity != 0), key=lambda p: p.value, reverse=True)
    real = [p for p in held if p.value >= DUST]
    dust = [p for p in held if p.value < DUST]
    bars = [_group(p.asset, [p]) for p in real[:MAX_BARS]]
    if real[MAX_BARS:]:
        bars.append(_group(f"{len(real) - MAX_BARS} others", real[MAX_BARS:]))
    if dust:
        bars.append(_group(f"dust ({len(dust)})", dust, s.LIGHT_GREY))
    bars.append(_Bar(f"{quote} cash", float(cash), None, 0.0, s.GREY))
    return bars


def _bar_text(bar: _Bar, weight: float) -> str:
    """Weight, and for a position its unrealized P/L in money and against cost."""
    text = f"{s.number(weight, 1)} %"
    if bar.pnl is not None:
        pct = f" ({s.number(bar.pnl / bar.cost * 100, 1, sign=True)} %)" if bar.cost > 0 else ""
        text += f"   {s.money(bar.pnl, sign=True)}{pct}"
    return text


def _draw_bars(ax: Axes, bars: list[_Bar], total: float) -> None:
    """Horizontal bars of weight with their labels, the axes placed to fit them."""
    weights = [b.value / total * 100 for b in bars]
    texts = [_bar_text(b, w) for b, w in zip(bars, weights)]
    rows = np.arange(len(bars))
    ax.barh(rows, weights, height=0.7, color=[b.colour for b in bars])
    s.row_labels(ax, [b.label for b in bars])
    ax.set_ylim(len(bars) - 0.4, -0.6)  # largest first, at the top
    ax.grid(False)
    ax.grid(True, axis="x")
    left = s.MARGIN_PX + 16 + max(s.text_px(b.label) for b in bars)
    top = s.HEADER_PX + s.LEGEND_PX
    s.place(ax, left, s.BOTTOM_PX, s.MARGIN_PX, top)
    s.bar_values(ax, list(range(len(bars))), weights, texts, s.WIDTH_PX - left - s.MARGIN_PX)
    s.money_axis(ax, "x", suffix=" %")
    ax.set_xlabel("Share of equity")


def allocation_chart(positions: Sequence[Position], cash: Decimal, equity: Decimal, quote: str) -> bytes:
    """Weight of each token and of cash as sorted bars, coloured and labelled by unrealized P/L."""
    if not any(p.quantity != 0 for p in positions):
        raise NothingToChart(f"No positions held; {s.money(float(cash), quote)} in cash.")
    bars = _bars(positions, cash, quote)
    total = float(equity) if equity > 0 else sum(b.value for b in bars)
    if total <= 0:
        raise NothingToChart("Equity is zero, so there is no allocation to show.")
    pnl = sum((p.unrealized for p in positions if p.quantity != 0), Decimal(0))
    with s.figure() as fig:
        ax = fig.add_axes((0, 0, 1, 1))
        _draw_bars(ax, bars, total)
        kinds = {b.colour for b in bars}
        legend = [Patch(color=c, label=n) for c, n in ((s.GAIN, "gain"), (s.LOSS, "loss"), (s.GREY, "cash"),
                                                       (s.LIGHT_GREY, "dust")) if c in kinds]
        s.legend_above(ax, len(legend), legend)
        dust = sum(1 for p in positions if p.quantity != 0 and p.value < DUST)
        held = s.count(sum(1 for p in positions if p.quantity != 0) - dust, "position")
        held += f" (+{dust} dust)" if dust else ""
        s.header(fig, "Allocation now", f"Equity {s.money(total, quote)} · {held}\n"
                                        f"Unrealized P/L {s.money(float(pnl), quote, sign=True)}")
        s.footer(fig, f"Amounts in {quote} · bar = share of equity · dust = under 1 {quote}")
        return s.png(fig)


def _matrix(snapshots: Sequence[tuple[datetime, Mapping[str, Decimal]]]) -> tuple[list[str], np.ndarray]:
    """Assets in order of appearance and their values (rows) per snapshot (columns), absent as 0."""
    assets: dict[str, int] = {}
    for _, values in snapshots:
        for asset in values:
            assets.setdefault(asset, len(assets))
    matrix = np.zeros((len(assets), len(snapshots)))
    for col, (_, values) in enumerate(snapshots):
        for asset, value in values.items():
            matrix[assets[asset], col] = max(float(value), 0.0)  # a stack cannot show a negative value
    return list(assets), matrix


def _series(assets: list[str], matrix: np.ndarray, quote: str) -> list[tuple[str, np.ndarray, str]]:
    """Cash at the bottom, the top assets by latest (then peak) value, then the rest as "other"."""
    # Cash keeps its own band whatever its size: how much is uninvested is the first question asked.
    out = [(quote, matrix[i], s.GREY) for i, a in enumerate(assets) if a == quote]
    tokens = sorted((i for i, a in enumerate(assets) if a != quote),
                    key=lambda i: (matrix[i, -1], matrix[i].max()), reverse=True)
    keep, rest = tokens[:TOP_ASSETS], tokens[TOP_ASSETS:]
    out += [(assets[i], matrix[i], colour) for i, colour in zip(keep, s.SERIES)]
    if rest:
        out.append((f"other ({len(rest)})", matrix[rest].sum(axis=0), s.LIGHT_GREY))
    return out


def _stack(ax: Axes, x: np.ndarray, series: list[tuple[str, np.ndarray, str]]) -> None:
    """Stacked areas, or stacked bars when there is one snapshot (an area needs two)."""
    if len(x) == 1:
        bottom = 0.0
        for name, values, colour in series:
            ax.bar(x, values, bottom=bottom, width=0.6, color=colour, label=name)
            bottom += float(values[0])
        ax.set_xlim(x[0] - 1, x[0] + 1)
        return
    ax.stackplot(x, *[v for _, v, _ in series], colors=[c for _, _, c in series],
                 labels=[n for n, _, _ in series], linewidth=0)
    ax.set_xlim(x[0], x[-1])


def inventory_chart(snapshots: Sequence[tuple[datetime, Mapping[str, Decimal]]], tz: ZoneInfo, quote: str) -> bytes:
    """Value per asset over time as stacked areas: the top eight, cash and the rest as "other"."""
    ordered = sorted(snapshots, key=lambda p: p[0])
    count = len(ordered)
    peak = max((sum(max(float(v), 0.0) for v in values.values()) for _, values in ordered), default=0.0)
    if count > MAX_POINTS:  # a composition view: evenly spaced snapshots lose nothing visible
        ordered = [ordered[i] for i in np.unique(np.linspace(0, len(ordered) - 1, MAX_POINTS).astype(int))]
    assets, matrix = _matrix(ordered)
    if not ordered or not matrix.any():
        raise NothingToChart("No inventory recorded yet.")
    series = _series(assets, matrix, quote)
    x = date_num(t for t, _ in ordered)
    with s.figure() as fig:
        ax = fig.add_axes((0, 0, 1, 1))
        _stack(ax, x, series)
        totals = matrix.sum(axis=0)
        ax.set_ylim(0, float(totals.max()) * 1.05)
        s.money_axis(ax)
        ax.set_ylabel(f"Value, {quote}")
        time_axis(ax, tz, [ordered[0][0], ordered[-1][0]])
        ncol, rows = s.legend_layout([n for n, _, _ in series], s.WIDTH_PX - 160)
        left = s.MARGIN_PX + s.LABEL_PX + 22 + s.ytick_px(ax)
        s.place(ax, left, s.BOTTOM_PX, s.MARGIN_PX + 16, s.HEADER_PX + s.LEGEND_PX * rows)
        s.legend_above(ax, ncol, ax.get_legend_handles_labels()[0][::-1])  # top of the stack first
        held = int((matrix[:, -1] > 0).sum())
        s.header(fig, "Inventory", f"Now {s.money(float(totals[-1]), quote)} in {s.count(held, 'asset')} · "
                                   f"peak {s.money(peak, quote)}\n"
                                   f"{s.count(count, 'snapshot')} since {local(ordered[0][0], tz):%d %b %Y}")
        s.footer(fig, f"Amounts in {quote} · cash, the top {TOP_ASSETS} assets by latest value, the rest as other")
        return s.png(fig)
