"""The local Binance server as a process of its own (python -m standins.binance_api), for tests that run
bot.py as a separate process too: started on a free port, driven through its /_sim/ control API, stopped.
"""
from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class LocalBinance:
    url: str  # http://127.0.0.1:<port>; REST under /api, control under /_sim
    stream_url: str
    process: subprocess.Popen[str]

    @classmethod
    def start(cls, *args: str) -> LocalBinance:
        """The server with these command-line options, on a port the system picks; returns once it listens."""
        process = subprocess.Popen([sys.executable, "-m", "standins.binance_api", "--port", "0", *args],
                                   cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert process.stdout is not None
        rest, streams = process.stdout.readline(), process.stdout.readline()  # printed once it listens
        if not rest.startswith("REST:") or not streams.startswith("streams:"):
            process.kill()
            process.wait(timeout=10)
            raise AssertionError(f"local Binance did not start: {rest!r} {streams!r}")
        return cls(rest.split()[1].removesuffix("/api"), streams.split()[1], process)

    def control(self, action: str, body: dict[str, Any] | None = None, query: str = "") -> Any:
        """One /_sim/ call (POST with a body, GET without); its result, after checking it succeeded."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}/_sim/{action}{query}", data=data, method="POST" if data else "GET",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            reply = json.loads(answer.read())
        assert reply["ok"], reply
        return reply["result"]

    def env(self, key: str, secret: str) -> dict[str, str]:
        """The bot's environment for EXCHANGE=testnet with every Binance URL on this server."""
        api = f"{self.url}/api"
        return {"EXCHANGE": "testnet", "MARKET_DATA": "binance", "BINANCE_API_KEY": key, "BINANCE_API_SECRET": secret,
                "BINANCE_API_URL": api, "BINANCE_MARKET_DATA_URL": api, "BINANCE_STREAM_URL": self.stream_url}

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        if self.process.stdout:
            self.process.stdout.close()

    def __enter__(self) -> LocalBinance:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
