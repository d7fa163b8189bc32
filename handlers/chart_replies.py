"""Charts attached to replies and pushes: data from the services, drawing in one worker thread.

Rendering takes tens of milliseconds of CPU; off the event loop, the bot keeps answering meanwhile.
"""
from __future__ import annotations

import asyncio
import gc
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Awaitable, Callable

import charts
from charts import NothingToChart  # noqa: F401  (re-exported for the commands)
from tradingbot.app.reports import PnlReport, PositionsReport, RankingReport
from tradingbot.app.services import Services

from .replies import Photo

if TYPE_CHECKING:
    from tradingbot.core.backtest.report import BacktestReport

    from .shared_answers import SharedAnswers

NAMES = ("equity", "allocation", "rebalances", "ranking", "inventory")
MAX_REBALANCES = 365
# One thread draws every chart: matplotlib's style is process-global, so charts are drawn one at a time anyway
# (charts/style.py), and memory each new drawing thread's allocator arena grew to stays with the process.
_DRAWER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="charts")


async def _draw(name: str, caption: str, draw: Callable[[], bytes]) -> Photo:
    png = await asyncio.get_running_loop().run_in_executor(_DRAWER, _drawn, draw)
    return Photo(f"{name}.png", png, caption)


def _drawn(draw: Callable[[], bytes]) -> bytes:
    """The chart, and its figure's cyclic garbage collected now: left to the collector's own pace, a burst of
    charts kept ~100 MB of dead figures. Cheap once the serving bot has frozen what it built at start."""
    png = draw()
    gc.collect()
    return png


async def equity(s: Services, report: PnlReport | None = None, shared: SharedAnswers | None = None) -> Photo:
    """Ending at the valuation the reply's text used (report), else at equity now: one figure in words and chart.

    With `shared`, one drawing serves everyone whose words state that valuation."""
    async def drawn() -> Photo:
        h = await s.equity_history((report.at, report.equity) if report and report.at else None)
        return await _draw("equity", "Equity, drawdown and benchmarks", lambda: charts.equity_chart(
            h.marks, h.deposits, h.fees, h.benchmarks, s.params.zone, s.quote, live=h.live))
    if shared is None or report is None or report.at is None:
        return await drawn()
    return await shared.chart(("equity", report.at, report.equity), drawn)


async def allocation(s: Services, report: PositionsReport | None = None,
                     shared: SharedAnswers | None = None) -> Photo:
    """The holdings of `report` (else valued now); with `shared`, drawn once for everyone shown that report."""
    async def drawn(r: PositionsReport) -> Photo:
        return await _draw("allocation", "Allocation and unrealized P/L", lambda: charts.allocation_chart(
            r.positions, r.cash, r.equity, r.quote))
    if shared is None or report is None:
        return await drawn(report or await s.positions())
    return await shared.chart(("allocation", report), lambda: drawn(report))


async def rebalances(s: Services) -> Photo:
    rows = list(reversed(s.store.recent_rebalances(MAX_REBALANCES)))
    return await _draw("rebalances", "P/L per rebalance and cumulative fees", lambda: charts.rebalance_pnl_chart(
        rows, s.params.zone, s.quote))


async def ranking(s: Services, report: RankingReport | None = None) -> Photo:
    r = report or await s.ranking()
    return await _draw("ranking", "Ranking by lookback return", lambda: charts.ranking_chart(
        r.ranking, r.held, tz=s.params.zone))


async def inventory(s: Services) -> Photo:
    history = await s.inventory()
    return await _draw("inventory", "Inventory value per asset", lambda: charts.inventory_chart(
        history, s.params.zone, s.quote))


async def after_rebalance(s: Services) -> tuple[Photo, ...]:
    """The charts a rebalance is reported with: equity and allocation, each when there is something to draw."""
    return await optional(equity(s)) + await optional(allocation(s))


async def backtest(report: BacktestReport) -> Photo:
    from charts.backtest import backtest_equity_chart

    return await _draw("backtest", "Backtest equity, drawdown and benchmarks", lambda: backtest_equity_chart(report))


async def by_name(name: str, s: Services) -> Photo:
    drawers = {"equity": equity, "allocation": allocation, "rebalances": rebalances, "ranking": ranking,
               "inventory": inventory}
    return await drawers[name](s)


async def optional(photo: Awaitable[Photo]) -> tuple[Photo, ...]:
    """A chart if there is something to draw; none (and no error) when there is not yet."""
    try:
        return (await photo,)
    except NothingToChart:
        return ()
