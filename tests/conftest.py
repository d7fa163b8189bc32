"""Shared fixtures: a real SQLite file, the real paper venue, a scripted market and a manual clock."""
from __future__ import annotations

import math
import os
import socket
import tempfile
from datetime import timedelta
from decimal import Decimal

import pytest

from tests.builders import NOW
from tests.fakes import FaultyExchange, ScriptedMarket
from tradingbot.adapters.lockfile import FileLock
from tradingbot.adapters.paper import PaperExchange
from tradingbot.adapters.sqlite_store import SqliteStore, open_database
from tradingbot.adapters.clock import ManualClock
from tradingbot.app.current_params import CurrentParams
from tradingbot.app.rebalancer import Rebalancer
from tradingbot.core.params import StrategyParams
from tradingbot.app.services import Services

os.environ.setdefault("PTB_TIMEDELTA", "true")  # as bot.py does: retry_after as a timedelta
# The candle cache of a `bot.py` a test starts without --cache goes to a temporary folder, not the checkout's data/
# (a `--data` run keeps its file's panel copy beside that cache)
os.environ.setdefault("KLINE_DB_PATH", os.path.join(tempfile.mkdtemp(prefix="itb-klines-"), "klines.sqlite"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# A bot.py this process starts serves its dashboard on DASHBOARD_PORT, 8080 by default: a port of its own per
# test process, so bots of two xdist workers (or a `make demo` beside the suite) never reach for the same one.
os.environ["DASHBOARD_PORT"] = str(_free_port())

SYMBOLS = [f"{name}USDT" for name in ("ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO", "FOXTROT", "GOLF", "HOTEL",
                                      "INDIA", "JULIET", "KILO", "LIMA")]


def drift_price(i: int):
    """Symbol i trends at its own rate with a wiggle, so rankings are distinct and change over time."""
    def price(t):
        hours = (t - NOW).total_seconds() / 3600
        return (10 + i) * math.exp((i - 5.5) * 0.002 * hours + 0.01 * math.sin(hours / 7 + i))
    return price


class World:
    """One bot's worth of real adapters around a database file."""

    def __init__(self, path, clock=None, params: StrategyParams | None = None):
        self.clock = clock or ManualClock(NOW)
        self.market = ScriptedMarket(self.clock, {s: drift_price(i) for i, s in enumerate(SYMBOLS)},
                                     listed=NOW - timedelta(days=400))
        self.db = open_database(path)
        self.store = SqliteStore(self.db, "USDT")
        # No paper latency unless a test asks: fills happen at once, one at a time, as the fault fakes assume.
        defaults = params or StrategyParams(topn=4, min_age_days=1, latency_ms=0)
        self.params = CurrentParams(self.store, defaults)  # as bot.py wires it: the paper venue charges these
        self.paper = PaperExchange(self.db, self.market, self.clock, self.params.costs)
        self.venue = FaultyExchange(self.paper)
        self.lock = FileLock(f"{path}.lock")
        rebalancer = Rebalancer(self.store, self.venue, self.market, self.clock, self.lock)
        self.services = Services(self.store, self.venue, self.market, self.clock, rebalancer, self.params,
                                 "scripted")
        if not self.store.deposits():
            with self.db.atomic():
                self.paper.deposit("USDT", Decimal(10000))
                self.store.deposit(Decimal(10000), self.clock.now())


@pytest.fixture
def world(tmp_path):
    return World(tmp_path / "bot.sqlite")


# `make test` runs the suite on two pytest-xdist workers (`-n 2 --dist loadgroup`); tests in one xdist_group
# run one after another on the same worker. Tests asserting a wall-clock bound (an admin answered within 1 s
# under a flood, a stop within 2 s, a long poll waking within 1 s) share a group with the crash matrix, whose
# bot processes keep both cores busy for a minute: they never run beside it, only beside an ordinary test.
TIMED = ("test_crash.py", "test_telegram_abuse.py", "test_telegram_instances.py", "test_telegram_fake.py")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The timed tests in one group; a module with a module-scoped fixture in a group of its own (built once)."""
    for item in items:
        if item.path.name in TIMED:
            item.add_marker(pytest.mark.xdist_group("timed"))
        elif any(d.scope != "function" and d.baseid for defs in item._fixtureinfo.name2fixturedefs.values()
                 for d in defs):  # a baseid: the project's own fixture (pytest's tmp_path_factory has none)
            item.add_marker(pytest.mark.xdist_group(item.path.name))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """On an xdist worker: hand the figures counted here to the controller, which prints them."""
    from tests.figures import FIGURES, NOTES

    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output["figures"], output["notes"] = dict(FIGURES), list(NOTES)


@pytest.hookimpl(optionalhook=True)  # an xdist hook: plain `pytest -n 0` or without xdist never calls it
def pytest_testnodedown(node, error) -> None:
    from tests.figures import FIGURES, NOTES

    output = getattr(node, "workeroutput", {})
    FIGURES.update(output.get("figures", {}))
    NOTES.extend(output.get("notes", []))


def pytest_terminal_summary(terminalreporter) -> None:
    """The robustness figures (fuzz cases tried, unauthorised attempts refused, leaks found), when counted."""
    from tests.figures import FIGURES, NOTES

    if FIGURES or NOTES:
        terminalreporter.section("robustness figures")
        for line in NOTES:
            terminalreporter.write_line(line)
        for name, n in sorted(FIGURES.items()):
            terminalreporter.write_line(f"{name}: {n}")
