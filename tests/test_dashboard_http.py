"""The web dashboard over HTTP: sign-in links and cookies, every route refused without a session, security
headers, secrets never served, markup from the database inert, the read-only connection unable to write."""
from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta

import aiohttp
import pytest

from handlers.commands import Context, Role, dispatch
from tests.dashboard_world import MARKUP, build_history, plant_markup, serving, settings
from tests.conftest import World
from tradingbot.adapters.readonly_store import ReadOnlyStore
from tradingbot.app.dashboard_auth import COOKIE

PAGES = ("overview", "holdings", "rebalances", "performance", "parameters")
CSVS = ("holdings/holdings", "rebalances/rebalances", "performance/coins", "performance/daily", "parameters/changes")


def routes(rebalance_id: int) -> list[str]:
    return (["/", "/api/events", f"/api/rebalance.json?id={rebalance_id}", f"/api/rebalance/ranking.csv?id={rebalance_id}"]
            + [f"/api/{p}.json" for p in PAGES] + [f"/api/{c}.csv" for c in CSVS])


@pytest.fixture
def history(tmp_path):
    world = World(tmp_path / "bot.sqlite")
    asyncio.run(build_history(world, days=3))
    plant_markup(world)
    return world, tmp_path / "bot.sqlite"


def run(world, path, scenario, config=None):
    async def main():
        async with serving(world, path, config) as (dashboard, auth):
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                return await scenario(dashboard.url, auth, http)
    return asyncio.run(main())


async def sign_in(base: str, http: aiohttp.ClientSession, link: str) -> int:
    token = link.split("t=", 1)[1]
    async with http.post(f"{base}/login", data={"t": token}, allow_redirects=False) as r:
        return r.status


async def link_from_chat(world: World, role: Role = Role.VIEWER) -> str:
    reply = await dispatch(Context(world.services, "telegram:1002", role=role), "/dashboard")
    return next(word for word in reply.text.split() if "/login?t=" in word)


def test_every_route_refuses_a_request_without_a_valid_session(history):
    world, path = history

    async def scenario(base, auth, http):
        forged = ["1.9999999999.AAAA", "", "x", f"{auth.session_cookie()}x", "2.9999999999." + "A" * 43]
        for route in routes(1):
            async with http.get(base + route) as r:
                body = await r.text()
                assert r.status == 401, route
                assert "open /dashboard in the chat" in body and "USDT" not in body, route
            for cookie in forged:
                async with http.get(base + route, headers={"Cookie": f"{COOKIE}={cookie}"}) as r:
                    assert r.status == 401, (route, cookie)
        return True

    assert run(world, path, scenario)


def test_a_link_from_the_chat_signs_in_once_and_the_cookie_is_strict(history):
    world, path = history

    async def scenario(base, auth, http):
        link = await link_from_chat(world)
        async with http.get(link) as r:  # a link preview or prefetcher: shows a button, spends nothing
            assert r.status == 200 and "Continue" in await r.text()
        token = link.split("t=", 1)[1]
        async with http.post(f"{base}/login", data={"t": token}, allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/"
            cookie = r.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Max-Age=43200" in cookie
        async with http.get(f"{base}/api/overview.json") as r:
            assert r.status == 200 and (await r.json())["figures"]["equity"] > 0
        fresh = aiohttp.ClientSession()
        async with fresh:
            assert await sign_in(base, fresh, link) == 403  # used
        return True

    assert run(world, path, scenario)


def test_expired_forged_and_foreign_links_are_refused(history):
    world, path = history

    async def scenario(base, auth, http):
        expired = await link_from_chat(world)
        world.clock.advance(timedelta(minutes=5, seconds=1))
        assert await sign_in(base, http, expired) == 403
        assert await sign_in(base, http, "x?t=" + "A" * 43) == 403
        live = await link_from_chat(world)
        async with http.post(f"{base}/login", data={"t": live.split("t=")[1]}, allow_redirects=False,
                             headers={"Origin": "https://evil.example"}) as r:
            assert r.status == 403  # a form posted from another site
        assert await sign_in(base, http, live) == 303  # ... did not spend it
        return True

    assert run(world, path, scenario)


def test_sessions_expire_after_12_hours_and_revoke_ends_them_all(history):
    world, path = history

    async def scenario(base, auth, http):
        assert await sign_in(base, http, await link_from_chat(world)) == 303
        async with http.get(f"{base}/api/holdings.json") as r:
            assert r.status == 200
        viewer = await dispatch(Context(world.services, "telegram:1002", role=Role.VIEWER), "/dashboard revoke")
        assert "admins only" in viewer.text
        async with http.get(f"{base}/api/holdings.json") as r:
            assert r.status == 200
        admin = await dispatch(Context(world.services, "telegram:1001", role=Role.ADMIN), "/dashboard revoke")
        assert "ended" in admin.text
        async with http.get(f"{base}/api/holdings.json") as r:
            assert r.status == 401
        assert await sign_in(base, http, await link_from_chat(world)) == 303
        world.clock.advance(timedelta(hours=12, seconds=1))
        async with http.get(f"{base}/api/holdings.json") as r:
            assert r.status == 401
        return True

    assert run(world, path, scenario)


def test_every_answer_carries_the_security_headers_and_no_cors(history):
    world, path = history

    async def scenario(base, auth, http):
        assert await sign_in(base, http, await link_from_chat(world)) == 303
        for route in routes(1) + ["/login?t=abc", "/static/app.js", "/nothing"]:
            if route == "/api/events":
                continue
            async with http.get(base + route, headers={"Origin": "https://evil.example"}) as r:
                csp = r.headers.get("Content-Security-Policy", "")
                assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe" not in csp, route
                assert r.headers["X-Content-Type-Options"] == "nosniff", route
                assert r.headers["Referrer-Policy"] == "no-referrer", route
                assert not any(h.lower().startswith("access-control-") for h in r.headers), route
        return True

    assert run(world, path, scenario)


def test_secrets_planted_in_settings_never_appear_in_any_answer(history):
    world, path = history
    secrets = ("5555555:Zq7dashTokenNeverServed", "Zq7dashKeyNeverServed01", "Zq7dashSecretNeverServed")
    config = settings(telegram_bot_token=secrets[0], telegram_admin_ids="1", binance_api_key=secrets[1],
                      binance_api_secret=secrets[2])

    async def scenario(base, auth, http):
        assert await sign_in(base, http, await link_from_chat(world)) == 303
        seen = []
        for route in routes(1) + ["/static/app.js", "/static/index.html", "/login?t=x"]:
            if route == "/api/events":
                continue
            async with http.get(base + route) as r:
                seen.append(str(r.headers) + await r.text())
        return seen

    answers = run(world, path, scenario, config)
    assert len(answers) > 10
    for answer in answers:
        assert not any(s in answer or "Zq7" in answer for s in secrets)


def test_markup_from_the_database_is_escaped_or_sent_as_json_data(history):
    world, path = history

    async def scenario(base, auth, http):
        async with http.get(f"{base}/login", params={"t": MARKUP}) as r:
            page = await r.text()
            assert MARKUP not in page and "&lt;script&gt;" in page  # the server-made page escapes
        assert await sign_in(base, http, await link_from_chat(world)) == 303
        rid = (await (await http.get(f"{base}/api/rebalances.json")).json())["tables"]["rebalances"]["rows"][0][0]
        async with http.get(f"{base}/api/rebalance.json", params={"id": str(rid)}) as r:
            assert r.content_type == "application/json"  # data for textContent, never HTML
            assert MARKUP in (await r.json())["rebalance"]["note"]
        async with http.get(f"{base}/api/parameters/changes.csv") as r:
            assert MARKUP in await r.text()
        return True

    assert run(world, path, scenario)


def test_the_read_only_connection_cannot_write(history):
    world, path = history
    store = ReadOnlyStore(path)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        store.set_state("paused", "1")
    with pytest.raises(sqlite3.OperationalError, match="readonly|read-only"):
        store.db.execute("DELETE FROM fills")
    assert store.marks() and world.store.get_state("paused", "0") == "0"


def test_the_page_weighs_less_than_300_kb_compressed_and_needs_no_network():
    import gzip
    import re as regex

    from web.app import STATIC

    page = (STATIC / "index.html").read_text()
    assets = [a for a in regex.findall(r'(?:src|href)="([^"]+)"', page) if not a.startswith("#")]
    assert assets and all(a.startswith("/static/") for a in assets)  # nothing from a CDN
    files = [STATIC / "index.html"] + [STATIC / a.removeprefix("/static/") for a in assets]
    weight = sum(len(gzip.compress(f.read_bytes())) for f in files)
    assert weight <= 300_000
    assert (STATIC / "uPlot.LICENSE").read_text().startswith("The MIT License")


def test_nothing_but_sign_in_accepts_a_write_method(history):
    world, path = history

    async def scenario(base, auth, http):
        assert await sign_in(base, http, await link_from_chat(world)) == 303
        refused = []
        for route in routes(1):
            for method in ("POST", "PUT", "DELETE", "PATCH"):
                async with http.request(method, base + route) as r:
                    refused.append(r.status)
        return refused

    assert set(run(world, path, scenario)) == {405}  # read-only: viewers and admins act in the chat only


def test_an_open_event_stream_hears_a_new_mark(history):
    world, path = history

    async def scenario(base, auth, http):
        assert await sign_in(base, http, await link_from_chat(world)) == 303
        async with http.get(f"{base}/api/events") as stream:
            assert stream.headers["Content-Type"] == "text/event-stream"
            assert await stream.content.readuntil(b"\n\n") == b"retry: 1000\n\n"
            await asyncio.sleep(0.6)  # the watcher has read the newest mark
            world.clock.advance(timedelta(hours=1))
            await world.services.mark()
            started = asyncio.get_running_loop().time()
            event = await asyncio.wait_for(stream.content.readuntil(b"\n\n"), 10)  # generous: 2 s is the aim
            return event, asyncio.get_running_loop().time() - started

    event, seconds = run(world, path, scenario)
    assert event.startswith(b"event: change\n") and seconds < 10


def test_inside_the_bot_a_commit_reaches_open_pages_without_a_poll(history):
    from web.app import FEED

    world, path = history

    async def main():
        async with serving(world, path, poll_s=3600) as (dashboard, auth):  # a poll would come in an hour
            feed = dashboard.runner.app[FEED]
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                assert await sign_in(dashboard.url, http, await link_from_chat(world)) == 303
                async with http.get(f"{dashboard.url}/api/events") as stream:
                    assert await stream.content.readuntil(b"\n\n") == b"retry: 1000\n\n"  # watching from here
                    heard = []
                    world.clock.advance(timedelta(hours=1))
                    await world.services.mark()
                    heard.append(await asyncio.wait_for(stream.content.readuntil(b"\n\n"), 10))
                    world.services.set_params("topn=3", "test")
                    heard.append(await asyncio.wait_for(stream.content.readuntil(b"\n\n"), 10))
                    world.services.pause("test")
                    heard.append(await asyncio.wait_for(stream.content.readuntil(b"\n\n"), 10))
                    return heard, feed.checks

    heard, checks = asyncio.run(main())
    assert all(event.startswith(b"event: change\n") for event in heard)
    assert checks == 1 + 3  # the first look, then one per commit: no poll tick in between


def test_answers_are_computed_once_per_write_and_never_stale(history):
    from web.app import CACHE

    world, path = history

    async def main():
        async with serving(world, path) as (dashboard, auth):
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                base, cache = dashboard.url, dashboard.runner.app[CACHE]
                assert await sign_in(base, http, await link_from_chat(world)) == 303
                first = await (await http.get(f"{base}/api/overview.json")).json()
                again = await (await http.get(f"{base}/api/overview.json")).json()
                world.clock.advance(timedelta(hours=1))
                await world.services.mark()  # the bot writes: the next answer is computed afresh
                after = await (await http.get(f"{base}/api/overview.json")).json()
                return first, again, after, cache.hits, cache.misses

    first, again, after, hits, misses = asyncio.run(main())
    assert again == first and (hits, misses) == (1, 2)
    assert len(after["equity"]["t"]) == len(first["equity"]["t"]) + 1
