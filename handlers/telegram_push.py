"""Pushes to the notify chats through the durable outbox: in order, retried, never dropped silently.

Delivery is at least once: a crash between Telegram accepting a push and the outbox recording it
sends that push again at the next start. A duplicate summary is better than a lost alert.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from enum import Enum
from typing import Sequence

from telegram import Bot, InputMediaPhoto, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError

from tradingbot.app.ports import Clock, Outbox, Push

from .telegram_text import caption as html_caption
from .telegram_text import html_chunks

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 60.0
IDLE_WAIT_S = 30.0


class Outcome(Enum):
    DONE = "done"  # sent, or given up with the reason recorded
    FLOOD = "flood"  # this chat must wait retry_after
    UNREACHABLE = "unreachable"  # Telegram did not answer: every chat waits


async def send_text_or_album(bot: Bot, chat_id: int, body: str, photos: Sequence[tuple[str, bytes]],
                             silent: bool = False) -> Message | None:
    """One message: text, one captioned photo, or an album captioned on its first photo (the message sent, but
    for an album)."""
    if not photos:
        return await bot.send_message(chat_id, body, parse_mode=ParseMode.HTML, disable_notification=silent)
    elif len(photos) == 1:
        name, png = photos[0]
        return await bot.send_photo(chat_id, png, filename=name, caption=body or None,
                                    parse_mode=ParseMode.HTML, disable_notification=silent)
    else:
        # Raw bytes, not a prebuilt InputFile: PTB then uploads each as an attach:// part of the album.
        media = [InputMediaPhoto(png, filename=name, caption=(body or None) if i == 0 else None,
                                 parse_mode=ParseMode.HTML) for i, (name, png) in enumerate(photos)]
        await bot.send_media_group(chat_id, media, disable_notification=silent)
    return None


def retry_seconds(error: RetryAfter) -> float:
    """PTB 22 gives retry_after as int seconds, or a timedelta with PTB_TIMEDELTA set."""
    value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramPusher:
    def __init__(self, bot: Bot, outbox: Outbox, chat_ids: list[int], levels: dict[str, str], clock: Clock):
        self.bot, self.outbox, self.chat_ids, self.levels, self.clock = bot, outbox, chat_ids, levels, clock
        self._wake = asyncio.Event()
        self._backoff = 0.0
        self._not_before: dict[int, float] = {}  # loop time before which a chat is not tried again

    async def push(self, kind: str, text: str, monospace: bool = False,
                   photos: Sequence[tuple[str, bytes]] = (), caption: str = "") -> None:
        """Queue a push for every notify chat (on: with sound, silent: without, off: not at all).

        Photos follow the text as one album, captioned.
        """
        level = self.levels.get(kind, "on")
        if level == "off":
            log.info("%s push not sent: notifications of this kind are off", kind)
            return
        if not self.chat_ids:
            log.warning("%s push not sent: TELEGRAM_NOTIFY_CHAT_IDS is empty: %s", kind, text[:200])
            return
        self.outbox.enqueue(kind, html_chunks(text, monospace), self.chat_ids, level == "silent", self.clock.now(),
                            photos=list(photos), caption=html_caption(caption))
        self._wake.set()

    async def run(self) -> None:
        """Deliver forever; an unexpected error is logged and retried, never the end of deliveries."""
        while True:
            try:
                await self._round()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("push delivery failed unexpectedly; retrying in 5 s")
                await self._sleep(5.0)

    async def _round(self) -> None:
        """Try the oldest pending push of every chat that may be tried now; then wait for work or time."""
        loop = asyncio.get_running_loop()
        heads = self.outbox.heads()
        ready = [p for p in heads if self._not_before.get(p.chat_id, 0.0) <= loop.time()]
        for push in ready:
            outcome, wait = await self._deliver(push)
            if outcome is Outcome.FLOOD:
                self._not_before[push.chat_id] = loop.time() + wait
            elif outcome is Outcome.UNREACHABLE:  # back off once per round, for every chat
                self._backoff = min(MAX_BACKOFF_S, max(1.0, self._backoff * 2))
                until = loop.time() + self._backoff
                self._not_before = {p.chat_id: until for p in heads}
                log.warning("Telegram unreachable; %d push(es) wait, next try in %.0f s",
                            self.outbox.pending_count(), self._backoff)
                break
            else:
                self._backoff = 0.0
        if ready:
            return  # look again at once: the next push of a chat that just sent may be ready
        waits = [t - loop.time() for t in self._not_before.values() if t > loop.time()]
        await self._sleep(min(waits) if waits else IDLE_WAIT_S)

    async def _sleep(self, seconds: float) -> None:
        """Wait, but wake at once when a push is queued or a flush is asked for."""
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=max(0.0, seconds))
        except asyncio.TimeoutError:
            pass

    async def flush(self, timeout: float) -> bool:
        """Try to deliver everything queued now; False if some is still pending when time runs out."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._not_before.clear()
        while self.outbox.pending_count():
            if loop.time() > deadline:
                return False
            self._wake.set()
            await asyncio.sleep(0.05)
        return True

    async def _deliver(self, push: Push) -> tuple[Outcome, float]:
        try:
            await send_text_or_album(self.bot, push.chat_id, push.body, push.photos, push.silent)
        except RetryAfter as e:
            self.outbox.failed_attempt(push.id, f"flood control: retry after {retry_seconds(e)} s")
            return Outcome.FLOOD, retry_seconds(e) + 0.1
        except ChatMigrated as e:  # a group became a supergroup: its id changed
            log.error("chat %d moved to %d: update TELEGRAM_NOTIFY_CHAT_IDS; push %d kept as failed",
                      push.chat_id, e.new_chat_id, push.id)
            self.outbox.given_up(push.id, f"chat migrated to {e.new_chat_id}")
        except Forbidden as e:
            log.warning("push %d to chat %d not deliverable (%s): skipped", push.id, push.chat_id, e.message)
            self.outbox.given_up(push.id, f"forbidden: {e.message}")
        except BadRequest as e:  # Telegram refuses this text for good: keep it with the reason, loudly
            log.error("push %d to chat %d refused by Telegram: %s", push.id, push.chat_id, e.message)
            self.outbox.given_up(push.id, f"bad request: {e.message}")
        except TelegramError as e:  # network errors, 5xx, odd answers: keep it, try again, in order
            self.outbox.failed_attempt(push.id, f"{type(e).__name__}: {e}")
            return Outcome.UNREACHABLE, 0.0
        else:
            self.outbox.sent(push.id, self.clock.now())
        return Outcome.DONE, 0.0
