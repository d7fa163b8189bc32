"""Confirm / Cancel buttons: only the admin who asked, only in the chat and on the message that asked, once, in time.

The buttons are taken off the message when pressed and when they expire, so no stale button stays visible.
"""
from __future__ import annotations

import logging
import secrets
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from tradingbot.app.ports import Clock

from .commands import Command, Context, Role, dispatch, parse
from .replies import Reply
from .telegram_guard import Verdict

if TYPE_CHECKING:
    from .telegram_front import TelegramFrontEnd

log = logging.getLogger(__name__)
CONFIRM_TTL = timedelta(seconds=60)


@dataclass
class Pending:
    """A confirmable command an admin asked for, waiting for their button press."""

    command: str
    args: list[str]
    user_id: int
    chat_id: int
    created: datetime
    message_id: int | None = None  # the message showing the buttons
    done: bool = False
    expired: bool = False


class Confirmations:
    def __init__(self, front: TelegramFrontEnd, clock: Clock):
        self.front, self.clock = front, clock
        self.pending: dict[str, Pending] = {}

    async def ask(self, ctx: Context, command: Command, text: str) -> None:
        """Show what the command would do, with Confirm / Cancel (or just the answer when nothing is to confirm)."""
        preview = await dispatch(ctx, text, preview=True)
        if preview.text.startswith("⚠") or not preview.confirmable or ctx.chat_id is None or ctx.user_id is None:
            await self.front.replier.send(ctx.chat_id or 0, preview)
            return
        token = secrets.token_urlsafe(9)  # 12 characters: callback_data stays far below 64 bytes
        pending = Pending(command.name, parse(text)[1], ctx.user_id, ctx.chat_id, self.clock.now())
        self.pending[token] = pending
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("✅ Confirm", callback_data=f"ok:{token}"),
                                          InlineKeyboardButton("✖ Cancel", callback_data=f"no:{token}")]])
        note = Reply(f"{preview.text}\n\nConfirm /{command.name} within 60 s?", monospace=preview.monospace)
        shown = await self.front.replier.send(ctx.chat_id, note, keyboard)
        pending.message_id = shown.message_id if shown else None

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query, user = update.callback_query, update.effective_user
        if query is None or user is None or self.front.closing:
            return
        action, _, token = (query.data or "").partition(":")
        pending = self.pending.get(token)
        where = (query.message.chat.id, query.message.message_id) if query.message else None
        verdict = self._judge(pending, user.id, where)
        if verdict:
            log.warning("button %s from user %s refused: %s", action, user.id, verdict)
            if self._worth_answering(user.id):
                self.front.replier.background(query.answer(verdict), "button refusal")
            if pending is not None and verdict.startswith("Expired"):
                self._take_buttons_off(pending)
            return
        assert pending is not None
        pending.done = True  # before any await: a second press cannot start a second run
        # Acknowledging the press is a courtesy: a failure there must not cancel what the admin confirmed.
        with suppress(TelegramError):
            await query.answer("Running…" if action == "ok" else "Cancelled")
        with suppress(TelegramError):
            await query.edit_message_reply_markup(None)
        if action != "ok":
            await self.front.replier.send(pending.chat_id, Reply(f"/{pending.command} cancelled."))
            return
        ctx = Context(self.front.services, f"telegram:{user.id}", Role.ADMIN, user_id=user.id,
                      chat_id=pending.chat_id, requested_at=pending.created)
        reply = await dispatch(ctx, " ".join([f"/{pending.command}", *pending.args]))
        self.front.shared.forget()  # it traded or converted: reports and charts from before are stale
        await self.front.replier.send(pending.chat_id, reply)
        if reply.summary is not None:
            await self.front.announce(reply.summary)

    def _worth_answering(self, user_id: int) -> bool:
        """Admins are always answered; viewers within their rate limit; strangers once in a while."""
        role = self.front.access.role_of(user_id)
        if role is None:
            return self.front.refusals.first((user_id, "button"))
        return role is Role.ADMIN or self.front.throttle.check(user_id) is Verdict.GO

    def _judge(self, pending: Pending | None, user_id: int, where: tuple[int, int] | None) -> str:
        """Why this press may not act ('' when it may)."""
        if self.front.access.role_of(user_id) is not Role.ADMIN:
            return "Not authorised."
        if pending is None:
            return "This confirmation is unknown or has expired."
        if where != (pending.chat_id, pending.message_id):
            return "This button does not belong to this message."
        if pending.user_id != user_id:
            return "Only the admin who asked can confirm."
        if pending.done:
            return "Already handled."
        if self.clock.now() - pending.created > CONFIRM_TTL:
            return "Expired: send the command again."
        return ""

    def expire(self) -> None:
        """Take the buttons off confirmations that ran out of time; forget them after a while."""
        now = self.clock.now()
        for token, pending in list(self.pending.items()):
            if not pending.done and now - pending.created > CONFIRM_TTL:
                self._take_buttons_off(pending)
            if now - pending.created > CONFIRM_TTL * 10:
                del self.pending[token]

    def _take_buttons_off(self, pending: Pending) -> None:
        if pending.expired or pending.message_id is None:
            return
        pending.expired = True
        self.front.replier.background(self.front.bot.edit_message_reply_markup(
            pending.chat_id, pending.message_id, reply_markup=None), "removing expired buttons")
