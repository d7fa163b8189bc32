"""A candle file's interval comes from the spacing of its open times: an hourly file is never read as daily, and the
backtester runs on the interval it holds."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import sqlite_utils

from tests.builders import NO_ENV_FILE
from tradingbot.adapters.candle_cache import CachedCandles, FileCandles
from tradingbot.adapters.kline_read import read_candles
from tradingbot.adapters.kline_import import import_files, load_panel
from tradingbot.adapters.kline_store import KlineStore
from tradingbot.core.errors import UserError

HOUR, DAY = 3_600_000, 86_400_000
T0 = 1_704_067_200_000  # 2024-01-01
ROOT = Path(__file__).resolve().parent.parent


def dump(tmp_path: Path, name: str, times: list[int]) -> Path:
    """A data.binance.vision kline dump (12 columns, no header) with these open times."""
    path = tmp_path / name
    path.write_text("".join(f"{t},1.0,2.0,0.5,1.5,10.0,{t + HOUR - 1},15.0,5,1.0,1.0,0\n" for t in times))
    return path


def long_csv(tmp_path: Path, rows: list[tuple[str, int]], name: str = "long.csv") -> Path:
    path = tmp_path / name
    path.write_text("symbol,open_time_ms,open,high,low,close,volume\n"
                    + "".join(f"{s},{t},1,2,0.5,1.5,10\n" for s, t in rows))
    return path


def hours(n: int, step: int = HOUR, start: int = T0) -> list[int]:
    return [start + i * step for i in range(n)]


@pytest.mark.parametrize("interval, step", [("1h", HOUR), ("4h", 4 * HOUR), ("1d", DAY)])
def test_a_dump_and_a_long_file_are_stored_under_the_interval_their_open_times_show(tmp_path, interval, step):
    named = read_candles(dump(tmp_path, f"BTCUSDT-{interval}-2024-01.csv", hours(48, step)))
    spaced = read_candles(long_csv(tmp_path, [(s, t) for s in ("AAAUSDT", "BBBUSDT") for t in hours(48, step)]))
    assert named.interval == spaced.interval == interval and not named.bad and not spaced.bad
    store = KlineStore(sqlite_utils.Database(tmp_path / "k.sqlite"))
    import_files(store, [tmp_path / "long.csv"])
    assert len(store.get("AAAUSDT", interval, 0, 2**62)) == 48 and store.coverage("AAAUSDT", interval).first == T0


def test_halts_do_not_change_the_interval(tmp_path):
    times = hours(10) + hours(10, start=T0 + 3 * DAY)  # a three-day halt in hourly candles
    assert read_candles(long_csv(tmp_path, [("AAAUSDT", t) for t in times])).interval == "1h"


def test_an_hourly_dump_named_daily_is_refused_naming_file_and_line(tmp_path):
    path = dump(tmp_path, "BTCUSDT-1d-2024-01.csv", hours(30))
    with pytest.raises(ValueError, match=r"^BTCUSDT-1d-2024-01.csv:2: open times 1h apart, but its name says 1d"):
        read_candles(path)


def test_a_daily_file_claimed_hourly_is_refused(tmp_path):
    path = long_csv(tmp_path, [("AAAUSDT", t) for t in hours(5, DAY)])
    with pytest.raises(ValueError, match=r"^long.csv:3: open times 1d apart, but --interval says 1h"):
        read_candles(path, "1h")


def test_a_file_whose_symbols_have_different_intervals_is_refused(tmp_path):
    rows = [("AAAUSDT", t) for t in hours(48)] + [("BBBUSDT", t) for t in hours(5, DAY)]
    with pytest.raises(ValueError, match=r"^long.csv:51: BBBUSDT's open times are 1d apart, other symbols' 1h"):
        read_candles(long_csv(tmp_path, rows))


def test_a_symbol_turning_from_hourly_to_daily_is_refused(tmp_path):
    times = hours(24) + hours(4, DAY, start=T0 + 2 * DAY)
    with pytest.raises(ValueError, match=r"^long.csv:27: AAAUSDT's open times turn 1d apart here, after 1h"):
        read_candles(long_csv(tmp_path, [("AAAUSDT", t) for t in times]))


def test_a_spacing_that_is_no_stored_interval_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"^long.csv:3: open times 2h apart, not a candle interval the cache"):
        read_candles(long_csv(tmp_path, [("AAAUSDT", t) for t in hours(5, 2 * HOUR)]))


def test_the_backtester_reads_an_hourly_file_as_hourly(tmp_path):
    path = dump(tmp_path, "BTCUSDT-1h-2024-01.csv", hours(24 * 20))
    panel, bad = FileCandles(path).load(None, None, 7, "USDT", opens=False)
    assert (panel.interval, panel.days, panel.row(date(2024, 1, 2)), bad) == ("1h", 480, 24, 0)
    with pytest.raises(UserError, match=r"^BTCUSDT-1h-2024-01.csv holds 1h candles, not 1d$"):
        FileCandles(path).load(None, None, 7, "USDT", opens=False, interval="1d")


def test_the_cache_hands_out_the_finest_interval_it_holds_unless_told(tmp_path):
    db = sqlite_utils.Database(tmp_path / "k.sqlite")
    import_files(KlineStore(db), [dump(tmp_path, "BTCUSDT-1h-2024-01.csv", hours(24 * 20))])
    with pytest.raises(LookupError, match=r"the cache holds 1h candles for that window but no 1d: run with "
                                          r"--interval 1h, or import daily candles"):
        load_panel(db, date(2024, 1, 10), date(2024, 1, 15), 3)
    import_files(KlineStore(db), [dump(tmp_path, "BTCUSDT-1d-2024-01.csv", hours(20, DAY))])
    cache = CachedCandles(tmp_path / "k.sqlite")
    assert cache.load(date(2024, 1, 10), date(2024, 1, 15), 3, "USDT", opens=False)[0].interval == "1h"
    assert cache.load(date(2024, 1, 10), date(2024, 1, 15), 3, "USDT", False, "1d")[0].interval == "1d"


def test_bot_py_backtest_runs_an_hourly_file_every_4h_at_nine_and_says_so(tmp_path):
    path = long_csv(tmp_path, [(s, t) for s in ("AAAUSDT", "BBBUSDT") for t in hours(24 * 20)])
    done = subprocess.run([sys.executable, "bot.py", "--env-file", NO_ENV_FILE, "backtest", "--data", str(path),
                           "--cache", str(tmp_path / "k.sqlite"), "--every", "4h", "--lookback", "24h", "--at",
                           "09:00", "--min-quote-volume", "0", "--min-age-days", "0", "--json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["interval"] == "1h" and out["params"]["every"] == "4h" and out["rebalances"] > 6 * 15


def test_weekly_candles_open_on_mondays_as_binance_writes_them(tmp_path):
    mondays = hours(6, 7 * DAY, start=T0)  # 2024-01-01 was a Monday
    weekly = read_candles(dump(tmp_path, "BTCUSDT-1w-2024-01.csv", mondays))
    assert weekly.interval == "1w" and not weekly.bad and len(weekly.open_time) == 6
    thursdays = read_candles(dump(tmp_path, "ETHUSDT-1w-2024-01.csv", hours(6, 7 * DAY, start=T0 + 3 * DAY)))
    assert len(thursdays.bad) == 6 and "not on the 1w grid" in str(thursdays.bad[0])
