"""Running the bot on Telegram: one asyncio loop hosts PTB's poller, its JobQueue scheduler and the engine.

run_polling would own the loop, so the lifecycle is driven by hand (initialize, start, poll, stop).
"""
from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta

from telegram import Update
from telegram.error import Conflict, InvalidToken, TelegramError
from telegram.ext import Application, ApplicationBuilder, CommandHandler, ContextTypes

from tradingbot.app.ports import Outbox
from tradingbot.core.domain import RebalanceSummary
from handlers.jobs import catch_up, install_jobs
from tradingbot.app.services import Services

from . import texts as fmt
from .announce import announce_rebalance, daily_summary
from .telegram import Access, Alert, Announce, TelegramFrontEnd
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


async def serve_telegram(services: Services, outbox: Outbox, config: TelegramConfig,
                         stop: asyncio.Event | None = None) -> int:
    """Run until SIGINT/SIGTERM (or `stop`); 3 if another instance already polls the same token.

    The scheduler starts first, so trading goes on while Telegram cannot be reached; pushes wait in
    the outbox meanwhile.
    """
    stop = stop or _stop_on_signals()
    app = build_application(config.token, config.base_url)
    pusher = TelegramPusher(app.bot, outbox, config.notify_chats, config.levels, services.clock)

    async def announce(summary: RebalanceSummary) -> None:
        await announce_rebalance(summary, services, pusher)

    async def alert(text: str) -> None:
        await pusher.push("alert", text)

    front = TelegramFrontEnd(app.bot, services, Access(config.admins, config.viewers), services.clock,
                             announce, alert)
    front.register(app)
    assert app.job_queue is not None, "python-telegram-bot[job-queue] is required"
    scheduler = app.job_queue.scheduler
    install_jobs(scheduler, services, announce, mark_minutes=config.mark_minutes,
                 misfire_grace_s=int(config.misfire_grace.total_seconds()),
                 daily=lambda: daily_summary(services, pusher), daily_at=config.daily_at, alert=alert)
    scheduler.start()  # app.start() later finds it running and leaves it be
    sender = asyncio.create_task(pusher.run())
    await start_up(services, pusher, announce, alert, config.misfire_grace)
    if not await _connect(app, stop):
        scheduler.shutdown(wait=False)
        await _stop_task(sender)
        return 0
    try:
        with suppress(TelegramError):  # the menu is a convenience; commands work without it
            await app.bot.set_my_commands(front.menu())
        await app.start()
        await app.updater.start_polling(timeout=10, bootstrap_retries=-1,  # type: ignore[union-attr]
                                        allowed_updates=["message", "callback_query"],
                                        error_callback=front.on_poll_error)
        front.polling_started()
        await asyncio.wait([asyncio.ensure_future(stop.wait()), asyncio.ensure_future(front.conflict.wait())],
                           return_when=asyncio.FIRST_COMPLETED)
    finally:
        await app.updater.stop()  # type: ignore[union-attr]
        await app.stop()  # lets running handlers and jobs finish, so their pushes are queued first
        if not front.conflict.is_set():
            await pusher.push("lifecycle", "iTradingBot stopping.")
            if not await pusher.flush(FLUSH_ON_STOP_S):
                log.warning("%d push(es) still queued at shut-down; they go out at the next start",
                            outbox.pending_count())
        await _stop_task(sender)
        await app.shutdown()
    return CONFLICT_EXIT if front.conflict.is_set() else 0


async def start_up(services: Services, pusher: TelegramPusher, announce: Announce, alert: Alert,
                   grace: timedelta) -> None:
    """Finish what a crash left open, mark equity, say hello, catch up a just-missed slot."""
    try:
        for summary in await services.rebalancer.resume_unfinished(services.params):
            await announce(summary)
        await services.mark("start")
        status = await services.status()
        await pusher.push("lifecycle", f"iTradingBot started: {status.venue}, {status.params.strategy}; next "
                                       f"rebalance {fmt.local(status.next_run, status.params.zone)}")
        await catch_up(services, announce, grace)
    except Exception as e:  # the bot still starts: the scheduler and the resume job try again later
        log.exception("start-up step failed")
        await alert(f"⚠ Start-up step failed: {type(e).__name__}: {str(e)[:300]}")


async def _connect(app: Application, stop: asyncio.Event) -> bool:
    """Reach Telegram (getMe), retrying with backoff while it is unreachable; False if stopped first."""
    delay = 1.0
    while not stop.is_set():
        try:
            await app.initialize()
            return True
        except InvalidToken:
            raise
        except TelegramError as e:
            log.warning("Telegram unreachable at start (%s); trading goes on; retrying in %.0f s", e, delay)
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            delay = min(60.0, delay * 2)
    return False


async def _stop_task(task: asyncio.Task) -> None:
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task


async def whoami_only(token: str, base_url: str, stop: asyncio.Event | None = None) -> int:
    """Setup mode: answer /whoami to anyone, nothing else, so a new admin can learn their id."""
    stop = stop or _stop_on_signals()
    app = build_application(token, base_url)

    async def whoami(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_user and update.effective_chat and update.effective_message:
            user, chat = update.effective_user.id, update.effective_chat.id
            print(f"/whoami from user {user} in chat {chat}", flush=True)
            await update.effective_message.reply_text(f"Your user id: {user}\nThis chat's id: {chat}")

    def on_poll_error(error: TelegramError) -> None:
        if isinstance(error, Conflict):  # the bot itself is running: it answers /whoami already
            print("Another instance polls this token; use its /whoami instead.", flush=True)
            stop.set()

    app.add_handler(CommandHandler("whoami", whoami))
    async with app:
        await app.start()
        await app.updater.start_polling(timeout=10, error_callback=on_poll_error)  # type: ignore[union-attr]
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
