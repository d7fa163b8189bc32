"""An import of one file into an empty cache writes the cache's panel copy from the columns it read, the same
copy the cache's own query builds; any other import leaves the copy to be built from SQLite."""
from __future__ import annotations

import numpy as np
import sqlite_utils

from tests.test_kline_blocks import rows, write
from tradingbot.adapters.candle_cache import SqliteCandleCache
from tradingbot.adapters.clock import SystemClock
from tradingbot.adapters.panel_copy import ARRAYS, PanelCopy, _full_panel, copies_folder, read_copy


def lines() -> list[str]:
    out = rows(5, 70) + [r.replace("USDT,", "BTC,", 1) for r in rows(2, 30)]  # another quote: not in the copy
    out[12] = out[12].split(",")[0] + ",x,1704067200000,1,0.5,2,1,7,"  # low above high: not imported
    out[30] = out[30].replace("S000USDT", "s000usdt")  # stored upper case
    return out


def copy_of(cache) -> tuple[list, PanelCopy | None]:
    folders = sorted(copies_folder(cache).glob("1d-USDT-*"))
    return folders, read_copy(folders[-1]) if folders else None


def same(a: PanelCopy, b: PanelCopy) -> bool:
    return (a.first_day, a.step_ms, a.symbols) == (b.first_day, b.step_ms, b.symbols) and all(
        np.array_equal(getattr(a, k), getattr(b, k), equal_nan=True) for k in (*ARRAYS, "known"))


def test_a_fresh_import_writes_the_copy_the_cache_query_builds(tmp_path):
    cache = SqliteCandleCache(tmp_path / "k.sqlite", SystemClock())
    report = cache.import_files([write(tmp_path / "a.csv.gz", lines())], None, lambda _: None)
    assert report.columns is None and report.rows == 5 * 69 + 2 * 29 - 1
    folders, written = copy_of(cache.path)
    assert len(folders) == 1 and written is not None
    db = sqlite_utils.Database(cache.path)
    assert folders[0].name.endswith(db.execute("SELECT stamp FROM kline_version").fetchone()[0])
    assert same(written, _full_panel(db, "USDT", "1d")) and "S000USDT" in written.symbols


def test_an_import_into_a_cache_holding_candles_builds_nothing_from_its_columns(tmp_path):
    cache = SqliteCandleCache(tmp_path / "k.sqlite", SystemClock())
    cache.import_files([write(tmp_path / "a.csv.gz", lines())], None, lambda _: None)
    cache.import_files([write(tmp_path / "b.csv.gz", [r.replace("S00", "T00") for r in rows(2, 40)])], None,
                       lambda _: None)
    db = sqlite_utils.Database(cache.path)
    stamp = db.execute("SELECT stamp FROM kline_version").fetchone()[0]
    assert not [f for f in copy_of(cache.path)[0] if f.name.endswith(stamp)]  # only the first import's copy
    cache.prepare("1d")
    folders, built = copy_of(cache.path)
    assert len(folders) == 1 and folders[0].name.endswith(stamp) and built is not None
    assert "T000USDT" in built.symbols and "S000USDT" in built.symbols and same(built, _full_panel(db, "USDT", "1d"))
