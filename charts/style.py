"""The one phone look every chart shares: size, fonts, palette, axes formats, header and footer.

Size: 1024 × 1280 px, portrait 4:5, for every chart. Telegram re-encodes a sent photo as JPEG and
scales it to fit 1280 px on the long side for the large size clients show; a chart that already
fits is not resampled, so its text stays sharp. Portrait suits a phone held upright: at the chat's
width a 4:5 image is two thirds taller than a 4:3 landscape one, room for twenty labelled bars or
two stacked panels. Fonts are set in pixels at that size (title 28, labels 20, ticks 18, footer 16)
because a phone shows the image at about a third of its size, where 18 px is the least that reads.
"""
from __future__ import annotations

import struct
import threading
import zlib
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Iterator, Sequence

import matplotlib as mpl
import numpy as np
from cycler import cycler
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.markers import TICKDOWN, TICKRIGHT
from matplotlib.ticker import Formatter, MaxNLocator
from matplotlib.transforms import ScaledTranslation, _interval_contains_close  # type: ignore[attr-defined]

from charts.render import ChartRenderer

WIDTH_PX, HEIGHT_PX = 1024, 1280
DPI = 128  # 8 × 10 inches: exact in binary, so the canvas is exactly WIDTH_PX × HEIGHT_PX

# Okabe & Ito (2008), distinguishable under every common colour-vision deficiency.
BLACK = "#000000"
ORANGE = "#E69F00"
SKY_BLUE = "#56B4E9"
BLUISH_GREEN = "#009E73"
YELLOW = "#F0E442"
BLUE = "#0072B2"
VERMILLION = "#D55E00"
REDDISH_PURPLE = "#CC79A7"
GAIN, LOSS = BLUISH_GREEN, VERMILLION
GREY, LIGHT_GREY, TEXT_GREY = "#999999", "#D0D0D0", "#444444"
# Series order for lines and areas; yellow last: on white it is the hardest to see.
SERIES = (BLUE, ORANGE, BLUISH_GREEN, SKY_BLUE, VERMILLION, REDDISH_PURPLE, BLACK, YELLOW)

TITLE_PX, SUBTITLE_PX, LABEL_PX, TICK_PX, FOOTER_PX = 28, 20, 20, 18, 16
MARGIN_PX = 24  # outer padding on every side
HEADER_PX = 120  # title + up to two subtitle lines
LEGEND_PX = 44  # one legend row between the header and the plot
FOOTER_BAND_PX = 40
BOTTOM_PX = 112  # under a plot: tick labels, the axis label and the footer


def pt(px: float) -> float:
    """Font size in points that renders as px pixels at our DPI."""
    return px * 72 / DPI


# Start from matplotlib's own defaults so a matplotlibrc on the host cannot change a render;
# keys that are not about looks (backends, GUI, the date epoch) stay as the process has them.
_NOT_LOOKS = ("backend", "interactive", "toolbar", "timezone", "date.epoch", "figure.max_open_warning",
              "figure.raise_window", "savefig.directory", "tk.", "webagg.", "docstring.")
_RC = {k: v for k, v in mpl.rcParamsDefault.items() if not k.startswith(_NOT_LOOKS)}
_RC.update({
    "font.family": "DejaVu Sans",  # bundled with matplotlib: identical glyphs on every machine
    "font.size": pt(TICK_PX),
    "axes.labelsize": pt(LABEL_PX),
    "axes.labelcolor": TEXT_GREY,
    "axes.edgecolor": GREY,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "axes.axisbelow": True,
    "axes.prop_cycle": cycler(color=SERIES),
    "axes.unicode_minus": True,
    "grid.color": "#E6E6E6",
    "grid.linewidth": 1.0,
    "xtick.labelsize": pt(TICK_PX),
    "ytick.labelsize": pt(TICK_PX),
    "xtick.color": GREY,
    "ytick.color": GREY,
    "xtick.labelcolor": TEXT_GREY,
    "ytick.labelcolor": TEXT_GREY,
    "legend.fontsize": pt(TICK_PX),
    "legend.frameon": False,
    "lines.linewidth": 2.5,  # Telegram's JPEG re-encode smears hairlines
    "lines.solid_capstyle": "round",
    "patch.linewidth": 0,
})
# rcParams are process-global; the bot draws in worker threads, so one chart at a time may hold them.
_LOCK = threading.Lock()


@contextmanager
def figure() -> Iterator[Figure]:
    """A fresh Agg-backed figure of the standard size, drawn under the chart style."""
    with _LOCK, mpl.rc_context(_RC):
        fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
        FigureCanvasAgg(fig)  # so anything asking the figure for a renderer gets Agg, never a GUI backend
        yield fig


def png(fig: Figure) -> bytes:
    """Draw the figure and encode it as an opaque RGB PNG."""
    # Our own Agg renderer rather than canvas.draw(): the canvas would keep its 5 MB pixel buffer
    # until the cyclic GC frees the figure; a local one goes as soon as this returns.
    renderer = ChartRenderer(WIDTH_PX, HEIGHT_PX, DPI)
    fig.draw(renderer)
    return encode_png(np.asarray(renderer.buffer_rgba()))


def _chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC of type and data."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(pixels: np.ndarray) -> bytes:
    """An 8-bit RGB PNG of an (height, width, 3 or 4) uint8 array, alpha dropped, without metadata (equal
    pixels, equal bytes)."""
    # Written here rather than through Pillow: Pillow tries five row filters on every row, which
    # costs 15-25 ms per chart. Charts are flat colours, where unfiltered rows and zlib level 3
    # give files as small (~70-160 KB) in under 10 ms.
    height, width, _ = pixels.shape
    rows = np.empty((height, 1 + width * 3), dtype=np.uint8)
    rows[:, 0] = 0  # filter type None on every row
    if pixels.shape[2] == 4:  # RGBA: copied as 3-byte items, half the time of copying byte by byte
        rows[:, 1:].view("V3")[...] = pixels.view(np.dtype([("rgb", "V3"), ("a", "u1")]))[..., 0]["rgb"]
    else:
        rows[:, 1:].reshape(height, width, 3)[...] = pixels
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8 bits, truecolour, no interlace
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows.data, 3))
            + _chunk(b"IEND", b""))


def header(fig: Figure, title: str, subtitle: str = "") -> None:
    """Title and subtitle at the top left, where a phone reader looks first."""
    x = MARGIN_PX / WIDTH_PX
    fig.text(x, 1 - 18 / HEIGHT_PX, title, fontsize=pt(TITLE_PX), fontweight="bold", va="top", color=BLACK)
    if subtitle:
        fig.text(x, 1 - 60 / HEIGHT_PX, subtitle, fontsize=pt(SUBTITLE_PX), va="top", color=TEXT_GREY,
                 linespacing=1.3)


def footer(fig: Figure, text: str) -> None:
    """A small note at the bottom left (the quote asset, the data's extent)."""
    fig.text(MARGIN_PX / WIDTH_PX, 12 / HEIGHT_PX, text, fontsize=pt(FOOTER_PX), color=GREY, va="bottom")


def place(ax: Axes, left: float, bottom: float, right: float, top: float) -> None:
    """Put an axes by its margins in pixels from each edge of the figure."""
    ax.set_position((left / WIDTH_PX, bottom / HEIGHT_PX, (WIDTH_PX - left - right) / WIDTH_PX,
                     (HEIGHT_PX - bottom - top) / HEIGHT_PX))


@lru_cache(maxsize=4096)
def _glyph_px(char: str, size_px: float, bold: bool) -> float:
    """Advance width of one character, measured once: laying out text is a chart's costliest step."""
    renderer = RendererAgg(64, 64, DPI)
    prop = FontProperties(family="DejaVu Sans", size=pt(size_px), weight="bold" if bold else "normal")
    # Between two spaces, so the measure is the advance, not the ink (a space alone has no ink).
    with_char, _, _ = renderer.get_text_width_height_descent(f" {char} ", prop, ismath=False)
    without, _, _ = renderer.get_text_width_height_descent("  ", prop, ismath=False)
    return float(with_char - without)


def text_px(text: str, size_px: float = TICK_PX, bold: bool = False) -> float:
    """Width of one line of text in pixels, summed per glyph (kerning shifts it by a pixel or two)."""
    return sum(_glyph_px(c, size_px, bold) for c in text) * 1.02


def ytick_px(ax: Axes) -> float:
    """Width of the widest y tick label the axes will draw, to size the margin beside it."""
    lo, hi = sorted(ax.get_ylim())
    ticks = [t for t in ax.get_yticks() if lo <= t <= hi]
    labels = ax.yaxis.get_major_formatter().format_ticks(ticks)
    return max((text_px(s) for s in labels), default=0.0)


def tick_decimals(locs: Sequence[float]) -> int:
    """Fewest decimals that write every tick step exactly: 0 for 2,000 apart, 1 for 2.5, 2 for 0.05."""
    steps = [b - a for a, b in zip(locs, locs[1:]) if b > a]
    if not steps:
        return 2 if locs and abs(locs[0]) < 10 else 0
    step = min(steps)
    decimals = 0
    while decimals < 8 and abs(step * 10**decimals - round(step * 10**decimals)) > 1e-6 * step * 10**decimals:
        decimals += 1
    return decimals


class OncePerView:
    """A locator mixin: the ticks are worked out once per view, and only those drawn are handed out.

    matplotlib asks an axis's locator three times per draw (for the ticks, to place the axis label, for the
    spine's extent) and builds a Tick, five artists, for every location it gets, drawn or not: the first
    cost is paid once here, the second only for ticks in view. Outside ticks are kept when fewer than two
    would be left, so a formatter still sees the tick step."""

    _memo: tuple[tuple[float, float], Any] | None = None
    clip = True

    def __call__(self) -> Any:
        view = tuple(self.axis.get_view_interval())  # type: ignore[attr-defined]
        if self._memo is None or self._memo[0] != view:
            locs = super().__call__()  # type: ignore[misc]
            if self.clip:
                shown = [t for t in locs if _interval_contains_close(sorted(view), t)]
                locs = np.asarray(shown) if len(shown) >= 2 else locs
            self._memo = (view, locs)
        return self._memo[1]


class RoundTicks(OncePerView, MaxNLocator):
    """MaxNLocator, asked once per view, handing out the ticks in view."""


class OncePerTicks:
    """A formatter mixin: labels for the same ticks are written once, not on each of matplotlib's three asks."""

    _labels: tuple[tuple[float, ...], list[str]] | None = None

    def format_ticks(self, values: Sequence[float]) -> list[str]:
        key = tuple(values)
        if self._labels is None or self._labels[0] != key:
            self._labels = (key, super().format_ticks(values))  # type: ignore[misc]
        return self._labels[1]


def tick_marks(ax: Axes, side: str, at: Sequence[float] | np.ndarray) -> None:
    """Tick marks along the bottom or right edge of ax at these data positions, as an axis draws them, but as one
    line of markers: for an edge whose ticks are drawn apart from a matplotlib axis (a Tick is five artists)."""
    rc: Any = mpl.rcParams
    kind = "xtick" if side == "bottom" else "ytick"
    edge = np.zeros(len(at)) if side == "bottom" else np.ones(len(at))
    xy = (at, edge) if side == "bottom" else (edge, at)
    marker: Any = TICKDOWN if side == "bottom" else TICKRIGHT
    # Added as an artist, not plotted: marks must not move the data limits an axis autoscales to.
    ax.add_artist(Line2D(*xy, transform=ax.get_xaxis_transform() if side == "bottom" else ax.get_yaxis_transform(),
                         linestyle="none", marker=marker,
                         markersize=rc[f"{kind}.major.size"], markeredgewidth=rc[f"{kind}.major.width"],
                         markeredgecolor=rc[f"{kind}.color"], clip_on=False))


class Amount(OncePerTicks, Formatter):
    """Tick labels with thousands separators and as many decimals as the tick step needs."""

    def __init__(self, suffix: str = "") -> None:
        self.suffix = suffix
        self.decimals = 0

    def set_locs(self, locs: list[float]) -> None:
        super().set_locs(locs)
        self.decimals = tick_decimals(sorted(locs))

    def __call__(self, x: float, pos: int | None = None) -> str:
        return number(x, self.decimals, suffix=self.suffix)


def number(x: float, decimals: int, sign: bool = False, suffix: str = "") -> str:
    """Thousands-separated fixed-point text with a true minus sign and never a '-0'."""
    text = f"{x:{'+' if sign else ''},.{decimals}f}"
    if set(text) <= set("+-0.,"):  # rounds to zero: no sign at all
        text = text.lstrip("+-")
    return text.replace("-", "\N{MINUS SIGN}") + suffix


def money_axis(ax: Axes, axis: str = "y", suffix: str = "") -> None:
    """Few round ticks with thousands separators on one axis of ax."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(Amount(suffix))
    target.set_major_locator(RoundTicks(nbins=6, steps=[1, 2, 2.5, 5, 10]))


def fit_limits(lo: float, hi: float, left_px: float, right_px: float, axis_px: float) -> tuple[float, float]:
    """Data limits that leave left_px and right_px beside the bars for their value labels."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi - lo <= 0:
        hi = 1.0
    free = max(0.2, 1 - (left_px + right_px) / axis_px)  # never squeeze the bars below a fifth
    span = (hi - lo) / free
    return lo - span * left_px / axis_px, hi + span * right_px / axis_px


def count(n: int, noun: str) -> str:
    """'1 mark', '2 marks', '8,760 marks'."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def money(x: float, quote: str = "", sign: bool = False) -> str:
    """An amount for titles: whole units from 1,000 up, cents below."""
    text = number(x, 0 if abs(x) >= 1000 else 2, sign=sign)
    return f"{text} {quote}" if quote else text


def legend_layout(labels: list[str], width_px: float) -> tuple[int, int]:
    """Columns and rows for a legend of these labels across width_px (handle and gap ~70 px each)."""
    if not labels:
        return 1, 0
    column = max(text_px(s) for s in labels) + 70
    ncol = max(1, min(len(labels), int(width_px // column)))
    return ncol, -(-len(labels) // ncol)


def legend_above(ax: Axes, ncol: int, handles: Sequence[Artist] | None = None) -> None:
    """The legend in rows just above the plot, clear of the data (ax's own entries unless handles given)."""
    entries, labels = ax.get_legend_handles_labels() if handles is None else (list(handles), None)
    if labels is None:
        labels = [str(h.get_label()) for h in entries]
    ax.legend(entries, labels, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=ncol, borderaxespad=0.3,
              handlelength=1.6, columnspacing=1.2, borderpad=0.2)


def row_labels(ax: Axes, labels: list[str], bold: list[bool] | None = None) -> None:
    """Category names left of a bar chart's rows, as plain text: y ticks would cost a Tick object each."""
    ax.set_yticks([])
    shift = ScaledTranslation(-10 / DPI, 0, ax.figure.dpi_scale_trans)
    transform = ax.get_yaxis_transform() + shift
    for row, label in enumerate(labels):
        if label:
            ax.text(0, row, label, transform=transform, ha="right", va="center", color=TEXT_GREY, clip_on=False,
                    fontweight="bold" if bold and bold[row] else "normal")


def bars(ax: Axes, at: Sequence[float] | np.ndarray, lengths: Sequence[float] | np.ndarray, thickness: float,
         colours: Sequence[str], *, horizontal: bool = False, edgecolors: Sequence[str] | None = None,
         linewidths: Sequence[float] | None = None) -> PolyCollection:
    """Bars from zero as one collection: what ax.bar draws, without a Rectangle artist and a limits update per
    bar (a 60-bar chart spent a fifth of its time there). Zero is sticky, as bar() makes it."""
    half = thickness / 2
    boxes = [[(0, c - half), (v, c - half), (v, c + half), (0, c + half)] if horizontal else
             [(c - half, 0), (c + half, 0), (c + half, v), (c - half, v)] for c, v in zip(at, lengths)]
    collection = PolyCollection(boxes, facecolors=colours, edgecolors=edgecolors or "none",
                                linewidths=linewidths or 0, joinstyle="miter", capstyle="butt")
    (collection.sticky_edges.x if horizontal else collection.sticky_edges.y).append(0)
    ax.add_collection(collection)
    return collection


def bar_values(ax: Axes, rows: list[int], values: list[float], texts: list[str], axis_px: float) -> None:
    """Each bar's value just past its end (right of positive bars, left of negative), x limits made to fit."""
    widths = [text_px(t) + 14 for t in texts]
    right = max((w for w, v in zip(widths, values) if v >= 0), default=0.0)
    left = max((w for w, v in zip(widths, values) if v < 0), default=0.0)
    ax.set_xlim(fit_limits(min(values), max(values), left, right, axis_px))
    fig = ax.figure
    out = ScaledTranslation(8 / DPI, 0, fig.dpi_scale_trans)
    back = ScaledTranslation(-8 / DPI, 0, fig.dpi_scale_trans)
    for row, value, text in zip(rows, values, texts):
        ahead = value >= 0
        ax.text(value, row, text, transform=ax.transData + (out if ahead else back), va="center",
                ha="left" if ahead else "right", color=TEXT_GREY, clip_on=False)
