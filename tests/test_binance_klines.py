"""`data fetch` against a local stand-in of Binance's klines endpoint: paging, resuming, the weight budget."""
from __future__ import annotations

import asyncio

import sqlite_utils
from aiohttp import web

from tradingbot.adapters.binance_klines import WeightBudget, fetch_all
from tradingbot.adapters.kline_store import KlineStore

DAY = 86_400_000
T0 = 1_500_000_000_000 // DAY * DAY


def kline(t: int) -> list:
    return [t, "1.0", "2.0", "0.5", str(1 + (t - T0) // DAY), "10.0", t + DAY - 1, "15.0", 3, "1", "1", "0"]


async def fake_binance(days: int, asked: list[dict]) -> web.AppRunner:
    async def klines(request: web.Request) -> web.Response:
        q = request.query
        asked.append(dict(q))
        start, limit = int(q["startTime"]), int(q["limit"])
        first = max(start, T0)
        return web.json_response([kline(t) for t in range(first, T0 + days * DAY, DAY)][:limit])

    async def info(request: web.Request) -> web.Response:
        return web.json_response({"symbols": [{"symbol": "AAAUSDT", "quoteAsset": "USDT"},
                                              {"symbol": "AAABTC", "quoteAsset": "BTC"}]})

    app = web.Application()
    app.router.add_get("/api/v3/klines", klines)
    app.router.add_get("/api/v3/exchangeInfo", info)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner


def test_fetch_pages_through_history_and_resumes_where_the_cache_ends(tmp_path):
    store = KlineStore(sqlite_utils.Database(tmp_path / "k.sqlite"))
    asked: list[dict] = []

    async def scenario(days: int) -> int:
        runner = await fake_binance(days, asked)
        port = runner.addresses[0][1]
        try:
            report = await fetch_all(store, None, "1d", 0, f"http://127.0.0.1:{port}/api", 6000)
        finally:
            await runner.cleanup()
        return report.candles

    assert asyncio.run(scenario(2500)) == 2500
    assert [int(a["startTime"]) for a in asked] == [0, T0 + 1000 * DAY, T0 + 2000 * DAY]
    asked.clear()
    assert asyncio.run(scenario(2510)) == 10  # only what the cache lacks
    assert [int(a["startTime"]) for a in asked] == [T0 + 2500 * DAY]
    assert store.coverage("AAAUSDT", "1d").first == T0 and store.coverage("AAAUSDT", "1d").last == T0 + 2509 * DAY
    assert store.coverage("AAABTC", "1d") is None


def test_the_weight_budget_waits_for_the_next_minute():
    now, waits = [30.0], []

    async def sleep(s: float) -> None:
        waits.append(s)
        now[0] += s

    async def spend() -> None:
        budget = WeightBudget(10, clock=lambda: now[0], sleep=sleep)
        for _ in range(6):
            await budget.spend(2)

    asyncio.run(spend())
    assert len(waits) == 1 and 30 < waits[0] < 31  # five requests fit in the minute, the sixth waits
