"""The one command table: every front end (console, `bot.py chat`, Telegram), /help and the README use it."""
from __future__ import annotations

import asyncio
import difflib
import logging
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Awaitable, Callable, TypeVar

from tradingbot.core.domain import DustTotal
from tradingbot.app.dust import convert_dust, dust_now
from tradingbot.core.errors import UserError, VenueUnavailable
from tradingbot.core.params import excerpt
from tradingbot.core.redaction import shown
from tradingbot.app.dashboard_auth import LINK_TTL
from tradingbot.app.dashboard_reports import performance_report
from tradingbot.app.services import Services
from tradingbot.core.performance import parse_window, period_returns

from .cap_text import cap_lines

from . import chart_replies as chart
from . import period_text
from . import texts as fmt
from .replies import Reply

if TYPE_CHECKING:
    from .shared_answers import SharedAnswers

log = logging.getLogger(__name__)
T = TypeVar("T")


class Role(str, Enum):
    ANYONE = "anyone"
    VIEWER = "viewer"
    ADMIN = "admin"


@dataclass
class Context:
    """Who is asking, through which front end, with which role."""

    services: Services
    user: str  # for the audit trail: "console", "telegram:12345"
    role: Role = Role.ADMIN  # the console operator is the admin; Telegram maps ids to roles
    progress: Callable[[str], None] = field(default=lambda _: None)
    user_id: int | None = None
    chat_id: int | None = None
    requested_at: datetime | None = None  # a confirmed request's time fixes its journal key: it runs once
    shared: SharedAnswers | None = None  # Telegram: reports and charts shared by people asking at once

    async def read(self, kind: str, fetch: Callable[[], Awaitable[T]]) -> T:
        """A report: fetched now, or shared with whoever asked the same a moment ago (see shared_answers.py)."""
        return await (fetch() if self.shared is None else self.shared.report(kind, fetch))


Handler = Callable[[Context, list[str]], Awaitable[Reply]]


@dataclass(frozen=True)
class Command:
    name: str
    args: str
    help: str
    role: Role
    run: Handler
    preview: Handler | None = None  # front ends that confirm show this first (Telegram: with buttons)


def allows(role: Role, needed: Role) -> bool:
    """Admins may do everything, viewers what viewers and anyone may; ANYONE is open to all."""
    order = {Role.ANYONE: 0, Role.VIEWER: 1, Role.ADMIN: 2}
    return order[role] >= order[needed]


def _count(args: list[str], default: int, usage: str) -> int:
    """An optional count; ASCII digits only (str.isdigit accepts '²', which int() refuses)."""
    if not args:
        return default
    if len(args) > 1 or not re.fullmatch(r"[0-9]{1,3}", args[0]) or not 1 <= int(args[0]) <= 500:
        raise UserError(f"usage: {usage} — n is a whole number from 1 to 500")
    return int(args[0])


def _no_args(name: str, args: list[str]) -> None:
    if args:
        raise UserError(f"/{name} takes no arguments")


async def _help(ctx: Context, args: list[str]) -> Reply:
    return Reply(help_text(ctx.role))


async def _status(ctx: Context, args: list[str]) -> Reply:
    _no_args("status", args)
    return Reply(fmt.status(await ctx.read("status", ctx.services.status)))


async def _pnl(ctx: Context, args: list[str]) -> Reply:
    _no_args("pnl", args)
    report = await ctx.read("pnl", ctx.services.pnl)
    return Reply(fmt.pnl(report, ctx.services.params.zone),
                 later=lambda: chart.optional(chart.equity(ctx.services, report, ctx.shared)))


async def _positions(ctx: Context, args: list[str]) -> Reply:
    _no_args("positions", args)
    report = await ctx.read("positions", ctx.services.positions)
    return Reply(fmt.positions(report), monospace=True,
                 later=lambda: chart.optional(chart.allocation(ctx.services, report, ctx.shared)))


async def _ranking(ctx: Context, args: list[str]) -> Reply:
    limit = _count(args, 20, "/ranking [n]")
    s, report = ctx.services, await ctx.services.ranking()
    caps = cap_lines(report, limit, s.quote, s.params.zone, s.params.min_market_cap)
    return Reply("\n".join([fmt.ranking(report, limit), *caps]), monospace=True,
                 later=lambda: chart.optional(chart.ranking(ctx.services, report)))


async def _history(ctx: Context, args: list[str]) -> Reply:
    s = ctx.services
    rows = s.history(_count(args, 10, "/history [n]"))
    text = fmt.history(rows, s.quote, s.params.zone, s.rebalance_costs(rows))
    return Reply(text, monospace=True, later=lambda: chart.optional(chart.rebalances(s)))


async def _chart(ctx: Context, args: list[str]) -> Reply:
    usage = "usage: /chart " + "|".join(chart.NAMES)
    if len(args) != 1 or args[0].lower() not in chart.NAMES:
        raise UserError(usage)
    try:
        photo = await chart.by_name(args[0].lower(), ctx.services)
    except chart.NothingToChart as e:
        return Reply(f"Nothing to chart yet: {e}")
    return Reply(photo.caption, photos=(photo,))


async def _trades(ctx: Context, args: list[str]) -> Reply:
    s = ctx.services
    return Reply(fmt.trades(s.trades(_count(args, 20, "/trades [n]")), s.quote, s.params.zone), monospace=True)


async def _plan(ctx: Context, args: list[str]) -> Reply:
    _no_args("plan", args)
    reply = await _plan_reply(ctx)
    return replace(reply, text=f"{reply.text}\n{fmt.next_slot(ctx.services.params, ctx.services.scheduled_run())}")


async def _rebalance_preview(ctx: Context, args: list[str]) -> Reply:
    _no_args("rebalance_now", args)
    return await _plan_reply(ctx)


async def _plan_reply(ctx: Context) -> Reply:
    p = await ctx.services.preview()
    if not p.ranking.selected:
        return Reply(f"No eligible token among {len(p.ranking.rows)} symbols: a rebalance now would be skipped.")
    return Reply(fmt.plan(p.sells, p.buys, ctx.services.quote, p.delta_fees, p.costs), monospace=True)


async def _rebalance_now(ctx: Context, args: list[str]) -> Reply:
    _no_args("rebalance_now", args)
    s = ctx.services
    log.info("manual rebalance requested by %s", ctx.user)
    summary = await s.rebalance_now(ctx.progress, requested_at=ctx.requested_at)
    return Reply(fmt.summary(summary, s.quote, s.params.zone), summary=summary)


async def _liquidate_preview(ctx: Context, args: list[str]) -> Reply:
    _no_args("liquidate", args)
    positions = await ctx.services.positions()
    if not positions.positions:
        return Reply("Nothing to sell: the account holds only cash (/pause stops scheduled rebalances).",
                     confirmable=False)
    held = ", ".join(f"{p.asset} ≈ {fmt.money(p.value)}" for p in positions.positions)
    return Reply(f"Sell everything to {positions.quote} and pause scheduled rebalances?\n{held}")


async def _liquidate(ctx: Context, args: list[str]) -> Reply:
    _no_args("liquidate", args)
    s = ctx.services
    log.warning("liquidation requested by %s", ctx.user)
    summary = await s.liquidate(ctx.progress, requested_at=ctx.requested_at)
    return Reply(fmt.summary(summary, s.quote, s.params.zone) + "\nScheduled rebalances are paused; /resume to restart.",
                 summary=summary)


async def _dust_preview(ctx: Context, args: list[str]) -> Reply:
    _no_args("dust", args)
    s = ctx.services
    held, refusal = await dust_now(s)
    total = DustTotal.of(held).describe(s.quote)
    if refusal:
        return Reply(f"⚠ {refusal}; {total} stays.", confirmable=False)
    if not held:
        return Reply("No dust: every holding can be sold by an order.", confirmable=False)
    names = ", ".join(p.asset for p in held[:8]) + ("…" if len(held) > 8 else "")
    return Reply(f"Convert {total} to {s.quote} at the last price less the {s.params.fee_rate * 100:g} % fee? "
                 f"({names})")


async def _dust(ctx: Context, args: list[str]) -> Reply:
    _no_args("dust", args)
    log.warning("dust conversion requested by %s", ctx.user)
    done = await convert_dust(ctx.services, ctx.requested_at)
    return Reply(fmt.dust_conversion(done, ctx.services.quote))


async def _backtest(ctx: Context, args: list[str]) -> Reply:
    from tradingbot.core.backtest import options  # the backtester's modules load when a backtest runs

    from .backtest_text import describe, report_text

    tester = ctx.services.backtester
    if tester is None:
        raise UserError("backtesting is not set up in this bot (no candle cache)")
    # The live parameters are the starting point: /backtest alone replays the running strategy over history.
    config = options.config_from_pairs(args, ctx.services.params)
    if not tester.lock.acquire(blocking=False):
        raise UserError("a backtest is already running; try again when it has finished")
    loop = asyncio.get_running_loop()
    try:
        ctx.progress("backtest: started")
        report = await asyncio.to_thread(
            tester.run, config, lambda text: loop.call_soon_threadsafe(ctx.progress, f"backtest: {text}"))
    finally:
        tester.lock.release()
    if ctx.services.backtests is not None:  # kept for the dashboard's Backtests page
        ctx.services.backtests.add_run(report, describe(report.config), ctx.user, ctx.services.clock.now())
    return Reply(report_text(report), monospace=True, later=lambda: chart.optional(chart.backtest(report)))


async def _period(ctx: Context, args: list[str], period: str, default: int) -> Reply:
    s = ctx.services
    n = _count(args, default, f"/{PERIOD_COMMANDS[period]} [n]")
    return Reply(period_text.periods(period_returns(s.store.closing_marks(s.params.zone), s.params.zone, period), period, n, s.quote,
                                     s.params.zone), monospace=True)


async def _performance(ctx: Context, args: list[str]) -> Reply:
    s = ctx.services
    if len(args) > 1:
        raise UserError("usage: /performance [window] — e.g. 7d, 30d, 12h, 2w or all")
    window = args[0].lower() if args else "30d"
    report = performance_report(s.store, await s.positions(), s.params.zone, parse_window(window))
    return Reply(period_text.coin_pnl(report, window, s.quote, s.params.zone), monospace=True)


async def _dashboard(ctx: Context, args: list[str]) -> Reply:
    auth = ctx.services.dashboard
    if auth is None:
        raise UserError("the web dashboard is not running in this bot (DASHBOARD_ENABLED=false, or its port was "
                        "in use at start)")
    if args == ["revoke"]:
        if not allows(ctx.role, Role.ADMIN):
            raise UserError("/dashboard revoke is for admins only")
        auth.revoke_all()
        log.warning("dashboard sessions revoked by %s", ctx.user)
        return Reply("Every dashboard session has ended; /dashboard sends a new sign-in link.")
    if args:
        raise UserError("usage: /dashboard [revoke]")
    url = auth.issue_link(ctx.user)
    log.info("dashboard link issued to %s", ctx.user)
    return Reply(period_text.dashboard_link(url, ctx.services.clock.now() + LINK_TTL, ctx.services.params.zone))


async def _whoami(ctx: Context, args: list[str]) -> Reply:
    if ctx.user_id is None:
        return Reply("You are the console operator (no Telegram id).")
    return Reply(f"Your user id: {ctx.user_id}\nThis chat's id: {ctx.chat_id}")


async def _set(ctx: Context, args: list[str]) -> Reply:
    s = ctx.services
    changes = s.set_params(args, ctx.user)
    text = fmt.changes(changes)
    if any(c.key in ("every", "at", "weekday", "timezone") for c in changes):
        text += f"\nNext rebalance: {fmt.local(s.next_run(), s.params.zone)}"
    return Reply(text)


async def _params(ctx: Context, args: list[str]) -> Reply:
    _no_args("params", args)
    return Reply(fmt.params(ctx.services.params), monospace=True)


async def _pause(ctx: Context, args: list[str]) -> Reply:
    _no_args("pause", args)
    changed = ctx.services.pause(ctx.user)
    return Reply("Paused: no scheduled rebalances; P/L is still marked." if changed else "Already paused.")


async def _resume(ctx: Context, args: list[str]) -> Reply:
    _no_args("resume", args)
    s = ctx.services
    changed = s.resume(ctx.user)
    head = "Resumed." if changed else "Not paused."
    return Reply(f"{head} Next rebalance: {fmt.local(s.next_run(), s.params.zone)}")


COMMANDS: tuple[Command, ...] = (
    Command("help", "", "list the commands", Role.VIEWER, _help),
    Command("status", "", "venue, strategy, equity, last and next rebalance", Role.VIEWER, _status),
    Command("pnl", "", "net P/L, realized and unrealized, fees; today and last 7 days", Role.VIEWER, _pnl),
    Command("positions", "", "holdings with average cost, value, unrealized P/L, weight", Role.VIEWER, _positions),
    Command("ranking", "[n]", "what would be bought now, with lookback returns", Role.VIEWER, _ranking),
    Command("plan", "", "the orders a rebalance now would send, with estimated fees", Role.VIEWER, _plan),
    Command("history", "[n]", "recent rebalances", Role.VIEWER, _history),
    Command("trades", "[n]", "recent fills with fees", Role.VIEWER, _trades),
    Command("chart", "name", "one chart: " + ", ".join(chart.NAMES), Role.VIEWER, _chart),
    Command("params", "", "current strategy parameters", Role.VIEWER, _params),
    Command("daily", "[n]", "equity change per day (last 7 by default)", Role.VIEWER,
            lambda ctx, args: _period(ctx, args, "day", 7)),
    Command("weekly", "[n]", "equity change per week, from Monday (last 8)", Role.VIEWER,
            lambda ctx, args: _period(ctx, args, "week", 8)),
    Command("monthly", "[n]", "equity change per calendar month (last 12)", Role.VIEWER,
            lambda ctx, args: _period(ctx, args, "month", 12)),
    Command("performance", "[window]", "P/L per coin over a window (30d by default; 7d, 2w, all)", Role.VIEWER,
            _performance),
    Command("dashboard", "[revoke]", "a one-time sign-in link to the web dashboard; revoke ends every session",
            Role.VIEWER, _dashboard),
    Command("rebalance_now", "", "rank, sell and buy now (shows the plan to confirm first)", Role.ADMIN,
            _rebalance_now, preview=_rebalance_preview),
    Command("liquidate", "", "sell everything to the quote asset and pause (confirm first)", Role.ADMIN,
            _liquidate, preview=_liquidate_preview),
    Command("dust", "", "convert the leftovers too small to sell into the quote asset (confirm first)", Role.ADMIN,
            _dust, preview=_dust_preview),
    Command("set", "key=value ...", "change parameters (all or none), e.g. /set topn=5", Role.ADMIN, _set),
    Command("pause", "", "stop scheduled rebalances (P/L still marked)", Role.ADMIN, _pause),
    Command("resume", "", "resume scheduled rebalances", Role.ADMIN, _resume),
    Command("backtest", "key=value ...", "run the strategy over cached history, e.g. /backtest lookback=14d "
            "topn=5 start=2023-01-01", Role.ADMIN, _backtest),
    Command("whoami", "", "your Telegram user id and this chat's id", Role.ANYONE, _whoami),
)
BY_NAME = {c.name: c for c in COMMANDS}
PERIOD_COMMANDS = {"day": "daily", "week": "weekly", "month": "monthly"}


def help_text(role: Role = Role.ADMIN) -> str:
    """The commands this role may use, one per line."""
    return "\n".join(f"/{c.name}{' ' + c.args if c.args else ''} — {c.help}" for c in COMMANDS if allows(role, c.role))


def parse(text: str) -> tuple[str, list[str]]:
    """'/set topn=5' -> ('set', ['topn=5']); a '@botname' suffix (Telegram groups) is dropped."""
    parts = text.strip().split()
    if not parts or not parts[0].startswith("/"):
        raise UserError("commands start with / — send /help for the list")
    name = parts[0][1:].split("@", 1)[0].lower()
    return name, parts[1:]


def find(name: str) -> Command:
    command = BY_NAME.get(name)
    if command is None:
        close = difflib.get_close_matches(name, BY_NAME, n=1)
        hint = f" — did you mean /{close[0]}?" if close else "."
        raise UserError(f"unknown command /{excerpt(name, 32)}{hint} Send /help for the list.")
    return command


async def dispatch(ctx: Context, text: str, preview: bool = False) -> Reply:
    """Run one chat line (or, with preview, show what a confirmable command would do); refusals are one line."""
    reply = await _answer(ctx, text, preview)
    return replace(reply, text=shown(reply.text, admin=allows(ctx.role, Role.ADMIN)))


async def _answer(ctx: Context, text: str, preview: bool) -> Reply:
    try:
        name, args = parse(text)
        command = find(name)
        if not allows(ctx.role, command.role):
            log.warning("refused /%s for %s (role %s)", command.name, ctx.user, ctx.role.value)
            raise UserError(f"/{command.name} is for admins only")
        if preview and command.preview is not None:
            return await command.preview(ctx, args)
        return await command.run(ctx, args)
    except UserError as e:
        return Reply(f"⚠ {e}")
    except VenueUnavailable as e:  # transient: nothing changed, the person can simply ask again
        return Reply(f"⚠ The exchange is not answering right now ({e}); nothing was changed. Try again shortly.")
    except Exception as e:  # the bot keeps running; the details go to the log, not the chat
        if full := ctx.services.store.storage_failure(e):
            log.error("command failed: %s", full)
            return Reply(f"⚠ {full}")
        log.exception("command failed: %s", text[:200])
        return Reply("⚠ internal error; the details are in the log.")
