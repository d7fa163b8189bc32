"""Candle files into the cache and back out as backtest arrays; bad rows named by file and line."""
from __future__ import annotations

import gzip
import zipfile
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import sqlite_utils

from tradingbot.adapters.kline_read import read_candles
from tradingbot.adapters.kline_import import import_files, load_panel, panel_from_file
from tradingbot.adapters.kline_store import KlineStore
from tradingbot.core.backtest.panel import build_panel

DAY = 86_400_000
T0 = 1_704_067_200_000  # 2024-01-01


def vision_line(t: int, close: str, qv: str = "1000.5") -> str:
    return f"{t},1.0,2.0,0.5,{close},10.0,{t + DAY - 1},{qv},5,1.0,1.0,0"


def long_csv(tmp_path: Path, rows: list[str], name: str = "long.csv.gz") -> Path:
    path = tmp_path / name
    text = "symbol,open_time,open_time_ms,open,high,low,close,volume,flags\n" + "\n".join(rows) + "\n"
    path.write_bytes(gzip.compress(text.encode()))
    return path


def test_a_binance_dump_in_a_zip_with_microsecond_times(tmp_path):
    lines = [vision_line(T0, "1.5"), vision_line((T0 + DAY) * 1000, "1.75")]  # 2025-style µs on the second
    lines[1] = lines[1].replace(str(T0 + 2 * DAY - 1), str((T0 + 2 * DAY - 1) * 1000))
    path = tmp_path / "ETHUSDT-1d-2024-01.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("ETHUSDT-1d-2024-01.csv", "\n".join(lines) + "\n")
    c = read_candles(path)
    assert c.interval == "1d" and c.symbol.tolist() == ["ETHUSDT", "ETHUSDT"]
    assert c.open_time.tolist() == [T0, T0 + DAY]
    assert c.values["quote_volume"].tolist() == [1000.5, 1000.5] and not c.bad


def test_bad_rows_are_reported_with_file_and_line_and_the_rest_imported(tmp_path):
    path = long_csv(tmp_path, [
        f"AAAUSDT,2024-01-01,{T0},1,2,0.5,1.5,100,",
        f"AAAUSDT,2024-01-02,{T0 + DAY},1,2,0.5,abc,100,",  # line 3: close does not parse
        f"AAAUSDT,2024-01-03,{T0 + 2 * DAY},1,2,0.5,-1,100,",  # line 4: negative price
        "AAAUSDT,2024-01-04,1",  # line 5: too few fields
        f"AAAUSDT,2024-01-05,{T0 + 4 * DAY + 5},1,2,0.5,1.5,100,",  # line 6: off the daily grid
        f"AAAUSDT,2024-01-06,{T0 + 5 * DAY},1,2,0.5,1.6,100,partial_day",  # left out on purpose, counted
        f"BBBUSDT,2024-01-01,{T0},1,2,3,1.5,100,",  # line 8: low above high
    ])
    store = KlineStore(sqlite_utils.Database(tmp_path / "k.sqlite"))
    report = import_files(store, [path])
    assert [(b.file, b.line) for b in report.bad] == [("long.csv.gz", n) for n in (3, 4, 5, 6, 8)]
    assert "close is not a number" in str(report.bad[0]) and "expected 9 fields" in str(report.bad[2])
    assert report.rows == 1 and report.skipped == {"partial_day": 1}
    assert store.get("AAAUSDT", "1d", 0, 2**62)[0].close == 1.5
    assert store.coverage("AAAUSDT", "1d").first == T0


def test_import_then_load_gives_the_same_panel_as_reading_the_file(tmp_path):
    rows = [f"{s}USDT,x,{T0 + d * DAY},{1 + d},{2 + d},{0.5},{1.5 + d * (i + 1) / 10},{100 + d},"
            for i, s in enumerate(["AAA", "BBB", "CCC"]) for d in range(40) if (d + i) % 7]
    path = long_csv(tmp_path, rows)
    db = sqlite_utils.Database(tmp_path / "k.sqlite")
    import_files(KlineStore(db), [path])
    cached = load_panel(db, None, None, 7)
    direct, bad = panel_from_file(path)
    assert not bad and cached.symbols == direct.symbols == ("AAAUSDT", "BBBUSDT", "CCCUSDT")
    for name in ("close", "open", "quote_volume"):
        assert np.array_equal(getattr(cached, name), getattr(direct, name), equal_nan=True)
    assert np.array_equal(cached.listed, direct.listed)
    window = load_panel(db, date(2024, 1, 20), date(2024, 1, 25), 3, opens=False)
    assert window.date_of(0) == date(2024, 1, 10) and np.isnan(window.open).all()
    assert window.listed.tolist() == direct.listed.tolist()  # the listing day survives the narrower window


def test_a_file_of_another_shape_is_refused_in_one_line(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(ValueError, match="x.csv: not a candle file: no column symbol"):
        read_candles(path)


def test_quote_volume_stored_or_close_times_volume_read_in_one_pass_over_the_candles(tmp_path):
    """A symbol with the quote-asset volume and one without, in one query over klines: a second pass would
    read every candle of an hourly panel again."""
    db = sqlite_utils.Database(tmp_path / "k.sqlite")
    store = KlineStore(db)
    with db.atomic():
        store.add_rows((s, "1d", T0 + d * DAY, T0 + (d + 1) * DAY - 1, "1", "3", "0.5", f"{2 + d}", "10", qv)
                       for s, qv in (("AAAUSDT", "7.25"), ("BBBUSDT", None)) for d in range(3))
    reads: list[str] = []
    db.conn.set_trace_callback(reads.append)
    panel = load_panel(db, None, None, 0)
    db.conn.set_trace_callback(None)
    assert panel.symbols == ("AAAUSDT", "BBBUSDT")
    assert panel.quote_volume.tolist() == [[7.25, 20.0], [7.25, 30.0], [7.25, 40.0]]
    assert sum("FROM klines" in sql for sql in reads) == 1


@pytest.mark.parametrize("ranges", [False, True])
def test_symbol_codes_build_the_same_panel_as_a_name_per_candle(ranges):
    """Unsorted, interleaved names, one unused name, a repeated candle (the later row wins) and a listing."""
    rng = np.random.default_rng(7)
    names = np.array(["XUSDT", "BUSDT", "UNUSEDUSDT", "AUSDT", "MUSDT"])
    codes = rng.choice([0, 1, 3, 4], size=60)
    day = 19_000 + rng.integers(0, 12, size=60)
    open_, close, qv, high, low = (rng.random(60) for _ in range(5))
    extra = dict(high=high, low=low) if ranges else {}
    listed = {"BUSDT": 18_990}
    by_name = build_panel(names[codes], day, open_, close, qv, listed, **extra)
    by_code = build_panel(codes, day, open_, close, qv, listed, names=names.tolist(), **extra)
    assert by_code.symbols == by_name.symbols == ("AUSDT", "BUSDT", "MUSDT", "XUSDT")
    assert by_code.first_day == by_name.first_day and by_code.listed.tolist() == by_name.listed.tolist()
    for column in ("close", "open", "quote_volume", *(("high", "low") if ranges else ())):
        np.testing.assert_array_equal(getattr(by_code, column), getattr(by_name, column))
