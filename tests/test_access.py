"""Who may do what, through the real python-telegram-bot client and the local fake Bot API.

Strangers, viewers and admins against every command of the table, and every confirmation button pressed
by the wrong person, replayed, forged, late and twice: only the asking admin's first, timely confirm acts.
"""
from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import timedelta

from handlers.commands import COMMANDS, Role
from handlers.telegram_front import REFUSAL
from handlers.telegram_guard import Limits
from tests.figures import count
from tests.test_telegram_bot import ADMIN, STRANGER, VIEWER, config, run_with_bot, text_to, wait
from tests.test_telegram_bot import fake, world  # noqa: F401  (fixtures: the fake Bot API; a bot after 09:30)
from standins.telegram_api import FakeTelegram

ADMIN2 = 1003  # a second admin: may confirm their own requests, never another admin's
# An argument where a command needs one to do its work; every other command is sent bare.
SAMPLE_ARGS = {"chart": "equity", "set": "topn=5", "backtest": "topn=3", "ranking": "5", "history": "3",
               "trades": "3"}
ROLES = {"stranger": STRANGER, "viewer": VIEWER, "admin": ADMIN}
NOT_ADMIN = "is for admins only"


def line(name: str) -> str:
    return f"/{name} {SAMPLE_ARGS.get(name, '')}".strip()


def expected_refusal(role: str, needed: Role) -> str | None:
    """The refusal this role must get for a command needing `needed`, or None when it must be answered."""
    if role == "stranger" and needed is not Role.ANYONE:
        return REFUSAL
    if role == "viewer" and needed is Role.ADMIN:
        return NOT_ADMIN
    return None


def test_strangers_viewers_and_admins_against_every_command(world, fake):
    cases = [(role, user, c.name, c.role) for role, user in ROLES.items() for c in COMMANDS]
    cases += [(role, user, "frobnicate", Role.VIEWER) for role, user in ROLES.items()]  # unknown: refused alike
    chat = {i: -3000 - i for i in range(len(cases))}  # one group per case: its messages are its answer
    # A stranger hears one refusal (the first), then silence for ten minutes.
    strangers = [i for i, (role, _, name, needed) in enumerate(cases) if expected_refusal(role, needed) == REFUSAL]
    silent = set(strangers[1:])

    async def scenario():
        for i, (_, user, name, _) in enumerate(cases):
            fake.send_text(user, line(name), chat_id=chat[i], chat_type="group")
        for i in range(len(cases)):
            if i not in silent:
                await wait(fake, lambda m, c=chat[i]: m.chat_id == c, timeout=30)
        # No waiting for a second message: the bot stops after this, and its shut-down lets every update
        # it took run to the end (PTB's Application.stop), so whatever a handler sends is in by then.
        # (A follow-up command would not do: updates are handled concurrently, even in one chat.)

    topn = world.services.params.topn
    # Every case's group is allowed, and nobody is rate limited: this test is about roles.
    cfg = dataclasses.replace(config(fake), allowed_chats=frozenset({ADMIN, VIEWER, *chat.values()}),
                              limits=Limits(burst=len(cases), queue=len(cases)))
    run_with_bot(world, fake, scenario, cfg)
    refused = 0
    for i, (role, _, name, needed) in enumerate(cases):
        answer = fake.messages_to(chat[i])
        refusal = expected_refusal(role, needed)
        if name == "frobnicate" and role != "stranger":
            assert "unknown command" in answer[0].text
        elif i in silent:
            assert answer == [], (role, name)
            refused += 1
        elif refusal is not None:
            # One short refusal and nothing else: no data, no chart, no buttons.
            assert len(answer) == 1 and refusal in answer[0].text and answer[0].reply_markup is None, (role, name)
            assert answer[0].kind == "text" and len(answer[0].text) < 80
            refused += 1
        else:
            first = answer[0].text
            assert REFUSAL not in first and NOT_ADMIN not in first and "internal error" not in first, (role, name)
            if name == "rebalance_now":
                assert f"Confirm /{name}" in first and answer[0].reply_markup, name
            if name == "liquidate":  # the account holds only cash here: nothing to confirm
                assert "Nothing to sell" in first and not answer[0].reply_markup, name
    count("unauthorised attempts refused (commands)", refused)
    assert refused == sum(expected_refusal(r, need) is not None for r, _, n, need in cases if n != "frobnicate") + 1
    # Only the admin's /set applied; no trade ran: confirmable commands wait for a button nobody pressed.
    assert world.services.params.topn == 5 != topn
    assert [c["who"] for c in world.store.param_changes()] == [f"telegram:{ADMIN}"]
    assert world.venue.sent == []


async def until(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def runs_by_kind(world) -> dict[str, int]:
    runs = dict(world.db.execute("SELECT kind, COUNT(*) FROM rebalances GROUP BY kind").fetchall())
    dust = world.db.execute("SELECT COUNT(DISTINCT slot) FROM orders WHERE leg = 'D'").fetchone()[0]
    return {**runs, **({"dust": dust} if dust else {})}


def test_every_button_acts_once_and_only_for_the_admin_who_asked(world, fake: FakeTelegram):
    confirmable = [c.name for c in COMMANDS if c.preview is not None]
    assert confirmable, "the table has confirmable commands"
    cfg = dataclasses.replace(config(fake), admins=frozenset({ADMIN, ADMIN2}))
    verdicts: list[str] = []
    strangers_answered: list[int] = []

    async def press(user: int, message, data: str, forged: bool = False) -> str:
        answered = len(fake.answered_callbacks)
        fake.press_button(user, message.message_id, data, chat_id=ADMIN, forged=forged)
        if user == STRANGER and strangers_answered:  # one answer per stranger per 10 minutes, then silence
            await asyncio.sleep(0.2)
            verdicts.append("(ignored)")
            return "(ignored)"
        strangers_answered.extend([user] if user == STRANGER else [])
        await until(lambda: len(fake.answered_callbacks) > answered)
        verdict = fake.answered_callbacks[answered].get("text") or ""
        verdicts.append(verdict)
        return verdict

    async def ask(name: str):
        before = len(fake.messages_to(ADMIN))
        fake.send_text(ADMIN, f"/{name}")
        await until(lambda: any(f"Confirm /{name}" in m.text for m in fake.messages_to(ADMIN)[before:]))
        message = next(m for m in fake.messages_to(ADMIN)[before:] if f"Confirm /{name}" in m.text)
        row = message.reply_markup["inline_keyboard"][0]
        return message, row[0]["callback_data"], row[1]["callback_data"]

    async def scenario():
        for name in confirmable:
            runs = runs_by_kind(world)
            message, ok, no = await ask(name)
            # Replayed by everyone else, in the asking admin's chat: nobody else's press acts.
            assert await press(STRANGER, message, ok) in ("Not authorised.", "(ignored)")
            assert await press(VIEWER, message, ok) == "Not authorised."
            assert await press(STRANGER, message, no) == "(ignored)"
            assert await press(ADMIN2, message, ok) == "Only the admin who asked can confirm."
            assert await press(ADMIN2, message, no) == "Only the admin who asked can confirm."
            # Forged data (a modified client can send any): unknown tokens, a cancel's token with 'ok'.
            for data in ("ok:", "ok", "", "ok:" + "A" * 60, "ok:../" + ok[3:], no.replace("no:", "ok:") + "x"):
                assert "unknown" in await press(ADMIN, message, data, forged=True)
            world.clock.advance(timedelta(seconds=61))
            # Expired: the buttons are taken off the message; data sent anyway is refused.
            await until(lambda: not fake.messages_to(ADMIN)[-1].reply_markup)
            assert (await press(ADMIN, message, ok, forged=True)).startswith("Expired")
            assert runs_by_kind(world) == runs  # nothing ran so far
            # Cancelled: the confirm on the same message no longer acts (before the run: /dust leaves nothing to ask).
            message, ok, no = await ask(name)
            assert await press(ADMIN, message, no) == "Cancelled"
            assert await press(ADMIN, message, ok, forged=True) == "Already handled."
            await wait(fake, text_to(ADMIN, f"/{name} cancelled."))
            # In time: the first press runs it, the second (and a cancel after it) are refused.
            message, ok, no = await ask(name)
            assert await press(ADMIN, message, ok) == "Running…"
            # The keyboard is gone once pressed; a double tap or a modified client still sends the data.
            assert await press(ADMIN, message, ok, forged=True) == "Already handled."
            assert await press(ADMIN, message, no, forged=True) == "Already handled."
            await until(lambda: runs_by_kind(world).get(kind(name), 0) == runs.get(kind(name), 0) + 1, 30)
            world.clock.advance(timedelta(seconds=5))  # the next request is a new one, not a repeat
        # The bot stops after this; its shut-down lets every press it took finish, so a late run is counted.

    asyncio.run(world.services.rebalance_now())  # holdings, so /liquidate has something to sell
    before = runs_by_kind(world)
    run_with_bot(world, fake, scenario, cfg)
    after = runs_by_kind(world)
    assert {k: after[k] - before.get(k, 0) for k in after} == {kind(n): 1 for n in confirmable}
    refused = sum(v not in ("Running…", "Cancelled") for v in verdicts)
    count("unauthorised attempts refused (buttons)", refused)
    assert refused == len(confirmable) * 15
    assert sum(a.get("text") == "Not authorised." for a in fake.answered_callbacks) == 1 + len(confirmable)


def kind(command: str) -> str:
    """The journal kind a confirmed command records."""
    return {"rebalance_now": "manual", "liquidate": "liquidate", "dust": "dust"}[command]
