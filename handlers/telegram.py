"""The Telegram front end: the command table as PTB handlers, roles, and confirmation buttons.

Every command goes through the same `dispatch` as the console; this module only decides who
may ask, renders replies for Telegram, and asks admins to confirm what trades.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Awaitable, Callable

from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, RetryAfter, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from tradingbot.core.domain import RebalanceSummary
from tradingbot.core.errors import UserError
from tradingbot.app.ports import Clock
from tradingbot.app.services import Services

from .commands import BY_NAME, COMMANDS, Command, Context, Reply, Role, allows, dispatch, parse
from .telegram_push import retry_seconds, send_text_or_album
from .telegram_text import caption, html_chunks

log = logging.getLogger(__name__)
CONFIRM_TTL = timedelta(seconds=60)
NEWCOMER_WINDOW_S = 30.0  # a 409 this soon after starting to poll means another instance was first
CONFLICT_ALERT_EVERY_S = 600.0
MAX_FLOOD_WAIT_S = 120.0
PROGRESS_EVERY_S = 3.0  # a long command (/backtest) reports how far it is, without flooding the chat
REFUSAL = "Not authorised. Send /whoami and ask an admin to add your id."
Announce = Callable[[RebalanceSummary], Awaitable[None]]
Alert = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class Access:
    admins: frozenset[int]
    viewers: frozenset[int]

    def role_of(self, user_id: int) -> Role | None:
        if user_id in self.admins:
            return Role.ADMIN
        if user_id in self.viewers:
            return Role.VIEWER
        return None


@dataclass
class Pending:
    """A confirmable command an admin asked for, waiting for their button press."""

    command: str
    args: list[str]
    user_id: int
    chat_id: int
    created: datetime
    done: bool = False


class TelegramFrontEnd:
    def __init__(self, bot: Bot, services: Services, access: Access, clock: Clock, announce: Announce,
                 alert: Alert):
        self.bot, self.services, self.access, self.clock = bot, services, access, clock
        self.announce, self.alert = announce, alert
        self.pending: dict[str, Pending] = {}
        self.conflict = asyncio.Event()  # set when this instance must give way to another poller
        self._polling_since = time.monotonic()
        self._last_conflict_alert = -CONFLICT_ALERT_EVERY_S
        self._tasks: set[asyncio.Task] = set()

    def register(self, app: Application) -> None:
        app.add_handler(CommandHandler([c.name for c in COMMANDS], self.on_command))
        app.add_handler(MessageHandler(filters.COMMAND, self.on_command))  # unknown commands get a reply
        app.add_handler(CallbackQueryHandler(self.on_button))
        app.add_error_handler(self.on_error)

    def menu(self) -> list[BotCommand]:
        """The bot's command menu (setMyCommands), from the command table."""
        return [BotCommand(c.name, c.help[:256]) for c in COMMANDS]

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, user, chat = update.effective_message, update.effective_user, update.effective_chat
        if message is None or user is None or chat is None or not message.text:
            return
        if not self._addressed_to_us(message.text, context.bot.username, chat.type):
            return
        role = self.access.role_of(user.id)
        try:
            name, _ = parse(message.text)
        except UserError:
            return
        command = BY_NAME.get(name)
        if role is None and not (command and command.role is Role.ANYONE):
            log.warning("refused /%s from user %s in chat %s: not authorised", name[:32], user.id, chat.id)
            await self._send(chat.id, Reply(REFUSAL))
            return
        ctx = Context(self.services, f"telegram:{user.id}", role or Role.ANYONE, user_id=user.id, chat_id=chat.id,
                      progress=self._progress_to(chat.id))
        if command and command.preview and allows(ctx.role, command.role):
            await self._ask_to_confirm(ctx, command, message.text)
            return
        await self._send(chat.id, await dispatch(ctx, message.text))

    def _progress_to(self, chat_id: int) -> Callable[[str], None]:
        """A long command's progress as short messages, at most one every PROGRESS_EVERY_S seconds."""
        last = [-PROGRESS_EVERY_S]

        def report(text: str) -> None:
            if time.monotonic() - last[0] < PROGRESS_EVERY_S:
                return
            last[0] = time.monotonic()
            task = asyncio.get_running_loop().create_task(
                self._attempt(chat_id, lambda: self.bot.send_message(chat_id, f"⏳ {text}")))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return report

    def _addressed_to_us(self, text: str, username: str | None, chat_type: str) -> bool:
        """In a group, /cmd@otherbot is for another bot; in private every command is for us."""
        head = text.split(maxsplit=1)[0]
        if "@" not in head or chat_type == "private":
            return True
        return head.split("@", 1)[1].lower() == (username or "").lower()

    async def _ask_to_confirm(self, ctx: Context, command: Command, text: str) -> None:
        preview = await dispatch(ctx, text, preview=True)
        if preview.text.startswith("⚠") or not preview.confirmable or ctx.chat_id is None or ctx.user_id is None:
            await self._send(ctx.chat_id or 0, preview)
            return
        self._expire()
        token = secrets.token_urlsafe(9)  # 12 characters: callback_data stays far below 64 bytes
        self.pending[token] = Pending(command.name, parse(text)[1], ctx.user_id, ctx.chat_id, self.clock.now())
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("✅ Confirm", callback_data=f"ok:{token}"),
                                          InlineKeyboardButton("✖ Cancel", callback_data=f"no:{token}")]])
        note = Reply(f"{preview.text}\n\nConfirm /{command.name} within 60 s?", monospace=preview.monospace)
        await self._send(ctx.chat_id, note, keyboard)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query, user = update.callback_query, update.effective_user
        if query is None or user is None:
            return
        action, _, token = (query.data or "").partition(":")
        pending = self.pending.get(token)
        verdict = self._judge(pending, user.id)
        if verdict:
            log.warning("button %s from user %s refused: %s", action, user.id, verdict)
            await query.answer(verdict)
            return
        assert pending is not None
        pending.done = True  # before any await: a second press cannot start a second run
        # Acknowledging the press is a courtesy: a failure there must not cancel what the admin confirmed.
        with suppress(TelegramError):
            await query.answer("Running…" if action == "ok" else "Cancelled")
        with suppress(TelegramError):
            await query.edit_message_reply_markup(None)
        if action != "ok":
            await self._send(pending.chat_id, Reply(f"/{pending.command} cancelled."))
            return
        ctx = Context(self.services, f"telegram:{user.id}", Role.ADMIN, user_id=user.id,
                      chat_id=pending.chat_id, requested_at=pending.created)
        reply = await dispatch(ctx, " ".join([f"/{pending.command}", *pending.args]))
        await self._send(pending.chat_id, reply)
        if reply.summary is not None:
            await self.announce(reply.summary)

    def _judge(self, pending: Pending | None, user_id: int) -> str:
        """Why this press may not act ('' when it may)."""
        if self.access.role_of(user_id) is not Role.ADMIN:
            return "Not authorised."
        if pending is None:
            return "This confirmation is unknown or has expired."
        if pending.user_id != user_id:
            return "Only the admin who asked can confirm."
        if pending.done:
            return "Already handled."
        if self.clock.now() - pending.created > CONFIRM_TTL:
            return "Expired: send the command again."
        return ""

    def _expire(self) -> None:
        cutoff = self.clock.now() - CONFIRM_TTL * 10
        for token in [t for t, p in self.pending.items() if p.created < cutoff]:
            del self.pending[token]

    async def _send(self, chat_id: int, reply: Reply, keyboard: InlineKeyboardMarkup | None = None) -> None:
        """A direct answer: split to Telegram's limits, charts after the text, flood control waited out."""
        chunks = html_chunks(reply.text, reply.monospace)
        for i, chunk in enumerate(chunks):
            markup = keyboard if i == len(chunks) - 1 else None
            if not await self._attempt(chat_id, lambda c=chunk, m=markup: self.bot.send_message(
                    chat_id, c, parse_mode=ParseMode.HTML, reply_markup=m)):
                log.warning("reply to chat %s not delivered (%d of %d parts sent)", chat_id, i, len(chunks))
                return
        photos = await reply.charts()
        if photos:
            album = [(p.name, p.png) for p in photos]
            title = caption(" · ".join(p.caption for p in photos if p.caption))
            if not await self._attempt(chat_id, lambda: send_text_or_album(self.bot, chat_id, title, album)):
                log.warning("charts for chat %s not delivered", chat_id)

    async def _attempt(self, chat_id: int, send: Callable[[], Awaitable[object]]) -> bool:
        """Try one send: flood control is a wait, not a failure; a refusal is final; network errors retry."""
        failures, waited = 0, 0.0
        while failures < 4 and waited <= MAX_FLOOD_WAIT_S:
            try:
                await send()
                return True
            except RetryAfter as e:
                waited += retry_seconds(e) + 0.1
                await asyncio.sleep(retry_seconds(e) + 0.1)
            except (BadRequest, Forbidden) as e:  # will not succeed on retry
                log.warning("message to chat %s refused: %s", chat_id, e.message)
                return False
            except TelegramError as e:
                failures += 1
                log.info("message to chat %s failed (%s), attempt %d", chat_id, e, failures)
                await asyncio.sleep(2**failures)
        return False

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram handler failed", exc_info=context.error)

    def polling_started(self) -> None:
        self._polling_since = time.monotonic()

    def on_poll_error(self, error: TelegramError) -> None:
        """getUpdates errors. A 409 means two instances poll one token: the newcomer stops.

        Telegram answers 409 to whichever poll the other one cut off, so both see it. The instance
        that has just started is the newcomer; the established one keeps serving and alerts.
        """
        if not isinstance(error, Conflict):
            log.warning("polling Telegram failed: %s", error)
            return
        if time.monotonic() - self._polling_since < NEWCOMER_WINDOW_S:
            log.error("another instance is already polling this bot token (409 Conflict); stopping this one")
            self.conflict.set()
            return
        log.error("another instance tried to poll this bot token (409 Conflict); this one keeps running")
        if time.monotonic() - self._last_conflict_alert > CONFLICT_ALERT_EVERY_S:
            self._last_conflict_alert = time.monotonic()
            self._tasks.add(asyncio.get_running_loop().create_task(self.alert(
                "⚠ Another instance tried to poll this bot's token (Telegram 409). This one keeps running; "
                "stop the other one.")))

