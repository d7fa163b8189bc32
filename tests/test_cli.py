"""The real program, as a person runs it: bot.py in a subprocess on the synthetic market and paper venue."""
from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.builders import NO_ENV_FILE

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "LOG_LEVEL": "WARNING", "TELEGRAM_BOT_TOKEN": "", "SYNTHETIC_SYMBOLS": "240",
       "CHART_DIR": tempfile.mkdtemp(prefix="itb-charts-")}


def bot(*args: str, db: Path, stdin: str | None = None, timeout: int = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "bot.py", "--env-file", NO_ENV_FILE, "--db", str(db), *args],
                          cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=timeout, env=ENV)


def test_console_session_end_to_end(tmp_path):
    session = "\n".join([
        "/status", "/set topn=abc", "/set topn=4 mode=delta", "/rebalance_now", "y", "/positions", "/frobnicate",
        "/params", "/quit",
    ]) + "\n"
    # 09:30 is past the 10-minute grace, so start-up does not catch up the 09:00 slot.
    out = bot("--demo", "--clock", "2026-11-24T09:30:00Z", db=tmp_path / "demo.sqlite", stdin=session).stdout
    assert "Venue: paper (market data: synthetic)" in out
    assert "⚠ topn must be a whole number from 1 to 50 (got 'abc')" in out
    assert "topn: 10 → 4" in out and "mode: full → delta" in out
    assert "Confirm /rebalance_now within 60 s?" in out and "Bought 4:" in out
    positions = out.split("asset ")[1].split("Equity")[0].strip().splitlines()
    assert len(positions) == 1 + 4 + 1  # header line remainder, four holdings, cash
    assert "unknown command /frobnicate" in out
    assert "topn = 4" in out


def test_start_up_catches_up_a_slot_missed_within_the_grace_period(tmp_path):
    out = bot("--demo", "--clock", "2026-11-24T09:04:00Z", db=tmp_path / "demo.sqlite", stdin="/history\n").stdout
    assert "[push] Rebalance S20261124T0900 done" in out
    reply = out.split("slot ")[1].split("\n\n")[0]  # /history's reply: up to the next push (the stopping one)
    history = [line for line in reply.strip().splitlines()[1:] if not line.startswith("[chart]")]
    assert [line.split()[:2] for line in history] == [["S20261124T0900", "done"]]  # ran once, nothing else


def test_bad_settings_stop_the_start_with_one_line(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("STARTING_CAPITAL=lots\n")
    result = subprocess.run([sys.executable, "bot.py", "--env-file", str(env_file), "--db", str(tmp_path / "x.db"),
                             "chat", "/status"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env={k: v for k, v in ENV.items() if k != "STARTING_CAPITAL"})
    assert result.returncode == 2
    assert result.stderr.strip().startswith("configuration error: STARTING_CAPITAL")
    assert len(result.stderr.strip().splitlines()) == 1


def test_rebalance_json_and_the_same_slot_sends_nothing_twice(tmp_path):
    db = tmp_path / "x.sqlite"
    first = json.loads(bot("--demo", "--clock", "2026-11-24T09:00:30Z", "rebalance", "--json", db=db).stdout)
    orders = {f["client_order_id"] for f in first["fills"]}  # the demo's books: a fill per level an order took
    assert first["state"] == "done" and first["slot"] == "S20261124T0900" and len(orders) == 10
    assert all(f["commission_asset"] != "USDT" for f in first["fills"])  # buys pay fees in the coin received
    second = json.loads(bot("--demo", "--clock", "2026-11-24T09:20:00Z", "rebalance", "--json", db=db).stdout)
    assert second["already_done"] and second["fills"] == first["fills"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM paper_orders").fetchone()[0] == 10


def test_a_clock_outside_the_synthetic_market_is_one_line_not_a_traceback(tmp_path):
    for command in (["rebalance"], ["chat", "/status"]):
        result = bot("--demo", "--clock", "2099-01-01T09:00:00Z", *command, db=tmp_path / "x.sqlite")
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert result.stderr.strip() == ("configuration error: --clock: the synthetic market covers 2024-01-01 to "
                                         "2031-01-01 only (got 2099-01-01T09:00:00Z)")


def paper_orders(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM paper_orders").fetchone()[0]


def test_rebalance_runs_the_slot_only_when_due_and_not_paused_and_now_rebalances_on_request(tmp_path):
    db = tmp_path / "x.sqlite"
    late = bot("--demo", "--clock", "2026-11-24T16:27:00Z", "rebalance", db=db)
    assert late.returncode == 0 and len(late.stdout.strip().splitlines()) == 1
    assert "S20261124T0900 was due 7 h 27 min ago, past the 10-minute grace period: nothing sent" in late.stdout
    assert bot("--demo", "--clock", "2026-11-25T09:00:00Z", "chat", "/pause", db=db).returncode == 0
    paused = json.loads(bot("--demo", "--clock", "2026-11-25T09:00:30Z", "rebalance", "--json", db=db).stdout)
    assert paused["state"] == "not_run" and paused["reason"] == "paused" and paused["slot"] == "S20261125T0900"
    assert paper_orders(db) == 0
    refused = bot("--demo", "--clock", "2026-11-25T09:00:30Z", "rebalance", "--slot", "X1", db=db)
    assert refused.returncode == 1 and "use it with --now" in refused.stderr and paper_orders(db) == 0
    manual = json.loads(bot("--demo", "--clock", "2026-11-25T16:27:00Z", "rebalance", "--now", "--json", db=db).stdout)
    # --clock starts the clock there and it runs on: a loaded machine may reach the slot a second or two later
    assert manual["kind"] == "manual" and re.fullmatch(r"M20261125T16270\d", manual["slot"])
    assert len({f["client_order_id"] for f in manual["fills"]}) == 10
    assert paper_orders(db) == 10


def test_a_second_bot_on_the_same_database_stops_at_start_and_looking_stays_allowed(tmp_path):
    db = tmp_path / "one.sqlite"
    first = subprocess.Popen([sys.executable, "bot.py", "--env-file", NO_ENV_FILE, "--db", str(db), "--demo",
                              "--clock", "2026-11-24T09:30:00Z"], cwd=ROOT, env=ENV, text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for line in first.stdout:  # the console's greeting: the first bot is up and holds the account
            if "iTradingBot console" in line:
                break
        for command in ([], ["rebalance", "--now"]):
            second = bot("--demo", "--clock", "2026-11-24T09:31:00Z", *command, db=db, stdin="")
            assert second.returncode == 3, second.stdout + second.stderr
            assert second.stderr.strip() == (f"stopped: another bot process is running on {db} (it holds its .lock "
                                             "file); stop that one first — `bot.py chat` may still look")
        look = bot("--demo", "--clock", "2026-11-24T09:31:00Z", "chat", "/status", db=db)
        assert look.returncode == 0 and "Venue: paper" in look.stdout
    finally:
        first.communicate(timeout=30)  # stdin closes: the console ends at EOF
    assert first.returncode == 0 and paper_orders(db) == 0
    assert bot("--demo", "--clock", "2026-11-24T09:32:00Z", db=db, stdin="/quit\n").returncode == 0  # free again


def test_the_bot_process_on_telegram_end_to_end(tmp_path):
    """As the issue's person-like script: the real bot.py process, the real PTB client, the local fake API."""
    from standins.telegram_api import FakeTelegram

    admin, stranger, group = 4242, 777, -100
    fake = FakeTelegram(token="999:E2E")
    fake.start()
    env = {**ENV, "TELEGRAM_BOT_TOKEN": "999:E2E", "TELEGRAM_API_BASE_URL": fake.base_url,
           "TELEGRAM_ADMIN_IDS": str(admin), "TELEGRAM_NOTIFY_CHAT_IDS": f"{admin},{group}"}
    proc = subprocess.Popen([sys.executable, "bot.py", "--env-file", NO_ENV_FILE, "--db",
                             str(tmp_path / "tg.sqlite"), "--demo", "--clock", "2026-11-24T09:30:00Z"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        fake.wait_for(lambda m: "started" in m.text, timeout=30)

        def ask(text, fragment, chat=admin, user=admin):
            fake.send_text(user, text, chat_id=chat)
            return fake.wait_for(lambda m: m.chat_id == chat and fragment in m.text, timeout=20)

        ask("/status", "Venue: paper")
        error = ask("/set topn=abc", "topn must be")
        assert "\n" not in error.text and "from 1 to 50" in error.text
        ask("/set topn=5", "topn: 10 → 5")
        plan = ask("/rebalance_now", "Confirm /rebalance_now")
        confirm = plan.reply_markup["inline_keyboard"][0][0]["callback_data"]
        fake.press_button(admin, plan.message_id, confirm)
        fake.wait_for(lambda m: m.chat_id == group and "P/L since start" in m.text, timeout=30)
        refusal = ask("/pnl", "Not authorised", chat=stranger, user=stranger)
        assert [m.text for m in fake.messages_to(stranger)] == [refusal.text]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        fake.stop()
    assert proc.returncode == 0, err[-2000:]
    assert any("stopping" in m.text for m in fake.messages_to(admin))
    assert "999:E2E" not in out + err  # the token never reaches the logs


def test_a_rejected_token_is_one_line_and_never_printed(tmp_path):
    from standins.telegram_api import FakeTelegram

    fake = FakeTelegram(token="123456:RIGHT")
    fake.start()
    try:
        env = {**ENV, "TELEGRAM_BOT_TOKEN": "123456:WRONG-SECRET", "TELEGRAM_API_BASE_URL": fake.base_url,
               "TELEGRAM_ADMIN_IDS": "1"}
        result = subprocess.run([sys.executable, "bot.py", "--env-file", NO_ENV_FILE, "--demo", "--db",
                                 str(tmp_path / "x.sqlite")], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=60)
    finally:
        fake.stop()
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("configuration error: TELEGRAM_BOT_TOKEN: rejected")
    assert "WRONG-SECRET" not in result.stdout + result.stderr


def test_log_lines_and_tracebacks_never_show_a_secret():
    import logging

    from tradingbot.adapters.logs import RedactingFormatter

    formatter = RedactingFormatter("%(message)s", ["123456:SECRET-TOKEN", "short"])
    try:
        raise RuntimeError("request to https://api.telegram.org/bot123456:SECRET-TOKEN/getMe failed")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "token %s", ("123456:SECRET-TOKEN",),
                                   sys.exc_info())
    text = formatter.format(record)
    assert "SECRET-TOKEN" not in text and text.count("***") >= 2 and "RuntimeError" in text


def test_chat_saves_charts_as_png_files_and_prints_their_paths(tmp_path):
    env = {**ENV, "CHART_DIR": str(tmp_path / "charts")}
    result = subprocess.run([sys.executable, "bot.py", "--env-file", NO_ENV_FILE, "--db", str(tmp_path / "c.db"),
                             "--demo", "chat", "/rebalance_now", "/confirm", "/chart equity", "/positions", "/chart bogus"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    paths = [Path(line.split("[chart] ", 1)[1]) for line in result.stdout.splitlines() if "[chart] " in line]
    assert {p.name for p in paths} == {"equity.png", "allocation.png"}
    assert all(p.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") for p in paths)
    assert "usage: /chart equity|allocation|rebalances|ranking|inventory" in result.stdout


def test_a_fresh_checkout_starts_with_the_default_database_folder_absent(tmp_path):
    # The README's first command on a fresh clone: no data/ folder yet, the default DEMO_DB_PATH inside it.
    env = {**ENV, "CHART_DIR": str(tmp_path / "charts")}
    result = subprocess.run([sys.executable, str(ROOT / "bot.py"), "--env-file", NO_ENV_FILE, "--demo",
                             "--clock", "2026-11-24T12:00:00Z", "rebalance"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and (tmp_path / "data" / "demo.sqlite").exists()
