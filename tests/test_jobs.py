"""The scheduled jobs on a real APScheduler AsyncIOScheduler (the same one PTB's JobQueue wraps)."""
import asyncio
from datetime import datetime, timedelta, timezone

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from handlers.jobs import MARK_JOB, REBALANCE_JOB, RESUME_JOB, install_jobs
from tradingbot.core.schedule import next_slot


def test_jobs_run_each_slot_once_pause_and_reschedule(world):
    pushed = []

    async def notify(summary):
        pushed.append(summary)

    async def scenario():
        scheduler = AsyncIOScheduler(timezone="UTC")
        install_jobs(scheduler, world.services, notify, mark_minutes=60, misfire_grace_s=600)
        scheduler.start(paused=True)
        try:
            job = scheduler.get_job(REBALANCE_JOB)
            assert job.misfire_grace_time == 600 and job.coalesce
            await job.func(*job.args)
            await job.func(*job.args)  # a second firing for the same slot (e.g. after a restart) sends nothing
            assert [s.already_done for s in pushed] == [False, True]
            sent = len(world.venue.sent)

            world.services.pause("test")
            await job.func(*job.args)
            assert len(pushed) == 2 and len(world.venue.sent) == sent

            await _fire(scheduler, MARK_JOB)
            assert world.store.last_mark().source == "periodic"

            world.services.set_params("at=10:30 timezone=Europe/Paris every=1w weekday=fri", "test")
            probe = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
            fire = scheduler.get_job(REBALANCE_JOB).trigger.get_next_fire_time(None, probe)
            p = world.services.params
            assert fire == next_slot(probe, p.every, p.at, p.weekday, p.zone)
            assert fire == datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)
        finally:
            scheduler.shutdown(wait=False)

    asyncio.run(scenario())


class Recorder:
    def __init__(self):
        self.pushed: list[tuple[str, str]] = []

    async def push(self, kind, text, monospace=False):
        self.pushed.append((kind, text))


def test_daily_summary_and_failure_alerts(world):
    from handlers.announce import daily_summary

    rec = Recorder()

    async def scenario():
        scheduler = AsyncIOScheduler(timezone="UTC")

        async def notify(summary):
            pass

        install_jobs(scheduler, world.services, notify, daily=lambda: daily_summary(world.services, rec),
                     daily_at="20:00", alert=lambda text: rec.push("alert", text))
        scheduler.start(paused=True)
        try:
            daily = scheduler.get_job("daily")
            probe = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
            assert daily.trigger.get_next_fire_time(None, probe) == datetime(2026, 11, 24, 20, 0, tzinfo=timezone.utc)
            await daily.func(*daily.args)
            real = world.market.symbols
            world.market.symbols = _broken  # the market fails outside any order
            await _fire(scheduler, REBALANCE_JOB)
            assert world.store.recent_rebalances(10) == []  # the failed job journaled nothing ...
            world.market.symbols = real
            await _fire(scheduler, RESUME_JOB)  # ... so the resume job runs the slot, within the grace period
            [row] = world.store.recent_rebalances(10)
            assert row.state == "done"
            await _fire(scheduler, RESUME_JOB)
            assert world.store.recent_rebalances(10) == [row]  # and only once
        finally:
            scheduler.shutdown(wait=False)

    asyncio.run(scenario())
    kinds = [k for k, _ in rec.pushed]
    assert kinds == ["daily", "alert"]
    assert "Net P/L" in rec.pushed[0][1] and "Scheduled rebalance failed" in rec.pushed[1][1]


async def _broken():
    raise ConnectionError("market data unreachable")


async def _fire(scheduler, job_id):
    job = scheduler.get_job(job_id)
    await job.func(*job.args)


def _fires(trigger, start, n):
    fires, previous, now = [], None, start
    for _ in range(n):
        previous = trigger.get_next_fire_time(previous, now)
        fires.append(previous.astimezone(timezone.utc))
        now = fires[-1] + timedelta(seconds=1)
    return fires


def test_every_hourly_slot_runs_once_across_the_clocks_going_back_and_the_daily_slot_once_a_day(tmp_path):
    """Europe/Paris, 2026-10-25: local 02:30 happens twice (00:30 and 01:30 UTC); both are real hours."""
    from tests.conftest import World

    async def scenario(world, every: str, n: int) -> list[str]:
        world.services.set_params(f"every={every} at=02:30 timezone=Europe/Paris", "test")
        scheduler = AsyncIOScheduler(timezone="UTC")
        install_jobs(scheduler, world.services, _ignore, misfire_grace_s=600)
        scheduler.start(paused=True)
        try:
            job = scheduler.get_job(REBALANCE_JOB)
            for fire in _fires(job.trigger, datetime(2026, 10, 24, 22, 0, tzinfo=timezone.utc), n):
                world.clock.set(fire + timedelta(seconds=5))  # every firing APScheduler makes, at its instant
                await job.func(*job.args)
        finally:
            scheduler.shutdown(wait=False)
        return [r.slot for r in reversed(world.store.recent_rebalances(100))]

    hourly = asyncio.run(scenario(World(tmp_path / "hourly.sqlite"), "1h", 6))
    assert hourly == ["S20261024T2230", "S20261024T2330", "S20261025T0030", "S20261025T0130", "S20261025T0230",
                      "S20261025T0330"]
    # The daily cron fires at both instants of the repeated 02:30; the slot's key runs it once.
    daily = asyncio.run(scenario(World(tmp_path / "daily.sqlite"), "1d", 4))
    assert daily == ["S20261025T0030", "S20261026T0130", "S20261027T0130"]


async def _ignore(summary):
    return None


def test_a_stopped_bot_s_jobs_are_no_longer_rescheduled_by_a_parameter_change(world):
    async def scenario():
        scheduler = AsyncIOScheduler(timezone="UTC")
        end_rescheduling = install_jobs(scheduler, world.services, _ignore)
        scheduler.start(paused=True)
        world.services.set_params("every=4h", "test")  # while it runs: rescheduled
        assert "/4" in str(scheduler.get_job(REBALANCE_JOB).trigger)
        end_rescheduling()
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)
        # Stopped: a later change (from `bot.py chat`, a test, a restarted front end) leaves the old scheduler alone
        assert world.services.set_params("every=1d", "test")
        assert world.services.params.every == "1d"

    asyncio.run(scenario())
