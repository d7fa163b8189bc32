"""A difference between venue and ledger is announced once, however many trades move the totals after it."""
from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

from handlers.announce import announce_reconciliation
from tests.test_faults import Pushes

run = asyncio.run


def test_a_quote_difference_is_pushed_once_while_rebalances_move_the_totals(world):
    notifier = Pushes()
    run(announce_reconciliation(world.services, notifier))  # the baseline: nothing to say
    world.paper.deposit("USDT", Decimal("5"))  # cash arrives at the venue outside the bot
    run(announce_reconciliation(world.services, notifier))
    for _ in range(3):  # every rebalance moves the venue's and the ledger's USDT; the gap stays 5
        run(world.services.rebalance_slot())
        world.clock.advance(timedelta(days=1))
        run(announce_reconciliation(world.services, notifier))
    alerts = notifier.alerts()
    assert len(alerts) == 1 and "USDT" in alerts[0] and "gap +5" in alerts[0]
