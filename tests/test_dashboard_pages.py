"""What each dashboard page carries (the issue's lists), every table as CSV, every route of every page refused
without a session, and no dashboard at all when DASHBOARD_ENABLED=false."""
from __future__ import annotations

import asyncio
import csv
import io
import socket

import aiohttp
import pytest

from tests.conftest import World
from tests.dashboard_world import MARKUP, build_history, keep_backtests, plant_markup, serving, settings
from tradingbot.app.dashboard_auth import COOKIE
from web import api
from web.server import beside_bot


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """Every page's JSON and every table's CSV, signed in; then every route again with no cookie and a forged one."""
    folder = tmp_path_factory.mktemp("pages")
    world = World(folder / "bot.sqlite")

    async def main():
        await build_history(world, days=3)
        plant_markup(world)
        await keep_backtests(world, folder)
        runs = {r["kind"]: r["id"] for r in world.services.backtests.listing()}
        done = max(r.id for r in world.store.recent_rebalances(100) if r.state == "done")
        queries = {"rebalance": f"id={done}", "performance": "window=2d", "backtest": f"id={runs['run']}",
                   "sweep": f"id={runs['sweep']}"}
        async with serving(world, folder / "bot.sqlite") as (dashboard, auth):
            base, bodies, csvs, refused = dashboard.url, {}, {}, []
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                await http.post(f"{base}/login", data={"t": auth.issue_link("test").split("t=")[1]})
                for name, route in [(p, p) for p in api.PAGES] + [("sweep", "backtest")]:
                    query = "?" + queries.get(name, "")
                    async with http.get(f"{base}/api/{route}.json{query}") as r:
                        assert r.status == 200, name
                        bodies[name] = await r.json()
                    for table in bodies[name]["tables"]:
                        async with http.get(f"{base}/api/{route}/{table}.csv{query}") as r:
                            assert r.status == 200 and r.content_type == "text/csv", (name, table)
                            csvs[name, table] = await r.text()
                        for cookie in ("", auth.session_cookie()[:-3] + "AAA"):  # none, and a forged signature
                            async with aiohttp.ClientSession(cookies={COOKIE: cookie} if cookie else None) as bare:
                                for url in (f"{base}/api/{route}.json{query}", f"{base}/api/{route}/{table}.csv{query}"):
                                    async with bare.get(url) as r:
                                        refused.append((r.status, "USDT" in await r.text(), url))
        return bodies, csvs, refused

    return asyncio.run(main())


def test_every_table_of_every_page_downloads_as_csv_with_its_columns_and_rows(pages):
    bodies, csvs, _ = pages
    assert len(csvs) == 14  # overview: figures and charts; every other page: each of its tables
    for (name, table), text in csvs.items():
        data = bodies[name]["tables"][table]
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0] == [c["name"] for c in data["columns"]], (name, table)
        assert len(rows) - 1 == len(data["rows"]), (name, table)


def test_every_route_of_every_page_is_refused_without_a_valid_session(pages):
    _, csvs, refused = pages
    assert len(refused) == 4 * len(csvs)
    assert all(status == 401 and not leaked for status, leaked, _ in refused), refused


def columns(body: dict, table: str) -> set[str]:
    return {c["name"] for c in body["tables"][table]["columns"]}


def test_each_page_carries_what_a_manager_reads_there(pages):
    bodies, _, _ = pages
    o = bodies["overview"]
    assert {"equity", "net", "realized", "unrealized", "fees", "cash", "max_drawdown", "max_drawdown_days", "sharpe",
            "sortino", "volatility", "deposits"} <= set(o["figures"])  # deposits: the % since start
    assert {"last_rebalance", "next_run", "paused", "venue", "market", "health"} <= set(o["status"])
    e = o["equity"]
    assert len(e["t"]) == len(e["equity"]) == len(e["btc"]) == len(e["universe"]) == len(e["drawdown"]) > 50
    assert all(v is not None for v in e["universe"])  # (the test market lists no BTC: its line stays empty)
    assert any(MARKUP in text for _, text in o["changes"])  # each parameter change, marked on the equity chart
    h = bodies["holdings"]
    assert {"weight %", "value", "unrealized P/L", "dust"} <= columns(h, "holdings")
    assert len(h["history"]["t"]) >= 3 + 1 and h["history"]["layers"]  # after each of 3 rebalances, and now
    assert {"state", "kind", "sold", "bought", "turnover", "fees", "period P/L", "signal to fill ms"} <= \
        columns(bodies["rebalances"], "rebalances")
    r = bodies["rebalance"]
    assert {"score %", "quote volume", "eligible", "why not bought"} <= columns(r, "ranking")
    assert r["tables"]["orders"]["rows"] and r["tables"]["fills"]["rows"] and r["rebalance"]["delta_fees"] is not None
    p = bodies["performance"]
    assert {"daily", "weekly", "monthly", "coins"} <= set(p["tables"]) and p["monthly"] and p["window"] == "2d"
    assert {"who", "time", "key", "old", "new"} <= columns(bodies["parameters"], "changes")
    assert bodies["parameters"]["tables"]["current"]["rows"]
    assert len(bodies["backtests"]["tables"]["backtests"]["rows"]) == 2
    assert "Equal-weight universe" in bodies["backtest"]["paths"]["benchmarks"]
    assert bodies["sweep"]["sweep"]["rows"] and bodies["sweep"]["tables"]["runs"]["rows"]


def test_dashboard_enabled_false_serves_nothing_and_issues_no_links(world, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def main():
        async with beside_bot(world.services, settings(dashboard_enabled=False, dashboard_port=port),
                              str(tmp_path / "bot.sqlite"), console=True):
            with socket.socket() as probe:
                return world.services.dashboard, probe.connect_ex(("127.0.0.1", port))

    auth, connected = asyncio.run(main())
    assert auth is None and connected != 0  # nothing listens


def test_the_pages_draw_with_the_charts_colour_blind_safe_palette():
    import re

    from charts import style
    from web.app import STATIC

    css = (STATIC / "style.css").read_text()
    named = dict(re.findall(r"--(gain|loss|accent|btc|universe|grey):\s*(#[0-9A-Fa-f]{6})", css))
    assert set(named) == {"gain", "loss", "accent", "btc", "universe", "grey"}
    assert named["gain"] == style.GAIN and named["loss"] == style.LOSS
    okabe_ito = {c.upper() for c in (*style.SERIES, style.GREY)}
    assert {c.upper() for c in re.findall(r"--(?:gain|loss|accent|btc|universe|grey):\s*(#[0-9A-Fa-f]{6})", css)} \
        <= okabe_ito  # light and dark alike
