"""UTC timestamps as text: sortable, exact to the millisecond, readable by any BI tool."""
from __future__ import annotations

from datetime import datetime, timezone


def iso(t: datetime) -> str:
    """2026-11-24T09:00:00.000Z"""
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def parse_clock(text: str) -> datetime:
    """--clock values: ISO-8601, a naive value taken as UTC."""
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc)
