"""The Agg renderer every chart is drawn with: matplotlib's own, remembering text from one chart to the next.

Text is a chart's costliest part to draw. For every string matplotlib finds the font (a few rcParams reads
per call), lays the string out twice through libraqm (once to measure it, once to draw it) and has FreeType
rasterise each glyph afresh, ~60 µs a glyph; a chart has 40-70 strings and 500-700 glyphs. Charts write the
same few strings and the same ~100 glyphs over and over, so this renderer keeps, process-wide:

- the font files found for a font's properties;
- each string's measure and layout (glyph indices and positions), per font, size and hinting;
- each glyph's bitmap, per font, size, angle and sub-pixel phase.

The phase is where a glyph's origin falls within a pixel, a multiple of 1/64 px. Kept exact, a cached glyph
is the very bitmap FreeType would render there (`PHASE_STEP = 1` draws pixel-identical charts); at the
default 1/4 px a glyph sits at most 1/8 px from where matplotlib would put it, invisible at any zoom, and
a glyph has 16 bitmaps per size to hit instead of 4,096.

Bound to matplotlib 3.11's Agg internals (`_prepare_font`, `FT2Font._layout`, `_render_glyph`); matplotlib
is pinned, and tests/test_chart_speed.py compares this renderer's pixels with matplotlib's own.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import RendererAgg, get_hinting_flag
from matplotlib.font_manager import FontProperties, fontManager, get_font
from matplotlib.ft2font import FT2Font, RenderMode

PHASE_STEP = 16  # glyph origins are rounded to 16/64 = 1/4 px
MAX_ENTRIES = 20_000  # per cache; at ~20 × 20 bytes a glyph, a full glyph cache is well under 10 MB

# (font properties) -> font files; (files, size, dpi, hinting, string) -> metrics or layout;
# (file, size, dpi, hinting, glyph, angle, phase x, phase y, antialiased) -> (bitmap, left, top) at that phase
_FONT_FILES: dict[tuple[Any, ...], tuple[str, ...]] = {}
_METRICS: dict[tuple[Any, ...], tuple[float, float, float]] = {}
_LAYOUTS: dict[tuple[Any, ...], tuple[tuple[str, int, float, float], ...]] = {}
_GLYPHS: dict[tuple[Any, ...], tuple[np.ndarray, int, int]] = {}


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> Any:
    """Store value under key, emptying a full cache first (what one chart needs refills it in milliseconds)."""
    if len(cache) >= MAX_ENTRIES:
        cache.clear()
    cache[key] = value
    return value


def _prop_key(prop: FontProperties) -> tuple[Any, ...]:
    """What matplotlib's font lookup depends on, under the charts' fixed style."""
    return (tuple(prop.get_family()), prop.get_style(), prop.get_variant(), prop.get_weight(), prop.get_stretch(),
            prop.get_size_in_points(), prop.get_file(), prop.get_math_fontfamily())


def clear_caches() -> None:
    """Forget every font, measure, layout and glyph (tests compare cold and warm renders)."""
    for cache in (_FONT_FILES, _METRICS, _LAYOUTS, _GLYPHS):
        cache.clear()


def text_width(text: str, prop: FontProperties, dpi: float) -> float:
    """Width in pixels of one line of text as matplotlib lays it out (a label's bounding box), remembered."""
    return _measurer(dpi).get_text_width_height_descent(text, prop, False)[0]


@lru_cache(maxsize=4)
def _measurer(dpi: float) -> ChartRenderer:
    """A 1 × 1 renderer to measure with: making one costs more than measuring (it builds a mathtext parser)."""
    return ChartRenderer(1, 1, dpi)


class ChartRenderer(RendererAgg):
    """RendererAgg with its fonts, text measures, layouts and glyph bitmaps kept across renderers."""

    phase_step = PHASE_STEP

    def _font_files(self, prop: FontProperties) -> tuple[str, ...]:
        key = _prop_key(prop)
        files = _FONT_FILES.get(key)
        if files is None:
            files = _remember(_FONT_FILES, key, tuple(fontManager._find_fonts_by_props(prop)))
        return files

    def _prepare_font(self, font_prop: FontProperties) -> FT2Font:
        """matplotlib's own, with the font lookup remembered."""
        font = get_font(list(self._font_files(font_prop)))
        font.clear()
        font.set_size(font_prop.get_size_in_points(), self.dpi)
        return font

    def _text_key(self, s: str, prop: FontProperties) -> tuple[Any, ...]:
        return (self._font_files(prop), prop.get_size_in_points(), self.dpi, get_hinting_flag(), s)

    def get_text_width_height_descent(self, s: str, prop: FontProperties, ismath: Any) -> tuple[float, float, float]:
        if ismath:
            return super().get_text_width_height_descent(s, prop, ismath)
        key = self._text_key(s, prop)
        metrics = _METRICS.get(key)
        if metrics is None:
            metrics = _remember(_METRICS, key, super().get_text_width_height_descent(s, prop, ismath))
        return metrics

    def _layout(self, s: str, prop: FontProperties) -> tuple[tuple[str, int, float, float], ...]:
        """(font file, glyph index, x, y) of each glyph of s, as libraqm lays them out for drawing."""
        key = self._text_key(s, prop)
        items = _LAYOUTS.get(key)
        if items is None:
            font = self._prepare_font(prop)
            items = _remember(_LAYOUTS, key, tuple((item.ft_object.fname, item.glyph_index, item.x, item.y)
                                                   for item in font._layout(s, flags=get_hinting_flag())))
        return items

    def draw_text(self, gc: Any, x: float, y: float, s: str, prop: FontProperties, angle: float,
                  ismath: Any = False, mtext: Any = None) -> None:
        if ismath or (mtext is not None and (mtext.get_fontfeatures() or mtext.get_language())):
            return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        size, height, step = prop.get_size_in_points(), self.height, self.phase_step
        antialiased = bool(gc.get_antialiased())
        for file, glyph, dx, dy in self._layout(s, prop):
            # The glyph's origin in FreeType's 26.6 fixed point, y upwards, as matplotlib computes it.
            fx = round(round(0x40 * (x + dx * cos - dy * sin)) / step) * step
            fy = round(round(0x40 * (height - y + dx * sin + dy * cos)) / step) * step
            bitmap, left, top = self._glyph(file, size, glyph, angle, fx & 63, fy & 63, antialiased)
            if bitmap.size:
                # Shifting a glyph by whole pixels shifts its bitmap and nothing else.
                top += fy >> 6
                self._renderer.draw_text_image(bitmap, left + (fx >> 6), int(height) - top + bitmap.shape[0], 0, gc)

    def _glyph(self, file: str, size: float, glyph: int, angle: float, phase_x: int, phase_y: int,
               antialiased: bool) -> tuple[np.ndarray, int, int]:
        """The glyph's bitmap with its origin phase_x, phase_y (1/64 px) into pixel (0, 0), rendered once."""
        key = (file, size, self.dpi, get_hinting_flag(), glyph, angle, phase_x, phase_y, antialiased)
        cached = _GLYPHS.get(key)
        if cached is None:
            font: Any = get_font(file)  # _set_transform and _render_glyph are private to matplotlib
            font.set_size(size, self.dpi)
            cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
            font._set_transform((0x10000 * np.array([[cos, -sin], [sin, cos]])).round().astype(int),
                                [phase_x, phase_y])
            bitmap = font._render_glyph(glyph, get_hinting_flag(),
                                        RenderMode.NORMAL if antialiased else RenderMode.MONO)
            buffer = bitmap.buffer if antialiased else bitmap.buffer * 0xFF
            cached = _remember(_GLYPHS, key, (buffer, bitmap.left, bitmap.top))
        return cached
