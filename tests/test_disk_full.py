"""A full disk (SQLITE_FULL, simulated with PRAGMA max_page_count): one line naming the database, an alert,
a consistent journal, and the open slot finished once space returns."""
import asyncio
import sqlite3
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

import bot
from tests.builders import NO_ENV_FILE
from tests.books import assert_books_agree
from handlers.jobs import REBALANCE_JOB, RESUME_JOB, install_jobs
from tradingbot.bootstrap import account_lock, build
from tradingbot.settings import load_settings

run = asyncio.run
FULL = "database or disk is full"


def fill_up(db) -> None:
    """No page may be added any more: the next write that needs one fails with SQLITE_FULL."""
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.conn.execute(f"PRAGMA max_page_count = {pages}")


def make_room(db) -> None:
    db.conn.execute("PRAGMA max_page_count = 1073741823")


def test_a_full_disk_mid_slot_leaves_it_open_and_the_resume_job_finishes_it_once_space_returns(world):
    alerts: list[str] = []

    async def alert(text):
        alerts.append(text)

    async def scenario():
        scheduler = AsyncIOScheduler(timezone="UTC")
        install_jobs(scheduler, world.services, _ignore, alert=alert)
        scheduler.start(paused=True)
        try:
            fill_up(world.db)
            for _ in range(30):  # daily slots until the journal no longer fits
                await _fire(scheduler, REBALANCE_JOB)
                if alerts:
                    break
                world.clock.advance(timedelta(days=1))
            [open_slot] = world.store.unfinished_rebalances()
            await _fire(scheduler, RESUME_JOB)  # still full: left open, not given up as failed
            assert world.store.unfinished_rebalances() == [open_slot]
            make_room(world.db)
            world.clock.advance(timedelta(minutes=5))
            await _fire(scheduler, RESUME_JOB)
            return open_slot
        finally:
            scheduler.shutdown(wait=False)

    open_slot = run(scenario())
    assert world.store.get_rebalance(open_slot.slot).state == "done" and world.store.unfinished_rebalances() == []
    assert_books_agree(world.store, run(world.venue.balances()))
    path = world.db.execute("PRAGMA database_list").fetchone()[2]
    assert alerts[0].startswith(f"⚠ Scheduled rebalance failed: the database {path} cannot be written: {FULL}")
    assert "\n" not in alerts[0] and "Traceback" not in alerts[0]


def test_bot_py_stops_with_one_line_naming_the_database_when_it_is_full(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "")
    db = str(tmp_path / "full.sqlite")
    args = bot.parse_args(["--env-file", NO_ENV_FILE, "--db", db, "--demo", "--clock", "2026-11-24T09:00:10Z",
                           "rebalance"])
    app = build(load_settings(env_file=NO_ENV_FILE), bot.run_options(args), account_lock(db))
    fill_up(app.services.store.db)
    assert bot.run_app(args, app) == bot.STORAGE_FULL
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"stopped: the database {db} cannot be written: {FULL} (free some disk space; an interrupted "
                   "rebalance is finished once it can be written again)"]
    with sqlite3.connect(db) as conn:  # nothing half-written: the slot was not even journaled
        assert conn.execute("SELECT COUNT(*) FROM rebalances").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM paper_orders").fetchone()[0] == 0
    app = build(load_settings(env_file=NO_ENV_FILE), bot.run_options(args), account_lock(db))  # space is back
    assert bot.run_app(args, app) == 0
    assert "Rebalance S20261124T0900 done" in capsys.readouterr().out


async def _fire(scheduler, job_id):
    job = scheduler.get_job(job_id)
    await job.func(*job.args)


async def _ignore(summary):
    return None


def test_a_command_that_cannot_write_answers_in_one_line_naming_the_database(world):
    from handlers.commands import Context, dispatch

    fill_up(world.db)
    for day in range(30):  # manual rebalances until the journal no longer fits
        reply = run(dispatch(Context(world.services, "console"), "/rebalance_now"))
        if reply.summary is None:
            break
        world.clock.advance(timedelta(days=1))
    assert reply.text.startswith("⚠ the database ") and FULL in reply.text and "\n" not in reply.text
    make_room(world.db)
    assert_books_agree(world.store, run(world.venue.balances()))
