"""The live schedule takes any period the backtest does (12h, 3d, 2w), anchored on the Unix epoch in the
manager's timezone; APScheduler fires them through a trigger that asks the schedule itself."""
from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from handlers.jobs import rebalance_trigger
from tradingbot.core.errors import UserError
from tradingbot.core.params import StrategyParams, parse_assignments
from tradingbot.core.schedule import next_slot

PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)


def chain(every: str, count: int, at: time = time(9, 0), weekday: str = "mon", tz: ZoneInfo = PARIS):
    out, when = [], T0
    for _ in range(count):
        when = next_slot(when, every, at, weekday, tz)
        out.append(when)
    return out


@pytest.mark.parametrize("text, stored", [("12h", "12h"), ("3d", "3d"), ("2w", "2w"), ("7d", "1w"), ("24h", "1d")])
def test_set_every_takes_hours_dividing_a_day_days_and_weeks(text, stored):
    assert parse_assignments(f"every={text}", StrategyParams())[0].every == stored


@pytest.mark.parametrize("text", ["5h", "0d", "53w", "3x"])
def test_set_every_refuses_what_no_schedule_can_keep(text):
    with pytest.raises(UserError, match="^every must be 1h, 4h, 1d, 1w, or hours dividing a day"):
        parse_assignments(f"every={text}", StrategyParams())


def test_three_days_fall_on_local_dates_counted_from_the_epoch_across_the_spring_change():
    slots = chain("3d", 12)
    local = [s.astimezone(PARIS) for s in slots]
    assert all((t.hour, t.minute) == (9, 0) for t in local)
    assert all((t.date() - date(1970, 1, 1)).days % 3 == 0 for t in local)
    assert [(b.date() - a.date()).days for a, b in zip(local, local[1:])] == [3] * 11
    assert {s.hour for s in slots} == {7, 8}  # 2026-03-29 moved Paris to summer time


def test_two_weeks_fall_on_the_weekday_of_every_other_week_and_twelve_hours_twice_a_day():
    weeks = [s.astimezone(PARIS) for s in chain("2w", 6, weekday="wed")]
    assert all(t.weekday() == 2 for t in weeks) and all(((t.date() - date(1970, 1, 1)).days + 3) // 7 % 2 == 0
                                                       for t in weeks)
    assert [(b - a).days for a, b in zip(weeks, weeks[1:])] == [14] * 5
    halves = [s.astimezone(PARIS) for s in chain("12h", 6)]
    assert [t.hour for t in halves] == [9, 21] * 3


def test_apscheduler_fires_a_three_day_schedule_at_the_schedule_s_slots():
    params = StrategyParams(every="3d", timezone="Europe/Paris")
    trigger = rebalance_trigger(params)
    fired, previous = [], None
    for _ in range(8):
        previous = trigger.get_next_fire_time(previous, T0)
        fired.append(previous)
    assert fired == chain("3d", 8)
    assert trigger.get_next_fire_time(None, fired[2]) == fired[2]  # at or after now, as cron's first firing


def test_status_and_plan_show_the_next_three_day_slot(world):
    from handlers.commands import Context, dispatch

    async def scenario():
        ctx = Context(world.services, "console")
        assert "every: 1d → 3d" in (await dispatch(ctx, "/set every=3d timezone=Europe/Paris")).text
        slot = next_slot(world.clock.now(), "3d", time(9, 0), "mon", PARIS).astimezone(PARIS)
        shown = f"{slot:%Y-%m-%d %H:%M %Z}"
        assert f"Next rebalance: {shown}" in (await dispatch(ctx, "/status")).text
        assert (await dispatch(ctx, "/plan")).text.endswith(f"Next scheduled rebalance: {shown} (every 3d)")
        return slot

    slot = asyncio.run(scenario())
    assert (slot.date() - date(1970, 1, 1)).days % 3 == 0 and slot.hour == 9


def test_plan_while_paused_says_no_rebalance_is_scheduled(world):
    from handlers.commands import Context, dispatch

    async def scenario():
        ctx = Context(world.services, "console")
        await dispatch(ctx, "/pause")
        return (await dispatch(ctx, "/plan")).text

    assert asyncio.run(scenario()).endswith("Next scheduled rebalance: paused (every 1d)")
