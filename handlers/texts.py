"""Plain-text renderings of service results, narrow enough for a phone (front ends add markup)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from tradingbot.core.domain import Change, DustTotal, Fill, Plan, RebalanceRow, RebalanceSummary, Side, VenueHealth
from tradingbot.app.dust import DustConversion
from tradingbot.core.money import fmt_decimal
from tradingbot.core.params import PARAM_SPECS, StrategyParams, format_duration
from tradingbot.app.reports import PnlReport, PositionsReport, RankingReport, StatusReport
from tradingbot.core.cost_split import CostSplit, rebalance_cost
from tradingbot.core.planning import below_minimum
from .cost_text import cost_cell, cost_lines


def money(x: Decimal | None, quote: str = "") -> str:
    if x is None:
        return "n/a"
    text = f"{x:,.2f}"
    return f"{text} {quote}".rstrip()


def signed(x: Decimal | None, quote: str = "") -> str:
    if x is None:
        return "n/a"
    return ("+" if x > 0 else "") + money(x, quote)


def pct(x: Decimal | None) -> str:
    return "n/a" if x is None else f"{x * 100:+.2f}%"


def local(t: datetime | None, tz: ZoneInfo) -> str:
    return "—" if t is None else t.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def qty(x: Decimal) -> str:
    return fmt_decimal(x)


def status(r: StatusReport) -> str:
    p, tz = r.params, r.params.zone
    last = r.last_rebalance
    last_text = f"{last.slot} {last.state} at {local(last.finished_at or last.started_at, tz)}" if last else "none yet"
    return "\n".join([
        f"Venue: {r.venue} (market data: {r.market})",
        f"Strategy: {p.strategy}, lookback {format_duration(p.lookback)}, top {p.topn}, {p.mode} mode",
        f"Schedule: every {p.every} at {p.at:%H:%M} {p.timezone}" + (f" ({p.weekday})" if p.every[-1] == "w" else ""),
        f"Equity: {money(r.equity, p.quote)}" + (
            f" (last mark, {local(r.equity_marked_at, tz)}: prices unreachable)" if r.equity_marked_at else ""),
        f"Cash: {money(r.cash, p.quote)}",
        f"Positions: {r.positions}" + (f" (and {r.dust.describe(p.quote)})" if r.dust and r.dust.count else ""),
        f"Last rebalance: {last_text}",
        f"Next rebalance: {'paused' if r.paused else local(r.next_run, tz)}",
        f"State: {'PAUSED (no scheduled rebalances; P/L still marked)' if r.paused else 'running'}",
        f"Now: {local(r.now, tz)}",
        *(health_line(h) for h in r.health),
    ])


def next_slot(p: StrategyParams, when: datetime | None) -> str:
    """The next scheduled rebalance, as /plan ends with it."""
    return f"Next scheduled rebalance: {'paused' if when is None else local(when, p.zone)} (every {p.every})"


def health_line(h: VenueHealth) -> str:
    """One Binance endpoint: reachable or not, and the request weight used this minute."""
    state = {True: "reachable", False: "UNREACHABLE", None: "not contacted yet"}[h.reachable]
    error = f" (last error: {h.last_error})" if h.reachable is False and h.last_error else ""
    return f"Binance {h.name}: {state}{f' at {h.host}' if h.host else ''}{error}; weight {h.used_weight}/{h.budget} this minute"


def pnl(r: PnlReport, tz: ZoneInfo) -> str:
    lines = [
        f"Equity: {money(r.equity, r.quote)}  (deposited {money(r.deposits, r.quote)})",
        f"Net P/L: {signed(r.net, r.quote)}  ({pct(r.net / r.deposits if r.deposits else None)})",
        f"  realized:   {signed(r.realized, r.quote)}",
        f"  unrealized: {signed(r.unrealized, r.quote)}",
        f"  fees paid:  {money(r.fees, r.quote)} (included above)",
    ]
    for w in r.windows[1:]:
        since = f" since {local(w.since, tz)}" if w.since else ""
        lines.append(f"{w.label}: {signed(w.change, r.quote) if w.change is not None else 'no mark yet'}{since}")
    lines += cost_lines(r.costs, r.quote, f"Costs, last {r.costs_over} rebalance{'s' * (r.costs_over != 1)}")
    return "\n".join(lines)


def positions(r: PositionsReport) -> str:
    held, dust = r.held, [p for p in r.positions if p.dust]
    if not held and not dust:
        return f"No positions. Cash {money(r.cash, r.quote)}."
    # A space before every column: a long quantity must never run into the next number.
    rows = [f"{'asset':<8} {'qty':>14} {'avg cost':>12} {'price':>12} {'value':>12} {'unreal.':>11} {'wt':>6}"]
    for p in held:
        rows.append(
            f"{p.asset:<8} {qty(p.quantity):>14} {_price(p.avg_cost):>12} {_price(p.price):>12}"
            f" {money(p.value):>12} {signed(p.unrealized):>11} {r.weight(p) * 100:>5.1f}%"
        )
    cash_weight = r.cash / r.equity * 100 if r.equity else 0
    rows.append(f"{'cash':<8} {'':>14} {'':>12} {'':>12} {money(r.cash):>12} {'':>11} {cash_weight:>5.1f}%")
    if dust:
        rows.append(f"{r.dust.describe(r.quote)}, below the venue's minimum order"
                    f" ({', '.join(p.asset for p in dust[:8])}{'…' if len(dust) > 8 else ''}; /dust converts them)")
    rows.append(f"Equity {money(r.equity, r.quote)}; fees paid so far are in the average costs.")
    return "\n".join(rows)


def _price(x: Decimal | None) -> str:
    if x is None:
        return "n/a"
    return f"{x:,.2f}" if x >= 100 else f"{x:.6g}"


def ranking(r: RankingReport, limit: int) -> str:
    rk = r.ranking
    eligible = [row for row in rk.rows if row.eligible]
    head = (f"{rk.strategy}, lookback {format_duration(rk.lookback)}, top {rk.topn}: "
            f"{len(eligible)} eligible of {len(rk.rows)} symbols")
    rows = [head, f"{'#':>3} {'symbol':<14}{'return':>9}{'vol/day':>12}  pick"]
    for row in eligible[:limit]:
        mark = "BUY" if row.selected else ""
        mark += " (held)" if row.symbol in r.held else ""
        rows.append(f"{row.rank:>3} {row.symbol:<14}{pct(row.score):>9}{_short(row.quote_volume):>12}  {mark}")
    reasons: dict[str, int] = {}
    for row in rk.rows:
        if not row.eligible:
            key = row.reason.split(":")[0] if row.reason.startswith("excluded") else row.reason
            key = "market cap below floor" if key.startswith("market cap ") else key  # each names its cap
            reasons[key] = reasons.get(key, 0) + 1
    if reasons:
        rows.append("Not eligible: " + "; ".join(f"{k} ({v})" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1])))
    return "\n".join(rows)


def _short(x: Decimal) -> str:
    for unit, size in (("bn", Decimal(1e9)), ("m", Decimal(1e6)), ("k", Decimal(1e3))):
        if x >= size:
            return f"{x / size:.1f}{unit}"
    return f"{x:.0f}"


def plan(sells: Plan, buys: Plan, quote: str, delta_fees: Decimal | None = None,
         costs: CostSplit | None = None) -> str:
    lines = []
    for title, p in (("Sell", sells), ("Buy", buys)):
        for o in p.orders:
            amount = f"{money(o.quote_amount)} {quote}" if o.quote_amount is not None else f"{qty(o.quantity)}"
            lines.append(f"{title} {o.symbol:<14} {amount:>18}  ~{money(o.est_notional)} {quote}")
        for s in p.skipped:
            lines.append(f"Skip {s.symbol:<14} {s.reason}")
    lines.append(f"Estimated fees: {money(sells.est_fees + buys.est_fees, quote)}")
    if delta_fees is not None:  # full mode sells and rebuys coins it keeps
        lines.append(f"The picks are what is held: mode=delta would reach the same weights for about "
                     f"{money(delta_fees, quote)} in fees (/set mode=delta).")
    lines += cost_lines(costs, quote, "From the books now")
    return "\n".join(lines) if lines else "Nothing to trade."


def summary(s: RebalanceSummary, quote: str, tz: ZoneInfo) -> str:
    r = s.row
    if s.already_done:
        head = f"Slot {r.slot} already {r.state} at {local(r.finished_at or r.started_at, tz)}: nothing sent."
    elif s.state in ("skipped", "abandoned", "failed"):
        return f"Rebalance {s.slot} {s.state}: " + "; ".join(e.removeprefix(f"{s.state}: ") for e in s.errors)
    elif s.state != "done":
        head = f"Rebalance {s.slot} INCOMPLETE ({s.state}); it resumes on the next run."
    elif r.kind == "liquidate":
        head = f"Liquidation {r.slot} done: everything sellable sold to {quote}."
    else:
        head = f"Rebalance {r.slot} done ({r.strategy}, {r.mode} mode)."
    # Tokens, not fills: one Binance market order can fill against several resting orders.
    sold = list(dict.fromkeys(f.symbol.removesuffix(quote) for f in s.fills if f.side.value == "SELL"))
    bought = list(dict.fromkeys(f.symbol.removesuffix(quote) for f in s.fills if f.side.value == "BUY"))
    lines = [
        head,
        f"Sold {len(sold)}: " + (", ".join(sold) or "—"),
        f"Bought {len(bought)}: " + (", ".join(bought) or "—"),
        f"Fees: {money(r.fees, quote)}; turnover {money(r.turnover, quote)}",
        f"Equity: {money(r.equity_before, quote)} → {money(s.equity_after, quote)}",
        *cost_lines(rebalance_cost(s.orders, s.fills, quote), quote),
    ]
    # A sell below the venue's minimum is dust, tried and skipped at every rebalance: the "Left as dust" line counts
    # what is held, where a year of rebalances would otherwise list each coin's skip, every time.
    lines += [f"Skipped {k.symbol}: {k.reason}" for k in s.skipped
              if not (s.state == "done" and k.side is Side.SELL and below_minimum(k.reason))]
    leftovers = [p for p in s.positions if p.asset + quote not in s.targets and not p.dust]
    if leftovers and s.state == "done":
        lines.append("Still held outside the targets (not tradable): "
                     + ", ".join(f"{p.asset} {qty(p.quantity)} ≈ {money(p.value, quote)}" for p in leftovers))
    dust = DustTotal.of(s.positions)
    if dust.count and s.state == "done":
        lines.append(f"Left as {dust.describe(quote)} (below the venue's minimum order)")
    lines += [f"Problem: {e}" for e in s.errors]
    return "\n".join(lines)


def history(rows: list[RebalanceRow], quote: str, tz: ZoneInfo, costs: dict[int, CostSplit] | None = None) -> str:
    """One line a rebalance, its cost in bps; then where the money of the newest went (fees, spread, impact, delay)."""
    if not rows:
        return "No rebalances yet."
    costs = costs or {}
    out = [f"{'slot':<17}{'state':<9}{'equity after':>14}{'fees':>9}{'cost':>8}  when"]
    for r in rows:
        out.append(f"{r.slot:<17}{r.state:<9}{money(r.equity_after):>14}{money(r.fees):>9}"
                   f"{cost_cell(costs.get(r.id)):>8}  "
                   f"{local(r.finished_at or r.started_at, tz)}" + (f"  {r.note}" if r.note else ""))
    newest = next((r for r in rows if costs.get(r.id) is not None and costs[r.id].traded), None)
    if newest is not None:
        out += ["", *cost_lines(costs[newest.id], quote, f"Costs of {newest.slot}")]
    return "\n".join(out)


def trades(fills: list[Fill], quote: str, tz: ZoneInfo) -> str:
    if not fills:
        return "No trades yet."
    out = [f"{'time':<17}{'side':<5}{'symbol':<13}{'qty':>14}{'price':>12}{'fee':>8}"]
    for f in fills:
        out.append(f"{f.time.astimezone(tz).strftime('%m-%d %H:%M:%S'):<17}{f.side.value:<5}{f.symbol:<13}"
                   f"{qty(f.quantity):>14}{_price(f.price):>12}{money(f.fee_quote):>8}")
    return "\n".join(out)


def params(p: StrategyParams) -> str:
    values = p.to_strings()
    return "\n".join(f"{spec.key} = {values[spec.key]}" for spec in PARAM_SPECS)


def changes(items: list[Change]) -> str:
    if not items:
        return "No change: the values given are the current ones."
    return "\n".join(f"{c.key}: {c.old} → {c.new}" for c in items)


def dust_conversion(d: DustConversion, quote: str) -> str:
    """What /dust did, in one or two lines."""
    if d.already_done:
        return f"Dust conversion {d.slot} already done: nothing sent."
    fees = sum((f.fee_quote for f in d.fills), Decimal(0))
    return (f"Dust conversion {d.slot} done: {d.dust.describe(quote)} → {signed(d.received, quote)}"
            f" after {money(fees, quote)} fees.\n"
            f"{len(d.fills)} fills recorded as dust conversions (leg D in the journal).")
