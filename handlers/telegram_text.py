"""Telegram's text rules (pure): HTML-escaped, at most 4096 characters a message, split on line boundaries."""
from __future__ import annotations

import html

MAX_TEXT = 4096
MAX_CAPTION = 1024
_PRE = ("<pre>", "</pre>")


def html_chunks(text: str, monospace: bool = False, limit: int = MAX_TEXT) -> list[str]:
    """Escape and split: every chunk is valid HTML on its own and within the limit (tags included)."""
    wrap = _PRE if monospace else ("", "")
    room = limit - len(wrap[0]) - len(wrap[1])
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in _pieces(text, room):
        cost = len(line) + (1 if current else 0)
        if current and size + cost > room:
            chunks.append("\n".join(current))
            current, size = [], 0
            cost = len(line)
        current.append(line)
        size += cost
    if current or not chunks:
        chunks.append("\n".join(current))
    return [f"{wrap[0]}{c}{wrap[1]}" if c else "(empty)" for c in chunks]


def _pieces(text: str, room: int) -> list[str]:
    """Escaped lines; a single line longer than a whole message is cut, never an entity in half."""
    out = []
    for raw in text.splitlines() or [""]:
        line = html.escape(raw, quote=False)
        while len(line) > room:
            cut = room
            amp = line.rfind("&", max(0, cut - 6), cut)  # &amp; &lt; &gt; are at most 5 characters
            if amp != -1 and ";" not in line[amp:cut]:
                cut = amp
            out.append(line[:cut])
            line = line[cut:]
        out.append(line)
    return out


def caption(text: str) -> str:
    """A photo caption: escaped and cut to Telegram's 1024 characters."""
    escaped = html.escape(text, quote=False)
    return escaped if len(escaped) <= MAX_CAPTION else escaped[: MAX_CAPTION - 1].rsplit("&", 1)[0] + "…"
