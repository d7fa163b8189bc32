"""Running the bot on Telegram: one asyncio loop hosts the poller, PTB's JobQueue scheduler and the engine.

run_polling would own the loop, so the lifecycle is driven by hand (initialize, start, poll, stop); updates
are fetched by our own Poller (telegram_poll.py), which decides who serves when two instances share a token.
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
from tradingbot.app.services import Services

from .lifecycle import Lifecycle, Timetable
from .telegram_front import Access, TelegramFrontEnd
from .telegram_guard import Limits
from .telegram_poll import Poller
from .telegram_push import TelegramPusher

log = logging.getLogger(__name__)
STOP_BUDGET_S = 3.0  # SIGTERM to exit, Telegram side; the rest of the 5 s is the process's own teardown
COMMAND_GRACE_S = 1.0  # commands running at a stop get this long to finish (a rebalance resumes from its journal)
FLUSH_RESERVE_S = 1.0  # of the budget, kept for the last push
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
    allowed_chats: frozenset[int] | None = None  # None: the admins', viewers' and notify chats
    limits: Limits = Limits()

    @property
    def timetable(self) -> Timetable:
        return Timetable(self.mark_minutes, self.daily_at, self.misfire_grace)

    def access(self) -> Access:
        chats = self.allowed_chats
        if chats is None:  # a private chat's id is the person's id
            chats = self.admins | self.viewers | frozenset(self.notify_chats)
        return Access(self.admins, self.viewers, chats)


def build_application(token: str, base_url: str, updater: bool = True) -> Application:
    """PTB pointed at Telegram or any Bot API server (a self-hosted one, or the local fake)."""
    base = base_url.rstrip("/")
    file_base = base[: -len("/bot")] + "/file/bot" if base.endswith("/bot") else base + "/file"
    # Concurrent updates: /status is answered while a confirmed rebalance is still running.
    builder = ApplicationBuilder().token(token).base_url(base).base_file_url(file_base).concurrent_updates(True)
    return (builder if updater else builder.updater(None)).build()


async def serve_telegram(services: Services, outbox: Outbox, config: TelegramConfig,
                         stop: asyncio.Event | None = None) -> int:
    """Run until SIGINT/SIGTERM (or `stop`); 3 if another instance already polls the same token.

    The scheduler starts first, so trading goes on while Telegram cannot be reached; pushes wait in
    the outbox meanwhile. Stopping takes at most about STOP_BUDGET_S, whatever is queued.
    """
    stop = stop or _stop_on_signals()
    app = build_application(config.token, config.base_url, updater=False)
    pusher = TelegramPusher(app.bot, outbox, config.notify_chats, config.levels, services.clock)
    assert app.job_queue is not None, "python-telegram-bot[job-queue] is required"
    lifecycle = Lifecycle(services, pusher, app.job_queue.scheduler, config.timetable)
    front = TelegramFrontEnd(app.bot, services, config.access(), services.clock, lifecycle.announce, lifecycle.alert,
                             config.limits)
    front.register(app)
    sender = asyncio.create_task(pusher.run())
    try:  # pushes wait in the outbox while Telegram is out of reach
        await lifecycle.start()
        connected = await _connect(app, stop)
    except BaseException:  # a full disk, a token Telegram rejects: the process stops with one line
        lifecycle.halt()
        await _stop_task(sender)
        raise
    if not connected:
        await lifecycle.stop()  # the farewell waits in the outbox for the next start
        await _stop_task(sender)
        return 0
    poller = Poller(app.bot, app.update_queue.put_nowait, ["message", "callback_query"], front.on_conflict)
    chores = asyncio.create_task(front.housekeeping())
    try:
        with suppress(TelegramError):  # the menu is a convenience; commands work without it
            await app.bot.set_my_commands(front.menu())
        await app.start()
        poller.start()
        await _until_stopped(stop, poller)
    finally:
        await _stop_task(chores)
        await wind_down(app, front, poller, pusher, lifecycle)
        await _stop_task(sender)
        await app.shutdown()
    return CONFLICT_EXIT if poller.gave_way.is_set() else 0


async def _until_stopped(stop: asyncio.Event, poller: Poller) -> None:
    """Until a signal, or until this instance gives way to another; a poller that failed raises here."""
    waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(poller.gave_way.wait()), poller.task]
    done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for future in waits[:2]:
        future.cancel()
    if poller.task in done and not poller.task.cancelled() and poller.task.exception():
        raise poller.task.exception()  # type: ignore[misc]


async def wind_down(app: Application, front: TelegramFrontEnd, poller: Poller, pusher: TelegramPusher,
                    lifecycle: Lifecycle) -> None:
    """A bounded stop: no more updates, chatter dropped, running commands given a moment, the last push queued.

    What cannot be sent in time stays in the outbox and goes out at the next start.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STOP_BUDGET_S
    await poller.stop()
    await front.close(grace=COMMAND_GRACE_S)
    try:  # lets updates already taken end (they return at once now) and stops the JobQueue
        await asyncio.wait_for(app.stop(), timeout=max(0.1, deadline - loop.time() - FLUSH_RESERVE_S))
    except asyncio.TimeoutError:
        log.warning("the Telegram application did not stop in time; going on")
    if poller.gave_way.is_set():
        await lifecycle.stop("⚠ Another instance already serves this bot token (Telegram 409 Conflict); "
                             "this one stopped without serving. Stop one of them for good.", kind="alert")
    else:
        await lifecycle.stop()
    if not await pusher.flush(max(0.1, deadline - loop.time())):
        log.warning("%d push(es) still queued at shut-down; they go out at the next start", pusher.outbox.pending_count())


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
