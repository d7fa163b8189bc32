"""An import reads a long candle file once: the amounts it stores as written come from the bytes it parsed, and
they are the very text the file's second reading (the path of files with rows that are not plain) gives."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import sqlite_utils

from tests.test_kline_blocks import rows, shrink, write
from tradingbot.adapters.kline_files import iter_rows
from tradingbot.adapters.kline_import import import_files
from tradingbot.adapters.kline_read import read_candles
from tradingbot.adapters.kline_store import INTERVAL_MS, KlineStore

OPENED: list[str] | None = None  # the paths opened while a test counts them


def _count_opens(event: str, args: tuple) -> None:
    if event == "open" and OPENED is not None:
        OPENED.append(str(args[0]))


sys.addaudithook(_count_opens)  # audit hooks cannot be removed: it records only while OPENED is a list


def opens_of(path: Path, work) -> int:
    """How many times `work` opens the file at `path`."""
    global OPENED
    OPENED = []
    try:
        work()
        return OPENED.count(str(path))
    finally:
        OPENED = None


def tricky(lines: list[str]) -> list[str]:
    """Amounts written as a float would not give them back: the cache must store the text, not the number."""
    out = list(lines)
    for i, (o, h, lo) in zip((3, 7, 11, 15), [("1e-5", "2E+1", ".5"), ("5.", "6.000", "0.10"), ("+3", "4.5e0", "3"),
                                               ("0.000000012345678901", "1.5", "0.00000001")]):
        cells = out[i].split(",")
        cells[3:6], cells[6] = (o, h, lo), o
        out[i] = ",".join(cells)
    return out


def test_an_import_opens_a_plain_long_file_as_often_as_reading_its_candles(tmp_path):
    path = write(tmp_path / "long.csv.gz", rows(3, 50))
    store = KlineStore(sqlite_utils.Database(tmp_path / "k.sqlite"))
    read = opens_of(path, lambda: read_candles(path))
    assert read >= 1
    assert opens_of(path, lambda: import_files(store, [path])) == read  # not a second time for the amounts' text


@pytest.mark.parametrize("blocks", ["one", "many"])
def test_the_amounts_kept_from_the_bytes_are_the_rows_the_second_reading_gives(tmp_path, monkeypatch, blocks):
    if blocks == "many":
        shrink(monkeypatch)
    path = write(tmp_path / "long.csv.gz", tricky(rows(4, 60)))
    kept, reread = read_candles(path, written=True), read_candles(path)
    step = INTERVAL_MS[kept.interval]
    assert list(iter_rows(kept, step)) == list(iter_rows(reread, step))
    assert len(kept) == 4 * 59  # the partial days left out of both
    with pytest.raises(RuntimeError):  # given out once, block by block: a second reading is refused, not empty
        list(iter_rows(kept, step))


def test_a_file_with_a_bad_row_is_read_again_for_its_amounts_and_names_the_row(tmp_path, monkeypatch):
    shrink(monkeypatch)
    lines = tricky(rows(3, 60))
    lines[100] = lines[100].replace(",x,", ",x,abc")  # line 102: its open time does not parse
    path = write(tmp_path / "long.csv.gz", lines)
    store = KlineStore(sqlite_utils.Database(tmp_path / "k.sqlite"))
    report = import_files(store, [path])
    assert [b.line for b in report.bad] == [102]
    stored = store.db.execute("SELECT symbol, open_time, open, high, low, close, volume FROM klines "
                              "ORDER BY symbol, open_time").fetchall()
    written = [r.split(",") for i, r in enumerate(lines) if not r.endswith("partial_day") and i != 100]
    assert [(s, int(t), o, h, lo, c, v) for s, _, t, o, h, lo, c, v, _ in written] == stored
