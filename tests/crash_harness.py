"""The crash test's machinery: bot processes to kill, the two venues to kill them on, and what a run left behind.

Each run is a new process executing bot.py's main(argv) (the CLI exactly as `python bot.py ...` runs it),
forked from a forkserver that has imported bot.py once: a cold `python bot.py` spends about a second on
imports, and the kill matrix starts a hundred processes. TRADINGBOT_CRASH_AT makes the process SIGKILL
itself at a crash point; TRADINGBOT_FROZEN_CLOCK stops its --clock, so every run of the slot, killed or
not, trades at the same prices.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.books import book_differences, replayed_ledger
from tradingbot.adapters.sqlite_store import SqliteStore, open_database
from tradingbot.core.ledger import Ledger

ROOT = Path(__file__).resolve().parent.parent
PREVIOUS, SLOT_TIME = "2026-11-23T09:00:00Z", "2026-11-24T09:00:00Z"  # the slot under test has sells and buys
SLOT = "S20261124T0900"
QUOTE, CAPITAL, SYMBOLS, SEED = "USDT", "10000", 60, 5
UNSETTLED = ("planned", "sending")

FORKSERVER_LOST = 255  # popen_forkserver's exit code when the status could not be read
_forks = multiprocessing.get_context("forkserver")
_forks.set_forkserver_preload(["bot"])


@dataclass
class Run:
    code: int  # the process exit status; -9 when SIGKILL ended it
    stdout: str
    stderr: str
    seconds: float

    def summary(self) -> dict[str, Any]:
        assert self.code == 0, f"exit {self.code}: {self.stderr[-2000:]}"
        return json.loads(self.stdout)


def _bot_main(argv: list[str], env: dict[str, str], out: str, err: str) -> None:
    """In the forked child: the process's stdout/stderr to files, its environment, then bot.py's main."""
    for fd, path in ((1, out), (2, err)):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(target, fd)
        os.close(target)
    os.environ.update(env)
    os.chdir(ROOT)
    import bot

    code = bot.main(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    Path(out).with_suffix(".exit").write_text(str(code))  # see run_bot: a status that cannot get lost
    sys.exit(code)


def run_bot(argv: list[str], env: dict[str, str], logs: Path, cold: bool = False, timeout: float = 90) -> Run:
    """One bot process; cold=True runs `python bot.py` itself (the baseline, and the start-up measurement)."""
    out, err = logs.with_suffix(".out"), logs.with_suffix(".err")
    started = time.monotonic()
    if cold:
        done = subprocess.run([sys.executable, "bot.py", *argv], cwd=ROOT, env={**os.environ, **env},
                              capture_output=True, text=True, timeout=timeout)
        out.write_text(done.stdout)
        err.write_text(done.stderr)
        code = done.returncode
    else:
        out.with_suffix(".exit").unlink(missing_ok=True)  # a restart may reuse the logs' names
        child = _forks.Process(target=_bot_main, args=(argv, env, str(out), str(err)))
        child.start()
        child.join(timeout)
        if child.exitcode is None:
            child.kill()
            child.join()
            raise AssertionError(f"bot {argv} still running after {timeout} s")
        code = child.exitcode
        if code == FORKSERVER_LOST:
            # multiprocessing's forkserver reports 255 when it could not pass the child's status on (a rare
            # race seen on CI): the child's own exit file tells a normal end from a kill, which leaves none.
            exit_file = out.with_suffix(".exit")
            code = int(exit_file.read_text()) if exit_file.exists() else -signal.SIGKILL
    return Run(code, out.read_text(), err.read_text(), time.monotonic() - started)


@dataclass(frozen=True)
class Outcome:
    """What one account holds after a run: the bot's journal and ledger, and the venue's own records."""

    orders: dict[str, str]  # the slot's journal: client order id -> status
    fills: tuple[tuple[str, ...], ...]  # the journal's fills of the slot, trade ids included
    ledger: Ledger  # as stored
    replayed: Ledger  # re-derived from the deposits and every journaled fill
    balances: dict[str, Decimal]  # the venue's
    venue_orders: tuple[str, ...]  # client order id of every order the venue executed for the slot
    venue_fills: tuple[tuple[str, ...], ...]

    def problems(self) -> list[str]:
        """Every way the journal, the ledger and the venue disagree (empty when they agree exactly)."""
        found = [f"{coid} left {status}" for coid, status in self.orders.items() if status in UNSETTLED]
        found += [f"{coid} executed {n} times" for coid, n in Counter(self.venue_orders).items() if n > 1]
        filled = {c for c, s in self.orders.items() if s == "filled"}
        if set(self.venue_orders) != filled:
            found.append(f"venue executed {sorted(set(self.venue_orders))}, journal filled {sorted(filled)}")
        if self.fills != self.venue_fills:
            found.append(f"journal fills {self.fills} != venue fills {self.venue_fills}")
        return found + book_differences(self.ledger, self.replayed, self.balances)

    def trades(self) -> list[tuple[str, ...]]:
        """The slot's fills without venue ids (order and trade ids depend on the order executions landed in)."""
        return sorted(f[:1] + f[2:] for f in self.fills)


def fill_key(coid: str, trade_id: str, price: Decimal, qty: Decimal, commission: Decimal, asset: str) -> tuple[str, ...]:
    return coid, str(trade_id), str(price.normalize()), str(qty.normalize()), str(commission.normalize()), asset


@dataclass(frozen=True)
class JournalView:
    orders: dict[str, str]
    fills: tuple[tuple[str, ...], ...]
    ledger: Ledger
    replayed: Ledger
    earlier: frozenset[str]  # client order ids of earlier slots

    def outcome(self, balances: dict[str, Decimal], venue_orders: list[str],
                venue_fills: list[tuple[str, ...]]) -> Outcome:
        """The venue's records of this slot (every order but the earlier slots') beside the journal's."""
        return Outcome(self.orders, self.fills, self.ledger, self.replayed, balances,
                       tuple(sorted(c for c in venue_orders if c not in self.earlier)),
                       tuple(sorted(f for f in venue_fills if f[0] not in self.earlier)))


def journal_view(db: Path) -> JournalView:
    """The slot's orders and fills, the stored ledger, and the ledger replayed from deposits and fills."""
    store = SqliteStore(open_database(db), QUOTE)
    try:
        orders = {o.client_order_id: o.status.value for o in store.orders_for(SLOT)}
        earlier = frozenset(c for (c,) in store.db.execute("SELECT client_order_id FROM orders WHERE slot != ?",
                                                           [SLOT]))
        mine = sorted(fill_key(f.client_order_id, f.trade_id, f.price, f.quantity, f.commission, f.commission_asset)
                      for f in store.fills_in_order() if f.client_order_id in orders)
        return JournalView(orders, tuple(mine), store.load_ledger(), replayed_ledger(store), earlier)
    finally:
        store.db.close()


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy, write-ahead log included (a bot may exit leaving its last writes only there)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()
