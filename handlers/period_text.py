"""Chat text for the period and per-coin reports (/daily, /weekly, /monthly, /performance) and /dashboard."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tradingbot.core.domain import ZERO
from tradingbot.core.performance import PeriodReturn
from tradingbot.app.dashboard_reports import Performance

from . import texts as fmt

PERIOD_TITLES = {"day": "Daily", "week": "Weekly (from Monday)", "month": "Monthly"}


def periods(rows: list[PeriodReturn], period: str, n: int, quote: str, zone: ZoneInfo) -> str:
    """The last n periods, newest first: equity at the end, change and return."""
    if not rows:
        return "No equity marks yet: nothing to report."
    head = f"{PERIOD_TITLES[period]} returns, {quote}, {zone.key}"
    label = {"day": "%Y-%m-%d", "week": "%Y-%m-%d", "month": "%Y-%m"}[period]
    lines = [f"{'period':<10} {'equity':>13} {'change':>11} {'return':>8}"]
    for r in reversed(rows[-n:]):
        lines.append(f"{r.start.strftime(label):<10} {fmt.money(r.equity_end):>13} {fmt.signed(r.change):>11} "
                     f"{fmt.pct(r.pct):>8}")
    return head + "\n" + "\n".join(lines)


def coin_pnl(report: Performance, window: str, quote: str, zone: ZoneInfo, limit: int = 30) -> str:
    """P/L per coin over the window, best first; the window starts at the last rebalance before it."""
    since = f"since {fmt.local(report.since, zone)}" if report.since else "since the start"
    if not report.coins:
        return f"P/L per coin ({window}, {since}): no coin traded or held."
    total = sum((c.pnl for c in report.coins), ZERO)
    lines = [f"{'coin':<10} {'P/L':>11} {'bought':>12} {'sold':>12}"]
    shown = report.coins if len(report.coins) <= limit else report.coins[: limit // 2] + report.coins[-limit // 2:]
    for c in shown:
        lines.append(f"{c.asset[:10]:<10} {fmt.signed(c.pnl):>11} {fmt.money(c.bought):>12} {fmt.money(c.sold):>12}")
    more = f"\n… {len(report.coins) - len(shown)} more in the middle (the dashboard lists all)" \
        if len(shown) < len(report.coins) else ""
    return (f"P/L per coin, {quote} ({window}, {since}; fees included): total {fmt.signed(total)}\n"
            + "\n".join(lines) + more)


def dashboard_link(url: str, expires: datetime, zone: ZoneInfo) -> str:
    return (f"Dashboard (read-only): {url}\nThe link works once, until {fmt.local(expires, zone)}; "
            "open it and press Continue. /dashboard revoke ends every session.")
