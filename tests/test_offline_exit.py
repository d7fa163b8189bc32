"""bot.py leaves nothing open when Binance cannot be reached: no 'Unclosed client session' on exit."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.builders import NO_ENV_FILE
from tests.local_binance import ROOT


class SlowlyFailing(BaseHTTPRequestHandler):
    """A Binance host that answers every request late, with a gateway error: each open attempt fails, and a
    second one is still under way when the first has failed."""

    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        time.sleep(0.5)
        self.send_response(503)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html>503 Service Unavailable</html>")

    def log_message(self, *args: object) -> None:
        pass


def test_status_with_binance_unreachable_closes_every_http_session(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowlyFailing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BINANCE_", "EXCHANGE"))},
           "MARKET_DATA": "binance", "BINANCE_MARKET_DATA_URL": f"{url}/api", "BINANCE_STREAM_URL": "ws://127.0.0.1:9/",
           "KLINE_DB_PATH": str(tmp_path / "k.sqlite"), "CHART_DIR": str(tmp_path / "charts"), "LOG_LEVEL": "INFO"}
    try:
        result = subprocess.run([sys.executable, "bot.py", "--env-file", NO_ENV_FILE, "--db",
                                 str(tmp_path / "b.sqlite"), "chat", "/status"],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Binance market data: UNREACHABLE" in result.stdout
    assert "Unclosed" not in result.stderr and "never retrieved" not in result.stderr, result.stderr[-2000:]
