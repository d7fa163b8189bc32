"""A metric over two strategy parameters, for the backtester: one coloured, labelled cell per run."""
from __future__ import annotations

import math
from typing import Sequence

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import QuadMesh
from matplotlib.figure import Figure
from matplotlib.colors import Colormap, Normalize
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator, PercentFormatter

from charts import NothingToChart
from charts import style as s
from tradingbot.core.backtest.metrics import PERCENT_METRICS, SIGNED_METRICS

CBAR_PX = 26  # colour bar thickness
BELOW_CBAR_PX = s.FOOTER_BAND_PX + 2 * s.LABEL_PX + 34  # its tick labels and its title
MIN_CELL_TEXT_PX = 10  # smaller than this is unreadable: leave the cells uncaptioned
SUBTITLE_LINE_PX = s.SUBTITLE_PX * 1.3  # one more subtitle line (the fixed settings) pushes the plot down


def _grid(values: Sequence[Sequence[float | None]]) -> np.ndarray:
    """Rows padded to the widest with NaN; None, NaN and infinities all count as missing."""
    width = max((len(r) for r in values), default=0)
    grid = np.full((len(values), width), np.nan)
    for i, row in enumerate(values):
        for j, v in enumerate(row):
            if v is not None and math.isfinite(float(v)):
                grid[i, j] = float(v)
    return grid


def _labels(labels: Sequence[str], count: int) -> list[str]:
    """Exactly count labels: extra ones dropped, missing ones blank."""
    return [str(label) for label in labels][:count] + [""] * max(0, count - len(labels))


def _cell(v: float, metric: str = "") -> str:
    """A cell's value with the precision its size calls for; a fraction metric in percent."""
    if metric in PERCENT_METRICS:
        return f"{s.number(v * 100, 1)} %"
    return s.number(v, 0 if abs(v) >= 1000 else 1 if abs(v) >= 100 else 2)


def _colours(grid: np.ndarray, metric: str = "") -> tuple[Colormap, Normalize, bool]:
    """Diverging and centred on 0 for a signed metric (gain or loss) or values that cross 0, else one-sided
    cividis: two charts of one signed metric then share what each colour means."""
    lo, hi = float(np.nanmin(grid)), float(np.nanmax(grid))
    if lo < 0 < hi or (metric in SIGNED_METRICS and (lo, hi) != (0, 0)):
        m = max(-lo, hi)
        return mpl.colormaps["RdBu"].with_extremes(bad="white"), Normalize(-m, m), True
    if lo == hi:
        lo, hi = lo - 1, hi + 1  # one value: any colour will do, but the norm needs a range
    return mpl.colormaps["cividis"].with_extremes(bad="white"), Normalize(lo, hi), False


def _captions(ax: Axes, grid: np.ndarray, cmap: Colormap, norm: Normalize, metric: str) -> bool:
    """Write each cell's value (or n/a), dark or light against its colour; False if cells are too small."""
    box = ax.get_position()
    cell_w = box.width * s.WIDTH_PX / grid.shape[1]
    cell_h = box.height * s.HEIGHT_PX / grid.shape[0]
    texts = [[_cell(v, metric) if math.isfinite(v) else "n/a" for v in row] for row in grid]
    widest = max(s.text_px(t) for row in texts for t in row)
    size = min(float(s.TICK_PX), cell_h * 0.45, s.TICK_PX * (cell_w - 8) / widest)
    if size < MIN_CELL_TEXT_PX:
        return False
    for (i, j), v in np.ndenumerate(grid):
        if math.isfinite(v):
            r, g, b, _ = cmap(norm(v))
            colour = "white" if 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.5 else s.BLACK
        else:
            colour = s.TEXT_GREY
        ax.text(j, i, texts[i][j], ha="center", va="center", fontsize=s.pt(size), color=colour)
    return True


def _best_worst(grid: np.ndarray, xl: list[str], yl: list[str], metric: str) -> str:
    """Where the highest and lowest values are; for a signed metric, whether every run lost or gained."""
    hi = np.unravel_index(np.nanargmax(grid), grid.shape)
    lo = np.unravel_index(np.nanargmin(grid), grid.shape)
    top, bottom = float(grid[hi]), float(grid[lo])
    lines = [f"{metric}: highest {_cell(top, metric)} at {xl[hi[1]]}, {yl[hi[0]]}",
             f"lowest {_cell(bottom, metric)} at {xl[lo[1]]}, {yl[lo[0]]}"]
    if metric in SIGNED_METRICS and (top < 0 or bottom > 0):  # the brightest cell may still be a loss
        verdict = "lost" if top < 0 else "gained"
        lines[1] += f" · every run {verdict}: {_cell(top, metric)} to {_cell(bottom, metric)}"
    return "\n".join(lines)


def _cells(ax: Axes, grid: np.ndarray, cmap: Colormap, norm: Normalize) -> QuadMesh:
    """One flat cell per run, first row at the top as in a table; missing runs hatched."""
    rows, cols = grid.shape
    # A mesh, not imshow: nothing is resampled to the plot's full pixel size
    mesh = ax.pcolormesh(np.arange(cols + 1) - 0.5, np.arange(rows + 1) - 0.5, np.ma.masked_invalid(grid),
                         cmap=cmap, norm=norm, edgecolors="white", linewidth=2)
    ax.set_xlim(-0.5, cols - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)
    for i, j in zip(*np.nonzero(np.isnan(grid))):  # hatched, so n/a never reads as a value near the centre
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="white", edgecolor="white", linewidth=2,
                               hatch="//", hatchcolor=s.LIGHT_GREY))
    ax.grid(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.tick_params(length=0)
    return mesh


def _place(ax: Axes, xl: list[str], yl: list[str], top: float) -> tuple[float, float]:
    """Label both axes, slanting x labels that would touch; place the plot below `top` px of header.
    Returns its left and bottom px."""
    left = s.MARGIN_PX + 14 + max(s.text_px(t) for t in yl)
    widest_x = max(s.text_px(t) for t in xl)
    rotate = widest_x > (s.WIDTH_PX - left - s.MARGIN_PX) / len(xl) - 8
    ax.set_xticks(np.arange(len(xl)), xl, rotation=45 if rotate else 0, ha="right" if rotate else "center",
                  rotation_mode="anchor")
    ax.set_yticks(np.arange(len(yl)), yl)
    labels_h = (widest_x + s.TICK_PX) * 0.71 if rotate else s.TICK_PX  # a 45° label's height
    bottom = BELOW_CBAR_PX + CBAR_PX + 36 + labels_h
    s.place(ax, left, bottom, s.MARGIN_PX, top)
    return left, bottom


def _colour_bar(fig: Figure, mesh: QuadMesh, left: float, metric: str, diverging: bool) -> None:
    """The scale under the plot, labelled with the metric."""
    cax = fig.add_axes((0, 0, 1, 1))
    s.place(cax, left, BELOW_CBAR_PX, s.MARGIN_PX, s.HEIGHT_PX - BELOW_CBAR_PX - CBAR_PX)
    bar = fig.colorbar(mesh, cax=cax, orientation="horizontal")
    bar.outline.set_visible(False)
    s.money_axis(cax, "x")
    cax.xaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))  # long numbers need room
    cax.set_xlabel(metric + (" (centred on 0)" if diverging else ""))
    if metric in PERCENT_METRICS:
        cax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))


def heatmap_chart(values: Sequence[Sequence[float | None]], x_labels: Sequence[str], y_labels: Sequence[str],
                  title: str, metric: str, settings: str = "", missing: str = "") -> bytes:
    """A metric over two parameters as coloured cells, each with its value; None is a blank n/a cell.

    settings: what every run shares (the parameters held fixed), shown under the title.
    missing: why cells are n/a (e.g. an annualised figure of a short window), shown under the title too;
    with it, a grid that is n/a everywhere is drawn as such, saying why, instead of refused."""
    grid = _grid(values)
    empty = grid.size == 0 or bool(np.isnan(grid).all())
    if grid.size == 0 or (empty and not missing):
        raise NothingToChart("No results to chart: every cell is empty.")
    xl, yl = _labels(x_labels, grid.shape[1]), _labels(y_labels, grid.shape[0])
    # With no value at all there is no scale to draw: plain hatched n/a cells and the reason above them
    cmap, norm, diverging = (mpl.colormaps["RdBu"], Normalize(-1, 1), False) if empty else _colours(grid, metric)
    subtitle = "\n".join(filter(None, [settings, "" if empty else _best_worst(grid, xl, yl, metric), missing]))
    with s.figure() as fig:
        ax = fig.add_axes((0, 0, 1, 1))
        mesh = _cells(ax, grid, cmap, norm)
        extra_lines = max(0, subtitle.count("\n") - 1)  # the header holds two subtitle lines
        left, _ = _place(ax, xl, yl, s.HEADER_PX + 16 + SUBTITLE_LINE_PX * extra_lines)
        if not empty:
            _colour_bar(fig, mesh, left, metric, diverging)
        captioned = _captions(ax, grid, cmap, norm, metric)
        s.header(fig, title, subtitle)
        missing_count = int(np.isnan(grid).sum())
        note = s.count(grid.size, "run") + (f", {missing_count} n/a" if missing_count else "")
        s.footer(fig, note if captioned else f"{note} · cells too small for their values")
        return s.png(fig)
