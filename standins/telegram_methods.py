"""The fake Telegram's Bot API: request parsing, Telegram's validation rules, JSON shapes and the methods.

Everything here works on in-memory state under one lock; telegram_api.py puts HTTP, threads and faults around it.
"""
from __future__ import annotations

import itertools
import json
import re
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

MAX_TEXT, MAX_CAPTION, MAX_CALLBACK_DATA, MAX_ALBUM = 4096, 1024, 64, 10
# PTB JSON-encodes every non-string value into the form field; these are the structured ones.
JSON_FIELDS = frozenset({"reply_markup", "commands", "allowed_updates", "media", "entities", "caption_entities",
                         "link_preview_options", "reply_parameters", "scope"})
BUTTON_ACTIONS = frozenset({"url", "callback_data", "web_app", "login_url", "switch_inline_query", "pay",
                            "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
                            "callback_game"})
Json = dict[str, Any]  # a decoded JSON object: request parameters, Bot API objects
NOT_MODIFIED = ("message is not modified: specified new message content and reply markup are exactly the same "
                "as a current content and reply markup of the message")


class ApiError(Exception):
    """A Bot API refusal: the HTTP status, Telegram's description and optional response parameters."""

    def __init__(self, status: int, description: str, parameters: Json | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.parameters = status, description, parameters

    def envelope(self) -> Json:
        """The error body exactly as Telegram sends it."""
        body: Json = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(reason: str) -> ApiError:
    """A 400 with Telegram's "Bad Request: " prefix (which PTB strips)."""
    return ApiError(400, f"Bad Request: {reason}")


def too_many_requests(retry_after: int) -> ApiError:
    """A 429 carrying parameters.retry_after, which PTB turns into RetryAfter."""
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})


@dataclass
class Upload:
    """One file part of a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class SentMessage:
    """A message the bot created; edits and deletion update it in place."""

    message_id: int
    chat_id: int
    kind: str  # "text" | "photo" | "document"
    text: str  # text, or the caption ("" if none) of a photo/document, as the bot sent it, markup included
    parse_mode: str | None = None
    reply_markup: Json | None = None
    disable_notification: bool = False
    media_group_id: str | None = None
    photo_bytes: bytes | None = None
    document_bytes: bytes | None = None
    file_name: str | None = None
    file_id: str | None = None
    date: int = 0
    edits: list[Json] = field(default_factory=list)
    deleted: bool = False


Files = dict[str, Upload]


@dataclass
class ApiCall:
    """One Bot API request as the server saw it, with the HTTP status it answered."""

    method: str
    params: Json
    time: float
    status: int = 200
    files: Files = field(default_factory=dict)


async def read_params(request: web.Request) -> tuple[Json, Files]:
    """Query string plus a form-urlencoded, multipart or JSON body, with PTB's JSON-in-form fields decoded."""
    params: Json = dict(request.query)
    files: Files = {}
    if request.content_type == "multipart/form-data":
        async for part in await request.multipart():
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.filename is not None:  # aiohttp reads a bytearray; keep bytes, as Upload says
                files[part.name] = Upload(part.filename, part.headers.get("Content-Type"), bytes(await part.read()))
            else:
                params[part.name] = await part.text()
    elif request.content_type == "application/json":
        body = await request.json() if request.body_exists else {}
        if not isinstance(body, dict):
            raise bad_request("request body must be a JSON object")
        params.update(body)
    elif request.body_exists:
        params.update(await request.post())
    for key in JSON_FIELDS & params.keys():
        if isinstance(params[key], str):
            try:
                params[key] = json.loads(params[key])
            except ValueError:
                what = "reply keyboard markup" if key == "reply_markup" else key
                raise bad_request(f"can't parse {what} JSON object") from None
    return params, files


def as_int(params: Json, key: str, default: int | None = None) -> int | None:
    """An integer parameter that may arrive as a string."""
    value = params.get(key)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"wrong parameter {key} in request") from None


def as_bool(value: Any) -> bool:
    """A boolean parameter that may arrive as "true"/"false"."""
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))


def utf16_len(text: str) -> int:
    """Entity offsets and lengths are counted in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


_TAG_ENTITY = {"b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
               "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "tg-spoiler": "spoiler",
               "span": "spoiler", "code": "code", "pre": "pre", "a": "text_link", "blockquote": "blockquote",
               "tg-emoji": "custom_emoji"}
_REFERENCE = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,8});")
_TAG_NAME = re.compile(r"[^\s>]*")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ATTRIBUTE = re.compile(r"""([^\s=]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"']+))?""")


def _entity_error(reason: str) -> ApiError:
    return bad_request(f"can't parse entities: {reason}")


def _decode_reference(name: str) -> str | None:
    if name in _NAMED:
        return _NAMED[name]
    code = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
    return chr(code) if 0 < code <= 0x10FFFF else None


def _unescape(value: str) -> str:
    return _REFERENCE.sub(lambda m: _decode_reference(m[1]) or m[0], value)


def _open_tag(name: str, rest: str, at: int) -> dict[str, str]:
    attrs = {m[1].lower(): _unescape((m[2] or "").strip("\"'")) for m in _ATTRIBUTE.finditer(rest.rstrip("/"))}
    if name == "span" and attrs.get("class") != "tg-spoiler":
        raise _entity_error(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
    return attrs


def _entity(name: str, attrs: dict[str, str], start: int, end: int, inner_text: str) -> Json:
    kind = _TAG_ENTITY[name]
    entity: Json = {"type": kind, "offset": start, "length": end - start}
    if kind == "text_link":
        entity["url"] = attrs.get("href") or inner_text  # Telegram uses the link text when href is missing
    elif kind == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    elif kind == "custom_emoji":
        entity["custom_emoji_id"] = attrs.get("emoji-id", "")
    elif kind == "code" and attrs.get("class", "").startswith("language-"):
        entity["language"] = attrs["class"].removeprefix("language-")
    return entity


def parse_html(text: str, strict_ampersand: bool = False) -> tuple[str, list[Json]]:
    """Telegram's HTML parse mode: the visible text and its entities, or the 400 the real server gives."""
    out: list[str] = []
    stack: list[tuple[str, dict[str, str], int, int]] = []  # tag, attributes, utf16 start, start in out
    entities: list[Json] = []
    position = i = 0
    while i < len(text):
        char = text[i]
        if char == "&":
            ref = _REFERENCE.match(text, i)
            decoded = _decode_reference(ref[1]) if ref else None
            if ref and decoded is not None:
                out.append(decoded)
                position += utf16_len(decoded)
                i = ref.end()
                continue
            if strict_ampersand:  # stricter than Telegram, which keeps a stray "&" literally
                raise _entity_error(f'"&" at byte offset {len(text[:i].encode())} starts no HTML entity')
        if char != "<":
            out.append(char)
            position += utf16_len(char)
            i += 1
            continue
        at, end = len(text[:i].encode()), text.find(">", i)
        if text.startswith("</", i):
            if not stack:
                raise _entity_error(f"Unexpected end tag at byte offset {at}")
            if end < 0:
                raise _entity_error(f"Unclosed end tag at byte offset {at}")
            name, attrs, start, first = stack.pop()
            found = text[i + 2:end].strip().lower()
            if found and found != name:
                raise _entity_error(f'Unmatched end tag at byte offset {at}, expected "</{name}>", '
                                    f'found "</{found}>"')
            if position > start:
                entities.append(_entity(name, attrs, start, position, "".join(out[first:])))
        else:
            # Like Telegram: the name runs to a space or ">", and is judged before the tag must close.
            name = _TAG_NAME.match(text, i + 1).group().lower()  # type: ignore[union-attr]
            if i + 1 + len(name) >= len(text):
                raise _entity_error(f"Unclosed start tag at byte offset {at}")
            if name not in _TAG_ENTITY:
                raise _entity_error(f'Unsupported start tag "{name}" at byte offset {at}')
            if end < 0:
                raise _entity_error(f"Unclosed start tag at byte offset {at}")
            stack.append((name, _open_tag(name, text[i + 1 + len(name):end], at), position, len(out)))
        i = end + 1
    if stack:
        raise _entity_error(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def render(text: str, parse_mode: str | None, entities: Any = None,
           strict_ampersand: bool = False) -> tuple[str, list[Json]]:
    """Visible text and entities for a text or caption under its parse_mode."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        return parse_html(text, strict_ampersand)
    if mode in ("", "markdown", "markdownv2"):  # Markdown is not checked; limits count its raw text
        return text, list(entities or [])
    raise bad_request("unsupported parse_mode")


def check_text(text: Any, parse_mode: str | None, strict_ampersand: bool = False) -> None:
    """Telegram's message text rules, counted on the visible text after entity parsing."""
    if not isinstance(text, str) or not text:
        raise bad_request("message text is empty")
    visible = render(text, parse_mode, None, strict_ampersand)[0].strip()
    if not visible:
        raise bad_request("message text is empty")
    if len(visible) > MAX_TEXT:
        raise bad_request("message is too long")


def check_caption(caption: Any, parse_mode: str | None, strict_ampersand: bool = False) -> None:
    """Telegram's caption rules: optional, at most 1024 visible characters."""
    if caption and len(render(str(caption), parse_mode, None, strict_ampersand)[0].strip()) > MAX_CAPTION:
        raise bad_request("message caption is too long")


def check_markup(markup: Any) -> Json | None:
    """Reject inline keyboards the real server rejects (notably callback_data over 64 bytes)."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    for button in (b for row in rows for b in row):
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
        data = button.get("callback_data")
        if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
            raise bad_request("BUTTON_DATA_INVALID")
        if not BUTTON_ACTIONS & button.keys():
            raise bad_request("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
    return markup


def button_data(markup: Json | None) -> list[str]:
    """The callback_data of every inline button a person could press."""
    rows = (markup or {}).get("inline_keyboard") or []
    return [b["callback_data"] for row in rows for b in row if "callback_data" in b]


_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"RIFF")


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height of an uploaded photo; refuse bytes that are not an image, as Telegram does."""
    if not data.startswith(_IMAGE_MAGIC):
        raise bad_request("IMAGE_PROCESS_FAILED")
    if data.startswith(_IMAGE_MAGIC[0]) and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk always comes first
        return width, height
    return 1280, 720  # other formats: the size is not needed for anything the fake checks


def user_json(user_id: int, first_name: str, is_bot: bool = False) -> Json:
    """A User as Telegram serialises it (is_bot is required by PTB)."""
    return {"id": user_id, "is_bot": is_bot, "first_name": first_name}


def chat_json(chat_id: int, chat_type: str, first_name: str = "Op") -> Json:
    """A Chat: private chats carry the person's name, groups a title."""
    chat: Json = {"id": chat_id, "type": chat_type}
    if chat_type == "private":
        chat["first_name"] = first_name
    else:
        chat["title"] = f"Chat {chat_id}"
    return chat


def message_json(msg: SentMessage, chat: Json, bot_user: Json) -> Json:
    """A bot message as the Bot API returns it: visible text plus entities, keyboard echoed, files described."""
    out: Json = {"message_id": msg.message_id, "date": msg.date, "chat": chat, "from": bot_user}
    if msg.text:
        visible, entities = render(msg.text, msg.parse_mode)
        key = "text" if msg.kind == "text" else "caption"
        out[key] = visible
        if entities:
            out["entities" if key == "text" else "caption_entities"] = entities
    if msg.reply_markup and "inline_keyboard" in msg.reply_markup:  # only inline keyboards are echoed
        out["reply_markup"] = msg.reply_markup
    if msg.media_group_id:
        out["media_group_id"] = msg.media_group_id
    if msg.edits:
        out["edit_date"] = msg.date
    file_ref = {"file_id": msg.file_id, "file_unique_id": f"u{msg.file_id}"}
    if msg.kind == "photo":
        width, height = image_size(msg.photo_bytes) if msg.photo_bytes else (1280, 720)
        out["photo"] = [{**file_ref, "width": width, "height": height, "file_size": len(msg.photo_bytes or b"")}]
    elif msg.kind == "document":
        out["document"] = {**file_ref, "file_name": msg.file_name, "file_size": len(msg.document_bytes or b"")}
    return out


CHAT_ACTIONS = frozenset({"typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
                          "upload_document", "choose_sticker", "find_location", "record_video_note",
                          "upload_video_note"})
ALBUM_TYPES = {"photo": "photo", "video": "document", "audio": "document", "document": "document"}
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")


class BotApiMethods:
    """The Bot API methods on in-memory state; each _api_<name> runs under self._lock and returns a result."""

    strict_ampersand = False  # True: also reject a bare "&" in HTML (real Telegram keeps it as a literal "&")

    def __init__(self, token: str, bot_username: str) -> None:
        self.token, self.bot_username = token, bot_username
        head = token.split(":", 1)[0]
        self.bot_user = {"id": int(head) if head.isdigit() else 1, "is_bot": True, "first_name": "iTradingBot",
                         "username": bot_username}
        self._lock = threading.RLock()  # re-entrant: wait_for predicates may read the fake again
        self._changed = threading.Condition(self._lock)
        self._sent: list[SentMessage] = []
        self._by_key: dict[tuple[int, int], SentMessage] = {}
        self._calls: list[ApiCall] = []
        self._updates: list[Json] = []
        self._chats: dict[int, Json] = {}
        self._last_message_id: dict[int, int] = {}
        self._files: dict[str, bytes | None] = {}
        self._file_ids = itertools.count(1)
        self._album_ids = itertools.count(1)
        self._open_callbacks: set[str] = set()
        self._answered: list[Json] = []
        self._commands: list[Json] = []

    def _gate(self, method: str, chat_id: int) -> None:
        """Hook for faults and flood control before a send; the server overrides it."""

    def _chat(self, chat_id: int, chat_type: str | None = None, first_name: str = "Op") -> Json:
        """The chat, created on first sight; a bot may message a chat nobody wrote in yet (lenient)."""
        if chat_type is not None or chat_id not in self._chats:
            guess = "private" if chat_id > 0 else ("supergroup" if str(chat_id).startswith("-100") else "group")
            self._chats[chat_id] = chat_json(chat_id, chat_type or guess, first_name)
        return self._chats[chat_id]

    def _next_message_id(self, chat_id: int) -> int:
        # One sequence per chat shared by people and the bot, like private chats on Telegram.
        self._last_message_id[chat_id] = self._last_message_id.get(chat_id, 0) + 1
        return self._last_message_id[chat_id]

    def _chat_id(self, params: Json) -> int:
        value = params.get("chat_id")
        if value in (None, ""):
            raise bad_request("chat_id is empty")
        try:
            chat_id = int(value)
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None
        self._chat(chat_id)
        return chat_id

    def _message_json(self, msg: SentMessage) -> Json:
        return message_json(msg, self._chats[msg.chat_id], self.bot_user)

    def _store(self, msg: SentMessage) -> SentMessage:
        self._sent.append(msg)
        self._by_key[(msg.chat_id, msg.message_id)] = msg
        self._changed.notify_all()
        return msg

    def _new(self, chat_id: int, kind: str, text: Any, parse_mode: Any, params: Json, **extra: Any) -> SentMessage:
        return self._store(SentMessage(self._next_message_id(chat_id), chat_id, kind, text or "", parse_mode,
                                       params.get("reply_markup"), as_bool(params.get("disable_notification")),
                                       date=int(time.time()), **extra))

    @staticmethod
    def _upload(ref: Any, files: Files, field_name: str | None) -> Upload | None:
        """The file part a field means: one named attach://<name> in its value, else one sent under the field."""
        if isinstance(ref, str) and ref.startswith("attach://"):
            upload = files.get(ref[len("attach://"):])
            if upload is None:
                raise bad_request("can't parse InputMedia: media not found" if field_name is None else
                                  "wrong file identifier/HTTP URL specified")
            return upload
        return None if field_name is None else files.get(field_name)

    def _file(self, ref: Any, upload: Upload | None, what: str, photo: bool) -> tuple[bytes | None, str]:
        """Bytes and file_id for an upload (sent or attached), a known file_id or a URL."""
        if upload is None and isinstance(ref, str) and ref in self._files:
            return self._files[ref], ref
        if upload is None and isinstance(ref, str) and ref.startswith(("http://", "https://")):
            data = None  # Telegram would download it; the fake keeps no bytes
        elif upload is None:
            raise bad_request(f"there is no {what} in the request" if ref is None else
                              "wrong file identifier/HTTP URL specified")
        else:
            data = upload.data
            if not data:
                raise bad_request("file must be non-empty")
            if photo:
                image_size(data)
        file_id = f"F{next(self._file_ids)}"
        self._files[file_id] = data
        return data, file_id

    def _api_getme(self, p: Json, files: Files) -> Any:
        return {**self.bot_user, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    def _api_deletewebhook(self, p: Json, files: Files) -> Any:
        if as_bool(p.get("drop_pending_updates")):
            self._updates.clear()
        return True

    def _api_setmycommands(self, p: Json, files: Files) -> Any:
        commands = p.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object" if not isinstance(commands, list)
                              else "too many commands")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND.fullmatch(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands = commands
        return True

    def _api_getmycommands(self, p: Json, files: Files) -> Any:
        return self._commands

    def _api_deletemycommands(self, p: Json, files: Files) -> Any:
        self._commands = []
        return True

    def _api_getchat(self, p: Json, files: Files) -> Any:
        # PTB 22.8 parses a ChatFullInfo, whose required fields go beyond id and type.
        gifts = dict.fromkeys(("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription",
                               "gifts_from_channels"), False)
        return {**self._chats[self._chat_id(p)], "accent_color_id": 0, "max_reaction_count": 11,
                "accepted_gift_types": gifts}

    def _api_sendchataction(self, p: Json, files: Files) -> Any:
        chat_id = self._chat_id(p)
        self._gate("sendchataction", chat_id)
        if p.get("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    def _api_sendmessage(self, p: Json, files: Files) -> Any:
        chat_id = self._chat_id(p)
        self._gate("sendmessage", chat_id)
        check_text(p.get("text"), p.get("parse_mode"), self.strict_ampersand)
        check_markup(p.get("reply_markup"))
        return self._message_json(self._new(chat_id, "text", p["text"], p.get("parse_mode"), p))

    def _send_file(self, p: Json, files: Files, what: str) -> Any:
        chat_id = self._chat_id(p)
        self._gate(f"send{what}", chat_id)
        check_caption(p.get("caption"), p.get("parse_mode"), self.strict_ampersand)
        check_markup(p.get("reply_markup"))
        upload = self._upload(p.get(what), files, what)
        data, file_id = self._file(p.get(what), upload, what, photo=what == "photo")
        extra = {"photo_bytes": data} if what == "photo" else {
            "document_bytes": data, "file_name": upload.filename if upload is not None else None}
        return self._message_json(self._new(chat_id, what, p.get("caption"), p.get("parse_mode"), p,
                                            file_id=file_id, **extra))

    def _api_sendphoto(self, p: Json, files: Files) -> Any:
        return self._send_file(p, files, "photo")

    def _api_senddocument(self, p: Json, files: Files) -> Any:
        return self._send_file(p, files, "document")

    def _api_sendmediagroup(self, p: Json, files: Files) -> Any:
        chat_id = self._chat_id(p)
        self._gate("sendmediagroup", chat_id)
        media = p.get("media")
        if media is None:
            raise bad_request('parameter "media" is required')
        if not isinstance(media, list) or not all(isinstance(item, dict) for item in media):
            raise bad_request("can't parse media JSON object")
        if not media or len(media) > MAX_ALBUM:
            raise bad_request("there are no messages to send" if not media else
                              "too many messages to send as an album")
        kinds = [item.get("type") for item in media]
        for kind in kinds:
            if kind not in ALBUM_TYPES:
                raise bad_request(f'can\'t parse InputMedia: type "{kind}" can\'t be used in sendMediaGroup')
        if "document" in kinds and set(kinds) != {"document"}:
            raise bad_request("document can't be mixed with other media types")
        resolved = []  # validate every item before creating any message: a failed album sends nothing
        for item in media:
            check_caption(item.get("caption"), item.get("parse_mode"), self.strict_ampersand)
            ref = item.get("media")
            resolved.append(self._file(ref, self._upload(ref, files, None), "media", photo=item["type"] == "photo"))
        group, common = f"album{next(self._album_ids)}", {**p, "reply_markup": None}  # albums take no keyboard
        sent = []
        for item, (data, file_id) in zip(media, resolved):
            kind = ALBUM_TYPES[item["type"]]
            extra = {"photo_bytes": data} if kind == "photo" else {"document_bytes": data}
            sent.append(self._new(chat_id, kind, item.get("caption"), item.get("parse_mode"), common,
                                  media_group_id=group, file_id=file_id, **extra))
        return [self._message_json(m) for m in sent]

    def _api_answercallbackquery(self, p: Json, files: Files) -> Any:
        query_id = str(p.get("callback_query_id", ""))
        if query_id not in self._open_callbacks:  # unknown, or answered already
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        self._open_callbacks.discard(query_id)
        self._answered.append({"callback_query_id": query_id, "text": p.get("text"),
                               "show_alert": as_bool(p.get("show_alert"))})
        return True

    def _find(self, p: Json, missing: str) -> SentMessage:
        msg = self._by_key.get((self._chat_id(p), as_int(p, "message_id", 0) or 0))
        if msg is None or msg.deleted:
            raise bad_request(missing)
        return msg

    def _edit(self, msg: SentMessage, method: str, changes: Json) -> Any:
        before = {key: getattr(msg, key) for key in changes}
        if before == changes:
            raise bad_request(NOT_MODIFIED)
        for key, value in changes.items():
            setattr(msg, key, value)
        msg.edits.append({"method": method, **changes})
        self._changed.notify_all()
        return self._message_json(msg)

    def _api_editmessagetext(self, p: Json, files: Files) -> Any:
        if p.get("inline_message_id"):
            return True  # inline messages are not modelled; Telegram answers True for them
        msg = self._find(p, "message to edit not found")
        if msg.kind != "text":
            raise bad_request("there is no text in the message to edit")
        check_text(p.get("text"), p.get("parse_mode"), self.strict_ampersand)
        # Omitting reply_markup removes the keyboard, as on Telegram.
        return self._edit(msg, "editMessageText", {"text": p["text"], "parse_mode": p.get("parse_mode"),
                                                   "reply_markup": check_markup(p.get("reply_markup"))})

    def _api_editmessagereplymarkup(self, p: Json, files: Files) -> Any:
        if p.get("inline_message_id"):
            return True
        msg = self._find(p, "message to edit not found")
        return self._edit(msg, "editMessageReplyMarkup", {"reply_markup": check_markup(p.get("reply_markup"))})

    def _api_deletemessage(self, p: Json, files: Files) -> Any:
        msg = self._find(p, "message to delete not found")
        msg.deleted = True
        self._changed.notify_all()
        return True
