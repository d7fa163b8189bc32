"""Secrets of any length and URL credentials masked in logs, replies and the database; server paths hidden from
viewers. The texts come from where the bot really makes them: the settings loader, the Binance transport, the
journal shown by /history, and the push outbox."""
from __future__ import annotations

import asyncio
import logging
import socket
from decimal import Decimal

import pytest

from handlers.commands import Context, Role, dispatch
from tests.builders import NOW
from tests.test_bad_settings import clean_env  # noqa: F401  (a fixture)
from tradingbot.adapters.binance_client import BinanceTransport
from tradingbot.adapters.clock import SystemClock
from tradingbot.adapters.outbox import SqliteOutbox
from tradingbot.core.errors import VenueUnavailable
from tradingbot.adapters.logs import RedactingFormatter
from tradingbot.core.redaction import HIDDEN_PATH, hide_paths
from tradingbot.settings import SettingsError, load_settings

PASSWORD = "hunter2pw"


def formatted(secrets: list[str], message: str) -> str:
    record = logging.LogRecord("t", logging.WARNING, __file__, 1, message, None, None)
    return RedactingFormatter("%(message)s", secrets).format(record)


def test_a_short_secret_is_masked_where_it_stands_alone_without_wrecking_the_log() -> None:
    line = formatted(["K", "abc"], "X-MBX-APIKEY: K; secret=abc&sig; MARKET KILO abcdef xabc K-1")
    assert line == "X-MBX-APIKEY: ***; secret=***&sig; MARKET KILO abcdef xabc K-1"
    # A long secret is masked wherever it occurs, even inside a longer word.
    assert formatted(["longSecret0123"], "q=XlongSecret0123Y") == "q=X***Y"


def test_credentials_in_any_url_are_masked_in_the_log() -> None:
    line = formatted([], f"GET http://user:{PASSWORD}@127.0.0.1:9/api and wss://u:p@ss@host:9443/ws; mail a@b.c")
    assert PASSWORD not in line and "p@ss" not in line
    assert "http://***@127.0.0.1:9/api" in line and "wss://***@host:9443/ws" in line and "a@b.c" in line


def test_a_refused_url_setting_is_echoed_without_its_credentials(clean_env) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(env_file=None, binance_api_url=f"ftp://user:{PASSWORD}@x/api")
    assert str(caught.value).startswith("BINANCE_API_URL: must be ") and PASSWORD not in str(caught.value)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_venue_is_reported_without_the_urls_credentials() -> None:
    transport = BinanceTransport("testnet", f"http://user:{PASSWORD}@127.0.0.1:{closed_port()}/api", "K", "S",
                                 clock=SystemClock())
    with pytest.raises(VenueUnavailable) as caught:
        asyncio.run(transport.open())
    # This text becomes the /status reply, the journal's note and the alert.
    assert PASSWORD not in str(caught.value) and "127.0.0.1" in str(caught.value)
    assert transport.health.host.startswith("127.0.0.1:")


def test_server_paths_reach_admins_but_not_viewers(world) -> None:
    path = "/srv/itradingbot/data/itradingbot.sqlite.lock"
    world.store.start_rebalance("S20261124T0900", "scheduled", "failed", NOW, "momentum", "full", (), Decimal(0),
                                note=f"failed: PermissionError: [Errno 13] Permission denied: '{path}' "
                                     f"(via http://user:{PASSWORD}@127.0.0.1:9/api)")

    def history(role: Role) -> str:
        return asyncio.run(dispatch(Context(world.services, "test", role=role), "/history")).text

    admin, viewer = history(Role.ADMIN), history(Role.VIEWER)
    assert path in admin and PASSWORD not in admin
    assert path not in viewer and "itradingbot.sqlite" not in viewer and PASSWORD not in viewer
    assert f"Permission denied: '{HIDDEN_PATH}'" in viewer and "S20261124T0900" in viewer


def test_pushes_to_the_notify_chats_hide_server_paths(world) -> None:
    outbox = SqliteOutbox(world.db)
    outbox.enqueue("alert", ["⚠ scheduled rebalance failed: FileNotFoundError: [Errno 2] No such file or "
                             "directory: '/home/ops/bot/data/bot.sqlite.lock'; see data/itradingbot.sqlite"],
                   [-100], False, NOW)
    (push,) = outbox.heads()
    assert "/home/ops" not in push.body and "itradingbot.sqlite" not in push.body and HIDDEN_PATH in push.body
    stored = world.db.execute("SELECT body FROM outbox").fetchone()[0]
    assert "/home/ops" not in stored


def test_what_viewers_read_every_day_is_left_alone() -> None:
    for text in ["/help /status /chart equity", "timezone Europe/Paris, America/Argentina/Buenos_Aires",
                 "BTC/USDT 10/3000 this minute, 12.5%", "/backtest lookback=14d topn=5 start=2023-01-01",
                 "Binance testnet: reachable at testnet.binance.vision; see https://testnet.binance.vision/api/v3"]:
        assert hide_paths(text) == text
