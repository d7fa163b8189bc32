"""Direct answers in a chat: split to Telegram's limits, charts after the text, and two kinds of patience.

An answer someone is owed (a command's reply) waits out flood control and retries network errors. Chatter
(a refusal, "slow down", a progress note) gets one try and is dropped under flood control or at shut-down:
nobody waits on it, and it cannot hold up the bot.
"""
from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Awaitable, Callable

from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from .replies import Reply
from .telegram_push import retry_seconds, send_text_or_album
from .telegram_text import caption, html_chunks

log = logging.getLogger(__name__)
MAX_FLOOD_WAIT_S = 120.0
KNOWN_PICTURES = 16  # file_ids kept: the charts shared right now (shared_answers.py) and a few before them


class Replier:
    def __init__(self, bot: Bot):
        self.bot = bot
        self._chatter: set[asyncio.Task[object]] = set()
        # a picture sent once -> Telegram's id for it (the largest size: the picture as sent), or its upload
        self._file_ids: OrderedDict[bytes, asyncio.Future[str | None]] = OrderedDict()

    async def send(self, chat_id: int, reply: Reply, keyboard: InlineKeyboardMarkup | None = None) -> Message | None:
        """An owed answer; the message carrying the keyboard (the last text part), or None if not delivered."""
        chunks = html_chunks(reply.text, reply.monospace)
        shown: list[Message] = []

        async def part(text: str, markup: InlineKeyboardMarkup | None) -> None:
            shown.append(await self.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup))
        for i, chunk in enumerate(chunks):
            if not await self.attempt(chat_id, lambda c=chunk, m=keyboard if i == len(chunks) - 1 else None: part(c, m)):
                log.warning("reply to chat %s not delivered (%d of %d parts sent)", chat_id, i, len(chunks))
                return None
        await self.send_charts(chat_id, reply)
        return shown[-1]

    async def send_charts(self, chat_id: int, reply: Reply) -> None:
        """The reply's charts (drawn now if they come later), as one photo or an album."""
        photos = await reply.charts()
        if photos:
            album = [(p.name, p.png) for p in photos]
            title = caption(" · ".join(p.caption for p in photos if p.caption))
            send = (lambda: self._photo(chat_id, title, album[0])) if len(album) == 1 else \
                (lambda: send_text_or_album(self.bot, chat_id, title, album))
            if not await self.attempt(chat_id, send):
                log.warning("charts for chat %s not delivered", chat_id)

    async def _photo(self, chat_id: int, title: str, photo: tuple[str, bytes]) -> None:
        """One picture: by the file_id Telegram gave it when it was first sent, so a chart shared by many people
        is uploaded once (the others wait for that upload); uploaded again if Telegram no longer knows the id."""
        name, png = photo
        first = self._file_ids.get(png)
        file_id = await asyncio.shield(first) if first is not None else None
        if file_id is not None:
            try:
                await self.bot.send_photo(chat_id, file_id, caption=title or None, parse_mode=ParseMode.HTML)
                self._file_ids.move_to_end(png)
                return
            except BadRequest:  # an id Telegram no longer knows: upload the bytes
                pass
        uploaded: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._file_ids[png] = uploaded
        while len(self._file_ids) > KNOWN_PICTURES:
            self._file_ids.popitem(last=False)
        sent = None
        try:
            sent = await send_text_or_album(self.bot, chat_id, title, [photo])
        finally:  # those waiting send by the id, or (None: the upload failed) upload themselves
            uploaded.set_result(sent.photo[-1].file_id if sent is not None and sent.photo else None)
            if uploaded.result() is None and self._file_ids.get(png) is uploaded:
                del self._file_ids[png]

    async def attempt(self, chat_id: int, send: Callable[[], Awaitable[object]]) -> bool:
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

    def chatter(self, chat_id: int, text: str) -> None:
        """One try at a short plain message, in the background; dropped if Telegram pushes back."""
        self.background(self.bot.send_message(chat_id, text), f"message to chat {chat_id}")

    def background(self, call: Awaitable[object], what: str) -> None:
        """One try at any call, in the background: failures are logged at debug level and forgotten."""
        async def once() -> None:
            try:
                await call
            except TelegramError as e:
                log.debug("%s dropped: %s", what, e)
        task = asyncio.get_running_loop().create_task(once())
        self._chatter.add(task)
        task.add_done_callback(self._chatter.discard)

    async def drop_chatter(self) -> None:
        """At shut-down: whatever chatter has not gone out is dropped."""
        for task in list(self._chatter):
            task.cancel()
        await asyncio.gather(*self._chatter, return_exceptions=True)
