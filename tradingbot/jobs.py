"""Scheduled work on an APScheduler AsyncIOScheduler (the console's own, or PTB's JobQueue scheduler)."""
from __future__ import annotations

import logging
from typing import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from .domain import Change, RebalanceSummary
from .params import StrategyParams
from .schedule import cron_fields
from .services import Services

log = logging.getLogger(__name__)
REBALANCE_JOB, MARK_JOB = "rebalance", "mark"
SCHEDULE_KEYS = {"every", "at", "weekday", "timezone"}
Notify = Callable[[RebalanceSummary], Awaitable[None]]


def rebalance_trigger(p: StrategyParams) -> CronTrigger:
    return CronTrigger(timezone=p.zone, **cron_fields(p.every, p.at, p.weekday))


def install_jobs(scheduler: AsyncIOScheduler, services: Services, notify: Notify,
                 mark_minutes: int = 60, misfire_grace_s: int = 600) -> None:
    """The rebalance cron (coalesced, with a grace period for a bot that was down) and periodic marks."""

    async def rebalance() -> None:
        if services.paused:
            log.info("scheduled rebalance skipped: paused")
            return
        # The journal key of the slot, not APScheduler, guarantees a slot never runs twice.
        await notify(await services.rebalance_slot())

    async def mark() -> None:
        await services.mark()

    scheduler.add_job(rebalance, rebalance_trigger(services.params), id=REBALANCE_JOB, replace_existing=True,
                      misfire_grace_time=misfire_grace_s, coalesce=True, max_instances=1)
    scheduler.add_job(mark, IntervalTrigger(minutes=mark_minutes), id=MARK_JOB, replace_existing=True,
                      misfire_grace_time=misfire_grace_s, coalesce=True, max_instances=1)

    def reschedule(params: StrategyParams, changes: list[Change]) -> None:
        if SCHEDULE_KEYS & {c.key for c in changes}:
            scheduler.reschedule_job(REBALANCE_JOB, trigger=rebalance_trigger(params))
            log.info("rebalance rescheduled: every %s at %s %s", params.every, params.at, params.timezone)

    services.listeners.append(reschedule)
