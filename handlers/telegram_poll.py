"""Fetching updates (getUpdates) ourselves: who serves when two instances poll one token, and a prompt stop.

PTB's Updater would do the fetching, but it cannot tell which of two instances came first, backs off up to
30 s on a conflict, and sleeps through a stop. Telegram's rule is what this builds on: a getUpdates call
ends the one already waiting with 409 Conflict ("terminated by other getUpdates request"). So the instance
that was already polling sees the first 409 as a poll it had held for a while; a newcomer's poll is cut
off within a moment of being sent, because the established one polls again at once. An instance that has
not yet held its polls for ESTABLISHED_AFTER_S gives way at its first 409 and polls no more (not even the
final confirming call, which would cut off the other's poll); one that has keeps polling and reports it.
"""
from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from typing import Callable

from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError, TimedOut

from .telegram_push import retry_seconds

log = logging.getLogger(__name__)
ESTABLISHED_AFTER_S = 3.0  # polls held this long, uncontested: another instance polling now is the newcomer
REPOLL_AFTER_CONFLICT_S = 0.25  # well below ESTABLISHED_AFTER_S, so a newcomer never holds a poll that long
CONFIRM_TIMEOUT_S = 1.0  # the last call at stop, which tells Telegram what was handled: never a long wait
MAX_BACKOFF_S = 30.0


class Poller:
    def __init__(self, bot: Bot, deliver: Callable[[Update], object], allowed_updates: list[str],
                 on_conflict: Callable[[], None], timeout: int = 10):
        self.bot, self.deliver, self.allowed_updates = bot, deliver, allowed_updates
        self.on_conflict, self.timeout = on_conflict, timeout
        self.offset = 0  # the first update not yet handed to the front end
        self.held = 0.0  # seconds this instance's polls were held open or answered, uncontested
        self.gave_way = asyncio.Event()  # set when another instance was here first
        self._task: asyncio.Task[None] | None = None

    @property
    def established(self) -> bool:
        return self.held >= ESTABLISHED_AFTER_S

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="telegram-poller")

    @property
    def task(self) -> asyncio.Task[None]:
        assert self._task is not None, "the poller was not started"
        return self._task

    async def stop(self) -> None:
        """Stop at once; confirm what was fetched (briefly), unless this instance gave way to another."""
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await self._task
        if self.gave_way.is_set() or not self.offset:
            return
        try:
            await asyncio.wait_for(self.bot.get_updates(offset=self.offset, timeout=0,
                                                        allowed_updates=self.allowed_updates), CONFIRM_TIMEOUT_S)
        except (asyncio.TimeoutError, TelegramError) as e:  # they come again at the next start: handled twice at worst
            log.info("could not confirm the last updates at stop (%s)", type(e).__name__)

    async def _run(self) -> None:
        await self._bootstrap()
        loop = asyncio.get_running_loop()
        failures = conflicts = 0
        while True:
            sent = loop.time()
            try:
                updates = await self.bot.get_updates(offset=self.offset, timeout=self.timeout,
                                                     allowed_updates=self.allowed_updates)
            except Conflict:
                self.held += loop.time() - sent  # the poll was held until the other instance's cut it off
                if not self.established:
                    log.error("another instance is already polling this bot token (409 Conflict); "
                              "this one gives way")
                    self.gave_way.set()
                    return
                conflicts += 1
                self.on_conflict()
                await asyncio.sleep(min(1.0, REPOLL_AFTER_CONFLICT_S * conflicts))
                continue
            except RetryAfter as e:
                await asyncio.sleep(retry_seconds(e) + 0.5)
                continue
            except TimedOut:
                continue
            except InvalidToken:
                raise
            except TelegramError as e:
                failures += 1
                await _back_off("polling Telegram failed", e, failures)
                continue
            self.held += loop.time() - sent
            failures = conflicts = 0
            for update in updates:
                self.deliver(update)
                self.offset = update.update_id + 1

    async def _bootstrap(self) -> None:
        """No webhook may be set while polling; retried until Telegram answers (or the poller is stopped)."""
        failures = 0
        while True:
            try:
                await self.bot.delete_webhook()
                return
            except InvalidToken:
                raise
            except TelegramError as e:
                failures += 1
                await _back_off("Telegram unreachable before polling", e, failures)


async def _back_off(what: str, error: TelegramError, failures: int) -> None:
    log.warning("%s (%s); retrying", what, error)
    await asyncio.sleep(min(MAX_BACKOFF_S, 2.0 ** failures))
