"""A bot's database with some history, and the dashboard served over it on a free port (for the web tests)."""
from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import AsyncIterator

from tests.conftest import World
from tradingbot.app.dashboard_auth import DashboardAuth
from tradingbot.core.domain import Change, RankRow, Ranking
from tradingbot.settings import Settings, load_settings
from web.live import POLL_S
from web.server import Dashboard, attach, for_bot, start_dashboard

MARKUP = "<script>alert(1)</script>"
EVIL_SYMBOL = "<img src=x onerror=alert(2)>USDT"


async def build_history(world: World, days: int, marks_per_day: int = 24) -> None:
    """`days` daily rebalances at 09:00, with equity marked every hour in between."""
    for _ in range(days):
        await world.services.rebalance_slot()
        for _ in range(marks_per_day):
            world.clock.advance(timedelta(hours=24 / marks_per_day))
            await world.services.mark()


def plant_markup(world: World) -> None:
    """Strings from the database that look like HTML: a ranked symbol, a note, an audit row."""
    store, now = world.store, world.clock.now()
    ranking = Ranking(now, "momentum", timedelta(days=7), 4, (
        RankRow(EVIL_SYMBOL, Decimal("0.1"), Decimal(5_000_000), False, f"blacklisted {MARKUP}"),))
    store.start_rebalance("S20990101T0900", "scheduled", "skipped", now - timedelta(minutes=1), "momentum", "full",
                          (), Decimal(10000), note=f"note {MARKUP}", ranking=ranking)
    store.save_params(world.services.params.to_strings(), [Change("topn", "4", f"4 {MARKUP}")], f"who {MARKUP}", now)


async def keep_backtests(world: World, folder: Path) -> None:
    """A chat /backtest and a sweep over a small candle file, kept as the bot keeps them."""
    from handlers.commands import Context, dispatch
    from tests.test_fuzz_commands import write_candles
    from tradingbot.adapters.backtest_runs import SqliteBacktestRuns
    from tradingbot.core.backtest import options
    from tradingbot.adapters.candle_cache import FileCandles
    from tradingbot.app.backtester import Backtester

    s = world.services
    s.backtester = Backtester(FileCandles(write_candles(folder / "candles.csv")))
    s.backtests = SqliteBacktestRuns(world.db)
    await dispatch(Context(s, "telegram:1001"), "/backtest lookback=5d topn=3 min_quote_volume=0")
    keys, combos = options.sweep_grid(["lookback=2d,5d,9d", "topn=2,4", "strategy=momentum,reversal"])
    base = options.config_from_pairs(["min_quote_volume=0"], s.params)
    rows = s.backtester.sweep(base, combos, lambda c: options.config_from_pairs(["min_quote_volume=0", *c],
                                                                               s.params, base), workers=1)
    s.backtests.add_sweep(keys, rows, "sharpe", "cli", world.clock.now())


def settings(**overrides: object) -> Settings:
    return load_settings(env_file=None, **overrides)


@asynccontextmanager
async def serving(world: World, path: Path, config: Settings | None = None,
                  poll_s: float = POLL_S) -> AsyncIterator[tuple[Dashboard, DashboardAuth]]:
    """The bot's dashboard over `path` (the world's database) on a free port, attached to the bot as
    beside_bot attaches it: the chat's /dashboard uses it, and the services' commits wake its live feed."""
    config = config or settings()
    reports, auth = for_bot(world.services, config, path)
    dashboard = await start_dashboard(reports, auth, "127.0.0.1", 0, poll_s)
    assert dashboard is not None
    auth.public_url = dashboard.url
    detach = attach(world.services, dashboard, auth)
    try:
        yield dashboard, auth
    finally:
        detach()
        await dashboard.stop()
