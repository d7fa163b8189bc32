"""The console asks before it trades, as Telegram's buttons do: plan first, then /confirm (or y) within 60 s."""
import asyncio
import io
from datetime import timedelta

from handlers.commands import Context
from handlers.console import UNCONFIRMED, ConsoleChat, run_once

run = asyncio.run


def test_rebalance_now_shows_the_plan_and_trades_only_when_confirmed_and_only_once(world):
    chat = ConsoleChat(Context(world.services, "console"))
    plan = run(chat.answer("/rebalance_now"))
    assert "Estimated fees" in plan.text and "Confirm /rebalance_now within 60 s? /confirm or /cancel (y/N)" in plan.text
    other = run(chat.answer("/params"))  # anything but a yes cancels, as a y/N prompt does
    assert other.text.startswith("(/rebalance_now cancelled: nothing sent.)") and "topn = 4" in other.text
    assert run(chat.answer("/confirm")).text == "⚠ Nothing to confirm: send the command first."
    assert world.venue.sent == [] and world.store.recent_rebalances(5) == []

    run(chat.answer("/rebalance_now"))
    done = run(chat.answer("y"))
    assert done.summary is not None and done.summary.slot == "M20261124T090000" and done.summary.state == "done"
    sent = list(world.venue.sent)
    assert sent and run(chat.answer("/confirm")).text.startswith("⚠ Nothing to confirm")
    run(chat.answer("/rebalance_now"))  # asked again within the same second: the same request ...
    again = run(chat.answer("/confirm"))
    assert again.summary is not None and again.summary.already_done  # ... runs once: its key is journaled
    assert world.venue.sent == sent


def test_an_unconfirmed_request_expires_after_60_seconds_and_cancel_sends_nothing(world):
    chat = ConsoleChat(Context(world.services, "console"))
    run(chat.answer("/rebalance_now"))
    world.clock.advance(timedelta(seconds=61))
    assert run(chat.answer("/confirm")).text == "⚠ /rebalance_now expired after 60 s: nothing sent; send it again."
    assert world.venue.sent == []

    run(world.services.rebalance_now())  # holdings, so /liquidate has something to sell
    sent = list(world.venue.sent)
    preview = run(chat.answer("/liquidate"))
    assert "Sell everything to USDT" in preview.text and "Confirm /liquidate" in preview.text
    assert run(chat.answer("n")).text == "/liquidate cancelled: nothing sent."
    assert world.venue.sent == sent and not world.services.paused


def test_bot_py_chat_shows_the_plan_and_a_following_confirm_runs_it(world, tmp_path):
    out = io.StringIO()
    run(run_once(Context(world.services, "cli"), ["/rebalance_now"], out, tmp_path))
    assert "Confirm /rebalance_now" in out.getvalue() and out.getvalue().rstrip().endswith(UNCONFIRMED)
    assert world.venue.sent == []
    out = io.StringIO()
    run(run_once(Context(world.services, "cli"), ["/rebalance_now", "/confirm"], out, tmp_path))
    assert "Rebalance M20261124T090000 done" in out.getvalue() and UNCONFIRMED not in out.getvalue()
    assert world.venue.sent
