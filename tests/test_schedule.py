from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from tradingbot.core.schedule import cron_fields, last_slot, next_slot, slot_key

UTC = timezone.utc
PARIS = ZoneInfo("Europe/Paris")


def test_daily_slot_in_the_managers_timezone():
    now = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)  # 09:30 in Paris (CET, UTC+1)
    assert last_slot(now, "1d", time(9, 0), "mon", PARIS) == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert next_slot(now, "1d", time(9, 0), "mon", PARIS) == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def test_summer_time_moves_the_utc_slot():
    july = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert last_slot(july, "1d", time(9, 0), "mon", PARIS) == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)


def test_four_hourly_and_weekly_slots():
    now = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)  # a Tuesday
    assert last_slot(now, "4h", time(1, 15), "mon", ZoneInfo("UTC")) == datetime(2026, 11, 24, 9, 15, tzinfo=UTC)
    assert next_slot(now, "1w", time(9, 0), "fri", ZoneInfo("UTC")) == datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert last_slot(now, "1h", time(0, 30), "mon", ZoneInfo("UTC")) == datetime(2026, 11, 24, 10, 30, tzinfo=UTC)


def test_slot_at_exactly_the_slot_time_is_that_slot():
    at = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    assert last_slot(at, "1d", time(9, 0), "mon", ZoneInfo("UTC")) == at
    assert next_slot(at, "1d", time(9, 0), "mon", ZoneInfo("UTC")) > at


def test_cron_trigger_agrees_with_next_slot():
    now = datetime(2026, 3, 28, 23, 0, tzinfo=UTC)  # the night Paris moves to summer time
    for every, at, wd in [("1d", time(9, 0), "mon"), ("4h", time(2, 30), "mon"), ("1w", time(7, 45), "sun"), ("1h", time(0, 5), "mon")]:
        trigger = CronTrigger(timezone=PARIS, **cron_fields(every, at, wd))
        t = now
        for _ in range(5):
            fire = trigger.get_next_fire_time(None, t + timedelta(seconds=1))
            assert fire.astimezone(UTC) == next_slot(t, every, at, wd, PARIS), (every, t)
            t = fire.astimezone(UTC)


def test_slot_keys_fit_client_order_ids():
    t = datetime(2026, 11, 24, 9, 0, 3, tzinfo=UTC)
    assert slot_key(t) == "S20261124T0900"
    assert slot_key(t, kind="manual") == "M20261124T090003"
    assert slot_key(t, kind="liquidate") == "L20261124T090003"


def _fire_times(every: str, at: time, start: datetime, n: int) -> list[datetime]:
    """What APScheduler's cron really fires, in UTC, from start on."""
    trigger = CronTrigger(timezone=PARIS, **cron_fields(every, at, "mon"))
    fires, previous, now = [], None, start
    for _ in range(n):
        previous = trigger.get_next_fire_time(previous, now)
        fires.append(previous.astimezone(UTC))
        now = fires[-1] + timedelta(seconds=1)
    return fires


def test_hourly_slots_are_real_instants_across_both_clock_changes():
    for start in (datetime(2026, 10, 24, 21, 0, tzinfo=UTC), datetime(2026, 3, 28, 21, 0, tzinfo=UTC)):
        fires = _fire_times("1h", time(2, 30), start, 10)
        assert [b - a for a, b in zip(fires, fires[1:])] == [timedelta(hours=1)] * 9  # no hour skipped
        for fire in fires:  # each firing is its own slot with its own key, at that very instant
            assert last_slot(fire + timedelta(minutes=1), "1h", time(2, 30), "mon", PARIS) == fire
            assert next_slot(fire - timedelta(minutes=1), "1h", time(2, 30), "mon", PARIS) == fire
        assert len({slot_key(f) for f in fires}) == 10
    # The repeated local 02:30 of 2026-10-25: 00:30 UTC (summer time) and 01:30 UTC (winter time).
    assert last_slot(datetime(2026, 10, 25, 1, 40, tzinfo=UTC), "1h", time(2, 30), "mon", PARIS) == \
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


def test_a_daily_slot_at_a_repeated_local_time_is_one_slot():
    fires = _fire_times("1d", time(2, 30), datetime(2026, 10, 24, 12, 0, tzinfo=UTC), 3)
    # APScheduler fires at both instants of the repeated 02:30; both are the day's one slot (one key).
    assert fires[:2] == [datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 1, 30, tzinfo=UTC)]
    keys = [slot_key(last_slot(f, "1d", time(2, 30), "mon", PARIS)) for f in fires]
    assert keys == ["S20261025T0030", "S20261025T0030", "S20261026T0130"]
