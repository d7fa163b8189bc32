"""Rebalance slots (pure): which slot is due at an instant, the next one, and its journal key."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from .errors import UserError
from .reading import parse_duration

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # datetime.weekday() order
HOUR, DAY, WEEK = timedelta(hours=1), timedelta(days=1), timedelta(weeks=1)
EPOCH_DATE = date(1970, 1, 1)  # a Thursday: weeks are counted from the Monday before it, 1969-12-29
CRON_PERIODS = ("1h", "4h", "1d", "1w")  # the periods a cron expression states; others fire by next_slot


def canonical_period(text: str) -> str:
    """A rebalance period as stored: hours dividing a day, or days, or weeks up to 52w; ValueError if not."""
    try:
        period = parse_duration(text)
    except UserError:
        raise ValueError(text) from None
    if not HOUR <= period <= 52 * WEEK or (period < DAY and DAY % period):
        raise ValueError(text)
    if period % WEEK == timedelta(0):
        return f"{period // WEEK}w"
    return f"{period // DAY}d" if period % DAY == timedelta(0) else f"{period // HOUR}h"


def _at(at: time) -> tuple[int, int]:
    return at.hour, at.minute


def is_slot(local: datetime, every: str, at: time, weekday: str) -> bool:
    """True when a local wall-clock minute is a rebalance slot."""
    return on_grid(local, parse_duration(every), at, weekday)


def on_grid(local: datetime, period: timedelta, at: time, weekday: str) -> bool:
    """True when a local wall-clock minute is a slot of any period, anchored on the Unix epoch's date.

    Under a day (a whole number of hours dividing 24): the hours whose difference from at's is a multiple
    of it, at at's minute (4h at 09:00: 01:00, 05:00, 09:00 …). N days: at's time on the local dates whose
    day count since 1970-01-01 is a multiple of N. N weeks: at's time on the weekday, in the Monday-started
    weeks whose count since the week of 1970-01-01 is a multiple of N. For 1h, 4h, 1d and 1w this is
    is_slot's rule.
    """
    if local.minute != at.minute or local.second or local.microsecond:
        return False
    if period < DAY:
        return (local.hour - at.hour) % (period // HOUR) == 0
    if local.hour != at.hour:
        return False
    days = (local.date() - EPOCH_DATE).days
    if period % WEEK == timedelta(0):
        return WEEKDAYS[local.weekday()] == weekday and ((days + 3) // 7) % (period // WEEK) == 0
    return days % (period // DAY) == 0


def slot_instants(period: timedelta, at: time, weekday: str, tz: ZoneInfo, lo: datetime, hi: datetime
                  ) -> list[datetime]:
    """Every slot instant (UTC) from lo to hi, both included, as the live schedule fires them.

    Wall times go through the same fold rules as _candidates: hourly slots are every real hour, any
    other slot in a repeated autumn hour its first instant; a slot in a spring gap fires at the
    pre-transition offset (and an instant reached twice counts once).
    """
    unit = HOUR if period < DAY else DAY
    local = lo.astimezone(tz).replace(tzinfo=None) - DAY
    naive = local.replace(hour=at.hour if unit == DAY else local.hour, minute=at.minute, second=0, microsecond=0)
    end = hi.astimezone(tz).replace(tzinfo=None) + DAY
    found: set[datetime] = set()
    while naive <= end:
        if on_grid(naive, period, at, weekday):
            found.update(t for t in _instants(naive, tz, both_folds=period == HOUR) if lo <= t <= hi)
        naive += unit
    return sorted(found)


def _candidates(anchor: datetime, every: str, at: time, weekday: str, tz: ZoneInfo, step: int):
    """Slot times walking away from anchor (step -1 back, +1 forward), in UTC.

    Wall times are matched like APScheduler's cron does: a time inside a spring-forward gap
    still fires (at the pre-transition offset). An ambiguous autumn time is two real instants:
    hourly slots are both (every real hour runs once); a 4-hourly, daily or weekly slot is its
    first (fold 0), so the cron's second firing finds that slot's key already done.
    """
    hour, minute = _at(at)
    period = parse_duration(every)
    local = anchor.astimezone(tz).replace(tzinfo=None)
    if period < DAY:
        base = local.replace(minute=minute, second=0, microsecond=0)
        unit = HOUR
    else:
        base = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        unit = DAY
    for i in range(-1, max(24 * 8, 2 * (period // unit)) + 2):  # a weekly slot is at most 8 days away; 2w, 14
        naive = base + step * i * unit
        if on_grid(naive, period, at, weekday):
            instants = _instants(naive, tz, both_folds=period == HOUR)
            yield from (instants if step > 0 else reversed(instants))


def _instants(naive: datetime, tz: ZoneInfo, both_folds: bool) -> list[datetime]:
    """The UTC instants of a local wall time, earliest first: two when the clocks went back over it."""
    first, second = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    repeated = (first.utcoffset() or timedelta()) > (second.utcoffset() or timedelta())  # in a gap it is the reverse
    chosen = [first, second] if both_folds and repeated else [first]
    return [t.astimezone(timezone.utc) for t in chosen]


def last_slot(now: datetime, every: str, at: time, weekday: str, tz: ZoneInfo) -> datetime:
    """The latest slot time at or before now (UTC)."""
    for when in _candidates(now, every, at, weekday, tz, -1):
        if when <= now:
            return when
    raise ValueError("no slot found")  # unreachable for valid parameters


def next_slot(now: datetime, every: str, at: time, weekday: str, tz: ZoneInfo) -> datetime:
    """The first slot time strictly after now (UTC)."""
    for when in _candidates(now, every, at, weekday, tz, +1):
        if when > now:
            return when
    raise ValueError("no slot found")


def slot_key(when: datetime, kind: str = "scheduled") -> str:
    """Journal key: S20261124T0900 (scheduled slot, UTC), M20261124T091503 (manual), L… (liquidation)."""
    utc = when.astimezone(timezone.utc)
    if kind == "scheduled":
        return utc.strftime("S%Y%m%dT%H%M")
    return {"manual": "M", "liquidate": "L"}[kind] + utc.strftime("%Y%m%dT%H%M%S")


def cron_fields(every: str, at: time, weekday: str) -> dict[str, str]:
    """APScheduler CronTrigger fields for the schedule (day names avoid weekday numbering traps); for
    CRON_PERIODS only (12h, 3d or 2w fire by next_slot instead)."""
    hour, minute = _at(at)
    fields = {"minute": str(minute), "second": "0"}
    if every == "4h":
        fields["hour"] = f"{hour % 4}-23/4"
    elif every in ("1d", "1w"):
        fields["hour"] = str(hour)
    if every == "1w":
        fields["day_of_week"] = weekday
    return fields


def behind_the_journal(slot: str, now: datetime, newest_slot: str | None, newest_start: datetime | None) -> str | None:
    """Why a new rebalance would trade in the past (the clock went back), or None.

    A scheduled slot older than the newest journaled one, or any rebalance while the clock reads
    earlier than the latest one started, would book fills out of time order and value the account
    at old prices; it is refused instead.
    """
    if slot.startswith("S") and newest_slot is not None and slot < newest_slot:  # S-keys sort by time
        return f"slot {slot} is older than the newest journaled slot {newest_slot} (has the clock gone back?)"
    if newest_start is not None and now < newest_start:
        return (f"the clock ({now:%Y-%m-%d %H:%M:%S} UTC) reads earlier than the latest rebalance "
                f"({newest_start:%Y-%m-%d %H:%M:%S} UTC; has the clock gone back?)")
    return None
