"""The push sender against a scripted stand-in for PTB's Bot: it never dies, never reorders, never loses."""
import asyncio
from datetime import timedelta

from telegram.error import ChatMigrated, NetworkError, RetryAfter

from handlers.telegram_push import TelegramPusher
from tradingbot.adapters.outbox import SqliteOutbox
from tradingbot.adapters.sqlite_store import SqliteStore, open_database
from tradingbot.adapters.clock import SystemClock

A, B = 11, -22


class ScriptedBot:
    """Records what it delivers; raises the errors a test queues for a chat, in order."""

    def __init__(self):
        self.delivered: list[tuple[int, str]] = []
        self.errors: dict[int, list[Exception]] = {}

    async def send_message(self, chat_id, text, **kw):
        queue = self.errors.get(chat_id) or []
        if queue:
            raise queue.pop(0)
        self.delivered.append((chat_id, text))


def make(tmp_path, chats=(A, B)):
    db = open_database(tmp_path / "o.sqlite")
    SqliteStore(db, "USDT")  # creates the schema, outbox included
    outbox = SqliteOutbox(db)
    bot = ScriptedBot()
    return bot, outbox, TelegramPusher(bot, outbox, list(chats), {"alert": "on", "daily": "off"}, SystemClock())


async def drain(pusher, seconds):
    task = asyncio.create_task(pusher.run())
    try:
        await asyncio.sleep(seconds)
    finally:
        task.cancel()


def test_a_flooded_chat_does_not_hold_up_the_others_and_order_is_kept(tmp_path):
    bot, outbox, pusher = make(tmp_path)

    async def scenario():
        bot.errors[B] = [RetryAfter(timedelta(seconds=1))]
        await pusher.push("alert", "first")
        await pusher.push("alert", "second")
        task = asyncio.create_task(pusher.run())
        await asyncio.sleep(0.3)
        assert [t for c, t in bot.delivered if c == A] == ["first", "second"]  # A not held by B's flood
        assert [t for c, t in bot.delivered if c == B] == []
        await asyncio.sleep(1.2)
        task.cancel()

    asyncio.run(scenario())
    assert [t for c, t in bot.delivered if c == B] == ["first", "second"]
    assert outbox.pending_count() == 0


def test_an_outage_keeps_pushes_and_delivers_them_in_order_afterwards(tmp_path):
    bot, outbox, pusher = make(tmp_path, chats=(A,))

    async def scenario():
        bot.errors[A] = [NetworkError("Bad Gateway")] * 2
        for i in range(3):
            await pusher.push("alert", f"alert {i}")
        await drain(pusher, 4.0)

    asyncio.run(scenario())
    assert [t for _, t in bot.delivered] == ["alert 0", "alert 1", "alert 2"]


def test_a_migrated_group_or_an_unexpected_error_never_stops_deliveries(tmp_path):
    bot, outbox, pusher = make(tmp_path)

    async def scenario():
        bot.errors[B] = [ChatMigrated(-1009)]
        bot.errors[A] = [RuntimeError("database is locked")]  # not a Telegram error at all
        await pusher.push("alert", "one")
        await pusher.push("alert", "two")
        await drain(pusher, 6.0)

    asyncio.run(scenario())
    assert [t for c, t in bot.delivered if c == A] == ["one", "two"]
    rows = outbox.db.execute("SELECT chat_id, body, status, last_error FROM outbox ORDER BY id").fetchall()
    b_rows = [(body, status, err) for chat, body, status, err in rows if chat == B]
    assert b_rows[0][1] == "failed" and "migrated to -1009" in b_rows[0][2]
    assert b_rows[1][:2] == ("two", "sent")


def test_a_kind_that_is_off_is_not_queued_and_flush_reports_what_is_left(tmp_path):
    bot, outbox, pusher = make(tmp_path, chats=(A,))

    async def scenario():
        await pusher.push("daily", "not wanted")
        assert outbox.pending_count() == 0
        bot.errors[A] = [NetworkError("down")] * 100
        await pusher.push("alert", "stuck")
        task = asyncio.create_task(pusher.run())
        flushed = await pusher.flush(0.5)
        task.cancel()
        return flushed

    assert asyncio.run(scenario()) is False
    assert outbox.pending_count() == 1
