"""The SQLite file shared with a BI tool (Metabase, Datasette) while a rebalance writes to it.

WAL lets a reader hold a read transaction without blocking the bot; a writer holding the lock
briefly is waited for (busy_timeout); one holding it past the timeout fails the write, and the
slot is left open and finished by the resume job from the journal and the venue, losing nothing.
"""
import asyncio
import sqlite3
import threading

from tests.test_faults import assert_books_agree

run = asyncio.run


class LockHolder:
    """Another process's connection taking the write lock from the first progress line for `seconds`."""

    def __init__(self, path, seconds: float):
        self.path, self.seconds = path, seconds
        self.taken, self.thread = threading.Event(), None

    def __call__(self, _line: str) -> None:
        if self.thread is None:
            self.thread = threading.Thread(target=self._hold)
            self.thread.start()
            self.taken.wait(5)

    def _hold(self) -> None:
        other = sqlite3.connect(self.path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        self.taken.set()
        threading.Event().wait(self.seconds)
        other.execute("COMMIT")
        other.close()

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join()


def test_a_dashboard_holding_a_read_transaction_does_not_block_a_rebalance(world, tmp_path):
    reader = sqlite3.connect(tmp_path / "bot.sqlite", isolation_level=None)
    reader.execute("BEGIN")
    before = reader.execute("SELECT COUNT(*) FROM fills").fetchone()[0]
    summary = run(world.services.rebalance_slot())
    assert summary.state == "done" and len(summary.fills) == 4
    assert reader.execute("SELECT COUNT(*) FROM fills").fetchone()[0] == before  # its snapshot, undisturbed
    reader.execute("COMMIT")
    assert reader.execute("SELECT COUNT(*) FROM bi_fills").fetchone()[0] == 4  # and then the new rows
    reader.close()
    assert_books_agree(world)


def test_a_write_lock_shorter_than_the_busy_timeout_is_waited_for(world, tmp_path):
    holder = LockHolder(tmp_path / "bot.sqlite", 0.5)  # busy_timeout is 5 s
    summary = run(world.services.rebalance_slot(progress=holder))
    holder.join()
    assert summary.state == "done" and len(summary.fills) == 4
    assert_books_agree(world)


def test_a_write_lock_longer_than_the_timeout_leaves_the_slot_to_resume_without_losing_records(world, tmp_path):
    world.db.execute("PRAGMA busy_timeout = 100")  # the 5 s default, shortened to keep the test fast
    holder = LockHolder(tmp_path / "bot.sqlite", 0.6)
    try:
        run(world.services.rebalance_slot(progress=holder))
        raised = None
    except sqlite3.OperationalError as e:  # the scheduled job turns this into an alert
        raised = e
    holder.join()
    assert raised is not None and "locked" in str(raised)
    [open_slot] = world.store.unfinished_rebalances()
    again = LockHolder(tmp_path / "bot.sqlite", 0.6)
    again("the resume job runs while the lock is held again")
    assert run(world.services.rebalancer.resume_unfinished(world.services.params)) == []
    again.join()
    assert world.store.get_rebalance(open_slot.slot).state in ("selling", "buying")  # not given up as failed
    world.db.execute("PRAGMA busy_timeout = 5000")
    [summary] = run(world.services.rebalancer.resume_unfinished(world.services.params))
    assert summary.slot == open_slot.slot and summary.state == "done" and len(summary.fills) == 4
    assert_books_agree(world)
