"""Crash safety: bot.py SIGKILLed at every step of a rebalance, then restarted, on both venues.

Per venue (paper on the synthetic market; EXCHANGE=testnet against local Binance-compatible servers) an
account is prepared with one earlier slot, so the slot under test sells what it holds and buys anew. One
uninterrupted run of the slot is the baseline. Then, for every crash point (tradingbot/adapters/crashpoints.py) and
every time a rebalance reaches it (#n): a fresh copy of the prepared account; a run killed there (exit -9);
a restart, which must finish the slot; a third run, which must send and book nothing. After the restart the
venue has executed each client order id at most once (and the local Binance was asked to, once), journal
fills == venue fills, the stored ledger == the ledger replayed from the journal == the venue balances, and
everything equals the baseline. A few runs are killed again while recovering (REPEATED) before the restart.

CI runs topn=3 (3 sells, 3 buys: 28 kill points per venue). The full matrix (topn=10: 84 per venue, minutes):
    CRASH_TOPN=10 /work/main/.venv/bin/python -m pytest tests/test_crash.py -q -s
Both venues run at once, several kill points of each at a time: by default 2 on paper (each uses a core) and
4 on testnet (whose restarts mostly wait out Binance's recvWindow before trusting an order never arrived).
CRASH_WORKERS=n runs n at a time on paper and 2n on testnet, keeping that ratio.
"""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pytest

from tests.crash_harness import CAPITAL, ROOT, SLOT, SLOT_TIME, Outcome, run_bot
from tests.crash_venues import BinanceVenue, PaperVenue
from tests.figures import count, note
from tradingbot.adapters.clock import FrozenClock
from tradingbot.adapters.crashpoints import POINTS, parse

TOPN = int(os.environ.get("CRASH_TOPN", "3"))
ENV = {"LOG_LEVEL": "WARNING", "TELEGRAM_BOT_TOKEN": "", "STARTING_CAPITAL": CAPITAL,
       "CHART_DIR": tempfile.mkdtemp(prefix="itb-crash-charts-"), "TRADINGBOT_FROZEN_CLOCK": "1"}
REBALANCE = ["--clock", SLOT_TIME, "rebalance", "--json"]
# Killed, then killed again while recovering: each later point is surely reached by the restarted run.
REPEATED = [("order-accepted#2", "sell-recorded#2"), ("ledger-write#1", "ledger-write#1"),
            ("sells-planned", "buys-planned"), ("order-sending#4", "buy-recorded#2"),
            ("order-sending#1", "order-accepted#1", "ledger-write#1")]


def kill_points(sells: int, buys: int) -> list[tuple[str, ...]]:
    """Every crash point, at every time one rebalance of `sells` sells and `buys` buys reaches it."""
    orders = sells + buys
    points = ["slot-opened", "sells-planned", "sells-done", "buys-planned"]
    points += [f"sell-recorded#{n}" for n in range(1, sells + 1)] + [f"buy-recorded#{n}" for n in range(1, buys + 1)]
    points += [f"{p}#{n}" for p in ("order-sending", "order-accepted", "ledger-write") for n in range(1, orders + 1)]
    return [(p,) for p in points]


@dataclass(frozen=True)
class Survived:
    kills: tuple[str, ...]
    orders: int  # orders of the slot the venue executed
    duplicates: int  # client order ids it executed more than once
    lost: int  # venue fills missing from the journal
    seconds: float  # the killed runs and the restart


def survive(venue: PaperVenue | BinanceVenue, kills: tuple[str, ...], worker: int, baseline: Outcome) -> Survived:
    """Kill runs of the slot at `kills` (one run each), restart, run a third time; check each step."""
    point = "+".join(kills)
    name = point.replace("#", "-").replace("+", "_")  # also an API key in a query string
    account = venue.fresh(name, worker)
    argv, env = [*venue.argv(account), *REBALANCE], {**ENV, **account.env}
    logs = venue.work / name
    seconds = 0.0
    for n, kill in enumerate(kills, 1):
        crashed = run_bot(argv, {**env, "TRADINGBOT_CRASH_AT": kill}, logs.with_name(f"{name}-crash{n}"))
        assert crashed.code == -9, f"{point}: not killed at {kill} (exit {crashed.code}): {crashed.stderr[-1500:]}"
        seconds += crashed.seconds
    restarted = run_bot(argv, env, logs.with_name(f"{name}-restart"))
    assert restarted.summary()["state"] == "done", f"{point}: {restarted.stdout[-1500:]}"
    assert "venue and ledger differ" not in restarted.stderr, f"{point}: {restarted.stderr[-1500:]}"
    after = venue.outcome(account)
    assert not after.problems(), f"{point}: {after.problems()}"
    assert after.orders == baseline.orders, f"{point}: orders {after.orders} != baseline {baseline.orders}"
    assert after.trades() == baseline.trades(), f"{point}: fills {after.trades()} != baseline {baseline.trades()}"
    assert after.ledger == baseline.ledger and after.balances == baseline.balances, f"{point}: positions differ"
    sends = venue.sends(account)
    assert sends in (None, len(after.venue_orders)), f"{point}: {sends} order requests for {after.venue_orders}"
    third = run_bot(argv, env, logs.with_name(f"{name}-third"))
    assert third.summary()["already_done"], f"{point}: third run: {third.stdout[-1500:]}"
    assert venue.outcome(account) == after and venue.sends(account) == sends, f"{point}: the third run did something"
    duplicates = sum(n - 1 for n in Counter(after.venue_orders).values())
    lost = len(set(after.venue_fills) - set(after.fills))
    return Survived(kills, len(after.venue_orders), duplicates, lost, seconds + restarted.seconds)


@dataclass
class Matrix:
    """One venue's kill matrix: its baseline, the points to kill at, and what came of each."""

    name: str
    venue: PaperVenue | BinanceVenue
    workers: int
    baseline: Outcome | None = None
    points: list[tuple[str, ...]] = field(default_factory=list)
    cold_start: float = 0.0
    survived: list[Survived] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def start(self) -> None:
        """Prepare the account, run the slot uninterrupted (the baseline), list every kill point."""
        self.venue.prepare(ENV, TOPN)
        account = self.venue.fresh("baseline", 0)
        # The baseline is `python bot.py` itself, so the warm forks are checked against the real CLI.
        run = run_bot([*self.venue.argv(account), *REBALANCE], {**ENV, **account.env}, self.venue.work / "baseline",
                      cold=True)
        summary = run.summary()
        assert summary["slot"] == SLOT and summary["state"] == "done" and not summary["already_done"]
        self.baseline, self.cold_start = self.venue.outcome(account), run.seconds
        assert not self.baseline.problems(), self.baseline.problems()
        sides = Counter(o["side"] for o in summary["orders"] if o["status"] == "filled")
        assert sides["SELL"] == sides["BUY"] == TOPN == len(summary["orders"]) // 2
        self.points = kill_points(sides["SELL"], sides["BUY"])
        assert {p.partition("#")[0] for (p,) in self.points} == set(POINTS)

    def run(self, worker: int) -> None:
        """Every workers-th kill, in order (on testnet each worker has a server of its own)."""
        assert self.baseline is not None
        for kills in (self.points + REPEATED)[worker::self.workers]:
            try:
                self.survived.append(survive(self.venue, kills, worker, self.baseline))
            except AssertionError as e:
                self.failed.append(f"{self.name} {str(e)[:3000]}")

    def report(self) -> str:
        s, single = self.survived, sum(1 for s in self.survived if len(s.kills) == 1)
        return (f"[crash] {self.name}: {single}/{len(self.points)} kill points survived (topn={TOPN}), "
                f"{len(s) - single}/{len(REPEATED)} repeated crashes; {sum(x.orders for x in s)} venue orders checked, "
                f"{sum(x.duplicates for x in s)} duplicates, {sum(x.lost for x in s)} records lost; cold `python bot.py`"
                f" run {self.cold_start:.2f} s, crash+restart {sum(x.seconds for x in s) / max(len(s), 1):.2f} s on average")


def workers(override: str | None) -> tuple[int, int]:
    """Kill points run at a time on (paper, testnet): CRASH_WORKERS=n gives n and 2n (see the docstring)."""
    paper = int(override) if override else 2
    assert paper >= 1, f"CRASH_WORKERS must be at least 1 (got {override!r})"
    return paper, 2 * paper


def test_a_rebalance_killed_at_any_step_finishes_on_restart_with_every_order_sent_once(tmp_path):
    # Both venues at once: the testnet restarts mostly sleep (recvWindow) while paper runs use the cores.
    paper_workers, testnet_workers = workers(os.environ.get("CRASH_WORKERS"))
    (tmp_path / "paper").mkdir()
    (tmp_path / "testnet").mkdir()
    matrices = [Matrix("paper", PaperVenue(tmp_path / "paper"), paper_workers)]
    try:
        matrices.append(Matrix("testnet", BinanceVenue(tmp_path / "testnet", testnet_workers), testnet_workers))
        with ThreadPoolExecutor(sum(m.workers for m in matrices)) as pool:
            list(pool.map(Matrix.start, matrices))
            list(pool.map(lambda job: job[0].run(job[1]), [(m, w) for m in matrices for w in range(m.workers)]))
    finally:
        for m in matrices:
            m.venue.close()
    for m in matrices:
        note(m.report())
        count(f"crash kill points survived ({m.name})", sum(1 for s in m.survived if len(s.kills) == 1))
        count("crash duplicate orders", sum(x.duplicates for x in m.survived))
        count("crash records lost", sum(x.lost for x in m.survived))
    for m in matrices:
        assert not m.failed, "\n".join(m.failed)
        assert len(m.survived) == len(m.points) + len(REPEATED)


def test_a_crash_point_is_named_and_counted():
    assert parse("ledger-write#3") == ("ledger-write", 3) and parse("sells-planned") == ("sells-planned", 1)
    for bad in ("ledger", "ledger-write#0", "ledger-write#x", ""):
        with pytest.raises(ValueError):
            parse(bad)
    # Counted: the process is SIGKILLed the n-th time its point is reached, not at another point nor before.
    reached = ("order-accepted", "order-sending", "ledger-write", "order-sending", "buys-planned")
    script = ("from tradingbot.adapters.crashpoints import kill_at\ncheckpoint = kill_at('order-sending#2')\n"
              f"for point in {reached!r}:\n    print(point, flush=True)\n    checkpoint(point)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert done.stdout.split() == list(reached[:4])


def test_a_frozen_clock_stands_still_while_sleeps_really_wait():
    clock = FrozenClock(datetime(2026, 11, 24, 9, tzinfo=timezone.utc))
    started = time.monotonic()
    asyncio.run(clock.sleep(0.05))
    assert clock.now() == datetime(2026, 11, 24, 9, tzinfo=timezone.utc) and time.monotonic() - started >= 0.05
