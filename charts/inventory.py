"""The inventory's value per asset over time: steps at each rebalance, the largest holdings named, dust apart."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Mapping, Sequence
from zoneinfo import ZoneInfo

import numpy as np
from matplotlib.axes import Axes

from charts import NothingToChart
from charts import style as s
from charts.series import MAX_POINTS, date_num, day_text, time_axis, time_text
from tradingbot.core.domain import InventorySnapshot

TOP_ASSETS = 8  # named areas, one per palette colour; smaller holdings fold into "other"
DUST_HATCH = "////"

Snapshot = InventorySnapshot | tuple[datetime, Mapping[str, Decimal]]


def _snapshots(items: Sequence[Snapshot]) -> list[InventorySnapshot]:
    """Oldest first; a bare (time, values) pair is a recorded snapshot without dust."""
    out = [i if isinstance(i, InventorySnapshot) else InventorySnapshot(i[0], dict(i[1])) for i in items]
    return sorted(out, key=lambda i: i.time)


def _matrix(snapshots: Sequence[InventorySnapshot]) -> tuple[list[str], np.ndarray]:
    """Assets in order of appearance and their values (rows) per snapshot (columns), absent as 0."""
    assets: dict[str, int] = {}
    for snap in snapshots:
        for asset in snap.values:
            assets.setdefault(asset, len(assets))
    matrix = np.zeros((len(assets), len(snapshots)))
    for col, snap in enumerate(snapshots):
        for asset, value in snap.values.items():
            matrix[assets[asset], col] = max(float(value), 0.0)  # a stack cannot show a negative value
    return list(assets), matrix


def _series(assets: list[str], matrix: np.ndarray, dust: np.ndarray, quote: str) -> list[tuple[str, np.ndarray, str]]:
    """Cash at the bottom, the largest assets by latest (then peak) value, "other", and dust on top."""
    # Cash keeps its own band whatever its size: how much is uninvested is the first question asked.
    out = [(f"{quote} cash", matrix[i], s.GREY) for i, a in enumerate(assets) if a == quote]
    tokens = sorted((i for i, a in enumerate(assets) if a != quote),
                    key=lambda i: (matrix[i, -1], matrix[i].max()), reverse=True)
    keep, rest = tokens[:TOP_ASSETS], tokens[TOP_ASSETS:]
    out += [(assets[i], matrix[i], colour) for i, colour in zip(keep, s.SERIES)]
    if rest:
        out.append((f"other ({len(rest)})", matrix[rest].sum(axis=0), s.LIGHT_GREY))
    if dust.any():
        out.append(("dust", dust, "white"))  # the header says how many coins and how much
    return out


def _edges(snapshots: Sequence[InventorySnapshot]) -> tuple[np.ndarray, list[int]]:
    """Step edges and the snapshot each step shows: what a rebalance left is held until the next one.

    A live snapshot (valued now) shows over the last holding period, since nothing has traded since then;
    without one, the last rebalance's holdings extend by a typical period, the header saying as of when.
    """
    x = date_num(i.time for i in snapshots)
    shown = list(range(len(snapshots)))
    if snapshots[-1].live and len(snapshots) > 1:
        return x, shown[:-2] + [len(snapshots) - 1, len(snapshots) - 1]
    gap = float(np.median(np.diff(x))) if len(x) > 1 else 1 / 24
    return np.append(x, x[-1] + gap), shown + [shown[-1]]


def _stack(ax: Axes, x: np.ndarray, series: list[tuple[str, np.ndarray, str]], tz: ZoneInfo,
           when: datetime) -> None:
    """Stacked steps, or one stacked bar when there is a single snapshot (a step needs a period)."""
    bottom = np.zeros(len(series[0][1]))
    for name, values, colour in series:
        top = bottom + values
        look = {"facecolor": colour, "linewidth": 0, "label": name}
        if colour == "white":  # dust: hatched, so its legend swatch shows on white
            look.update(edgecolor=s.GREY, hatch=DUST_HATCH)
        if len(x) == 1:
            ax.bar([0], values, bottom=bottom, width=0.5, **look)
        else:
            ax.fill_between(x, bottom, top, step="post", **look)
        bottom = top
    if len(x) == 1:  # a moment, not a period: no time axis to suggest one
        ax.set_xlim(-1, 1)
        ax.set_xticks([0], [time_text(when, tz)])
        ax.set_xlabel("Snapshot")
    else:
        ax.set_xlim(x[0], x[-1])


def _header_text(snapshots: Sequence[InventorySnapshot], totals: np.ndarray, matrix: np.ndarray,
                 assets: list[str], quote: str, count: int, tz: ZoneInfo) -> str:
    """Now (or as of when) the value in how many assets and the dust; the peak and the history's extent."""
    last = snapshots[-1]
    held = sum(1 for i, a in enumerate(assets) if a != quote and matrix[i, -1] > 0)
    when = "Now" if last.live else f"As of {time_text(last.time, tz)}:"
    total = sum(last.values.values(), Decimal(0)) + last.dust.value
    line = f"{when} {s.number(float(total), 2)} {quote} in {s.count(held, 'asset')} + cash"
    if last.dust.count:
        line += f" · {last.dust.describe(quote)}"
    recorded = count - (1 if last.live else 0)
    return (f"{line}\nPeak {s.money(float(totals.max()), quote)} · {s.count(recorded, 'rebalance snapshot')}"
            f" since {day_text(snapshots[0].time, tz)}")


def inventory_chart(snapshots: Sequence[Snapshot], tz: ZoneInfo, quote: str) -> bytes:
    """Value per asset over time as stacked steps: cash, the eight largest, the rest as "other", dust apart."""
    ordered = _snapshots(snapshots)
    count = len(ordered)
    if count > MAX_POINTS:  # a composition view: evenly spaced snapshots lose nothing visible
        keep = np.unique(np.linspace(0, count - 1, MAX_POINTS).astype(int))
        ordered = [ordered[i] for i in keep]
    assets, matrix = _matrix(ordered)
    dust = np.array([float(i.dust.value) for i in ordered])
    if not ordered or not (matrix.any() or dust.any()):
        raise NothingToChart("No inventory recorded yet.")
    series = _series(assets, matrix, dust, quote)
    x, shown = _edges(ordered) if len(ordered) > 1 else (date_num([ordered[0].time]), [0])
    steps = [(name, values[shown], colour) for name, values, colour in series]
    with s.figure() as fig:
        ax = fig.add_axes((0, 0, 1, 1))
        _stack(ax, x, steps, tz, ordered[0].time)
        totals = matrix.sum(axis=0) + dust
        ax.set_ylim(0, float(totals.max()) * 1.05)
        s.money_axis(ax)
        ax.set_ylabel(f"Value, {quote}")
        if len(x) > 1:
            time_axis(ax, tz, [ordered[0].time, ordered[-1].time])
        ncol, rows = s.legend_layout([n for n, _, _ in series], s.WIDTH_PX - 160)
        left = s.MARGIN_PX + s.LABEL_PX + 22 + s.ytick_px(ax)
        s.place(ax, left, s.BOTTOM_PX, s.MARGIN_PX + 16, s.HEADER_PX + s.LEGEND_PX * rows)
        s.legend_above(ax, ncol, ax.get_legend_handles_labels()[0][::-1])  # top of the stack first
        s.header(fig, "Inventory", _header_text(ordered, totals, matrix, assets, quote, count, tz))
        s.footer(fig, f"Amounts in {quote} · holdings as each rebalance left them · the {TOP_ASSETS} largest named")
        return s.png(fig)
