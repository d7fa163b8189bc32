"""Secrets never leave the process's memory: a full run, then every log line, chat message and database byte scanned.

bot.py runs with a Telegram token, Binance testnet keys and a CoinGecko key against the local fakes of all three;
a person uses it (status, a failing /set, the market cap filter on, a confirmed rebalance, charts), then the
exchange fails and even echoes the API key back in its error text (a broken proxy or a hostile gateway could).
None of the four secrets, nor a plain transform of one, may appear anywhere the bot wrote.
"""
from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import urllib.parse
from pathlib import Path

from tests.builders import NO_ENV_FILE
from tests.figures import count
from tests.local_binance import ROOT, LocalBinance
from standins.telegram_api import FakeTelegram

CLOCK = "2025-06-02T09:30:20Z"
TOKEN = "8123456789:AAGsecretHalfOfTheBotToken_x7Yq-Zz"
KEY = "leakCheckApiKey0123456789abcdefXYZ"
SECRET = "leakCheckApiSecret9876543210zyxwvuQRS"
GECKO_KEY = "CG-leakCheckGeckoKey4567xyzABC"
ADMIN, GROUP = 4242, -4243


def forms(secret: str) -> set[str]:
    """The secret and the transforms a careless formatter would produce."""
    out = {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret), secret[::-1],
           base64.b64encode(secret.encode()).decode().rstrip("="), json.dumps(secret)[1:-1], repr(secret)[1:-1]}
    if ":" in secret:
        out.add(secret.split(":", 1)[1])  # the token's secret half, without the bot id
    return {f for f in out if len(f) >= 12}


NEEDLES = {form: name for name, secret in (("bot token", TOKEN), ("API key", KEY), ("API secret", SECRET),
                                              ("CoinGecko key", GECKO_KEY))
           for form in forms(secret)}


def hits(label: str, data: bytes) -> list[str]:
    found = []
    for needle, name in NEEDLES.items():
        for encoding in ("utf-8", "utf-16-le"):
            if needle.encode(encoding) in data:
                found.append(f"{name} ({needle[:6]}…) in {label}")
    return found


def start_binance() -> LocalBinance:
    return LocalBinance.start("--symbols", "60", "--seed", "5", "--clock", CLOCK, "--api-key", KEY,
                              "--api-secret", SECRET, "--deposit", "25000")


def start_coingecko() -> tuple[subprocess.Popen, str]:
    """The CoinGecko stand-in over the same synthetic market, answering 401 unless the key is in its header."""
    process = subprocess.Popen([sys.executable, "-m", "standins.coingecko_api", "--port", "0", "--symbols", "60",
                                "--seed", "5", "--clock", CLOCK, "--api-key", GECKO_KEY], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    return process, process.stdout.readline().split()[1]


def start_bot(tmp_path: Path, telegram: FakeTelegram, binance: LocalBinance, gecko_url: str) -> subprocess.Popen:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "BINANCE_"))},
           "LOG_LEVEL": "INFO", "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": telegram.base_url,
           "TELEGRAM_ADMIN_IDS": str(ADMIN), "TELEGRAM_NOTIFY_CHAT_IDS": f"{ADMIN},{GROUP}",
           "NOTIFY_LIFECYCLE": "on", **binance.env(KEY, SECRET), "MARKET_CAPS": "coingecko",
           "COINGECKO_API_URL": gecko_url, "COINGECKO_API_KEY": GECKO_KEY,
           "KLINE_DB_PATH": str(tmp_path / "klines.sqlite"), "CHART_DIR": str(tmp_path / "charts")}
    return subprocess.Popen([sys.executable, "bot.py", "--env-file", NO_ENV_FILE, "--db", str(tmp_path / "bot.sqlite"),
                             "--clock", CLOCK], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def use_the_bot(telegram: FakeTelegram, binance: LocalBinance) -> None:
    def ask(text: str, fragment: str, timeout: float = 60):
        telegram.send_text(ADMIN, text)
        return telegram.wait_for(lambda m: m.chat_id == ADMIN and fragment in m.text, timeout=timeout)

    def confirm(command: str, done: str) -> None:
        plan = ask(f"/{command}", f"Confirm /{command}")
        telegram.press_button(ADMIN, plan.message_id, plan.reply_markup["inline_keyboard"][0][0]["callback_data"])
        telegram.wait_for(lambda m: m.chat_id == ADMIN and done in m.text and m.message_id > plan.message_id, 90)

    telegram.wait_for(lambda m: "started" in m.text, timeout=60)
    ask("/status", "Venue: testnet")
    ask("/set topn=abc", "topn must be")
    ask("/set topn=3", "topn: 10 → 3")
    ask("/set min_market_cap=1", "min_market_cap: 0 → 1")
    ask("/ranking", "Market caps (coingecko, read")  # read with the key: the stand-in refuses a request without it
    confirm("rebalance_now", "Rebalance")
    ask("/pnl", "P/L")
    # The exchange now fails: a gateway error, then rejections whose text echoes the API key and secret.
    binance.control("faults", {"fail_next": [{"n": 1, "status": 503}],
                               "reject_next": [{"code": -2015, "n": 5,
                                                "msg": f"Invalid API-key {KEY}, IP, or permissions ({SECRET})"}]})
    confirm("liquidate", "paused")
    ask("/history", "slot")
    ask("/positions", "Equity")


def test_no_secret_in_logs_chat_or_databases_after_a_full_run(tmp_path: Path) -> None:
    binance, telegram = start_binance(), FakeTelegram(token=TOKEN)
    gecko, gecko_url = start_coingecko()
    telegram.start()
    bot = start_bot(tmp_path, telegram, binance, gecko_url)
    try:
        use_the_bot(telegram, binance)
    finally:
        bot.send_signal(signal.SIGTERM)
        out, err = bot.communicate(timeout=60)
        telegram.stop()
        binance.stop()
        gecko.terminate()
        gecko.wait(timeout=10)
    assert bot.returncode == 0, err[-3000:]
    assert "Problem:" in "".join(m.text for m in telegram.sent)  # the failure path really ran and was reported
    found = hits("stdout", out.encode()) + hits("stderr (the log)", err.encode())
    for message in telegram.sent:
        found += hits(f"{message.kind} #{message.message_id} to {message.chat_id}", message.text.encode())
    for call in telegram.calls:  # everything the bot sent to Telegram, captions and keyboards included
        found += hits(f"{call.method} call", json.dumps(call.params, ensure_ascii=False).encode())
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "bot.sqlite" for p in files) and any(p.name.startswith("klines.sqlite") for p in files)
    for path in files:  # databases with their -wal/-shm, lock files, charts
        found += hits(path.name, path.read_bytes())
    count("secret leaks found", len(found))
    count("places scanned for secrets", 2 + len(telegram.sent) + len(telegram.calls) + len(files))
    assert not found, "\n".join(found)
