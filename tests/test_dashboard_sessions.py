"""`bot.py dashboard` (alone, over a read-only database) keeps its sign-ins in a private file beside the
database: a restart keeps everyone signed in, `--revoke` ends every session, and the database is never written."""
from __future__ import annotations

import asyncio
import stat

import aiohttp

from tests.conftest import World
from tests.dashboard_world import build_history
from tradingbot.adapters.dashboard_links import MemoryLinkStore, sessions_file
from tradingbot.adapters.readonly_store import ReadOnlyStore
from tradingbot.app.dashboard_auth import COOKIE, DashboardAuth
from tradingbot.app.dashboard_reports import Reports
from tradingbot.core.params import StrategyParams
from web.server import revoke_standalone, standalone_links, start_dashboard


async def holdings_status(base: str, cookie: str) -> int:
    async with aiohttp.ClientSession(cookies={COOKIE: cookie}) as http:
        async with http.get(f"{base}/api/holdings.json") as r:
            return r.status


async def serve_alone(world: World, path):
    """One `bot.py dashboard` process as run_standalone builds it: a read-only store, sign-ins beside it."""
    auth = DashboardAuth(standalone_links(path), world.clock, "")
    dashboard = await start_dashboard(Reports(ReadOnlyStore(path), world.clock, StrategyParams()), auth,
                                      "127.0.0.1", 0)
    assert dashboard is not None
    auth.public_url = dashboard.url
    return dashboard, auth


async def sign_in(dashboard, auth) -> str:
    token = auth.issue_link("cli").split("t=", 1)[1]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(f"{dashboard.url}/login", data={"t": token}, allow_redirects=False) as r:
            assert r.status == 303
            return r.cookies[COOKIE].value


def test_a_restart_keeps_the_session_and_revoke_ends_it(world, tmp_path, capsys):
    asyncio.run(build_history(world, days=2))
    path = tmp_path / "bot.sqlite"
    world.db.close()  # another process wrote it; this one only reads
    before = path.read_bytes()

    async def scenario():
        first, auth = await serve_alone(world, path)
        cookie = await sign_in(first, auth)
        assert await holdings_status(first.url, cookie) == 200
        await first.stop()  # the process ends ...
        again, _ = await serve_alone(world, path)  # ... and starts again: a new store read from the file
        try:
            kept = await holdings_status(again.url, cookie)
            assert revoke_standalone(path) == 0  # `bot.py dashboard --revoke`, from another process
            revoked = await holdings_status(again.url, cookie)
            forged = await holdings_status(again.url, cookie[:-2] + "AA")
        finally:
            await again.stop()
        return kept, revoked, forged

    assert asyncio.run(scenario()) == (200, 401, 401)
    assert "has ended" in capsys.readouterr().out
    assert path.read_bytes() == before  # the database itself: not a byte written
    sidecar = sessions_file(path)
    assert stat.S_IMODE(sidecar.stat().st_mode) == 0o600  # it holds the key that signs cookies
    assert sidecar.name == "bot.dashboard-sessions.sqlite" and sidecar.parent == path.parent


def test_where_no_file_can_be_written_sessions_are_kept_in_memory_said_in_one_line(tmp_path, capsys):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")  # so nothing can be created "inside" it
    assert isinstance(standalone_links(blocked / "bot.sqlite"), MemoryLinkStore)
    out = capsys.readouterr().out.strip()
    assert len(out.splitlines()) == 1 and out.startswith("Sessions kept in memory")
    assert revoke_standalone(tmp_path / "none.sqlite") == 0 and "nothing to end" in capsys.readouterr().out


def test_only_a_links_hash_is_stored_in_the_bots_database_and_beside_a_copy(world, tmp_path):
    import hashlib

    from handlers.commands import Context, dispatch
    from web.server import for_bot

    from tests.dashboard_world import settings

    _, auth = for_bot(world.services, settings(), tmp_path / "bot.sqlite")
    world.services.dashboard = auth
    reply = asyncio.run(dispatch(Context(world.services, "telegram:1002"), "/dashboard"))
    beside = DashboardAuth(standalone_links(tmp_path / "bot.sqlite"), world.clock, "http://x")
    tokens = [word.split("t=", 1)[1] for word in reply.text.split() if "t=" in word] + \
             [beside.issue_link("cli").split("t=", 1)[1]]
    assert len(tokens) == 2
    files = [p for p in tmp_path.iterdir() if p.name.startswith("bot.")]  # the databases, their WAL and journal
    stored = b"".join(p.read_bytes() for p in files)
    for token in tokens:
        assert token.encode() not in stored
        assert hashlib.sha256(token.encode()).hexdigest().encode() in stored
