"""The backtester's volume cost model against book walks on the Binance stand-in's order books, same orders.

For every symbol trading on one day (the shared real data when present, else bench_backtest's synthetic file),
the stand-in's book is built as its server would serve it (standins/binance_book.py: levels a basis point
apart, each holding a share of the day's quote volume), and market orders of 1e2 … 1e6 quote are walked through
it by the paper venue's own walk (tradingbot/core/book_walk.py), buys through the asks and sells through the
bids. Each order's cost against the mid is set beside the model's prediction (Abdi–Ranaldo half-spread +
k·σ·√(order / volume), k = 1), the error printed per order size; then k is fitted to the walks with the function
`bot.py costs calibrate` runs on the bot's real fills (tradingbot/core/backtest/calibrate.py) and the error
printed again. Not a timing: it ends with one JSON line.

    python benchmarks/calibrate_costs.py [--day 2024-06-30]
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_backtest import SHARED, synthetic_file  # noqa: E402

from standins.binance_book import LEVELS, book_of  # noqa: E402
from tradingbot.adapters.kline_import import panel_from_file  # noqa: E402
from tradingbot.core.backtest.calibrate import FillCost, fit_impact_k  # noqa: E402
from tradingbot.core.backtest.execution import DEFAULT_IMPACT_K, model_inputs  # noqa: E402
from tradingbot.core.book_walk import BookLevel, OrderBook, walk_book  # noqa: E402
from tradingbot.core.domain import Side, SymbolRules  # noqa: E402

SIZES = (1e2, 1e3, 1e4, 1e5, 1e6)


def rules_for(symbol: str, mid: float) -> SymbolRules:
    """Binance-like filters: a tick about 1e-5 of the price, 8-decimal steps (the book's gap is then 1 bp)."""
    tick = Decimal(10) ** (math.floor(math.log10(mid)) - 5)
    return SymbolRules(symbol, symbol[:-4], "USDT", "TRADING", Decimal("0.00000001"), Decimal("0.00000001"),
                       Decimal(0), Decimal(0), tick)


def walked(symbol: str, mid: float, volume: float, side: str, quote: float) -> tuple[float, float, bool]:
    """(cost against the mid, touch's half-spread, book too shallow) of a market order of `quote` walked by the
    paper venue's walk through the stand-in's book."""
    rules = rules_for(symbol, mid)
    served = book_of(rules, Decimal(repr(mid)), Decimal(repr(volume)))
    book = OrderBook(symbol, *(tuple(BookLevel(lv.price, lv.qty) for lv in levels)
                               for levels in (served.bids, served.asks)), limit=LEVELS)
    buy = side == "BUY"  # a buy of `quote` through the asks; a sell of the base worth `quote` at the mid
    w = walk_book(book, Side.BUY if buy else Side.SELL, rules, Decimal(0), quote_amount=Decimal(repr(quote)) if buy
                  else None, qty=None if buy else Decimal(repr(quote / mid)))
    move = float(w.avg_price) / mid - 1
    return (move if buy else -move), abs(float(book.touch(Side.BUY if buy else Side.SELL)) / mid - 1), w.short


def orders(day: date) -> tuple[list[dict], str]:
    data = SHARED if SHARED.exists() else synthetic_file(Path(tempfile.mkdtemp(prefix="itb-cal-")))
    panel = panel_from_file(data, ranges=True)[0]
    row = panel.row(day) if SHARED.exists() else panel.days - 1
    spread, sigma = model_inputs(panel, np.full(len(panel.symbols), row), np.arange(len(panel.symbols)))
    out = []
    for col in np.flatnonzero(panel.has[row] & (panel.volume_mean[row] > 0) & (sigma > 0)):
        mid, volume = float(panel.close[row, col]), float(panel.volume_mean[row, col])
        for side in ("BUY", "SELL"):
            for quote in SIZES:
                cost, touch, ran_out = walked(panel.symbols[col], mid, volume, side, quote)
                out.append({"side": side, "quote": quote, "volume": volume, "sigma": float(sigma[col]),
                            "model_spread": float(spread[col]), "mid": mid, "cost": cost, "touch": touch,
                            "ran_out": ran_out})
    return out, "real" if data == SHARED else "synthetic"


def predicted(o: dict, k: float, with_spread: bool = True) -> float:
    return (o["model_spread"] if with_spread else o["touch"]) + k * o["sigma"] * math.sqrt(o["quote"] / o["volume"])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--day", default="2024-06-30")
    day = date.fromisoformat(parser.parse_args().day)
    walks, data = orders(day)
    kept = [o for o in walks if not o["ran_out"]]  # a book shallower than the order has no price for its rest
    fit = fit_impact_k(FillCost(o["side"], o["mid"], o["mid"] * (1 + o["cost"] if o["side"] == "BUY" else 1 - o["cost"]),
                                o["quote"], o["volume"], o["sigma"], o["touch"]) for o in kept)
    print(f"data: {data}, {day}; {len(walks)} orders on {len(walks) // (2 * len(SIZES))} symbols' stand-in books, "
          f"{len(walks) - len(kept)} deeper than the book's 100 levels (left out)")
    print(f"{'order':>10}{'median Q/V':>12}{'book bps':>10}{'model bps':>11}{'error bps':>11}"
          f"{'impact only':>13}{'refit error':>13}")
    by_size = {}
    for q in SIZES:
        mine = [o for o in kept if o["quote"] == q]
        if not mine:
            continue
        book = statistics.median(o["cost"] for o in mine) * 1e4
        model = statistics.median(predicted(o, DEFAULT_IMPACT_K) for o in mine) * 1e4
        impact = statistics.median(abs(predicted(o, DEFAULT_IMPACT_K, False) - o["cost"]) for o in mine) * 1e4
        refit = statistics.median(abs(predicted(o, fit.k, False) - o["cost"]) for o in mine) * 1e4
        error = statistics.median(abs(predicted(o, DEFAULT_IMPACT_K) - o["cost"]) for o in mine) * 1e4
        by_size[q] = {"book_bps": book, "model_bps": model, "abs_error_bps": error, "impact_abs_error_bps": impact,
                      "refit_abs_error_bps": refit}
        print(f"{q:>10,.0f}{statistics.median(o['quote'] / o['volume'] for o in mine):>12.2e}{book:>10.1f}"
              f"{model:>11.1f}{error:>11.1f}{impact:>13.1f}{refit:>13.1f}")
    print(f"k fitted to the walks: {fit.k:.3f} (default {DEFAULT_IMPACT_K:g}); rmse {fit.rmse_bps:.1f} bps, "
          f"median |error| {fit.median_abs_error_bps:.1f} bps, R² {fit.r_squared:.2f} over {fit.fills} orders")
    print("errors are medians of |model − book| per order, in bps; 'impact only' uses the book's own touch as the "
          "spread, 'refit error' that and the fitted k")
    print(json.dumps({"data": data, "day": str(day), "orders": len(walks), "deeper_than_book": len(walks) - len(kept),
                      "fitted_k": round(fit.k, 4), "fit_rmse_bps": round(fit.rmse_bps, 2),
                      "fit_r_squared": round(fit.r_squared, 3),
                      "by_size": {f"{q:g}": {k: round(v, 2) for k, v in m.items()} for q, m in by_size.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
