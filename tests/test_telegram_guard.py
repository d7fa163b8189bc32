"""The front end's bookkeeping on a hand-driven clock: rate limits, once-per refusals, quiet logs, the heavy lane."""
from __future__ import annotations

import asyncio
import logging

from handlers.telegram_guard import HeavyLane, Limits, OncePer, QuietLog, Throttle, Verdict


class Ticker:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_a_burst_then_one_slow_down_then_silence_until_the_bucket_refills():
    now = Ticker()
    throttle = Throttle(Limits(burst=3, per_minute=6), now)  # one more every 10 s
    assert [throttle.check("ann") for _ in range(6)] == [Verdict.GO] * 3 + [Verdict.WARN] + [Verdict.QUIET] * 2
    assert throttle.check("bob") is Verdict.GO  # per person
    now.t += 10
    assert throttle.check("ann") is Verdict.GO
    assert throttle.check("ann") is Verdict.WARN  # a new episode: told again, once
    now.t += 60
    throttle.forget_idle()
    assert list(throttle._buckets) == []  # refilled buckets are forgotten: a flood of ids leaves nothing behind


def test_once_per_period_per_key():
    now = Ticker()
    once = OncePer(600, now)
    assert once.first(7) and not once.first(7) and once.first(8)
    now.t += 599
    assert not once.first(7)
    now.t += 2
    once.forget_old()
    assert once.first(7)


def test_a_repeated_warning_is_one_line_then_a_count(caplog):
    now = Ticker()
    quiet = QuietLog(logging.getLogger("t"), "refusals", 60, now)
    with caplog.at_level(logging.WARNING):
        for i in range(1000):
            quiet.warning("refused %s", i)
        now.t += 61
        quiet.tick()
        now.t += 61
        quiet.tick()  # a quiet minute: nothing to count, nothing logged
    assert [r.getMessage() for r in caplog.records] == ["refused 0", "999 more refusals in the last 61 s"]


def test_the_heavy_lane_runs_admins_first_and_one_job_per_person_at_a_time():
    async def main():
        lane = HeavyLane(slots=1, queue=1)
        order: list[str] = []
        release = asyncio.Event()

        async def job(owner: str, urgent: bool, name: str) -> None:
            async with lane.slot(owner, urgent):
                order.append(name)
                await release.wait()

        first = asyncio.create_task(job("viewer", False, "viewer 1"))
        await asyncio.sleep(0)
        jobs = [asyncio.create_task(job("viewer", False, "viewer 2")),
                asyncio.create_task(job("other", False, "other")),
                asyncio.create_task(job("admin", True, "admin"))]
        await asyncio.sleep(0)
        assert lane.full("viewer") and not lane.full("admin")  # one running, one waiting: no more
        release.set()
        await asyncio.gather(first, *jobs)
        assert not lane.full("viewer")
        return order

    assert asyncio.run(main()) == ["viewer 1", "admin", "other", "viewer 2"]
