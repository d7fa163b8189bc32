"""iTradingBot's command line: it loads the settings once, has tradingbot/bootstrap.py (the composition root)
build every object from them, and hands the result to a front end (console or Telegram) or a command.

    python bot.py [--demo] [--db PATH] [--clock ISO]            run the bot (scheduler + chat)
    python bot.py [...] chat "/status" "/pnl"                   run commands once, print the replies
    python bot.py [...] rebalance [--json]                      run the scheduled slot if it is due now
    python bot.py [...] rebalance --now [--slot KEY] [--json]   a manual rebalance now (its own journal key)
    python bot.py whoami                                        Telegram setup: learn your user id
    python bot.py [--demo] [--db PATH] dashboard [--host H] [--port P]   the web dashboard alone, read-only
    python bot.py [--demo] [--db PATH] dashboard --revoke       end every session of the dashboard served alone
    python bot.py backtest [options] | data import FILE... | data fetch    offline: see README, Backtesting
    python bot.py [--db PATH] costs calibrate [--json]         fit the cost model's k to the bot's own fills

Test-only environment (tests/test_crash.py; never set in production):
    TRADINGBOT_CRASH_AT=<point>[#n]   SIGKILL this process the n-th time it reaches a crash point (crashpoints.py)
    TRADINGBOT_FROZEN_CLOCK=1         with --clock: time stands still, so every run of a slot sees the same prices
"""
from __future__ import annotations

import os
import sys

# Opt in to python-telegram-bot's future retry_after type now (a timedelta), before telegram is imported.
os.environ.setdefault("PTB_TIMEDELTA", "true")


def offline(argv: list[str]) -> int:
    """`bot.py backtest` / `data` / `costs`: the settings read once, as for the bot, then the offline command."""
    from pathlib import Path

    from handlers import backtest_cli
    from tradingbot.bootstrap import open_backtest_runs, open_candle_cache, open_filled_orders
    from tradingbot.settings import SettingsError, load_settings

    args = backtest_cli.parse(argv)
    try:
        settings = load_settings(env_file=args.env_file, require_admins=False)
    except SettingsError as e:
        print(f"configuration error: {e}", file=sys.stderr)
        return 2
    bot_db = Path(args.db or (settings.demo_db_path if args.demo else settings.db_path))
    return backtest_cli.main(args, open_candle_cache, settings.kline_db_path, lambda: open_backtest_runs(bot_db),
                             lambda: open_filled_orders(bot_db))


if __name__ == "__main__":
    # backtest and data need neither Telegram nor the ledger: run them before importing the bot's front ends.
    from handlers.offline_argv import offline_command

    if offline_command(sys.argv[1:]):
        sys.exit(offline(sys.argv[1:]))

import argparse
import asyncio
import gc
import json
import logging
import re
import sys
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import AsyncIterator

from handlers import offline_argv
from handlers import texts as fmt
from handlers.commands import Context
from handlers.console import run_once, serve_console
from handlers.jobs import MISFIRE_GRACE
from handlers.lifecycle import Timetable
from tradingbot.adapters import logs
from tradingbot.app.reports import SlotRefusal
from tradingbot.app.services import Services
from tradingbot.bootstrap import App, RunOptions, account_lock, build, clock_of
from tradingbot.core.domain import RebalanceSummary
from tradingbot.core.errors import UserError
from tradingbot.core.params import StrategyParams
from tradingbot.core.timefmt import iso, parse_clock
from tradingbot.settings import Settings, SettingsError, check_databases, env_file_warning, load_settings
from tradingbot.venues import VenueConnections

log = logging.getLogger("itradingbot")
SLOT_KEY = re.compile(r"[A-Za-z0-9]{1,17}")  # so every client order id stays within Binance's rules
CRASH_AT, FROZEN_CLOCK = "TRADINGBOT_CRASH_AT", "TRADINGBOT_FROZEN_CLOCK"  # test-only, see the docstring
STORAGE_FULL = 4  # exit code: the database (or its disk) is full


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bot.py", description="iTradingBot — momentum/reversal paper trading")
    parser.add_argument("--demo", action="store_true", help="synthetic market, paper venue, separate demo database")
    parser.add_argument("--db", metavar="PATH", help="SQLite database path (overrides DB_PATH)")
    parser.add_argument("--clock", metavar="ISO-8601", help="pretend the current time is this (replays, demos)")
    parser.add_argument("--env-file", default=".env", help="settings file (default .env; environment wins)")
    sub = parser.add_subparsers(dest="command")
    chat = sub.add_parser("chat", help="run chat commands once and print the replies")
    chat.add_argument("lines", nargs="+", metavar="COMMAND", help='e.g. "/status"')
    reb = sub.add_parser("rebalance", help="run the scheduled slot if it is due now (not paused, within the "
                                           "10-minute grace), or with --now a manual rebalance; print the summary")
    reb.add_argument("--json", action="store_true", help="print one JSON object")
    reb.add_argument("--now", action="store_true", help="rebalance now, as a confirmed /rebalance_now does")
    reb.add_argument("--slot", help="with --now: the manual rebalance's journal key (running it again sends nothing)")
    sub.add_parser("whoami", help="setup: answer /whoami on Telegram so a new admin learns their id")
    dash = sub.add_parser("dashboard", help="serve the web dashboard alone over the database, read-only, and "
                                             "print a one-time sign-in link")
    dash.add_argument("--host", help="listen address (default DASHBOARD_HOST)")
    dash.add_argument("--port", type=int, help="port (default DASHBOARD_PORT)")
    dash.add_argument("--revoke", action="store_true", help="end every session of the dashboard served alone")
    offline_argv.list_in_help(sub)
    return parser.parse_args(argv)


def run_options(args: argparse.Namespace) -> RunOptions:
    """The command line's choices for this run, with the test-only switches from the environment."""
    return RunOptions(demo=args.demo, db=args.db, clock=args.clock, frozen_clock=os.environ.get(FROZEN_CLOCK) == "1",
                      crash_at=os.environ.get(CRASH_AT) or None)


@asynccontextmanager
async def background(venue: VenueConnections) -> AsyncIterator[None]:
    """Run the venue's streams while the bot serves; close its connections afterwards."""
    tasks: list[asyncio.Task[None]] = [asyncio.create_task(job()) for job in venue.background]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        if tasks:  # a websocket close handshake may linger; shutting down must not wait on it
            await asyncio.wait(tasks, timeout=3)
        await venue.close()


def progress_printer(text: str) -> None:
    print(f"  … {text}", file=sys.stderr, flush=True)


def summary_json(s: RebalanceSummary) -> str:
    def money(x: Decimal | None) -> str | None:
        return None if x is None else str(x)

    r = s.row
    return json.dumps({
        "slot": r.slot, "state": r.state, "kind": r.kind, "already_done": s.already_done,
        "started_at": iso(r.started_at), "finished_at": iso(r.finished_at) if r.finished_at else None,
        "strategy": r.strategy, "mode": r.mode, "targets": list(r.targets),
        "equity_before": money(r.equity_before), "equity_after": money(s.equity_after),
        "fees": money(r.fees), "turnover": money(r.turnover), "signal_to_fill_ms": r.signal_to_fill_ms,
        "orders": [{"client_order_id": o.client_order_id, "symbol": o.symbol, "side": o.side.value,
                    "requested_qty": money(o.requested_qty), "requested_quote": money(o.requested_quote),
                    "status": o.status.value, "error": o.error} for o in s.orders],
        "fills": [{"client_order_id": f.client_order_id, "symbol": f.symbol, "side": f.side.value,
                   "price": str(f.price), "quantity": str(f.quantity), "commission": str(f.commission),
                   "commission_asset": f.commission_asset, "fee_quote": str(f.fee_quote), "time": iso(f.time)}
                  for f in s.fills],
        "positions": [{"asset": p.asset, "quantity": str(p.quantity), "avg_cost": money(p.avg_cost),
                       "price": money(p.price), "value": str(p.value), "unrealized": str(p.unrealized)}
                      for p in s.positions],
        "errors": s.errors,
    })


def keep_what_start_built() -> None:
    """The modules and objects built at start live as long as the process: the collector need not scan them
    again, so the collection after each chart (handlers/chart_replies.py) looks at that chart's objects only."""
    gc.collect()
    gc.freeze()


async def serve(app: App) -> int:
    """Telegram when a token is set, else the console."""
    s = app.settings
    timetable = Timetable(s.mark_every_minutes, s.daily_summary_at, MISFIRE_GRACE)
    if s.telegram_bot_token is None:
        keep_what_start_built()
        return await serve_console(app.services, timetable, Path(s.chart_dir), progress_printer)
    from handlers.telegram_app import TelegramConfig, serve_telegram
    from handlers.telegram_guard import Limits

    config = TelegramConfig(
        token=s.telegram_bot_token.get_secret_value(), base_url=s.telegram_api_base_url,
        admins=frozenset(s.telegram_admin_ids), viewers=frozenset(s.telegram_viewer_ids),
        notify_chats=list(s.telegram_notify_chat_ids), allowed_chats=frozenset(s.telegram_allowed_chat_ids) or None,
        limits=Limits(burst=s.telegram_command_burst, per_minute=s.telegram_commands_per_minute),
        levels={"rebalance": s.notify_rebalance, "alert": s.notify_alerts, "lifecycle": s.notify_lifecycle,
                "daily": s.notify_daily},
        daily_at=timetable.daily_at, mark_minutes=timetable.mark_minutes, misfire_grace=timetable.misfire_grace,
    )
    keep_what_start_built()
    code = await serve_telegram(app.services, app.outbox, config)
    if code:
        print("stopped: another instance is polling this bot token (Telegram 409 Conflict); "
              "stop the other one first", file=sys.stderr)
    return code


async def main_async(args: argparse.Namespace, app: App) -> int:
    try:
        return await _dispatch(args, app)
    finally:
        await app.venue.close()


async def _dispatch(args: argparse.Namespace, app: App) -> int:
    services = app.services
    if args.command == "chat":
        # Looking never resumes a rebalance: only the running bot and `rebalance` do.
        await run_once(Context(services, "cli", progress=progress_printer), args.lines, sys.stdout, Path(app.settings.chart_dir))
        return 0
    if args.command == "rebalance":
        return await rebalance_command(args, services)
    from web import server as web_server  # the web server only where it serves

    async with background(app.venue), web_server.beside_bot(services, app.settings, app.db_path,
                                                            console=app.settings.telegram_bot_token is None):
        return await serve(app)


async def rebalance_command(args: argparse.Namespace, services: Services) -> int:
    """`bot.py rebalance`: the scheduled slot when it is due, else one line saying why; `--now` rebalances now."""
    if args.slot and not args.now:
        raise UserError("--slot names a manual rebalance's journal key: use it with --now")
    if args.slot and not SLOT_KEY.fullmatch(args.slot):
        raise UserError(f"--slot must be 1 to 17 letters or digits (got {args.slot[:40]!r})")
    await services.rebalancer.resume_unfinished(services.params)
    if args.slot:
        summary = await services.rebalancer.run(args.slot, "manual", services.params, progress_printer)
    elif args.now:
        summary = await services.rebalance_now(progress_printer)
    else:
        due = await services.scheduled_rebalance(MISFIRE_GRACE, progress_printer)
        if isinstance(due, SlotRefusal):  # nothing was asked for that is due: say why, send nothing
            print(json.dumps({"slot": due.slot, "state": "not_run", "reason": due.reason, "message": due.message})
                  if args.json else due.message)
            return 0
        summary = due
    print(summary_json(summary) if args.json else fmt.summary(summary, services.quote, services.params.zone))
    found, _ = await services.reconcile()
    for difference in found:
        print(f"⚠ venue and ledger differ: {difference.describe()}", file=sys.stderr)
    return 0 if summary.state in ("done", "skipped") else 1


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if offline_argv.offline_command(argv):
        return offline(argv)
    args = parse_args(argv)
    try:
        settings = load_settings(env_file=args.env_file, require_admins=args.command != "whoami")
        check_databases(settings, args.db, args.demo)
    except SettingsError as e:
        print(f"configuration error: {e}", file=sys.stderr)
        return 2
    try:
        if args.clock:
            parse_clock(args.clock)
    except ValueError:
        print(f"configuration error: --clock must be an ISO-8601 time such as 2026-11-24T09:00:00Z (got {args.clock!r})",
              file=sys.stderr)
        return 2
    secrets = [v.get_secret_value() for v in (settings.telegram_bot_token, settings.binance_api_key,
                                              settings.binance_api_secret, settings.coingecko_api_key)
               if v is not None]
    logs.install(settings.log_level, secrets)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # it logs request URLs, and a bot token is in the path
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # job bookkeeping would drown the console chat
    if warning := env_file_warning(args.env_file):
        log.warning(warning)
    if args.command == "whoami":
        return _whoami(settings)
    run = run_options(args)
    if args.command == "dashboard":
        return _dashboard_alone(settings, run, args)
    lock = account_lock(run.database(settings))
    if args.command in (None, "rebalance") and not lock.acquire():  # held for the process's life
        print(f"stopped: another bot process is running on {run.database(settings)} (it holds its .lock "
              "file); stop that one first — `bot.py chat` may still look", file=sys.stderr)
        return 3
    try:
        app = build(settings, run, lock)
    except SettingsError as e:
        print(f"configuration error: {e}", file=sys.stderr)
        return 2
    log.info("started: venue %s, database %s", app.services.exchange.name, app.db_path)
    return run_app(args, app)


def run_app(args: argparse.Namespace, app: App) -> int:
    """Run the command; every way it can stop is one line and an exit code (tracebacks only for the unexpected)."""
    try:
        return asyncio.run(main_async(args, app))
    except UserError as e:
        print(f"⚠ {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as e:
        if _token_rejected(e):
            print("configuration error: TELEGRAM_BOT_TOKEN: rejected by Telegram (copy it again from @BotFather)",
                  file=sys.stderr)
            return 2
        full = app.services.store.storage_failure(e)
        if full:  # the journal is consistent; the next run (or the resume job) finishes what was open
            print(f"stopped: {full}", file=sys.stderr)
            return STORAGE_FULL
        log.exception("stopped by an unexpected error")  # through the redacting formatter: never a secret
        return 1


def _dashboard_alone(settings: Settings, run: RunOptions, args: argparse.Namespace) -> int:
    """`bot.py dashboard`: the web dashboard over a database file, read-only, beside (or without) the bot."""
    from web import server as web_server

    if args.revoke:
        return web_server.revoke_standalone(run.database(settings))
    return web_server.run_standalone(run.database(settings), clock_of(run), StrategyParams(timezone=settings.timezone),
                                     settings, args.host, args.port)


def _token_rejected(e: Exception) -> bool:
    """Telegram refused the token. python-telegram-bot is imported only by the front end that talks to Telegram
    (a console or `chat` run never pays for it), and a run that never imported it cannot have raised this."""
    errors = sys.modules.get("telegram.error")
    return errors is not None and isinstance(e, errors.InvalidToken)


def _whoami(settings: Settings) -> int:
    if settings.telegram_bot_token is None:
        print("configuration error: TELEGRAM_BOT_TOKEN: needed for whoami (create a bot with @BotFather)",
              file=sys.stderr)
        return 2
    from handlers.telegram_app import whoami_only

    return asyncio.run(whoami_only(settings.telegram_bot_token.get_secret_value(), settings.telegram_api_base_url))


if __name__ == "__main__":
    sys.exit(main())

