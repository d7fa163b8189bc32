"""Turning the engine's Decimal, datetime series into float arrays fit to draw, and time axes in a zone."""
from __future__ import annotations

from datetime import datetime, timezone, tzinfo
from decimal import Decimal
from typing import Iterable, Sequence
from zoneinfo import ZoneInfo

import matplotlib.dates as mdates
import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import Formatter

from charts.style import OncePerTicks, OncePerView

MAX_POINTS = 2000  # ~2 points per horizontal pixel of the plot: thinner than that changes nothing drawn

_EPOCH = float(mdates.date2num(datetime(1970, 1, 1, tzinfo=timezone.utc)))  # Unix 0 on matplotlib's scale


def date_num(times: Iterable[datetime]) -> np.ndarray:
    """Matplotlib date numbers for aware datetimes (naive ones are taken as UTC, as the engine stores them)."""
    seconds = [(t if t.tzinfo else t.replace(tzinfo=timezone.utc)).timestamp() for t in times]
    return np.asarray(seconds, dtype=float) / 86400.0 + _EPOCH


def floats(values: Iterable[Decimal | float | int]) -> np.ndarray:
    """Decimals as floats, for drawing only; the figures in titles come from the Decimals themselves."""
    return np.fromiter(map(float, values), dtype=float)


def bucket_size(n: int, max_points: int) -> int:
    """How many points of n share a bucket when at most max_points (4 or more) are kept: both ends aside,
    each bucket gives its lowest and highest."""
    return -(-(n - 2) // max(1, (max_points - 2) // 2))  # ceiling division: every bucket full but maybe the last


def extremes(y: np.ndarray, max_points: int | None = MAX_POINTS) -> np.ndarray:
    """Indices of at most max_points (4 or more) of a series: both ends and each bucket's lowest and highest
    point, in order. A line through them covers every column of pixels the whole series would, peaks and
    troughs included, so it looks the same at a fraction of the points."""
    n = len(y)
    if max_points is None or n <= max(max_points, 4):
        return np.arange(n)
    size = bucket_size(n, max_points)
    rows = -(-(n - 2) // size)
    inner = y[1:n - 1]
    pad = rows * size - len(inner)
    # Pad with the values argmin/argmax can never pick, so a short last bucket still works.
    lows = np.concatenate([inner, np.full(pad, np.inf)]).reshape(rows, size).argmin(axis=1)
    highs = np.concatenate([inner, np.full(pad, -np.inf)]).reshape(rows, size).argmax(axis=1)
    base = np.arange(rows) * size + 1
    return np.unique(np.concatenate([[0, n - 1], base + lows, base + highs]))


def downsample(x: np.ndarray, y: np.ndarray, max_points: int | None = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """The points of extremes(y, max_points) as x and y arrays."""
    keep = extremes(y, max_points)
    return x[keep], y[keep]


def date_num_at(times: Sequence[datetime], keep: np.ndarray) -> np.ndarray:
    """date_num of the kept times only: converting a datetime costs more than thinning the whole series."""
    return date_num([times[i] for i in keep.tolist()])


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


MIN_SPAN_DAYS = 10 / 1440  # a time axis shows at least 10 minutes: ticks then fall on whole minutes, never seconds


def day_text(t: datetime, tz: tzinfo, year: bool = True) -> str:
    """A date as every chart writes it: '2 Mar 2026' (or '2 Mar')."""
    t = local(t, tz)
    return f"{t.day} {t:%b}" + (f" {t.year}" if year else "")


def time_text(t: datetime, tz: tzinfo) -> str:
    """A moment as every chart writes it: '2 Mar 2026 09:00 CET'."""
    return f"{day_text(t, tz)} {local(t, tz):%H:%M %Z}"


class DateTicks(OncePerView, mdates.AutoDateLocator):
    """AutoDateLocator asked once per view; all its ticks handed out, as TimeFormatter dates the first of them."""

    clip = False


class TimeFormatter(OncePerTicks, Formatter):
    """Tick labels at the tick spacing: 09:30 within a day, 2 Mar by days, Mar 2026 by months, 2026 by years.

    The one formatter of every chart's time axis; the span it leaves out (the day, the year) is in the axis label.
    """

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self.step, self.first, self.days = 1.0, 0.0, False

    def set_locs(self, locs: list[float]) -> None:
        super().set_locs(locs)
        ordered = sorted(locs)
        self.step = min((b - a for a, b in zip(ordered, ordered[1:]) if b > a), default=1.0)
        self.first = ordered[0] if ordered else 0.0
        dates = {mdates.num2date(x, tz=self.tz).date() for x in ordered}
        self.days = len(dates) > 1  # hours over several days: the first tick says which day it is

    def __call__(self, x: float, pos: int | None = None) -> str:
        t = mdates.num2date(x, tz=self.tz)
        if self.step < 0.99:  # within a day: the hour, and the date where a day starts
            if (t.hour, t.minute) == (0, 0):
                return day_text(t, self.tz, year=False)
            return f"{day_text(t, self.tz, year=False)} {t:%H:%M}" if self.days and x == self.first else f"{t:%H:%M}"
        if self.step < 27:
            return day_text(t, self.tz, year=False)
        return f"{t:%b %Y}" if self.step < 360 else f"{t.year}"


def span_text(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    """What the tick labels leave out: the day when all is within one day, else the year(s)."""
    a, b = local(start, tz), local(end, tz)
    if a.date() == b.date():
        return day_text(a, tz)
    return f"{a.year}" if a.year == b.year else f"{a.year}–{b.year}"


def time_axis(ax: Axes, tz: ZoneInfo, times: Sequence[datetime], label: str = "Time") -> None:
    """The x axis from the first to the last time (at least 10 minutes), labelled in the manager's zone."""
    start, end = min(times), max(times)
    lo, hi = date_num([start, end])
    if hi - lo < MIN_SPAN_DAYS:  # one point or minutes of data: centred in 10 minutes, dated its own day
        mid = (lo + hi) / 2
        lo, hi = mid - MIN_SPAN_DAYS / 2, mid + MIN_SPAN_DAYS / 2
    ax.set_xlim(lo, hi)
    ax.xaxis.set_major_locator(DateTicks(tz=tz, minticks=3, maxticks=6))
    ax.xaxis.set_major_formatter(TimeFormatter(tz))
    ax.set_xlabel(f"{label} ({zone_label(tz, times)}), {span_text(start, end, tz)}")


def local(t: datetime, tz: tzinfo) -> datetime:
    """A datetime in the given zone (naive ones are UTC)."""
    return (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).astimezone(tz)
