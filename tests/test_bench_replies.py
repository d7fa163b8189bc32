"""The Telegram benchmark matches each reply to its command: a chart that follows one reply is not the next
command's answer, and a message that answers nothing stops the run (real PTB client, the fake Bot API)."""
from __future__ import annotations

import asyncio

import pytest
from telegram import Bot

from benchmarks.telegram_replies import Conversation, UnexpectedReply, Watcher
from tests.test_telegram_fake import OP, png
from standins.telegram_api import FakeTelegram

PNL, STATUS, PARAMS = "Net P/L: +12.00 USDT", "Next rebalance: 09:00", "invest_fraction = 1"


@pytest.fixture
def watched():
    with FakeTelegram() as fake:
        watcher = Watcher(fake)
        watcher.start()
        try:
            yield fake, watcher
        finally:
            watcher.stop()


def bot_sends(fake: FakeTelegram, *messages: str | bytes) -> None:
    """The bot sends these to OP in order: text, or a chart photo for bytes."""
    async def send():
        async with Bot(fake.token, base_url=fake.base_url) as bot:
            for message in messages:
                if isinstance(message, bytes):
                    await bot.send_photo(OP, message, caption="Equity, drawdown and benchmarks")
                else:
                    await bot.send_message(OP, message)
    asyncio.run(send())


def test_a_chart_arriving_after_the_next_command_is_not_taken_for_its_reply(watched):
    fake, watcher = watched
    chat = Conversation(watcher, OP)
    bot_sends(fake, PNL)
    assert chat.reply_to("/pnl", 5)[1].text == PNL
    bot_sends(fake, png(2, 2), STATUS)  # the /pnl chart lands while /status is awaited
    stamp, reply = chat.reply_to("/status", 5)
    assert (reply.kind, reply.text) == ("text", STATUS) and chat.charts_due == 0
    chat.finish()  # nothing left over


def test_a_reply_to_no_pending_command_fails_loudly(watched):
    fake, watcher = watched
    chat = Conversation(watcher, OP)
    bot_sends(fake, PARAMS)
    with pytest.raises(UnexpectedReply, match="waiting for the reply to /status"):
        chat.reply_to("/status", 5)
    bot_sends(fake, STATUS, STATUS)
    chat.reply_to("/status", 5)
    watcher.settle(quiet=0.2, limit=2)
    with pytest.raises(UnexpectedReply, match="Next rebalance"):  # the duplicate
        chat.finish()
    bot_sends(fake, png(2, 2))  # a chart nobody announced
    watcher.settle(quiet=0.2, limit=2)
    with pytest.raises(UnexpectedReply, match="photo"):
        chat.finish()


def test_a_late_reply_is_matched_to_its_command_not_to_the_next(watched):
    fake, watcher = watched
    chat = Conversation(watcher, OP)
    with pytest.raises(TimeoutError):
        chat.reply_to("/pnl", 0.1)
    bot_sends(fake, PNL, STATUS, png(2, 2))  # /pnl answered late, its chart after the /status reply
    assert chat.reply_to("/status", 5)[1].text == STATUS
    watcher.settle(quiet=0.2, limit=2)
    chat.finish()
    assert chat.late == [] and chat.charts_due == 0
