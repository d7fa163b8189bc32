"""The backtest use case: load the candles (cache or file), run one configuration or a sweep, return typed results.

Synchronous and CPU-bound: the chat front end runs it in a worker thread, the CLI directly. The candles come
through the CandleSource port (adapters/candle_cache.py reads the cache or a file).
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Callable, Sequence

from .ports import CandleSource, Progress

if TYPE_CHECKING:  # the engine loads when a backtest runs: a bot answering text never needs it
    from ..core.backtest.capacity import Capacity
    from ..core.backtest.config import BacktestConfig
    from ..core.backtest.panel import Panel
    from ..core.backtest.report import BacktestReport, SweepRow


def __getattr__(name: str) -> object:
    """BacktestReport and SweepRow, long importable from here, loaded on first use like the engine."""
    if name in ("BacktestReport", "SweepRow"):
        from ..core.backtest import report
        return getattr(report, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Backtester:
    """Runs backtests over the candles of one source (the cache, or a file)."""

    def __init__(self, candles: CandleSource):
        self.candles = candles
        self.lock = threading.Lock()  # the chat runs one backtest at a time: each takes a core and memory

    def load(self, configs: Sequence[BacktestConfig]) -> tuple[Panel, int]:
        """One panel wide enough for every configuration (the longest lookback, the whole window), and the
        number of unusable rows the source reported."""
        starts = [c.start for c in configs]
        ends = [c.end for c in configs]
        start = None if None in starts else min(s for s in starts if s)
        end = None if None in ends else max(e for e in ends if e)
        return self.candles.load(start, end, max(c.history_days() for c in configs), configs[0].params.quote,
                                 opens=any(c.delay for c in configs), interval=configs[0].interval,
                                 ranges=any(c.execution.volume for c in configs))

    def run(self, config: BacktestConfig, progress: Progress = lambda _: None,
            panel: Panel | None = None) -> BacktestReport:
        from ..core.backtest.metrics import benchmark_paths, curve_metrics, run_metrics
        from ..core.backtest.report import BacktestReport
        from ..core.backtest.simulate import simulate

        progress("loading candles")
        panel, bad = (panel, 0) if panel is not None else self.load([config])
        progress(f"simulating {len(panel.symbols)} symbols on {panel.interval} candles")
        run = simulate(panel, config)
        paths = {name: path[run.day_ends] for name, path in benchmark_paths(panel, run).items()}
        return BacktestReport(
            config, panel.date_of(run.first_row), run.daily_equity, run_metrics(run), paths,
            {name: curve_metrics(path, config.capital) for name, path in paths.items()},
            len(panel.symbols), bad, run.last_picks, panel.interval)

    def capacity(self, config: BacktestConfig, capitals: tuple[float, ...],
                 progress: Progress = lambda _: None) -> Capacity:
        """The configuration at each capital under the volume cost model, and once without any costs."""
        from ..core.backtest.capacity import Capacity, CapacityPoint, at_capitals, without_costs
        from ..core.backtest.metrics import run_metrics
        from ..core.backtest.simulate import simulate

        configs = at_capitals(config, capitals)
        progress("loading candles")
        panel, _ = self.load(configs)
        points = []
        for c in configs:
            progress(f"simulating at capital {c.capital:,.0f}")
            points.append(CapacityPoint(c.capital, run_metrics(simulate(panel, c))))
        return Capacity(configs[0], tuple(points), run_metrics(simulate(panel, without_costs(config))))

    def sweep(self, base: BacktestConfig, combos: Sequence[Sequence[str]], build: Callable[[Sequence[str]], BacktestConfig],
              progress: Progress = lambda _: None, workers: int | None = None) -> list[SweepRow]:
        """Every combination of key=value tokens applied over `base`, run on all cores."""
        from ..core.backtest.report import SweepRow
        from .sweep import run_sweep

        configs = [build(c) for c in combos]
        progress(f"loading candles for {len(configs)} runs")
        panel, _ = self.load([base, *configs])
        results = run_sweep(panel, configs, workers, lambda done, total: progress(f"run {done}/{total}"))
        return [SweepRow(tuple(c), cfg, m) for c, cfg, m in zip(combos, configs, results)]
