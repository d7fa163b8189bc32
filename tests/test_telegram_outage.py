"""Telegram unreachable for an hour of slots: what the bot pushed meanwhile arrives afterwards, in order, once.

The real python-telegram-bot client talks to the local fake Bot API, which answers 502 while down.
The engine runs hourly slots on a manual clock through the outage (one of them skipped because the
exchange is out too), announcing through the durable outbox as the running bot does.
"""
import asyncio
from datetime import timedelta

from telegram import Bot

from handlers.announce import announce_rebalance
from handlers.telegram_push import TelegramPusher
from tradingbot.adapters.outbox import SqliteOutbox
from tradingbot.core.params import StrategyParams
from standins.telegram_api import FakeTelegram

from tests.conftest import World

CHAT = 1001
TOKEN = "123456:TEST"


def delivered_in_order(fake: FakeTelegram) -> list[str]:
    """Texts, and the caption heading each album, as the chat received them."""
    out, albums = [], set()
    for m in fake.messages_to(CHAT):
        if m.kind == "text":
            out.append(m.text)
        elif m.media_group_id not in albums:
            albums.add(m.media_group_id)
            out.append(m.text)
    return out


def failed_tries(world: World) -> int:
    return world.db.execute("SELECT COALESCE(SUM(attempts) - SUM(sent_at IS NOT NULL), 0) FROM outbox").fetchone()[0]


async def a_failed_try(world: World, pusher: TelegramPusher) -> None:
    """Have the sender try once more now, whatever its backoff, and wait until that try has failed."""
    before = failed_tries(world)
    for _ in range(600):  # a bound that only keeps a broken sender from hanging the test
        assert not await pusher.flush(0.05)  # nothing can be delivered while Telegram is down
        if failed_tries(world) > before:
            return
    raise AssertionError("the sender never tried while Telegram was down")


def test_pushes_made_while_telegram_is_down_for_an_hour_arrive_afterwards_in_order_once(tmp_path):
    world = World(tmp_path / "bot.sqlite", params=StrategyParams(topn=4, min_age_days=1, every="1h"))
    outbox = SqliteOutbox(world.db)
    fake = FakeTelegram(token=TOKEN)
    fake.start()

    async def scenario():
        async with Bot(TOKEN, base_url=fake.base_url) as bot:
            pusher = TelegramPusher(bot, outbox, [CHAT], {"alert": "on", "rebalance": "on"}, world.clock)
            sender = asyncio.create_task(pusher.run())
            fake.down(True)
            for hour in range(3):  # three hourly slots, two hours and more with Telegram unreachable
                if hour == 1:
                    world.market.down_until = world.clock.now() + timedelta(minutes=10)
                summary = await world.services.rebalance_slot()
                await announce_rebalance(summary, world.services, pusher)
                await pusher.push("alert", f"⚠ check {hour}")
                await a_failed_try(world, pusher)  # the sender keeps trying, and failing, meanwhile
                world.clock.advance(timedelta(hours=1))
            assert fake.messages_to(CHAT) == [] and outbox.pending_count() >= 8
            fake.down(False)
            # Its backoff has grown with the outage; a flush sends now (the running bot flushes at shut-down).
            # The timeout only keeps a broken sender from hanging the test.
            assert await pusher.flush(60)
            sender.cancel()

    try:
        asyncio.run(scenario())
    finally:
        fake.stop()
    queued = [body for (body,) in world.db.execute("SELECT body FROM outbox ORDER BY id")]
    assert outbox.pending_count() == 0
    assert delivered_in_order(fake) == queued  # every push, in the order made, none twice
    assert failed_tries(world) >= 3  # it did try during the outage, once an hour at least
    assert any("skipped" in q and "exchange unreachable" in q for q in queued)
    assert sum("⚠ check" in q for q in queued) == 3
