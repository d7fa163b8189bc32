"""One start-up and shut-down sequence whichever front end the bot chats through: the console and Telegram
(the real python-telegram-bot client against the local fake Bot API) each start a bot whose venue and ledger
differ and whose 09:00 slot was missed four minutes ago, and push the same steps in the same order."""
from __future__ import annotations

import asyncio
import io
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from handlers.console import serve_console
from handlers.lifecycle import Timetable
from handlers.telegram_app import serve_telegram
from tests.builders import NOW
from tests.conftest import World
from tests.test_telegram_bot import GROUP, TOKEN, config
from tradingbot.adapters.clock import ManualClock
from tradingbot.adapters.outbox import SqliteOutbox
from standins.telegram_api import FakeTelegram

# What each step of the sequence pushes, told apart by a phrase of its text.
STEPS = (("started", "iTradingBot started"), ("reconciled", "Venue and ledger differ"),
         ("caught up", "Rebalance S20261124T0900 done"), ("stopping", "iTradingBot stopping"))


def steps(texts: list[str]) -> list[str]:
    return [name for text in texts for name, phrase in STEPS if phrase in text]


def a_bot_to_start(folder: Path) -> World:
    """Four minutes after a missed slot, with coins at the venue that the ledger never saw (of a coin the
    strategy does not trade, so the difference stays the same after the caught-up rebalance)."""
    world = World(folder / "bot.sqlite", clock=ManualClock(NOW + timedelta(minutes=4)))
    asyncio.run(world.services.reconcile())  # the first check: what the venue and the ledger hold now
    world.paper.deposit("XYZ", Decimal(25))
    return world


def started_marks(world: World) -> int:
    return world.db.execute("SELECT COUNT(*) FROM equity_marks WHERE source = 'start'").fetchone()[0]


def console_pushes(world: World, charts: Path) -> list[str]:
    out = io.StringIO()
    code = asyncio.run(serve_console(world.services, Timetable(), charts, lambda _: None, io.StringIO("/quit\n"), out))
    assert code == 0
    return out.getvalue().split("[push] ")[1:]


def telegram_pushes(world: World) -> list[str]:
    fake = FakeTelegram(token=TOKEN)
    fake.start()
    try:
        async def main() -> int:
            stop = asyncio.Event()
            bot = asyncio.create_task(serve_telegram(world.services, SqliteOutbox(world.db), config(fake), stop))
            await asyncio.to_thread(fake.wait_for, lambda m: "P/L since start" in m.text, 30)
            stop.set()
            return await asyncio.wait_for(bot, 20)

        assert asyncio.run(main()) == 0
        return [m.text for m in fake.messages_to(GROUP)]
    finally:
        fake.stop()


@pytest.mark.parametrize("front_end", ["console", "telegram"])
def test_both_front_ends_start_and_stop_through_the_same_steps(front_end, tmp_path):
    world = a_bot_to_start(tmp_path)
    pushed = console_pushes(world, tmp_path / "charts") if front_end == "console" else telegram_pushes(world)
    assert steps(pushed) == ["started", "reconciled", "caught up", "stopping"]
    assert started_marks(world) == 1
    assert world.store.get_rebalance("S20261124T0900").state == "done"
