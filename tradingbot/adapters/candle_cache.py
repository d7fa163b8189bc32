"""The candle cache file as the offline commands and the backtester use it: a source of panels, imports, fetches.

The backtest use case sees only the CandleSource port; `bot.py data` and `bot.py backtest` receive a CandleCache.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

import sqlite_utils

from ..app.ports import Clock, Progress
from ..core.backtest.panel import INTERVALS_MS, Panel
from ..core.errors import UserError
from .kline_import import ImportReport, held_intervals, import_files, panel_from_file, window_ms
from .kline_store import KlineStore
from .panel_copy import cached_panel, copies_folder, copy_from_columns, current_copy, file_panel

if TYPE_CHECKING:
    from .binance_klines import FetchReport


@dataclass(frozen=True)
class CachedCandles:
    """Candles from the SQLite candle cache, through its binary copy (panel_copy.py): of the interval asked for,
    else the finest it holds for the window."""

    path: Path

    def load(self, start: date | None, end: date | None, history_days: int, quote: str,
             opens: bool, interval: str | None = None, ranges: bool = False) -> tuple[Panel, int]:
        if not self.path.exists():
            raise UserError(f"no candle cache at {self.path}: run `bot.py data import FILE` or `data fetch`")
        db = sqlite_utils.Database(self.path)
        if interval is None:
            held = held_intervals(db, quote, *window_ms(start, end, history_days))
            interval = held[0] if held else "1d"
        try:
            return cached_panel(db, self.path, start, end, history_days, quote, opens, interval, ranges), 0
        except LookupError as e:
            raise UserError(str(e)) from None


@dataclass(frozen=True)
class FileCandles:
    """Candles straight from one file (not imported), of the interval its open times show; the whole file is
    read, whatever the window. With `copies` (the cache's folder of panel copies) the panel is kept there as a
    binary copy of this very file, which the next run of the same file maps instead (panel_copy.file_panel)."""

    path: Path
    copies: Path | None = None

    def load(self, start: date | None, end: date | None, history_days: int, quote: str,
             opens: bool, interval: str | None = None, ranges: bool = False) -> tuple[Panel, int]:
        if not self.path.exists():
            raise UserError(f"no such data file: {self.path}")
        try:
            panel, bad = (file_panel(self.path, self.copies, quote, ranges) if self.copies
                          else _counted(*panel_from_file(self.path, quote, ranges)))
        except (LookupError, ValueError) as e:  # quote=BTC over USDT pairs; a weekly or mixed file
            raise UserError(str(e)) from None
        if interval and interval != panel.interval:
            raise UserError(f"{self.path.name} holds {panel.interval} candles, not {interval}")
        return panel, bad


def _empty(store: KlineStore) -> bool:
    return not any(store.db.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone() for t in ("klines", "listings"))


def _counted(panel: Panel, bad: list) -> tuple[Panel, int]:
    return panel, len(bad)


class SqliteCandleCache:
    """The cache file for `bot.py data import` / `data fetch`, and as a backtest's candle source."""

    def __init__(self, path: str | Path, clock: Clock):
        self.path, self.clock = Path(path), clock  # the clock times a fetch's waits (backoff, rate limits)

    def source(self, data: Path | None = None) -> CachedCandles | FileCandles:
        return FileCandles(data, copies_folder(self.path)) if data else CachedCandles(self.path)

    def _store(self) -> KlineStore:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return KlineStore(sqlite_utils.Database(self.path))

    def import_files(self, files: Iterable[Path], interval: str | None, progress: Progress) -> ImportReport:
        """Import the files; one file into a cache holding no candles or listings yet also writes the panel
        copy the cache will hold, from the columns just read (prepare() then finds it)."""
        store, files = self._store(), list(files)
        report = import_files(store, files, interval, progress, keep=len(files) == 1 and _empty(store))
        if report.columns is not None:
            copy_from_columns(store, self.path, report.columns, files[0].name)
            report.columns = None
        return report

    async def fetch(self, symbols: Sequence[str] | None, interval: str, since_ms: int, api_url: str | None,
                    weight_per_minute: int, progress: Callable[[Iterable[str]], Iterable[str]]) -> FetchReport:
        from .binance_klines import fetch_all  # python-binance: imported by `data fetch` only, not by every open

        return await fetch_all(self._store(), symbols, interval, since_ms, api_url, weight_per_minute, self.clock,
                               progress=progress)

    async def synth(self, days: int, n_symbols: int, interval: str, seed: int,
                    progress: Callable[[Iterable[str]], Iterable[str]]) -> tuple[int, int]:
        """The synthetic market's candles into the cache (adapters/synthetic_klines.py): (symbols, candles)."""
        from .synthetic_klines import write_synthetic

        return await write_synthetic(self._store(), days, n_symbols, interval, seed, progress)

    def prepare(self, interval: str, quote: str = "USDT") -> None:
        """Build the binary panel copy of the interval's candles now (after a write), not in the next backtest."""
        if interval in INTERVALS_MS:
            current_copy(sqlite_utils.Database(self.path), self.path, quote, interval)
