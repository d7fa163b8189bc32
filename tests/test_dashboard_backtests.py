"""Backtests are kept for the dashboard: /backtest in the chat and `bot.py backtest` (a run or a sweep) store
their results in the bot's database, and the Backtests page lists and opens them."""
from __future__ import annotations

import asyncio

import aiohttp

from handlers.commands import Context, dispatch
from tests.conftest import World
from tests.dashboard_world import serving
from tests.test_backtest_cli import bot
from tests.test_fuzz_commands import write_candles
from tradingbot.adapters.backtest_runs import SqliteBacktestRuns
from tradingbot.adapters.candle_cache import FileCandles
from tradingbot.app.backtester import Backtester


def test_a_chat_backtest_is_kept_and_shown_with_its_benchmarks(tmp_path):
    world = World(tmp_path / "bot.sqlite")
    world.services.backtester = Backtester(FileCandles(write_candles(tmp_path / "candles.csv")))
    world.services.backtests = SqliteBacktestRuns(world.db)
    reply = asyncio.run(dispatch(Context(world.services, "telegram:1001"), "/backtest lookback=5d topn=3 min_quote_volume=0"))
    assert reply.text.startswith("Backtest:")
    [kept] = world.services.backtests.listing()
    assert kept["who"] == "telegram:1001" and kept["kind"] == "run" and "5d top 3" in kept["summary"]

    async def look():
        async with serving(world, tmp_path / "bot.sqlite") as (dashboard, auth):
            link = auth.issue_link("test")
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                await http.post(f"{dashboard.url}/login", data={"t": link.split("t=")[1]})
                listing = await (await http.get(f"{dashboard.url}/api/backtests.json")).json()
                detail = await (await http.get(f"{dashboard.url}/api/backtest.json?id={kept['id']}")).json()
                csv = await (await http.get(f"{dashboard.url}/api/backtest/metrics.csv?id={kept['id']}")).text()
                missing = await http.get(f"{dashboard.url}/api/backtest.json?id=999")
                return listing, detail, csv, missing.status

    listing, detail, csv, missing = asyncio.run(look())
    assert listing["tables"]["backtests"]["rows"][0][0] == kept["id"]
    paths = detail["paths"]
    assert len(paths["equity"]) > 30 and "Equal-weight universe" in paths["benchmarks"]
    assert all(len(p) == len(paths["equity"]) for p in paths["benchmarks"].values())
    assert csv.startswith("figure,strategy,") and "Equal-weight universe" in csv.splitlines()[0] and "Sharpe" in csv
    assert missing == 404


def test_bot_py_backtest_keeps_runs_and_sweeps_in_an_existing_database_only(tmp_path):
    World(tmp_path / "bot.sqlite")  # the bot's database, as a running bot leaves it
    data = write_candles(tmp_path / "candles.csv")
    common = ["--data", str(data), "--min-quote-volume", "0"]
    assert bot("--db", str(tmp_path / "bot.sqlite"), "backtest", *common, "--topn", "3").returncode == 0
    swept = bot("--db", str(tmp_path / "bot.sqlite"), "backtest", *common, "--sweep", "lookback=2d,5d", "topn=2,4",
                "--out", str(tmp_path / "out"))
    assert swept.returncode == 0, swept.stderr
    runs = SqliteBacktestRuns(World(tmp_path / "bot.sqlite").db).listing()
    assert [(r["kind"], r["who"]) for r in runs] == [("sweep", "cli"), ("run", "cli")]
    # the test window is shorter than 90 days: annualised figures are kept as null, the others as numbers
    assert "sweep of 4 runs over lookback, topn" == runs[0]["summary"] and runs[0]["metrics"]["total_return"] is not None
    assert bot("--db", str(tmp_path / "absent.sqlite"), "backtest", *common).returncode == 0
    assert not (tmp_path / "absent.sqlite").exists()  # a backtest never creates a bot database
