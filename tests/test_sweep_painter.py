"""A sweep's heatmaps are drawn by a forked painter that imports matplotlib while the runs go: the same files
as drawn in process, the sweeping process never importing the plotting library, errors raised in it."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from charts import NothingToChart
from handlers.sweep_heatmaps import HeatmapPainter, write_heatmaps
from tests.test_backtest_cli import ROOT
from tradingbot.core.backtest.config import BacktestConfig
from tradingbot.core.backtest.report import SweepRow
from tradingbot.core.params import StrategyParams

KEYS = ["lookback", "topn", "strategy"]


def rows(metrics: dict[str, float] | None = None) -> list[SweepRow]:
    config = BacktestConfig(StrategyParams())
    return [SweepRow((f"lookback={lb}", f"topn={n}", f"strategy={s}"), config,
                     metrics or {"sharpe": 0.1 * lb - 0.2 * n, "days": 400.0})
            for s in ("momentum", "reversal") for lb in (1, 3, 7) for n in (2, 5)]


PAINT = """
import json, pickle, sys
from pathlib import Path
from handlers.sweep_heatmaps import HeatmapPainter
painter = HeatmapPainter(True)
paths = painter.draw(Path(sys.argv[1]), *pickle.loads(bytes.fromhex(sys.argv[2])))
print(json.dumps({"plotting_here": "matplotlib" in sys.modules, "paths": [p.name for p in paths]}))
"""


def test_the_painter_writes_the_heatmaps_drawn_in_process_without_importing_matplotlib_here(tmp_path):
    import pickle

    job = pickle.dumps((KEYS, rows(), "sharpe")).hex()
    (tmp_path / "painted").mkdir()
    done = subprocess.run([sys.executable, "-c", PAINT, str(tmp_path / "painted"), job], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    (tmp_path / "here").mkdir()
    here = write_heatmaps(tmp_path / "here", KEYS, rows(), "sharpe")
    assert answer == {"plotting_here": False, "paths": [p.name for p in here]} and len(here) == 2
    assert all((tmp_path / "painted" / p.name).read_bytes() == p.read_bytes() for p in here)


def test_an_error_drawing_is_raised_in_the_sweeping_process(tmp_path):
    painter = HeatmapPainter(True)
    with pytest.raises(NothingToChart):
        painter.draw(tmp_path, KEYS, rows({"days": 400.0}), "sharpe")  # no sharpe anywhere: nothing to chart
    assert painter.conn is None and not painter.process.is_alive()


def test_a_painter_closed_without_a_job_leaves():
    painter = HeatmapPainter(True)
    painter.close()
    assert not painter.process.is_alive() and painter.process.exitcode == 0
    assert HeatmapPainter(False).conn is None  # one swept key: no heatmap, no process
