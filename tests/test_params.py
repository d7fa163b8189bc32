"""Strategy parameters: the key=value parser, its error messages, exclusion rules and persistence round trip."""
from __future__ import annotations

import dataclasses
import unicodedata
import zoneinfo
from datetime import time, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradingbot.core.domain import Change
from tradingbot.core.errors import UserError
from tradingbot.core.exclusions import LISTS, exclusion_reason, is_leveraged, is_stablecoin, is_wrapped
from tradingbot.core.params import (
    PARAM_SPECS, PERIODS, STRATEGIES, WEEKDAYS, StrategyParams, canonical_timezone, excerpt, format_duration,
    parse_assignments, parse_duration, split_assignments,
)
from tradingbot.core.backtest.options import config_from_pairs, sweep_grid

DEFAULT = StrategyParams()
KEYS = [spec.key for spec in PARAM_SPECS]


def set_(text: str, current: StrategyParams = DEFAULT) -> StrategyParams:
    return parse_assignments(text, current)[0]


def error_of(args: object, current: StrategyParams = DEFAULT) -> str:
    with pytest.raises(UserError) as caught:
        parse_assignments(args, current)  # type: ignore[arg-type]
    return str(caught.value)


def test_defaults_display_in_canonical_form() -> None:
    assert DEFAULT.to_strings() == {
        "strategy": "momentum", "lookback": "7d", "topn": "10", "every": "1d", "at": "09:00", "weekday": "mon",
        "timezone": "UTC", "quote": "USDT", "min_age_days": "14", "min_quote_volume": "1000000", "min_market_cap": "0",
        "exclude": "leveraged,stablecoins,wrapped", "blacklist": "none", "mode": "full", "invest_fraction": "1",
        "fee_rate": "0.001", "slippage_bps": "5", "latency_ms": "50",
    }


def test_specs_follow_the_dataclass_and_read_as_one_line() -> None:
    assert KEYS == [f.name for f in dataclasses.fields(StrategyParams)]
    for spec in PARAM_SPECS:
        assert spec.help and spec.allowed and "\n" not in spec.help + spec.allowed


@pytest.mark.parametrize("text, key, value", [
    ("strategy=reversal", "strategy", "reversal"),
    ("strategy=MOMENTUM", "strategy", "momentum"),
    ("lookback=12h", "lookback", timedelta(hours=12)),
    ("lookback=3d", "lookback", timedelta(days=3)),
    ("lookback=2w", "lookback", timedelta(weeks=2)),
    ("lookback=1h", "lookback", timedelta(hours=1)),
    ("lookback=365d", "lookback", timedelta(days=365)),
    ("lookback=8760h", "lookback", timedelta(days=365)),
    ("topn=1", "topn", 1),
    ("topn=50", "topn", 50),
    ("every=4h", "every", "4h"),
    ("every=1W", "every", "1w"),
    ("at=9:30", "at", time(9, 30)),
    ("at=23:59", "at", time(23, 59)),
    ("at=00:00", "at", time(0, 0)),
    ("weekday=FRI", "weekday", "fri"),
    ("timezone=Europe/Paris", "timezone", "Europe/Paris"),
    ("timezone=america/new_york", "timezone", "America/New_York"),
    ("quote=fdusd", "quote", "FDUSD"),
    ("quote=USD1", "quote", "USD1"),
    ("min_age_days=0", "min_age_days", 0),
    ("min_age_days=3650", "min_age_days", 3650),
    ("min_quote_volume=0", "min_quote_volume", Decimal(0)),
    ("min_quote_volume=1e6", "min_quote_volume", Decimal(1_000_000)),
    ("min_quote_volume=2.5E6", "min_quote_volume", Decimal(2_500_000)),
    ("min_quote_volume=1_000_000", "min_quote_volume", Decimal(1_000_000)),
    ("min_quote_volume=1,000,000", "min_quote_volume", Decimal(1_000_000)),
    ("min_quote_volume=500000.50", "min_quote_volume", Decimal("500000.5")),
    ("exclude=stablecoins,leveraged", "exclude", frozenset({"stablecoins", "leveraged"})),
    ("exclude=none", "exclude", frozenset()),
    ("exclude=Stablecoins,doge,BTCUSDT", "exclude", frozenset({"stablecoins", "DOGE", "BTCUSDT"})),
    ("blacklist=doge,PEPEUSDT", "blacklist", frozenset({"DOGE", "PEPEUSDT"})),
    ("mode=delta", "mode", "delta"),
    ("invest_fraction=0.8", "invest_fraction", Decimal("0.8")),
    ("invest_fraction=1", "invest_fraction", Decimal(1)),
    ("fee_rate=0", "fee_rate", Decimal(0)),
    ("fee_rate=0.01", "fee_rate", Decimal("0.01")),
    ("fee_rate=.00075", "fee_rate", Decimal("0.00075")),
    ("slippage_bps=2.5", "slippage_bps", Decimal("2.5")),
    ("slippage_bps=500", "slippage_bps", Decimal(500)),
    ("latency_ms=0", "latency_ms", 0),
    ("latency_ms=10000", "latency_ms", 10000),
])
def test_every_key_parses(text: str, key: str, value: object) -> None:
    assert getattr(set_(text), key) == value


@pytest.mark.parametrize("text, message", [
    ("topn=abc", "topn must be a whole number from 1 to 50 (got 'abc')"),
    ("topn=0", "topn must be a whole number from 1 to 50 (got '0')"),
    ("topn=51", "topn must be a whole number from 1 to 50 (got '51')"),
    ("topn=5.0", "topn must be a whole number from 1 to 50 (got '5.0')"),
    ("topn=-3", "topn must be a whole number from 1 to 50 (got '-3')"),
    ("topn=١٢", "topn must be a whole number from 1 to 50 (got '١٢')"),
    ("lookback=0d", "lookback must be a duration like 12h, 7d or 2w, from 1h to 365d (got '0d')"),
    ("lookback=366d", "lookback must be a duration like 12h, 7d or 2w, from 1h to 365d (got '366d')"),
    ("lookback=53w", "lookback must be a duration like 12h, 7d or 2w, from 1h to 365d (got '53w')"),
    ("lookback=90m", "lookback must be a duration like 12h, 7d or 2w, from 1h to 365d (got '90m')"),
    ("lookback=1.5d", "lookback must be a duration like 12h, 7d or 2w, from 1h to 365d (got '1.5d')"),
    ("timezone=Mars/Base", "timezone must be an IANA name like Europe/Paris (got 'Mars/Base')"),
    ("timezone=../../etc/passwd", "timezone must be an IANA name like Europe/Paris (got '../../etc/passwd')"),
    ("strategy=trend", "strategy must be momentum or reversal (got 'trend')"),
    ("every=5h", "every must be 1h, 4h, 1d, 1w, or hours dividing a day (2h, 12h), days (3d) or weeks (2w), up to 52w (got '5h')"),
    ("at=24:00", "at must be a time of day HH:MM, 24-hour (got '24:00')"),
    ("at=9", "at must be a time of day HH:MM, 24-hour (got '9')"),
    ("weekday=someday", "weekday must be one of mon, tue, wed, thu, fri, sat, sun (got 'someday')"),
    ("quote=U", "quote must be 2 to 10 letters or digits, like USDT (got 'U')"),
    ("quote=US-D", "quote must be 2 to 10 letters or digits, like USDT (got 'US-D')"),
    ("min_age_days=3651", "min_age_days must be a whole number from 0 to 3650 (got '3651')"),
    ("mode=half", "mode must be full or delta (got 'half')"),
    ("invest_fraction=0", "invest_fraction must be a number above 0, at most 1 (got '0')"),
    ("invest_fraction=1.01", "invest_fraction must be a number above 0, at most 1 (got '1.01')"),
    ("fee_rate=0.02", "fee_rate must be a number from 0 to 0.01 (got '0.02')"),
    ("slippage_bps=501", "slippage_bps must be a number from 0 to 500 (got '501')"),
    ("latency_ms=10001", "latency_ms must be a whole number from 0 to 10000 (got '10001')"),
    ("topn", "expected key=value (got 'topn')"),
    ("=5", "expected key=value (got '=5')"),
    ("", "nothing to set: give key=value pairs, e.g. topn=5"),
    (" \n\t ", "nothing to set: give key=value pairs, e.g. topn=5"),
    ("topn=1 TOPN=2", "topn is given twice; give each key once"),
    ("topm=5", "unknown parameter 'topm' — did you mean 'topn'?"),
    ("lookbak=3d", "unknown parameter 'lookbak' — did you mean 'lookback'?"),
    ("xyz=1", "unknown parameter 'xyz' — the closest key is 'every'; /params lists them all"),
    ("bogus=1", "unknown parameter 'bogus' — the closest key is 'blacklist'; /params lists them all"),
])
def test_error_messages(text: str, message: str) -> None:
    assert error_of(text) == message


@pytest.mark.parametrize("value", ["NaN", "nan", "Infinity", "-inf", "-1", "1e999", "1e16", "0x10", "1e", "", "1,00"])
def test_numbers_refuse_non_finite_negative_and_malformed(value: str) -> None:
    assert error_of(f"min_quote_volume={value}").startswith("min_quote_volume must be a number from 0 to 1e15")


def test_excerpt_is_short_and_free_of_control_characters() -> None:
    message = error_of("topn=" + "9" * 10_000)
    assert message.endswith("…')") and len(message) < 100
    message = error_of("quote=\x00U\u202eSD\x1b[31m")
    assert "\x00" not in message and "\u202e" not in message and "\x1b" not in message
    assert len(excerpt("x" * 100)) == 40 and excerpt("a\nb") == "a?b"


def test_keys_are_case_insensitive_and_spaces_around_equals_are_tolerated() -> None:
    new, changes = parse_assignments("TopN = 5  LOOKBACK= 3d min-age-days =0", DEFAULT)
    assert (new.topn, new.lookback, new.min_age_days) == (5, timedelta(days=3), 0)
    assert [c.key for c in changes] == ["lookback", "topn", "min_age_days"]


def test_a_list_of_tokens_works_like_a_string() -> None:
    assert parse_assignments(["topn=5", "lookback=3d"], DEFAULT) == parse_assignments("topn=5 lookback=3d", DEFAULT)


def test_set_and_backtest_read_key_value_with_one_splitter_and_its_errors() -> None:
    """The chat's /set and /backtest (and the CLI's --sweep) split key=value alike and refuse it in the same words."""
    for line, word in (("topn", "topn"), ("=7", "=7"), ("lookback = 3d  x", "x")):
        with pytest.raises(UserError) as backtest:
            config_from_pairs([line], DEFAULT)
        assert error_of(line) == str(backtest.value) == f"expected key=value (got '{word}')"
    with pytest.raises(UserError, match=r"^expected key=value \(got 'topn'\)$"):
        sweep_grid(["topn"])
    assert list(split_assignments(["TopN = 5", "fee=0.002"])) == [("TopN", "5"), ("fee", "0.002")]
    both = "topn=5 Min-Age = 3 FEE=0.002"
    assert config_from_pairs([both], DEFAULT).params == set_("topn=5 min_age_days=3 fee_rate=0.002")


def test_changes_list_only_what_really_changed() -> None:
    new, changes = parse_assignments("topn=10 lookback=1w strategy=reversal", DEFAULT)
    assert changes == [Change("strategy", "momentum", "reversal")]
    assert parse_assignments("topn=10", DEFAULT) == (DEFAULT, [])


def test_all_or_none() -> None:
    current = set_("topn=7")
    before = current.to_strings()
    with pytest.raises(UserError, match="^lookback must be"):
        parse_assignments("topn=5 strategy=reversal lookback=0d", current)
    assert current.to_strings() == before and current.topn == 7


def test_exclude_adds_removes_replaces_and_empties() -> None:
    assert set_("exclude=+doge").exclude == frozenset(LISTS) | {"DOGE"}
    assert set_("exclude=-wrapped,+DOGE,+pepeusdt").exclude == {"stablecoins", "leveraged", "DOGE", "PEPEUSDT"}
    assert set_("exclude=-wrapped,-wrapped,-NOTTHERE").exclude == {"stablecoins", "leveraged"}
    assert set_("exclude=wrapped").exclude == {"wrapped"}
    assert set_("exclude=NONE").exclude == frozenset()
    assert set_("exclude=stablecoins,,leveraged,").exclude == {"stablecoins", "leveraged"}
    assert set_("exclude=+doge").to_strings()["exclude"] == "DOGE,leveraged,stablecoins,wrapped"


def test_blacklist_edits_and_refusals() -> None:
    listed = set_("blacklist=+doge,+SHIB")
    assert listed.blacklist == {"DOGE", "SHIB"}
    assert set_("blacklist=-doge", listed).blacklist == {"SHIB"}
    assert set_("blacklist=none", listed).blacklist == frozenset()
    for bad in ("blacklist=stablecoins", "blacklist=+", "blacklist=doge,+shib", "blacklist=,", "exclude=DO-GE"):
        assert " must be " in error_of(bad)


@pytest.mark.parametrize("base", ["BTCUP", "BTCDOWN", "ETHUP", "ETHDOWN", "BNBUP", "XRPBULL", "EOSBEAR", "1INCHUP"])
def test_leveraged_tokens_match(base: str) -> None:
    assert is_leveraged(base)
    assert exclusion_reason(base, base + "USDT", frozenset(LISTS)) == "excluded: leveraged token"


@pytest.mark.parametrize("base", ["JUP", "SUPER", "UP", "DOWN", "GUP", "BULL", "BEAR", "SYRUP", "PUP", "BTC"])
def test_lookalikes_are_not_leveraged(base: str) -> None:
    assert not is_leveraged(base)
    assert exclusion_reason(base, base + "USDT", frozenset(LISTS)) is None


def test_leveraged_rule_uses_known_bases_only_for_roots_of_three_or_more() -> None:
    assert is_leveraged("PEPEUP", known_bases={"PEPE"}) and not is_leveraged("PEPEUP")
    assert not is_leveraged("JUP", known_bases={"J"}) and not is_leveraged("SUP", known_bases={"S"})


def test_stablecoin_wrapped_and_item_reasons() -> None:
    everything = frozenset(LISTS)
    assert is_stablecoin("usdc") and is_stablecoin("FDUSD") and not is_stablecoin("BTC")
    assert is_wrapped("WBTC") and is_wrapped("BNSOL") and not is_wrapped("ETH")
    assert exclusion_reason("USDC", "USDCUSDT", everything) == "excluded: stablecoin"
    assert exclusion_reason("WBETH", "WBETHUSDT", everything) == "excluded: wrapped token"
    assert exclusion_reason("USDC", "USDCUSDT", frozenset({"leveraged"})) is None
    assert exclusion_reason("DOGE", "DOGEUSDT", frozenset({"DOGE"})) == "excluded: DOGE"
    assert exclusion_reason("DOGE", "DOGEUSDT", frozenset({"DOGEUSDT"})) == "excluded: DOGEUSDT"
    assert exclusion_reason("BTC", "BTCUSDT", everything) is None


def test_skip_reason_checks_exclude_then_blacklist() -> None:
    params = set_("blacklist=doge,SHIBUSDT")
    assert params.skip_reason("USDT", "USDTTRY") == "excluded: stablecoin"
    assert params.skip_reason("DOGE", "DOGEUSDT") == "blacklisted: DOGE"
    assert params.skip_reason("SHIB", "SHIBUSDT") == "blacklisted: SHIBUSDT"
    assert params.skip_reason("BTC", "BTCUSDT") is None


def test_durations() -> None:
    assert parse_duration("12h") == timedelta(hours=12) and parse_duration("2W") == timedelta(days=14)
    assert [format_duration(timedelta(hours=h)) for h in (1, 12, 24, 36, 168)] == ["1h", "12h", "1d", "36h", "7d"]
    assert format_duration(timedelta(minutes=90)) == "90m" and format_duration(timedelta(0)) == "0s"
    with pytest.raises(UserError, match="12h, 7d or 2w"):
        parse_duration("soon")


def test_direct_construction_is_validated() -> None:
    for bad in ({"topn": 0}, {"topn": True}, {"timezone": "europe/paris"}, {"exclude": {"stablecoins"}},
                {"fee_rate": 0.001}, {"lookback": timedelta(minutes=30)}, {"at": "09:00"}, {"quote": "usdt"}):
        with pytest.raises(UserError):
            StrategyParams(**bad)  # type: ignore[arg-type]


def test_zone_period_and_weekday_helpers() -> None:
    params = set_("timezone=Asia/Tokyo every=4h weekday=wed")
    assert params.zone == zoneinfo.ZoneInfo("Asia/Tokyo")
    assert params.period == timedelta(hours=4) and params.weekday_index == 2
    assert canonical_timezone("utc") == "UTC"


def test_from_strings_ignores_unknown_keys_and_names_the_bad_one() -> None:
    stored = set_("topn=5 exclude=+DOGE timezone=Europe/Paris").to_strings()
    assert StrategyParams.from_strings({**stored, "retired_key": "x"}) == set_(
        "topn=5 exclude=+DOGE timezone=Europe/Paris")
    assert StrategyParams.from_strings({"topn": "3"}, base=set_("mode=delta")).mode == "delta"
    with pytest.raises(UserError, match="^topn must be"):
        StrategyParams.from_strings({**stored, "topn": "many"})


codes = st.from_regex(r"[A-Z0-9]{1,20}", fullmatch=True).filter(lambda c: c.lower() not in LISTS)
valid_params = st.builds(
    StrategyParams,
    strategy=st.sampled_from(STRATEGIES),
    lookback=st.integers(1, 365 * 24).map(lambda h: timedelta(hours=h)),
    topn=st.integers(1, 50),
    every=st.sampled_from(sorted(PERIODS)),
    at=st.builds(time, st.integers(0, 23), st.integers(0, 59)),
    weekday=st.sampled_from(WEEKDAYS),
    timezone=st.sampled_from(sorted(zoneinfo.available_timezones())),
    quote=st.from_regex(r"[A-Z0-9]{2,10}", fullmatch=True),
    min_age_days=st.integers(0, 3650),
    min_quote_volume=st.decimals(0, 10**15, places=6),
    exclude=st.frozensets(st.sampled_from(LISTS) | codes, max_size=6),
    blacklist=st.frozensets(codes, max_size=6),
    mode=st.sampled_from(("full", "delta")),
    invest_fraction=st.decimals(Decimal("0.000001"), 1, places=6),
    fee_rate=st.decimals(0, Decimal("0.01"), places=8),
    slippage_bps=st.decimals(0, 500, places=4),
    latency_ms=st.integers(0, 10000),
)


@given(valid_params)
def test_to_strings_from_strings_round_trip(params: StrategyParams) -> None:
    assert StrategyParams.from_strings(params.to_strings()) == params
    as_text = " ".join(f"{k}={v}" for k, v in params.to_strings().items())
    assert parse_assignments(as_text, DEFAULT)[0] == params


nasty_values = st.one_of(
    st.text(),
    st.sampled_from(["NaN", "-nan", "Infinity", "1e999", "1e-9999", "-0", "9" * 5000, "١٢٣", "1_", "+", "-",
                     "none,+x", "\x00", "\u202e", "🚀", "1h" * 100, "..", "/etc/passwd", "UTC\n"]),
    st.integers(-10**40, 10**40).map(str),
    st.floats().map(str),
)
nasty_args = st.one_of(
    st.text(),
    st.lists(st.builds("{}={}".format, st.sampled_from(KEYS) | st.text(max_size=12), nasty_values), max_size=5)
    .map(" ".join),
    st.lists(st.text(max_size=30), max_size=5),
)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(nasty_args)
def test_garbage_raises_only_user_error_and_never_changes_current(args: str | list[str]) -> None:
    current = set_("topn=7 exclude=+DOGE")
    before = current.to_strings()
    try:
        new, changes = parse_assignments(args, current)
    except UserError as exc:
        message = str(exc)
        assert message and len(message) < 300
        assert not any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in message)
    else:
        assert StrategyParams.from_strings(new.to_strings()) == new
        assert {c.key for c in changes} <= set(KEYS)
    assert current.to_strings() == before
