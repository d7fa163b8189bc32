"""Ports: everything the use cases need from the outside world, in domain types only.

The adapters implement these Protocols; the use cases see nothing else, so a test can hand them a fake.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo
from typing import TYPE_CHECKING, Any, Callable, ContextManager, Iterable, Mapping, Protocol, Sequence, runtime_checkable

from ..core.book_walk import OrderBook
from ..core.domain import (
    Candle, Change, EquityMark, Fill, OrderRecord, OrderRequest, OrderResult, OrderStatus, Position, RankRow, Ranking,
    RebalanceRow, SymbolRules,
)
from ..core.ledger import Ledger
from ..core.market_caps import CoinCap

if TYPE_CHECKING:  # the backtester's types: a bot that answers text never loads its modules
    from ..core.backtest.calibrate import FilledOrder
    from ..core.backtest.panel import Panel
    from ..core.backtest.report import BacktestReport, SweepRow

Checkpoint = Callable[[str], None]  # a named step of a rebalance (see adapters/crashpoints.py)
Progress = Callable[[str], None]


def no_checkpoint(point: str) -> None:
    """Production: every step just goes on."""


class Clock(Protocol):
    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""

    async def sleep(self, seconds: float) -> None:
        """Wait; a test clock advances instantly."""

    def monotonic(self) -> float:
        """Seconds on a steady clock, for timing waits and bans: only differences mean anything, it never goes
        back, and sleep(s) moves it on by s."""


class MarketData(Protocol):
    """Exchange info, candles and prices (Binance public endpoints, or the synthetic market)."""

    async def symbols(self) -> list[SymbolRules]:
        """Every listed symbol with its status and filters (delisted ones absent or not TRADING)."""

    async def candles(self, symbol: str, interval: str, start: datetime, end: datetime) -> list[Candle]:
        """Candles with open_time in [start, end], oldest first; the last one may still be open."""

    async def prices(self) -> dict[str, Decimal]:
        """Latest traded price of every symbol trading now (a halted/BREAK symbol has none)."""

    async def first_candle_time(self, symbol: str, listed_by: datetime | None = None) -> datetime | None:
        """Open time of the symbol's first candle ever (its listing); None if unknown or not listed yet.

        With listed_by, the open time of any candle at or before listed_by may come instead: it proves the
        symbol listed by then, all an age filter asks, and a cache may know it without asking the venue."""


@runtime_checkable
class ReadsTogether(Protocol):
    """A market that answers many symbols' candles faster when told them together first (the synthetic market
    draws their days in a few passes instead of one per symbol)."""

    async def prefetch(self, symbols: Sequence[str], start: datetime, end: datetime) -> None:
        """Candles of these symbols over [start, end], of any interval, are about to be read."""


@runtime_checkable
class ReadsRankingFigures(MarketData, Protocol):
    """A market that hands a ranking the few figures it reads of a symbol's candles without building the candles
    (the synthetic market: Decimal candles cost it more than drawing their days)."""

    async def ranking_figures(self, symbol: str, at_now: datetime, at_then: datetime, first_day: datetime,
                              last_day: datetime) -> tuple[Decimal | None, Decimal | None, list[Decimal]]:
        """The closes of the closed hourly candles opened at at_now and at_then (None where there is none) and the
        quote volumes of the closed daily candles opened from first_day to last_day: what build_snapshot would
        pick out of candles() over those times."""


class OrderBooks(Protocol):
    """A symbol's order book as the venue shows it (GET /api/v3/depth on Binance)."""

    async def order_book(self, symbol: str, limit: int) -> OrderBook:
        """Up to `limit` levels a side, best first; VenueUnavailable when it cannot be read now."""


class Exchange(Protocol):
    """A venue that takes market orders: the paper venue or Binance."""

    name: str

    async def balances(self) -> dict[str, Decimal]:
        """Free balance per asset (zero balances may be absent)."""

    async def place_market_order(self, order: OrderRequest) -> OrderResult:
        """Execute now; raise OrderRejected for business rejections, VenueUnavailable for transient ones."""

    async def find_order(self, symbol: str, client_order_id: str) -> OrderResult | None:
        """Look an order up by client order id (None if the venue never received it)."""


@runtime_checkable
class DustConverter(Protocol):
    """A venue that can sell holdings below its order filters (the paper venue)."""

    async def convert_dust(self, orders: Sequence[OrderRequest]) -> list[OrderResult]: ...


class ProcessLock(Protocol):
    """Keeps two processes from running rebalances on one database at the same time."""

    def acquire(self) -> bool:
        """Take the lock without waiting; False if another process holds it."""

    def release(self) -> None: ...


class Journal(Protocol):
    """The rebalance journal: slots, their orders, and how executions are booked (each exactly once)."""

    def get_rebalance(self, slot: str) -> RebalanceRow | None: ...
    def unfinished_rebalances(self) -> list[RebalanceRow]: ...
    def recent_rebalances(self, limit: int) -> list[RebalanceRow]: ...
    def last_rebalance(self, states: tuple[str, ...] = ("done",)) -> RebalanceRow | None: ...
    def previous_rebalance(self, rebalance_id: int) -> RebalanceRow | None: ...
    def newest_journaled(self) -> tuple[str | None, datetime | None]: ...
    def start_rebalance(self, slot: str, kind: str, state: str, at: datetime, strategy: str, mode: str,
                        targets: tuple[str, ...], equity_before: Decimal, note: str = "",
                        ranking: Ranking | None = None) -> RebalanceRow: ...
    def update_rebalance(self, slot: str, **fields: object) -> None: ...
    def finish_rebalance(self, row: RebalanceRow, at: datetime, positions: list[Position], cash: Decimal,
                         mark: EquityMark, **fields: object) -> None: ...
    def add_orders(self, rebalance_id: int | None, slot: str, orders: list[OrderRecord], at: datetime) -> None: ...
    def orders_for(self, slot: str, leg: str | None = None) -> list[OrderRecord]: ...
    def filled_orders(self, slots: Sequence[str]) -> dict[str, list[OrderRecord]]: ...
    def unsettled_orders(self, leg: str) -> list[OrderRecord]: ...
    def set_order_status(self, client_order_id: str, status: OrderStatus, at: datetime,
                         error_code: int | None = None, error: str = "") -> None: ...
    def record_execution(self, client_order_id: str, status: OrderStatus, exchange_order_id: str,
                         fills: tuple[Fill, ...], base: str, rebalance_id: int | None, at: datetime,
                         quoted: tuple[Decimal | None, Decimal | None] = (None, None)) -> bool: ...


class Store(Journal, Protocol):
    """Persistence: the journal, the ledger, parameters, state flags, equity and benchmark marks."""

    quote: str

    def transaction(self) -> ContextManager[object]:
        """A unit of work: the writes inside land together or not at all."""
        ...
    def is_busy(self, error: BaseException) -> bool:
        """True when the error is another writer's lock outlasting the wait: try again later."""
        ...
    def storage_failure(self, error: BaseException) -> str | None:
        """One line when the error is the database or its disk being full: try again later."""
        ...
    def get_state(self, key: str, default: str | None = None) -> str | None: ...
    def set_state(self, key: str, value: str) -> None: ...
    def load_params(self) -> dict[str, str]: ...
    def save_params(self, values: dict[str, str], changes: list[Change], who: str, at: datetime) -> None: ...
    def deposit(self, amount: Decimal, at: datetime, note: str = "starting capital") -> None: ...
    def deposits(self) -> list[Decimal]: ...
    def load_ledger(self) -> Ledger: ...
    def fills(self, limit: int | None = None, rebalance_id: int | None = None) -> list[Fill]: ...
    def add_mark(self, mark: EquityMark) -> None: ...
    def mark_at_or_before(self, at: datetime) -> EquityMark | None: ...
    def first_mark(self) -> EquityMark | None: ...
    def last_mark(self) -> EquityMark | None: ...
    def marks(self, since: datetime | None = None) -> list[EquityMark]: ...
    def closing_marks(self, zone: ZoneInfo) -> list[EquityMark]: ...
    def add_benchmark(self, at: datetime, btc_price: Decimal | None, universe_index: Decimal, size: int) -> None: ...
    def benchmarks(self, since: datetime | None = None) -> list[tuple[datetime, Decimal | None, Decimal]]: ...
    def add_reconciliation(self, at: datetime, rows: list[tuple[str, Decimal, Decimal]]) -> None: ...
    def last_prices(self) -> dict[str, Decimal]: ...
    def inventory_history(self) -> list[tuple[datetime, list[Position]]]: ...


class Notifier(Protocol):
    """Pushes to the people watching: kinds rebalance, alert, lifecycle, daily; photos as (name, PNG) pairs."""

    async def push(self, kind: str, text: str, monospace: bool = False,
                   photos: Sequence[tuple[str, bytes]] = (), caption: str = "") -> None: ...


@dataclass(frozen=True)
class Push:
    """One queued message (or album) for one chat."""

    id: int
    chat_id: int
    kind: str
    body: str  # the message, or the album's caption when photos are attached
    silent: bool
    attempts: int
    photos: tuple[tuple[str, bytes], ...] = ()


class Outbox(Protocol):
    """Pushes waiting for delivery: durable, in order per chat, each row marked sent, retried or given up."""

    def enqueue(self, kind: str, bodies: list[str], chat_ids: list[int], silent: bool, at: datetime,
                photos: list[tuple[str, bytes]] | None = None, caption: str = "") -> None: ...
    def heads(self) -> list[Push]: ...
    def pending_count(self) -> int: ...
    def sent(self, push_id: int, at: datetime) -> None: ...
    def failed_attempt(self, push_id: int, error: str) -> None: ...
    def given_up(self, push_id: int, error: str) -> None: ...


class CandleSource(Protocol):
    """Candles for the backtester: the candle cache, or one file."""

    def load(self, start: date | None, end: date | None, history_days: int, quote: str,
             opens: bool, interval: str | None = None, ranges: bool = False) -> tuple[Panel, int]:
        """One panel covering [start - history_days, end] (None: all there is) of the interval asked for (None: the
        finest the source holds; the panel says which), and how many rows were unusable; with `ranges`, the highs
        and lows too (the volume cost model's spread estimate)."""
        ...


class ImportSummary(Protocol):
    """What `bot.py data import` reports (read-only, so any report with these fields will do)."""

    @property
    def files(self) -> int: ...
    @property
    def rows(self) -> int: ...
    @property
    def symbols(self) -> set[str]: ...
    @property
    def bad(self) -> Sequence[object]:  # each printable as 'file:line: reason'
        ...
    @property
    def skipped(self) -> Mapping[str, int]:  # rows left out, by flag
        ...
    @property
    def flagged(self) -> Mapping[str, int]:  # rows kept unchanged, by flag
        ...
    @property
    def intervals(self) -> set[str]:  # of the candles stored
        ...


class FetchSummary(Protocol):
    """What `bot.py data fetch` reports."""

    @property
    def symbols(self) -> int: ...
    @property
    def candles(self) -> int: ...
    @property
    def requests(self) -> int: ...


class CandleCache(Protocol):
    """The candle cache file as the offline commands use it (`bot.py data`, `bot.py backtest`)."""

    path: Path

    def source(self, data: Path | None = None) -> CandleSource:
        """The cache as a candle source, or the given file instead."""
        ...
    def import_files(self, files: Iterable[Path], interval: str | None, progress: Progress) -> ImportSummary: ...
    async def fetch(self, symbols: Sequence[str] | None, interval: str, since_ms: int, api_url: str | None,
                    weight_per_minute: int, progress: Callable[[Iterable[str]], Iterable[str]]) -> FetchSummary: ...
    async def synth(self, days: int, n_symbols: int, interval: str, seed: int,
                    progress: Callable[[Iterable[str]], Iterable[str]]) -> tuple[int, int]: ...
    def prepare(self, interval: str) -> None:
        """Ready the interval's candles for the next backtest (after a data command wrote them)."""


class MarketCaps(Protocol):
    """A market capitalisation source (CoinGecko, or the synthetic market's supply × price)."""

    name: str

    async def coins(self) -> list[CoinCap]:
        """Every coin the source ranks, largest first; VenueUnavailable when it cannot be read now."""


class CapCache(Protocol):
    """The last coins read from the source, with when; and which stale reading was already alerted."""

    def load(self) -> tuple[list[CoinCap], datetime] | None: ...
    def save(self, coins: list[CoinCap], read_at: datetime) -> None: ...
    def stale_alerted(self) -> datetime | None: ...
    def mark_stale_alerted(self, read_at: datetime) -> None: ...


class FilledOrders(Protocol):
    """The bot's own market orders that filled, as `bot.py costs calibrate` reads them (oldest first)."""

    def filled_market_orders(self) -> list[FilledOrder]: ...


class BacktestRuns(Protocol):
    """Where backtest results are kept for the dashboard's Backtests page."""

    def add_run(self, report: BacktestReport, summary: str, who: str, at: datetime) -> None: ...
    def add_sweep(self, keys: Sequence[str], rows: Sequence[SweepRow], sort: str, who: str, at: datetime) -> None: ...


class KeptBacktests(Protocol):
    """The backtests kept for the dashboard, as it reads them (JSON-ready documents)."""

    def listing(self) -> list[dict[str, Any]]: ...
    def get(self, run_id: int) -> dict[str, Any] | None: ...


# Told, after a commit, what the bot wrote that a page shows ("mark", "rebalance", "parameters", "paused"):
# the dashboard served by the bot hears it at once instead of polling the database.
ChangeListener = Callable[[str], None]


class ReportReader(Protocol):
    """The reads the dashboard's reports make: the bot's store over a read-only connection."""

    quote: str

    @property
    def backtests(self) -> KeptBacktests: ...
    def newest(self) -> tuple[Any, ...]:
        """What changes when the bot writes something a page shows (the pages' cache key)."""

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Call fn(*args) on the connection's own thread discipline (one query at a time)."""
    def benchmarks(self, since: datetime | None = None) -> list[tuple[datetime, Decimal | None, Decimal]]: ...
    def equity_series(self) -> tuple[list[float], list[float]]: ...
    def benchmark_series(self) -> tuple[datetime | None, list[float], list[float | None], list[float]]: ...
    def daily_closes(self, zone: ZoneInfo) -> list[float]: ...
    def fills(self, limit: int | None = None, rebalance_id: int | None = None,
              since: datetime | None = None) -> list[Fill]: ...
    def get_state(self, key: str, default: str | None = None) -> str | None: ...
    def inventory_at(self, at: datetime) -> tuple[datetime | None, dict[str, Decimal]]: ...
    def last_mark(self) -> EquityMark | None: ...
    def last_prices(self) -> dict[str, Decimal]: ...
    def last_rebalance(self, states: tuple[str, ...] = ("done",)) -> RebalanceRow | None: ...
    def load_ledger(self) -> Ledger: ...
    def load_params(self) -> dict[str, str]: ...
    def mark_at_or_before(self, at: datetime) -> EquityMark | None: ...
    def marks(self, since: datetime | None = None) -> list[EquityMark]: ...
    def closing_marks(self, zone: ZoneInfo) -> list[EquityMark]: ...
    def orders_for(self, slot: str, leg: str | None = None) -> list[OrderRecord]: ...
    def ranking_of(self, rebalance_id: int) -> list[RankRow]: ...
    def param_changes(self, limit: int = 20) -> list[dict[str, str]]: ...
    def recent_rebalances(self, limit: int) -> list[RebalanceRow]: ...
    def trade_counts(self) -> dict[int, tuple[int, int]]: ...
    def value_layers(self, top: int) -> tuple[list[datetime], dict[str, list[float]]]: ...
