"""Many configurations over one panel, on every core: the panel is built once and shared by fork."""
from __future__ import annotations

import multiprocessing as mp
import os
from typing import Callable, Sequence

from ..core.backtest.config import BacktestConfig
from ..core.backtest.metrics import run_metrics
from ..core.backtest.panel import Panel
from ..core.backtest.simulate import simulate

_PANEL: Panel | None = None  # set in the parent just before forking; the workers read their inherited copy


def _one(config: BacktestConfig) -> dict[str, float]:
    assert _PANEL is not None
    return run_metrics(simulate(_PANEL, config))


def run_sweep(panel: Panel, configs: Sequence[BacktestConfig], workers: int | None = None,
              progress: Callable[[int, int], None] = lambda done, total: None) -> list[dict[str, float]]:
    """The metrics of each configuration, in the order given."""
    global _PANEL
    _PANEL = panel.warm()  # derived arrays computed once, before the fork, so no worker recomputes them
    workers = min(workers or os.cpu_count() or 1, len(configs))
    results: list[dict[str, float]] = []
    try:
        if workers <= 1 or "fork" not in mp.get_all_start_methods():
            for config in configs:
                results.append(_one(config))
                progress(len(results), len(configs))
            return results
        with mp.get_context("fork").Pool(workers) as pool:
            for metrics in pool.imap(_one, configs, chunksize=max(1, len(configs) // (4 * workers))):
                results.append(metrics)
                progress(len(results), len(configs))
        return results
    finally:
        _PANEL = None
