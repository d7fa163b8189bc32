"""Files on the server: databases owner-only, no folders made from a typo, a readable .env with secrets warned of."""
from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from tests.builders import NO_ENV_FILE
from tests.test_bad_settings import KEY, TOKEN, bot_processes, clean_env  # noqa: F401  (clean_env is a fixture)
from tradingbot.adapters.sqlite_store import SqliteStore, open_database
from tradingbot.core.params import excerpt
from tradingbot.settings import SettingsError, check_databases, env_file_warning, load_settings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_database_and_its_wal_and_shm_files_are_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask, which would leave a new file readable by everyone
    try:
        db = open_database(tmp_path / "bot.sqlite")
        SqliteStore(db, "USDT").set_state("paused", "0")
        files = [tmp_path / name for name in ("bot.sqlite", "bot.sqlite-wal", "bot.sqlite-shm")]
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
        db.close()
    finally:
        os.umask(old)


def test_an_existing_database_keeps_the_mode_its_owner_chose(tmp_path: Path) -> None:
    shared = tmp_path / "shared.sqlite"
    open_database(shared).close()
    shared.chmod(0o640)  # e.g. a BI tool reading it through the group
    open_database(shared).close()
    assert mode(shared) == 0o640


def test_an_explicit_database_path_in_a_missing_folder_is_refused(clean_env, tmp_path: Path) -> None:
    missing = tmp_path / "missing" / "folder"
    shown = re.escape(excerpt(str(missing), 80))  # a long path is cut (an xdist worker's tmp_path is longer)
    settings = load_settings(env_file=None)
    with pytest.raises(SettingsError, match=f"^--db: the folder {shown} does not exist"):
        check_databases(settings, str(missing / "x.sqlite"), demo=False)
    for variable, demo in (("DB_PATH", False), ("DEMO_DB_PATH", True), ("KLINE_DB_PATH", False)):
        settings = load_settings(env_file=None, **{variable: str(missing / "x.sqlite")})
        with pytest.raises(SettingsError, match=f"^{variable}: the folder {shown} does not exist"):
            check_databases(settings, None, demo)
    assert not (tmp_path / "missing").exists()


def test_a_default_database_path_may_create_its_folder(clean_env, tmp_path: Path) -> None:
    # .env.example spells the defaults out, so a default given explicitly is still a default.
    settings = load_settings(env_file=None, db_path="data/itradingbot.sqlite", kline_db_path="data/klines.sqlite")
    check_databases(settings, None, demo=False)
    check_databases(settings, None, demo=True)
    open_database(settings.db_path).close()
    assert (tmp_path / "data" / "itradingbot.sqlite").is_file()


def test_the_bot_refuses_a_missing_folder_before_creating_anything(tmp_path: Path) -> None:
    no_env = ["--env-file", NO_ENV_FILE, "--demo"]
    cases = {
        "--db": ({}, [*no_env, "--db", str(tmp_path / "missing" / "folder" / "x.sqlite")]),
        "DEMO_DB_PATH": ({"DEMO_DB_PATH": str(tmp_path / "missing" / "demo.sqlite")}, no_env),
    }
    for label, result in bot_processes(cases).items():
        assert result.returncode == 2 and result.stderr.startswith(f"configuration error: {label}: the folder "), \
            (label, result.stderr[-800:])
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "missing").exists()


def test_a_settings_file_with_secrets_readable_by_others_is_warned_of(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(f"TIMEZONE=UTC\nbinance_api_secret={KEY}\nBINANCE_API_KEY=\n")
    env.chmod(0o644)
    warning = env_file_warning(str(env))
    assert warning and "BINANCE_API_SECRET" in warning and "0644" in warning and "chmod 600" in warning
    assert KEY not in warning and "BINANCE_API_KEY" not in warning  # an empty value is no secret
    env.chmod(0o640)
    assert env_file_warning(str(env))  # the group is someone else too
    env.chmod(0o600)
    assert env_file_warning(str(env)) is None
    plain = tmp_path / "plain.env"
    plain.write_text("TIMEZONE=UTC\n")
    plain.chmod(0o644)
    assert env_file_warning(str(plain)) is None and env_file_warning(str(tmp_path / "none.env")) is None


def test_the_start_up_log_warns_of_a_readable_settings_file(tmp_path: Path) -> None:
    env = tmp_path / "bot.env"
    env.write_text(f"TELEGRAM_BOT_TOKEN={TOKEN}\nTELEGRAM_ADMIN_IDS=5\n")
    env.chmod(0o644)
    result = bot_processes({"open": ({}, ["--env-file", str(env), "--demo", "--db", str(tmp_path / "x.sqlite")])})
    out = result["open"]
    assert out.returncode == 0, out.stderr[-1500:]
    assert "WARNING" in out.stderr and f"settings file {excerpt(str(env), 80)} holds TELEGRAM_BOT_TOKEN" in out.stderr
    assert "Zq7" not in out.stderr
