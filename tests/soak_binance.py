"""The soak driver on the Binance path: hourly slots against the local Binance, a seeded fault before each.

The bot is binance_world's: the real python-binance client over HTTP to BinanceSim, on an OffsetClock
moved an hour per slot. The sim (the exchange) and the clock outlive the bot's processes; a restart
builds another process on the same database files (Bot.restart). The jobs are played as the scheduler
fires them: the rebalance at the slot (sometimes twice), the resume job five minutes later, an equity
mark at half past. Every fault is one-shot: what did not strike its slot is withdrawn after it.
"""
from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from tests.binance_world import KEY, START, Bot
from tests.soak import HOUR, deal
from tradingbot.core.errors import UserError, VenueUnavailable
from tradingbot.core.params import StrategyParams
from tradingbot.core.schedule import slot_key
from standins.binance_api import BinanceSim

ORDER = "/api/v3/order"
PARAMS = StrategyParams(topn=4, min_age_days=1, min_quote_volume=Decimal(0), every="1h")
GIFT = {"BNB": Decimal(5)}  # BNB the account holds for fees; the bot never bought it
FIRST_SLOT = START.replace(minute=0, second=0, microsecond=0)
KINDS = ("order 5xx, not executed", "order 5xx, executed (status unknown)", "response lost after execution",
         "response lost, lookups down, restart", "order hangs (timeout)", "429 storm, short Retry-After",
         "order rejected (insufficient balance)", "partial fill", "halted between ranking and ordering",
         "held symbol halted for hours", "fees in BNB", "server clock skewed", "restart between slots",
         "slot fired twice")


@dataclass
class BinanceSoak:
    bot: Bot
    seed: int
    injected: Counter = field(default_factory=Counter)
    alerts: int = 0
    restarts: int = 0
    slots: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self._deck: list[str] = []
        self._halted: list[str] = []  # this slot's halt, between ranking and ordering
        self._halts: dict[str, datetime] = {}  # symbol -> when it trades again

    @property
    def sim(self) -> BinanceSim:
        assert self.bot.sim is not None
        return self.bot.sim

    # --- the life of the bot ---------------------------------------------------------------
    async def run(self, n_slots: int) -> float:
        started = time.perf_counter()
        for hour in range(n_slots):
            kind = deal(self.rng, self._deck, KINDS)  # a fault before every slot
            self.injected[kind] += 1
            await self._slot(FIRST_SLOT + hour * HOUR, kind)
        await self._quiet_end(FIRST_SLOT + n_slots * HOUR)
        return time.perf_counter() - started

    async def _slot(self, at: datetime, kind: str) -> None:
        self._to(at + timedelta(seconds=5))
        self._lift_halts(at)
        if kind == "restart between slots":
            await self.restart()
        progress = self._halt_a_target if kind == "halted between ranking and ordering" else None
        self._arm(kind, at)
        await self._job(lambda: self.bot.services.rebalance_slot(progress))
        if kind == "slot fired twice":
            await self._job(lambda: self.bot.services.rebalance_slot())
        self._disarm()
        if kind == "response lost, lookups down, restart":
            await self.restart()  # the slot the lost answer left open is the new process's to finish
        self._to(at + timedelta(minutes=5))
        await self._job(lambda: self.bot.services.rebalancer.resume_unfinished(PARAMS))
        self._to(at + timedelta(minutes=30))
        await self._job(lambda: self.bot.services.mark())
        self.slots.append(slot_key(at))

    def _arm(self, kind: str, at: datetime) -> None:
        faults, rng = self.sim.faults, self.rng
        if kind == "order 5xx, not executed":
            faults.fail_next(rng.randint(1, 2), rng.choice((500, 502, 503)), ORDER, method="POST")
        elif kind == "order 5xx, executed (status unknown)":
            faults.fail_next(rng.randint(1, 2), 500, ORDER, method="POST", execute=True)
        elif kind == "response lost after execution":
            faults.lose_response_next(rng.randint(1, 3))
        elif kind == "response lost, lookups down, restart":
            faults.lose_response_next(1)
            faults.fail_next(100, 503, ORDER, method="GET")  # no lookup answers until the slot is over
        elif kind == "order hangs (timeout)":
            faults.hang_next(1, ORDER, method="POST")
        elif kind == "429 storm, short Retry-After":
            faults.fail_next(rng.randint(1, 3), 429, None, retry_after=1)
        elif kind == "order rejected (insufficient balance)":
            faults.reject_next(-2010, "Account has insufficient balance for requested action.")
        elif kind == "partial fill":
            faults.partial_next(rng.choice(("0.25", "0.5", "0.9")))
        elif kind == "held symbol halted for hours":
            last = self.bot.store.recent_rebalances(1)  # a position the last slot bought, not a dust one
            holdings = {a + "USDT" for a in self.bot.store.load_ledger().holdings()}
            held = sorted(set(last[0].targets if last else ()) & holdings)
            if held:
                symbol = rng.choice(held)
                self._halts[symbol] = at + rng.randint(1, 3) * HOUR
                faults.set_status(symbol, "HALT")
        elif kind == "fees in BNB":
            faults.bnb_fees(True)
        elif kind == "server clock skewed":
            faults.skew_clock(rng.choice((-1, 1)) * rng.randint(2_000, 30_000))

    def _halt_a_target(self, _line: str) -> None:
        """Called as the first order goes out, after the ranking: one of the slot's targets stops trading."""
        row = self.bot.store.unfinished_rebalances()[-1:]
        if row and row[0].targets and not self._halted:
            self._halted.append(self.rng.choice(row[0].targets))
            self.sim.faults.set_status(self._halted[0], "BREAK")

    def _disarm(self) -> None:
        """Withdraw what did not strike and lift this slot's halt; the halts lasting hours stay."""
        faults = self.sim.faults
        faults.clear()  # every symbol TRADING again
        self._halted.clear()
        for symbol in self._halts:
            faults.set_status(symbol, "HALT")

    def _lift_halts(self, now: datetime) -> None:
        for symbol, until in list(self._halts.items()):
            if until <= now:
                self.sim.faults.set_status(symbol, "TRADING")
                del self._halts[symbol]

    async def _job(self, work) -> None:
        """One scheduled job, guarded as jobs._guarded does: a refusal or an outage is an alert, never the end."""
        try:
            await work()
        except (UserError, VenueUnavailable):
            self.alerts += 1

    async def restart(self) -> None:
        await self.bot.restart()
        self.restarts += 1

    async def _quiet_end(self, at: datetime) -> None:
        """Faults over: the last open slot, if any, is finished by the resume job."""
        self._to(at)
        await self._job(lambda: self.bot.services.rebalancer.resume_unfinished(PARAMS))

    def _to(self, at: datetime) -> None:
        self.bot.clock.advance(max(at - self.bot.clock.now(), timedelta(0)))

    # --- what must hold afterwards ----------------------------------------------------------
    def venue_balances(self) -> dict[str, Decimal]:
        """The account at the venue less what it held besides the bot's own (the BNB kept for fees)."""
        held = self.sim.balances(KEY)
        return {a: held.get(a, Decimal(0)) - GIFT.get(a, Decimal(0)) for a in held.keys() | GIFT.keys()}

    def states(self) -> Counter:
        return Counter(r.state for r in self.bot.store.recent_rebalances(10**6))

    def sent_twice(self) -> int:
        """Client order ids the venue executed more than once."""
        executed = [o["clientOrderId"] for o in self.bot.orders_sent()]
        return len(executed) - len(set(executed))

    def trades_lost(self) -> int:
        """Venue trades with no fill booked in the ledger, plus booked fills the venue never made."""
        venue = {(o["clientOrderId"], str(f["tradeId"])) for o in self.bot.orders_sent() for f in o["fills"]}
        booked = {(f.client_order_id, str(f.trade_id)) for f in self.bot.store.fills()}
        return len(venue ^ booked)

    def figures(self, seconds: float) -> str:
        requests = Counter(r.status for r in self.sim.requests)
        return "\n".join([
            f"binance soak, seed {self.seed}: {len(self.slots)} hourly slots in {seconds:.1f} s; states "
            f"{dict(self.states())}; {len(self.bot.orders_sent())} orders executed, {self.sent_twice()} twice, "
            f"{self.trades_lost()} trades lost; {self.restarts} restarts; {self.alerts} job failures alerted",
            "faults injected: " + ", ".join(f"{k} {n}" for k, n in sorted(self.injected.items())),
            "answers by HTTP status: " + ", ".join(f"{k} {n}" for k, n in sorted(requests.items()))])
