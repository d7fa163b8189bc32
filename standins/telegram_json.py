"""The fake Telegram's wire: Bot API errors, the records it keeps (messages, calls, uploads), request parsing and
the JSON shapes of users and chats."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

Json = dict[str, Any]  # a decoded JSON object: request parameters, Bot API objects
# PTB JSON-encodes every non-string value into the form field; these are the structured ones.
JSON_FIELDS = frozenset({"reply_markup", "commands", "allowed_updates", "media", "entities", "caption_entities",
                         "link_preview_options", "reply_parameters", "scope"})


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
