"""What the use cases answer: typed reports that the handlers format and the charts draw."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ..core.cost_split import CostSplit
from ..core.domain import ZERO, DustTotal, EquityMark, Plan, Position, Ranking, RebalanceRow, VenueHealth
from ..core.market_caps import CapView
from ..core.params import StrategyParams


@dataclass(frozen=True)
class StatusReport:
    venue: str
    market: str
    params: StrategyParams
    equity: Decimal
    cash: Decimal
    positions: int  # holdings that can be sold; dust is counted apart
    last_rebalance: RebalanceRow | None
    next_run: datetime | None
    paused: bool
    now: datetime
    health: tuple[VenueHealth, ...] = ()
    equity_marked_at: datetime | None = None  # set when prices were unreachable: equity is that mark's
    dust: DustTotal | None = None  # None when the venue could not be asked


@dataclass(frozen=True)
class PnlWindow:
    label: str
    since: datetime | None
    change: Decimal | None  # equity change net of deposits; None when there is no mark that old


@dataclass(frozen=True)
class PnlReport:
    equity: Decimal
    deposits: Decimal
    net: Decimal
    realized: Decimal
    unrealized: Decimal
    fees: Decimal
    windows: tuple[PnlWindow, ...]
    quote: str
    at: datetime | None = None  # when the account was valued: the equity chart ends there, at the same equity
    costs: CostSplit | None = None  # where the money went over the last `costs_over` rebalances
    costs_over: int = 0


@dataclass(frozen=True)
class PositionsReport:
    positions: tuple[Position, ...]
    cash: Decimal
    equity: Decimal
    quote: str

    def weight(self, p: Position) -> Decimal:
        return p.value / self.equity if self.equity else ZERO

    @property
    def held(self) -> tuple[Position, ...]:
        """The positions that can be sold (dust apart)."""
        return tuple(p for p in self.positions if not p.dust)

    @property
    def dust(self) -> DustTotal:
        return DustTotal.of(self.positions)


@dataclass(frozen=True)
class EquityHistory:
    """What the equity chart shows: the marks, capital, fees, and benchmarks scaled to the account."""

    marks: tuple[EquityMark, ...]  # the last one valued now when prices answered (live), else the last recorded
    deposits: Decimal
    fees: Decimal
    benchmarks: dict[str, list[tuple[datetime, Decimal]]]
    live: bool = True


@dataclass(frozen=True)
class SlotRefusal:
    """Why the scheduled slot was not run: paused, late (past the grace period) or past (the clock went back)."""

    slot: str
    reason: str
    message: str


@dataclass(frozen=True)
class RankingReport:
    ranking: Ranking
    held: frozenset[str]
    caps: CapView | None = None  # the market caps it used (None: min_market_cap is 0)


@dataclass(frozen=True)
class Preview:
    """A rebalance now, planned but not sent; delta_fees: in full mode with the picks unchanged, what delta mode
    would pay in fees to reach the same target (full sells and rebuys every holding)."""

    ranking: Ranking
    sells: Plan
    buys: Plan
    delta_fees: Decimal | None = None
    costs: CostSplit | None = None  # estimated from the venue's books now (None: no books to read)
