"""The fake Telegram serves clients other than python-telegram-bot (raw HTTP as other libraries send it), and its
control API reports charts."""
from __future__ import annotations

import asyncio
import base64
import json

import aiohttp

from tests.test_telegram_fake import OP, control, fake, png, with_client  # noqa: F401  (fake is a fixture)


async def post_form(fake, method: str, fields: dict[str, str], uploads: dict[str, tuple[str, bytes]]) -> tuple:
    """A multipart request as any HTTP client builds it; (status, body)."""
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    for name, (filename, data) in uploads.items():
        form.add_field(name, data, filename=filename)
    async with aiohttp.ClientSession() as http, http.post(f"{fake.base_url}{fake.token}/{method}", data=form) as r:
        return r.status, await r.json()


def test_file_fields_may_name_an_attached_part_in_every_send(fake):
    chart, other = png(3, 2), png(2, 4)

    async def scenario():
        photo = await post_form(fake, "sendPhoto", {"chat_id": str(OP), "photo": "attach://chart"},
                                {"chart": ("equity.png", chart)})
        document = await post_form(fake, "sendDocument", {"chat_id": str(OP), "document": "attach://report"},
                                   {"report": ("report.csv", b"a,b\n1,2\n")})
        media = [{"type": "photo", "media": "attach://one", "caption": "one"},
                 {"type": "photo", "media": "attach://two"}]
        album = await post_form(fake, "sendMediaGroup", {"chat_id": str(OP), "media": json.dumps(media)},
                                {"one": ("1.png", chart), "two": ("2.png", other)})
        missing = await post_form(fake, "sendPhoto", {"chat_id": str(OP), "photo": "attach://nothing"}, {})
        return photo, document, album, missing
    photo, document, album, missing = asyncio.run(scenario())
    assert photo[0] == 200 and photo[1]["result"]["photo"][0]["width"] == 3
    assert document[0] == 200 and document[1]["result"]["document"]["file_name"] == "report.csv"
    assert album[0] == 200 and len(album[1]["result"]) == 2
    assert missing == (400, {"ok": False, "error_code": 400,
                             "description": "Bad Request: wrong file identifier/HTTP URL specified"})
    sent = fake.messages_to(OP)
    assert [(m.kind, m.photo_bytes or m.document_bytes) for m in sent] == [
        ("photo", chart), ("document", b"a,b\n1,2\n"), ("photo", chart), ("photo", other)]


def test_a_long_query_string_is_served_like_a_form(fake):
    text = "é" * 4000  # about 24 KB once percent-encoded: three times aiohttp's default request-line limit

    async def scenario():
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{fake.base_url}{fake.token}/sendMessage",
                                params={"chat_id": str(OP), "text": text}) as resp:
                return resp.status, await resp.json()
    status, body = asyncio.run(scenario())
    assert status == 200 and body["result"]["text"] == text
    assert fake.messages_to(OP)[-1].text == text


def test_the_control_api_lists_sent_charts_with_their_bytes(fake):
    chart = png(4, 3)

    async def scenario(bot):
        await bot.send_message(OP, "equity")
        await bot.send_photo(OP, chart, caption="equity chart")
    with_client(fake, scenario)
    sent = control(fake, "sent")["result"]
    calls = control(fake, "calls")["result"]
    assert [(m["kind"], m["text"]) for m in sent] == [("text", "equity"), ("photo", "equity chart")]
    assert base64.b64decode(sent[1]["photo_bytes"]) == chart
    [photo_call] = [c for c in calls if c["method"] == "sendPhoto"]
    assert base64.b64decode(photo_call["files"]["photo"]["data"]) == chart
