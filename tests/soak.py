"""The soak driver: hourly slots on an injected clock, a seeded random fault before each, restarts in between.

One "process" is the bot's services built on the database file, as bot.py builds them; a restart
throws it away (closing its connection) and builds another on the same file. The market and the
clock outlive processes, as the exchange and time do. The jobs are played as the scheduler would
fire them: the rebalance at the slot (sometimes twice, as after a restart), the resume job five
minutes later, an equity mark at half past.
"""
from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from tests.builders import NOW
from tests.conftest import SYMBOLS, drift_price
from tests.fakes import FaultyExchange, ScriptedMarket
from tradingbot.adapters.lockfile import FileLock
from tradingbot.adapters.paper import PaperExchange
from tradingbot.adapters.sqlite_store import SqliteStore, open_database
from tradingbot.adapters.clock import ManualClock
from tradingbot.core.costs import Costs
from tradingbot.core.domain import OrderStatus
from tradingbot.app.current_params import CurrentParams
from tradingbot.app.rebalancer import Rebalancer
from tradingbot.core.errors import UserError, VenueUnavailable
from tradingbot.core.params import StrategyParams
from tradingbot.core.schedule import slot_key
from tradingbot.app.services import Services

HOUR = timedelta(hours=1)
CAPITAL = Decimal(10000)
PARAMS = StrategyParams(topn=4, min_age_days=1, every="1h")
KINDS = ("exchange unreachable at the slot", "brief outage at the slot", "venue down for orders",
         "response lost", "response lost, lookups down", "insufficient balance", "partial fill",
         "halted between ranking and ordering", "halted for hours", "killed after a fill",
         "restart between slots", "BI reader during the slot", "slot fired twice")


def deal(rng: random.Random, deck: list[str], kinds: tuple[str, ...]) -> str:
    """The next kind of fault, dealt from a shuffled deck (refilled when empty), so even a short soak meets
    every kind."""
    if not deck:
        deck[:] = rng.sample(kinds, len(kinds))
    return deck.pop()


def assert_slots_journaled_once(store: SqliteStore, first: datetime, n_slots: int) -> None:
    """One journal row per hourly slot from `first` (none lost, none run twice), none left open, and no
    order left planned or in flight."""
    rows = store.recent_rebalances(10**6)
    assert sorted(r.slot for r in rows) == sorted(slot_key(first + h * HOUR) for h in range(n_slots))
    assert store.unfinished_rebalances() == []
    assert not [o for r in rows for o in store.orders_for(r.slot)
                if o.status in (OrderStatus.PLANNED, OrderStatus.SENDING)]


class Process:
    """The bot's services on the database file, as one process holds them."""

    def __init__(self, path: Path, market: ScriptedMarket, clock: ManualClock):
        self.db = open_database(path)
        self.store = SqliteStore(self.db, "USDT")
        self.paper = PaperExchange(self.db, market, clock, lambda: Costs(Decimal("0.001"), Decimal(5), 0))
        self.venue = FaultyExchange(self.paper)
        rebalancer = Rebalancer(self.store, self.venue, market, clock, FileLock(f"{path}.lock"))
        self.services = Services(self.store, self.venue, market, clock, rebalancer, CurrentParams(self.store, PARAMS),
                                 "scripted")

    def close(self) -> None:
        self.db.conn.close()


@dataclass
class Soak:
    path: Path
    seed: int
    fault_rate: float = 0.5
    clock: ManualClock = field(default_factory=lambda: ManualClock(NOW))
    injected: Counter = field(default_factory=Counter)
    met: Counter = field(default_factory=Counter)
    sent: list[str] = field(default_factory=list)  # every client order id that reached the venue, all processes
    alerts: int = 0
    restarts: int = 0
    slots: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.market = ScriptedMarket(self.clock, {s: drift_price(i) for i, s in enumerate(SYMBOLS)},
                                     listed=NOW - timedelta(days=400))
        self.halts: dict[str, datetime] = {}  # symbol -> when trading resumes
        self._deck: list[str] = []
        self.proc = Process(self.path, self.market, self.clock)
        self.proc.paper.deposit("USDT", CAPITAL)
        self.proc.store.deposit(CAPITAL, self.clock.now())

    # --- the life of the bot ---------------------------------------------------------------
    def run(self, days: int) -> float:
        started = time.perf_counter()
        for hour in range(days * 24):
            slot_time = NOW + hour * HOUR
            self._lift_halts(slot_time)
            kind = self._next_fault() if self.rng.random() < self.fault_rate else None
            if kind:
                self.injected[kind] += 1
            self._slot(slot_time, kind)
        self._quiet_end(NOW + days * 24 * HOUR)
        return time.perf_counter() - started

    def _next_fault(self) -> str:
        return deal(self.rng, self._deck, KINDS)

    def _slot(self, at: datetime, kind: str | None) -> None:
        self._to(at + timedelta(seconds=5))
        if kind == "restart between slots":
            self.restart()
        reader = self._bi_reader() if kind == "BI reader during the slot" else None
        progress = self._halt_a_target if kind == "halted between ranking and ordering" else None
        self._arm(kind, at)
        self._job(lambda: self.proc.services.rebalance_slot(progress))
        if reader is not None:
            reader.rollback()
            reader.close()
        if kind == "slot fired twice":
            self._job(lambda: self.proc.services.rebalance_slot())
        self._disarm()
        self._to(at + timedelta(minutes=5))
        self._job(lambda: self.proc.services.rebalancer.resume_unfinished(PARAMS))
        self._to(at + timedelta(minutes=30))
        self._job(lambda: self.proc.services.mark())
        self.slots.append(slot_key(at))

    def _arm(self, kind: str | None, at: datetime) -> None:
        venue, rng = self.proc.venue, self.rng
        if kind == "exchange unreachable at the slot":
            self.market.down_until = at + timedelta(minutes=3)
        elif kind == "brief outage at the slot":
            self.market.down_until = self.clock.now() + timedelta(seconds=2)
        elif kind == "venue down for orders":
            venue.down_for = rng.randint(1, 30)
        elif kind in ("response lost", "response lost, lookups down"):
            venue.lose_next = rng.randint(1, 3)
            venue.lookups_down_after_loss = rng.randint(1, 8) if kind.endswith("down") else 0
        elif kind == "insufficient balance":
            venue.reject_next = 1
        elif kind == "partial fill":
            venue.partial_next = Decimal(rng.choice(("0.25", "0.5", "0.9")))
        elif kind == "halted for hours":
            symbol = rng.choice(SYMBOLS)
            self.market.halt(symbol)
            self.halts[symbol] = at + rng.randint(1, 8) * HOUR
        elif kind == "killed after a fill":
            venue.crash_after = len(venue.sent) + rng.randint(1, 6)

    def _disarm(self) -> None:
        """Faults are one-shot: what did not strike this slot is withdrawn."""
        venue = self.proc.venue
        venue.down_for = venue.reject_next = venue.lose_next = venue.lookups_down = 0
        venue.lookups_down_after_loss, venue.partial_next, venue.crash_after = 0, None, None

    def _halt_a_target(self, _line: str) -> None:
        """Called as the first order goes out, after the ranking: halt one of the slot's targets."""
        row = self.proc.store.unfinished_rebalances()[-1:]
        if row and row[0].targets and not any(s in self.halts for s in row[0].targets):
            symbol = self.rng.choice(row[0].targets)
            self.market.halt(symbol)
            self.halts[symbol] = self.clock.now() + 2 * HOUR

    def _lift_halts(self, now: datetime) -> None:
        for symbol, until in list(self.halts.items()):
            if until <= now:
                self.market.halt(symbol, "TRADING")
                del self.halts[symbol]

    def _bi_reader(self) -> sqlite3.Connection:
        """A dashboard holding a read transaction open on the file while the slot runs."""
        reader = sqlite3.connect(self.path, isolation_level=None)
        reader.execute("BEGIN")
        reader.execute("SELECT COUNT(*) FROM fills").fetchone()
        reader.execute("SELECT * FROM bi_equity").fetchall()
        return reader

    def _job(self, work) -> None:
        """One scheduled job, guarded as jobs._guarded does: a failure is an alert, never the end."""
        try:
            asyncio.run(work())
        except SystemExit:  # the process was killed mid-slot: a new one starts and resumes
            self.restart()
            self._job(lambda: self.proc.services.rebalancer.resume_unfinished(PARAMS))
        except (UserError, VenueUnavailable):
            self.alerts += 1

    def restart(self) -> None:
        self._collect()
        self.proc.close()
        self.proc = Process(self.path, self.market, self.clock)
        self.restarts += 1

    def _collect(self) -> None:
        self.sent += self.proc.venue.sent
        self.met += self.proc.venue.met
        self.proc.venue.sent, self.proc.venue.met = [], Counter()

    def _quiet_end(self, at: datetime) -> None:
        """Faults over: the last open slot, if any, is finished by the resume job."""
        self.market.down_until = None
        self._to(at)
        self._job(lambda: self.proc.services.rebalancer.resume_unfinished(PARAMS))
        self._collect()
        self.met["market unreachable (calls refused)"] = self.market.calls_refused
        for error, n in self.proc.db.execute("SELECT error, COUNT(*) FROM orders WHERE status = 'rejected'"
                                             " GROUP BY error"):
            self.met[f"order refused ({error})"] = n

    @staticmethod
    def run_async(coro):
        return asyncio.run(coro)

    def _to(self, at: datetime) -> None:
        self.clock.set(max(at, self.clock.now()))

    # --- what must hold afterwards ----------------------------------------------------------
    def states(self) -> Counter:
        return Counter(r.state for r in self.proc.store.recent_rebalances(10**6))

    def sent_twice(self) -> int:
        return len(self.sent) - len(set(self.sent))

    def trades_lost(self) -> int:
        """Venue trades with no fill booked in the ledger, plus booked fills the venue never made."""
        venue = set(self.proc.db.execute("SELECT client_order_id, CAST(trade_id AS TEXT) FROM paper_fills"))
        booked = {(f.client_order_id, f.trade_id) for f in self.proc.store.fills()}
        return len(venue ^ booked)

    def figures(self, days: int, seconds: float) -> str:
        lines = [f"soak: {days} day(s), seed {self.seed}: {len(self.slots)} hourly slots in {seconds:.1f} s; "
                 f"states {dict(self.states())}; {len(self.sent)} orders, {self.sent_twice()} sent twice, "
                 f"{self.trades_lost()} trades lost; {self.restarts} restarts; {self.alerts} job failures alerted",
                 "faults injected: " + ", ".join(f"{k} {n}" for k, n in sorted(self.injected.items())),
                 "faults that struck: " + ", ".join(f"{k} {n}" for k, n in sorted(self.met.items()))]
        return "\n".join(lines)
