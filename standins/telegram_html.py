"""Telegram's text rules for the fake Bot API: HTML entity parsing (offsets in UTF-16 units, Telegram's own error
texts), the length limits of texts and captions, and inline keyboard checks."""
from __future__ import annotations

import re
from typing import Any

from .telegram_json import ApiError, Json, bad_request

MAX_TEXT, MAX_CAPTION, MAX_CALLBACK_DATA = 4096, 1024, 64
BUTTON_ACTIONS = frozenset({"url", "callback_data", "web_app", "login_url", "switch_inline_query", "pay",
                            "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
                            "callback_game"})


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
