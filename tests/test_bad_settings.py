"""Corrupt or missing settings: the bot refuses to start with one line naming the variable, never a traceback.

Every variable has a bad value here (a test keeps the list equal to the settings), read through the loader;
the start-up checks that need files (databases, the .env file) and a sample of the rest run bot.py itself.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.builders import NO_ENV_FILE
from tests.figures import count
from tradingbot.settings import Settings, SettingsError, load_settings

ROOT = Path(__file__).resolve().parent.parent
VARIABLES = sorted(name.upper() for name in Settings.model_fields)
TOKEN = "5555555:Zq7-token-never-echoed"
KEY = "Zq7keyNeverEchoed0123"  # Zq7: the mark of a secret, found nowhere else

# One bad value per variable, read by the loader (a path's badness is checked at start-up, below).
BAD = {
    "TELEGRAM_BOT_TOKEN": "5555555 Zq7-token-never-echoed", "TELEGRAM_API_BASE_URL": "api.telegram.org",
    "TELEGRAM_ADMIN_IDS": "12,abc", "TELEGRAM_VIEWER_IDS": "1.5", "TELEGRAM_NOTIFY_CHAT_IDS": "@channel",
    "TELEGRAM_ALLOWED_CHAT_IDS": "-100x", "TELEGRAM_COMMAND_BURST": "0", "TELEGRAM_COMMANDS_PER_MINUTE": "fast",
    "ALLOW_REAL_MONEY_TRADING": "maybe", "EXCHANGE": "kraken", "MARKET_DATA": "yahoo",
    "BINANCE_API_KEY": "Zq7key Never\nEchoed", "BINANCE_API_SECRET": "Zq7;secret;never echoed",
    "BINANCE_API_URL": "ftp://x/api", "BINANCE_MARKET_DATA_URL": "data-api.binance.vision",
    "BINANCE_STREAM_URL": "https://x/", "BINANCE_WEIGHT_BUDGET": "1e9", "TIMEZONE": "Europe/Atlantis",
    "STARTING_CAPITAL": "-inf", "SYNTHETIC_SEED": "-1", "SYNTHETIC_SYMBOLS": "NaN", "MARK_EVERY_MINUTES": "0x10",
    "NOTIFY_REBALANCE": "loud", "NOTIFY_ALERTS": "<b>on</b>", "NOTIFY_LIFECYCLE": "yes", "NOTIFY_DAILY": "2",
    "DAILY_SUMMARY_AT": "24:00", "LOG_LEVEL": "verbose", "MARKET_CAPS": "coinmarketcap",
    "COINGECKO_API_URL": "api.coingecko.com", "COINGECKO_API_KEY": "CG-Zq7 never echoed",
    "MARKET_CAP_IDS": "ABC=abc-token",
    "DASHBOARD_ENABLED": "perhaps",
    "DASHBOARD_HOST": "0.0.0.0/0", "DASHBOARD_PORT": "70000", "DASHBOARD_PUBLIC_URL": "javascript:alert(1)",
}
CHECKED_AT_START = {"DB_PATH", "DEMO_DB_PATH", "KLINE_DB_PATH", "CHART_DIR"}
SECRET_VARIABLES = {"TELEGRAM_BOT_TOKEN", "BINANCE_API_KEY", "BINANCE_API_SECRET", "COINGECKO_API_KEY"}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_every_variable_has_a_bad_value_here() -> None:
    assert sorted(set(BAD) | CHECKED_AT_START) == VARIABLES


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_value_names_its_variable_in_one_line(clean_env, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, BAD[name])
    with pytest.raises(SettingsError) as caught:
        load_settings(env_file=None)
    message = str(caught.value)
    assert message.startswith(f"{name}: must be ") and "\n" not in message and len(message) < 200
    if name in SECRET_VARIABLES:  # a malformed secret is still a secret
        assert "Zq7" not in message and "never" not in message
    count("bad settings refused")


def bot_processes(cases: dict[str, tuple[dict[str, str], list[str]]]) -> dict[str, subprocess.CompletedProcess]:
    """Start every case's bot.py at once (each spends its second importing), then collect them."""
    clean = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    running = {}
    for label, (env, args) in cases.items():
        running[label] = (args, subprocess.Popen(
            [sys.executable, "bot.py", *args, "chat", "/status"], cwd=ROOT, text=True,
            env={**clean, "LOG_LEVEL": "WARNING", **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    done = {}
    for label, (args, proc) in running.items():
        out, err = proc.communicate(timeout=90)
        done[label] = subprocess.CompletedProcess(args, proc.returncode, out, err)
    return done


def test_files_that_are_not_settings_files_are_refused(clean_env, tmp_path: Path) -> None:
    binary = tmp_path / "binary.env"
    binary.write_bytes(b"TIMEZONE=UTC\n\xff\xfe\x00\x81 garbage\n")
    huge = tmp_path / "capital.env"
    huge.write_text("STARTING_CAPITAL=1e999999\n")
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    for env_file, start in [(binary, "settings file "), (tmp_path, "settings file "), (huge, "STARTING_CAPITAL: ")]:
        with pytest.raises(SettingsError, match=f"^{start}"):
            load_settings(env_file=str(env_file))
    with pytest.raises(SettingsError, match="^CHART_DIR: must be a directory path"):
        load_settings(env_file=None, chart_dir=str(a_file))
    assert load_settings(env_file=str(tmp_path / "missing.env")).exchange == "paper"  # no file: the environment


def test_bot_refuses_to_start_naming_the_setting(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(b"this is not a database, it is a text file\n" * 100)
    binary_env = tmp_path / "binary.env"
    binary_env.write_bytes(b"TIMEZONE=UTC\n\xff\xfe\x00\x81 garbage\n")
    no_env = ["--env-file", NO_ENV_FILE]
    cases = {  # label: (environment, arguments); the line must start with the label (up to any '(')
        "DB_PATH": ({"DB_PATH": str(corrupt)}, no_env),
        "DEMO_DB_PATH (a folder)": ({"DEMO_DB_PATH": str(tmp_path)}, [*no_env, "--demo"]),
        "KLINE_DB_PATH": ({"KLINE_DB_PATH": str(corrupt)}, [*no_env, "--db", str(tmp_path / "ok.sqlite")]),
        "settings file (not text)": ({}, ["--env-file", str(binary_env)]),
        "EXCHANGE": ({"EXCHANGE": "live", "BINANCE_API_KEY": KEY, "BINANCE_API_SECRET": KEY}, no_env),
        "TELEGRAM_ADMIN_IDS": ({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_VIEWER_IDS": "5"}, no_env),
    }
    for label, result in bot_processes(cases).items():
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1, (label, result.stderr[-1500:])
        assert lines[0].startswith(f"configuration error: {label.split(' (')[0]}"), (label, lines[0])
        assert result.stdout == "" and "Traceback" not in result.stderr
        assert "Zq7" not in result.stderr and "never" not in result.stderr.lower(), lines[0]
        count("bad settings refused")
