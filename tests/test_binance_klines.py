"""`data fetch` against a local stand-in of Binance's klines endpoint: paging, resuming, and the bot's transport
in between (the venue's minute for the weight budget, Retry-After on 429)."""
from __future__ import annotations

import asyncio
import time

import sqlite_utils
from aiohttp import web

from tradingbot.adapters.binance_klines import fetch_all
from tradingbot.adapters.clock import SystemClock
from tradingbot.adapters.kline_store import KlineStore

DAY, MINUTE = 86_400_000, 60_000
T0 = 1_500_000_000_000 // DAY * DAY


def kline(t: int) -> list:
    return [t, "1.0", "2.0", "0.5", str(1 + (t - T0) // DAY), "10.0", t + DAY - 1, "15.0", 3, "1", "1", "0"]


class FakeBinance:
    """klines, exchangeInfo, and the ping/time python-binance asks first; `limited` answers 429 that many times."""

    def __init__(self, days: int, limited: int = 0, minute_left_ms: int | None = None):
        self.days, self.limited, self.minute_left_ms = days, limited, minute_left_ms
        self.asked: list[tuple[float, dict]] = []  # (monotonic arrival, query) of each klines request
        self.time_answered: list[float] = []  # monotonic time of each server-time answer

    async def klines(self, request: web.Request) -> web.Response:
        q = dict(request.query)
        self.asked.append((time.monotonic(), q))
        if self.limited:
            self.limited -= 1
            return web.json_response({"code": -1003, "msg": "Too many requests."}, status=429,
                                     headers={"Retry-After": "1"})
        first, limit = max(int(q["startTime"]), T0), int(q["limit"])
        return web.json_response([kline(t) for t in range(first, T0 + self.days * DAY, DAY)][:limit])

    async def info(self, request: web.Request) -> web.Response:
        return web.json_response({"symbols": [{"symbol": "AAAUSDT", "quoteAsset": "USDT"},
                                              {"symbol": "AAABTC", "quoteAsset": "BTC"}]})

    async def ping(self, request: web.Request) -> web.Response:
        return web.json_response({})

    async def server_time(self, request: web.Request) -> web.Response:
        now = int(time.time() * 1000)
        if self.minute_left_ms is not None:  # the venue's minute ends that soon after this answer
            now = (now // MINUTE + 1) * MINUTE - self.minute_left_ms
        self.time_answered.append(time.monotonic())
        return web.json_response({"serverTime": now})

    async def serve(self, scenario):
        app = web.Application()
        app.router.add_get("/api/v3/klines", self.klines)
        app.router.add_get("/api/v3/exchangeInfo", self.info)
        app.router.add_get("/api/v3/time", self.server_time)
        app.router.add_get("/api/v3/ping", self.ping)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        try:
            return await scenario(f"http://127.0.0.1:{runner.addresses[0][1]}/api")
        finally:
            await runner.cleanup()

    def starts(self) -> list[int]:
        return [int(q["startTime"]) for _, q in self.asked]


def fetch(fake: FakeBinance, store: KlineStore, symbols=None, budget: int = 6000):
    return asyncio.run(fake.serve(lambda url: fetch_all(store, symbols, "1d", 0, url, budget, SystemClock())))


def test_fetch_pages_through_history_and_resumes_where_the_cache_ends(tmp_path):
    store = KlineStore(sqlite_utils.Database(tmp_path / "k.sqlite"))
    fake = FakeBinance(2500)
    report = fetch(fake, store)
    assert report.candles == 2500 and report.requests == 1 + 3  # exchangeInfo, then three pages
    assert fake.starts() == [0, T0 + 1000 * DAY, T0 + 2000 * DAY]
    fake = FakeBinance(2510)
    assert fetch(fake, store).candles == 10  # only what the cache lacks
    assert fake.starts() == [T0 + 2500 * DAY]
    assert store.coverage("AAAUSDT", "1d").first == T0 and store.coverage("AAAUSDT", "1d").last == T0 + 2509 * DAY
    assert store.coverage("AAABTC", "1d") is None


def test_a_429_is_waited_out_as_its_retry_after_says_and_the_page_asked_again(tmp_path):
    store = KlineStore(sqlite_utils.Database(tmp_path / "k.sqlite"))
    fake = FakeBinance(30, limited=1)
    report = fetch(fake, store, ["AAAUSDT"])
    assert report.candles == 30 and fake.starts() == [0, 0]
    assert fake.asked[1][0] - fake.asked[0][0] >= 1.0


def test_the_weight_budget_waits_for_the_venue_s_next_minute(tmp_path):
    store = KlineStore(sqlite_utils.Database(tmp_path / "k.sqlite"))
    fake = FakeBinance(2500, minute_left_ms=1500)
    report = fetch(fake, store, ["AAAUSDT"], budget=4)  # two klines requests (weight 2 each) a minute
    assert report.candles == 2500 and len(fake.asked) == 3
    third = fake.asked[2][0]
    # the third waited for the venue's minute, which turned 1.5 s after the server-time answer (less a round trip);
    # measured from that answer, not between requests, so a loaded machine's slow first requests change nothing
    assert third - fake.time_answered[0] >= 1.3
