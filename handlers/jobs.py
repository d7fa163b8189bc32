"""Scheduled work on an APScheduler AsyncIOScheduler (the console's own, or PTB's JobQueue scheduler).

An entry point like the chat front ends: where they turn a message into a use-case call, a job turns a
time into one, and both front ends install the same jobs."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Awaitable, Callable, Optional

from tradingbot.app.dust import settle_interrupted
from tradingbot.core.domain import Change, RebalanceSummary
from tradingbot.core.errors import UserError
from tradingbot.core.params import StrategyParams
from tradingbot.core.schedule import CRON_PERIODS, cron_fields, last_slot, next_slot, slot_key
from tradingbot.app.services import Services
from tradingbot.app.reports import SlotRefusal

if TYPE_CHECKING:  # APScheduler is imported where jobs are scheduled, not by a one-shot `bot.py chat`
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from apscheduler.triggers.base import BaseTrigger
    from apscheduler.triggers.cron import CronTrigger

log = logging.getLogger(__name__)
REBALANCE_JOB, MARK_JOB, RESUME_JOB, DAILY_JOB = "rebalance", "mark", "resume", "daily"
RESUME_EVERY_MINUTES = 5
MISFIRE_GRACE = timedelta(minutes=10)  # a slot missed by a bot that was down runs if it returns within this
SCHEDULE_KEYS = {"every", "at", "weekday", "timezone"}
Notify = Callable[[RebalanceSummary], Awaitable[None]]
Daily = Callable[[], Awaitable[None]]
Work = Callable[[], Awaitable[None]]
Alert = Callable[[str], Awaitable[None]]
Explain = Callable[[BaseException], Optional[str]]


def rebalance_trigger(p: StrategyParams) -> BaseTrigger:
    """A cron for 1h, 4h, 1d and 1w; the schedule's own next_slot for periods cron cannot state (12h, 3d, 2w)."""
    from apscheduler.triggers.cron import CronTrigger

    if p.every in CRON_PERIODS:
        return CronTrigger(timezone=p.zone, **cron_fields(p.every, p.at, p.weekday))
    return _slot_trigger(p)


def _slot_trigger(p: StrategyParams) -> BaseTrigger:
    from apscheduler.triggers.base import BaseTrigger

    class SlotTrigger(BaseTrigger):
        """Fires at core/schedule's slots: the first after the previous firing, or at or after now."""

        def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime:
            after = previous_fire_time or now - timedelta(microseconds=1)
            return next_slot(after, p.every, p.at, p.weekday, p.zone)

        def __str__(self) -> str:
            return f"slots every {p.every} at {p.at:%H:%M} {p.timezone}"

    return SlotTrigger()


async def _guarded(what: str, work: Work, alert: Alert | None, explain: Explain | None = None) -> None:
    """Run a job; a failure is logged and pushed as an alert, never only buried in APScheduler's log."""
    try:
        await work()
    except UserError as e:  # e.g. another process holds the account; the resume job retries
        log.warning("%s not run: %s", what, e)
        await _alert(alert, f"⚠ {what} not run: {e}")
    except Exception as e:
        known = explain(e) if explain else None
        if known:  # a full disk is one line, not a traceback; the resume job finishes the slot later
            log.error("%s failed: %s", what, known)
        else:
            log.exception("%s failed", what)
        await _alert(alert, f"⚠ {what} failed: {known or f'{type(e).__name__}: {str(e)[:300]}'}")


async def _alert(alert: Alert | None, text: str) -> None:
    """Push an alert; if even that fails (say the outbox is on the full disk), log it in one line and go on."""
    if alert is None:
        return
    try:
        await alert(text)
    except Exception as e:
        log.error("alert not pushed (%s: %s): %s", type(e).__name__, str(e)[:200], text)


def daily_trigger(p: StrategyParams, at: str) -> CronTrigger:
    from apscheduler.triggers.cron import CronTrigger

    hour, minute = at.split(":")
    return CronTrigger(hour=int(hour), minute=int(minute), timezone=p.zone)


def install_jobs(scheduler: AsyncIOScheduler, services: Services, notify: Notify,
                 mark_minutes: int = 60, misfire_grace_s: int = 600,
                 daily: Daily | None = None, daily_at: str = "20:00", alert: Alert | None = None) -> Callable[[], None]:
    """The rebalance cron (coalesced, with a grace period), periodic marks, resumes, the daily summary.

    A schedule change reschedules the jobs until the returned function is called (when the scheduler stops).
    """
    from apscheduler.triggers.interval import IntervalTrigger

    grace = timedelta(seconds=misfire_grace_s)

    async def rebalance() -> None:
        # The journal key of the slot, not APScheduler, guarantees a slot never runs twice.
        summary = await services.scheduled_rebalance(grace)
        if isinstance(summary, SlotRefusal):
            if summary.reason != "paused":  # a clock gone back is worth a person's look
                await _alert(alert, f"⚠ Scheduled rebalance not run: {summary.message}")
            return
        # Announced under its own guard, so a push failure is not reported as a failed rebalance.
        await _guarded("Rebalance announcement", lambda: notify(summary), alert)

    async def resume() -> None:
        # A slot left open by an outage is retried here, or abandoned once a period old.
        for summary in await services.rebalancer.resume_unfinished(services.params):
            await notify(summary)
        await settle_interrupted(services)  # a /dust conversion cut short likewise
        # A slot whose job failed before it was even journaled (say the database was locked by another
        # writer) gets another go while it is still within the grace period; its key keeps it single.
        await catch_up(services, notify, grace)

    async def mark() -> None:
        await services.mark()

    jobs: list[tuple[str, str, Work, BaseTrigger]] = [
        (REBALANCE_JOB, "Scheduled rebalance", rebalance, rebalance_trigger(services.params)),
        (MARK_JOB, "Equity mark", mark, IntervalTrigger(minutes=mark_minutes)),
        (RESUME_JOB, "Resuming an open rebalance", resume, IntervalTrigger(minutes=RESUME_EVERY_MINUTES)),
    ]
    if daily is not None:
        jobs.append((DAILY_JOB, "Daily summary", daily, daily_trigger(services.params, daily_at)))
    for job_id, what, work, trigger in jobs:
        scheduler.add_job(_guarded, trigger, args=[what, work, alert, services.store.storage_failure], id=job_id,
                          replace_existing=True, misfire_grace_time=misfire_grace_s, coalesce=True, max_instances=1)

    def reschedule(params: StrategyParams, changes: list[Change]) -> None:
        if SCHEDULE_KEYS & {c.key for c in changes}:
            scheduler.reschedule_job(REBALANCE_JOB, trigger=rebalance_trigger(params))
            log.info("rebalance rescheduled: every %s at %s %s", params.every, params.at, params.timezone)
        if daily is not None and "timezone" in {c.key for c in changes}:
            scheduler.reschedule_job(DAILY_JOB, trigger=daily_trigger(params, daily_at))

    return services.subscribe(reschedule)


async def catch_up(services: Services, notify: Notify, grace: timedelta) -> None:
    """At start-up: run the slot the bot was down for, if it is still within the grace period.

    APScheduler computes the next fire time from now when it starts, so a slot missed while the
    process was down would otherwise be skipped; the journal key keeps this from running it twice.
    """
    p = services.params
    key = slot_key(last_slot(services.clock.now(), p.every, p.at, p.weekday, p.zone))
    if services.store.get_rebalance(key):  # run, or open and left to the resume step
        return
    summary = await services.scheduled_rebalance(grace)
    if not isinstance(summary, SlotRefusal):
        log.info("caught up the missed slot %s", key)
        await notify(summary)
