"""The suite runs on two xdist workers beside other work: what its processes could share is their own."""
from __future__ import annotations

import os
import socket

from tradingbot.settings import load_settings


def test_a_bot_started_by_a_test_serves_its_dashboard_on_a_port_of_this_process_not_the_default():
    port = load_settings(env_file=None).dashboard_port  # what a bot.py run from a test reads (its env is ours)
    assert port != 8080 and str(port) == os.environ["DASHBOARD_PORT"]
    with socket.socket() as s:  # and no one listens on it: a bot can (with SO_REUSEADDR, as aiohttp binds)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
