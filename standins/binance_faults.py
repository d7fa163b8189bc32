"""What can go wrong at the local Binance: slow or failing gateways, lost answers, rejections, thin books.

Each one-shot fault counts down as matching requests use it; clear() removes every fault.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any, Callable

from .binance_listing import Listing

STATUSES = ("TRADING", "HALT", "BREAK")
ORDER_PATH = "/api/v3/order"
_GATEWAY_MESSAGES = {
    503: (-1008, "Server is currently overloaded with other requests. Please try again in a few minutes."),
    429: (-1003, "Too many requests; current limit of IP(127.0.0.1) request weight per minute is 6000."),
    418: (-1003, "Way too many requests; IP(127.0.0.1) banned. Please use WebSocket Streams for live updates."),
}
_INTERNAL = (-1001, "Internal error; unable to process your request. Please try again.")
_UNKNOWN_OUTCOME = (-1007, "Timeout waiting for response from backend server. Send status unknown; "
                           "execution status unknown.")


@dataclass
class Failure:
    """The next `remaining` requests on path (and method, if set) fail with status; optionally after executing."""

    remaining: int
    status: int
    code: int
    msg: str
    path: str | None
    method: str | None
    execute: bool
    retry_after: int | None = None  # seconds, sent as the Retry-After header (429/418)

    def matches(self, method: str, path: str) -> bool:
        return self.path in (None, path) and self.method in (None, method)


@dataclass
class Hang:
    remaining: int
    path: str | None
    method: str | None

    def matches(self, method: str, path: str) -> bool:
        return self.path in (None, path) and self.method in (None, method)


class Faults:
    """Fault injection; the server consults it on every request (and the stream hub on drop_streams)."""

    def __init__(self, listing: Listing, drop: Callable[[bool], None]):
        self._listing, self._drop = listing, drop
        self.clear()

    def clear(self) -> None:
        """Remove every fault: no latency, skew, failures, rejections, partial fills or status overrides."""
        self.latency_ms = 0.0
        self.skew_ms = 0
        self.bnb = False
        self.bnb_price = Decimal(600)
        self._failures: list[Failure] = []
        self._hangs: list[Hang] = []
        self._lost = 0
        self._rejects: list[list[Any]] = []  # [code, msg, remaining]
        self._partials: list[list[Any]] = []  # [fraction, remaining]
        self._listing.status.clear()

    # ----- the injection API -----
    def latency(self, ms: float) -> None:
        """Delay every REST request by ms milliseconds."""
        self.latency_ms = max(0.0, float(ms))

    def fail_next(self, n: int = 1, status: int = 503, path: str | None = ORDER_PATH, *, method: str | None = None,
                  code: int | None = None, msg: str | None = None, execute: bool = False,
                  retry_after: int | None = None) -> None:
        """The next n requests on path (None: any) get status; execute=True runs them first (outcome unknown).

        retry_after (seconds) is sent as Retry-After, as Binance does with its 429 and 418 answers.
        """
        default = _UNKNOWN_OUTCOME if execute else _GATEWAY_MESSAGES.get(status, _INTERNAL)
        self._failures.append(Failure(int(n), int(status), default[0] if code is None else int(code),
                                      default[1] if msg is None else msg, path, method and method.upper(), execute,
                                      None if retry_after is None else int(retry_after)))

    def hang_next(self, n: int = 1, path: str | None = ORDER_PATH, *, method: str | None = None) -> None:
        """The next n requests on path (None: any) are never answered, and never executed."""
        self._hangs.append(Hang(int(n), path, method and method.upper()))

    def lose_response_next(self, n: int = 1) -> None:
        """The next n accepted POST /order are executed, then the connection drops without an answer."""
        self._lost += int(n)

    def reject_next(self, code: int, msg: str, n: int = 1) -> None:
        """The next n POST /order are refused with this Binance code and message (HTTP 400), nothing executed."""
        self._rejects.append([int(code), str(msg), int(n)])

    def partial_next(self, fraction: Decimal | float | str, n: int = 1) -> None:
        """The next n market orders fill only this fraction of their size (on the step grid) and end EXPIRED."""
        value = Decimal(str(fraction))
        if not 0 <= value < 1:
            raise ValueError(f"fraction must be in [0, 1): {fraction}")
        self._partials.append([value, int(n)])

    def set_status(self, symbol: str, status: str) -> None:
        """Override a symbol's status in exchangeInfo and for orders (TRADING undoes a BREAK or HALT)."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")
        self._listing.status[symbol] = status

    def bnb_fees(self, on: bool, price: Decimal | str | None = None) -> None:
        """Pay commission in BNB at a 25% discount when the account holds enough BNB.

        BNB is valued at the market's BNB<quote> price, or at `price` (default 600) when the market has none.
        """
        self.bnb = bool(on)
        if price is not None:
            self.bnb_price = Decimal(str(price))

    def skew_clock(self, ms: int) -> None:
        """Shift the server's time by ms (clients whose offset is stale then get -1021)."""
        self.skew_ms = int(ms)

    def drop_streams(self, after_push: bool = False) -> None:
        """Close every WebSocket connection, now or right behind its next round of pushes (a burst the client
        has not read yet); clients must reconnect."""
        self._drop(after_push)

    # ----- what the server consumes -----
    def take_hang(self, method: str, path: str) -> bool:
        return _take(self._hangs, method, path) is not None

    def take_failure(self, method: str, path: str) -> Failure | None:
        return _take(self._failures, method, path)

    def take_lost(self) -> bool:
        if self._lost:
            self._lost -= 1
            return True
        return False

    def take_reject(self) -> tuple[int, str] | None:
        return _take_first(self._rejects)

    def next_partial(self) -> Decimal | None:
        """The fraction for the next order, left in place until used_partial() (a rejected order uses none)."""
        return self._partials[0][0] if self._partials else None

    def used_partial(self) -> None:
        _take_first(self._partials)

    def describe(self) -> dict[str, Any]:
        """The faults in force, for the control API."""
        return {"latency_ms": self.latency_ms, "skew_ms": self.skew_ms, "bnb_fees": self.bnb,
                "bnb_price": str(self.bnb_price), "fail_next": [asdict(f) for f in self._failures],
                "hang_next": [asdict(h) for h in self._hangs], "lose_response_next": self._lost,
                "reject_next": [dict(zip(("code", "msg", "n"), r)) for r in self._rejects],
                "partial_next": [{"fraction": str(p[0]), "n": p[1]} for p in self._partials],
                "status": dict(self._listing.status)}

    def apply(self, body: dict[str, Any]) -> None:
        """Apply the control API's JSON: one key per fault, values as in the Python API."""
        if body.get("clear"):
            self.clear()
        if "latency_ms" in body:
            self.latency(body["latency_ms"])
        if "skew_ms" in body:
            self.skew_clock(body["skew_ms"])
        if "bnb_fees" in body:
            self.bnb_fees(body["bnb_fees"], body.get("bnb_price"))
        for spec in _specs(body.get("fail_next")):
            self.fail_next(**spec)
        for spec in _specs(body.get("hang_next")):
            self.hang_next(**spec)
        if "lose_response_next" in body:
            self.lose_response_next(int(body["lose_response_next"]))
        for spec in _specs(body.get("reject_next")):
            self.reject_next(**spec)
        for spec in _specs(body.get("partial_next")):
            self.partial_next(**spec)
        for symbol, status in (body.get("status") or {}).items():
            self.set_status(symbol, status)
        if body.get("drop_streams"):  # true, or "after_push"
            self.drop_streams(after_push=body["drop_streams"] == "after_push")


def _take(items: list[Any], method: str, path: str) -> Any:
    """Use one count of the first matching fault; it goes when spent."""
    for item in items:
        if item.matches(method, path):
            item.remaining -= 1
            if item.remaining <= 0:
                items.remove(item)
            return item
    return None


def _take_first(items: list[list[Any]]) -> Any:
    """Use one count of the oldest [value..., remaining] entry and return its value(s)."""
    if not items:
        return None
    head = items[0]
    head[-1] -= 1
    if head[-1] <= 0:
        items.pop(0)
    return head[0] if len(head) == 2 else tuple(head[:-1])


def _specs(value: Any) -> list[dict[str, Any]]:
    """A fault's JSON: one object of keyword arguments, or a list of them."""
    if value is None:
        return []
    return [dict(v) for v in (value if isinstance(value, list) else [value])]
