"""What must never be shown: secrets and URL credentials anywhere (logs, replies, the database), and server file
paths to anyone but an admin. Pure text rules: the log formatter that applies them is adapters/logs.py."""
from __future__ import annotations

import re
from typing import Iterable

MASK = "***"
HIDDEN_PATH = "[server path]"
# A secret this long is masked wherever it occurs. A shorter one (a local stand-in's key 'K', say) would also
# match inside ordinary words: masking every 'K' would wreck every log line and, by the holes it leaves,
# spell the secret out. So a short secret is masked where it stands alone, not inside a longer word.
LONG_SECRET = 6
_SECRET_CHARS = "A-Za-z0-9_-"  # what keys and tokens are made of (settings refuses anything else)
# user:password@ after a scheme, up to the last '@' before the path ('p@ss' passwords included).
_URL_USERINFO = re.compile(r"(?<=://)[^\s/?#]*@")
# An absolute path with at least two parts (/srv/bot/x.sqlite; never a command like /status), '~/', './'
# or '../' paths, and relative paths to a file with an extension (data/itradingbot.sqlite).
_PATH = re.compile(r"(?<![\w.:/~-])(?:(?:~|\.\.?)?/[\w.+@-]+(?:/[\w.+@-]+)+|(?:~|\.\.?)/[\w.+@-]+"
                   r"|[\w.-]+(?:/[\w.-]+)*/[\w-]+\.[A-Za-z]\w{0,7}(?![\w/]))")


def mask_url_credentials(text: str) -> str:
    """'https://user:pw@host/api' -> 'https://***@host/api': the host stays readable, the credentials do not."""
    return _URL_USERINFO.sub(MASK + "@", text)


def hide_paths(text: str) -> str:
    """Server file paths (database, charts, lock files) replaced, for people who may look but not act."""
    return _PATH.sub(HIDDEN_PATH, text)


def shown(text: str, admin: bool) -> str:
    """A chat text as its reader may see it: URL credentials never, server paths only by an admin."""
    text = mask_url_credentials(text)
    return text if admin else hide_paths(text)


class Redactor:
    """Masks the given secrets (of any length) and every URL's credentials."""

    def __init__(self, secrets: Iterable[str | None]):
        # Longest first, so a secret that contains another is masked whole.
        ordered = sorted({s for s in secrets if s}, key=len, reverse=True)
        parts = [re.escape(s) if len(s) >= LONG_SECRET else
                 rf"(?<![{_SECRET_CHARS}]){re.escape(s)}(?![{_SECRET_CHARS}])" for s in ordered]
        self._secrets = re.compile("|".join(parts)) if parts else None

    def redact(self, text: str) -> str:
        text = self._secrets.sub(MASK, text) if self._secrets else text
        return mask_url_credentials(text)
