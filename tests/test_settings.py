"""Process settings: defaults, comma lists, one-line errors naming the variable, secrets kept out of text."""
from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from tradingbot.settings import Settings, SettingsError, load_settings

VARIABLES = [name.upper() for name in Settings.model_fields]
TOKEN = "123456:AAH-very-secret-token"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No variable of the developer's shell (or .env in the working directory) leaks into a test."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def error_for(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(env_file=None)
    # Raised 'from None' so no traceback shows pydantic's error, which carries the raw input.
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_defaults() -> None:
    s = load_settings(env_file=None)
    assert s.telegram_bot_token is None and s.binance_api_key is None and s.binance_api_secret is None
    assert s.telegram_api_base_url == "https://api.telegram.org/bot"
    assert s.telegram_admin_ids == s.telegram_viewer_ids == s.telegram_notify_chat_ids == []
    assert (s.exchange, s.market_data, s.allow_real_money_trading) == ("paper", "binance", False)
    assert s.binance_market_data_url == "https://data-api.binance.vision/api" and s.binance_weight_budget == 3000
    assert s.db_path == Path("data/itradingbot.sqlite") and s.demo_db_path == Path("data/demo.sqlite")
    assert (s.timezone, s.starting_capital, s.synthetic_seed) == ("UTC", Decimal(10000), 7)
    assert (s.synthetic_symbols, s.mark_every_minutes, s.log_level) == (240, 60, "INFO")
    assert s.chart_dir == Path("charts_out")


def test_comma_separated_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_ADMIN_IDS", "111, 222,111")
    monkeypatch.setenv("TELEGRAM_VIEWER_IDS", "[333]")
    monkeypatch.setenv("TELEGRAM_NOTIFY_CHAT_IDS", "-1001234567890,444")
    s = load_settings(env_file=None)
    assert s.telegram_admin_ids == [111, 222]
    assert s.telegram_viewer_ids == [333]
    assert s.telegram_notify_chat_ids == [-1001234567890, 444]


def test_empty_values_mean_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TELEGRAM_ADMIN_IDS", "TELEGRAM_BOT_TOKEN", "TIMEZONE", "STARTING_CAPITAL"):
        monkeypatch.setenv(name, "")
    s = load_settings(env_file=None)
    assert (s.telegram_admin_ids, s.telegram_bot_token, s.timezone, s.starting_capital) == ([], None, "UTC", 10000)


def test_values_are_normalised(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"TIMEZONE": "europe/paris", "LOG_LEVEL": "debug", "EXCHANGE": "PAPER",
                        "ALLOW_REAL_MONEY_TRADING": "yes", "STARTING_CAPITAL": "2500.50"}.items():
        monkeypatch.setenv(name, value)
    s = load_settings(env_file=None)
    assert (s.timezone, s.log_level, s.exchange) == ("Europe/Paris", "DEBUG", "paper")
    assert s.allow_real_money_trading is True and s.starting_capital == Decimal("2500.50")


@pytest.mark.parametrize("name, value, message", [
    ("TELEGRAM_ADMIN_IDS", "abc", "TELEGRAM_ADMIN_IDS: must be comma-separated whole numbers (got 'abc')"),
    ("TELEGRAM_NOTIFY_CHAT_IDS", "1;2", "TELEGRAM_NOTIFY_CHAT_IDS: must be comma-separated whole numbers (got '1;2')"),
    ("TELEGRAM_API_BASE_URL", "api.telegram.org", "TELEGRAM_API_BASE_URL: must be an http:// or https:// URL"),
    ("EXCHANGE", "binance", "EXCHANGE: must be one of paper, testnet, demo, live (got 'binance')"),
    ("MARKET_DATA", "kraken", "MARKET_DATA: must be one of binance, synthetic (got 'kraken')"),
    ("BINANCE_API_URL", "testnet.binance.vision", "BINANCE_API_URL: must be an http:// or https:// URL"),
    ("BINANCE_STREAM_URL", "http://x/", "BINANCE_STREAM_URL: must be a ws:// or wss:// URL"),
    ("BINANCE_WEIGHT_BUDGET", "9000", "BINANCE_WEIGHT_BUDGET: must be a whole number from 100 to 6000"),
    ("ALLOW_REAL_MONEY_TRADING", "maybe", "ALLOW_REAL_MONEY_TRADING: must be true or false (got 'maybe')"),
    ("TIMEZONE", "Mars/Base", "TIMEZONE: must be an IANA name like Europe/Paris (got 'Mars/Base')"),
    ("STARTING_CAPITAL", "0", "STARTING_CAPITAL: must be a number above 0, at most 1e15 (got '0')"),
    ("STARTING_CAPITAL", "NaN", "STARTING_CAPITAL: must be a number above 0, at most 1e15 (got 'NaN')"),
    ("STARTING_CAPITAL", "1e999999", "STARTING_CAPITAL: must be a number above 0, at most 1e15 (got '1e999999')"),
    ("SYNTHETIC_SEED", "seven", "SYNTHETIC_SEED: must be a whole number, 0 or more (got 'seven')"),
    ("SYNTHETIC_SEED", "-5", "SYNTHETIC_SEED: must be a whole number, 0 or more (got '-5')"),
    ("SYNTHETIC_SYMBOLS", "49", "SYNTHETIC_SYMBOLS: must be a whole number from 50 to 2000 (got '49')"),
    ("SYNTHETIC_SYMBOLS", "2001", "SYNTHETIC_SYMBOLS: must be a whole number from 50 to 2000 (got '2001')"),
    ("MARK_EVERY_MINUTES", "0", "MARK_EVERY_MINUTES: must be a whole number from 1 to 1440 (got '0')"),
    ("LOG_LEVEL", "TRACE", "LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR (got 'TRACE')"),
])
def test_bad_values_give_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    assert error_for(monkeypatch, **{name: value}).startswith(message)


def test_live_is_refused_without_the_real_money_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    message = error_for(monkeypatch, EXCHANGE="live")
    assert message == "EXCHANGE: live trades real money; set ALLOW_REAL_MONEY_TRADING=true to allow it"
    assert error_for(monkeypatch, EXCHANGE="live", ALLOW_REAL_MONEY_TRADING="true").startswith("BINANCE_API_KEY")


def test_binance_venues_need_keys_and_point_at_their_own_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    assert error_for(monkeypatch, EXCHANGE="testnet") == (
        "BINANCE_API_KEY: required when EXCHANGE=testnet (see the README: Binance venues)")
    keys = {"binance_api_key": "k", "binance_api_secret": "s"}
    assert load_settings(env_file=None, exchange="testnet", **keys).trading_url == "https://testnet.binance.vision/api"
    assert load_settings(env_file=None, exchange="demo", **keys).trading_url == "https://demo-api.binance.com/api"
    local = load_settings(env_file=None, exchange="testnet", binance_api_url="http://127.0.0.1:9/api", **keys)
    assert local.trading_url == "http://127.0.0.1:9/api"
    with pytest.raises(SettingsError, match="ALLOW_REAL_MONEY_TRADING=true"):
        load_settings(env_file=None, exchange="live", **keys)
    assert load_settings(env_file=None, exchange="live", allow_real_money_trading=True, **keys).exchange == "live"


def test_a_token_without_admins_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    with pytest.raises(SettingsError) as caught:
        load_settings(env_file=None)
    assert str(caught.value).startswith("TELEGRAM_ADMIN_IDS: required when TELEGRAM_BOT_TOKEN is set")
    assert TOKEN not in str(caught.value)
    assert load_settings(env_file=None, require_admins=False).telegram_admin_ids == []


def test_secrets_stay_out_of_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_ADMIN_IDS", "42")
    monkeypatch.setenv("BINANCE_API_SECRET", TOKEN.replace(":", "") + "-binance")
    s = load_settings(env_file=None)
    assert s.telegram_bot_token is not None and s.telegram_bot_token.get_secret_value() == TOKEN
    assert TOKEN not in str(s) and TOKEN not in repr(s) and TOKEN not in s.model_dump_json()
    assert TOKEN not in error_for(monkeypatch, EXCHANGE="live")


def test_a_malformed_secret_is_not_echoed() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(env_file=None, telegram_bot_token=987654321)
    assert str(caught.value) == "TELEGRAM_BOT_TOKEN: must be a bot token from @BotFather, like 123456:ABC-def"
    assert "987654321" not in str(caught.value)


def test_env_file_is_read_and_the_environment_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env_file = tmp_path / "custom.env"
    env_file.write_text(
        "TELEGRAM_ADMIN_IDS=1,2\nTIMEZONE=Asia/Tokyo\nSYNTHETIC_SEED=99\nSOMETHING_ELSE=ignored\n", encoding="utf-8")
    monkeypatch.setenv("SYNTHETIC_SEED", "5")
    s = load_settings(env_file=str(env_file))
    assert (s.telegram_admin_ids, s.timezone, s.synthetic_seed) == ([1, 2], "Asia/Tokyo", 5)
    assert load_settings(env_file=None).timezone == "UTC"  # env_file=None reads the environment only
    assert load_settings(env_file=str(env_file), synthetic_seed=11).synthetic_seed == 11  # overrides win


def test_default_env_file_is_dot_env_in_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LOG_LEVEL=WARNING\n", encoding="utf-8")
    assert load_settings().log_level == "WARNING"
    (tmp_path / ".env").unlink()
    assert load_settings().log_level == "INFO"  # a missing .env is not an error


def test_unknown_override_is_refused() -> None:
    with pytest.raises(SettingsError, match="^TOPN: not a known setting$"):
        load_settings(env_file=None, topn=5)


def test_env_example_documents_every_variable_and_loads_to_the_defaults() -> None:
    example = Path(__file__).resolve().parent.parent / ".env.example"
    lines = example.read_text(encoding="utf-8").splitlines()
    assigned = [line.split("=", 1)[0] for line in lines if re.match(r"[A-Z_]+=", line)]
    assert sorted(assigned) == sorted(VARIABLES)
    for i, line in enumerate(lines):
        if re.match(r"[A-Z_]+=", line):
            assert lines[i - 1].startswith("# "), f"{line} needs a one-line comment above it"
    assert load_settings(env_file=str(example)) == load_settings(env_file=None)
