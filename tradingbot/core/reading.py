"""What people type, read safely (pure): a printable excerpt of untrusted text, and durations (12h, 7d, 2w)."""
from __future__ import annotations

import re
import unicodedata
from datetime import timedelta

from .errors import UserError

_DURATION = re.compile(r"(\d{1,6})([hdw])", re.ASCII | re.IGNORECASE)
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})  # control, format, unassigned, line breaks


def excerpt(text: object, limit: int = 40) -> str:
    """A short, printable, single-line piece of untrusted text, safe to put in an error message."""
    # Control, format and line-separator characters could break the one-line reply or spoof its text;
    # each becomes '?' so the person still sees where the odd character was.
    clean = "".join("?" if unicodedata.category(c) in _HIDDEN else c for c in str(text)[: limit + 1])
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def parse_duration(text: str) -> timedelta:
    """Parse a duration like 12h, 7d or 2w (whole hours, days or weeks)."""
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise UserError(f"a duration must look like 12h, 7d or 2w (got '{excerpt(text)}')")
    return int(match[1]) * _UNITS[match[2].lower()]


def format_duration(td: timedelta) -> str:
    """The shortest exact form: 7d, 12h, 90m or 45s (weeks show as days)."""
    if td < timedelta(0):
        return "-" + format_duration(-td)
    seconds = td // timedelta(seconds=1)
    unit, size = next(((u, s) for u, s in (("d", 86400), ("h", 3600), ("m", 60)) if seconds % s == 0), ("s", 1))
    return f"{seconds // size}{unit}" if seconds else "0s"
