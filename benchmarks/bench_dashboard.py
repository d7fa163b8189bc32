"""Web dashboard figures over a year of data (365 daily rebalances, hourly marks and benchmark marks), beside
the chat's own.

- overview fully drawn in headless Chromium (navigation start to both charts drawn), target ≤ 1 s;
- each JSON endpoint's p95 over HTTP, target ≤ 100 ms, as pages ask (answered from the page cache until the
  bot writes) and the first request after a write (a mark written just before each request); baseline: /status
  and /pnl through the command table;
- a chat command's round trip through the fake Telegram Bot API to the real bot process, with 5 dashboards
  open (5 live HTTP clients; 5 Chromium pages) against none, in alternating rounds; target ≤ 50 ms added.

    python benchmarks/bench_dashboard.py [--symbols 200] [--days 365]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.installed import BOT  # noqa: E402

import aiohttp  # noqa: E402

from benchmarks.bench_core import build  # noqa: E402
from handlers.commands import Context, dispatch  # noqa: E402
from tradingbot.adapters.sqlite_store import SqliteStore, open_database  # noqa: E402
from tradingbot.core.domain import EquityMark  # noqa: E402
from standins.telegram_api import FakeTelegram  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
TOKEN, ADMIN = "123456:BENCH", 1001
ENDPOINTS = ("overview", "holdings", "rebalances", "rebalance", "performance", "parameters")


def p95(samples: list[float]) -> float:
    return sorted(samples)[max(0, math.ceil(len(samples) * 0.95) - 1)]


async def year_of_data(path: Path, symbols: int, days: int):
    """Daily rebalances at 09:00 and 23 hourly marks between them (equity wiggling around the rebalance's),
    each with its benchmark mark beside it, as the bot's hourly mark job writes them."""
    clock, market, store, services = build(path, symbols)
    for day in range(days):
        summary = await services.rebalance_slot()
        base = summary.equity_after
        hours = [(clock.now() + timedelta(hours=h), Decimal(1 + 0.01 * math.sin(h / 4 + day))) for h in range(1, 24)]
        store.add_marks([EquityMark(t, base * w, Decimal(1), base) for t, w in hours])
        btc, universe = store.db.execute(
            "SELECT btc_price, universe_index FROM benchmark_marks ORDER BY id DESC LIMIT 1").fetchone()
        with store.transaction():
            for t, w in hours:
                store.add_benchmark(t, Decimal(btc) * w if btc else None, Decimal(universe) * w, symbols)
        clock.advance(timedelta(days=1))
    return clock, services


class Bot:
    """The real bot process (`bot.py --demo` on Telegram, the fake Bot API in this process) over a year of data,
    with its dashboard: the bot's loop shares nothing with the clients measuring it."""

    def __init__(self, path: Path, symbols: int, days: int, fake: FakeTelegram):
        self.path, self.symbols, self.days, self.fake = path, symbols, days, fake
        self.seen: set[int] = set()
        self.asking = threading.Lock()  # one /dashboard at a time, so each caller takes its own reply

    def build(self) -> dict[str, float]:
        """The year, then the chat's own figures in process (the baseline: /status, /pnl through the table)."""
        async def year() -> dict[str, float]:
            clock, services = await year_of_data(self.path, self.symbols, self.days)
            self.clock = clock.now() + timedelta(hours=1)  # past the slot's grace: starting trades nothing
            ctx, out = Context(services, "bench"), {}
            for name in ("/status", "/pnl"):
                samples = []
                for _ in range(30):
                    t0 = time.perf_counter()
                    await dispatch(ctx, name)
                    samples.append((time.perf_counter() - t0) * 1000)
                out[f"chat_{name[1:]}_ms_p95"] = p95(samples)
            services.store.db.close()
            return out
        t0 = time.perf_counter()
        figures = asyncio.run(year())
        return {"setup_s": time.perf_counter() - t0, **figures}

    def start(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": self.fake.base_url,
               "TELEGRAM_ADMIN_IDS": str(ADMIN), "TELEGRAM_NOTIFY_CHAT_IDS": str(ADMIN), "NOTIFY_LIFECYCLE": "on",
               "SYNTHETIC_SYMBOLS": str(self.symbols), "SYNTHETIC_SEED": "7", "LOG_LEVEL": "WARNING",
               "DASHBOARD_PORT": str(port), "DASHBOARD_PUBLIC_URL": self.url,
               # one person sends every command here: the per-person limit would answer "slow down" instead
               "TELEGRAM_COMMAND_BURST": "100000", "TELEGRAM_COMMANDS_PER_MINUTE": "1000000"}
        self.process = subprocess.Popen(
            [*BOT, "--env-file", str(self.path.parent / "absent.env"), "--demo", "--db",
             str(self.path), "--clock", self.clock.isoformat()], cwd=ROOT, env=env, stdin=subprocess.DEVNULL)
        self.fake.wait_for(lambda m: "started" in m.text, 120)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(60)

    def link(self) -> str:
        """A sign-in link, asked for in the chat as a manager would."""
        with self.asking:
            self.fake.send_text(ADMIN, "/dashboard")
            reply = self.fake.wait_for(lambda m: "/login?t=" in m.text and m.message_id not in self.seen, 30)
            self.seen.add(reply.message_id)
        return next(word for word in reply.text.split() if "/login?t=" in word)


def round_trips(fake: FakeTelegram, n: int) -> list[float]:
    """/status through the fake Bot API: sent by a person, answered by the bot, one after another."""
    samples = []
    for _ in range(n):
        last = max((m.message_id for m in fake.messages_to(ADMIN)), default=0)  # the reply comes after it
        t0 = time.perf_counter()
        fake.send_text(ADMIN, "/status")
        fake.wait_for(lambda m: m.chat_id == ADMIN and m.message_id > last and "Venue" in m.text, 20)
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


class Writer:
    """Marks written into the bot's database from this process, as the bot's hourly mark job writes them (an
    equity mark and a benchmark mark, each newer than the last): every page's next answer is computed afresh."""

    def __init__(self, path: Path):
        self.store = SqliteStore(open_database(path), "USDT")
        self.last = self.store.last_mark()

    def mark(self) -> None:
        at = self.last.time + timedelta(minutes=1)
        btc, universe = self.store.benchmarks()[-1][1:]
        with self.store.transaction():
            self.store.add_mark(EquityMark(at, self.last.equity, self.last.cash, self.last.positions_value, "bench"))
            self.store.add_benchmark(at, btc, universe, 200)
        self.last = self.store.last_mark()

    def close(self) -> None:
        self.store.db.close()


async def endpoint_figures(url: str, link: str, last_id: int, n: int, writer: Writer) -> dict[str, float]:
    """p95 per endpoint as pages see it: repeated (answered from the page cache until the bot writes), and the
    first request after a write (a mark written just before each request: computed afresh)."""
    out = {}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(f"{url}/login", data={"t": link.split("t=")[1]}) as r:
            assert r.status == 200
        for name in ENDPOINTS:
            query = f"?id={last_id}" if name == "rebalance" else "?window=30d" if name == "performance" else ""
            for label, write in (("", False), ("_after_write", True)):
                samples = []
                for _ in range(n):
                    if write:
                        writer.mark()  # before the clock starts; this connection is of this thread
                    t0 = time.perf_counter()
                    async with http.get(f"{url}/api/{name}.json{query}") as r:
                        assert r.status == 200, name
                        await r.read()
                    samples.append((time.perf_counter() - t0) * 1000)
                out[f"json_{name}_ms_p95{label}"] = p95(samples)
    return out


class LiveClients:
    """n dashboards as the server sees them (signed in, page data fetched, event stream open), no browser."""

    def __init__(self, bot: Bot, n: int):
        self.bot, self.n, self.events = bot, n, 0
        self.loop = asyncio.new_event_loop()
        self.open, self.done = threading.Event(), None

    async def _one(self, stop: asyncio.Event) -> None:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            link = await asyncio.to_thread(self.bot.link)
            await http.post(f"{self.bot.url}/login", data={"t": link.split("t=")[1]})
            await (await http.get(f"{self.bot.url}/api/overview.json")).read()
            async with http.get(f"{self.bot.url}/api/events") as stream:
                self.opened += 1
                if self.opened == self.n:
                    self.open.set()
                waits = [asyncio.create_task(stream.content.readany()), asyncio.create_task(stop.wait())]
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                for task in waits:
                    task.cancel()
                await asyncio.gather(*waits, return_exceptions=True)

    async def _main(self) -> None:
        self.opened, self.stop = 0, asyncio.Event()
        await asyncio.gather(*(self._one(self.stop) for _ in range(self.n)))

    def __enter__(self) -> "LiveClients":
        self.thread = threading.Thread(target=lambda: self.loop.run_until_complete(self._main()), daemon=True)
        self.thread.start()
        self.open.wait(60)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(30)


def open_dashboard(browser, bot: Bot):
    page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    page.on("console", lambda m: print("console:", m.type, m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: print("page error:", e))
    page.goto(bot.link())
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector("body[data-drawn-ms]")
    return page


def overview_drawn_ms(page) -> float:
    page.reload()
    page.wait_for_selector("body[data-drawn-ms]")
    return float(page.evaluate("document.body.dataset.drawnMs"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--symbols", type=int, default=200)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, FakeTelegram(token=TOKEN) as fake:
        bot = Bot(Path(tmp) / "year.sqlite", args.symbols, args.days, fake)
        figures: dict = bot.build()
        bot.start()
        try:
            last_id = args.days  # rebalance ids run 1..days in this database
            writer = Writer(bot.path)
            try:
                figures.update(asyncio.run(endpoint_figures(bot.url, bot.link(), last_id, args.runs, writer)))
            finally:
                writer.close()
            round_trips(fake, 5)  # warm-up
            alone, with_five, with_sse, drawn = [], [], [], []
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                for _ in range(3):  # interleaved rounds: load on a shared machine drifts between them
                    alone += round_trips(fake, args.runs)
                    with LiveClients(bot, 5):
                        with_sse += round_trips(fake, args.runs)
                    pages = [open_dashboard(browser, bot) for _ in range(5)]
                    drawn += [overview_drawn_ms(pages[0]) for _ in range(3)]
                    with_five += round_trips(fake, args.runs)
                    for page in pages:
                        page.context.close()
                browser.close()
        finally:
            bot.stop()
    figures.update(overview_drawn_ms_median=statistics.median(drawn), overview_drawn_ms_max=max(drawn),
                   chat_round_trip_ms_median_alone=statistics.median(alone),
                   chat_round_trip_ms_median_5_dashboards=statistics.median(with_five),
                   chat_round_trip_ms_p95_alone=p95(alone), chat_round_trip_ms_p95_5_dashboards=p95(with_five),
                   chat_round_trip_ms_median_5_live_clients=statistics.median(with_sse),
                   chat_round_trip_ms_p95_5_live_clients=p95(with_sse))
    # Added with 5 signed-in live pages (HTTP clients in this process), and with 5 Chromium pages on this machine.
    figures["chat_added_ms_median_live_clients"] = figures["chat_round_trip_ms_median_5_live_clients"] - \
        figures["chat_round_trip_ms_median_alone"]
    figures["chat_added_ms_median_with_browsers"] = figures["chat_round_trip_ms_median_5_dashboards"] - \
        figures["chat_round_trip_ms_median_alone"]
    figures = {k: round(v, 2) if isinstance(v, float) else v for k, v in figures.items()}
    figures.update(days=args.days, symbols=args.symbols, marks=args.days * 24)
    for key, value in figures.items():
        print(f"{key:>42}: {value}")
    figures["targets"] = {"overview_drawn_ms": 1000, "json_ms_p95": 100, "chat_added_ms": 50}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
