"""What stands before a local-Binance endpoint: parameter rules, the weight meter, the signature and recvWindow.

Messages and codes are Binance's own, so a client's error handling meets what it will meet in production.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from decimal import Decimal
from typing import Callable
from urllib.parse import parse_qsl

from .binance_json import ApiError

Params = dict[str, str]
BAN_MS = 120_000  # a first 418 ban lasts 2 minutes and doubles with each ban after it, as on Binance
MAX_BAN_MS = 3 * 86_400_000
MAX_RECV_WINDOW = 60_000
_SYMBOL = re.compile(r"^[A-Z0-9_.-]{1,20}$")
_NUMBER = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
_INTEGER = re.compile(r"^-?[0-9]{1,20}$")


def mandatory(params: Params, name: str) -> str:
    """A parameter that must be present and non-empty (-1102 otherwise)."""
    value = params.get(name, "")
    if not value:
        raise ApiError(400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")
    return value


def opt_int(params: Params, name: str) -> int | None:
    """An optional integer parameter (ids, times, limits)."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if not _INTEGER.match(value):
        raise ApiError(400, -1100, f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'.")
    return int(value)


def limit(params: Params, default: int = 500, most: int = 1000) -> int:
    """The limit parameter, clamped to 1..most."""
    value = opt_int(params, "limit")
    return default if value is None else min(max(value, 1), most)


DEPTH_MOST = 5000  # Binance answers at most 5,000 levels a side; a larger limit is cut to it, not refused


def depth_limit(params: Params) -> int:
    """GET /depth's limit: 100 unless given, 1..5000 (more is truncated to 5000, as Binance does; below 1: -1100)."""
    value = opt_int(params, "limit")
    if value is None:
        return 100
    if value < 1:
        raise ApiError(400, -1100, "Illegal characters found in parameter 'limit'; legal range is '1 - 5000'.")
    return min(value, DEPTH_MOST)


def depth_weight(params: Params) -> int:
    """GET /depth: 5 up to 100 levels, 25 up to 500, 50 up to 1000, 250 beyond (a bad limit still costs 5)."""
    try:
        n = depth_limit(params)
    except ApiError:
        return 5
    return 5 if n <= 100 else 25 if n <= 500 else 50 if n <= 1000 else 250


def amount(params: Params, name: str) -> Decimal | None:
    """A quantity parameter: plain decimal text, at most 8 significant decimals."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if not _NUMBER.match(value):
        raise ApiError(400, -1100, f"Illegal characters found in parameter '{name}'; legal range is "
                                   r"'^([0-9]{1,20})(\.[0-9]{1,20})?$'.")
    d = Decimal(value)
    if d != d.quantize(Decimal("0.00000001")):
        raise ApiError(400, -1111, "Precision is over the maximum defined for this asset.")
    return d


def symbol_list(params: Params) -> list[str] | None:
    """symbol=X or symbols=["X","Y"] (raw or percent-encoded, already decoded here); None when neither."""
    if "symbol" in params and "symbols" in params:
        raise ApiError(400, -1128, "Combination of optional parameters invalid.")
    if "symbol" in params:
        symbol = params["symbol"]
        if not _SYMBOL.match(symbol):
            raise ApiError(400, -1100, "Illegal characters found in parameter 'symbol'; legal range is "
                                       "'^[A-Z0-9-_.]{1,20}$'.")
        return [symbol]
    if "symbols" not in params:
        return None
    try:
        symbols = json.loads(params["symbols"])
    except ValueError:
        symbols = None
    if not isinstance(symbols, list) or not symbols or not all(isinstance(s, str) and _SYMBOL.match(s)
                                                               for s in symbols):
        raise ApiError(400, -1100, "Illegal characters found in parameter 'symbols'; legal range is "
                                   "'^\\[(\"[A-Z0-9-_.]{1,20}\"(,\"[A-Z0-9-_.]{1,20}\"){0,}){0,1}\\]$'.")
    return symbols


def _count(params: Params) -> int | None:
    """How many symbols a request names, for its weight (None: all of them)."""
    if "symbol" in params:
        return 1
    if "symbols" not in params:
        return None
    try:
        symbols = json.loads(params["symbols"])
    except ValueError:
        return 1
    return len(symbols) if isinstance(symbols, list) else 1


def ticker_weight(params: Params) -> int:
    """GET /ticker/24hr: 2 for up to 20 symbols, 40 up to 100, 80 beyond or for all."""
    n = _count(params)
    return 80 if n is None or n > 100 else 40 if n > 20 else 2


def one_or_all(params: Params) -> int:
    """GET /ticker/price and /ticker/bookTicker: 2 for one symbol, 4 for a list or for all."""
    return 2 if "symbol" in params else 4


def fixed(weight: int) -> Callable[[Params], int]:
    """The weight of an endpoint that costs the same whatever its parameters."""
    return lambda params: weight


class WeightMeter:
    """Request weight per clock minute: 429 past the limit, and after 3 of those in a minute a 418 ban."""

    def __init__(self, limit: int):
        self.limit = limit
        self._minute, self._used, self._strikes = -1, 0, 0
        self._banned_until, self._bans = 0, 0

    def used(self, now_ms: int) -> int:
        """Weight counted in the minute of now_ms."""
        self._roll(now_ms)
        return self._used

    def charge(self, weight: int, now_ms: int, ip: str) -> None:
        """Count the weight, or raise the 429/418 the request gets instead (not counted)."""
        self._roll(now_ms)
        if now_ms < self._banned_until:
            raise self._banned(now_ms, ip)
        if self._used + weight <= self.limit:
            self._used += weight
            return
        self._strikes += 1
        if self._strikes > 3:  # kept polling through three 429s: ban the IP
            self._banned_until = now_ms + min(BAN_MS * 2**self._bans, MAX_BAN_MS)
            self._bans += 1
            raise self._banned(now_ms, ip)
        retry = math.ceil(((self._minute + 1) * 60_000 - now_ms) / 1000)
        raise ApiError(429, -1003, f"Too many requests; current limit of IP({ip}) request weight per minute is "
                                   f"{self.limit}. Please use WebSocket Streams for live updates to avoid polling "
                                   "the API.", retry_after=max(retry, 1))

    def _banned(self, now_ms: int, ip: str) -> ApiError:
        return ApiError(418, -1003, f"Way too many requests; IP({ip}) banned until {self._banned_until}. Please use "
                                    "WebSocket Streams for live updates to avoid bans.",
                        retry_after=max(math.ceil((self._banned_until - now_ms) / 1000), 1))

    def _roll(self, now_ms: int) -> None:
        if now_ms // 60_000 != self._minute:
            self._minute, self._used, self._strikes = now_ms // 60_000, 0, 0


def parse_params(query: str, body: str) -> Params:
    """Query string and form body merged (the query wins), percent-decoded; raw '"[]' pass through as they are."""
    params = dict(parse_qsl(body, keep_blank_values=True))
    params.update(parse_qsl(query, keep_blank_values=True))
    return params


def unsigned(raw: str) -> str:
    """The raw parameter text with its signature=... part removed: what the client signed."""
    return "&".join(p for p in raw.split("&") if p and not p.startswith("signature="))


def check_signature(secret: str, raw_query: str, raw_body: str, params: Params) -> None:
    """HMAC-SHA256 (hex, any case) over the raw query string followed by the raw body, signature left out."""
    signature = mandatory(params, "signature")
    payload = (unsigned(raw_query) + unsigned(raw_body)).encode()
    expected = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.lower()):
        raise ApiError(400, -1022, "Signature for this request is not valid.")


def check_time(params: Params, server_ms: int) -> None:
    """Binance's rule: reject a timestamp 1 s or more ahead of the server, or older than recvWindow."""
    timestamp = opt_int(params, "timestamp")
    if timestamp is None:
        mandatory(params, "timestamp")
        return
    try:
        window = float(params.get("recvWindow") or 5000)
    except ValueError:
        raise ApiError(400, -1100, "Illegal characters found in parameter 'recvWindow'.") from None
    if window > MAX_RECV_WINDOW:
        raise ApiError(400, -1131, "recvWindow must be less than 60000")
    sent = timestamp / 1000 if timestamp > 10**14 else timestamp  # microseconds are accepted too
    if sent >= server_ms + 1000:
        raise ApiError(400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.")
    if server_ms - sent > window:
        raise ApiError(400, -1021, "Timestamp for this request is outside of the recvWindow.")
