"""The one start-up and shut-down sequence of a serving bot, whichever front end it chats through.

Both the console and Telegram call it, so what happens at start cannot differ between them again:
the scheduled jobs are installed and the scheduler started first (trading goes on whatever the chat
does), then a slot a crash left open is finished, equity is marked, "started" is pushed, the venue is
reconciled with the ledger, and a slot missed while the bot was down is caught up. At the end the
scheduler stops and "stopping" is pushed.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Callable

from tradingbot.app.dust import settle_interrupted
from tradingbot.app.ports import Notifier
from tradingbot.app.services import Services
from tradingbot.core.domain import RebalanceSummary

from . import texts as fmt
from .announce import announce_rebalance, announce_reconciliation, daily_summary
from .jobs import MISFIRE_GRACE, catch_up, install_jobs

if TYPE_CHECKING:  # the front end that serves brings its scheduler; a one-shot `bot.py chat` imports none
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)
STOPPING = "iTradingBot stopping."


@dataclass(frozen=True)
class Timetable:
    """When the scheduled jobs run besides the rebalance itself (which the strategy parameters time)."""

    mark_minutes: int = 60  # MARK_EVERY_MINUTES
    daily_at: str = "20:00"  # DAILY_SUMMARY_AT
    misfire_grace: timedelta = MISFIRE_GRACE


class Lifecycle:
    """Starts and stops one serving bot: its jobs on the front end's scheduler, its pushes to the front end's
    notifier."""

    def __init__(self, services: Services, notifier: Notifier, scheduler: AsyncIOScheduler, timetable: Timetable):
        self.services, self.notifier, self.scheduler, self.timetable = services, notifier, scheduler, timetable
        self._end_rescheduling: Callable[[], None] | None = None

    async def announce(self, summary: RebalanceSummary) -> None:
        await announce_rebalance(summary, self.services, self.notifier)

    async def alert(self, text: str) -> None:
        await self.notifier.push("alert", text)

    async def start(self) -> None:
        """Jobs and scheduler first, then the first steps; a failed step is alerted and the bot still starts
        (the resume job tries again), except a full disk, which stops it with one line."""
        t, services = self.timetable, self.services
        self._end_rescheduling = install_jobs(
            self.scheduler, services, self.announce, mark_minutes=t.mark_minutes,
            misfire_grace_s=int(t.misfire_grace.total_seconds()), daily=lambda: daily_summary(services, self.notifier),
            daily_at=t.daily_at, alert=self.alert)
        if not self.scheduler.running:
            self.scheduler.start()  # Telegram's app.start() later finds it running and leaves it be
        try:
            await self._first_steps()
        except Exception as e:
            if services.store.storage_failure(e):
                self.halt()
                raise
            log.exception("start-up step failed")
            await self.alert(f"⚠ Start-up step failed: {type(e).__name__}: {str(e)[:300]}")

    async def _first_steps(self) -> None:
        """Finish what a crash left open, mark equity, say hello, reconcile, catch up a just-missed slot."""
        services = self.services
        for summary in await services.rebalancer.resume_unfinished(services.params):
            await self.announce(summary)
        await settle_interrupted(services)
        await services.mark("start")
        status = await services.status()
        await self.notifier.push("lifecycle", f"iTradingBot started: {status.venue}, {status.params.strategy}; next "
                                              f"rebalance {fmt.local(status.next_run, status.params.zone)}")
        await announce_reconciliation(services, self.notifier)
        await catch_up(services, self.announce, self.timetable.misfire_grace)

    async def stop(self, farewell: str = STOPPING, kind: str = "lifecycle") -> None:
        """No more jobs, then the farewell push."""
        self.halt()
        await self.notifier.push(kind, farewell)

    def halt(self) -> None:
        """No more jobs: a parameter change no longer reschedules them and the scheduler stops (unless the front
        end stopped it already)."""
        if self._end_rescheduling is not None:
            self._end_rescheduling()
            self._end_rescheduling = None
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
