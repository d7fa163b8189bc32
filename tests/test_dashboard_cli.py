"""The dashboard as a person starts it: beside the console bot (a link printed at start), alone over a database
file (`bot.py dashboard`), and with its port already taken (one line; the bot runs on)."""
from __future__ import annotations

import asyncio
import logging
import re
import signal
import socket
import subprocess
import sys
from urllib.parse import urlsplit

import aiohttp

from tests.dashboard_world import settings
from tests.test_cli import ENV, ROOT, bot
from tests.builders import NO_ENV_FILE
from tradingbot.adapters.dashboard_links import MemoryLinkStore
from tradingbot.adapters.readonly_store import ReadOnlyStore
from tradingbot.adapters.clock import SystemClock
from tradingbot.app.dashboard_auth import DashboardAuth
from tradingbot.core.params import StrategyParams
from tradingbot.app.dashboard_reports import Reports
from web.server import start_dashboard

LINK = re.compile(r"http://127\.0\.0\.1:\d+/login\?t=[A-Za-z0-9_-]+")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def signed_in_overview(link: str) -> dict:
    base = "{0.scheme}://{0.netloc}".format(urlsplit(link))
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:  # unsafe: an IP host
        async with http.post(f"{base}/login", data={"t": link.split("t=")[1]}) as r:
            assert r.status == 200 and r.url.path == "/"  # redirected to the page, without the token
        async with http.get(f"{base}/api/overview.json") as r:
            return await r.json()


def test_the_console_demo_prints_a_sign_in_link_that_works(tmp_path):
    port = free_port()
    env = {**ENV, "DASHBOARD_PORT": str(port), "DASHBOARD_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    process = subprocess.Popen([sys.executable, "bot.py", "--env-file", NO_ENV_FILE, "--db", str(tmp_path / "d.sqlite"),
                                "--demo", "--clock", "2026-11-24T09:30:00Z"], cwd=ROOT, env=env, text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = ""
        while "Dashboard:" not in line:
            line = process.stdout.readline()
            assert line, process.stderr.read()
        link = LINK.search(line)[0]
        assert f":{port}/" in link
        overview = asyncio.run(signed_in_overview(link))
        assert overview["figures"]["equity"] == 10000 and overview["status"]["venue"] == "paper"
    finally:
        process.communicate("/quit\n", timeout=60)
    assert process.returncode == 0


def test_bot_py_dashboard_serves_a_database_file_alone_and_read_only(tmp_path):
    db = tmp_path / "copy.sqlite"
    assert bot("--demo", "--clock", "2026-11-24T09:30:00Z", "rebalance", "--now", db=db).returncode == 0
    before = db.read_bytes()
    process = subprocess.Popen([sys.executable, "bot.py", "--env-file", NO_ENV_FILE, "--db", str(db), "--demo",
                                "dashboard", "--port", str(free_port())], cwd=ROOT, env=ENV, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = ""
        while "Sign in" not in line:
            line = process.stdout.readline()
            assert line, process.stderr.read()
        overview = asyncio.run(signed_in_overview(LINK.search(line)[0]))
        assert overview["figures"]["equity"] > 0 and overview["status"]["last_rebalance"]["state"] == "done"
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert process.returncode == 0
    assert db.read_bytes() == before  # read-only: not a byte written
    revoked = bot("--demo", "dashboard", "--revoke", db=db)  # its sign-ins are kept beside the database
    assert revoked.returncode == 0 and "has ended" in revoked.stdout
    assert (tmp_path / "copy.dashboard-sessions.sqlite").is_file() and db.read_bytes() == before
    missing = bot("dashboard", db=tmp_path / "nothing.sqlite")
    assert missing.returncode == 2 and missing.stderr.strip().startswith("stopped:")
    assert len(missing.stderr.strip().splitlines()) == 1


def test_a_port_in_use_is_one_log_line_and_no_dashboard(world, tmp_path, caplog):
    reports = Reports(ReadOnlyStore(tmp_path / "bot.sqlite"), world.clock, StrategyParams())
    auth = DashboardAuth(MemoryLinkStore(), SystemClock(), settings().dashboard_public_url)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with caplog.at_level(logging.WARNING):
            result = asyncio.run(start_dashboard(reports, auth, "127.0.0.1", taken.getsockname()[1]))
    assert result is None
    lines = [r.getMessage() for r in caplog.records if r.name == "web.server"]
    assert len(lines) == 1 and "port is in use" in lines[0] and "runs on without it" in lines[0]
