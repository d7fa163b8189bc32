"""When a scheduled slot may run: due now (within the grace period), not paused, never in the past."""
import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest

from tests.builders import NOW
from tradingbot.core.errors import UserError
from tradingbot.app.reports import SlotRefusal

run = asyncio.run
GRACE = timedelta(minutes=10)


def test_a_slot_runs_only_when_due_and_not_paused(world):
    world.clock.set(NOW + timedelta(hours=7, minutes=27))  # the 09:00 slot, 7.5 hours late
    late = run(world.services.scheduled_rebalance(GRACE))
    assert isinstance(late, SlotRefusal) and late.reason == "late" and late.slot == "S20261124T0900"
    assert "7 h 27 min ago" in late.message and "\n" not in late.message

    world.clock.set(NOW + timedelta(days=1, minutes=4))
    world.services.pause("test")  # e.g. after /liquidate
    paused = run(world.services.scheduled_rebalance(GRACE))
    assert isinstance(paused, SlotRefusal) and paused.reason == "paused"
    assert world.venue.sent == [] and world.store.recent_rebalances(10) == []

    world.services.resume("test")
    done = run(world.services.scheduled_rebalance(GRACE))  # due, within the grace period
    assert done.state == "done" and done.slot == "S20261125T0900" and world.venue.sent
    again = run(world.services.scheduled_rebalance(GRACE))
    assert again.already_done


def test_a_slot_older_than_the_newest_journaled_one_is_never_run(world):
    run(world.services.rebalance_slot())  # S20261124T0900
    world.clock.set(NOW + timedelta(days=2))
    run(world.services.rebalance_slot())  # S20261126T0900
    sent, journal = list(world.venue.sent), world.store.recent_rebalances(10)

    world.clock.set(NOW + timedelta(days=1, seconds=10))  # the clock goes back to the 25th's slot
    refused = run(world.services.scheduled_rebalance(GRACE))
    assert isinstance(refused, SlotRefusal) and refused.reason == "past"
    assert "older than the newest journaled slot S20261126T0900" in refused.message
    for attempt in (world.services.rebalance_slot, world.services.rebalance_now, world.services.liquidate):
        with pytest.raises(UserError, match="has the clock gone back"):
            run(attempt())
    assert world.venue.sent == sent and world.store.recent_rebalances(10) == journal


def test_history_and_the_previous_rebalance_go_by_time_not_by_insertion_order(world):
    """A journal written out of time order (as before the clock check) still reads in time order."""
    first = run(world.services.rebalance_slot())
    world.clock.set(NOW + timedelta(days=2))
    third = run(world.services.rebalance_slot())
    middle = world.store.start_rebalance("S20261125T0900", "scheduled", "done", NOW + timedelta(days=1),
                                         "momentum", "full", (), Decimal(10000))
    world.store.update_rebalance(middle.slot, equity_after="9990")
    assert [r.slot for r in world.store.recent_rebalances(10)] == [third.slot, middle.slot, first.slot]
    assert world.store.previous_rebalance(third.row.id).slot == middle.slot
    _, since_previous = world.services.rebalance_pnl(third)
    assert since_previous == third.equity_after - Decimal(9990)
