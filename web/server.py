"""Starting the dashboard on the bot's own asyncio loop, or alone over a database file (`bot.py dashboard`).

aiohttp's web server: the project already pins aiohttp (the Binance transport and the local stand-ins use it),
so the dashboard adds no server dependency and runs as tasks of the loop the bot already drives.
"""
from __future__ import annotations

import asyncio
import errno
import logging
import signal
import sqlite3
import sys
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator, Callable

from aiohttp import web

from tradingbot.adapters.dashboard_links import MemoryLinkStore, SqliteLinkStore, open_sessions, sessions_file
from tradingbot.adapters.readonly_store import DatabaseNotReady, ReadOnlyStore
from tradingbot.adapters.sqlite_store import open_database
from tradingbot.app.dashboard_auth import DashboardAuth, LinkStore
from tradingbot.core.params import StrategyParams
from tradingbot.app.ports import Clock
from tradingbot.app.dashboard_reports import Reports
from tradingbot.app.services import Services
from tradingbot.settings import Settings

from .app import make_app
from .live import BACKSTOP_POLL_S, POLL_S, LiveFeed

log = logging.getLogger(__name__)


@dataclass
class Dashboard:
    runner: web.AppRunner
    feed: LiveFeed
    url: str

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_dashboard(reports: Reports, auth: DashboardAuth, host: str, port: int,
                          poll_s: float = POLL_S) -> Dashboard | None:
    """Serve on host:port; a port in use (or a host that cannot be bound) is one log line and None."""
    feed = LiveFeed(lambda: reports.store.run(reports.store.newest), poll_s)
    runner = web.AppRunner(make_app(reports, auth, feed), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as e:
        await runner.cleanup()
        why = "the port is in use" if e.errno == errno.EADDRINUSE else e.strerror or str(e)
        log.warning("dashboard not started: cannot listen on %s:%s (%s); the bot runs on without it", host, port, why)
        return None
    bound = runner.addresses[0][1] if runner.addresses else port  # port 0: the one the system chose
    log.info("dashboard listening on http://%s:%s", host, bound)
    return Dashboard(runner, feed, f"http://{host}:{bound}")


async def serve_standalone(db_path: str | Path, clock: Clock, defaults: StrategyParams, host: str, port: int,
                           public_url: str | None, stop: asyncio.Event) -> int:
    """`bot.py dashboard`: read a database file (read-only) and serve it until stopped; print a sign-in link."""
    store = ReadOnlyStore(db_path)
    reports = Reports(store, clock, defaults)
    auth = DashboardAuth(standalone_links(db_path), clock, public_url or "")
    dashboard = await start_dashboard(reports, auth, host, port)
    if dashboard is None:
        print(f"stopped: cannot listen on {host}:{port} (in use?)", flush=True)
        return 2
    auth.public_url = (public_url or dashboard.url).rstrip("/")
    print(f"Dashboard (read-only) of {db_path} on {dashboard.url}", flush=True)
    print(f"Sign in (one use, 5 minutes): {auth.issue_link('cli')}", flush=True)
    try:
        await stop.wait()
    finally:
        await dashboard.stop()
    return 0


def standalone_links(db_path: str | Path) -> LinkStore:
    """Sign-in state kept beside the database (a restart keeps sessions), else in memory, said in one line."""
    path = sessions_file(db_path)
    try:
        return open_sessions(path)
    except (OSError, sqlite3.Error) as e:
        print(f"Sessions kept in memory (a restart signs everyone out): cannot write {path} ({e})", flush=True)
        return MemoryLinkStore()


def revoke_standalone(db_path: str | Path) -> int:
    """`bot.py dashboard --revoke`: end every session of the dashboard served alone over this database."""
    path = sessions_file(db_path)
    if not path.is_file():
        print(f"No dashboard sessions kept for {db_path}: nothing to end.", flush=True)
        return 0
    open_sessions(path).next_generation()
    print(f"Every dashboard session of {db_path} has ended; a running `bot.py dashboard` refuses them now.", flush=True)
    return 0


def for_bot(services: Services, settings: Settings, db_path: str | Path) -> tuple[Reports, DashboardAuth]:
    """The bot's reports (read-only connection, live valuation as /positions) and sign-in (links in its database)."""
    reports = Reports(ReadOnlyStore(db_path), services.clock, StrategyParams(timezone=settings.timezone),
                      venue=services.exchange.name, valuation=services.positions, health=services.health,
                      market=services.market_name)
    # Its own connection to the bot's database for the links (WAL: it never blocks the bot's writer)
    links = SqliteLinkStore(open_database(db_path))
    return reports, DashboardAuth(links, services.clock, settings.dashboard_public_url)


def attach(services: Services, dashboard: Dashboard, auth: DashboardAuth) -> Callable[[], None]:
    """The bot's side of the dashboard it serves: /dashboard issues its links, and each commit the services
    report wakes the live feed on this loop (open pages hear it without a poll). Returns the undoing."""
    services.dashboard = auth
    stop_telling = services.on_change(dashboard.feed.wake)

    def detach() -> None:
        services.dashboard = None
        stop_telling()
    return detach


@asynccontextmanager
async def beside_bot(services: Services, settings: Settings, db_path: str, console: bool) -> AsyncIterator[None]:
    """Serve the dashboard on the bot's loop while it runs (unless disabled); the console prints a link."""
    if not settings.dashboard_enabled or db_path == ":memory:":
        yield
        return
    reports, auth = for_bot(services, settings, db_path)
    dashboard = await start_dashboard(reports, auth, settings.dashboard_host, settings.dashboard_port,
                                      BACKSTOP_POLL_S)
    if dashboard is None:
        yield
        return
    detach = attach(services, dashboard, auth)
    if console:
        print(f"Dashboard: {auth.issue_link('console')}  (one use, 5 minutes; /dashboard for another)", flush=True)
    try:
        yield
    finally:
        detach()
        await dashboard.stop()


def run_standalone(db_path: str | Path, clock: Clock, defaults: StrategyParams, settings: Settings,
                   host: str | None, port: int | None) -> int:
    """The `bot.py dashboard` process: serve until SIGINT/SIGTERM; a file that is not a bot database is one line."""
    public = None if host or port is not None else settings.dashboard_public_url  # another address: its own URL
    stop = asyncio.Event()

    async def run() -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await serve_standalone(db_path, clock, defaults, host or settings.dashboard_host,
                                      settings.dashboard_port if port is None else port, public, stop)
    try:
        return asyncio.run(run())
    except DatabaseNotReady as e:
        print(f"stopped: {e}", file=sys.stderr)
        return 2
