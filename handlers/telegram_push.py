"""Pushes to the notify chats through the durable outbox: in order, retried, never dropped silently."""
from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from tradingbot.adapters.outbox import Push, SqliteOutbox
from tradingbot.ports import Clock

from .telegram_text import html_chunks

log = logging.getLogger(__name__)
KINDS = ("rebalance", "alert", "lifecycle", "daily")
MAX_BACKOFF_S = 60.0


def retry_seconds(error: RetryAfter) -> float:
    """PTB 22 gives retry_after as int seconds, or a timedelta with PTB_TIMEDELTA set."""
    value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramPusher:
    def __init__(self, bot: Bot, outbox: SqliteOutbox, chat_ids: list[int], levels: dict[str, str], clock: Clock):
        self.bot, self.outbox, self.chat_ids, self.levels, self.clock = bot, outbox, chat_ids, levels, clock
        self._wake = asyncio.Event()
        self._backoff = 0.0

    async def push(self, kind: str, text: str, monospace: bool = False) -> None:
        """Queue a push for every notify chat (on: with sound, silent: without, off: not at all)."""
        level = self.levels.get(kind, "on")
        if level == "off":
            log.info("%s push not sent: notifications of this kind are off", kind)
            return
        if not self.chat_ids:
            log.warning("%s push not sent: TELEGRAM_NOTIFY_CHAT_IDS is empty: %s", kind, text[:200])
            return
        self.outbox.enqueue(kind, html_chunks(text, monospace), self.chat_ids, level == "silent", self.clock.now())
        self._wake.set()

    async def run(self) -> None:
        """Deliver forever: each chat's oldest push first; a stuck chat never holds up the others."""
        while True:
            heads = self.outbox.heads()
            if not heads:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=30)
                except asyncio.TimeoutError:
                    pass
                continue
            pause = 0.0
            for push in heads:
                pause = max(pause, await self._deliver(push))
            if pause:
                await asyncio.sleep(pause)

    async def flush(self, timeout: float) -> bool:
        """Wait until everything queued is delivered (or given up); False if time ran out first."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.outbox.pending_count():
            if asyncio.get_running_loop().time() > deadline:
                return False
            self._wake.set()
            await asyncio.sleep(0.05)
        return True

    async def _deliver(self, push: Push) -> float:
        """Send one push; the seconds to wait before the next round (0 when it went through)."""
        try:
            await self.bot.send_message(push.chat_id, push.body, parse_mode=ParseMode.HTML,
                                        disable_notification=push.silent)
        except RetryAfter as e:
            self.outbox.failed_attempt(push.id, f"flood control: retry after {retry_seconds(e)} s")
            return retry_seconds(e) + 0.1
        except Forbidden as e:
            log.warning("push %d to chat %d not deliverable (%s): skipped", push.id, push.chat_id, e.message)
            self.outbox.given_up(push.id, f"forbidden: {e.message}")
            return 0.0
        except BadRequest as e:  # Telegram refuses this text for good: keep it with the reason, loudly
            log.error("push %d to chat %d refused by Telegram: %s", push.id, push.chat_id, e.message)
            self.outbox.given_up(push.id, f"bad request: {e.message}")
            return 0.0
        except NetworkError as e:  # Telegram unreachable: keep it, try again later, in order
            self._backoff = min(MAX_BACKOFF_S, max(1.0, self._backoff * 2))
            log.warning("push %d to chat %d: %s; retrying in %.0f s", push.id, push.chat_id, e, self._backoff)
            self.outbox.failed_attempt(push.id, f"network: {e}")
            return self._backoff
        self._backoff = 0.0
        self.outbox.sent(push.id, self.clock.now())
        return 0.0
