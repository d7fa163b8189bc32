"""A ranking snapshot: the best and worst scores, picks and holdings marked."""
from __future__ import annotations

from datetime import tzinfo
from zoneinfo import ZoneInfo

from matplotlib.axes import Axes
from matplotlib.patches import Patch

from charts import NothingToChart
from charts import style as s
from charts.series import time_text
from tradingbot.core.domain import Ranking, RankRow
from tradingbot.core.params import format_duration

MAX_N = 25  # per end: 51 rows is already ~18 px each, the least a label needs


# A lookback as the strategy parameters write it (7d, 12h): the same formatter, not a second one.
lookback_text = format_duration


def _held_line(held: frozenset[str], shown: set[str], position: dict[str, int]) -> str:
    """How many holdings there are, and where the ones off the chart rank."""
    if not held:
        return "Nothing held"
    outside = sorted(held - shown, key=lambda sym: (position.get(sym, 10**9), sym))
    line = f"Held {len(held)} (outlined)"
    if outside:
        names = [f"{sym} #{position[sym]}" if sym in position else f"{sym} unranked" for sym in outside[:3]]
        more = f" +{len(outside) - 3}" if len(outside) > 3 else ""
        line += f" · not shown: {', '.join(names)}{more}"
    return line


def _view(rows: list[RankRow], n: int) -> list[RankRow | None]:
    """The top n and bottom n, with None where the middle is left out."""
    if len(rows) <= 2 * n:
        return list(rows)
    return [*rows[:n], None, *rows[-n:]]


def _draw(ax: Axes, view: list[RankRow | None], labels: list[str], held: frozenset[str], hidden: int) -> None:
    """Bars of score in %, picks filled and holdings outlined, labels beside; the axes placed to fit."""
    bars = [(i, r) for i, r in enumerate(view) if r is not None]
    scores = [float(r.score or 0) * 100 for _, r in bars]
    s.bars(ax, [i for i, _ in bars], scores, 0.72, [s.BLUE if r.selected else s.LIGHT_GREY for _, r in bars],
           horizontal=True, edgecolors=[s.BLACK if r.symbol in held else "none" for _, r in bars],
           linewidths=[3 if r.symbol in held else 0 for _, r in bars])
    s.row_labels(ax, labels, [r is not None and r.symbol in held for r in view])
    ax.set_ylim(len(view) - 0.4, -0.6)  # first row at the top
    ax.grid(False)
    ax.grid(True, axis="x")
    ax.axvline(0, color=s.GREY, linewidth=1)
    if hidden:
        ax.text(0.5, view.index(None), f"… {hidden:,} more …", transform=ax.get_yaxis_transform(),
                ha="center", va="center", color=s.GREY)
    left = s.MARGIN_PX + 16 + max(s.text_px(t, bold=True) for t in labels)
    s.place(ax, left, s.BOTTOM_PX, s.MARGIN_PX, s.HEADER_PX + s.LEGEND_PX)
    texts = [f"{s.number(v, 1, sign=True)} %" for v in scores]
    s.bar_values(ax, [i for i, _ in bars], scores, texts, s.WIDTH_PX - left - s.MARGIN_PX)
    s.money_axis(ax, "x", suffix=" %")


def ranking_chart(ranking: Ranking, held: frozenset[str], n: int = 10, tz: tzinfo = ZoneInfo("UTC")) -> bytes:
    """Top and bottom n eligible symbols by score as bars; picks filled, holdings outlined."""
    rows = sorted((r for r in ranking.rows if r.eligible and r.score is not None),
                  key=lambda r: (-(r.score or 0), r.symbol))
    if not rows:
        raise NothingToChart("No eligible symbols in this ranking.")
    n = max(1, min(n, MAX_N))
    position = {r.symbol: i + 1 for i, r in enumerate(rows)}
    view = _view(rows, n)
    labels = [f"#{position[r.symbol]} {r.symbol}" if r else "" for r in view]
    lookback = lookback_text(ranking.lookback)
    with s.figure() as fig:
        ax = fig.add_axes((0, 0, 1, 1))
        _draw(ax, view, labels, held, len(rows) - len(view) + 1 if None in view else 0)
        ax.set_xlabel(f"Score: return over {lookback}")
        s.legend_above(ax, 3, [Patch(color=s.BLUE, label="pick"), Patch(color=s.LIGHT_GREY, label="not picked"),
                               Patch(facecolor="white", edgecolor=s.BLACK, linewidth=3, label="held")])
        shown = {r.symbol for r in view if r is not None}
        s.header(fig, f"Ranking · {ranking.strategy} · {lookback}",
                 f"{time_text(ranking.at, tz)} · {len(rows):,} eligible · {len(ranking.selected)} picks\n"
                 + _held_line(held, shown, position))
        s.footer(fig, f"Top and bottom {n} of {len(rows):,} eligible symbols by score")
        return s.png(fig)
