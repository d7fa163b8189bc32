"""Long candle files are parsed from their bytes where every row is plain, and give exactly what the text
reader gives; any block that is not plain goes through the text reader, which names its bad lines."""
from __future__ import annotations

import gzip
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.test_kline_blocks import rows, same_columns, shrink, write
from tradingbot.adapters.kline_bytes import parse_block
from tradingbot.adapters.kline_files import AMOUNTS, read_ahead
from tradingbot.adapters.kline_read import _read_text, read_candles

HEADER = ["symbol", "open_time", "open_time_ms", "open", "high", "low", "close", "volume", "flags"]
WANTED = ("open", "close", "volume", "quote_volume")
PLAIN = (b"BTCUSDT,2024-01-01,1704067200000,42283.58,44184.1,42180.77,44179.55,27174.3,\n"
         b"BTCUSDT,2024-01-02,1704153600000000,1e-5,.5,5.,44946.91,65146.40,partial_day\n"
         b"ETHUSDT,2024-01-01,1704067200000,2281.87,2352.37,2265.24,2352.04,216702.6,\n")


def test_plain_rows_are_parsed_from_their_bytes():
    runs, heads, flags, count, (open_time, unparsed, values, reasons), _ = parse_block(HEADER, "open_time_ms", WANTED,
                                                                                   PLAIN)
    assert (runs, heads.tolist(), count) == (["BTCUSDT", "ETHUSDT"], [0, 2], 3)
    assert flags is not None and flags.tolist() == ["", "partial_day", ""]
    assert open_time.tolist() == [1704067200000, 1704153600000, 1704067200000]  # µs read as ms
    assert values["open"].tolist() == [42283.58, 1e-5, 2281.87] and values["volume"][2] == 216702.6
    assert "quote_volume" not in values and not unparsed.any() and reasons == {}


@pytest.mark.parametrize("block", [
    PLAIN.replace(b"\n", b"\r\n"),  # carriage returns: the text reader's universal newlines
    PLAIN.replace(b",44179.55,", b",,"),  # a missing field
    PLAIN.replace(b"44179.55", b""),  # an empty amount
    PLAIN.replace(b"42283.58", b"nan"),  # not written as a plain number
    PLAIN.replace(b"2281.87", b"1e"),
    PLAIN.replace(b"2281.87", b" 2281.87"),
    PLAIN.replace(b"1704067200000,42283.58", b"17040672e5,42283.58"),  # an open time that is not digits
    PLAIN.replace(b"ETHUSDT,", b","),  # no symbol
    PLAIN + b"\n",  # a blank line
    PLAIN[:-1],  # a last row without its newline
])
def test_a_block_that_is_not_plain_is_left_to_the_text_reader(block):
    assert parse_block(HEADER, "open_time_ms", WANTED, block) is None
    assert parse_block(HEADER, "open_time", WANTED, PLAIN) is None  # dates: the text reader parses them


def varied(tmp_path: Path, name: str) -> Path:
    """Symbols interleaved, µs open times, flags kept and left out, odd but valid numbers, and bad rows."""
    lines = rows(5, 90)
    lines = [lines[i] for i in np.random.default_rng(5).permutation(len(lines))]  # no runs of one symbol
    lines[3] = lines[3].replace(",x,", ",x,") + "000"  # not µs: the flags cell gets digits, a kept flag
    lines[11] = lines[11].split(",")[0] + ",x,1704067200000000,1e-5,.5,.25,5.,1E+3,"  # µs, exponents
    lines[20] = lines[20].split(",")[0] + ",x,1704067200000,1,2,0.5,oops,7,"  # close not a number
    lines[40] = lines[40].split(",")[0] + ",x,1704067200000,1,0.5,2,1,7,"  # low above high, when read
    lines[60] = "S001USDT,x,1"  # too few fields
    return write(tmp_path / name, lines)


@pytest.mark.parametrize("small", [False, True])
@pytest.mark.parametrize("fields", [AMOUNTS, WANTED])
def test_the_bytes_and_the_text_reader_give_the_same_columns(tmp_path, monkeypatch, small, fields):
    if small:
        shrink(monkeypatch)
    path = varied(tmp_path, "varied.csv.gz")
    by_bytes, by_text = read_candles(path, fields=fields), _read_text(path, None, tuple(fields))
    assert same_columns(by_bytes, by_text) and by_bytes.flagged == by_text.flagged
    assert by_bytes.names.tolist() == by_text.names.tolist() and np.array_equal(by_bytes.keep, by_text.keep)
    assert np.array_equal(by_bytes.code, by_text.code) and len(by_bytes.bad) == (3 if "high" in fields else 2)


def test_a_file_with_carriage_returns_reads_as_the_same_file_without(tmp_path, monkeypatch):
    shrink(monkeypatch)
    plain = varied(tmp_path, "plain.csv.gz")
    text = gzip.decompress(plain.read_bytes())
    crlf = tmp_path / "crlf.csv.gz"
    crlf.write_bytes(gzip.compress(text.replace(b"\n", b"\r\n")))
    later = tmp_path / "later.csv.gz"  # carriage returns only after the first block
    head, tail = text[:9000], text[9000:]
    later.write_bytes(gzip.compress(head + tail.replace(b"\n", b"\r\n")))
    expected = read_candles(plain)
    for other in (crlf, later):
        got = read_candles(other)
        got.bad = [replace(b, file=plain.name) for b in got.bad]  # the same lines, reported in another file
        assert same_columns(got, expected) and len(got.bad) == 3


def test_blocks_read_ahead_arrive_in_order_with_the_readers_error_and_the_thread_stops():
    def failing():
        yield from (b"a\n", b"b\n")
        raise ValueError("cut short")

    got = []
    with pytest.raises(ValueError, match="cut short"):
        for part in read_ahead(failing()):
            got.append(part)
    assert got == [b"a\n", b"b\n"]
    many = read_ahead(iter([b"x\n"] * 100), depth=2)  # the reader waits on a full queue when this stops
    assert next(many) == b"x\n"
    many.close()
    assert not [t for t in threading.enumerate() if t.name == "candle-file-reader"]
