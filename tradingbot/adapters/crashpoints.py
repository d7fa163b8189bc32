"""Named crash points: the steps of a rebalance at which a test kills the bot to prove it recovers.

The rebalancer and the store call `checkpoint(point)` at each step below; in production the checkpoint
does nothing. Only the composition root (bot.py) wires a real one, and only when the test-only
environment variable TRADINGBOT_CRASH_AT=<point>[#n] is set: the process then SIGKILLs itself the
n-th time (default: the first) it reaches that point. tests/test_crash.py runs every point.
"""
from __future__ import annotations

import os
import signal

from ..app.ports import Checkpoint

POINTS = {
    "slot-opened": "the slot's journal row and ranking are written; nothing is planned",
    "sells-planned": "the sell leg is journaled (PLANNED); nothing is sent",
    "order-sending": "an order is marked SENDING; its request has not gone out",
    "order-accepted": "the venue executed an order; the journal does not know it yet",
    "ledger-write": "inside the booking transaction: fills inserted, ledger not yet updated",
    "sell-recorded": "a sell is booked: fills, ledger and FILLED status",
    "sells-done": "the slot is marked buying; the buy leg is not planned yet",
    "buys-planned": "the buy leg is journaled (PLANNED); nothing is sent",
    "buy-recorded": "a buy is booked: fills, ledger and FILLED status",
}


def parse(spec: str) -> tuple[str, int]:
    """'<point>[#n]' as (point, n); ValueError for an unknown point or a bad n."""
    point, _, nth = spec.strip().partition("#")
    n = int(nth) if nth else 1
    if point not in POINTS or n < 1:
        raise ValueError(f"crash point must be one of {', '.join(POINTS)}, optionally #n with n >= 1 (got {spec!r})")
    return point, n


def kill_at(spec: str) -> Checkpoint:
    """A checkpoint that SIGKILLs this process the n-th time `point` is reached (no cleanup, no flush)."""
    point, n = parse(spec)
    hits = 0

    def checkpoint(reached: str) -> None:
        nonlocal hits
        if reached == point:
            hits += 1
            if hits == n:
                os.kill(os.getpid(), signal.SIGKILL)

    return checkpoint
