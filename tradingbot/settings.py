"""Process settings from the environment and an optional .env file; read once, by the composition root."""
from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .adapters import binance_hosts as hosts
from .core.errors import UserError
from .core.params import canonical_timezone, excerpt
from .core.redaction import mask_url_credentials
from .core.market_caps import parse_cap_ids

# paper: local fills at real prices; testnet / demo: Binance's sandboxes (real order path, no real money);
# live: a real Binance account, refused unless ALLOW_REAL_MONEY_TRADING=true.
EXCHANGES: tuple[str, ...] = ("paper", "testnet", "demo", "live")
MARKET_DATA_SOURCES: tuple[str, ...] = ("binance", "synthetic")
# auto: CoinGecko with Binance market data, the synthetic market's own caps with the synthetic market.
MARKET_CAP_SOURCES: tuple[str, ...] = ("auto", "coingecko", "synthetic", "off")
KEYED_EXCHANGES = ("testnet", "demo", "live")
# The trading REST base of each Binance venue (BINANCE_API_URL overrides it).
VENUE_URLS = {"testnet": "https://testnet.binance.vision/api", "demo": "https://demo-api.binance.com/api",
              "live": "https://api.binance.com/api"}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
NOTIFY_LEVELS = ("on", "silent", "off")  # silent: delivered without a sound
_SECRETS = frozenset({"telegram_bot_token", "binance_api_key", "binance_api_secret", "coingecko_api_key"})
_ID = re.compile(r"-?\d{1,20}", re.ASCII)
_TOKEN = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{1,100}", re.ASCII)
_KEY = re.compile(r"[A-Za-z0-9_-]{1,256}", re.ASCII)

IdList = Annotated[list[int], NoDecode]  # NoDecode: '1,-2' reaches the validator as text, not as JSON


class SettingsError(Exception):
    """A setting is missing or wrong: one line naming the variable and what is allowed."""


class Settings(BaseSettings):
    """Everything the process reads from its environment; variable names are the field names in upper case."""

    # Each field's description doubles as the 'what is allowed' part of its SettingsError.
    model_config = SettingsConfigDict(
        extra="ignore", env_ignore_empty=True, hide_input_in_errors=True, frozen=True, case_sensitive=False
    )

    telegram_bot_token: SecretStr | None = Field(None, description="a bot token from @BotFather, like 123456:ABC-def")
    telegram_api_base_url: str = Field("https://api.telegram.org/bot", description="an http:// or https:// URL")
    telegram_admin_ids: IdList = Field([], description="comma-separated whole numbers")
    telegram_viewer_ids: IdList = Field([], description="comma-separated whole numbers")
    telegram_notify_chat_ids: IdList = Field([], description="comma-separated whole numbers")
    # Chats where portfolio data is answered; empty: the admins', viewers' and notify chats.
    telegram_allowed_chat_ids: IdList = Field([], description="comma-separated whole numbers")
    # Per person: a burst, then a steady rate (a stranger's or viewer's flood never keeps an admin waiting).
    telegram_command_burst: int = Field(10, ge=1, le=100000, description="a whole number from 1 to 100000")
    telegram_commands_per_minute: int = Field(30, ge=1, le=1000000, description="a whole number from 1 to 1000000")
    # Before EXCHANGE, so the EXCHANGE check can see it.
    allow_real_money_trading: bool = Field(False, description="true or false")
    exchange: str = Field("paper", description="one of " + ", ".join(EXCHANGES))
    market_data: str = Field("binance", description="one of " + ", ".join(MARKET_DATA_SOURCES))
    binance_api_key: SecretStr | None = Field(None, description="a Binance API key (letters and digits, no spaces)")
    binance_api_secret: SecretStr | None = Field(None, description="a Binance API secret (letters and digits, "
                                                                   "no spaces)")
    binance_api_url: str | None = Field(None, description="an http:// or https:// URL ending in /api")
    binance_market_data_url: str = Field("https://data-api.binance.vision/api",
                                         description="an http:// or https:// URL ending in /api")
    binance_stream_url: str = Field("wss://data-stream.binance.vision/", description="a ws:// or wss:// URL")
    binance_weight_budget: int = Field(3000, ge=100, le=6000, description="a whole number from 100 to 6000")
    market_caps: str = Field("auto", description="one of " + ", ".join(MARKET_CAP_SOURCES))
    coingecko_api_url: str = Field("https://api.coingecko.com/api/v3", description="an http:// or https:// URL")
    coingecko_api_key: SecretStr | None = Field(None, description="a CoinGecko demo API key (letters, digits, "
                                                                  "- and _, no spaces)")
    market_cap_ids: str | None = Field(None, description="comma-separated BASE:coingecko-id pairs, like "
                                                         "ABC:abc-token,XYZ:xyz-network")
    db_path: Path = Field(Path("data/itradingbot.sqlite"), description="a file path")
    demo_db_path: Path = Field(Path("data/demo.sqlite"), description="a file path")
    kline_db_path: Path = Field(Path("data/klines.sqlite"), description="a file path")
    timezone: str = Field("UTC", description="an IANA name like Europe/Paris")
    # An upper bound: 1e999999 would be accepted by Decimal and then print a million digits in /status.
    starting_capital: Decimal = Field(Decimal(10000), gt=0, le=Decimal("1e15"), allow_inf_nan=False,
                                      description="a number above 0, at most 1e15")
    synthetic_seed: int = Field(7, ge=0, description="a whole number, 0 or more")  # numpy refuses negative seeds
    synthetic_symbols: int = Field(240, ge=50, le=2000, description="a whole number from 50 to 2000")
    mark_every_minutes: int = Field(60, ge=1, le=1440, description="a whole number from 1 to 1440")
    notify_rebalance: str = Field("on", description="one of on, silent, off")
    notify_alerts: str = Field("on", description="one of on, silent, off")
    notify_lifecycle: str = Field("silent", description="one of on, silent, off")
    notify_daily: str = Field("silent", description="one of on, silent, off")
    daily_summary_at: str = Field("20:00", description="a time of day HH:MM (manager's timezone)")
    chart_dir: Path = Field(Path("charts_out"), description="a directory path")
    dashboard_enabled: bool = Field(True, description="true or false")
    dashboard_host: str = Field("127.0.0.1", description="a host name or IP address to listen on")
    dashboard_port: int = Field(8080, ge=1, le=65535, description="a whole number from 1 to 65535")
    dashboard_public_url: str = Field("http://127.0.0.1:8080", description="an http:// or https:// URL")
    log_level: str = Field("INFO", description="one of " + ", ".join(LOG_LEVELS))

    @field_validator("telegram_admin_ids", "telegram_viewer_ids", "telegram_notify_chat_ids",
                     "telegram_allowed_chat_ids", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        items = [i.strip() for i in value.strip().strip("[]").split(",") if i.strip()]
        if not all(_ID.fullmatch(i) for i in items):
            raise ValueError("not whole numbers")
        return list(dict.fromkeys(int(i) for i in items))  # duplicates dropped, order kept

    @field_validator("telegram_bot_token")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        # Checked here, not by Telegram: a pasted token with a space or a newline would otherwise only fail later.
        if value is not None and not _TOKEN.fullmatch(value.get_secret_value()):
            raise ValueError("not a bot token")
        return value

    @field_validator("binance_api_key", "binance_api_secret", "coingecko_api_key")
    @classmethod
    def _key(cls, value: SecretStr | None) -> SecretStr | None:
        # Sent in a header and signed with: a space or control character would break every request.
        if value is not None and not _KEY.fullmatch(value.get_secret_value()):
            raise ValueError("not an API key")
        return value

    @field_validator("chart_dir")
    @classmethod
    def _chart_dir(cls, value: Path) -> Path:
        if value.exists() and not value.is_dir():
            raise ValueError("not a directory")
        return value

    @field_validator("dashboard_host")
    @classmethod
    def _host(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9.:\[\]-]{1,253}", value.strip()):
            raise ValueError("not a host")
        return value.strip()

    @field_validator("telegram_api_base_url", "binance_api_url", "binance_market_data_url", "coingecko_api_url",
                     "dashboard_public_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://\S+", value):
            raise ValueError("not a URL")
        return value

    @field_validator("binance_stream_url")
    @classmethod
    def _stream_url(cls, value: str) -> str:
        if not re.fullmatch(r"wss?://\S+", value):
            raise ValueError("not a URL")
        return value

    @property
    def trading_url(self) -> str:
        """REST base of the venue that takes orders (testnet, demo or live)."""
        return self.binance_api_url or VENUE_URLS.get(self.exchange, VENUE_URLS["testnet"])

    @field_validator("exchange")
    @classmethod
    def _exchange(cls, value: str, info: ValidationInfo) -> str:
        value = value.strip().lower()
        if value == "live" and not info.data.get("allow_real_money_trading"):
            raise PydanticCustomError(
                "refused", "live trades real money; set ALLOW_REAL_MONEY_TRADING=true to allow it")
        return _one_of(value, EXCHANGES)

    @field_validator("market_data")
    @classmethod
    def _market_data(cls, value: str) -> str:
        return _one_of(value.strip().lower(), MARKET_DATA_SOURCES)

    @field_validator("market_caps")
    @classmethod
    def _market_caps(cls, value: str) -> str:
        return _one_of(value.strip().lower(), MARKET_CAP_SOURCES)

    @field_validator("market_cap_ids")
    @classmethod
    def _market_cap_ids(cls, value: str | None) -> str | None:
        if value is not None:
            parse_cap_ids(value)  # ValueError: the pair is shown in the one-line error
        return value

    @field_validator("notify_rebalance", "notify_alerts", "notify_lifecycle", "notify_daily")
    @classmethod
    def _notify(cls, value: str) -> str:
        return _one_of(value.strip().lower(), NOTIFY_LEVELS)

    @field_validator("daily_summary_at")
    @classmethod
    def _daily_at(cls, value: str) -> str:
        match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value.strip())
        if not match:
            raise ValueError("not a time of day")
        return f"{int(match[1]):02d}:{match[2]}"

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        return _one_of(value.strip().upper(), LOG_LEVELS)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            return canonical_timezone(value)
        except UserError:
            raise ValueError("unknown timezone") from None


def _one_of(value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError("not allowed")
    return value


def _message(error: Any) -> str:
    """One line for pydantic's first error: VARIABLE: what is allowed (got 'value')."""
    name = str(error["loc"][0]) if error["loc"] else ""
    if error["type"] == "refused":
        return f"{name.upper()}: {error['msg']}"
    field = Settings.model_fields.get(name)
    allowed = field.description if field is not None else "a valid value"
    value = error.get("input")
    # A secret's value is never echoed, even a malformed one.
    if name in _SECRETS or not isinstance(value, (str, int, float, Decimal)):
        return f"{name.upper()}: must be {allowed}"
    return f"{name.upper()}: must be {allowed} (got '{excerpt(mask_url_credentials(str(value)))}')"


def _check_env_file(env_file: str | None) -> None:
    """A settings file that is there must be readable text; a missing one is fine (the environment is enough)."""
    if env_file is None or not Path(env_file).exists():
        return
    name = f"settings file {excerpt(env_file, 80)}"
    if not Path(env_file).is_file():
        raise SettingsError(f"{name}: not a file (give --env-file a .env file)")
    try:
        Path(env_file).read_text(encoding="utf-8")
    except OSError as e:
        raise SettingsError(f"{name}: cannot be read ({e.strerror})") from None
    except UnicodeDecodeError:
        raise SettingsError(f"{name}: not UTF-8 text") from None


def env_file_warning(env_file: str | None) -> str | None:
    """A warning when the settings file holds a secret and others than its owner may read it."""
    if env_file is None or not Path(env_file).is_file():
        return None
    mode = Path(env_file).stat().st_mode & 0o777
    held = [name.upper() for name, value in dotenv_values(env_file).items() if name.lower() in _SECRETS and value]
    if not held or not mode & 0o077:
        return None
    return (f"settings file {excerpt(env_file, 80)} holds {', '.join(sorted(held))} and others than its owner may "
            f"read it (mode {mode:04o}): run chmod 600 on it")


def check_databases(settings: Settings, db_option: str | None, demo: bool) -> None:
    """The databases this run opens: the ledger's (--db, else DEMO_DB_PATH or DB_PATH) and the candle cache."""
    field = "demo_db_path" if demo else "db_path"
    chosen = [("--db", Path(db_option), field)] if db_option else [(field.upper(), getattr(settings, field), field)]
    for variable, path, name in chosen + [("KLINE_DB_PATH", settings.kline_db_path, "kline_db_path")]:
        # .env.example spells out the defaults, so "explicit" means "not the default", not "set"
        check_database(variable, path, explicit=path != Settings.model_fields[name].default)


def check_database(variable: str, path: str | Path, explicit: bool = False) -> None:
    """A database file that is already there must be SQLite: refused at start, naming the setting, not mid-run.

    A path given explicitly must be in an existing folder: a typo (/missing/x.sqlite) would otherwise create
    folders anywhere, even at the filesystem root. Only a default path (data/...) creates its folder.
    """
    if str(path) == ":memory:":
        return
    folder = Path(path).parent
    if explicit and not folder.is_dir():
        raise SettingsError(f"{variable}: the folder {excerpt(str(folder), 80)} does not exist (create it first)")
    if not Path(path).exists():
        return  # created on first use
    try:
        with closing(sqlite3.connect(path)) as conn:
            conn.execute("PRAGMA schema_version").fetchone()
    except sqlite3.DatabaseError as e:
        raise SettingsError(f"{variable}: {excerpt(path, 80)} is not a usable SQLite database ({e})") from None


def _check_hosts(settings: Settings) -> None:
    """Each Binance URL must name a host of the venue it serves (see binance_hosts): refused at start."""
    checks = []
    if settings.exchange in KEYED_EXCHANGES:
        checks.append(("BINANCE_API_URL", settings.trading_url, hosts.REST_HOSTS[settings.exchange],
                       f"EXCHANGE={settings.exchange}", True))
    if settings.market_data == "binance":
        production = "market data (always production's)"
        checks += [("BINANCE_MARKET_DATA_URL", settings.binance_market_data_url, hosts.MARKET_DATA_REST, production,
                    False),
                   ("BINANCE_STREAM_URL", settings.binance_stream_url, hosts.STREAM_HOSTS["live"], production, False)]
    for variable, url, allowed, purpose, keyed in checks:
        try:
            hosts.check_host(url, allowed, purpose, keyed)
        except hosts.HostRefused as e:
            raise SettingsError(f"{variable}: {e}") from None


def load_settings(env_file: str | None = ".env", require_admins: bool = True, **overrides: Any) -> Settings:
    """Read settings: overrides, then the environment, then env_file (None: environment only)."""
    overrides = {key.lower(): value for key, value in overrides.items()}
    unknown = sorted(set(overrides) - set(Settings.model_fields))
    if unknown:
        raise SettingsError(f"{unknown[0].upper()}: not a known setting")
    _check_env_file(env_file)
    try:
        settings = Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]  # pydantic-settings kwarg
    except ValidationError as exc:
        # 'from None': the pydantic error carries the raw input, which may be a secret.
        raise SettingsError(_message(exc.errors()[0])) from None
    if settings.market_data == "synthetic" and settings.exchange != "paper":
        raise SettingsError("MARKET_DATA: synthetic works only with EXCHANGE=paper (the generated market lives "
                            "inside the bot); use binance, or the local Binance server for offline tests")
    if settings.exchange in KEYED_EXCHANGES:
        for name in ("binance_api_key", "binance_api_secret"):
            if getattr(settings, name) is None:
                raise SettingsError(f"{name.upper()}: required when EXCHANGE={settings.exchange} "
                                    "(see the README: Binance venues)") from None
    _check_hosts(settings)
    if require_admins and settings.telegram_bot_token and not settings.telegram_admin_ids:
        # A bot nobody may command would answer strangers only with refusals: refuse to start instead.
        raise SettingsError("TELEGRAM_ADMIN_IDS: required when TELEGRAM_BOT_TOKEN is set "
                            "(run `python bot.py whoami`, then send /whoami to the bot to learn your id)")
    return settings
