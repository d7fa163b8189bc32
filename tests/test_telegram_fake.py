"""The fake Telegram, driven over real HTTP by the real python-telegram-bot 22.8 client."""
from __future__ import annotations

import asyncio
import html
import json
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zlib
from datetime import timedelta

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto
from telegram.error import (BadRequest, Conflict, EndPointNotFound, Forbidden, InvalidToken, NetworkError,
                            RetryAfter)
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler

from standins.telegram_api import FakeTelegram

# PTB 22.8 warns inside RetryAfter.__init__ itself, not only when retry_after is read.
pytestmark = pytest.mark.filterwarnings("ignore:.*attribute `retry_after`:telegram.warnings.PTBDeprecationWarning")
OP = 42
KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("Rebalance", callback_data="rebalance")]])


@pytest.fixture
def fake():
    with FakeTelegram() as server:
        yield server


def png(width: int, height: int) -> bytes:
    """A real, decodable RGB PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\x10\x80\xf0" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


async def echo(update, context):
    await update.message.reply_text(f"<b>echo</b> {html.escape(' '.join(context.args))}", parse_mode="HTML",
                                    reply_markup=KEYBOARD)


async def on_button(update, context):
    query = update.callback_query
    await query.answer(text="working")
    await query.edit_message_text(f"pressed {query.data} by {query.from_user.id}")


def with_bot(fake, scenario, errors: list | None = None):
    """Run scenario(app) while a real PTB Application long-polls the fake (manual lifecycle)."""
    async def main():
        app = ApplicationBuilder().token(fake.token).base_url(fake.base_url).build()
        app.add_handler(CommandHandler("echo", echo))
        app.add_handler(CallbackQueryHandler(on_button))
        async with app:
            await app.start()
            await app.updater.start_polling(timeout=1, error_callback=None if errors is None else errors.append)
            try:
                return await scenario(app)
            finally:
                await app.updater.stop()
                await app.stop()
    return asyncio.run(main())


def with_client(fake, scenario):
    """Run scenario(bot) with a bare PTB Bot (its initialize() calls getMe)."""
    async def main():
        async with Bot(fake.token, base_url=fake.base_url) as bot:
            return await scenario(bot)
    return asyncio.run(main())


async def until(fake, predicate, timeout: float = 5.0):
    # wait_for blocks, so keep it off the loop the bot runs on
    return await asyncio.to_thread(fake.wait_for, predicate, timeout)


async def eventually(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def seconds(err: RetryAfter) -> float:
    value = err.retry_after  # an int, or a timedelta under PTB_TIMEDELTA=true
    return value.total_seconds() if isinstance(value, timedelta) else value


def test_a_command_is_answered_once_and_the_reply_recorded(fake):
    async def scenario(app):
        first = fake.send_text(OP, "/echo BTC <up>")
        await until(fake, lambda m: "BTC" in m.text)
        fake.send_text(OP, "/echo two")
        await until(fake, lambda m: "two" in m.text)  # updates are handled in order: a re-delivery would show
        return first
    first = with_bot(fake, scenario)
    replies = fake.messages_to(OP)
    assert [m.text for m in replies] == ["<b>echo</b> BTC &lt;up&gt;", "<b>echo</b> two"]
    assert replies[0].parse_mode == "HTML" and replies[0].kind == "text" and not replies[0].disable_notification
    assert replies[0].reply_markup == {"inline_keyboard": [[{"text": "Rebalance", "callback_data": "rebalance"}]]}
    offsets = [c.params.get("offset") for c in fake.calls if c.method == "getUpdates"]
    assert offsets[0] == "0" and str(first + 1) in offsets
    assert [c.method for c in fake.calls[:2]] == ["getMe", "deleteWebhook"]


def test_a_group_command_counts_only_when_addressed_to_this_bot(fake):
    async def scenario(app):
        fake.send_text(7, "/echo@itradingbot_test hi", chat_id=-100555, chat_type="supergroup")
        fake.send_text(7, "/echo@someone_else_bot no", chat_id=-100555, chat_type="supergroup")
        fake.send_text(7, "/echo@itradingbot_test end", chat_id=-100555, chat_type="supergroup")
        await until(fake, lambda m: "end" in m.text)
    with_bot(fake, scenario)
    assert [m.text for m in fake.messages_to(-100555)] == ["<b>echo</b> hi", "<b>echo</b> end"]


def test_a_button_press_reaches_the_callback_handler(fake):
    async def scenario(app):
        fake.send_text(OP, "/echo card")
        card = await until(fake, lambda m: m.chat_id == OP)
        with pytest.raises(ValueError, match="no button"):
            fake.press_button(OP, card.message_id, "sell-everything")
        with pytest.raises(ValueError, match="no message"):
            fake.press_button(OP, card.message_id + 100, "rebalance")
        fake.press_button(OP, card.message_id, "rebalance")
        edited = await until(fake, lambda m: m.message_id == card.message_id and m.edits)
        with pytest.raises(BadRequest, match="Query is too old"):  # each query is answered once
            await app.bot.answer_callback_query(fake.answered_callbacks[0]["callback_query_id"])
        return edited
    edited = with_bot(fake, scenario)
    assert edited.text == f"pressed rebalance by {OP}" and edited.reply_markup is None  # the edit dropped it
    assert edited.edits == [{"method": "editMessageText", "text": edited.text, "parse_mode": None,
                             "reply_markup": None}]
    assert [(a["text"], a["show_alert"]) for a in fake.answered_callbacks] == [("working", False)]
    assert [c.method for c in fake.calls if "allback" in c.method or c.method.startswith("edit")] == [
        "answerCallbackQuery", "editMessageText", "answerCallbackQuery"]
    with pytest.raises(ValueError):
        fake.press_button(OP, edited.message_id, "rebalance")  # the keyboard is gone


def test_get_updates_confirms_by_offset_and_long_polls(fake):
    async def scenario(bot):
        first = fake.send_text(OP, "hello")
        fake.send_text(OP, "second")
        fake.send_text(OP, "third")
        unconfirmed = [u.update_id for u in await bot.get_updates(offset=0, timeout=0)]
        limited = await bot.get_updates(offset=first, limit=2, timeout=0)
        after = [u.message.text for u in await bot.get_updates(offset=first + 1, timeout=0)]
        confirmed = [u.message.text for u in await bot.get_updates(offset=0, timeout=0)]
        started = time.monotonic()
        empty = await bot.get_updates(offset=first + 3, timeout=1)
        waited = time.monotonic() - started
        threading.Timer(0.3, fake.send_text, (OP, "late")).start()
        started = time.monotonic()
        late = await bot.get_updates(offset=first + 3, timeout=5)
        return (first, unconfirmed, len(limited), after, confirmed, empty, waited, late,
                time.monotonic() - started)
    first, unconfirmed, limited, after, confirmed, empty, waited, late, woke = with_client(fake, scenario)
    assert unconfirmed == [first, first + 1, first + 2] and limited == 2
    assert after == ["second", "third"] and confirmed == ["second", "third"]  # "hello" was confirmed
    assert empty == () and 0.9 <= waited < 2.0
    assert [u.message.text for u in late] == ["late"] and woke < 1.0


def test_set_my_commands_is_recorded_and_validated(fake):
    async def scenario(bot):
        await bot.set_my_commands([("status", "Show the portfolio"), ("echo", "Echo back")])
        listed = await bot.get_my_commands()
        with pytest.raises(BadRequest, match="Bot_command_invalid"):
            await bot.set_my_commands([("Status", "capitals are refused")])
        return listed
    listed = with_client(fake, scenario)
    assert fake.commands == [{"command": "status", "description": "Show the portfolio"},
                             {"command": "echo", "description": "Echo back"}]
    assert [c.command for c in listed] == ["status", "echo"]


def test_photos_and_documents_keep_their_bytes(fake):
    chart = png(4, 3)

    async def scenario(bot):
        photo = await bot.send_photo(OP, chart, caption="<b>equity</b>", parse_mode="HTML")
        await bot.send_photo(OP, photo.photo[-1].file_id)  # re-sending by file_id, as Telegram allows
        with pytest.raises(BadRequest, match="Image_process_failed"):
            await bot.send_photo(OP, b"not an image at all")
        await bot.send_document(OP, b"a,b\n1,2\n", filename="report.csv")
        return photo
    photo = with_client(fake, scenario)
    assert (photo.photo[-1].width, photo.photo[-1].height) == (4, 3)
    assert photo.caption == "equity" and photo.caption_entities[0].type == "bold"
    first, again, doc = fake.messages_to(OP)
    assert first.kind == "photo" and first.photo_bytes == chart and first.text == "<b>equity</b>"
    assert again.photo_bytes == chart
    assert doc.kind == "document" and doc.document_bytes == b"a,b\n1,2\n" and doc.file_name == "report.csv"
    assert fake.wait_for_call("sendPhoto").files["photo"].data == chart


def test_a_media_group_becomes_one_message_per_item(fake):
    one, two = png(2, 2), png(3, 5)

    async def scenario(bot):
        album = await bot.send_media_group(OP, [InputMediaPhoto(one, caption="one"), InputMediaPhoto(two)])
        with pytest.raises(BadRequest, match="Too many messages to send as an album"):
            await bot.send_media_group(OP, [InputMediaPhoto(one) for _ in range(11)])
        return album
    album = with_client(fake, scenario)
    assert len(album) == 2 and album[0].media_group_id == album[1].media_group_id is not None
    sent = fake.sent  # the refused album sent nothing
    assert [(m.kind, m.photo_bytes, m.text) for m in sent] == [("photo", one, "one"), ("photo", two, "")]
    assert sent[0].media_group_id == sent[1].media_group_id == album[0].media_group_id


REFUSED = [
    (dict(text="x" * 4097), "Message is too long"),
    (dict(text="<b>" + "&lt;" * 4097 + "</b>", parse_mode="HTML"), "Message is too long"),
    (dict(text="  \n "), "Message text is empty"),
    (dict(text="<blink>hi</blink>", parse_mode="HTML"),
     "Can't parse entities: unsupported start tag \"blink\" at byte offset 0"),
    (dict(text="<b>open", parse_mode="HTML"),
     "Can't parse entities: can't find end tag corresponding to start tag \"b\""),
    (dict(text="<b><i>x</b></i>", parse_mode="HTML"),
     "Can't parse entities: unmatched end tag at byte offset 7, expected \"</i>\", found \"</b>\""),
    (dict(text="1 < 2", parse_mode="HTML"), "Can't parse entities: unsupported start tag \"\" at byte offset 2"),
    (dict(text="ok", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="d" * 65)]])),
     "Button_data_invalid"),
]
ACCEPTED = [
    dict(text="x" * 4096),
    dict(text="<b>" + "&lt;" * 4096 + "</b>", parse_mode="HTML"),  # 4096 visible characters
    dict(text='P&L <i>today</i> <a href="https://x.test/?a=1&amp;b=2">link</a> <tg-spoiler>s</tg-spoiler>',
         parse_mode="HTML"),
    dict(text="ok", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="d" * 64)]])),
]


def test_telegram_limits_raise_the_bad_requests_ptb_predicts(fake):
    async def scenario(bot):
        refused = []
        for kwargs, _ in REFUSED:
            with pytest.raises(BadRequest) as err:
                await bot.send_message(OP, **kwargs)
            refused.append(str(err.value))
        with pytest.raises(BadRequest) as caption:
            await bot.send_photo(OP, png(1, 1), caption="c" * 1025)
        accepted = [await bot.send_message(OP, **kwargs) for kwargs in ACCEPTED]
        fake.strict_ampersand = True  # opt-in: stricter than Telegram about a stray "&"
        with pytest.raises(BadRequest, match="starts no html entity"):
            await bot.send_message(OP, "P&L", parse_mode="HTML")
        return refused, str(caption.value), accepted
    refused, caption, accepted = with_client(fake, scenario)
    assert refused == [message for _, message in REFUSED]
    assert caption == "Message caption is too long"
    assert len(fake.sent) == len(ACCEPTED)
    assert accepted[2].text == "P&L today link s"
    assert [(e.type, e.offset, e.length) for e in accepted[2].entities] == [
        ("italic", 4, 5), ("text_link", 10, 4), ("spoiler", 15, 1)]
    assert accepted[2].entities[1].url == "https://x.test/?a=1&b=2"
    assert [c.status for c in fake.calls if c.method == "sendMessage"][:len(REFUSED)] == [400] * len(REFUSED)


def test_flood_control_and_blocking(fake):
    async def scenario(bot):
        fake.flood(OP, retry_after=3, times=2)
        waits = []
        for _ in range(2):
            with pytest.raises(RetryAfter) as err:
                await bot.send_message(OP, "x")
            waits.append(seconds(err.value))
        await bot.send_message(7, "another chat is not flooded")
        await bot.send_message(OP, "flood over")
        fake.per_chat_limit(2)
        await bot.send_message(OP, "1")
        await bot.send_message(OP, "2")
        with pytest.raises(RetryAfter) as burst:
            await bot.send_message(OP, "3")
        await bot.send_message(7, "other chats have their own budget")
        fake.per_chat_limit(None)
        fake.block(OP)
        with pytest.raises(Forbidden) as blocked:
            await bot.send_message(OP, "hello?")
        with pytest.raises(Forbidden):
            await bot.send_chat_action(OP, "typing")
        fake.unblock(OP)
        await bot.send_message(OP, "welcome back")
        return waits, seconds(burst.value), str(blocked.value)
    waits, burst, blocked = with_client(fake, scenario)
    assert waits == [3, 3] and burst == 1
    assert blocked == "Forbidden: bot was blocked by the user"
    assert [m.text for m in fake.messages_to(OP)] == ["flood over", "1", "2", "welcome back"]
    flooded = [c for c in fake.calls if c.status == 429]
    assert len(flooded) == 3


def test_a_conflict_reaches_the_pollers_error_callback_and_clears(fake):
    errors: list = []

    async def scenario(app):
        fake.conflict(True)
        await eventually(lambda: any(isinstance(e, Conflict) for e in errors))
        fake.conflict(False)
        fake.send_text(OP, "/echo polling again")
        return await until(fake, lambda m: "polling again" in m.text, timeout=8)
    assert with_bot(fake, scenario, errors).chat_id == OP
    assert "only one bot instance" in str(next(e for e in errors if isinstance(e, Conflict)))


def test_a_second_poller_terminates_the_first(fake):
    async def scenario(bot):
        first = asyncio.create_task(bot.get_updates(timeout=3))
        await asyncio.sleep(0.2)
        async with Bot(fake.token, base_url=fake.base_url) as other:
            await other.get_updates(timeout=0)
        with pytest.raises(Conflict):
            await first
    with_client(fake, scenario)


def test_an_outage_is_a_network_error_and_the_bot_recovers(fake):
    errors: list = []

    async def scenario(app):
        fake.down(True)
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await app.bot.send_message(OP, "x")
        await eventually(lambda: any(isinstance(e, NetworkError) for e in errors))
        fake.down(False)
        fake.send_text(OP, "/echo after the outage")
        return await until(fake, lambda m: "after the outage" in m.text, timeout=8)
    assert with_bot(fake, scenario, errors).chat_id == OP


def test_refused_connections_until_restored_on_the_same_port(fake):
    port = fake.port

    async def scenario(bot):
        await asyncio.to_thread(fake.refuse_connections, True)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((fake.host, port), timeout=1).close()
        with pytest.raises(NetworkError) as err:
            await bot.send_message(OP, "x")
        await asyncio.to_thread(fake.refuse_connections, False)
        return str(err.value), await bot.send_message(OP, "back")
    error, back = with_client(fake, scenario)
    assert "httpx." in error and back.text == "back" and fake.port == port


def test_latency_wrong_token_and_unknown_methods(fake):
    fake.latency(0.3)
    started = time.monotonic()
    with_client(fake, lambda bot: bot.get_me())
    assert time.monotonic() - started >= 0.3
    fake.latency(0)
    with pytest.raises(InvalidToken):
        asyncio.run(Bot("999:WRONG", base_url=fake.base_url).initialize())
    with pytest.raises(EndPointNotFound):
        with_client(fake, lambda bot: bot.do_api_request("fooBar"))
    answered = [(c.method, c.status) for c in fake.calls]
    assert ("getMe", 401) in answered and answered[-1] == ("fooBar", 404)


def test_edits_deletes_and_get_chat(fake):
    async def scenario(bot):
        msg = await bot.send_message(OP, "v1", reply_markup=KEYBOARD)
        with pytest.raises(BadRequest, match="Message is not modified"):
            await bot.edit_message_text("v1", OP, msg.message_id, reply_markup=KEYBOARD)
        await bot.edit_message_reply_markup(OP, msg.message_id)
        await bot.delete_message(OP, msg.message_id)
        with pytest.raises(BadRequest, match="Message to delete not found"):
            await bot.delete_message(OP, msg.message_id)
        return await bot.get_chat(OP)
    chat = with_client(fake, scenario)
    assert (chat.id, chat.type) == (OP, "private")
    [msg] = fake.messages_to(OP)
    assert msg.deleted and msg.reply_markup is None and msg.text == "v1"
    assert msg.edits == [{"method": "editMessageReplyMarkup", "reply_markup": None}]


def test_wait_for_times_out_with_what_was_sent(fake):
    with_client(fake, lambda bot: bot.send_message(OP, "hello there"))
    with pytest.raises(TimeoutError, match="hello there"):
        fake.wait_for(lambda m: m.text == "goodbye", timeout=0.2)


def control(fake, path: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{fake.control_url}/{path}", data=data,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def test_the_control_api_drives_a_bot_in_another_process(fake):
    async def scenario(app):
        call = asyncio.to_thread
        await call(control, fake, "send_text", {"user_id": OP, "text": "/echo remote"})
        reply = await until(fake, lambda m: "remote" in m.text)
        sent = (await call(control, fake, f"sent?chat_id={OP}"))["result"]
        await call(control, fake, "press_button", {"user_id": OP, "message_id": reply.message_id,
                                                   "data": "rebalance"})
        await until(fake, lambda m: m.edits)
        with pytest.raises(urllib.error.HTTPError) as missing:
            await call(control, fake, "press_button", {"user_id": OP, "message_id": 999, "data": "x"})
        missing.value.close()
        faults = (await call(control, fake, "faults", {"block": [OP], "latency": 0.01}))["result"]
        with pytest.raises(Forbidden):
            await app.bot.send_message(OP, "x")
        await call(control, fake, "faults", {"unblock": OP, "latency": 0})
        await call(control, fake, "faults", {"refuse_for": 0.5})
        with pytest.raises(NetworkError):
            await app.bot.send_message(OP, "while refusing")
        await asyncio.sleep(0.7)
        await app.bot.send_message(OP, "listening again")
        return sent, faults, (await call(control, fake, "calls"))["result"]
    sent, faults, calls = with_bot(fake, scenario)
    assert [(m["text"], m["reply_markup"]["inline_keyboard"][0][0]["callback_data"]) for m in sent] == [
        ("<b>echo</b> remote", "rebalance")]
    assert faults["blocked"] == [OP] and faults["latency"] == 0.01
    methods = [c["method"] for c in calls]
    assert {"sendMessage", "answerCallbackQuery", "editMessageText"} <= set(methods)
    assert fake.messages_to(OP)[-1].text == "listening again"


def test_raw_envelopes_and_a_json_body(fake):
    def post(path: str, body: bytes | None, ctype: str = "application/json") -> tuple[int, dict]:
        request = urllib.request.Request(fake.base_url + path, data=body, headers={"Content-Type": ctype})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as err:
            with err:
                return err.code, json.loads(err.read())
    status, sent = post(f"{fake.token}/sendMessage", json.dumps({"chat_id": OP, "text": "json"}).encode())
    assert status == 200 and sent["ok"] is True and sent["result"]["text"] == "json"
    assert sent["result"]["from"]["is_bot"] is True and sent["result"]["chat"] == {
        "id": OP, "type": "private", "first_name": "Op"}
    assert post(f"{fake.token}/noSuchMethod", b"{}") == (404, {"ok": False, "error_code": 404,
                                                              "description": "Not Found"})
    assert post("1:BAD/getMe", None) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    fake.flood(None, retry_after=5, times=1)
    assert post(f"{fake.token}/SENDMESSAGE", b"chat_id=1&text=hi", "application/x-www-form-urlencoded") == (
        429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 5",
              "parameters": {"retry_after": 5}})


def test_runs_standalone_and_prints_its_base_url():
    command = [sys.executable, "-m", "standins.telegram_api", "--port", "0", "--token", "77:CLI"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            base_url = proc.stdout.readline().strip()
            assert re.fullmatch(r"http://127\.0\.0\.1:\d+/bot", base_url)
            request = urllib.request.Request(f"{base_url}77:CLI/getMe", data=b"")
            with urllib.request.urlopen(request, timeout=5) as response:
                me = json.loads(response.read())["result"]
        finally:
            proc.terminate()
        errors = proc.communicate(timeout=5)[1]
        assert proc.returncode == 0
    assert (me["id"], me["username"], me["is_bot"]) == (77, "itradingbot_test", True)
    assert errors == ""  # no runpy warning about the module being imported before it ran
