"""A `--data` file's panel is kept as a binary copy in the cache's folder and mapped by the next run of the
same file: the same panel, never a stale one after the file changes, never written beside the file."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from tests.test_backtest_cli import bot
from tests.test_kline_blocks import rows, write
from tradingbot.adapters.candle_cache import FileCandles, SqliteCandleCache
from tradingbot.adapters.kline_import import panel_from_file
from tradingbot.adapters.panel_copy import FILE_COPIES, copies_folder
from tradingbot.core.backtest.panel import Panel
from tradingbot.adapters.clock import SystemClock


def same_panel(a: Panel, b: Panel) -> bool:
    arrays = ("close", "open", "quote_volume", "listed", "high", "low")
    return (a.first_day, a.symbols, a.step_ms) == (b.first_day, b.symbols, b.step_ms) and all(
        (getattr(a, k) is None) == (getattr(b, k) is None)
        and (getattr(a, k) is None or np.array_equal(getattr(a, k), getattr(b, k), equal_nan=True)) for k in arrays)


@pytest.fixture
def data(tmp_path) -> Path:
    lines = rows(4, 60)
    lines[30] = lines[30].split(",")[0] + ",x,1704067200000,1,2,0.5,oops,7,"  # one bad row
    folder = tmp_path / "shared"
    folder.mkdir()
    return write(folder / "candles.csv.gz", lines)


def source(tmp_path: Path, data: Path) -> FileCandles:
    found = SqliteCandleCache(tmp_path / "cache" / "k.sqlite", SystemClock()).source(data)
    assert isinstance(found, FileCandles)
    return found


@pytest.mark.parametrize("ranges", [False, True])
def test_the_second_run_maps_the_copy_and_gets_the_same_panel(tmp_path, data, ranges):
    first, bad = source(tmp_path, data).load(None, None, 7, "USDT", opens=True, ranges=ranges)
    second, bad_again = source(tmp_path, data).load(None, None, 7, "USDT", opens=True, ranges=ranges)
    direct, bad_rows = panel_from_file(data, ranges=ranges)
    assert isinstance(second.close, np.memmap) and not isinstance(first.close, np.memmap)
    assert same_panel(first, direct) and same_panel(second, direct) and bad == bad_again == len(bad_rows) == 1
    second.close[0, 0] = -1.0  # mapped copy on write: a run may write to its arrays without reaching the file
    assert same_panel(source(tmp_path, data).load(None, None, 7, "USDT", opens=True, ranges=ranges)[0], direct)


def test_a_copy_without_highs_and_lows_never_serves_a_run_that_needs_them(tmp_path, data):
    source(tmp_path, data).load(None, None, 7, "USDT", opens=True)
    with_ranges, _ = source(tmp_path, data).load(None, None, 7, "USDT", opens=True, ranges=True)
    assert with_ranges.high is not None and same_panel(with_ranges, panel_from_file(data, ranges=True)[0])


def test_a_changed_file_is_read_again_and_its_old_copy_removed(tmp_path, data):
    source(tmp_path, data).load(None, None, 7, "USDT", opens=True)
    text = data.read_bytes()
    before = data.stat()
    write(data, [r.replace("S002USDT", "S009USDT") for r in rows(4, 60)])
    os.utime(data, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    assert data.read_bytes() != text
    panel, bad = source(tmp_path, data).load(None, None, 7, "USDT", opens=True)
    assert "S009USDT" in panel.symbols and bad == 0 and same_panel(panel, panel_from_file(data)[0])
    assert len(list(copies_folder(tmp_path / "cache" / "k.sqlite").glob("file-*"))) == 1


def test_the_same_size_and_content_touched_later_is_another_file(tmp_path, data):
    source(tmp_path, data).load(None, None, 7, "USDT", opens=True)
    folder = copies_folder(tmp_path / "cache" / "k.sqlite")
    old = {f.name for f in folder.glob("file-*")}
    stat = data.stat()
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    source(tmp_path, data).load(None, None, 7, "USDT", opens=True)
    assert len(old) == 1 and {f.name for f in folder.glob("file-*")}.isdisjoint(old)


def test_copies_go_to_the_cache_folder_only_and_are_bounded(tmp_path, data):
    beside = sorted(p.name for p in data.parent.iterdir())
    for i in range(FILE_COPIES + 2):
        other = write(data.parent / f"c{i}.csv.gz", rows(2, 20 + i)) if i else data
        source(tmp_path, other).load(None, None, 7, "USDT", opens=True)
    assert sorted(p.name for p in data.parent.iterdir()) == sorted([*beside, *(f"c{i}.csv.gz" for i in
                                                                                 range(1, FILE_COPIES + 2))])
    assert len(list(copies_folder(tmp_path / "cache" / "k.sqlite").glob("file-*"))) == FILE_COPIES


def test_a_backtest_of_a_file_prints_the_same_result_from_its_copy(tmp_path):
    data = write(tmp_path / "candles.csv.gz", rows(12, 200))
    args = ["backtest", "--cache", str(tmp_path / "k.sqlite"), "--data", str(data), "--lookback", "5d",
            "--topn", "3", "--min-quote-volume", "0", "--json"]
    cold, warm = bot(*args), bot(*args)
    assert cold.returncode == warm.returncode == 0, cold.stderr + warm.stderr
    assert list(copies_folder(tmp_path / "k.sqlite").glob("file-*"))
    assert json.loads(cold.stdout) == json.loads(warm.stdout) and json.loads(cold.stdout)["fills"] > 0
