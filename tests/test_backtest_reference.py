"""The vectorised backtester against a deliberately plain, slow loop over days written from the spec."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pytest

from tests.backtest_data import FIRST_DAY, Bar, make_candles, panel_of
from tests.builders import rules
from tradingbot.core.backtest.config import BacktestConfig, delay_duration
from tradingbot.core.backtest.metrics import run_metrics
from tradingbot.core.backtest.panel import day_date
from tradingbot.core.backtest.signals import eligible
from tradingbot.core.backtest.simulate import simulate
from tradingbot.core.domain import SymbolSnapshot
from tradingbot.core.ranking import ineligibility
from tradingbot.core.params import PERIODS, StrategyParams


def reference(candles: dict[str, dict[int, Bar]], cfg: BacktestConfig, step: timedelta = timedelta(days=1)
              ) -> tuple[list[float], float, int]:
    """Equity per candle, fees, fills: one candle at a time (of `step`; the keys of `candles` count them since
    the epoch), plain floats and dicts, nothing shared with the fast path."""
    p = cfg.params
    per_day = timedelta(days=1) // step
    k, every = p.lookback // step, cfg.period // step
    delay = cfg.delay if cfg.delay in (0, 1) else 1 + delay_duration(str(cfg.delay)) // step  # rows to the fill
    fee, slip, invest = float(p.fee_rate), float(p.slippage_bps) / 10000, float(p.invest_fraction)
    start = (cfg.start.toordinal() - 719163) * per_day  # to candles since 1970-01-01
    end = (cfg.end.toordinal() - 719163 + 1) * per_day - 1
    first_seen = {s: min(bars) for s, bars in candles.items() if bars}
    bases = {s[:-4] for s in candles}

    def price(s: str, d: int) -> float | None:
        known = [day for day in candles[s] if day <= d]
        return candles[s][max(known)].close if known else None

    def fill_price(s: str, d: int) -> float:
        if delay and d in candles[s]:
            return candles[s][d].open
        return price(s, d)

    def ok(s: str, t: int) -> bool:
        bars = candles[s]
        if t not in bars or t - k not in bars or p.skip_reason(s[:-4], s, bases):
            return False
        if s not in first_seen or t + 1 - first_seen[s] < p.min_age_days * per_day:  # age at t's close, as live
            return False
        closed = (t + 1) // per_day - 1  # the last UTC day closed at t's close, as the live filter reads days
        week = [[bars[h].quote_volume for h in range(d * per_day, (d + 1) * per_day) if h in bars]
                for d in range(closed - 6, closed + 1)]
        week = [sum(day) for day in week if day]
        return sum(week) / len(week) >= float(p.min_quote_volume)

    def picks(t: int) -> list[str]:
        scored = [(bars_t.close / candles[s][t - k].close - 1, s) for s in sorted(candles)
                  if ok(s, t) for bars_t in [candles[s][t]]]
        sign = -1 if p.strategy == "momentum" else 1
        scored.sort(key=lambda x: (sign * x[0], x[1]))
        return [s for _, s in scored[:p.topn]]

    cash, held, fees, fills, equity = cfg.capital, {}, 0.0, 0, []
    trade_days = {t + delay: t for t in range(start + per_day - 1, end + 1, every) if t + delay <= end}
    for d in range(start, end + 1):
        chosen = picks(trade_days[d]) if d in trade_days else []
        if chosen:
            px = {s: fill_price(s, d) for s in set(held) | set(chosen)}
            if p.mode == "full":
                for s, q in held.items():
                    gross = q * px[s] * (1 - slip)
                    cash += gross - gross * fee
                    fees, fills = fees + gross * fee, fills + 1
                held = {}
                spend = cash * invest / len(chosen)
                for s in chosen:
                    held[s] = spend / (px[s] * (1 + slip)) * (1 - fee)
                    cash -= spend
                    fees, fills = fees + spend * fee, fills + 1
            else:
                goal = (cash + sum(q * px[s] for s, q in held.items())) * invest / len(chosen)
                for s in sorted(held):
                    sell = held[s] if s not in chosen else max(held[s] * px[s] - goal, 0) / px[s]
                    if sell > 0:
                        gross = sell * px[s] * (1 - slip)
                        cash += gross * (1 - fee)
                        fees, fills = fees + gross * fee, fills + 1
                        held[s] = held[s] - sell if s in chosen else 0.0
                held = {s: q for s, q in held.items() if q > 0 or s in chosen}
                goal = (cash + sum(q * px[s] for s, q in held.items())) * invest / len(chosen)
                needs = {s: goal - held.get(s, 0.0) * px[s] for s in chosen}
                needs = {s: n for s, n in needs.items() if n > 0}
                total = sum(needs.values())
                scale = min(1.0, cash / total) if total > 0 else 0.0
                for s, n in needs.items():
                    spend = n * scale
                    held[s] = held.get(s, 0.0) + spend / (px[s] * (1 + slip)) * (1 - fee)
                    cash -= spend
                    fees, fills = fees + spend * fee, fills + 1
        equity.append(cash + sum(q * price(s, d) for s, q in held.items()))
    return equity, fees, fills


CANDLES = make_candles()
PANEL = panel_of(CANDLES)


@pytest.mark.parametrize("strategy", ["momentum", "reversal"])
@pytest.mark.parametrize("mode", ["full", "delta"])
@pytest.mark.parametrize("every,lookback,delay,slip", [("1d", 3, 0, 0), ("1d", 7, 1, 10), ("1w", 14, 0, 25),
                                                       ("3d", 10, 0, 5), ("3d", 5, 1, 0), ("2w", 9, 0, 10)])
def test_fast_path_agrees_with_the_plain_loop(strategy, mode, every, lookback, delay, slip):
    live = every in PERIODS  # 3d and 2w are the backtest's own periods; the live schedule has no such slot
    params = StrategyParams(strategy=strategy, mode=mode, every=every if live else "1d",
                            lookback=timedelta(days=lookback), topn=4, min_age_days=10,
                            min_quote_volume=Decimal(200_000), fee_rate=Decimal("0.002"), slippage_bps=Decimal(slip))
    cfg = BacktestConfig(params, day_date(FIRST_DAY + 20), day_date(FIRST_DAY + 150), delay=delay, capital=5000.0,
                         every=None if live else every)
    want, fees, fills = reference(CANDLES, cfg)
    run = simulate(PANEL, cfg)
    assert len(run.equity) == len(want)
    assert max(abs(a / b - 1) for a, b in zip(run.equity.tolist(), want)) < 1e-9
    assert run.fees == pytest.approx(fees, rel=1e-9) and run.fills == fills
    assert fills > 50 and abs(want[-1] / want[0] - 1) > 0.01  # the scenario really trades and moves


@pytest.mark.parametrize("mode", ["full", "delta"])
def test_a_share_of_equity_is_invested_and_the_rest_stays_cash(mode):
    """invest_fraction as the live planner reads it: each pick's target is equity × invest_fraction / N."""
    params = StrategyParams(mode=mode, lookback=timedelta(days=7), topn=4, min_age_days=10,
                            min_quote_volume=Decimal(200_000), fee_rate=Decimal("0.002"), slippage_bps=Decimal(10),
                            invest_fraction=Decimal("0.6"))
    cfg = BacktestConfig(params, day_date(FIRST_DAY + 20), day_date(FIRST_DAY + 150), capital=5000.0)
    want, fees, fills = reference(CANDLES, cfg)
    run = simulate(PANEL, cfg)
    assert max(abs(a / b - 1) for a, b in zip(run.equity.tolist(), want)) < 1e-9 and len(run.equity) == len(want)
    assert run.fees == pytest.approx(fees, rel=1e-9) and run.fills == fills
    whole = simulate(PANEL, replace(cfg, params=replace(params, invest_fraction=Decimal(1))))
    # Equity away from its start moves by roughly the invested share of what fully invested equity does.
    moved, fully = run.equity - cfg.capital, whole.equity - cfg.capital
    big = np.abs(fully) > 100
    assert big.sum() > 50 and np.median(moved[big] / fully[big]) == pytest.approx(0.6, abs=0.1)


def test_ties_go_by_symbol_name_and_exclusions_hold():
    params = StrategyParams(topn=30, min_age_days=0, min_quote_volume=Decimal(0))
    run = simulate(PANEL, BacktestConfig(params, day_date(FIRST_DAY + 100), day_date(FIRST_DAY + 100)))
    assert "USDCUSDT" not in run.last_picks and "BTCUPUSDT" not in run.last_picks
    one = simulate(PANEL, replace(BacktestConfig(params, day_date(FIRST_DAY + 100), day_date(FIRST_DAY + 100)),
                                  params=replace(params, topn=1, strategy="momentum")))
    twins = {"TWINAUSDT", "TWINBUSDT"}
    if twins & set(one.last_picks):
        assert one.last_picks == ("TWINAUSDT",)


def test_metrics_follow_their_definitions():
    cfg = BacktestConfig(StrategyParams(min_age_days=0, min_quote_volume=Decimal(0), topn=3),
                         day_date(FIRST_DAY + 10), day_date(FIRST_DAY + 120))
    run = simulate(PANEL, cfg)
    m = run_metrics(run)
    path = [cfg.capital] + run.equity.tolist()
    rets = [b / a - 1 for a, b in zip(path, path[1:])]
    mean = sum(rets) / len(rets)
    std = (sum((r - mean) ** 2 for r in rets) / (len(rets) - 1)) ** 0.5
    peak, worst = path[0], 0.0
    for e in path:
        peak = max(peak, e)
        worst = min(worst, e / peak - 1)
    assert m["sharpe"] == pytest.approx(mean / std * 365 ** 0.5, rel=1e-9)
    assert m["max_drawdown"] == pytest.approx(worst, rel=1e-9)
    assert m["cagr"] == pytest.approx((path[-1] / path[0]) ** (365 / len(rets)) - 1, rel=1e-9)
    assert m["total_return"] == pytest.approx(path[-1] / path[0] - 1, rel=1e-12)


@pytest.mark.parametrize("mode", ["full", "delta"])
def test_delay_one_fills_at_the_next_open_and_holds_cash_until_then(mode):
    """One coin whose opens jump away from the previous close: delay 0 buys at the signal day's close (100),
    delay 1 at the next day's open (125), so the same closes give different paths."""
    bars = {FIRST_DAY + i: Bar(o, c, 1e6) for i, (o, c) in enumerate([(90, 90), (95, 100), (125, 120), (118, 150)])}
    panel = panel_of({"AAAUSDT": bars})
    params = StrategyParams(lookback=timedelta(days=1), topn=1, mode=mode, min_age_days=0,
                            min_quote_volume=Decimal(0), fee_rate=Decimal(0), slippage_bps=Decimal(0))
    window = (day_date(FIRST_DAY + 1), day_date(FIRST_DAY + 3))
    at_close = simulate(panel, BacktestConfig(params, *window, delay=0, capital=1000.0))
    next_open = simulate(panel, BacktestConfig(params, *window, delay=1, capital=1000.0))
    assert at_close.equity.tolist() == pytest.approx([1000, 1200, 1500])  # 10 units from the close of 100
    assert next_open.equity.tolist() == pytest.approx([1000, 960, 1200])  # cash, then 8 units from the open of 125
    assert next_open.trade_rows.tolist() == [2, 3]  # the signals of days 1 and 2, each filled a day later


@pytest.mark.parametrize("min_age", [3, 5, 14])
def test_a_coins_age_is_counted_at_the_signal_instant_as_live(min_age):
    """Day t's signal is the live rebalance at t's close (t + 1 00:00 UTC): both count the coin's age there."""
    listed, params = FIRST_DAY + 30, StrategyParams(min_age_days=min_age, min_quote_volume=Decimal(0), topn=30)
    bars = {d: Bar(1.0, 1.0 + d / 1000, 1e6) for d in range(listed, listed + 40)}
    panel = panel_of({"AAAUSDT": bars, "BBBUSDT": {d: Bar(1.0, 1.0, 1e6) for d in range(FIRST_DAY, listed + 40)}})
    rows = np.arange(listed + 1, listed + 30) - panel.first_day
    ok, _ = eligible(panel, rows, 1, min_age, 0.0, np.ones(2, dtype=bool))
    first_open = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(days=listed)
    for row, backtest_ok in zip(rows.tolist(), ok[:, 0].tolist()):
        signal = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(days=panel.first_day + row + 1)
        snap = SymbolSnapshot(rules("AAAUSDT"), first_open, Decimal(2), Decimal(1), Decimal(10**6))
        assert backtest_ok == (ineligibility(snap, params, signal, frozenset({"AAA", "BBB"})) == ""), row
    assert ok[:, 0].any() and not ok[:, 0].all()  # the boundary lies inside the window
