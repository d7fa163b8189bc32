"""Strategy parameters a person may change at run time, and the one key=value parser every front end uses.

Pure: no I/O, no clock. A StrategyParams validates itself, so every instance in the program is valid.
"""
from __future__ import annotations

import difflib
import re
import zoneinfo
from dataclasses import dataclass, field, replace
from datetime import time, timedelta
from decimal import Decimal, localcontext
from functools import lru_cache
from typing import Any, Callable, Collection, Iterable, Iterator, Sequence

from .domain import Change
from .errors import UserError
from .exclusions import LISTS, exclusion_reason
from .reading import excerpt, format_duration, parse_duration
from .schedule import WEEKDAYS, canonical_period

STRATEGIES = ("momentum", "reversal")
PERIODS = {"1h": timedelta(hours=1), "4h": timedelta(hours=4), "1d": timedelta(days=1), "1w": timedelta(weeks=1)}
MODES = ("full", "delta")



class _Bad(Exception):
    """A value a parser refuses; the caller turns it into the key's one-line UserError."""


def canonical_timezone(name: str) -> str:
    """The IANA zone name as zoneinfo spells it (Europe/Paris for europe/paris); UserError if unknown."""
    found = _zone_names().get(name.strip().lower()) if len(name) <= 64 else None
    if found is None:
        raise UserError(f"timezone must be an IANA name like Europe/Paris (got '{excerpt(name)}')")
    return found


@lru_cache(maxsize=1)
def _zone_names() -> dict[str, str]:
    # Looked up in the installed list rather than opened by name: user text never becomes a file path.
    return {name.lower(): name for name in zoneinfo.available_timezones()}


_WHOLE = re.compile(r"\d{1,12}", re.ASCII)
_NUMBER = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d{1,4})?", re.ASCII | re.IGNORECASE)
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d*)?", re.ASCII)
_AT = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)", re.ASCII)
_CODE = re.compile(r"[A-Za-z0-9]{1,20}")
_PLACES = Decimal("1e-12")  # finer than any fee or volume; keeps '1e-9999' from printing 10,000 digits
_MAX_ITEMS = 500
Parser = Callable[[str, Any], Any]  # (text, current value) -> new value, or raise _Bad


def _lookback(text: str, current: Any) -> timedelta:
    try:
        value = parse_duration(text)
    except UserError:
        raise _Bad from None
    if not timedelta(hours=1) <= value <= timedelta(days=365):
        raise _Bad
    return value


def _period(text: str, current: Any) -> str:
    try:
        return canonical_period(text)
    except ValueError:
        raise _Bad from None


@dataclass(frozen=True)
class _Choice:
    """A parser for one of a few words; the words themselves are there for front ends that list them."""

    options: tuple[str, ...]

    def __call__(self, text: str, current: Any) -> str:
        if text.strip().lower() not in self.options:
            raise _Bad
        return text.strip().lower()


def _choice(options: Collection[str]) -> Parser:
    return _Choice(tuple(options))


def _whole(lo: int, hi: int) -> Parser:
    def parse(text: str, current: Any) -> int:
        # ASCII digits first: int() would also take '١٢', '1_0' and 5000-digit strings.
        if not _WHOLE.fullmatch(text.strip()) or not lo <= int(text) <= hi:
            raise _Bad
        return int(text)
    return parse


def _decimal(lo: Decimal, hi: Decimal, lo_open: bool = False) -> Parser:
    def parse(text: str, current: Any) -> Decimal:
        value = text.strip()
        value = value.replace(",", "") if _THOUSANDS.fullmatch(value) else re.sub(r"(?<=\d)_(?=\d)", "", value)
        # A strict ASCII pattern: Decimal() would also take NaN, Infinity, signs and non-ASCII digits.
        if len(value) > 40 or not _NUMBER.fullmatch(value) or Decimal(value) > hi:
            raise _Bad
        with localcontext(prec=60):
            exact = Decimal(value)
            number = exact.quantize(_PLACES).normalize()
            if exact != number:  # 1e-9999 would silently become 0: refuse what cannot be kept exactly
                raise _Bad
            if number == number.to_integral_value():
                number = number.quantize(Decimal(1))  # 1000000, not 1E+6, in reprs and logs
        if number < lo or (lo_open and number == lo):
            raise _Bad
        return number
    return parse


def _show_decimal(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _at(text: str, current: Any) -> time:
    match = _AT.fullmatch(text.strip())
    if not match:
        raise _Bad
    return time(int(match[1]), int(match[2]))


def _timezone(text: str, current: Any) -> str:
    try:
        return canonical_timezone(text)
    except UserError:
        raise _Bad from None


def _quote(text: str, current: Any) -> str:
    if not _CODE.fullmatch(text.strip()) or not 2 <= len(text.strip()) <= 10:
        raise _Bad
    return text.strip().upper()


def _item_set(lists: Collection[str]) -> Parser:
    """Parse 'a,b' (replace), '+a,-b' (edit the current set) or 'none' (empty)."""
    def item(text: str) -> str:
        if text.lower() in lists:
            return text.lower()
        if not _CODE.fullmatch(text) or text.lower() in LISTS:  # a list name where lists are not allowed
            raise _Bad
        return text.upper()

    def parse(text: str, current: Any) -> frozenset[str]:
        if text.strip().lower() == "none":
            return frozenset()
        items = [i.strip() for i in text.split(",") if i.strip()]
        signed = {i[0] in "+-" for i in items}
        # A full list mixed with +/- edits has no single obvious meaning, so it is refused.
        if not items or len(items) > _MAX_ITEMS or len(signed) > 1:
            raise _Bad
        if signed == {False}:
            return frozenset(item(i) for i in items)
        result = set(current)
        for i in items:
            (result.add if i[0] == "+" else result.discard)(item(i[1:]))
        return frozenset(result)
    return parse


def _show_set(items: frozenset[str]) -> str:
    return ",".join(sorted(items)) if items else "none"


@dataclass(frozen=True)
class ParamSpec:
    """One settable parameter: its key, a line of help, the allowed values, and how to read and show it."""

    key: str
    help: str
    allowed: str
    parse: Parser = field(repr=False)
    show: Callable[[Any], str] = field(repr=False, default=str)

    @property
    def choices(self) -> tuple[str, ...] | None:
        """The allowed words when the value is one of a few (a command line's choices), else None."""
        return self.parse.options if isinstance(self.parse, _Choice) else None


_ZERO, _ONE = Decimal(0), Decimal(1)
PARAM_SPECS: tuple[ParamSpec, ...] = (
    ParamSpec("strategy", "momentum buys the recent winners, reversal the recent losers",
              "momentum or reversal", _choice(STRATEGIES)),
    ParamSpec("lookback", "how far back returns are measured", "a duration like 12h, 7d or 2w, from 1h to 365d",
              _lookback, format_duration),
    ParamSpec("topn", "how many coins to hold", "a whole number from 1 to 50", _whole(1, 50)),
    ParamSpec("every", "how often to rebalance",
              "1h, 4h, 1d, 1w, or hours dividing a day (2h, 12h), days (3d) or weeks (2w), up to 52w", _period),
    ParamSpec("at", "rebalance time of day (1h: only the minute counts; 4h: hours equal to it mod 4)",
              "a time of day HH:MM, 24-hour", _at, lambda t: t.strftime("%H:%M")),
    ParamSpec("weekday", "rebalance day when every=1w", "one of mon, tue, wed, thu, fri, sat, sun",
              _choice(WEEKDAYS)),
    ParamSpec("timezone", "timezone of at and weekday", "an IANA name like Europe/Paris", _timezone),
    ParamSpec("quote", "quote asset of every traded pair", "2 to 10 letters or digits, like USDT", _quote),
    ParamSpec("min_age_days", "skip coins listed fewer days ago", "a whole number from 0 to 3650",
              _whole(0, 3650)),
    ParamSpec("min_quote_volume", "skip coins whose mean daily quote volume over 7 days is lower",
              "a number from 0 to 1e15, like 1000000 or 1e6", _decimal(_ZERO, Decimal("1e15")), _show_decimal),
    ParamSpec("min_market_cap", "skip coins whose market capitalisation in USD is lower, or unknown; 0 = off",
              "a number from 0 to 1e15, like 500000000 or 5e8", _decimal(_ZERO, Decimal("1e15")), _show_decimal),
    ParamSpec("exclude", "built-in lists and coins kept out of the universe",
              "stablecoins, leveraged, wrapped or coins, comma-separated; +X adds, -X removes, none empties",
              _item_set(LISTS), _show_set),
    ParamSpec("blacklist", "coins or symbols never traded",
              "coins or symbols, comma-separated; +X adds, -X removes, none empties", _item_set(()), _show_set),
    ParamSpec("mode", "full sells everything, then buys the picks equally; delta trades only the differences",
              "full or delta", _choice(MODES)),
    ParamSpec("invest_fraction", "share of equity invested; the rest stays cash", "a number above 0, at most 1",
              _decimal(_ZERO, _ONE, lo_open=True), _show_decimal),
    ParamSpec("fee_rate", "paper venue fee per trade (0.001 = 0.1%)", "a number from 0 to 0.01",
              _decimal(_ZERO, Decimal("0.01")), _show_decimal),
    ParamSpec("slippage_bps", "paper venue slippage, in basis points", "a number from 0 to 500",
              _decimal(_ZERO, Decimal(500)), _show_decimal),
    ParamSpec("latency_ms", "paper venue delay before a fill, in ms", "a whole number from 0 to 10000",
              _whole(0, 10000)),
)
_SPECS = {spec.key: spec for spec in PARAM_SPECS}


def spec_of(key: str) -> ParamSpec:
    """The table's entry for a parameter key as spelt in PARAM_SPECS."""
    return _SPECS[key]


def _parse_value(spec: ParamSpec, text: str, current: Any) -> Any:
    try:
        return spec.parse(text, current)
    except _Bad:
        raise UserError(f"{spec.key} must be {spec.allowed} (got '{excerpt(text)}')") from None


def check_value(key: str, value: Any) -> None:
    """Refuse (UserError) a value the key's bounds do not allow, wherever it is held.

    Valid means: showing the value and reading it back gives the same value of the same type.
    """
    spec = _SPECS[key]
    try:
        parsed = spec.parse(spec.show(value), value)
        ok = parsed == value and type(parsed) is type(value)
    except (_Bad, TypeError, ValueError, AttributeError):
        ok = False
    if not ok:
        raise UserError(f"{spec.key} must be {spec.allowed} (got '{excerpt(value)}')")


def key_name(key: str) -> str:
    """A key as typed ('Min-Age-Days') in the table's spelling ('min_age_days')."""
    return key.strip().lower().replace("-", "_")


def _spec_for(key: str) -> ParamSpec:
    name = key_name(key)
    if name in _SPECS:
        return _SPECS[name]
    close = difflib.get_close_matches(name[:40], list(_SPECS), n=1, cutoff=0.6)
    # Always one key to try, never the whole list: a long list in a chat line hides the answer.
    nearest = close or difflib.get_close_matches(name[:40], list(_SPECS), n=1, cutoff=0)
    hint = f"did you mean '{close[0]}'?" if close else f"the closest key is '{nearest[0]}'; /params lists them all"
    raise UserError(f"unknown parameter '{excerpt(key)}' — {hint}")


@dataclass(frozen=True)
class StrategyParams:
    """Everything that steers the strategy and the paper venue; change it with parse_assignments."""

    strategy: str = "momentum"
    lookback: timedelta = timedelta(days=7)
    topn: int = 10
    every: str = "1d"
    at: time = time(9, 0)
    weekday: str = "mon"
    timezone: str = "UTC"
    quote: str = "USDT"
    min_age_days: int = 14
    min_quote_volume: Decimal = Decimal(1_000_000)
    min_market_cap: Decimal = Decimal(0)
    exclude: frozenset[str] = frozenset(LISTS)
    blacklist: frozenset[str] = frozenset()
    mode: str = "full"
    invest_fraction: Decimal = Decimal(1)
    fee_rate: Decimal = Decimal("0.001")
    slippage_bps: Decimal = Decimal(5)
    latency_ms: int = 50

    def __post_init__(self) -> None:
        for spec in PARAM_SPECS:
            check_value(spec.key, getattr(self, spec.key))

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The timezone as a ZoneInfo."""
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def period(self) -> timedelta:
        """The rebalance period as a timedelta."""
        return parse_duration(self.every)

    @property
    def weekday_index(self) -> int:
        """The weekday as datetime.weekday() numbers it (0 = Monday)."""
        return WEEKDAYS.index(self.weekday)

    def skip_reason(self, base: str, symbol: str, known_bases: Collection[str] = ()) -> str | None:
        """Why exclude or blacklist keeps a pair out: 'excluded: …' or 'blacklisted: …'; else None."""
        listed = next((i for i in (base.upper(), symbol.upper()) if i in self.blacklist), None)
        return exclusion_reason(base, symbol, self.exclude, known_bases) or (
            f"blacklisted: {listed}" if listed else None)

    def to_strings(self) -> dict[str, str]:
        """Every parameter in canonical display form, in PARAM_SPECS order."""
        return {spec.key: spec.show(getattr(self, spec.key)) for spec in PARAM_SPECS}

    @classmethod
    def from_strings(cls, d: dict[str, str], base: StrategyParams | None = None) -> StrategyParams:
        """Rebuild from to_strings() output over base; unknown keys are ignored so old databases still load."""
        current = base if base is not None else cls()
        values = {}
        for key, text in d.items():
            spec = _SPECS.get(str(key).strip().lower())
            if spec is not None:
                values[spec.key] = _parse_value(spec, str(text), getattr(current, spec.key))
        return replace(current, **values)


def changes_between(old: StrategyParams, new: StrategyParams) -> list[Change]:
    """The keys whose displayed value differs, in PARAM_SPECS order."""
    before, after = old.to_strings(), new.to_strings()
    return [Change(key, before[key], after[key]) for key in before if before[key] != after[key]]


def split_assignment(token: str) -> tuple[str, str]:
    """'key=value' into its key (as typed) and value; UserError naming the token when it is not one."""
    key, sep, value = token.partition("=")
    if not sep or not key:
        raise UserError(f"expected key=value (got '{excerpt(token)}')")
    return key, value


def _words(args: str | Sequence[str]) -> list[str]:
    text = args if isinstance(args, str) else " ".join(args)
    return re.sub(r"\s*=\s*", "=", text).split()  # 'topn = 5' reads as 'topn=5'


def split_assignments(args: str | Sequence[str]) -> Iterator[tuple[str, str]]:
    """Every 'key=value' of a line (or of command-line words) as (key, value), in order.

    Lazily, so that of several mistakes the first one in the line is the one reported, whoever reads it.
    """
    return map(split_assignment, _words(args))


def parse_assignments(args: str | Sequence[str], current: StrategyParams) -> tuple[StrategyParams, list[Change]]:
    """Apply 'key=value key=value' all or none; raise UserError (one line) and change nothing on any error."""
    if not _words(args):
        raise UserError("nothing to set: give key=value pairs, e.g. topn=5")
    return assign(split_assignments(args), current)


def assign(pairs: Iterable[tuple[str, str]], current: StrategyParams) -> tuple[StrategyParams, list[Change]]:
    """Apply (key, value) pairs all or none; raise UserError (one line) and change nothing on any error."""
    values: dict[str, Any] = {}
    for key, raw in pairs:
        spec = _spec_for(key)
        if spec.key in values:
            raise UserError(f"{spec.key} is given twice; give each key once")
        values[spec.key] = _parse_value(spec, raw, getattr(current, spec.key))
    new = replace(current, **values)
    return new, changes_between(current, new)
