"""The `bot.py backtest` options: argparse flags, each the CLI form of a /backtest key=value pair."""
from __future__ import annotations

import argparse

from tradingbot.core.exclusions import LISTS
from tradingbot.core.params import spec_of


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The backtest subcommand's options (every one also has a key=value form for /backtest)."""
    add = parser.add_argument
    add("--strategy", choices=spec_of("strategy").choices)  # the words /set accepts, from the one table
    add("--lookback", help="duration, e.g. 7d")
    add("--topn", help="how many coins to hold")
    add("--every", help="rebalance period: any whole multiple of the candles, e.g. 4h, 12h, 1d, 3d, 2w")
    add("--at", help="slot time of day HH:MM in --timezone, as the live schedule reads it (default: each UTC "
                     "day's close)")
    add("--timezone", help="IANA timezone of --at and --weekday (default UTC)")
    add("--weekday", choices=spec_of("weekday").choices, help="slot day of weekly periods, with --at")
    add("--interval", choices=("1h", "4h", "1d"), help="candles to run on (default: the finest the cache holds)")
    add("--mode", choices=spec_of("mode").choices)
    add("--invest-fraction", help=spec_of("invest_fraction").help)
    add("--fee", help="fee rate per fill, e.g. 0.001")
    add("--slippage-bps", help="price moved against each fill, in basis points")
    add("--delay", help="0: fill at the signal candle's close; 1: at the next candle's open; a duration (1h, 4h, "
                        "1d): at the open of the first candle at or after signal + it")
    add("--min-age-days")
    add("--min-quote-volume")
    add("--exclude", metavar="SYMBOLS", help="coins or symbols kept out, comma-separated (added to the lists)")
    add("--no-default-exclusions", action="store_true", help="trade stablecoins, leveraged and wrapped tokens too")
    add("--start", help="first day, YYYY-MM-DD")
    add("--end", help="last day, YYYY-MM-DD")
    add("--capital", help="starting cash (default 10000)")
    add("--cost-model", help="flat: fee + slippage_bps (default); volume: also a high/low spread estimate and "
        "square-root impact, so results depend on --capital (README: The cost model)")
    add("--impact-k", help="volume model: the impact prefactor k (default 1, the square-root law's)")
    add("--capacity", metavar="CAPITALS", help="run at each capital under the volume model, e.g. 1e4,1e5,1e6,1e7,1e8")
    add("--calibrate-k", metavar="CSV", help="fit the volume model's k to market orders: a CSV of side, mid, "
        "avg_price, quote, volume, sigma[, half_spread] (README: The cost model)")
    add("--data", metavar="PATH", help="read this candle file instead of the cache")
    add("--cache", metavar="PATH", help="the candle cache (default: KLINE_DB_PATH)")
    add("--json", action="store_true", help="print one JSON object")
    add("--sweep", nargs="+", metavar="KEY=V1,V2", help="run every combination, e.g. lookback=1d,7d topn=3,5")
    add("--sort", default="sharpe", help="sweep: metric to sort by (default sharpe)")
    add("--out", default="backtest_out", help="sweep: folder for the CSV and heatmaps")
    add("--chart", metavar="PNG", help="save the equity chart to this file")


_FLAG_KEYS = ("strategy", "lookback", "topn", "every", "at", "timezone", "weekday", "interval", "mode",
              "invest_fraction", "fee", "slippage_bps", "delay", "min_age_days", "min_quote_volume", "start", "end",
              "capital", "cost_model", "impact_k")


def pairs_from_args(args: argparse.Namespace) -> list[str]:
    """The --options as key=value tokens."""
    tokens = [f"{k}={getattr(args, k)}" for k in _FLAG_KEYS if getattr(args, k) is not None]
    edits = [f"-{name}" for name in LISTS] if args.no_default_exclusions else []
    edits += [f"+{item.strip()}" for item in (args.exclude or "").split(",") if item.strip()]
    if edits:
        tokens.append("exclude=" + ",".join(edits))
    return tokens
