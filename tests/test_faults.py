"""Faults at the slot on the paper venue: an unreachable exchange, a halt mid-rebalance, a delisting while held.

Each runs the real engine, store and paper venue through the scheduled job and the command table, and
ends with the ledger re-derived from fills equal to the stored one and to the venue's balances.
"""
import asyncio
from datetime import timedelta
from decimal import Decimal

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from handlers.announce import announce_rebalance
from handlers.commands import Context, dispatch
from tests import books
from tradingbot.core.domain import OrderStatus
from handlers.jobs import REBALANCE_JOB, install_jobs

run = asyncio.run
DAY = timedelta(days=1)


class Pushes:
    """A Notifier that keeps what it was asked to push."""

    def __init__(self):
        self.pushed: list[tuple[str, str]] = []

    async def push(self, kind, text, monospace=False, photos=(), caption=""):
        self.pushed.append((kind, text))

    def alerts(self) -> list[str]:
        return [t for k, t in self.pushed if k == "alert"]


def fire_slot(world, pushes: Pushes) -> None:
    """One firing of the scheduled rebalance job, announcing through `pushes` as the bot does."""
    async def scenario():
        scheduler = AsyncIOScheduler(timezone="UTC")
        install_jobs(scheduler, world.services, lambda s: announce_rebalance(s, world.services, pushes),
                     alert=lambda text: pushes.push("alert", text))
        job = scheduler.get_job(REBALANCE_JOB)
        await job.func(*job.args)
    run(scenario())


def command(world, text: str) -> str:
    return run(dispatch(Context(world.services, "test"), text)).text


def assert_books_agree(world) -> None:
    books.assert_books_agree(world.store, run(world.paper.balances()))
    assert len(world.venue.sent) == len(set(world.venue.sent))


def test_an_exchange_unreachable_through_the_slot_is_retried_then_skipped_alerted_once_and_listed(world, caplog):
    world.market.down_until = world.clock.now() + timedelta(hours=1)
    pushes, fired = Pushes(), world.clock.now()
    fire_slot(world, pushes)
    row = world.store.get_rebalance("S20261124T0900")
    assert row.state == "skipped" and row.note.startswith("exchange unreachable: market data: connection refused")
    retries = [r for r in caplog.records if "trying again" in r.getMessage()]
    assert len(retries) == 14  # 1, 2, 4 ... 32 s, then every minute ...
    assert timedelta(minutes=9) < row.started_at - fired <= timedelta(minutes=10)  # ... for 10 minutes
    [alert] = pushes.alerts()
    assert "S20261124T0900 skipped" in alert and "exchange unreachable" in alert
    assert "exchange unreachable" in command(world, "/history")
    assert world.venue.sent == []

    world.market.down_until = None  # the exchange is back within the same slot's hour
    fire_slot(world, pushes)
    assert world.store.get_rebalance("S20261124T0900").state == "skipped" and world.venue.sent == []
    assert len(pushes.alerts()) == 1  # the repeat is reported as already handled, not alerted again

    world.clock.advance(DAY)  # the next slot runs as usual
    fire_slot(world, pushes)
    assert world.store.get_rebalance("S20261125T0900").state == "done" and len(world.venue.sent) == 4
    assert_books_agree(world)


def test_a_brief_outage_at_the_slot_is_waited_out(world):
    world.market.down_until = world.clock.now() + timedelta(seconds=2)
    summary = run(world.services.rebalance_slot())
    assert summary.state == "done" and len(summary.fills) == 4
    assert world.market.calls_refused == 2  # at 0 s and 1 s; the try at 3 s got through
    assert_books_agree(world)


def test_an_outage_while_resuming_leaves_the_slot_open_instead_of_failing_it(world):
    world.venue.down_for = 100  # orders cannot go out: the slot stays open to be resumed
    first = run(world.services.rebalance_slot())
    assert first.state == "buying"
    world.market.down_until = world.clock.now() + timedelta(hours=1)
    assert run(world.services.rebalancer.resume_unfinished(world.services.params)) == []
    assert world.store.get_rebalance(first.slot).state == "buying"  # not marked failed by an outage
    world.market.down_until, world.venue.down_for = None, 0
    [resumed] = run(world.services.rebalancer.resume_unfinished(world.services.params))
    assert resumed.state == "done" and len(resumed.fills) == 4
    assert_books_agree(world)


def test_a_symbol_halted_between_ranking_and_ordering_is_refused_once_and_the_rest_completes(world):
    halted: list[str] = []

    def halt_a_target(_line: str) -> None:  # called as the first order goes out, after the ranking
        if not halted:
            row = world.store.get_rebalance("S20261124T0900")
            halted.append(row.targets[-1])
            world.market.halt(halted[0])

    summary = run(world.services.rebalance_slot(progress=halt_a_target))
    assert summary.state == "done"
    refused = [o for o in summary.orders if o.symbol == halted[0]]
    assert [o.status for o in refused] == [OrderStatus.REJECTED] and "closed" in refused[0].error.lower()
    assert sorted(f.symbol for f in summary.fills) == sorted(t for t in summary.targets if t != halted[0])
    assert [c for c in world.venue.sent if halted[0] in c] == [f"S20261124T0900-B-{halted[0]}"]  # sent once
    assert any(halted[0] in e for e in summary.errors)
    assert_books_agree(world)


def test_a_token_delisted_while_held_keeps_its_last_price_and_is_reported_unsellable(world):
    first = run(world.services.rebalance_slot())
    gone = first.targets[0]
    asset = gone.removesuffix("USDT")
    held = world.store.load_ledger().holdings()[asset]
    last_price = world.store.last_prices()[gone]
    equity_before = run(world.services.pnl()).equity
    world.market.delist(gone)
    world.clock.advance(timedelta(minutes=5))

    for text in ("/status", "/pnl", "/positions"):
        assert "failed" not in command(world, text).lower()
    [position] = [p for p in run(world.services.positions()).positions if p.asset == asset]
    assert position.price == last_price and position.quantity == held
    assert abs(run(world.services.pnl()).equity - equity_before) < equity_before * Decimal("0.01")

    world.clock.advance(DAY)
    summary = run(world.services.rebalance_slot())
    assert summary.state == "done"
    assert any(s.symbol == gone and "not listed" in s.reason for s in summary.skipped)
    assert not any(c.endswith(gone) for c in world.venue.sent[4:])  # never sent: nothing to sell it on
    assert world.store.load_ledger().holdings()[asset] == held  # the ledger keeps it until written off
    assert_books_agree(world)


def test_a_manager_asking_while_the_exchange_is_down_gets_an_answer_in_seconds_not_minutes(world):
    world.market.down_until = world.clock.now() + timedelta(hours=1)
    asked = world.clock.now()
    summary = run(world.services.rebalance_now())
    assert summary.state == "skipped" and "exchange unreachable" in summary.row.note
    assert world.clock.now() - asked < timedelta(seconds=10)  # backoff 1 + 2 + 4 s, then the answer
    assert world.venue.sent == []
