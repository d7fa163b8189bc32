"""One engine at any candle interval: hourly candles that only move at midnight give the daily results, the
fast path equals the plain loop at 1h, 4h and 1d, and `at` places the slots as the live schedule does."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.backtest_data import FIRST_DAY, Bar, make_candles, panel_of
from tests.test_backtest_reference import reference
from tradingbot.core.backtest.config import BacktestConfig, signal_rows, window
from tradingbot.core.backtest.metrics import run_metrics
from tradingbot.core.backtest.panel import build_panel, day_date
from tradingbot.core.backtest.simulate import simulate
from tradingbot.core.errors import UserError
from tradingbot.core.params import StrategyParams
from tradingbot.core.schedule import next_slot

HOUR_MS = 3_600_000
CANDLES = make_candles()
DAILY = panel_of(CANDLES)


def panel_at(candles: dict[str, dict[int, Bar]], step: timedelta):
    """The candles with their keys read as candle numbers of `step` since the epoch."""
    rows = [(s, n, b) for s, bars in candles.items() for n, b in bars.items()]
    return build_panel(np.array([r[0] for r in rows]), np.array([r[1] for r in rows]),
                       np.array([r[2].open for r in rows]), np.array([r[2].close for r in rows]),
                       np.array([r[2].quote_volume for r in rows]), step_ms=step // timedelta(milliseconds=1))


def flat_hours(candles: dict[str, dict[int, Bar]]) -> dict[str, dict[int, Bar]]:
    """Each daily candle as 24 hourly ones: the day's move in its first hour, then flat to midnight."""
    out: dict[str, dict[int, Bar]] = {}
    for s, bars in candles.items():
        hours = out[s] = {}
        for day, b in bars.items():
            hours[day * 24] = Bar(b.open, b.close, b.quote_volume / 24)
            hours.update((day * 24 + h, Bar(b.close, b.close, b.quote_volume / 24)) for h in range(1, 24))
    return out


HOURLY = panel_at(flat_hours(CANDLES), timedelta(hours=1))


def params(**kw) -> StrategyParams:
    return StrategyParams(topn=4, min_age_days=10, min_quote_volume=Decimal(200_000), fee_rate=Decimal("0.002"),
                          slippage_bps=Decimal(10), **kw)


@pytest.mark.parametrize("strategy", ["momentum", "reversal"])
@pytest.mark.parametrize("mode", ["full", "delta"])
@pytest.mark.parametrize("every,lookback,delay", [("1d", 3, 0), ("2d", 7, 1), ("3d", 5, 0), ("1w", 14, 1),
                                                  ("1d", 1, "1d")])
def test_hourly_candles_that_move_only_at_midnight_give_the_daily_results(strategy, mode, every, lookback, delay):
    cfg = BacktestConfig(params(strategy=strategy, mode=mode, lookback=timedelta(days=lookback)),
                         day_date(FIRST_DAY + 20), day_date(FIRST_DAY + 150), delay=delay, capital=5000.0,
                         every=every)
    daily, hourly = simulate(DAILY, cfg), simulate(HOURLY, cfg)
    assert len(hourly.equity) == 24 * len(daily.equity)
    assert np.max(np.abs(hourly.daily_equity / daily.equity - 1)) < 1e-9
    assert hourly.fees == pytest.approx(daily.fees, rel=1e-9) and hourly.fills == daily.fills > 20
    assert (hourly.trade_rows - 23 * (delay == 0)).tolist() == (24 * daily.trade_rows).tolist()
    want, got = run_metrics(daily), run_metrics(hourly)
    if daily.trade_rows[-1] == daily.first_row + len(daily.equity) - 1:  # a fill at the last day's open holds
        del want["hit_rate"], got["hit_rate"]  # for 23 flat hours: a period the daily path does not have
    assert got.keys() == want.keys() and all(got[k] == pytest.approx(want[k], rel=1e-9) for k in want)


def test_at_midnight_utc_places_the_daily_slots_where_the_day_closes_do():
    cfg = BacktestConfig(params(), day_date(FIRST_DAY + 20), day_date(FIRST_DAY + 150), every="1d")
    at_midnight = replace(cfg, at=time(0, 0))
    assert np.max(np.abs(simulate(HOURLY, at_midnight).daily_equity / simulate(DAILY, cfg).equity - 1)) < 1e-9
    with pytest.raises(UserError, match=r"^the slot at 09:00 UTC \(.* UTC\) is no close of 1d candles"):
        simulate(DAILY, replace(cfg, at=time(9, 0)))


STEPS = {"1h": timedelta(hours=1), "4h": timedelta(hours=4), "1d": timedelta(days=1)}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(interval=st.sampled_from(sorted(STEPS)), seed=st.integers(0, 10_000), every=st.integers(0, 8),
       lookback=st.integers(1, 30), delay=st.sampled_from([0, 1, 2]), strategy=st.sampled_from(["momentum", "reversal"]),
       mode=st.sampled_from(["full", "delta"]))
def test_the_fast_path_equals_the_plain_loop_at_every_resolution(interval, seed, every, lookback, delay, strategy,
                                                                 mode):
    step = STEPS[interval]
    candles = make_candles(seed, symbols=10, days=300)
    panel = panel_at(candles, step)
    per_day = timedelta(days=1) // step
    spans = [h for h in (1, 2, 4, 6, 12, 24, 48, 72, 168) if h % (step // timedelta(hours=1)) == 0]
    every_span = timedelta(hours=spans[every % len(spans)])
    lookback_span = step * lookback
    first_day = -(-(FIRST_DAY + 4 * lookback) // per_day)  # a whole day after the lookback and a few candles
    cfg = BacktestConfig(
        StrategyParams(strategy=strategy, mode=mode, lookback=lookback_span, topn=3, min_age_days=1,
                       min_quote_volume=Decimal(100_000), fee_rate=Decimal("0.001"), slippage_bps=Decimal(5)),
        day_date(first_day), day_date((FIRST_DAY + 299) // per_day - 1), capital=1000.0,
        every=f"{every_span // timedelta(hours=1)}h", delay=delay if delay < 2 else interval)
    want, fees, fills = reference(candles, cfg, step)
    run = simulate(panel, cfg)
    assert len(run.equity) == len(want)
    assert max(abs(a / b - 1) for a, b in zip(run.equity.tolist(), want)) < 1e-9
    assert run.fees == pytest.approx(fees, rel=1e-9, abs=1e-12) and run.fills == fills


def test_a_delay_is_a_whole_number_of_candles():
    cfg = BacktestConfig(params(), day_date(FIRST_DAY + 20), day_date(FIRST_DAY + 40), delay="5m")
    with pytest.raises(UserError, match=r"^delay 5m is not a whole number of 1h candles$"):
        simulate(HOURLY, cfg)
    with pytest.raises(UserError, match=r"^delay 1h is not a whole number of 1d candles$"):
        simulate(DAILY, replace(cfg, delay="1h"))
    with pytest.raises(UserError, match=r"^lookback 36h is not a whole number of 1d candles$"):
        simulate(DAILY, replace(cfg, delay=0, params=params(lookback=timedelta(hours=36))))
    later = simulate(HOURLY, replace(cfg, delay="4h"))
    now = simulate(HOURLY, replace(cfg, delay=1))
    assert (later.trade_rows - now.trade_rows == 4).all()  # the open four hours after the signal's


def paris_panel() -> object:
    """Flat hourly candles of one coin over 2026, through both of Paris's clock changes."""
    first = (date(2026, 1, 1) - date(1970, 1, 1)).days * 24
    hours = {first + h: Bar(1.0, 1.0 + h / 1e4, 1e7) for h in range(24 * 365)}
    return panel_at({"AAAUSDT": hours, "BBBUSDT": hours}, timedelta(hours=1))


def test_a_daily_slot_at_nine_in_paris_runs_once_a_day_across_both_2026_switches_as_live():
    panel = paris_panel()
    paris = StrategyParams(timezone="Europe/Paris", min_age_days=0, min_quote_volume=Decimal(0))
    cfg = BacktestConfig(paris, date(2026, 3, 20), date(2026, 11, 5), every="1d", at=time(9, 0))
    first, last = window(panel, cfg)
    rows = signal_rows(panel, cfg, first, last)
    closes = [datetime.fromtimestamp(int(panel.open_ms(r)) / 1000 + 3600, timezone.utc) for r in rows.tolist()]
    live, when = [], datetime(2026, 3, 20, tzinfo=timezone.utc)
    while (when := next_slot(when, "1d", time(9, 0), "mon", ZoneInfo("Europe/Paris"))) <= closes[-1]:
        live.append(when)
    assert closes == live
    local = [c.astimezone(ZoneInfo("Europe/Paris")) for c in closes]
    assert {(t.hour, t.minute) for t in local} == {(9, 0)}
    assert len({t.date() for t in local}) == len(local) == (date(2026, 11, 5) - date(2026, 3, 20)).days + 1
    assert {c.hour for c in closes} == {7, 8}  # 08:00 UTC in winter, 07:00 in summer
    assert len(simulate(panel, cfg).trade_rows) == len(closes)
