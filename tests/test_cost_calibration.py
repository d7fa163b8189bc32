"""`bot.py costs calibrate`: the volume model's k fitted to the bot's own fills, from its database and the candle
cache, with the orders that say nothing about k counted by reason."""
from __future__ import annotations

import asyncio
import json
import math
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pytest
import sqlite_utils

from handlers.backtest_cli import main, parse
from tests.builders import paper_bot
from tradingbot.adapters.clock import ManualClock
from tradingbot.adapters.kline_store import KlineStore
from tradingbot.adapters.sqlite_store import SqliteStore, open_database
from tradingbot.adapters.synthetic import SyntheticMarket
from tradingbot.adapters.synthetic_books import SyntheticBooks
from tradingbot.bootstrap import open_candle_cache, open_filled_orders
from tradingbot.core.backtest import calibrate
from tradingbot.core.backtest.calibrate import FillCost, fit_impact_k
from tradingbot.core.backtest.execution import daily_sigma
from tradingbot.core.domain import Candle
from tradingbot.core.params import StrategyParams

START = datetime(2024, 6, 3, 9, tzinfo=timezone.utc)


def paper_rebalances(tmp_path, flat_first: bool = True):
    """A first rebalance priced flat (no books), then three a day apart walking the synthetic books; the
    synthetic market's daily candles of every traded symbol go into a candle cache."""
    clock = ManualClock(START)
    market = SyntheticMarket(clock, n_symbols=60)
    store, paper, services = paper_bot(tmp_path / "bot.sqlite", market, clock,
                                       StrategyParams(topn=4, min_age_days=1, latency_ms=0), Decimal(100_000))
    for n in range(4):
        paper.books = SyntheticBooks(market, clock) if n or not flat_first else None
        asyncio.run(services.rebalance_now())
        clock.advance(timedelta(days=1))
    cache = KlineStore(sqlite_utils.Database(tmp_path / "klines.sqlite"))
    for symbol in {f.symbol for f in store.fills()}:
        cache.put(symbol, "1d", asyncio.run(market.candles(symbol, "1d", START - timedelta(days=45), clock.now())))
    return store


def calibrate_cli(tmp_path, capsys, *flags: str) -> tuple[int, str, str]:
    args = parse(["costs", "calibrate", "--cache", str(tmp_path / "klines.sqlite"), *flags])
    code = main(args, open_candle_cache, tmp_path / "unused.sqlite",
                open_orders=lambda: open_filled_orders(tmp_path / "bot.sqlite"))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_paper_rebalances_walking_books_fit_a_finite_positive_k_and_count_the_flat_ones_left_out(tmp_path, capsys):
    store = paper_rebalances(tmp_path)
    flat = {f.client_order_id for f in store.fills() if f.priced_by == "flat"}
    walked = {f.client_order_id for f in store.fills() if f.priced_by == "book"}
    assert flat and len(walked) >= calibrate.MIN_FILLS and not flat & walked
    code, out, _ = calibrate_cli(tmp_path, capsys, "--json")
    fit = json.loads(out)
    assert code == 0 and math.isfinite(fit["k"]) and fit["k"] > 0 and math.isfinite(fit["rmse_bps"])
    assert fit["fills"] == len(walked) and fit["left_out_by_reason"] == {calibrate.FLAT: len(flat)}
    assert fit["at_signal_price"] == 0  # the paper venue records the book each order met
    code, out, _ = calibrate_cli(tmp_path, capsys)
    assert code == 0 and out.startswith(f"k = {fit['k']:.3f} from {len(walked)} orders ({len(flat)} left out)")
    assert f"left out: {len(flat)} {calibrate.FLAT}\n" in out and f"--impact-k {fit['k']:.3g}" in out


def test_an_empty_database_or_none_says_so_in_one_line(tmp_path, capsys):
    SqliteStore(open_database(tmp_path / "bot.sqlite"), "USDT")
    assert calibrate_cli(tmp_path, capsys) == (1, "", "⚠ no filled market orders in the database yet: nothing to "
                                                      "fit k to\n")
    (tmp_path / "bot.sqlite").unlink()
    code, out, err = calibrate_cli(tmp_path, capsys)
    assert code == 1 and err.count("\n") == 1 and "no bot database at" in err and not (tmp_path / "bot.sqlite").exists()


DAY = date(2024, 3, 10)  # the planted orders' day: σ and the candles' volume are read to the 9th
T = f"{DAY}T10:00:00.000Z"


def planted_closes(i: int) -> list[float]:
    """40 days of a made-up coin's closes (to the 9th): a drift and a wiggle of its own."""
    return [(10 + i) * math.exp(0.01 * i * d + 0.03 * math.sin(d * (1.3 + i))) for d in range(40)]


def planted_range(c: float, d: int) -> tuple[float, float]:
    """The day's high and low around its close."""
    return c * (1 + 0.01 * (1 + d % 3)), c * (1 - 0.01 * (1 + d % 2))


def plant(tmp_path, orders: list[tuple]) -> None:
    """The orders (coid, symbol, side, signal_mid, send_mid, send_touch, avg_price, fills [(qty, quote)],
    priced_by, ranked volume) in a bot database, and AAAUSDT's and BBBUSDT's candles in a cache."""
    db = open_database(tmp_path / "bot.sqlite")
    SqliteStore(db, "USDT")
    db["rebalances"].insert({"id": 1, "slot": "S1", "kind": "manual", "state": "done", "started_at": T,
                             "targets": "[]", "equity_before": "1000", "turnover": "0", "fees": "0"})
    for coid, symbol, side, signal, mid, touch, avg, fills, priced_by, ranked in orders:
        db["orders"].insert({"client_order_id": coid, "rebalance_id": 1, "slot": "S1", "leg": side[0], "symbol": symbol,
                             "side": side, "status": "filled", "created_at": T, "updated_at": T, "signal_mid": signal, "send_mid": mid,
                             "send_touch": touch, "avg_price": avg})
        for n, (qty, quote) in enumerate(fills):
            db["fills"].insert({"client_order_id": coid, "rebalance_id": 1, "symbol": symbol, "side": side,
                                "price": str(Decimal(quote) / Decimal(qty)), "quantity": qty, "quote_quantity": quote,
                                "commission": "0", "commission_asset": "USDT", "fee_quote": "0", "time": T,
                                "trade_id": f"{coid}-{n}", "priced_by": priced_by})
        if ranked:
            db["rankings"].insert({"rebalance_id": 1, "symbol": symbol, "quote_volume": ranked, "eligible": 1,
                                   "selected": 1, "reason": ""})
    cache = KlineStore(sqlite_utils.Database(tmp_path / "klines.sqlite"))
    for i, symbol in enumerate(("AAAUSDT", "BBBUSDT")):
        first = datetime(DAY.year, DAY.month, DAY.day, tzinfo=timezone.utc) - timedelta(days=40)
        cache.put(symbol, "1d", [Candle(first + timedelta(days=d), first + timedelta(days=d + 1, milliseconds=-1),
                                        Decimal(repr(c)), *(Decimal(repr(v)) for v in planted_range(c, d)),
                                        Decimal(repr(c)), Decimal(1000 + d), Decimal(repr((1000 + d) * c * (1 + i))))
                                 for d, c in enumerate(planted_closes(i))])


def test_planted_orders_fit_what_the_pure_fit_gives_with_sigma_and_volume_read_by_hand(tmp_path, capsys):
    plant(tmp_path, [
        ("b1", "AAAUSDT", "BUY", "9.9", "10", "10.01", "10.03", [("10", "100.3")], "book", "2000000"),
        ("b2", "AAAUSDT", "BUY", "9.9", "10", "10.01", "10.06", [("50", "502.5"), ("50", "503.5")], "book", "2000000"),
        ("s1", "AAAUSDT", "SELL", "9.9", "10", "9.99", "9.95", [("20", "199")], "book", "2000000"),
        ("b3", "BBBUSDT", "BUY", "12", "11", "11.02", "11.2", [("100", "1120")], "book", None),  # volume: the cache's
        ("s2", "BBBUSDT", "SELL", "12", "11", "10.99", "10.9", [("30", "327")], None, None),
        ("s3", "BBBUSDT", "SELL", "12", "11", None, "10.98", [("10", "109.8")], "book", None),  # no touch: spread 0
        # a Binance fill: no book recorded, so the signal price is the mid and the candles give the half-spread
        ("live", "BBBUSDT", "BUY", "11.05", None, None, "11.3", [("10", "113")], None, None),
        ("old", "AAAUSDT", "BUY", None, None, None, None, [("1", "10")], None, None),  # before V10: no mid
        ("flat", "AAAUSDT", "BUY", "9.9", "10", "10.01", "10.01", [("1", "10.01")], "flat", None),
        ("nocandles", "CCCUSDT", "BUY", "5", "5", "5.01", "5.02", [("1", "5.02")], "book", "1000000"),
    ])
    code, out, err = calibrate_cli(tmp_path, capsys, "--json")
    assert code == 0, err
    got = json.loads(out)

    def sigma(i: int) -> float:
        closes = np.array(planted_closes(i)[-31:])
        return float(np.std(np.diff(np.log(closes)), ddof=1))

    def volume(i: int) -> float:  # the mean daily quote volume of the 7 days to the 9th
        return float(np.mean([(1000 + d) * c * (1 + i) for d, c in enumerate(planted_closes(i))][-7:]))
    def half_spread(i: int) -> float:  # Abdi–Ranaldo over the 30 days to the 9th: √ mean (c₋₁ − η₋₁)(c₋₁ − η)
        c = np.log(planted_closes(i)[-31:])
        eta = np.array([sum(map(math.log, planted_range(v, d))) / 2 for d, v in enumerate(planted_closes(i))][-31:])
        return math.sqrt(max(float(np.mean((c[:-1] - eta[:-1]) * (c[:-1] - eta[1:]))), 0.0))
    a, b = sigma(0), sigma(1)
    assert half_spread(1) > 0.001
    # the same σ the backtester's model reads
    assert daily_sigma(np.array(planted_closes(0)[-31:])[:, None])[0] == pytest.approx(a, rel=1e-12)
    expected = fit_impact_k([
        FillCost("BUY", 10, 10.03, 100.3, 2e6, a, 0.001), FillCost("BUY", 10, 10.06, 1006, 2e6, a, 0.001),
        FillCost("SELL", 10, 9.95, 199, 2e6, a, 0.001), FillCost("BUY", 11, 11.2, 1120, volume(1), b, 0.02 / 11),
        FillCost("SELL", 11, 10.9, 327, volume(1), b, 0.01 / 11), FillCost("SELL", 11, 10.98, 109.8, volume(1), b, 0),
        FillCost("BUY", 11.05, 11.3, 113, volume(1), b, half_spread(1))])
    assert got["fills"] == 7 and got["at_signal_price"] == 1 and got["k"] > 0
    for key in ("k", "rmse_bps", "median_abs_error_bps", "r_squared"):
        assert got[key] == pytest.approx(getattr(expected, key), rel=1e-9), key
    assert got["left_out"] == 3 and got["left_out_by_reason"] == {
        calibrate.NO_MID: 1, calibrate.FLAT: 1, calibrate.NO_SIGMA: 1}
