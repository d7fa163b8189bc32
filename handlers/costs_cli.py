"""`bot.py costs calibrate`: the volume cost model's k fitted to the bot's own fills, and the CSV variant
`bot.py backtest --calibrate-k orders.csv`. Offline like `bot.py backtest`: this module parses and prints; the
fit is the app's use case over the FilledOrders port (the bot's database) and the candle cache."""
from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Callable

from tradingbot.app.ports import CandleCache, FilledOrders
from tradingbot.core.backtest.calibrate import KFit
from tradingbot.core.errors import UserError
from tradingbot.core.params import StrategyParams

CALIBRATION_COLUMNS = ("side", "mid", "avg_price", "quote", "volume", "sigma")
OpenOrders = Callable[[], FilledOrders]


def add_subcommand(sub: argparse._SubParsersAction) -> None:
    costs = sub.add_parser("costs", help="the volume cost model against the bot's own fills")
    verbs = costs.add_subparsers(dest="verb", required=True)
    cal = verbs.add_parser("calibrate", help="fit the volume model's k to the filled market orders in the bot's "
                           "database (σ and volume from the candle cache)")
    cal.add_argument("--json", action="store_true", help="print one JSON object")
    cal.add_argument("--cache", metavar="PATH", help="the candle cache (default: KLINE_DB_PATH)")


def calibrate(args: argparse.Namespace, open_orders: OpenOrders, cache: CandleCache) -> int:
    """Fit k to the database's fills and print it, with the fit's error and the orders left out by reason."""
    from tradingbot.app.cost_calibration import calibrate_from_fills

    result = calibrate_from_fills(open_orders(), cache.source(), StrategyParams().quote)
    show = fit_json if args.json else fit_text
    print(show(result.fit, result.left_out, result.at_signal))
    return 0


def calibrate_csv(path: Path, as_json: bool) -> int:
    """Fit k to the market orders listed in a CSV (one per line) and print it, with the fit's error."""
    from tradingbot.core.backtest.calibrate import FillCost, fit_impact_k

    if not path.is_file():
        raise UserError(f"no such file: {path}")
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in CALIBRATION_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise UserError(f"{path.name} lacks the column(s) {', '.join(missing)} (wanted: "
                            f"{', '.join(CALIBRATION_COLUMNS)}, half_spread optional)")
        try:
            fills = [FillCost(r["side"], *(float(r[c]) for c in CALIBRATION_COLUMNS[1:]),
                              float(r.get("half_spread") or 0)) for r in reader]
        except ValueError as e:
            raise UserError(f"{path.name} line {reader.line_num}: {e}") from None
    fit = fit_impact_k(fills)
    reasons = {"without a mid, volume or σ": fit.left_out} if fit.left_out else {}
    print(fit_json(fit, reasons) if as_json else fit_text(fit, reasons))
    return 0


def fit_text(fit: KFit, left_out: dict[str, int], at_signal: int = 0) -> str:
    lines = [f"k = {fit.k:.3f} from {fit.fills} orders ({sum(left_out.values())} left out); error rmse "
             f"{fit.rmse_bps:.1f} bps, median {fit.median_abs_error_bps:.1f} bps, R² {fit.r_squared:.2f}"]
    if at_signal:  # a Binance venue reports fills, not the book they met
        lines.append(f"{at_signal} of them against the price at the signal and the candles' half-spread (the "
                     "venue did not report the book it met)")
    lines += [f"left out: {n} {reason}" for reason, n in left_out.items()]
    lines.append(f"use it: bot.py backtest --cost-model volume --impact-k {fit.k:.3g}")
    return "\n".join(lines)


def fit_json(fit: KFit, left_out: dict[str, int], at_signal: int = 0) -> str:
    return json.dumps({**vars(fit), "left_out": sum(left_out.values()), "left_out_by_reason": left_out,
                       "at_signal_price": at_signal})
