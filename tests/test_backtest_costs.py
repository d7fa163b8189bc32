"""The backtester's cost models: flat (fee + slippage_bps) and volume (Abdi–Ranaldo half-spread + square-root
impact), checked by hand on a tiny panel, for scale, for monotony in capital, and through /backtest's keys."""
from __future__ import annotations

import argparse
import json
import math
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from decimal import Decimal

import numpy as np
import pytest

from handlers.backtest_cli import main, parse
from handlers.backtest_flags import add_arguments, pairs_from_args
from charts.capacity import capacity_chart
from handlers.backtest_text import capacity_json, capacity_text, edge_verdict, report_json, report_text
from tests.backtest_data import make_candles, write_candles_csv
from tests.test_backtest_cli import bot
from tradingbot.app.backtester import Backtester
from tradingbot.adapters.backtest_runs import run_result
from tradingbot.adapters.candle_cache import FileCandles, SqliteCandleCache
from tradingbot.adapters.clock import ManualClock
from tradingbot.core.backtest.calibrate import FillCost, fit_impact_k
from tradingbot.core.backtest.capacity import Capacity, CapacityPoint, cost_bps, parse_capitals
from tradingbot.core.backtest.config import BacktestConfig
from tradingbot.core.backtest.execution import Execution, half_spread, spread_products, two_day_spreads
from tradingbot.core.backtest.metrics import run_metrics
from tradingbot.core.backtest.options import config_from_pairs
from tradingbot.core.backtest.panel import build_panel
from tradingbot.core.backtest.simulate import simulate
from tradingbot.core.errors import UserError
from tradingbot.core.params import StrategyParams

# One coin over three days; the run buys it once, at day 2's close.
#   day  close  high   low    quote volume
#   0    100    101    99     1e6
#   1    100.5  101.5  99.5   1e6
#   2    98     100    96     1e6
TINY = ([100.0, 100.5, 98.0], [101.0, 101.5, 100.0], [99.0, 99.5, 96.0])


def tiny_panel():
    close, high, low = (np.array(c) for c in TINY)
    return build_panel(np.array(["AUSDT"] * 3), np.array([19000, 19001, 19002]), close, close, np.full(3, 1e6),
                       high=high, low=low)


def tiny_config(**execution) -> BacktestConfig:
    params = StrategyParams(lookback=StrategyParams().lookback / 7, topn=1, min_age_days=0,
                            min_quote_volume=Decimal(0), fee_rate=Decimal(0), slippage_bps=Decimal(0))
    panel = tiny_panel()
    return BacktestConfig(params, start=panel.date_of(2), end=panel.date_of(2), execution=Execution(**execution))


def test_the_abdi_ranaldo_estimate_worked_by_hand():
    # c = ln close, η = (ln high + ln low) / 2:  c₀ − η₀ = ln(100 / √(101 × 99)) = 5.0003e-5,
    #   c₀ − η₁ = ln(100 / √(101.5 × 99.5)) = −0.00498804 → product at row 1: −2.46914e-7 (negative: kept, averaged);
    #   c₁ − η₁ = ln(100.5 / √(101.5 × 99.5)) = 4.95062e-5, c₁ − η₂ = ln(100.5 / √(100 × 96)) = 0.0253985
    #   → product at row 2: 1.25738e-6. Mean over the window: 5.05235e-7; s = √(4 × mean), half of it √mean = 7.108 bps.
    panel = tiny_panel()
    products = spread_products(panel.close, panel.high, panel.low)[:, 0]
    assert math.isnan(products[0])
    assert products[1:] == pytest.approx([-2.469141126684724e-07, 1.2573845289119208e-06], rel=1e-6)
    assert half_spread(panel.close, panel.high, panel.low)[0] == pytest.approx(0.0007107989927692105, rel=1e-6)
    assert half_spread(panel.close[:2], panel.high[:2], panel.low[:2])[0] == 0.0  # the one product so far is negative: the paper's floor at 0


def test_the_corwin_schultz_estimate_kept_for_comparison_worked_by_hand():
    # Days 0 → 1: β = ln(101/99)² + ln(101.5/99.5)² = 0.000796083, γ = ln(101.5/99)² = 0.000621951,
    #   α = (√(2β) − √β)/(3 − 2√2) − √(γ/(3 − 2√2)) = 0.00790893, S = 2(e^α − 1)/(1 + e^α) = 0.00790889.
    # Days 1 → 2: β = ln(101.5/99.5)² + ln(100/96)² = 0.00206249, γ = ln(101.5/96)² = 0.00310367,
    #   α = −0.0248566 → S = −0.0248553 < 0: volatility, not the spread, made the range; set to 0 as the paper does.
    panel = tiny_panel()
    s = two_day_spreads(panel.high, panel.low)[:, 0]
    assert math.isnan(s[0])
    assert s[1] == pytest.approx(0.007908892526591878, rel=1e-9)
    assert s[2] == 0.0


def test_the_volume_model_reproduces_a_hand_computed_fill():
    # Half-spread at day 2: 0.000710799 (above).
    # σ_daily: returns ln(100.5/100) = 0.00498754 and ln(98/100.5) = −0.0251902, sample std = 0.0213389.
    # Impact: k σ √(order / volume) = 1 × 0.0213389 × √(10,000 / 1e6) = 0.00213389.
    # The buy spends 10,000 at 98 × (1 + 0.000710799 + 0.00213389) = 98 × 1.00284469, so the holding is worth
    # 10,000 / 1.00284469 = 9,971.6338 at the close; spread 10,000 × 0.000710799 / 1.00284469 = 7.0878, impact 21.2784.
    run = simulate(tiny_panel(), tiny_config(cost_model="volume", impact_k=1.0))
    assert run.equity[-1] == pytest.approx(9971.63378300448, rel=1e-9)
    assert run.spread == pytest.approx(7.087827249223015, rel=1e-6)
    assert run.impact == pytest.approx(21.278389746298295, rel=1e-9)
    assert run.spread + run.impact + run.equity[-1] == pytest.approx(10_000, rel=1e-12)  # the split adds up
    flat = simulate(tiny_panel(), tiny_config())
    assert flat.equity[-1] == pytest.approx(10_000, rel=1e-12) and flat.spread == flat.impact == 0.0


def ranged_panel(pad: float):
    """The synthetic candles with highs and lows `pad` beyond the open and close (0: no range at all)."""
    rows = [(s, d, b) for s, bars in make_candles(seed=3).items() for d, b in bars.items()]
    o, c = (np.array([getattr(r[2], k) for r in rows]) for k in ("open", "close"))
    hi, lo = (np.maximum(o, c), np.minimum(o, c)) if pad else (c, c)
    return build_panel(np.array([r[0] for r in rows]), np.array([r[1] for r in rows]), o, c,
                       np.array([r[2].quote_volume for r in rows]), high=hi * (1 + pad), low=lo * (1 - pad))


def synthetic_config(mode: str, capital: float, **execution) -> BacktestConfig:
    params = StrategyParams(topn=4, mode=mode, min_quote_volume=Decimal(0), fee_rate=Decimal("0.002"),
                            slippage_bps=Decimal(7))
    return BacktestConfig(params, capital=capital, execution=Execution(**execution))


@pytest.mark.parametrize("mode", ["delta", "full"])
def test_without_spread_and_impact_the_volume_model_is_the_flat_one_at_any_capital(mode):
    panel = ranged_panel(0.0)  # high = low = close: c − η is 0, so every spread product and the spread are 0
    flat = simulate(panel, synthetic_config(mode, 1e4))
    small, large = (simulate(panel, synthetic_config(mode, c, cost_model="volume", impact_k=0.0)) for c in (1e4, 1e8))
    np.testing.assert_allclose(small.equity / 1e4, large.equity / 1e8, rtol=1e-9)
    np.testing.assert_allclose(small.equity, flat.equity, rtol=1e-9)  # full mode: the loop against the closed form
    assert small.slippage == pytest.approx(flat.slippage, rel=1e-9) and small.spread == small.impact == 0.0


@pytest.mark.parametrize("mode", ["delta", "full"])
def test_under_the_volume_model_more_capital_pays_more_and_earns_less(mode):
    panel = ranged_panel(0.002)
    runs = [run_metrics(simulate(panel, synthetic_config(mode, c, cost_model="volume"))) for c in (1e4, 1e5, 1e6, 1e7)]
    returns = [m["total_return"] for m in runs]
    impact_share = [m["impact_paid"] / (m["impact_paid"] + m["spread_paid"]) for m in runs]
    assert returns == sorted(returns, reverse=True) and returns[0] > returns[-1]
    assert impact_share == sorted(impact_share) and runs[0]["spread_paid"] > 0
    flat = [run_metrics(simulate(panel, synthetic_config(mode, c)))["total_return"] for c in (1e4, 1e7)]
    assert flat[0] == pytest.approx(flat[1], rel=1e-9)  # flat stays scale-free


def test_the_cost_model_comes_from_flags_and_backtest_keys_and_reaches_the_json(tmp_path):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--cost-model", "volume", "--impact-k", "0.5", "--topn", "4", "--min-quote-volume", "0"])
    base = BacktestConfig()
    config = config_from_pairs(pairs_from_args(args), base.params, base)
    assert config.execution == Execution("volume", 0.5)
    chat = config_from_pairs(["cost_model=Volume", "impact_k=0.5", "topn=4", "min_volume=0"], base.params)
    assert chat == config
    report = Backtester(FileCandles(tmp_path / "unused")).run(config, panel=ranged_panel(0.002))
    out = report_json(report)
    assert out["params"]["cost_model"] == "volume" and out["params"]["impact_k"] == 0.5
    assert out["spread_paid"] > 0 and out["impact_paid"] > 0 and out["slippage_paid"] > 0 and out["fees_paid"] > 0
    text = report_text(report)
    assert "volume costs (k 0.5)" in text
    kept = run_result(report)["settings"]  # a kept run (the dashboard's Backtests page) says how it was priced
    assert kept["cost_model"] == "volume" and kept["impact_k"] == 0.5 and kept["capital"] == 10_000
    assert f"spread {out['spread_paid']:,.0f}" in text and f"impact {out['impact_paid']:,.0f}" in text


@pytest.mark.parametrize("pairs, says", [
    (["cost_model=foo"], "cost_model must be flat or volume (got 'foo')"),
    (["impact_k=-1"], "impact_k must be a number from 0 to 100, like 1 (got '-1')"),
    (["impact_k=abc"], "impact_k must be a number from 0 to 100, like 1 (got 'abc')"),
    (["cost_model=volume", "cost_model=flat"], "cost_model is given twice; give each key once"),
])
def test_a_bad_cost_model_value_is_one_clear_line(pairs, says):
    with pytest.raises(UserError) as e:
        config_from_pairs(pairs, StrategyParams())
    assert str(e.value) == says


def test_a_panel_without_highs_and_lows_is_refused_by_the_volume_model():
    panel = ranged_panel(0.0)
    bare = replace(panel, high=None, low=None)
    with pytest.raises(UserError, match="highs and lows"):
        simulate(bare, synthetic_config("delta", 1e4, cost_model="volume"))


def write_candles(path: Path, pad: float = 0.002) -> Path:
    """The synthetic candles as a long CSV with highs and lows `pad` beyond the open and close."""
    return write_candles_csv(path, make_candles(seed=3), pad)


def test_capacity_runs_one_configuration_at_each_capital_and_says_where_the_edge_goes(tmp_path):
    candles = FileCandles(write_candles(tmp_path / "c.csv"))
    config = config_from_pairs(["topn=4", "min_volume=0", "lookback=3d", "strategy=reversal"], StrategyParams())
    result = Backtester(candles).capacity(config, parse_capitals("1e8, 1e4,1e6"))
    assert [p.capital for p in result.points] == [1e4, 1e6, 1e8]
    assert result.config.execution.volume and result.config.params.topn == 4
    impact = [cost_bps(p.metrics, "impact_paid") for p in result.points]
    assert impact == sorted(impact) and impact[0] < impact[-1]
    assert result.zero_cost["fees_paid"] == result.zero_cost["spread_paid"] == 0
    assert result.zero_cost["total_return"] > result.points[0].metrics["total_return"]
    out = capacity_json(result)
    assert [row["capital"] for row in out["capacity"]] == [1e4, 1e6, 1e8] and out["params"]["cost_model"] == "volume"
    assert out["edge_gone_at"] == result.edge_gone_at and {"spread_paid", "impact_paid"} <= set(out["capacity"][0])
    text = capacity_text(result)
    assert "100,000,000" in text and edge_verdict(result) in text
    png = capacity_chart(result, "settings")
    assert png.startswith(b"\x89PNG") and len(png) > 10_000


def point(capital: float, total_return: float) -> CapacityPoint:
    return CapacityPoint(capital, {"total_return": total_return, "cagr": total_return})


@pytest.mark.parametrize("returns, zero, gone, says", [
    ([0.5, 0.1, -0.2, -0.5], 0.6, 1e6, "the edge is gone at 1,000,000: the first capital whose net return is ≤ 0"),
    ([0.5, 0.4, 0.3, 0.2], 0.6, None, "the edge holds at every capital tried (net return > 0 up to 10,000,000"),
    ([-0.1, -0.2, -0.3, -0.4], -0.05, 1e4, "no edge even before costs"),
])
def test_the_edge_is_gone_at_the_first_capital_without_a_positive_net_return(returns, zero, gone, says):
    c = Capacity(BacktestConfig(), tuple(point(10.0 ** (4 + i), r) for i, r in enumerate(returns)),
                 {"total_return": zero, "cagr": zero})
    assert c.edge_gone_at == gone and edge_verdict(c).startswith(says)


@pytest.mark.parametrize("text, says", [
    ("1e4,abc", "--capacity takes capitals above 0 separated by commas, like 1e4,1e5,1e6 (got 'abc')"),
    ("1e4,-5", "--capacity takes capitals above 0 separated by commas, like 1e4,1e5,1e6 (got '-5')"),
    (",".join(["1e4"] * 3 + [str(10 ** i) for i in range(13)]), "--capacity takes 1 to 12 capitals (got 13)"),
])
def test_bad_capacity_capitals_are_one_clear_line(text, says):
    with pytest.raises(UserError) as e:
        parse_capitals(text)
    assert str(e.value) == says


def test_the_cli_prints_the_capacity_as_json_and_refuses_a_bad_cost_model_in_one_line(tmp_path):
    data = str(write_candles(tmp_path / "c.csv"))
    done = bot("backtest", "--data", data, "--min-quote-volume", "0", "--capacity", "1e4,1e7", "--json",
               "--chart", str(tmp_path / "cap.png"))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert [row["capital"] for row in out["capacity"]] == [1e4, 1e7] and "zero_cost" in out
    assert (tmp_path / "cap.png").read_bytes().startswith(b"\x89PNG")
    for flags, says in ((["--cost-model", "foo"], "cost_model must be flat or volume (got 'foo')"),
                        (["--impact-k", "-1"], "impact_k must be a number from 0 to 100, like 1 (got '-1')")):
        bad = bot("backtest", "--data", data, *flags)
        assert bad.returncode == 1 and bad.stdout == "" and bad.stderr == f"⚠ {says}\n"


def model_fill(side: str, quote: float, k: float, half_spread: float = 0.001) -> FillCost:
    """An order that paid exactly what the volume model with this k says (mid 100, volume 1e6, σ 4 %)."""
    cost = half_spread + k * 0.04 * math.sqrt(quote / 1e6)
    return FillCost(side, 100.0, 100.0 * (1 + cost if side == "BUY" else 1 - cost), quote, 1e6, 0.04, half_spread)


def test_k_is_fitted_back_from_fills_that_paid_what_the_model_says():
    fills = [model_fill(side, q, 0.7) for side in ("BUY", "SELL") for q in (1e2, 1e3, 1e4, 1e5)]
    fills.append(FillCost("BUY", 0.0, 101.0, 1e3, 1e6, 0.04))  # no mid: no information on k
    fit = fit_impact_k(fills)
    assert fit.k == pytest.approx(0.7, rel=1e-9) and fit.fills == 8 and fit.left_out == 1
    assert fit.rmse_bps == pytest.approx(0, abs=1e-9) and fit.r_squared == pytest.approx(1.0)
    # One order of 1e4 quote that paid 10 bps: y = 0.0010 − 0.001 = 0, x = 0.04 × 0.1 = 0.004, so it pulls k down.
    noisy = fit_impact_k([*fills, FillCost("BUY", 100.0, 100.1, 1e4, 1e6, 0.04, 0.001)])
    assert 0 < noisy.k < 0.7 and noisy.rmse_bps > 0


def test_k_is_never_negative_and_too_few_fills_are_one_clear_line():
    cheap = [FillCost("BUY", 100.0, 100.0, q, 1e6, 0.04, 0.001) for q in (1e2, 1e3, 1e4, 1e5, 1e6)]
    assert fit_impact_k(cheap).k == 0.0  # paid less than the half-spread: no impact to fit
    with pytest.raises(UserError) as e:
        fit_impact_k(cheap[:2] + [FillCost("SELL", 100.0, 99.0, 1e3, 0.0, 0.04)])
    assert str(e.value) == ("calibrating k needs at least 5 market orders with a mid price, a daily volume and a σ "
                            "(found 2 of 3)")


def run_cli(tmp_path, *argv: str) -> int:
    args = parse(["backtest", *argv])
    return main(args, lambda p: SqliteCandleCache(p, ManualClock(datetime(2024, 1, 1, tzinfo=timezone.utc))),
                tmp_path / "absent.sqlite")


def test_bot_py_backtest_calibrate_k_fits_k_from_a_csv_of_orders(tmp_path, capsys):
    rows = [model_fill(side, q, 0.7) for side in ("BUY", "SELL") for q in (1e2, 1e3, 1e4, 1e5)]
    path = tmp_path / "orders.csv"
    path.write_text("side,mid,avg_price,quote,volume,sigma,half_spread\n" + "".join(
        f"{f.side},{f.mid!r},{f.avg_price!r},{f.quote!r},{f.volume!r},{f.sigma!r},{f.half_spread!r}\n" for f in rows))
    assert run_cli(tmp_path, "--calibrate-k", str(path), "--json") == 0
    fit = json.loads(capsys.readouterr().out)
    assert fit["k"] == pytest.approx(0.7, rel=1e-9) and fit["fills"] == 8
    assert run_cli(tmp_path, "--calibrate-k", str(path)) == 0
    assert "--impact-k 0.7" in capsys.readouterr().out
    path.write_text("side,mid,avg_price,quote\nBUY,1,1,1\n")
    assert run_cli(tmp_path, "--calibrate-k", str(path)) == 1
    err = capsys.readouterr().err
    assert err == "⚠ orders.csv lacks the column(s) volume, sigma (wanted: side, mid, avg_price, quote, volume, sigma, " \
                  "half_spread optional)\n"


@pytest.mark.parametrize("mode", ["delta", "full"])
def test_on_hourly_candles_the_volume_model_reads_daily_ranges_and_gives_the_daily_result(mode):
    """Spread and σ are daily quantities: hourly candles that only move at midnight (each hour carrying the
    day's high and low) must cost what the daily candles cost, not 30 hours' worth of estimates."""
    rows = [(s, d, b) for s, bars in make_candles(seed=3).items() for d, b in bars.items()]
    o, c, qv = (np.array([getattr(r[2], k) for r in rows]) for k in ("open", "close", "quote_volume"))
    hi, lo = np.maximum(o, c) * 1.002, np.minimum(o, c) * 0.998
    names, days = np.array([r[0] for r in rows]), np.array([r[1] for r in rows])
    daily = build_panel(names, days, o, c, qv, high=hi, low=lo)
    hour = np.tile(np.arange(24), len(rows))
    hourly = build_panel(np.repeat(names, 24), np.repeat(days, 24) * 24 + hour,
                         np.where(hour == 0, np.repeat(o, 24), np.repeat(c, 24)), np.repeat(c, 24),
                         np.repeat(qv, 24) / 24, step_ms=3_600_000, high=np.repeat(hi, 24), low=np.repeat(lo, 24))
    cfg = synthetic_config(mode, 1e6, cost_model="volume")
    want, got = simulate(daily, cfg), simulate(hourly, cfg)
    assert want.spread > 0 and want.impact > 0
    np.testing.assert_allclose(got.daily_equity, want.equity, rtol=1e-9)
    assert (got.spread, got.impact) == (pytest.approx(want.spread, rel=1e-9), pytest.approx(want.impact, rel=1e-9))
