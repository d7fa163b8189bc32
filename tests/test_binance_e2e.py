"""The real program on EXCHANGE=testnet, offline: bot.py and the local Binance server as two processes.

All three Binance URLs point at `python -m standins.binance_api`; the bot ranks on its market
data, trades through python-binance with HMAC-signed requests, and records fees from the fills.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal

from tests.builders import NO_ENV_FILE
from tests.local_binance import ROOT, LocalBinance

CLOCK = "2025-06-02T09:00:20Z"
KEY, SECRET = "e2e-key-0123456789abcdef", "e2e-secret-THIS-MUST-NEVER-BE-LOGGED"


def test_testnet_rebalance_through_python_binance_against_the_local_server(tmp_path):
    with LocalBinance.start("--symbols", "120", "--seed", "5", "--clock", CLOCK, "--api-key", KEY,
                            "--api-secret", SECRET, "--deposit", "25000") as server:
        env = {**os.environ, "LOG_LEVEL": "INFO", "TELEGRAM_BOT_TOKEN": "", **server.env(KEY, SECRET),
               "KLINE_DB_PATH": str(tmp_path / "k.sqlite"), "STARTING_CAPITAL": "10000"}
        run = subprocess.run(
            [sys.executable, "bot.py", "--env-file", NO_ENV_FILE, "--db", str(tmp_path / "bot.sqlite"),
             "--clock", CLOCK, "rebalance", "--json"],
            cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
        assert run.returncode == 0, run.stderr[-3000:]
        summary = json.loads(run.stdout)
        assert summary["state"] == "done" and len(summary["targets"]) == 10
        assert {f["commission_asset"] for f in summary["fills"]} == {t.removesuffix("USDT") for t in summary["targets"]}
        fees = sum(Decimal(f["fee_quote"]) for f in summary["fills"])
        assert Decimal(summary["fees"]) == fees and Decimal(9) < fees <= Decimal(10)  # 0.1 % of ~10,000
        orders = server.control("orders", query=f"?api_key={KEY}")
        assert sorted(o["clientOrderId"] for o in orders) == sorted(o["client_order_id"] for o in summary["orders"])
        assert SECRET not in run.stderr and SECRET not in run.stdout
        assert "venue and ledger differ" not in run.stderr
        again = subprocess.run(
            [sys.executable, "bot.py", "--env-file", NO_ENV_FILE, "--db", str(tmp_path / "bot.sqlite"),
             "--clock", CLOCK, "chat", "/status"], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
        assert "Venue: testnet (market data: binance)" in again.stdout
        assert "Binance testnet: reachable" in again.stdout or "Binance market data: reachable" in again.stdout
