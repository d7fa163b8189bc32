"""Charts: valid PNGs of the standard size, equal to reviewed baselines, sane on edge data, no leaks, no pyplot.

Regenerate the baselines after an intended look change, then review the PNGs before committing:
    UPDATE_CHART_BASELINES=1 .venv/bin/python -m pytest tests/test_charts.py -q -k baseline
"""
from __future__ import annotations

import asyncio
import io
import json
import math
import os
import re
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from matplotlib.figure import Figure
from matplotlib.image import imread
from matplotlib.testing.compare import compare_images

import charts
from charts import NothingToChart
from charts.ranking import lookback_text
from charts import style as s
from charts.equity import Scale, return_axis
from charts.inventory import _edges as inventory_edges, _header_text as inventory_header
from charts.inventory import _matrix as inventory_matrix, _series as inventory_series, _stack as inventory_stack
from charts.rebalances import aligned_limits
from charts.series import date_num, downsample, time_axis, zone_label
from charts.style import HEIGHT_PX, WIDTH_PX, number, tick_decimals
from tradingbot.core.domain import DustTotal, EquityMark, InventorySnapshot, Position, Ranking, RankRow, RebalanceRow

D = Decimal
ROOT = Path(__file__).resolve().parent.parent
BASELINES = Path(__file__).resolve().parent / "baseline"
UPDATE = os.environ.get("UPDATE_CHART_BASELINES") == "1"
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
TZ = ZoneInfo("Europe/Berlin")
MEMORY_TEST = "test_memory_stays_flat_over_1000_renders"


# --- hand-built inputs ------------------------------------------------------------------------

def marks(hours: int, start: float = 10000.0) -> list[EquityMark]:
    """Hourly equity: a gentle rise, a dip in the middle and a wiggle."""
    out = []
    for h in range(hours):
        e = start * (1 + 0.25 * h / max(hours, 1) - 0.08 * math.exp(-((h - hours / 2) / (hours / 10 + 1)) ** 2)
                     + 0.01 * math.sin(h / 5))
        out.append(EquityMark(T0 + timedelta(hours=h), D(f"{e:.2f}"), D(f"{e * 0.1:.2f}"), D(f"{e * 0.9:.2f}")))
    return out


def benchmarks(hours: int) -> dict[str, list[tuple[datetime, Decimal]]]:
    return {"BTC buy & hold": [(T0 + timedelta(hours=h), D(f"{10000 * (1 + 0.1 * math.sin(h / 90)):.2f}"))
                               for h in range(0, hours, 6)],
            "Equal-weight universe": [(T0 + timedelta(hours=h), D(f"{10000 * (1 - 0.05 * h / hours):.2f}"))
                                      for h in range(0, hours, 24)]}


def position(asset: str, qty: str, cost: str, price: str | None, dust: bool = False) -> Position:
    return Position(asset, D(qty), D(cost), D(0), D("0.5"), D(price) if price else None, dust)


POSITIONS = [position("BTC", "0.03", "2500", "95000"), position("ETH", "0.8", "2600", "3100"),
             position("SOL", "12", "1900", "150"), position("DOGE", "3000", "800", "0.21"),
             position("PEPE", "1000", "0.5", "0.0001", dust=True), position("TINY", "1", "0.2", "0.3", dust=True)]


def rebalance(i: int, before: str, after: str | None, state: str = "done", fees: str = "2.5") -> RebalanceRow:
    return RebalanceRow(i, f"slot{i}", "scheduled", state, T0 + timedelta(days=i), T0 + timedelta(days=i, minutes=2),
                        "momentum", "paper", ("BTCUSDT",), D(before), D(after) if after else None, D(1000), D(fees),
                        150.0, "")


def rebalances(count: int) -> list[RebalanceRow]:
    rows, equity = [], 10000.0
    for i in range(count):
        after = equity + 80 * math.sin(i * 1.7) + 5
        rows.append(rebalance(i, f"{equity:.2f}", f"{after:.2f}", "failed" if i % 9 == 4 else "done",
                              f"{2 + (i % 3) * 0.5:.2f}"))
        equity = after
    return rows


def ranking(count: int, strategy: str = "momentum", lookback: timedelta = timedelta(days=7),
            scores: list[str] | None = None) -> Ranking:
    values = scores or [f"{0.3 * math.cos(i * 0.37) * (1 - i / (count + 1)):.4f}" for i in range(count)]
    rows = sorted((RankRow(f"T{i:03d}USDT", D(v), D(5_000_000), True, "") for i, v in enumerate(values)),
                  key=lambda r: -(r.score or 0))
    picks = rows[-3:] if strategy == "reversal" else rows[:3]
    rows = [RankRow(r.symbol, r.score, r.quote_volume, True, "", selected=r in picks) for r in rows]
    rows.append(RankRow("NEWUSDT", None, D(0), False, "listed less than 30 days ago"))
    return Ranking(T0, strategy, lookback, 3, tuple(rows))


def inventory(days: int, assets: int) -> list[InventorySnapshot]:
    """A snapshot a day, the last one valued now; dust leftovers pile up, one more every other day."""
    out = []
    for d in range(days):
        values = {"USDT": D(f"{300 + 5 * d:.2f}")}
        for k in range(assets):
            if (d // 5 + k) % 4:  # each asset held three weeks in four
                values[f"A{k:02d}"] = D(f"{400 + 40 * k + 60 * math.sin(d / 6 + k):.2f}")
        dust = DustTotal(d // 2, D(d) / 20)
        out.append(InventorySnapshot(T0 + timedelta(days=d), values, dust, live=d == days - 1))
    return out


HEATMAP = [[round(math.sin(i * 1.3 + j * 0.7), 3) if (i + j) % 6 else None for j in range(5)] for i in range(8)]
X_LABELS = ["top 3", "top 5", "top 10", "top 15", "top 20"]
Y_LABELS = ["1d", "2d", "3d", "5d", "7d", "10d", "14d", "30d"]

CHARTS = {
    "equity": lambda: charts.equity_chart(marks(24 * 60), D(10000), D("123.45"), benchmarks(24 * 60), TZ, "USDT"),
    "allocation": lambda: charts.allocation_chart(POSITIONS, D("1500.12"), D("9600"), "USDT"),
    "rebalance_pnl": lambda: charts.rebalance_pnl_chart(rebalances(80), TZ, "USDT"),
    "ranking": lambda: charts.ranking_chart(ranking(60), frozenset({"T000USDT", "T017USDT", "T040USDT"})),
    "inventory": lambda: charts.inventory_chart(inventory(60, 12), TZ, "USDT"),
    "heatmap": lambda: charts.heatmap_chart(HEATMAP, X_LABELS, Y_LABELS, "Sharpe by lookback and top N", "Sharpe"),
}


# --- checks -----------------------------------------------------------------------------------

def assert_chart(png: bytes) -> None:
    """A PNG of exactly the standard size with real content."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = imread(io.BytesIO(png))
    assert pixels.shape[:2] == (HEIGHT_PX, WIDTH_PX)
    rgb = pixels[..., :3].reshape(-1, 3)
    assert rgb.std() > 0.05  # not blank
    assert len(np.unique((rgb[::7] * 255).astype(np.uint8), axis=0)) > 30  # lines, text, fills: many colours


def assert_nothing(render: Callable[[], bytes]) -> None:
    """Nothing to draw: NothingToChart with one short line fit to send to the chat as it is."""
    with pytest.raises(NothingToChart) as exc:
        render()
    text = str(exc.value)
    assert text and "\n" not in text and len(text) <= 100


@pytest.fixture(scope="module", autouse=True)
def memory_probe(request):
    """The 1000-render memory run, in its own process so it overlaps the other tests on a second core."""
    if not any(item.name == MEMORY_TEST for item in request.session.items):
        yield None
        return
    probe = subprocess.Popen([sys.executable, "-c", MEMORY_PROBE], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    yield probe
    if probe.poll() is None:
        probe.kill()
        probe.wait()


# --- each chart from fixed data, against its baseline -----------------------------------------

@pytest.mark.parametrize("name", sorted(CHARTS))
def test_chart_matches_its_baseline(name, tmp_path):
    png = CHARTS[name]()
    assert_chart(png)
    baseline = BASELINES / f"{name}.png"
    if UPDATE:
        BASELINES.mkdir(exist_ok=True)
        baseline.write_bytes(png)
    assert baseline.exists(), f"no baseline {baseline.name}: run with UPDATE_CHART_BASELINES=1 and review it"
    assert baseline.stat().st_size < 200_000
    actual = tmp_path / f"{name}.png"
    actual.write_bytes(png)
    assert compare_images(str(baseline), str(actual), tol=3) is None


def test_same_input_same_bytes_even_from_threads():
    """The bot draws in worker threads; the style lock keeps concurrent renders identical to serial ones."""
    expected = {name: CHARTS[name]() for name in ("allocation", "heatmap")}
    results: dict[str, bytes] = {}
    threads = [threading.Thread(target=lambda n=name: results.__setitem__(n, CHARTS[n]())) for name in expected]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == expected


# --- edge data: a readable chart or one line for the chat -------------------------------------

def test_equity_edges():
    assert_nothing(lambda: charts.equity_chart([], D(10000), D(0), {}, TZ, "USDT"))
    assert_chart(charts.equity_chart(marks(1), D(10000), D(0), {}, TZ, "USDT"))
    assert_chart(charts.equity_chart(marks(30), D(0), D(0), {"BTC buy & hold": []}, TZ, "USDT"))  # no deposits
    moved = [EquityMark(T0 + timedelta(hours=h), D(100 * 50 ** (h / 99)), D(0), D(0)) for h in range(100)]
    assert_chart(charts.equity_chart(moved, D(100), D(1), {}, TZ, "USDT"))


def test_two_years_of_hourly_marks_draw():
    # Speed is measured by benchmarks/bench_charts.py, not asserted here (a loaded CI machine is no stopwatch);
    # what keeps it fast, drawing at most MAX_POINTS per series, is the downsampling property test below.
    two_years = marks(2 * 365 * 24)
    assert len(two_years) == 17_520
    assert_chart(charts.equity_chart(two_years, D(10000), D("812.5"), benchmarks(2 * 365 * 24), TZ, "USDT"))


def test_allocation_edges():
    assert_nothing(lambda: charts.allocation_chart([], D(500), D(500), "USDT"))
    assert_nothing(lambda: charts.allocation_chart([position("GONE", "1", "5", None)], D(0), D(0), "USDT"))  # no price
    assert_chart(charts.allocation_chart([position("BTC", "0.1", "9000", "95000")], D(0), D(9500), "USDT"))
    assert_chart(charts.allocation_chart([position("MOON", "100", "100", "50")], D(10), D(5010), "USDT"))  # 50x
    many = [position(f"T{i}", "1", "10", str(10 + i)) for i in range(25)] + [position("DUST", "1", "1", "0.5", True)]
    assert_chart(charts.allocation_chart(many, D(-3), D(500), "USDT"))  # others, dust, even negative cash


def test_rebalance_edges():
    assert_nothing(lambda: charts.rebalance_pnl_chart([], TZ, "USDT"))
    states = [rebalance(1, "100", None, "selling"), rebalance(2, "100", "90", "failed")]
    assert_nothing(lambda: charts.rebalance_pnl_chart(states, TZ, "USDT"))
    assert_chart(charts.rebalance_pnl_chart([rebalance(1, "10000", "10020")], TZ, "USDT"))
    assert_chart(charts.rebalance_pnl_chart(rebalances(400), TZ, "USDT"))  # latest 60 of 356 done
    assert_chart(charts.rebalance_pnl_chart([rebalance(1, "100", "5000", fees="0")], TZ, "USDT"))  # 50x, no fees


def test_ranking_edges():
    empty = Ranking(T0, "momentum", timedelta(hours=12), 3, (RankRow("XUSDT", None, D(0), False, "halted"),))
    assert_nothing(lambda: charts.ranking_chart(empty, frozenset()))
    assert_chart(charts.ranking_chart(ranking(1), frozenset({"T000USDT"})))
    assert_chart(charts.ranking_chart(ranking(5, scores=["49", "0.1", "0", "-0.2", "-0.9"]), frozenset()))  # 50x
    assert_chart(charts.ranking_chart(ranking(300, "reversal", timedelta(hours=12)), frozenset({"ZZZUSDT"}), n=40))
    assert_chart(charts.ranking_chart(ranking(4, scores=["0", "0", "0", "0"]), frozenset(), n=0))


def test_inventory_edges():
    assert_nothing(lambda: charts.inventory_chart([], TZ, "USDT"))
    assert_nothing(lambda: charts.inventory_chart([(T0, {}), (T0 + timedelta(days=1), {"USDT": D(0)})], TZ, "USDT"))
    assert_chart(charts.inventory_chart([(T0, {"USDT": D(100), "BTC": D(900)})], TZ, "USDT"))  # one snapshot
    assert_chart(charts.inventory_chart([(T0 + timedelta(days=d), {"BTC": D(100 + d)}) for d in range(9)], TZ, "USDT"))
    moon = [(T0 + timedelta(hours=h), {"USDT": D(10), "MOON": D(100 * 50 ** (h / 47))}) for h in range(48)]
    assert_chart(charts.inventory_chart(moon, TZ, "USDT"))
    assert_chart(charts.inventory_chart(inventory(2500, 30), TZ, "USDT"))  # thinned, top 8 + other


def test_heatmap_edges():
    for empty in ([], [[]], [[None, None], [None]]):
        assert_nothing(lambda: charts.heatmap_chart(empty, [], [], "t", "m"))
    assert_chart(charts.heatmap_chart([[1.5]], ["a"], ["b"], "One run", "Return"))
    assert_chart(charts.heatmap_chart([[1, 2, 3], [4, None]], ["a"], ["x", "y", "z"], "Ragged", "Sharpe"))
    assert_chart(charts.heatmap_chart([[float("nan"), -2.0, 3e6]], ["long label one", "two", "three"], ["r"],
                                      "Wide", "P/L"))
    big = [[math.sin(i * j) for j in range(25)] for i in range(25)]
    assert_chart(charts.heatmap_chart(big, [f"p{j}" for j in range(25)], [f"q{i}" for i in range(25)], "25×25", "m"))


# --- helpers ----------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=6000), st.integers(4, 3000))
def test_downsample_keeps_ends_and_extremes_within_budget(values, budget):
    y = np.array(values)
    x = np.arange(len(y), dtype=float)
    dx, dy = downsample(x, y, budget)
    assert len(dx) <= max(budget, 4) and len(dx) == len(dy)
    assert dx[0] == 0 and dx[-1] == len(y) - 1
    assert dy.min() == y.min() and dy.max() == y.max()
    assert np.all(np.diff(dx) > 0) and np.array_equal(y[dx.astype(int)], dy)  # in order, real points


def test_text_helpers():
    assert lookback_text(timedelta(days=7)) == "7d" and lookback_text(timedelta(hours=12)) == "12h"
    assert lookback_text(timedelta(minutes=90)) == "90m"
    assert zone_label(TZ, [T0]) == "CET"
    assert zone_label(TZ, [T0, T0 + timedelta(days=60)]) == "CET/CEST"
    assert number(1234567.891, 0) == "1,234,568" and number(-0.3, 0) == "0"
    assert number(-1234.5, 1, sign=True) == "\N{MINUS SIGN}1,234.5" and number(2, 1, sign=True) == "+2.0"
    assert tick_decimals([0, 2000, 4000]) == 0 and tick_decimals([0, 2.5, 5]) == 1  # never "2 %" for 2.5 %
    assert tick_decimals([0.1, 0.15000000000000002, 0.2]) == 2


# --- process-level properties -----------------------------------------------------------------

PYPLOT_PROBE = """
import sys
import charts
loaded = "matplotlib.pyplot" in sys.modules
from tests.test_charts import CHARTS  # the test's own imports (pytest, matplotlib.testing) load no pyplot either
for render in CHARTS.values():
    render()
print(loaded or "matplotlib.pyplot" in sys.modules)
"""


def test_charts_never_import_pyplot():
    """A fresh interpreter: importing charts and drawing every chart leaves pyplot unloaded."""
    out = subprocess.run([sys.executable, "-c", PYPLOT_PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


MEMORY_PROBE = """
import gc, json, resource, sys
import charts
from matplotlib.figure import Figure

def peak_mb():
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**20 if sys.platform == "darwin" else 2**10)  # bytes on macOS, KiB on Linux

warm = None
for i in range(1000):
    charts.heatmap_chart([[1.0]], ["a"], ["b"], "Quick", "m")  # the quickest chart to draw
    if i == 99:  # caches (fonts, glyphs, text metrics) are full by now
        gc.collect()
        warm = peak_mb()
gc.collect()
print(json.dumps({"warm_mb": warm, "end_mb": peak_mb(),
                  "figures": sum(isinstance(o, Figure) for o in gc.get_objects())}))
"""


def test_memory_stays_flat_over_1000_renders(memory_probe):
    """Peak RSS after 1000 renders is within a few MB of the peak after 100, and no Figure outlives its render."""
    assert memory_probe is not None
    out, err = memory_probe.communicate(timeout=600)  # ~30 s alone; minutes when the machine is shared
    assert memory_probe.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["end_mb"] - result["warm_mb"] < 16, result
    assert result["figures"] == 0, result


# --- one time axis, a % scale with its zero, aligned zeros, inventory steps ---------------------

def tick_labels(span: timedelta, start: datetime = T0) -> tuple[list[str], str]:
    """The x tick labels and axis label the shared time axis gives data from start to start + span."""
    fig = Figure()
    ax = fig.add_axes((0, 0, 1, 1))
    time_axis(ax, TZ, [start, start + span])
    lo, hi = ax.get_xlim()
    locs = [t for t in ax.xaxis.get_major_locator()() if lo <= t <= hi]
    return ax.xaxis.get_major_formatter().format_ticks(locs), ax.get_xlabel()


@pytest.mark.parametrize("span, pattern, label", [
    (timedelta(0), r"\d\d:\d\d", "(CET), 2 Mar 2026"),  # one point: its own day, never the next
    (timedelta(seconds=90), r"\d\d:\d\d", "(CET), 2 Mar 2026"),  # minutes of history: no seconds
    (timedelta(hours=30), r"(\d{1,2} [A-Z][a-z]{2} )?\d\d:\d\d|\d{1,2} [A-Z][a-z]{2}", "(CET), 2026"),
    (timedelta(days=20), r"\d{1,2} [A-Z][a-z]{2}", "(CET), 2026"),
    (timedelta(days=200), r"[A-Z][a-z]{2} 2026", "(CET/CEST), 2026"),
    (timedelta(days=2000), r"20\d\d", "(CET/CEST), 2026–2031"),
])
def test_one_time_axis_reads_at_minutes_days_and_years(span, pattern, label):
    labels, xlabel = tick_labels(span)
    assert len(labels) >= 2 and all(re.fullmatch(pattern, t) for t in labels), labels
    assert len(set(labels)) == len(labels) and xlabel.endswith(label)


def test_equity_is_a_return_scale_with_break_even_in_sight():
    """A 0.15 % fee on 10,000 must not fill the panel: zero shows and the axis spans at least 2 points."""
    fig = Figure()
    ax = fig.add_axes((0, 0, 1, 1))
    scale = Scale(D(10000))
    right = return_axis(ax, scale, scale(np.array([10000.0, 9985.0, 9985.0])), "USDT")
    lo, hi = ax.get_ylim()
    assert lo < -0.15 and hi > 0 and hi - lo >= 2.0
    assert right is not None and scale.money(np.array([0.0, -1.0])).tolist() == [10000.0, 9900.0]
    rising = scale(np.array([10000.0, 14000.0]))
    return_axis(ax, scale, rising, "USDT")
    assert ax.get_ylim()[0] <= 0 <= 40 <= ax.get_ylim()[1]


@pytest.mark.parametrize("left", [(-100.0, 120.0), (-5.0, 300.0), (0.0, 50.0), (-80.0, -10.0)])
def test_the_fees_axis_puts_its_zero_level_with_the_pnl_zero(left):
    lo, hi = left
    flo, fhi = aligned_limits(left, 40.0)
    pnl_zero = (0 - lo) / (hi - lo) if lo < 0 < hi else 0.0
    assert fhi == 40.0 and abs((0 - flo) / (fhi - flo) - pnl_zero) < 1e-12


def held_now(real: int, dust: int) -> InventorySnapshot:
    values = {"USDT": D("0.49"), **{f"R{i:02d}": D(780 + i) for i in range(real)}}
    return InventorySnapshot(T0 + timedelta(days=11), values, DustTotal(dust, D("1.64")), live=True)


def test_inventory_names_the_largest_and_keeps_dust_apart():
    """Ten holdings and 32 dust coins: eight named, "other (2)" of real holdings, dust its own band."""
    history = [InventorySnapshot(T0 + timedelta(days=d), {"USDT": D(10000)}) for d in range(11)] + [held_now(10, 32)]
    assets, matrix = inventory_matrix(history)
    dust = np.array([float(s.dust.value) for s in history])
    names = [n for n, _, _ in inventory_series(assets, matrix, dust, "USDT")]
    assert names[0] == "USDT cash" and names[1:9] == [f"R{i:02d}" for i in range(9, 1, -1)]
    assert names[9:] == ["other (2)", "dust"]
    header = inventory_header(history, matrix.sum(axis=0) + dust, matrix, assets, "USDT", len(history), TZ)
    assert header.startswith("Now 7,847.13 USDT in 10 assets + cash · dust: 32 coins ≈ 1.64 USDT")  # equity


def test_inventory_steps_hold_each_rebalance_until_the_next():
    """Edges at the snapshots; each step shows one snapshot, the last period valued now (no ramps)."""
    recorded = [InventorySnapshot(T0 + timedelta(days=d), {"USDT": D(d)}) for d in range(3)]
    edges, shown = inventory_edges(recorded + [held_now(2, 0)])
    assert len(edges) == 4 and shown == [0, 1, 3, 3]  # the third period shows the holdings valued now
    edges, shown = inventory_edges(recorded)  # nothing live: the last holdings extend one period, "as of"
    assert len(edges) == 4 and edges[-1] - edges[-2] == pytest.approx(1.0) and shown == [0, 1, 2, 2]


def test_a_single_inventory_snapshot_is_a_moment_not_a_period():
    fig = Figure()
    ax = fig.add_axes((0, 0, 1, 1))
    inventory_stack(ax, date_num([T0]), [("BTC", np.array([900.0]), s.BLUE)], TZ, T0)
    assert ax.get_xlim() == (-1, 1) and [t.get_text() for t in ax.get_xticklabels()] == ["2 Mar 2026 09:00 CET"]


def test_a_chart_reply_leaves_no_figure_behind_for_the_collector(world):
    """A figure is a web of cycles: left to the collector's own pace, a burst of charts kept ~100 MB of dead
    figures in the bot. Each chart reply collects its figure as it is drawn: nothing is left to collect."""
    import gc

    from handlers import chart_replies

    asyncio.run(world.services.rebalance_now())
    gc.collect()
    gc.disable()  # only the chart's own collection may run
    try:
        photo = asyncio.run(chart_replies.allocation(world.services))
        left = gc.collect()
    finally:
        gc.enable()
    assert photo.png.startswith(b"\x89PNG")
    assert left == 0
