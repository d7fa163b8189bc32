"""Turning the engine's Decimal, datetime series into float arrays fit to draw, and time axes in a zone."""
from __future__ import annotations

from datetime import datetime, timezone, tzinfo
from decimal import Decimal
from typing import Iterable, Sequence
from zoneinfo import ZoneInfo

import matplotlib.dates as mdates
import numpy as np
from matplotlib.axes import Axes

MAX_POINTS = 2000  # ~2 points per horizontal pixel of the plot: thinner than that changes nothing drawn

_EPOCH = float(mdates.date2num(datetime(1970, 1, 1, tzinfo=timezone.utc)))  # Unix 0 on matplotlib's scale


def date_num(times: Iterable[datetime]) -> np.ndarray:
    """Matplotlib date numbers for aware datetimes (naive ones are taken as UTC, as the engine stores them)."""
    seconds = [(t if t.tzinfo else t.replace(tzinfo=timezone.utc)).timestamp() for t in times]
    return np.asarray(seconds, dtype=float) / 86400.0 + _EPOCH


def floats(values: Iterable[Decimal | float | int]) -> np.ndarray:
    """Decimals as floats, for drawing only; the figures in titles come from the Decimals themselves."""
    return np.fromiter((float(v) for v in values), dtype=float)


def downsample(x: np.ndarray, y: np.ndarray, max_points: int | None = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most max_points (4 or more) of a series: both ends and each bucket's lowest and highest point, in order."""
    n = len(x)
    if max_points is None or n <= max(max_points, 4):
        return x, y
    buckets = max(1, (max_points - 2) // 2)
    size = -(-(n - 2) // buckets)  # ceiling division: every bucket full but maybe the last
    rows = -(-(n - 2) // size)
    inner = y[1:n - 1]
    pad = rows * size - len(inner)
    # Pad with the values argmin/argmax can never pick, so a short last bucket still works.
    lows = np.concatenate([inner, np.full(pad, np.inf)]).reshape(rows, size).argmin(axis=1)
    highs = np.concatenate([inner, np.full(pad, -np.inf)]).reshape(rows, size).argmax(axis=1)
    base = np.arange(rows) * size + 1
    keep = np.unique(np.concatenate([[0, n - 1], base + lows, base + highs]))
    return x[keep], y[keep]


def zone_label(tz: ZoneInfo, times: Sequence[datetime]) -> str:
    """The zone's abbreviations over the data's span (e.g. 'CET/CEST'), else its key."""
    if not times:
        return str(tz)
    first, last = local(min(times), tz), local(max(times), tz)
    names: list[str] = []
    # Weekly samples catch every daylight-saving switch (zones switch at most twice a year).
    steps = max(1, min(520, int((last - first).days / 7)))
    for k in range(steps + 1):
        name = (first + (last - first) * k / steps).astimezone(tz).tzname() or ""
        if name and name not in names:
            names.append(name)
    return "/".join(names) or str(tz)


def time_axis(ax: Axes, tz: ZoneInfo, times: Sequence[datetime], label: str = "Time") -> None:
    """Dates on the x axis in the manager's zone, few enough ticks to read on a phone."""
    locator = mdates.AutoDateLocator(tz=tz, minticks=3, maxticks=6)
    formatter = mdates.ConciseDateFormatter(locator, tz=tz, show_offset=True)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(formatter)
    ax.set_xlabel(f"{label} ({zone_label(tz, times)})")


def local(t: datetime, tz: tzinfo) -> datetime:
    """A datetime in the given zone (naive ones are UTC)."""
    return (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).astimezone(tz)
