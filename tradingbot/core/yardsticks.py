"""Benchmarks the strategy is judged against (pure): BTC buy-and-hold and an equal-weight universe index."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Mapping, Sequence

from .domain import EquityMark

ONE = Decimal(1)


def universe_step(index: Decimal, before: Mapping[str, Decimal], now: Mapping[str, Decimal]) -> Decimal:
    """Chain-link the equal-weight index: its mean price relative over symbols priced both times.

    Rebalanced to equal weight at every mark, like holding the whole universe in equal parts; symbols
    listed or delisted in between simply join or leave, so the index never jumps on a listing.
    """
    relatives = [now[s] / before[s] for s in now.keys() & before.keys() if before[s] > 0]
    if not relatives:
        return index
    return index * sum(relatives, Decimal(0)) / len(relatives)


def scaled(series: Sequence[tuple[datetime, Decimal]], marks: Sequence[EquityMark],
           start_value: Decimal) -> list[tuple[datetime, Decimal]]:
    """A benchmark rescaled to be worth what the account was worth when the benchmark starts."""
    if not series or series[0][1] <= 0:
        return []
    t0 = series[0][0]
    before = [m for m in marks if m.time <= t0]
    base = before[-1].equity if before else start_value
    factor = base / series[0][1]
    return [(t, v * factor) for t, v in series]
