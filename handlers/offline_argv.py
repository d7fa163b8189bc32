"""Which offline command (`bot.py backtest`, `bot.py data`, `bot.py costs`) a command line asks for, without loading it.

Kept apart from backtest_cli.py, which imports the backtester: the bot's own start-up only needs to know that
the command line is not one of these.
"""
from __future__ import annotations

import argparse
from typing import Sequence

COMMANDS = ("backtest", "data", "costs")
GLOBAL_WITH_VALUE = ("--db", "--clock", "--env-file")
HELP = {"backtest": "run the strategy over history (see README: Backtesting)",
        "data": "fill the candle cache: data import FILE..., data fetch, data synth",
        "costs": "costs calibrate: fit the volume cost model's k to the bot's own filled orders"}


def offline_command(argv: Sequence[str]) -> str | None:
    """'backtest', 'data' or 'costs' when that is the subcommand (after any global options), else None."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in GLOBAL_WITH_VALUE:
            i += 2
        elif arg.startswith("-"):
            i += 1
        else:
            return arg if arg in COMMANDS else None
    return None


def list_in_help(sub: argparse._SubParsersAction) -> None:
    """The offline commands as lines of bot.py's --help; they are parsed (and their own --help shown) by
    backtest_cli.py before bot.py builds its parser."""
    for name, text in HELP.items():
        sub.add_parser(name, help=text, add_help=False)
