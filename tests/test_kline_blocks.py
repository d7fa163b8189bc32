"""Long candle files are read a block at a time: the same candles and bad lines as one read, in bounded memory."""
from __future__ import annotations

import gzip
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import sqlite_utils

from tradingbot.adapters import kline_files, kline_read
from tradingbot.adapters.kline_read import read_candles
from tradingbot.adapters.kline_import import import_files, load_panel, panel_from_file
from tradingbot.adapters.kline_store import KlineStore

DAY = 86_400_000
T0 = 1_704_067_200_000  # 2024-01-01
HEADER = "symbol,open_time,open_time_ms,open,high,low,close,volume,flags\n"


def rows(symbols: int, days: int) -> list[str]:
    rng = np.random.default_rng(3)
    out = []
    for s in range(symbols):
        price = 10 ** rng.uniform(-3, 3)
        for d in range(days):
            price *= float(np.exp(rng.normal(0, 0.05)))
            out.append(f"S{s:03d}USDT,x,{T0 + d * DAY},{price:.8g},{price * 1.1:.8g},{price * 0.9:.8g},"
                       f"{price:.10g},{rng.uniform(1, 1e6):.6f},{'partial_day' if d == days - 1 else ''}")
    return out


def write(path: Path, lines: list[str]) -> Path:
    path.write_bytes(gzip.compress((HEADER + "\n".join(lines) + "\n").encode()))
    return path


@pytest.fixture
def small_blocks(monkeypatch):
    shrink(monkeypatch)


def shrink(monkeypatch) -> None:
    """~50 rows a block instead of thousands, as text and as bytes."""
    monkeypatch.setattr(kline_files, "BLOCK_CHARS", 4096)
    monkeypatch.setattr(kline_read, "BYTE_BLOCK", 4096)


def same_columns(a, b) -> bool:
    return (a.interval == b.interval and a.symbol.tolist() == b.symbol.tolist()
            and a.open_time.tolist() == b.open_time.tolist() and a.values.keys() == b.values.keys()
            and all(np.array_equal(a.values[k], b.values[k]) for k in a.values)
            and [str(x) for x in a.bad] == [str(x) for x in b.bad] and a.skipped == b.skipped)


def test_blocks_give_the_candles_and_bad_lines_of_one_whole_read(tmp_path, monkeypatch):
    lines = rows(6, 120)
    lines[10] = lines[10].replace("S000USDT,x,", "S000USDT,x,abc")  # line 12: time does not parse
    lines[400] = "S003USDT,x,1"  # line 402: too few fields
    lines[500] = lines[500].replace(",x,", ",x,") + ",extra"  # line 502: too many
    lines[650] = lines[650].split(",")[0] + ",x," + str(T0) + ",1,2,0.5,oops,7,"  # line 652: close not a number
    lines.insert(300, "")  # a blank line in the middle of a block
    path = write(tmp_path / "long.csv.gz", lines)
    whole = read_candles(path)  # one block: the file is smaller than a block
    shrink(monkeypatch)
    blocked = read_candles(path)
    assert same_columns(blocked, whole)
    assert [b.line for b in blocked.bad] == [12, 403, 503, 653]
    assert blocked.skipped == {"partial_day": 6} and len(blocked) == 6 * 120 - 6 - 4


def test_a_file_of_good_rows_reads_the_same_through_numpy_as_split_as_text(tmp_path, small_blocks):
    good = write(tmp_path / "good.csv.gz", rows(4, 100))
    text = write(tmp_path / "text.csv.gz", [r.replace(",x,", ", x,") for r in rows(4, 100)])
    long_symbol = write(tmp_path / "long.csv.gz", [r.replace("S00", "S" * 45) for r in rows(4, 100)])
    fast = read_candles(good)
    assert same_columns(fast, read_candles(text))
    assert read_candles(long_symbol).names[0] == "S" * 45 + "0USDT"  # too long for NumPy's text: read in full


def test_an_import_in_blocks_stores_every_amount_as_written(tmp_path, small_blocks):
    lines = rows(3, 80)
    path = write(tmp_path / "long.csv.gz", lines)
    store = KlineStore(sqlite_utils.Database(tmp_path / "k.sqlite"))
    report = import_files(store, [path])
    assert report.rows == 3 * 79 and report.symbols == {"S000USDT", "S001USDT", "S002USDT"}
    stored = store.db.execute("SELECT symbol, open_time, open, high, low, close, volume FROM klines "
                              "ORDER BY symbol, open_time").fetchall()
    written = [r.split(",") for r in lines if not r.endswith("partial_day")]
    assert [(s, int(t), o, h, lo, c, v) for s, _, t, o, h, lo, c, v, _ in written] == stored


def test_reading_a_long_file_keeps_typed_columns_not_its_text(tmp_path, small_blocks):
    path = write(tmp_path / "long.csv.gz", rows(20, 1000))
    text_bytes = len(gzip.decompress(path.read_bytes()))
    tracemalloc.start()
    try:
        panel, _ = panel_from_file(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert panel.close.shape == (999, 20)  # the last, partial day left out
    assert peak < 4 * text_bytes  # typed columns take ~2 times the text; the text split whole took ~10


def test_a_file_read_in_blocks_gives_the_highs_and_lows_the_cache_gives(tmp_path, small_blocks):
    lines = rows(3, 80) + [r.replace("USDT,", "BTC,", 1) for r in rows(2, 30)]  # other quotes are left out
    path = write(tmp_path / "long.csv.gz", lines)
    direct, _ = panel_from_file(path, ranges=True)
    store = KlineStore(sqlite_utils.Database(tmp_path / "k.sqlite"))
    import_files(store, [path])
    cached = load_panel(store.db, None, None, 0, ranges=True)
    assert direct.symbols == cached.symbols == ("S000USDT", "S001USDT", "S002USDT")
    assert direct.high is not None and direct.low is not None and cached.high is not None
    assert np.array_equal(direct.high, cached.high, equal_nan=True)
    assert np.array_equal(direct.low, cached.low, equal_nan=True)
    assert np.allclose(direct.high / direct.close, 1.1, equal_nan=True) and panel_from_file(path)[0].high is None
