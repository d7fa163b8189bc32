"""Regression tests for the ways a rebalance could be doubled, stuck or mis-valued (review findings)."""
import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest

from tests.conftest import World
from tradingbot.adapters.lockfile import FileLock
from tradingbot.core.domain import OrderStatus
from tradingbot.app.rebalancer import client_order_id
from tradingbot.core.errors import UserError

run = asyncio.run


def test_a_second_process_cannot_rebalance_the_same_account(world):
    other = FileLock(world.lock.path)  # another process's handle on the same lock file
    assert other.acquire()
    try:
        with pytest.raises(UserError, match="another process"):
            run(world.services.rebalance_slot())
        assert world.venue.sent == []
    finally:
        other.release()
    assert run(world.services.rebalance_slot()).state == "done"


def test_the_running_bot_keeps_its_lock_across_its_own_rebalances(world):
    assert world.lock.acquire()  # as bot.py does at start, for the process's life
    assert run(world.services.rebalance_slot()).state == "done"  # a nested hold, released after the slot
    assert not FileLock(world.lock.path).acquire()  # another process is still kept out
    world.lock.release()
    other = FileLock(world.lock.path)
    assert other.acquire()
    other.release()


def test_an_execution_is_booked_once_however_often_it_is_reported(world):
    summary = run(world.services.rebalance_slot())
    fill = summary.fills[0]
    row = world.store.get_rebalance(summary.slot)
    found = run(world.paper.find_order(fill.symbol, fill.client_order_id))
    before = (world.store.load_ledger().cash, len(world.store.fills()))
    booked = world.store.record_execution(fill.client_order_id, found.status, found.exchange_order_id,
                                          found.fills, fill.symbol.removesuffix("USDT"), row.id,
                                          world.clock.now())
    assert booked is False
    assert (world.store.load_ledger().cash, len(world.store.fills())) == before
    world.store.set_order_status(fill.client_order_id, OrderStatus.REJECTED, world.clock.now())
    assert {o.status for o in world.store.orders_for(summary.slot)} == {OrderStatus.FILLED}


def test_a_stale_open_slot_is_settled_and_abandoned_not_finished_late(world):
    world.venue.lose_response_of = {"LIMAUSDT"}
    world.venue.lookups_down_after_loss = 1000
    first = run(world.services.rebalance_slot())
    assert first.state in ("selling", "buying")
    world.venue.lookups_down = 0
    world.clock.advance(timedelta(days=2))
    sent_before = len(world.venue.sent)
    later = run(world.services.rebalance_slot())
    assert later.state == "done"
    old = world.store.get_rebalance(first.slot)
    assert old.state == "abandoned" and "superseded" in old.note
    old_orders = {o.symbol: o.status for o in world.store.orders_for(first.slot)}
    assert old_orders["LIMAUSDT"] is OrderStatus.FILLED  # what the venue did execute is booked
    assert OrderStatus.PLANNED not in old_orders.values() and OrderStatus.SENDING not in old_orders.values()
    assert not any(c.startswith(first.slot) for c in world.venue.sent[sent_before:])
    assert world.store.load_ledger().holdings() == {a: q for a, q in run(world.paper.balances()).items()
                                                    if a != "USDT"}


def test_a_slot_that_cannot_be_booked_is_marked_failed_and_the_bot_goes_on(world):
    run(world.services.rebalance_slot())
    held = sorted(world.store.load_ledger().holdings())[0]
    world.clock.advance(timedelta(days=1))
    world.venue.lose_response_of = {held + "USDT"}  # its sell executes, the answer is lost ...
    world.venue.lookups_down_after_loss = 1000  # ... and the venue cannot be asked
    first = run(world.services.rebalance_slot())
    assert first.state == "selling"
    world.venue.lookups_down = 0
    world.db.execute("UPDATE positions SET quantity = '0' WHERE asset = ?", [held])  # ledger out of step
    world.db.conn.commit()
    [summary] = run(world.services.rebalancer.resume_unfinished(world.services.params))
    assert summary.state == "failed" and "exceeds" in world.store.get_rebalance(first.slot).note
    assert run(world.services.status()).venue == "paper"  # every other command still answers
    assert run(world.services.rebalancer.resume_unfinished(world.services.params)) == []  # not retried forever


def test_a_halted_holding_is_valued_at_its_last_close_not_zero(world):
    run(world.services.rebalance_slot())
    before = run(world.services.pnl())
    held = sorted(a for a in world.store.load_ledger().holdings())[0]
    world.market.halt(held + "USDT")
    after = run(world.services.pnl())
    assert abs(after.equity - before.equity) < before.equity * Decimal("0.001")
    assert after.net == after.realized + after.unrealized


def test_client_order_ids_always_fit_binance_rules():
    for slot in ("S20261124T0900", "M20261124T091503"):
        for symbol in ("BTCUSDT", "1000CHEEMSUSDT", "A" * 40 + "USDT", "WEIRD:SYMBOL/USDT"):
            coid = client_order_id(slot, "B", symbol)
            assert 1 <= len(coid) <= 36 and all(c.isalnum() or c in "_-" for c in coid), coid


def test_looking_never_resumes_a_rebalance(tmp_path):
    w = World(tmp_path / "x.sqlite")
    w.venue.down_for = 100
    run(w.services.rebalance_slot())
    assert w.store.unfinished_rebalances()
    run(w.services.status())
    run(w.services.pnl())
    assert w.store.unfinished_rebalances()  # only the bot's resume job or `rebalance` finish it


def test_an_unexpected_failure_of_one_order_starts_no_further_order_of_its_leg(world, monkeypatch):
    from tradingbot.app import rebalancer as engine

    class Failing:  # the first order executes, then something unforeseen breaks (say, a disk error)
        name = "paper"

        async def place_market_order(self, order):
            await world.venue.place_market_order(order)
            raise OSError("disk I/O error")

        def __getattr__(self, attr):
            return getattr(world.venue, attr)

    monkeypatch.setattr(engine, "ORDER_CONCURRENCY", 1)  # one at a time, so "further" is well defined
    world.services.rebalancer.desk.exchange = Failing()
    with pytest.raises(OSError):
        run(world.services.rebalance_slot())
    assert len(world.venue.sent) == 1  # the other three buys were never started
    world.services.rebalancer.desk.exchange = world.venue
    [summary] = run(world.services.rebalancer.resume_unfinished(world.services.params))
    assert summary.state == "done" and len(world.venue.sent) == 4 == len(set(world.venue.sent))


def test_a_long_rate_limit_ban_mid_leg_leaves_the_order_to_the_resume_job_instead_of_sleeping_on_it(world):
    from tradingbot.core.errors import VenueUnavailable

    class Banned:  # the venue answers every order with a one-hour 418 ban
        name = "paper"

        async def place_market_order(self, order):
            raise VenueUnavailable("rate limited (418)", retry_after=3600)

        def __getattr__(self, attr):
            return getattr(world.paper, attr)

    world.services.rebalancer.desk.exchange = Banned()
    started = world.clock.now()
    summary = run(world.services.rebalance_slot())
    assert summary.state == "buying" and world.clock.now() - started < timedelta(minutes=1)
    world.services.rebalancer.desk.exchange = world.venue
    [done] = run(world.services.rebalancer.resume_unfinished(world.services.params))
    assert done.state == "done" and len(world.venue.sent) == 4
