"""/plan in full mode, when the picks are the coins already held, says what delta mode would cost instead."""
from __future__ import annotations

import asyncio
import re
from decimal import Decimal

from handlers.commands import Context, dispatch


def fees(text: str, label: str) -> Decimal:
    return Decimal(re.search(label + r"[^0-9]*([0-9,]+\.[0-9]+)", text)[1].replace(",", ""))  # type: ignore[index]


def test_full_mode_with_unchanged_picks_shows_the_delta_cost(world):
    ctx = Context(world.services, "test")
    before = asyncio.run(dispatch(ctx, "/plan")).text  # nothing held yet: the picks are new
    asyncio.run(world.services.rebalance_now())
    unchanged = asyncio.run(dispatch(ctx, "/plan")).text  # same instant, same ranking: the same four coins
    preview = asyncio.run(world.services.preview())
    world.services.set_params(["mode=delta"], "test")
    in_delta = asyncio.run(dispatch(ctx, "/plan")).text
    assert "mode=delta" not in before and "mode=delta" not in in_delta
    assert "mode=delta would reach the same weights" in unchanged
    full, delta = fees(unchanged, "Estimated fees"), fees(unchanged, "for about")
    assert full > 10 and delta < full / 10  # selling and rebuying ~10,000 at 0.1 % vs trimming the differences
    assert fees(in_delta, "Estimated fees") == delta
    assert preview.delta_fees is not None and preview.sells.orders  # the full plan still sells everything
