"""The bot on Telegram, end to end: the real python-telegram-bot client against the local fake Bot API.

Updates are injected as people would send them; assertions are on what the bot sent over HTTP.
"""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from handlers.commands import COMMANDS
from handlers.telegram_front import REFUSAL
from handlers.telegram_app import TelegramConfig, serve_telegram
from tests.builders import NOW
from tests.conftest import World
from tradingbot.adapters.clock import ManualClock
from tradingbot.adapters.outbox import SqliteOutbox
from tradingbot.adapters.synthetic import SyntheticMarket
from standins.telegram_api import FakeTelegram

ADMIN, VIEWER, STRANGER = 1001, 1002, 6666
GROUP, NOTIFY = -500, 1001  # pushes go to the admin's private chat and a group
TOKEN = "123456:TEST"


@pytest.fixture
def world(tmp_path):
    """Half an hour after the 09:00 slot: outside the catch-up grace, so nothing trades unasked."""
    return World(tmp_path / "bot.sqlite", clock=ManualClock(NOW + timedelta(minutes=30)))


@pytest.fixture
def fake():
    server = FakeTelegram(token=TOKEN)
    server.start()
    yield server
    server.stop()


def config(fake: FakeTelegram, notify=(NOTIFY, GROUP)) -> TelegramConfig:
    return TelegramConfig(token=TOKEN, base_url=fake.base_url, admins=frozenset({ADMIN}),
                          viewers=frozenset({VIEWER}), notify_chats=list(notify),
                          levels={"rebalance": "on", "alert": "on", "lifecycle": "silent", "daily": "off"},
                          daily_at="20:00", mark_minutes=60, misfire_grace=timedelta(minutes=10))


async def wait(fake: FakeTelegram, predicate, timeout: float = 10.0):
    return await asyncio.to_thread(fake.wait_for, predicate, timeout)


def run_with_bot(world: World, fake: FakeTelegram, scenario, cfg: TelegramConfig | None = None) -> int:
    """Start the bot, wait for its start-up push, play the scenario, stop the bot; the bot's exit code."""
    async def main():
        stop = asyncio.Event()
        bot = asyncio.create_task(serve_telegram(world.services, SqliteOutbox(world.db), cfg or config(fake), stop))
        try:
            await wait(fake, lambda m: "started" in m.text)
            await scenario()
        finally:
            stop.set()
        return await asyncio.wait_for(bot, 20)
    return asyncio.run(main())


def text_to(chat: int, fragment: str):
    return lambda m: m.chat_id == chat and fragment in m.text


def test_admin_reads_status_and_sets_parameters_all_or_none(world, fake):
    async def scenario():
        fake.send_text(ADMIN, "/status")
        await wait(fake, text_to(ADMIN, "Venue: paper"))
        fake.send_text(ADMIN, "/set topn=abc")
        error = await wait(fake, text_to(ADMIN, "topn must be"))
        assert error.text.count("\n") == 0 and "from 1 to 50" in error.text
        fake.send_text(ADMIN, "/set topn=5 lookback=0d")
        await wait(fake, text_to(ADMIN, "lookback must be"))
        assert world.services.params.topn == 4  # nothing half-applied
        fake.send_text(ADMIN, "/set topn=5 every=4h")
        reply = await wait(fake, text_to(ADMIN, "topn: 4 → 5"))
        assert "every: 1d → 4h" in reply.text and "Next rebalance:" in reply.text

    run_with_bot(world, fake, scenario)
    assert world.store.param_changes()[0]["who"] == f"telegram:{ADMIN}"
    assert [c["command"] for c in fake.commands] == [c.name for c in COMMANDS]


def test_rebalance_now_asks_to_confirm_and_runs_once(world, fake):
    async def scenario():
        fake.send_text(ADMIN, "/rebalance_now")
        plan = await wait(fake, text_to(ADMIN, "Confirm /rebalance_now"))
        assert "Buy" in plan.text and "Estimated fees" in plan.text and world.venue.sent == []
        buttons = [b["callback_data"] for row in plan.reply_markup["inline_keyboard"] for b in row]
        confirm = next(b for b in buttons if b.startswith("ok:"))
        fake.press_button(ADMIN, plan.message_id, confirm)
        fake.press_button(ADMIN, plan.message_id, confirm)  # an impatient second press
        await wait(fake, text_to(ADMIN, "Bought 4"))
        await wait(fake, text_to(GROUP, "P/L since start"))  # the push to the notify chats
        await asyncio.to_thread(fake.wait_for_call, "answerCallbackQuery")
        await asyncio.sleep(0.5)

    run_with_bot(world, fake, scenario)
    assert len(world.venue.sent) == 4 and len(set(world.venue.sent)) == 4
    assert any(a.get("text") == "Already handled." for a in fake.answered_callbacks)
    assert len([m for m in fake.messages_to(GROUP) if "P/L since start" in m.text]) == 1


def test_strangers_get_one_refusal_and_no_data(world, fake):
    async def scenario():
        fake.send_text(STRANGER, "/pnl")
        await wait(fake, text_to(STRANGER, REFUSAL))
        fake.send_text(STRANGER, "/whoami")
        await wait(fake, text_to(STRANGER, f"Your user id: {STRANGER}"))
        fake.send_text(ADMIN, "/rebalance_now")
        plan = await wait(fake, text_to(ADMIN, "Confirm /rebalance_now"))
        confirm = plan.reply_markup["inline_keyboard"][0][0]["callback_data"]
        fake.press_button(STRANGER, plan.message_id, confirm, chat_id=ADMIN)  # replayed button data
        fake.press_button(VIEWER, plan.message_id, confirm, chat_id=ADMIN)
        await asyncio.sleep(1.0)

    run_with_bot(world, fake, scenario)
    to_stranger = fake.messages_to(STRANGER)
    assert [m.text for m in to_stranger][0] == REFUSAL and not any("Equity" in m.text for m in to_stranger)
    assert world.venue.sent == []
    assert sum(a.get("text") == "Not authorised." for a in fake.answered_callbacks) == 2


def test_viewers_look_but_do_not_act_and_groups_route_by_sender(world, fake):
    async def scenario():
        fake.send_text(VIEWER, "/set topn=5")
        await wait(fake, text_to(VIEWER, "for admins only"))
        fake.send_text(VIEWER, "/positions@itradingbot_test", chat_id=GROUP, chat_type="group")
        await wait(fake, text_to(GROUP, "No positions"))
        fake.send_text(VIEWER, "/pause", chat_id=GROUP, chat_type="group")
        await wait(fake, text_to(GROUP, "for admins only"))
        fake.send_text(ADMIN, "/status@someotherbot", chat_id=GROUP, chat_type="group")
        fake.send_text(ADMIN, "/pause", chat_id=GROUP, chat_type="group")
        await wait(fake, text_to(GROUP, "Paused"))

    run_with_bot(world, fake, scenario)
    assert world.services.params.topn == 4
    assert not any("Venue" in m.text for m in fake.messages_to(GROUP))  # /status@someotherbot was not for us


def test_long_replies_are_split_within_telegram_limits(tmp_path, fake):
    world = World(tmp_path / "big.sqlite", clock=ManualClock(NOW + timedelta(minutes=30)))
    world.market = SyntheticMarket(world.clock, seed=7, n_symbols=400)
    world.services.market = world.services.rebalancer.market = world.market
    world.services.set_params("min_quote_volume=0", "test")

    async def scenario():
        fake.send_text(ADMIN, "/ranking 500")
        await wait(fake, text_to(ADMIN, "Not eligible"), timeout=20)

    run_with_bot(world, fake, scenario)
    parts = [m.text for m in fake.messages_to(ADMIN) if "started" not in m.text]
    assert len(parts) > 1 and all(len(p) <= 4096 for p in parts)
    rows = [line for p in parts for line in p.splitlines() if "USDT" in line]
    assert len(rows) > 300 and len(rows) == len(set(rows))  # every row once, none cut or repeated


def test_pushes_survive_flood_control_a_blocked_chat_and_an_outage_in_order(world, fake):
    async def scenario():
        fake.flood(GROUP, retry_after=1, times=2)
        fake.block(NOTIFY)
        fake.send_text(ADMIN, "/rebalance_now", chat_id=GROUP, chat_type="group")
        plan = await wait(fake, text_to(GROUP, "Confirm /rebalance_now"), timeout=15)
        fake.down(True)  # Telegram unreachable while the rebalance runs and its summary is pushed
        fake.press_button(ADMIN, plan.message_id, plan.reply_markup["inline_keyboard"][0][0]["callback_data"],
                          chat_id=GROUP)
        await asyncio.sleep(2.0)
        assert not [m for m in fake.messages_to(GROUP) if "P/L since start" in m.text]
        fake.down(False)
        await wait(fake, text_to(GROUP, "P/L since start"), timeout=40)

    run_with_bot(world, fake, scenario)
    group = [m.text for m in fake.messages_to(GROUP)]
    assert group.index(next(t for t in group if "started" in t)) < group.index(
        next(t for t in group if "P/L since start" in t))  # delivered in the order queued
    rows = world.db.execute("SELECT chat_id, status, last_error FROM outbox WHERE kind = 'rebalance'").fetchall()
    assert {(c, s) for c, s, _ in rows} == {(GROUP, "sent"), (NOTIFY, "failed")}
    assert all("forbidden" in e for c, s, e in rows if c == NOTIFY)  # a blocked chat: logged and skipped


def test_a_second_poller_on_the_same_token_stops_this_one(world, fake):
    async def main():
        stop = asyncio.Event()
        bot = asyncio.create_task(serve_telegram(world.services, SqliteOutbox(world.db), config(fake), stop))
        await wait(fake, lambda m: "started" in m.text)
        fake.conflict(True)
        return await asyncio.wait_for(bot, 20)

    assert asyncio.run(main()) == 3


def test_a_confirmation_expires_after_60_seconds(world, fake):
    async def scenario():
        fake.send_text(ADMIN, "/rebalance_now")
        plan = await wait(fake, text_to(ADMIN, "Confirm /rebalance_now"))
        world.clock.advance(timedelta(seconds=61))
        fake.press_button(ADMIN, plan.message_id, plan.reply_markup["inline_keyboard"][0][0]["callback_data"])
        await asyncio.to_thread(fake.wait_for_call, "answerCallbackQuery")
        await asyncio.sleep(0.3)

    run_with_bot(world, fake, scenario)
    assert world.venue.sent == []
    assert any("Expired" in (a.get("text") or "") for a in fake.answered_callbacks)


def test_telegram_down_at_start_delays_chat_but_not_the_bot(world, fake):
    async def main():
        fake.down(True)
        stop = asyncio.Event()
        bot = asyncio.create_task(serve_telegram(world.services, SqliteOutbox(world.db), config(fake), stop))
        await asyncio.sleep(2.0)
        assert not bot.done()  # still running, retrying, its start-up push waiting in the outbox
        assert world.store.last_mark().source == "start"  # the engine side started without Telegram
        fake.down(False)
        await wait(fake, lambda m: "started" in m.text, timeout=20)
        fake.send_text(ADMIN, "/status")
        await wait(fake, text_to(ADMIN, "Venue: paper"))
        stop.set()
        return await asyncio.wait_for(bot, 20)

    assert asyncio.run(main()) == 0


def test_an_established_instance_keeps_running_and_alerts_on_a_conflict(world, fake, monkeypatch):
    import handlers.telegram_poll as poll

    monkeypatch.setattr(poll, "ESTABLISHED_AFTER_S", 0.5)  # so "established" takes half a second, not 3

    async def scenario():
        await asyncio.sleep(1.0)
        fake.conflict(True)
        await wait(fake, text_to(GROUP, "Another instance tried to poll"), timeout=15)
        fake.conflict(False)
        fake.send_text(ADMIN, "/status")
        await wait(fake, text_to(ADMIN, "Venue: paper"), timeout=15)

    assert run_with_bot(world, fake, scenario) == 0


def test_liquidate_confirms_sells_everything_and_pauses(world, fake):
    asyncio.run(world.services.rebalance_now())
    held_before = set(world.store.load_ledger().holdings())

    async def scenario():
        fake.send_text(ADMIN, "/liquidate")
        ask = await wait(fake, text_to(ADMIN, "Confirm /liquidate"))
        assert all(asset in ask.text for asset in held_before)
        fake.press_button(ADMIN, ask.message_id, ask.reply_markup["inline_keyboard"][0][0]["callback_data"])
        await wait(fake, text_to(ADMIN, "Scheduled rebalances are paused"), timeout=15)
        fake.send_text(ADMIN, "/status")
        await wait(fake, text_to(ADMIN, "PAUSED"))

    run_with_bot(world, fake, scenario)
    positions = asyncio.run(world.services.positions())
    assert all(p.value < 1 for p in positions.positions)  # only sub-lot dust is left
    assert world.services.paused


def test_liquidate_with_only_cash_answers_without_a_confirm_button(world, fake):
    async def scenario():
        fake.send_text(ADMIN, "/liquidate")
        reply = await wait(fake, text_to(ADMIN, "Nothing to sell"))
        assert not reply.reply_markup  # nothing to confirm: pressing it would only have paused the bot

    run_with_bot(world, fake, scenario)
    assert not world.services.paused


def test_charts_reach_the_chat_and_the_push_carries_an_album(world, fake):
    async def scenario():
        fake.send_text(ADMIN, "/rebalance_now")
        plan = await wait(fake, text_to(ADMIN, "Confirm /rebalance_now"))
        fake.press_button(ADMIN, plan.message_id, plan.reply_markup["inline_keyboard"][0][0]["callback_data"])
        await wait(fake, lambda m: m.chat_id == GROUP and m.kind == "photo" and m.media_group_id, timeout=20)
        fake.send_text(ADMIN, "/pnl")
        await wait(fake, lambda m: m.chat_id == ADMIN and m.kind == "photo" and "Equity" in m.text, timeout=20)

    run_with_bot(world, fake, scenario)
    album = [m for m in fake.messages_to(GROUP) if m.kind == "photo"]
    assert len(album) == 2 and len({m.media_group_id for m in album}) == 1
    assert all(m.photo_bytes.startswith(b"\x89PNG") for m in album)
    assert len(album[0].text) <= 1024
