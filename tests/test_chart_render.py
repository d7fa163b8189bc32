"""The charts' renderer: matplotlib's own pixels, text remembered across charts (charts/render.py)."""
from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.figure import Figure

from charts import render
from charts import style as s
from tests.test_charts import CHARTS


def pixels(name: str, renderer: type[RendererAgg]) -> np.ndarray:
    """The chart's RGBA pixels as the given renderer draws its figure."""
    drawn: list[np.ndarray] = []

    def draw(fig: Figure) -> bytes:
        r = renderer(s.WIDTH_PX, s.HEIGHT_PX, s.DPI)
        fig.draw(r)
        drawn.append(np.asarray(r.buffer_rgba()).copy())
        return b""

    real = s.png
    s.png = draw
    try:
        CHARTS[name]()
    finally:
        s.png = real
    return drawn[0]


class ExactPhase(render.ChartRenderer):
    phase_step = 1  # every glyph at matplotlib's own 1/64 px position


@pytest.mark.parametrize("name", ["equity", "ranking"])
def test_with_exact_phases_the_pixels_are_matplotlibs_own_cold_and_warm(name):
    """Remembered fonts, measures, layouts and glyphs change nothing drawn: equal pixels, empty or full caches."""
    expected = pixels(name, RendererAgg)
    render.clear_caches()
    assert np.array_equal(pixels(name, ExactPhase), expected)
    assert render._GLYPHS and render._LAYOUTS and render._METRICS
    assert np.array_equal(pixels(name, ExactPhase), expected)


def test_quarter_pixel_phases_move_only_text_edges_and_by_little():
    """At the default 1/4 px a glyph moves at most 1/8 px: a few anti-aliased edge pixels differ, slightly."""
    expected = pixels("allocation", RendererAgg).astype(int)
    render.clear_caches()
    drawn = pixels("allocation", render.ChartRenderer).astype(int)
    diff = np.abs(drawn - expected)
    assert diff.any()  # really rounded
    assert diff.mean() < 0.3 and (diff.max(axis=2) > 0).mean() < 0.03
    assert diff.max() <= 64  # a quarter of full scale: an edge pixel a shade lighter or darker, never flipped


def test_a_chart_is_the_same_whatever_was_drawn_before():
    """A glyph remembered from another chart is the bitmap this chart would render itself: equal bytes."""
    render.clear_caches()
    cold = CHARTS["rebalance_pnl"]()
    for other in ("ranking", "allocation"):
        CHARTS[other]()
    assert CHARTS["rebalance_pnl"]() == cold


def test_a_redrawn_chart_renders_no_glyph_and_lays_out_no_string_again():
    render.clear_caches()
    CHARTS["ranking"]()
    counts = len(render._GLYPHS), len(render._LAYOUTS), len(render._METRICS), len(render._FONT_FILES)
    assert min(counts) > 0
    CHARTS["ranking"]()
    assert (len(render._GLYPHS), len(render._LAYOUTS), len(render._METRICS), len(render._FONT_FILES)) == counts


def test_a_full_cache_starts_over_instead_of_growing(monkeypatch):
    monkeypatch.setattr(render, "MAX_ENTRIES", 50)
    render.clear_caches()
    png = CHARTS["allocation"]()
    assert 0 < len(render._GLYPHS) <= 50 and len(render._LAYOUTS) <= 50
    assert CHARTS["allocation"]() == png
