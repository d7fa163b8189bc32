"""What keeps charts fast changes nothing drawn: the renderer's remembered text (charts/render.py), thinned
series (charts/series.py), locators and formatters asked once per view (charts/style.py)."""
from __future__ import annotations

import io
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.figure import Figure
from matplotlib.image import imread

import charts
from charts import render
from charts import style as s
from charts.equity import Scale, money_side
from charts.series import bucket_size, date_num, date_num_at, extremes
from tests.test_charts import CHARTS, D, T0, TZ, benchmarks, marks


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


# --- thinned series -----------------------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=600), st.integers(4, 120))
def test_thinning_keeps_the_ends_and_every_buckets_lowest_and_highest(values, budget):
    y = np.array(values)
    keep = extremes(y, budget)
    n = len(y)
    assert len(keep) <= max(budget, 4) and np.all(np.diff(keep) > 0)  # within budget, in order, no repeats
    assert keep[0] == 0 and keep[-1] == n - 1
    if len(keep) == n:
        return
    size = bucket_size(n, budget)
    for start in range(1, n - 1, size):
        bucket = y[start:min(start + size, n - 1)]
        kept = y[keep[(keep >= start) & (keep < start + size) & (keep < n - 1)]]
        assert bucket.min() in kept and bucket.max() in kept


def test_dates_of_kept_points_only_equal_the_whole_series_thinned():
    times = [m.time for m in marks(500)]
    keep = extremes(np.sin(np.arange(500) / 7), 60)
    assert np.array_equal(date_num_at(times, keep), date_num(times)[keep])


# --- locators and formatters asked once per view ------------------------------------------------

def test_a_money_axis_works_its_ticks_out_once_per_view_and_makes_ticks_only_for_those_drawn():
    with s.figure() as fig:
        ax = fig.add_axes((0.1, 0.1, 0.8, 0.8))
        ax.plot([0, 1], [3.2, 97.1])
        s.money_axis(ax)
        ax.set_ylim(3.2, 97.1)
        locator = ax.yaxis.get_major_locator()
        first = locator()
        assert locator() is first  # remembered, not worked out again
        assert list(first) == [20, 40, 60, 80]  # MaxNLocator alone gives 0 and 100 too, outside the view
        s.png(fig)
        assert len(ax.yaxis.majorTicks) == 4  # a Tick made for each drawn one only
        ax.set_ylim(0, 10)
        assert locator() is not first and 0 in locator() and 10 in locator()


def test_a_view_with_fewer_than_two_ticks_inside_keeps_the_outside_ones_for_the_step():
    with s.figure() as fig:
        ax = fig.add_axes((0.1, 0.1, 0.8, 0.8))
        ax.yaxis.set_major_locator(s.RoundTicks(nbins=1, min_n_ticks=1))
        ax.set_ylim(0.41, 0.49)
        locator = ax.yaxis.get_major_locator()
        assert list(locator()) == list(locator.tick_values(0.41, 0.49)) and len(locator()) == 3  # one inside


# --- the same chart: texts, legend and axes ---------------------------------------------------

class Recording(render.ChartRenderer):
    """Notes every string drawn."""

    drawn: list[str] = []

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):  # type: ignore[no-untyped-def]
        Recording.drawn.append(s)
        super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)


def test_the_equity_chart_keeps_its_texts_legend_and_axis_labels(monkeypatch):
    monkeypatch.setattr(s, "ChartRenderer", Recording)
    Recording.drawn = []
    charts.equity_chart(marks(24 * 60), D(10000), D("123.45"), benchmarks(24 * 60), TZ, "USDT")
    # Every string drawn, once each (the order is the draw order, which does not show): tick labels included.
    assert sorted(Recording.drawn) == sorted([
        "Equity 12,404.13 USDT", "Net P/L +2,404.13 USDT (+24.04 %) · fees 123.45 USDT",
        "Max drawdown −5.06 % · since 2 Mar 2026", "Amounts in USDT · 1,440 equity marks · the last valued now",
        "Portfolio", "BTC buy & hold", "Equal-weight universe",  # the legend
        "Return on deposits", "−10 %", "0 %", "10 %", "20 %",  # left: down to BTC's low
        "Equity, USDT", "9,000", "10,000", "11,000", "12,000",  # right
        "Drawdown", "−5 %", "−4 %", "−3 %", "−2 %", "−1 %", "0 %",
        "Time (CET/CEST), 2026", "15 Mar", "1 Apr", "15 Apr", "1 May"])


def test_a_benchmark_falling_further_than_the_portfolio_stays_on_the_equity_chart(monkeypatch):
    monkeypatch.setattr(s, "ChartRenderer", Recording)
    Recording.drawn = []
    falling = {"BTC buy & hold": [(T0 + timedelta(hours=h), D(10000) - D(60) * h) for h in range(0, 24 * 5, 6)]}
    charts.equity_chart(marks(24 * 5), D(10000), D(0), falling, TZ, "USDT")  # BTC ends at −68 %
    left = [float(t[:-2].replace("−", "-")) for t in Recording.drawn if t.endswith(" %") and t[0] in "−0123456789"]
    assert min(left) <= -60  # the return axis reaches down to the benchmark (−68 % at its low)


# --- bars as one collection, the equity chart's money axis as a few artists ---------------------

def drawn_pixels(build) -> np.ndarray:
    """The pixels of a standard figure that build(fig) fills, glyphs at matplotlib's own positions."""
    with s.figure() as fig:
        build(fig)
        r = ExactPhase(s.WIDTH_PX, s.HEIGHT_PX, s.DPI)
        fig.draw(r)
        return np.asarray(r.buffer_rgba()).copy()


@pytest.mark.parametrize("horizontal", [False, True])
def test_bars_as_one_collection_draw_what_bar_draws(horizontal):
    at, lengths = [0, 1, 2, 3, 4], [3.5, -1.25, 0.4, 2.0, -2.6]
    colours = [s.GAIN if v >= 0 else s.LOSS for v in lengths]
    limits: list[tuple[float, float]] = []

    def with_bar(fig: Figure) -> None:
        ax = fig.add_axes((0.1, 0.1, 0.8, 0.8))
        (ax.barh if horizontal else ax.bar)(at, lengths, 0.75, color=colours, edgecolor=[s.BLACK] + ["none"] * 4,
                                            linewidth=[3, 0, 0, 0, 0])
        limits.append(ax.get_xlim() if horizontal else ax.get_ylim())

    def with_bars(fig: Figure) -> None:
        ax = fig.add_axes((0.1, 0.1, 0.8, 0.8))
        s.bars(ax, at, lengths, 0.75, colours, horizontal=horizontal, edgecolors=[s.BLACK] + ["none"] * 4,
               linewidths=[3, 0, 0, 0, 0])
        limits.append(ax.get_xlim() if horizontal else ax.get_ylim())

    assert np.array_equal(drawn_pixels(with_bars), drawn_pixels(with_bar))
    assert limits[0] == limits[1]


def test_all_positive_bars_keep_zero_as_the_axis_edge():
    with s.figure() as fig:
        ax = fig.add_axes((0.1, 0.1, 0.8, 0.8))
        s.bars(ax, [0, 1, 2], [1.0, 2.0, 3.0], 0.7, [s.GAIN] * 3)
        assert ax.get_ylim()[0] == 0


def test_the_money_axis_draws_as_a_secondary_axis_did():
    """Spine, tick marks, labels and axis label where matplotlib's secondary axis put them: a few glyph pixels apart."""
    scale = Scale(D("12345.67"))

    def axes(fig: Figure):
        ax = fig.add_axes((0.12, 0.1, 0.7, 0.8))
        ax.set_ylim(-7.5, 31.0)
        return ax

    def secondary(fig: Figure) -> None:
        right = axes(fig).secondary_yaxis("right", functions=(scale.money, scale))
        s.money_axis(right)
        right.set_ylabel("Equity, USDT")

    new, old = drawn_pixels(lambda fig: money_side(axes(fig), scale, "USDT")), drawn_pixels(secondary)
    differs = np.abs(new.astype(int) - old.astype(int)).max(axis=2) > 24
    assert (new != 255).any(axis=2)[:, 900:].sum() > 1000  # labels and axis label really drawn
    assert differs.sum() < 150


def test_the_png_of_rgba_pixels_is_that_of_their_rgb_and_decodes_to_them():
    rgba = np.random.default_rng(1).integers(0, 256, (37, 23, 4), dtype=np.uint8)
    png = s.encode_png(rgba)
    assert png == s.encode_png(np.ascontiguousarray(rgba[..., :3]))
    decoded = imread(io.BytesIO(png))
    assert np.array_equal((decoded * 255).round().astype(np.uint8), rgba[..., :3])
