"""The fake Telegram's Bot API methods on in-memory state: chats, messages, edits, commands and callback answers.

Everything here works under one lock; telegram_world.py adds what people do and what can go wrong, and
telegram_api.py puts HTTP and a thread around it.
"""
from __future__ import annotations

import itertools
import re
import threading
import time
from typing import Any

from .telegram_html import check_caption, check_markup, check_text, render
from .telegram_json import ApiCall, Files, Json, SentMessage, as_bool, as_int, bad_request, chat_json
from .telegram_media import FileStore, album_kinds, file_fields, image_size

NOT_MODIFIED = ("message is not modified: specified new message content and reply markup are exactly the same "
                "as a current content and reply markup of the message")


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
        self._files = FileStore()
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
        upload = self._files.upload(p.get(what), files, what)
        data, file_id = self._files.file(p.get(what), upload, what, photo=what == "photo")
        return self._message_json(self._new(chat_id, what, p.get("caption"), p.get("parse_mode"), p,
                                            file_id=file_id, **file_fields(what, data, upload)))

    def _api_sendphoto(self, p: Json, files: Files) -> Any:
        return self._send_file(p, files, "photo")

    def _api_senddocument(self, p: Json, files: Files) -> Any:
        return self._send_file(p, files, "document")

    def _api_sendmediagroup(self, p: Json, files: Files) -> Any:
        chat_id = self._chat_id(p)
        self._gate("sendmediagroup", chat_id)
        kinds = album_kinds(p.get("media"))
        media: list[Json] = p["media"]
        resolved = []  # validate every item before creating any message: a failed album sends nothing
        for item, kind in zip(media, kinds):
            check_caption(item.get("caption"), item.get("parse_mode"), self.strict_ampersand)
            ref = item.get("media")
            resolved.append(self._files.file(ref, self._files.upload(ref, files, None), "media", kind == "photo"))
        group, common = f"album{next(self._album_ids)}", {**p, "reply_markup": None}  # albums take no keyboard
        sent = [self._new(chat_id, kind, item.get("caption"), item.get("parse_mode"), common, media_group_id=group,
                          file_id=file_id, **file_fields(kind, data))
                for item, kind, (data, file_id) in zip(media, kinds, resolved)]
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
