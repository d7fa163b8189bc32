"""`bot.py backtest` keeps its result in the bot's database (when that file exists) for the dashboard."""
from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from tradingbot.adapters.backtest_runs import SqliteBacktestRuns
from tradingbot.backtest_service import BacktestReport, SweepRow
from tradingbot.settings import SettingsError, load_settings

from .backtest_text import describe


def _runs(args: argparse.Namespace) -> SqliteBacktestRuns | None:
    """The bot's database (--db, else DEMO_DB_PATH with --demo, else DB_PATH), if it is there; a backtest
    never creates one."""
    try:
        settings = load_settings(env_file=args.env_file, require_admins=False)
    except SettingsError as e:
        print(f"  … result not kept for the dashboard: {e}", file=sys.stderr)
        return None
    path = Path(args.db or (settings.demo_db_path if args.demo else settings.db_path))
    if not path.is_file():
        return None
    from tradingbot.adapters.sqlite_store import SqliteStore, open_database

    db = open_database(path)
    SqliteStore(db, "USDT")  # brings an older database's schema up to date
    return SqliteBacktestRuns(db)


def keep_run(args: argparse.Namespace, report: BacktestReport) -> None:
    runs = _runs(args)
    if runs is not None:
        runs.add_run(report, describe(report.config), "cli", datetime.now(timezone.utc))


def keep_sweep(args: argparse.Namespace, keys: Sequence[str], rows: Sequence[SweepRow], sort: str) -> None:
    runs = _runs(args)
    if runs is not None:
        runs.add_sweep(keys, rows, sort, "cli", datetime.now(timezone.utc))
