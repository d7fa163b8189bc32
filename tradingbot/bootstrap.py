"""The composition root: every object a run of the bot needs, built once here, each handed its collaborators
through its constructor (nothing is patched on afterwards).

bot.py parses the command line and loads the settings once; it calls build() (the bot, `chat`, `rebalance`)
or open_candle_cache() (`backtest`, `data`) and hands what they return to an entry point in handlers/.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from .adapters import crashpoints
from .adapters.backtest_runs import SqliteBacktestRuns
from .adapters.candle_cache import CachedCandles, SqliteCandleCache
from .adapters.clock import FrozenClock, OffsetClock, SystemClock
from .adapters.lockfile import FileLock, NoLock
from .adapters.outbox import SqliteOutbox
from .adapters.sqlite_store import SqliteStore, open_database
from .adapters.synthetic import END as SYNTHETIC_UNTIL, EPOCH as SYNTHETIC_FROM
from .app.backtester import Backtester
from .app.current_params import CurrentParams
from .app.ports import BacktestRuns, CandleCache, Clock, FilledOrders, Outbox, ProcessLock, no_checkpoint
from .app.rebalancer import Rebalancer
from .app.services import Services
from .core.errors import UserError
from .core.params import StrategyParams
from .core.timefmt import parse_clock
from .settings import Settings, SettingsError
from .venues import VenueConnections, build_venue

log = logging.getLogger("itradingbot")


@dataclass(frozen=True)
class RunOptions:
    """What the command line chooses for one run (and the test-only switches bot.py reads beside it)."""

    demo: bool = False  # the synthetic market, the paper venue, DEMO_DB_PATH
    db: str | None = None  # --db: overrides DB_PATH / DEMO_DB_PATH
    clock: str | None = None  # --clock: pretend it is this ISO-8601 time
    frozen_clock: bool = False  # test-only: with --clock, time stands still
    crash_at: str | None = None  # test-only: the crash point to SIGKILL this process at

    def database(self, settings: Settings) -> str:
        return str(self.db or (settings.demo_db_path if self.demo else settings.db_path))


@dataclass
class App:
    """One run's objects, built once; the front ends and commands receive what they need from here."""

    settings: Settings
    services: Services
    outbox: Outbox
    db_path: str
    venue: VenueConnections


def account_lock(db_path: str) -> ProcessLock:
    """`<db>.lock`: held by the process that schedules or trades on this database.

    It is taken before the database is opened, so its folder is made here: on a fresh clone the default `data/`
    does not exist yet (an explicit path's folder was already required to exist, see settings.check_databases).
    """
    if db_path == ":memory:":
        return NoLock()
    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    return FileLock(f"{db_path}.lock")


def open_backtest_runs(path: Path) -> BacktestRuns | None:
    """Where `bot.py backtest` keeps its results for the dashboard: the bot's database, if it is there (a
    backtest never creates one; an older database's schema is brought up to date)."""
    if not path.is_file():
        return None
    db = open_database(path)
    SqliteStore(db, "USDT")  # runs the migrations
    return SqliteBacktestRuns(db)


def open_filled_orders(path: Path) -> FilledOrders:
    """The bot's filled orders for `bot.py costs calibrate` (a database is never created for it; an older one's
    schema is brought up to date, so orders from before V10 read as having no recorded mid)."""
    from .adapters.sqlite_order_costs import SqliteFilledOrders  # numpy and the fit: for this command only

    if not path.is_file():
        raise UserError(f"no bot database at {path} (choose one with --db PATH, or set DB_PATH)")
    db = open_database(path)
    SqliteStore(db, "USDT")  # runs the migrations
    return SqliteFilledOrders(db)


def open_candle_cache(path: Path) -> CandleCache:
    """The candle cache file of `bot.py backtest` and `bot.py data` (a fetch waits on the system clock)."""
    return SqliteCandleCache(path, SystemClock())


def build(settings: Settings, run: RunOptions, lock: ProcessLock) -> App:
    """Wire the adapters and the use cases; the only place that knows which concrete classes are used."""
    clock = clock_of(run)
    checkpoint = crashpoints.kill_at(run.crash_at) if run.crash_at else no_checkpoint
    db_path = run.database(settings)
    db = open_database(db_path)
    defaults = StrategyParams(timezone=settings.timezone)
    store = SqliteStore(db, defaults.quote, checkpoint)
    params = CurrentParams(store, defaults)  # the paper venue reads its costs from it at every order
    venue = build_venue(settings, db, clock, params.costs, demo=run.demo)
    if venue.market_name == "synthetic" and not SYNTHETIC_FROM <= clock.now() < SYNTHETIC_UNTIL:
        got = parse_clock(run.clock) if run.clock else clock.now()  # as given: --clock has ticked on since
        raise SettingsError(f"{'--clock' if run.clock else 'the clock'}: the synthetic market covers "
                            f"{SYNTHETIC_FROM:%Y-%m-%d} to {SYNTHETIC_UNTIL:%Y-%m-%d} only (got {got:%Y-%m-%dT%H:%M:%SZ})")
    rebalancer = Rebalancer(store, venue.exchange, venue.market, clock, lock, checkpoint=checkpoint, caps=venue.caps)
    paper = venue.paper
    services = Services(store, venue.exchange, venue.market, clock, rebalancer, params,
                        market_name=venue.market_name, health=venue.health,
                        backtester=Backtester(CachedCandles(settings.kline_db_path)),
                        backtests=SqliteBacktestRuns(db), books=venue.books)
    if not store.deposits():
        with store.transaction():  # venue balance and ledger deposit land together
            if paper is not None:
                paper.deposit(store.quote, settings.starting_capital)
            # On a Binance venue the capital is an allotment of the account's cash: the bot never
            # trades more than the ledger says is its own (see market_view.owned).
            store.deposit(settings.starting_capital, clock.now())
        log.info("new account: %s %s for the strategy", settings.starting_capital, store.quote)
    return App(settings, services, SqliteOutbox(db), db_path, venue)


def clock_of(run: RunOptions) -> Clock:
    if run.clock is None:
        return SystemClock()
    return FrozenClock(parse_clock(run.clock)) if run.frozen_clock else OffsetClock(parse_clock(run.clock))

