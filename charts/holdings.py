"""What the account holds now: weight and unrealized P/L per token, cash and dust."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Patch

from charts import NothingToChart
from charts import style as s
from tradingbot.core.domain import DustTotal, Position

MAX_BARS = 15  # positions drawn one by one; smaller ones fold into "others" to keep bars readable


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
    real = [p for p in held if not p.dust]
    dust = [p for p in held if p.dust]
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
    s.bars(ax, rows, weights, 0.7, [b.colour for b in bars], horizontal=True)
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
        dust = DustTotal.of(p for p in positions if p.quantity != 0)
        held = s.count(sum(1 for p in positions if p.quantity != 0) - dust.count, "position")
        held += f" · {dust.describe(quote)}" if dust.count else ""
        s.header(fig, "Allocation now", f"Equity {s.number(total, 2)} {quote} · {held}\n"
                                        f"Unrealized P/L {s.number(float(pnl), 2, sign=True)} {quote}")
        s.footer(fig, f"Amounts in {quote} · bar = share of equity · dust = below the venue's minimum order")
        return s.png(fig)
