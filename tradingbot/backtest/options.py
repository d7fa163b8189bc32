"""Backtest requests from people: key=value pairs (chat) and --options (CLI) into one BacktestConfig.

The strategy keys go through the live parameter parser (parse_assignments), so a backtest accepts
and refuses exactly what /set does; only the window, capital and delay are read here.
"""
from __future__ import annotations

import argparse
import itertools
import re
from dataclasses import replace
from datetime import date
from typing import Any, Sequence

from ..errors import UserError
from ..exclusions import LISTS
from ..params import StrategyParams, excerpt, parse_assignments
from .config import BacktestConfig

ALIASES = {"fee": "fee_rate", "slippage": "slippage_bps", "min_age": "min_age_days", "min_volume": "min_quote_volume"}
RUN_KEYS = ("start", "end", "delay", "capital")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_NUMBER = re.compile(r"\d{1,12}(?:\.\d{1,8})?", re.ASCII)


def _date(key: str, text: str) -> date:
    try:
        if _DATE.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise UserError(f"{key} must be a date like 2021-01-31 (got '{excerpt(text)}')")


def _run_value(key: str, text: str) -> Any:
    if key in ("start", "end"):
        return _date(key, text)
    if key == "delay":
        if text not in ("0", "1"):
            raise UserError(f"delay must be 0 (fill at the signal close) or 1 (next open) (got '{excerpt(text)}')")
        return int(text)
    if not _NUMBER.fullmatch(text) or float(text) <= 0:
        raise UserError(f"capital must be a number above 0, like 10000 (got '{excerpt(text)}')")
    return float(text)


def split_pair(token: str) -> tuple[str, str]:
    key, sep, value = token.partition("=")
    if not sep or not key:
        raise UserError(f"expected key=value (got '{excerpt(token)}')")
    key = key.strip().lower().replace("-", "_")
    return ALIASES.get(key, key), value.strip()


def config_from_pairs(tokens: Sequence[str], base: StrategyParams, defaults: BacktestConfig | None = None
                      ) -> BacktestConfig:
    """A run from 'key=value' tokens: the window keys here, every other key as /set reads it (all or none)."""
    run: dict[str, Any] = {}
    strategy: list[str] = []
    for token in re.sub(r"\s*=\s*", "=", " ".join(tokens)).split():
        key, value = split_pair(token)
        if key in RUN_KEYS:
            if key in run:
                raise UserError(f"{key} is given twice; give each key once")
            run[key] = _run_value(key, value)
        else:
            strategy.append(f"{key}={value}")
    params = parse_assignments(strategy, base)[0] if strategy else base
    return replace(defaults or BacktestConfig(), params=params, **run)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The backtest subcommand's options (every one also has a key=value form for /backtest)."""
    add = parser.add_argument
    add("--strategy", choices=("momentum", "reversal"))
    add("--lookback", help="duration, e.g. 7d")
    add("--topn", help="how many coins to hold")
    add("--every", help="rebalance period: 1d or 1w with daily data")
    add("--mode", choices=("full", "delta"))
    add("--fee", help="fee rate per fill, e.g. 0.001")
    add("--slippage-bps", help="price moved against each fill, in basis points")
    add("--delay", choices=("0", "1"), help="0: fill at the signal close; 1: at the next day's open")
    add("--min-age-days")
    add("--min-quote-volume")
    add("--exclude", metavar="SYMBOLS", help="coins or symbols kept out, comma-separated (added to the lists)")
    add("--no-default-exclusions", action="store_true", help="trade stablecoins, leveraged and wrapped tokens too")
    add("--start", help="first day, YYYY-MM-DD")
    add("--end", help="last day, YYYY-MM-DD")
    add("--capital", help="starting cash (default 10000)")
    add("--data", metavar="PATH", help="read this candle file instead of the cache")
    add("--cache", metavar="PATH", help="the candle cache (default: KLINE_DB_PATH)")
    add("--json", action="store_true", help="print one JSON object")
    add("--sweep", nargs="+", metavar="KEY=V1,V2", help="run every combination, e.g. lookback=1d,7d topn=3,5")
    add("--sort", default="sharpe", help="sweep: metric to sort by (default sharpe)")
    add("--out", default="backtest_out", help="sweep: folder for the CSV and heatmaps")
    add("--chart", metavar="PNG", help="save the equity chart to this file")


_FLAG_KEYS = ("strategy", "lookback", "topn", "every", "mode", "fee", "slippage_bps", "delay", "min_age_days",
              "min_quote_volume", "start", "end", "capital")


def pairs_from_args(args: argparse.Namespace) -> list[str]:
    """The --options as key=value tokens."""
    tokens = [f"{k}={getattr(args, k)}" for k in _FLAG_KEYS if getattr(args, k) is not None]
    edits = [f"-{name}" for name in LISTS] if args.no_default_exclusions else []
    edits += [f"+{item.strip()}" for item in (args.exclude or "").split(",") if item.strip()]
    if edits:
        tokens.append("exclude=" + ",".join(edits))
    return tokens


def sweep_grid(specs: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    """'key=v1,v2' specs -> the keys and every combination of their values as key=value tokens."""
    keys, values = [], []
    for spec in specs:
        key, raw = split_pair(spec)
        if key in keys:
            raise UserError(f"{key} is swept twice")
        items = [v.strip() for v in raw.split(",") if v.strip()]
        if not items:
            raise UserError(f"--sweep {key} has no values")
        keys.append(key)
        values.append(items)
    combos = [[f"{k}={v}" for k, v in zip(keys, combo)] for combo in itertools.product(*values)]
    return keys, combos
