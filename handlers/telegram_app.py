"""Running the bot on Telegram: one asyncio loop hosts PTB's poller, its JobQueue scheduler and the engine.

run_polling would own the loop, so the lifecycle is driven by hand (initialize, start, poll, stop).
"""
from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass
from datetime import timedelta

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, CommandHandler, ContextTypes

from tradingbot.adapters.outbox import SqliteOutbox
from tradingbot.domain import RebalanceSummary
from tradingbot.jobs import catch_up, install_jobs
from tradingbot.services import Services

from . import format as fmt
from .announce import announce_rebalance, daily_summary
from .telegram import Access, TelegramFrontEnd
from .telegram_push import TelegramPusher

log = logging.getLogger(__name__)
FLUSH_ON_STOP_S = 5.0
CONFLICT_EXIT = 3


@dataclass(frozen=True)
class TelegramConfig:
    token: str
    base_url: str
    admins: frozenset[int]
    viewers: frozenset[int]
    notify_chats: list[int]
    levels: dict[str, str]
    daily_at: str
    mark_minutes: int
    misfire_grace: timedelta


def build_application(token: str, base_url: str) -> Application:
    """PTB pointed at Telegram or any Bot API server (a self-hosted one, or the local fake)."""
    base = base_url.rstrip("/")
    file_base = base[: -len("/bot")] + "/file/bot" if base.endswith("/bot") else base + "/file"
    # Concurrent updates: /status is answered while a confirmed rebalance is still running.
    return (ApplicationBuilder().token(token).base_url(base).base_file_url(file_base)
            .concurrent_updates(True).build())


async def serve_telegram(services: Services, outbox: SqliteOutbox, config: TelegramConfig,
                         stop: asyncio.Event | None = None) -> int:
    """Run until SIGINT/SIGTERM (or `stop`); 3 if another instance polls the same token."""
    stop = stop or _stop_on_signals()
    app = build_application(config.token, config.base_url)
    pusher = TelegramPusher(app.bot, outbox, config.notify_chats, config.levels, services.clock)

    async def announce(summary: RebalanceSummary) -> None:
        await announce_rebalance(summary, services, pusher)

    front = TelegramFrontEnd(app.bot, services, Access(config.admins, config.viewers), services.clock, announce)
    front.register(app)
    grace = int(config.misfire_grace.total_seconds())
    assert app.job_queue is not None, "python-telegram-bot[job-queue] is required"
    install_jobs(app.job_queue.scheduler, services, announce, mark_minutes=config.mark_minutes,
                 misfire_grace_s=grace, daily=lambda: daily_summary(services, pusher), daily_at=config.daily_at,
                 alert=lambda text: pusher.push("alert", text))
    async with app:
        await app.bot.set_my_commands(front.menu())
        await app.start()
        await app.updater.start_polling(timeout=10, allowed_updates=["message", "callback_query"],  # type: ignore[union-attr]
                                        error_callback=front.on_poll_error)
        sender = asyncio.create_task(pusher.run())
        try:
            for summary in await services.rebalancer.resume_unfinished(services.params):
                await announce(summary)
            await services.mark("start")
            status = await services.status()
            await pusher.push("lifecycle", f"iTradingBot started: {status.venue}, {status.params.strategy}; next "
                                           f"rebalance {fmt.local(status.next_run, status.params.zone)}")
            await catch_up(services, announce, config.misfire_grace)
            await _first(stop.wait(), front.conflict.wait())
            if front.conflict.is_set():
                return CONFLICT_EXIT
            await pusher.push("lifecycle", "iTradingBot stopping.")
            if not await pusher.flush(FLUSH_ON_STOP_S):
                log.warning("%d push(es) still queued at shut-down; they go out at the next start",
                            outbox.pending_count())
            return 0
        finally:
            sender.cancel()
            await app.updater.stop()  # type: ignore[union-attr]
            await app.stop()


async def whoami_only(token: str, base_url: str, stop: asyncio.Event | None = None) -> int:
    """Setup mode: answer /whoami to anyone, nothing else, so a new admin can learn their id."""
    stop = stop or _stop_on_signals()
    app = build_application(token, base_url)

    async def whoami(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_user and update.effective_chat and update.effective_message:
            user, chat = update.effective_user.id, update.effective_chat.id
            print(f"/whoami from user {user} in chat {chat}", flush=True)
            await update.effective_message.reply_text(f"Your user id: {user}\nThis chat's id: {chat}")

    app.add_handler(CommandHandler("whoami", whoami))
    async with app:
        await app.start()
        await app.updater.start_polling(timeout=10)  # type: ignore[union-attr]
        print("Setup mode: send /whoami to the bot; put your id in TELEGRAM_ADMIN_IDS; Ctrl-C to stop.", flush=True)
        await stop.wait()
        await app.updater.stop()  # type: ignore[union-attr]
        await app.stop()
    return 0


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _first(*waits) -> None:
    tasks = [asyncio.ensure_future(w) for w in waits]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for t in tasks:
        t.cancel()
