"""What the bot pushes on its own: rebalance summaries, alerts, start/stop notices, the daily summary."""
from __future__ import annotations

from tradingbot.core.domain import RebalanceSummary
from tradingbot.core.errors import VenueUnavailable
from tradingbot.app.ports import Notifier
from tradingbot.app.services import Services

from . import chart_replies as chart
from . import texts as fmt
from .replies import Photo


async def announce_rebalance(summary: RebalanceSummary, services: Services, notifier: Notifier) -> None:
    """After a rebalance: the summary with P/L; an alert too if anything went wrong or was skipped."""
    if summary.already_done:
        return
    quote, tz = services.quote, services.params.zone
    summary = await services.with_dust(summary)  # a resumed slot's summary comes straight from the engine
    since_start, since_previous = services.rebalance_pnl(summary)
    text = fmt.summary(summary, quote, tz)
    text += f"\nP/L since start: {fmt.signed(since_start, quote)}"
    if since_previous is not None:
        text += f"; since the previous rebalance: {fmt.signed(since_previous, quote)}"
    album = await _charts(services)
    await notifier.push("rebalance", text, photos=[(p.name, p.png) for p in album],
                        caption="Equity and allocation after the rebalance")
    problems = list(summary.errors) + [f"skipped {k.symbol}: {k.reason}" for k in summary.skipped]
    if summary.state != "done" or problems:
        head = {"done": f"⚠ Rebalance {summary.slot} done with problems",
                "skipped": f"⚠ Rebalance {summary.slot} skipped"}.get(summary.state,
                                                                       f"⚠ Rebalance {summary.slot} {summary.state}")
        await notifier.push("alert", "\n".join([head, *problems]))
    if summary.state != "skipped":  # a skipped slot traded nothing: nothing new to reconcile (or to re-alert)
        await announce_reconciliation(services, notifier)


async def _charts(services: Services) -> tuple[Photo, ...]:
    """Equity and allocation, when they can be drawn: an unreachable venue leaves the summary text alone."""
    try:
        return await chart.after_rebalance(services)
    except VenueUnavailable:
        return ()


async def announce_reconciliation(services: Services, notifier: Notifier) -> None:
    """Check the venue against the ledger; alert when the differences are new or gone (never repeated)."""
    try:
        found, changed = await services.reconcile()
    except VenueUnavailable as e:
        await notifier.push("alert", f"⚠ Reconciliation skipped: the venue did not answer ({e})")
        return
    if changed and found:
        lines = [d.describe() for d in found]
        await notifier.push("alert", "\n".join(["⚠ Venue and ledger differ (recorded; nothing was changed):", *lines]))
    elif changed:
        await notifier.push("alert", "✅ Venue and ledger agree again.")


async def daily_summary(services: Services, notifier: Notifier) -> None:
    status = await services.status()
    pnl = await services.pnl()
    await notifier.push("daily", "Daily summary\n" + fmt.status(status) + "\n\n" + fmt.pnl(pnl, services.params.zone))
