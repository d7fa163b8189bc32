"""The Telegram front end: the command table as PTB handlers, who may ask where, and confirmation buttons.

Every command goes through the same `dispatch` as the console; this module only decides who may ask, in
which chat, how often and in which lane, renders replies for Telegram, and asks admins to confirm trades.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, replace
from typing import Awaitable, Callable

from telegram import Bot, BotCommand, Message, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from tradingbot.core.domain import RebalanceSummary
from tradingbot.core.errors import UserError
from tradingbot.app.ports import Clock
from tradingbot.app.services import Services

from .commands import BY_NAME, COMMANDS, Context, Role, dispatch, parse
from .replies import Reply
from .shared_answers import SharedAnswers
from .telegram_confirm import Confirmations
from .telegram_guard import HeavyLane, Limits, OncePer, QuietLog, Throttle, Verdict
from .telegram_send import Replier

log = logging.getLogger(__name__)
CONFLICT_ALERT_EVERY_S = 600.0
PROGRESS_EVERY_S = 3.0  # a long command (/backtest) reports how far it is, without flooding the chat
REFUSE_EVERY_S = 600.0  # a stranger hears "not authorised" once in this long; silence otherwise
HEAVY_SLOTS = 2  # CPU-heavy commands at once (the machine may have two cores)
# Commands that rank hundreds of symbols, draw charts or backtest: they wait for a slot in the heavy lane.
# /pnl and /positions are not among them: their text takes milliseconds; only the chart that follows it is
# heavy, and that chart alone waits for a slot (a burst of chart requests never holds up their words).
HEAVY = frozenset({"ranking", "plan", "history", "chart", "rebalance_now", "liquidate", "backtest"})
REFUSAL = "Not authorised. Send /whoami and ask an admin to add your id."
SLOW_DOWN = "Slow down, please: commands sent too fast are ignored for a little while."
BUSY = "⏳ Still working on your previous requests; this one is skipped."
NOT_HERE = "Not in this chat: portfolio data goes only to the chats in TELEGRAM_ALLOWED_CHAT_IDS."
Announce = Callable[[RebalanceSummary], Awaitable[None]]
Alert = Callable[[str], Awaitable[None]]


def _log_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("telegram handler failed", exc_info=task.exception())


@dataclass(frozen=True)
class Access:
    admins: frozenset[int]
    viewers: frozenset[int]
    chats: frozenset[int] = frozenset()  # where portfolio data may be answered

    def role_of(self, user_id: int) -> Role | None:
        if user_id in self.admins:
            return Role.ADMIN
        if user_id in self.viewers:
            return Role.VIEWER
        return None


class TelegramFrontEnd:
    def __init__(self, bot: Bot, services: Services, access: Access, clock: Clock, announce: Announce,
                 alert: Alert, limits: Limits = Limits()):
        self.bot, self.services, self.access, self.clock = bot, services, access, clock
        self.announce, self.alert = announce, alert
        self.replier = Replier(bot)
        self.confirmations = Confirmations(self, clock)
        self.throttle = Throttle(limits)
        self.refusals, self.not_here = OncePer(REFUSE_EVERY_S), OncePer(REFUSE_EVERY_S)
        self.refusal_log = QuietLog(log, "commands refused to people without a role", 60.0)
        self.heavy = HeavyLane(HEAVY_SLOTS, limits.queue)
        self.shared = SharedAnswers(services)  # people asking the same at once share one valuation and chart
        self.closing = False
        self._last_conflict_alert = -CONFLICT_ALERT_EVERY_S
        self._work: set[asyncio.Task[object]] = set()  # handlers running now, for a bounded shut-down

    def register(self, app: Application) -> None:
        # New messages only: an edited message never runs a command, whatever Telegram delivers.
        new = filters.UpdateType.MESSAGE
        app.add_handler(CommandHandler([c.name for c in COMMANDS], self.on_command, filters=new))
        app.add_handler(MessageHandler(filters.COMMAND & new, self.on_command))  # unknown commands get a reply
        app.add_handler(CallbackQueryHandler(self.on_button))
        app.add_error_handler(self.on_error)

    def menu(self) -> list[BotCommand]:
        """The bot's command menu (setMyCommands), from the command table."""
        return [BotCommand(c.name, c.help[:256]) for c in COMMANDS]

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, user, chat = update.message, update.effective_user, update.effective_chat
        if self.closing or message is None or user is None or chat is None or not message.text:
            return
        if message.forward_origin is not None or message.is_automatic_forward:
            return  # a forwarded command is someone else's words: never run as the forwarder's
        if not self._addressed_to_us(message.text, context.bot.username):
            return
        try:
            name, _ = parse(message.text)
        except UserError:
            return
        await self._tracked(self._answer(message, name, user.id, chat.id))

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._tracked(self.confirmations.on_button(update, context))

    async def _answer(self, message: Message, name: str, user_id: int, chat_id: int) -> None:
        role, command = self.access.role_of(user_id), BY_NAME.get(name)
        open_to_all = command is not None and command.role is Role.ANYONE
        if role is None and not open_to_all:
            self._refuse(user_id, chat_id, name)
            return
        verdict = self.throttle.check(user_id)
        if verdict is not Verdict.GO:
            if verdict is Verdict.WARN:
                self.replier.chatter(chat_id, SLOW_DOWN)
            return
        if not open_to_all and chat_id not in self.access.chats:
            log.warning("/%s from user %s in chat %s not answered: chat not allowed", name[:32], user_id, chat_id)
            if self.not_here.first(chat_id):
                self.replier.chatter(chat_id, NOT_HERE)
            return
        ctx = Context(self.services, f"telegram:{user_id}", role or Role.ANYONE, user_id=user_id, chat_id=chat_id,
                      progress=self._progress_to(chat_id), shared=self.shared)
        if name not in HEAVY:
            await self.run(ctx, message.text or "", charts_in_lane=True)
        elif self.heavy.full(user_id):
            self.replier.chatter(chat_id, BUSY)
        else:
            async with self.heavy.slot(user_id, urgent=role is Role.ADMIN):
                await self.run(ctx, message.text or "")

    async def run(self, ctx: Context, text: str, charts_in_lane: bool = False) -> None:
        """Answer one command: confirmable ones ask first (with buttons), the rest run.

        With `charts_in_lane`, the words go out at once and the charts that follow them are drawn in the
        background, in the heavy lane: the update's handler is done with the words, so a backlog of charts
        never holds python-telegram-bot's concurrent updates.
        """
        command = BY_NAME.get(parse(text)[0])
        if command is not None and command.preview is not None and ctx.role is Role.ADMIN:
            await self.confirmations.ask(ctx, command, text)
            return
        reply = await dispatch(ctx, text)
        if command is not None and command.role is Role.ADMIN:  # it may have written: nothing shared from before it
            self.shared.forget()
        if not charts_in_lane or reply.later is None:
            await self.replier.send(ctx.chat_id or 0, reply)
        elif await self.replier.send(ctx.chat_id or 0, replace(reply, photos=(), later=None)) is not None:
            self._in_background(self._charts_in_lane(ctx, reply))

    async def _charts_in_lane(self, ctx: Context, reply: Reply) -> None:
        """A reply's charts drawn in a heavy slot: one at a time per person, admins first. The per-person queue
        bound does not apply: the words were answered already, and the rate limit bounds how many charts wait."""
        async with self.heavy.slot(ctx.user_id, urgent=ctx.role is Role.ADMIN):
            photos = await reply.charts()
        await self.replier.send_charts(ctx.chat_id or 0, Reply("", photos=photos))

    def _refuse(self, user_id: int, chat_id: int, name: str) -> None:
        """A stranger: one short refusal per person per REFUSE_EVERY_S, never waited on; logged sparingly."""
        self.refusal_log.warning("refused /%s from user %s in chat %s: not authorised", name[:32], user_id, chat_id)
        if self.refusals.first(user_id):
            self.replier.chatter(chat_id, REFUSAL)

    async def _tracked(self, work: Awaitable[None]) -> None:
        """Run a handler's work as a task the shut-down can wait for, for a while, and then cancel."""
        await self._track(work)

    def _in_background(self, work: Awaitable[None]) -> None:
        """The same for work nobody awaits (a reply's charts): its failure is logged here."""
        self._track(work).add_done_callback(_log_failure)

    def _track(self, work: Awaitable[None]) -> asyncio.Future[None]:
        task = asyncio.ensure_future(work)
        self._work.add(task)
        task.add_done_callback(self._work.discard)
        return task

    def _progress_to(self, chat_id: int) -> Callable[[str], None]:
        """A long command's progress as short messages, at most one every PROGRESS_EVERY_S seconds."""
        last = [-PROGRESS_EVERY_S]

        def report(text: str) -> None:
            if time.monotonic() - last[0] < PROGRESS_EVERY_S:
                return
            last[0] = time.monotonic()
            self.replier.chatter(chat_id, f"⏳ {text}")
        return report

    def _addressed_to_us(self, text: str, username: str | None) -> bool:
        """/cmd@otherbot is for another bot (in a group, or forwarded into a private chat): ignored."""
        head = text.split(maxsplit=1)[0]
        return "@" not in head or head.split("@", 1)[1].lower() == (username or "").lower()

    async def housekeeping(self) -> None:
        """Every second: take the buttons off expired confirmations, log refusal counts, forget old entries."""
        while True:
            await asyncio.sleep(1.0)
            self.confirmations.expire()
            self.refusal_log.tick()
            self.refusals.forget_old()
            self.not_here.forget_old()
            self.throttle.forget_idle()

    async def close(self, grace: float) -> None:
        """Shut-down: take no new work, drop chatter, give running handlers `grace` seconds, then cancel them."""
        self.closing = True
        self.shared.unsubscribe()
        await self.replier.drop_chatter()
        if self._work:
            _, late = await asyncio.wait(list(self._work), timeout=grace)
            for task in late:
                task.cancel()
            if late:
                log.warning("%d command(s) still running at shut-down were cancelled", len(late))
                await asyncio.gather(*late, return_exceptions=True)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram handler failed", exc_info=context.error)

    def on_conflict(self) -> None:
        """An established instance saw another poll this token: it keeps serving and alerts, now and then."""
        log.error("another instance tried to poll this bot token (409 Conflict); this one keeps running")
        if time.monotonic() - self._last_conflict_alert > CONFLICT_ALERT_EVERY_S:
            self._last_conflict_alert = time.monotonic()
            self.replier.background(self.alert(
                "⚠ Another instance tried to poll this bot's token (Telegram 409). This one keeps running; "
                "stop the other one."), "conflict alert")
