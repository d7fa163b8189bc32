"""The candle cache's binary panel copy: read when it matches the cache, never once the cache has changed."""
from __future__ import annotations

import asyncio
import gzip
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import sqlite_utils

from tests.backtest_data import FIRST_DAY, make_candles
from handlers.backtest_cli import main, parse
from tradingbot.adapters.candle_cache import CachedCandles, SqliteCandleCache
from tradingbot.adapters.clock import ManualClock
from tradingbot.adapters.kline_import import import_files, load_panel
from tradingbot.adapters.kline_store import Coverage, KlineStore
from tradingbot.adapters.panel_copy import copies_folder
from tradingbot.adapters.synthetic import EPOCH
from tradingbot.core.backtest.config import BacktestConfig, Execution
from tradingbot.core.backtest.panel import DAY_MS, day_date
from tradingbot.core.backtest.simulate import simulate
from tradingbot.core.domain import Candle
from tradingbot.core.errors import UserError
from tradingbot.core.params import StrategyParams

START, END = day_date(FIRST_DAY + 60), day_date(FIRST_DAY + 120)


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    """Made-up daily candles (listings, halts, delistings) imported from a file, one listing recorded early."""
    rows = [f"{s},x,{d * DAY_MS},{b.open:.6g},{max(b.open, b.close) * 1.01:.6g},{min(b.open, b.close) * 0.99:.6g},"
            f"{b.close:.6g},{b.quote_volume / b.close:.6g},{b.quote_volume:.6g},"
            for s, bars in make_candles(3).items() for d, b in bars.items()]
    path = tmp_path / "candles.csv.gz"
    path.write_bytes(gzip.compress(("symbol,open_time,open_time_ms,open,high,low,close,volume,quote_volume,flags\n"
                                    + "\n".join(rows) + "\n").encode()))
    db_path = tmp_path / "klines.sqlite"
    store = KlineStore(sqlite_utils.Database(db_path))
    import_files(store, [path])
    store.set_listing("CAAUSDT", (FIRST_DAY - 30) * DAY_MS, 0)
    return db_path


def load(cache: Path, start: date | None = START, end: date | None = END, history: int = 30, opens: bool = True,
         interval: str | None = None, ranges: bool = False):
    return CachedCandles(cache).load(start, end, history, "USDT", opens, interval, ranges)[0]


def same(a, b) -> bool:
    """Equal panels, highs and lows included (both None when not asked for)."""
    ranges = [(getattr(a, k), getattr(b, k)) for k in ("high", "low")]
    return (a.first_day == b.first_day and a.step_ms == b.step_ms and a.symbols == b.symbols
            and np.array_equal(a.listed, b.listed)
            and all(np.array_equal(getattr(a, k), getattr(b, k), equal_nan=True)
                    for k in ("close", "open", "quote_volume"))
            and all(x is y is None or (x is not None and y is not None and np.array_equal(x, y, equal_nan=True))
                    for x, y in ranges))


def sqlite_panel(cache: Path, start=START, end=END, history=30, opens=True, interval="1d", ranges=False):
    return load_panel(sqlite_utils.Database(cache), start, end, history, "USDT", opens, interval, ranges)


@pytest.mark.parametrize("start, end, history, opens", [
    (START, END, 30, True), (None, None, 0, True), (START, None, 7, False), (None, END, 0, True),
    (day_date(FIRST_DAY - 5), day_date(FIRST_DAY + 3), 2, True),  # the window overhangs the first candle
    (day_date(FIRST_DAY + 150), day_date(FIRST_DAY + 400), 1, True),  # and the last
])
def test_the_copy_gives_exactly_the_panel_the_sqlite_query_gives(cache, start, end, history, opens):
    load(cache)  # makes the copy
    assert same(load(cache, start, end, history, opens), sqlite_panel(cache, start, end, history, opens))


def test_a_backtest_over_the_copy_ends_where_one_over_sqlite_ends(cache):
    config = BacktestConfig(StrategyParams(lookback=timedelta(days=7), topn=5), START, END)
    load(cache)
    fast, slow = simulate(load(cache), config), simulate(sqlite_panel(cache), config)
    assert np.array_equal(fast.equity, slow.equity)


def test_the_second_load_reads_the_copy_not_sqlite(cache):
    first = load(cache)
    (copy,) = copies_folder(cache).iterdir()
    close = np.load(copy / "close.npy")
    np.save(copy / "close.npy", close * 2)  # a copy that differs from the cache can only be seen if it is read
    assert np.array_equal(load(cache).close, first.close * 2, equal_nan=True)


def candle(day: int, close: str) -> Candle:
    t = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(days=day)
    return Candle(t, t + timedelta(days=1, milliseconds=-1), Decimal(close), Decimal(close), Decimal(close),
                  Decimal(close), Decimal(1000), None)


def test_a_write_between_two_runs_changes_the_second_result(cache):
    before = load(cache)
    col, row = before.symbols.index("BTCUSDT"), 80
    KlineStore(sqlite_utils.Database(cache)).put("BTCUSDT", "1d", [candle(before.first_day + row, "12345.5")])
    after = load(cache)
    assert before.close[row, col] != 12345.5 and after.close[row, col] == 12345.5
    assert same(after, sqlite_panel(cache))


def test_a_listing_recorded_between_two_runs_changes_the_listing_day(cache):
    before = load(cache)
    KlineStore(sqlite_utils.Database(cache)).set_listing("BTCUSDT", (FIRST_DAY - 400) * DAY_MS, 0)
    after = load(cache)
    col = after.symbols.index("BTCUSDT")
    assert before.listed[col] != FIRST_DAY - 400 and after.listed[col] == FIRST_DAY - 400


@pytest.mark.parametrize("write", [
    lambda s: s.add_rows([]), lambda s: s.put("XUSDT", "1d", [], Coverage(0, DAY_MS)),
    lambda s: s.set_coverage("BTCUSDT", "1d", Coverage(0, DAY_MS)), lambda s: s.set_listing("XUSDT", None, 1),
    lambda s: s.join_coverage("XUSDT", "1d", 0, DAY_MS),
])
def test_every_write_to_the_cache_renews_its_stamp(cache, write):
    store = KlineStore(sqlite_utils.Database(cache))
    before = store.stamp()
    with store.db.atomic():
        write(store)
    assert store.stamp() != before


def test_only_the_copy_of_the_current_stamp_is_kept(cache):
    load(cache)
    KlineStore(sqlite_utils.Database(cache)).set_listing("XUSDT", None, 1)
    load(cache)
    copies = list(copies_folder(cache).iterdir())
    assert [c.name for c in copies] == [f"1d-USDT-{KlineStore(sqlite_utils.Database(cache)).stamp()}"]


@pytest.mark.parametrize("damage", [
    lambda d: (d / "close.npy").write_bytes((d / "close.npy").read_bytes()[:1000]),  # truncated
    lambda d: (d / "open.npy").write_bytes(b""),
    lambda d: (d / "meta.json").write_text("{not json"),
    lambda d: (d / "known.npy").unlink(),
    lambda d: (d / "quote_volume.npy").write_bytes(b"\x93NUMPY garbage" * 50),
])
def test_a_damaged_copy_is_rebuilt_and_the_result_is_unchanged(cache, damage):
    load(cache)
    (copy,) = copies_folder(cache).iterdir()
    damage(copy)
    assert same(load(cache), sqlite_panel(cache))
    assert same(load(cache), sqlite_panel(cache))  # the rebuilt copy reads back whole
    assert (copy / "close.npy").stat().st_size > 1000 and (copy / "known.npy").exists()


def test_a_cache_written_before_stamps_existed_gets_one(cache):
    db = sqlite_utils.Database(cache)
    db["kline_version"].drop()
    assert same(load(cache), sqlite_panel(cache)) and db["kline_version"].exists()
    assert len(list(copies_folder(cache).iterdir())) == 1


def test_a_window_without_candles_is_refused_as_before(cache):
    load(cache)
    with pytest.raises(UserError, match="no daily candles in the cache for that window"):
        load(cache, date(2030, 1, 1), date(2030, 2, 1), 3)


def test_a_volume_model_backtest_over_the_copy_ends_where_one_over_sqlite_ends(cache):
    load(cache)  # the copy is made by a flat-cost load, and still serves highs and lows
    fast, slow = load(cache, ranges=True), sqlite_panel(cache, ranges=True)
    assert fast.high is not None and np.nanmax(fast.high / fast.close) > 1.005 and same(fast, slow)
    assert load(cache).high is None  # not handed out unless asked for
    config = BacktestConfig(StrategyParams(lookback=timedelta(days=7), topn=5), START, END, capital=1e6,
                            execution=Execution(cost_model="volume"))
    a, b = simulate(fast, config), simulate(slow, config)
    assert a.spread > 0 and a.impact > 0 and np.array_equal(a.equity, b.equity)


@pytest.fixture
def two_intervals(tmp_path: Path) -> Path:
    """The synthetic market's hourly and daily candles in one cache, as `bot.py data synth` writes them."""
    cache = SqliteCandleCache(tmp_path / "k.sqlite", ManualClock(EPOCH))
    for interval in ("1h", "1d"):
        asyncio.run(cache.synth(20, 20, interval, 7, lambda xs: xs))
    return cache.path


@pytest.mark.parametrize("ranges", [False, True])
def test_the_copies_keep_intervals_apart(two_intervals, ranges):
    window = (date(2024, 1, 9), date(2024, 1, 18), 2)
    for _ in range(2):  # the first round makes each interval's copy, the second reads them
        for interval in ("1h", "1d"):
            panel = load(two_intervals, *window, interval=interval, ranges=ranges)
            assert panel.interval == interval and same(panel, sqlite_panel(two_intervals, *window, True, interval,
                                                                           ranges))
    assert load(two_intervals, *window).interval == "1h"  # none asked: the finest held
    stamp = KlineStore(sqlite_utils.Database(two_intervals)).stamp()
    assert sorted(c.name for c in copies_folder(two_intervals).iterdir()) == [f"1d-USDT-{stamp}", f"1h-USDT-{stamp}"]


def test_data_synth_after_a_load_is_seen_by_the_next_one(two_intervals):
    before = load(two_intervals, None, None, 0, interval="1d")
    asyncio.run(SqliteCandleCache(two_intervals, ManualClock(EPOCH)).synth(30, 20, "1d", 7, lambda xs: xs))
    after = load(two_intervals, None, None, 0, interval="1d")
    assert after.days == before.days + 10 and same(after, sqlite_panel(two_intervals, None, None, 0))


def data_synth(tmp_path: Path, open_cache) -> int:
    args = parse(["data", "synth", "--days", "10", "--symbols", "50", "--interval", "1h"])
    return main(args, open_cache, tmp_path / "k.sqlite")


def test_data_synth_builds_the_copy_the_next_backtest_reads(tmp_path):
    assert data_synth(tmp_path, lambda p: SqliteCandleCache(p, ManualClock(EPOCH))) == 0
    (copy,) = copies_folder(tmp_path / "k.sqlite").iterdir()
    stamp = KlineStore(sqlite_utils.Database(tmp_path / "k.sqlite")).stamp()
    assert copy.name == f"1h-USDT-{stamp}"
    np.save(copy / "close.npy", np.load(copy / "close.npy") * 2)  # seen only if the load reads this copy
    expected = sqlite_panel(tmp_path / "k.sqlite", None, None, 0, interval="1h").close * 2
    assert np.array_equal(load(tmp_path / "k.sqlite", None, None, 0).close, expected, equal_nan=True)


class UnpreparedCache(SqliteCandleCache):
    """A cache whose copy cannot be built (as when memory runs out): the write itself succeeded."""

    def prepare(self, interval: str, quote: str = "USDT") -> None:
        raise MemoryError("out of memory")


def test_a_copy_that_cannot_be_built_is_one_line_and_the_data_command_succeeds(tmp_path, capsys):
    assert data_synth(tmp_path, lambda p: UnpreparedCache(p, ManualClock(EPOCH))) == 0
    err = capsys.readouterr().err.splitlines()
    assert [line for line in err if "prepare" in line] == [
        "could not prepare the 1h candles for backtests (MemoryError: out of memory); the first backtest will"]
    assert not copies_folder(tmp_path / "k.sqlite").exists()
    assert load(tmp_path / "k.sqlite", None, None, 0).interval == "1h"  # the first backtest builds it instead
