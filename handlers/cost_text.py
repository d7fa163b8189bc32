"""Where the money went, as text: a rebalance's (or a plan's) fees, spread, impact and delay, phone-short."""
from __future__ import annotations

from decimal import Decimal

from tradingbot.core.cost_split import CostSplit

PARTS = ("fees", "spread", "impact", "delay")


def _bps(split: CostSplit, amount: Decimal) -> str:
    bps = split.bps(amount)
    return "n/a" if bps is None else f"{bps:.1f}"


def cost_lines(split: CostSplit | None, quote: str, label: str = "Costs") -> list[str]:
    """Two lines: the total in quote and basis points of the value traded, then each part as quote (bps);
    nothing when nothing was traded with a known signal price."""
    if split is None or not split.traded:
        return []
    parts = " · ".join(f"{name} {getattr(split, name):,.2f} ({_bps(split, getattr(split, name))})" for name in PARTS)
    return [f"{label}: {split.total:,.2f} {quote} = {_bps(split, split.total)} bps of {split.traded:,.0f} traded",
            f"  {parts}"]


def cost_cell(split: CostSplit | None) -> str:
    """The total in bps for a table column ('' when unknown)."""
    if split is None or not split.traded:
        return ""
    return f"{_bps(split, split.total)}bp"
