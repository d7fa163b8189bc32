"""Backtest requests from people: key=value pairs (chat, and the CLI's --options as pairs) into one BacktestConfig.

The strategy keys go through the live parameter parser (parse_assignments), so a backtest accepts
and refuses exactly what /set does; only the window, capital, delay and the period are read here (a backtest
rebalances every 3d or 2w too, which the live schedule does not offer). `at` is read by /set's parser, and
given, it also places the backtest's slots (without it they fall at the close of each UTC day).
"""
from __future__ import annotations

import itertools
import re
from dataclasses import replace
from datetime import date
from typing import Any, Sequence

from ..errors import UserError
from ..params import StrategyParams, assign, excerpt, key_name, parse_duration, split_assignment, split_assignments
from .config import BacktestConfig, delay_duration
from .execution import parse_execution
from .panel import INTERVALS_MS

ALIASES = {"fee": "fee_rate", "slippage": "slippage_bps", "min_age": "min_age_days", "min_volume": "min_quote_volume"}
RUN_KEYS = ("start", "end", "delay", "capital", "every", "interval")  # every: any multiple of the candles here
EXECUTION_KEYS = ("cost_model", "impact_k")  # the backtest's cost model (execution.py), not a live parameter
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_NUMBER = re.compile(r"\d{1,12}(?:\.\d{1,8})?", re.ASCII)


def parse_day(key: str, text: str) -> date:
    try:
        if _DATE.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise UserError(f"{key} must be a date like 2021-01-31 (got '{excerpt(text)}')")


def _run_value(key: str, text: str) -> Any:
    if key in ("start", "end"):
        return parse_day(key, text)
    if key == "every":
        try:
            parse_duration(text)
        except UserError:
            raise UserError(f"every must be a duration like 1d, 3d or 2w (got '{excerpt(text)}')") from None
        return text.strip().lower()
    if key in EXECUTION_KEYS:
        return parse_execution(key, text)
    if key == "interval":
        if text.strip().lower() not in INTERVALS_MS:
            raise UserError(f"interval must be one of {', '.join(INTERVALS_MS)} (got '{excerpt(text)}')")
        return text.strip().lower()
    if key == "delay":
        if text in ("0", "1"):
            return int(text)
        delay_duration(text)  # 5m, 1h, 1d: checked against the candles once they are loaded
        return text.strip().lower()
    if not _NUMBER.fullmatch(text) or float(text) <= 0:
        raise UserError(f"capital must be a number above 0, like 10000 (got '{excerpt(text)}')")
    return float(text)


def _known_as(key: str) -> str:
    """The table's name of a key as typed, the backtest's short names ('fee', 'min_age') included."""
    return ALIASES.get(key_name(key), key_name(key))


def config_from_pairs(tokens: Sequence[str], base: StrategyParams, defaults: BacktestConfig | None = None
                      ) -> BacktestConfig:
    """A run from 'key=value' tokens: the window keys here, every other key as /set reads it (all or none)."""
    run: dict[str, Any] = {}
    strategy: list[tuple[str, str]] = []
    for typed, value in split_assignments(tokens):
        key = _known_as(typed)
        if key in RUN_KEYS or key in EXECUTION_KEYS:
            if key in run:
                raise UserError(f"{key} is given twice; give each key once")
            run[key] = _run_value(key, value)
        else:
            strategy.append((key, value))
    params = assign(strategy, base)[0] if strategy else base
    if any(key == "at" for key, _ in strategy):
        run["at"] = params.at
    defaults = defaults or BacktestConfig()
    if cost := {k: run.pop(k) for k in EXECUTION_KEYS if k in run}:
        run["execution"] = replace(defaults.execution, **cost)
    return replace(defaults, params=params, **run)


def sweep_grid(specs: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    """'key=v1,v2' specs -> the keys and every combination of their values as key=value tokens."""
    keys, values = [], []
    for spec in specs:
        typed, raw = split_assignment(spec)
        key = _known_as(typed)
        if key in keys:
            raise UserError(f"{key} is swept twice")
        items = [v.strip() for v in raw.split(",") if v.strip()]
        if not items:
            raise UserError(f"--sweep {key} has no values")
        keys.append(key)
        values.append(items)
    combos = [[f"{k}={v}" for k, v in zip(keys, combo)] for combo in itertools.product(*values)]
    return keys, combos
