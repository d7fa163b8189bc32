"""Transport to Binance over python-binance's AsyncClient, with what the library leaves to its users.

python-binance does not handle 429/418, never re-syncs the clock after -1021, and lets network
errors through raw. Here every call goes through one gate that keeps the request weight under a
budget (read back from X-MBX-USED-WEIGHT-1M), waits out Retry-After, re-syncs time on -1021, retries
reads with backoff, and turns library errors into the domain's two kinds: OrderRejected (business,
never retried) and VenueUnavailable (transient). A call whose outcome is unknown (a timeout or a 5xx
on an order) raises OutcomeUnknown so the caller looks the order up instead of sending it again.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable

import aiohttp
from binance import AsyncClient
from binance.exceptions import BinanceAPIException, BinanceRequestException

from .binance_hosts import endpoint
from ..app.ports import Clock
from ..core.domain import VenueHealth
from ..core.errors import OrderRejected, VenueUnavailable
from ..core.redaction import Redactor, mask_url_credentials

log = logging.getLogger(__name__)

TIME_OUTSIDE_WINDOW = -1021
UNKNOWN_STATUS = -1007  # "Timeout waiting for response from backend server. Send status unknown"
BACKEND_ERRORS = (-1000, -1001, -1006, UNKNOWN_STATUS)  # server-side trouble, not our request's fault
TOO_MANY_REQUESTS = -1003
RATE_STATUSES = (429, 418)
MAX_RATE_WAIT_S = 120  # a longer Retry-After is not waited inside a call: the caller reschedules
WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"
MINUTE_MS = 60_000
RECV_WINDOW_MS = 5000  # the venue refuses a signed request that took longer than this to arrive


class OutcomeUnknown(VenueUnavailable):
    """The request may or may not have been executed: look it up before sending it again."""


class WeightGate:
    """Keeps the request weight of the current minute (the venue's clock) under a budget."""

    def __init__(self, health: VenueHealth, clock: Clock):
        self.health, self.clock = health, clock
        self._minute = 0
        self._used = 0
        self._lock = asyncio.Lock()

    def _roll(self, now_ms: int) -> None:
        if now_ms // MINUTE_MS != self._minute:
            self._minute, self._used = now_ms // MINUTE_MS, 0

    async def reserve(self, weight: int, now_ms: Callable[[], int]) -> None:
        """Count `weight` against this minute, first waiting for the next minute if it would not fit."""
        async with self._lock:
            self._roll(now_ms())
            if self._used + weight > self.health.budget:
                pause = MINUTE_MS - now_ms() % MINUTE_MS + 50
                log.info("weight budget %s reached; waiting %.1f s", self.health.budget, pause / 1000)
                self.health.waits.append(pause / 1000)
                await self.clock.sleep(pause / 1000)
                self._roll(now_ms())
            self._used += weight
            self.health.used_weight = self._used

    def observe(self, used: int | None, now_ms: int) -> None:
        """The venue's own count wins when it is higher (other processes share the IP's budget)."""
        self._roll(now_ms)
        if used is not None and used > self._used:
            self._used = used
        self.health.used_weight = self._used


def signing_time_ms() -> int:
    """The wall clock as python-binance reads it to sign a request: `int(time.time() * 1000 + timestamp_offset)`.

    The one read of the system clock in the Binance adapter, kept on purpose: the venue's time is estimated
    from the same reading the library signs with, so the offset sync_time finds corrects exactly what is
    sent. The injected Clock would not do: --clock shifts it and a test clock may stand still, while the
    venue keeps real time.
    """
    return int(time.time() * 1000)


def _local_client(base_url: str) -> type[AsyncClient]:
    """AsyncClient pointed at another REST base; testnet/demo flags stay off because they override URLs."""
    return type("PointedAsyncClient", (AsyncClient,), {"API_URL": base_url.rstrip("/")})


def _used_weight(response: Any) -> int | None:
    try:
        return int(response.headers.get(WEIGHT_HEADER))
    except (AttributeError, TypeError, ValueError):
        return None


def _retry_after(exc: BinanceAPIException) -> float:
    try:
        return max(1.0, float(exc.response.headers.get("Retry-After")))
    except (AttributeError, TypeError, ValueError):
        return 60.0 if exc.status_code == 418 else 5.0


class BinanceTransport:
    """One AsyncClient for one REST base, guarded by a weight gate and translated errors."""

    def __init__(self, name: str, base_url: str, api_key: str | None = None, api_secret: str | None = None, *,
                 clock: Clock, weight_budget: int = 3000, timeout: float = 10.0, attempts: int = 4,
                 backoff: float = 0.5):
        self.base_url, self._key, self._secret = base_url, api_key, api_secret
        self.clock = clock  # every wait (backoff, Retry-After, a ban, the weight budget) is slept and timed on it
        self._redactor = Redactor([api_key, api_secret])
        self.health = VenueHealth(name, weight_budget, endpoint(base_url))
        self.gate = WeightGate(self.health, clock)
        self.timeout, self.attempts, self.backoff = timeout, attempts, backoff
        self.recv_window_ms = RECV_WINDOW_MS
        self.client: AsyncClient | None = None
        self._opening = asyncio.Lock()
        self._quiet_until = 0.0  # the clock's monotonic reading before which a rate-limited venue is not asked

    def server_ms(self) -> int:
        offset = self.client.timestamp_offset if self.client is not None else 0
        return signing_time_ms() + offset

    async def open(self) -> AsyncClient:
        """Create the client (python-binance pings and syncs time); retried by the caller on failure."""
        async with self._opening:
            await self._wait_out_ban()
            if self.client is None:
                params = {"timeout": aiohttp.ClientTimeout(total=self.timeout)}
                try:
                    client = await _local_client(self.base_url).create(self._key, self._secret, requests_params=params)
                except (aiohttp.ClientError, asyncio.TimeoutError, OSError, BinanceAPIException) as exc:
                    self._down(exc)
                    # A 429/418 on the opening ping carries its Retry-After: the caller's backoff honours it
                    limited = isinstance(exc, BinanceAPIException) and exc.status_code in RATE_STATUSES
                    raise VenueUnavailable(f"{self.health.name}: cannot reach {mask_url_credentials(self.base_url)}",
                                           self._keep_quiet(_retry_after(exc)) if limited else None) from None
                client.REQUEST_RECVWINDOW = self.recv_window_ms
                self.client = client
            return self.client

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close_connection()
            self.client = None

    async def sync_time(self) -> None:
        client = await self.open()
        served = await client.get_server_time()
        client.timestamp_offset = served["serverTime"] - signing_time_ms()

    async def call(self, method: str, weight: int, *, idempotent: bool = True, **params: Any) -> Any:
        """Call an AsyncClient method; reads are retried, a non-idempotent call raises OutcomeUnknown."""
        for attempt in range(self.attempts):
            last = attempt == self.attempts - 1
            client = await self.open()
            await self.gate.reserve(weight, self.server_ms)
            self.health.requests += 1
            self.health.weight_spent += weight
            try:
                result = await getattr(client, method)(**params)
            except BinanceAPIException as exc:
                self.gate.observe(_used_weight(exc.response), self.server_ms())
                await self._api_error(exc, idempotent, last)
                continue  # _api_error returned: safe to try again
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError, BinanceRequestException) as exc:
                self._down(exc)
                if not idempotent:
                    raise OutcomeUnknown(f"{method}: no answer ({type(exc).__name__})") from None
                if last:
                    raise VenueUnavailable(f"{self.health.name} unreachable: {type(exc).__name__}") from None
                await self.clock.sleep(self.backoff * 2 ** attempt)
                continue
            self.gate.observe(_used_weight(client.response), self.server_ms())
            self.health.reachable, self.health.last_error = True, ""
            return result
        raise VenueUnavailable(f"{self.health.name}: gave up after {self.attempts} attempts")

    async def _api_error(self, exc: BinanceAPIException, idempotent: bool, last: bool) -> None:
        """Raise the domain error for a Binance error, or return after waiting when a retry is safe."""
        if exc.status_code in RATE_STATUSES:
            # The request was refused before execution, so even an order may be sent again
            wait = self._keep_quiet(_retry_after(exc))
            self._down(exc)
            if last or wait > MAX_RATE_WAIT_S:
                raise VenueUnavailable(f"rate limited ({exc.status_code}); retry after {wait:.0f} s", wait)
            self.health.waits.append(wait)
            await self.clock.sleep(wait)
            return
        if exc.code == TIME_OUTSIDE_WINDOW and not last:
            await self.sync_time()  # refused before execution: re-sync and send again
            return
        if exc.status_code >= 500 or exc.code in BACKEND_ERRORS:
            self._down(exc)
            if not idempotent:
                raise OutcomeUnknown(f"status unknown ({exc.code or exc.status_code})") from None
            if last:
                raise VenueUnavailable(f"{self.health.name} error {exc.status_code}") from None
            await self.clock.sleep(self.backoff)
            return
        self.health.reachable = True  # it answered: a business rejection is not an outage
        raise OrderRejected(exc.code, self._scrub(exc.message)) from None

    def _scrub(self, text: str) -> str:
        """Venue text as the bot keeps and shows it: a gateway or proxy may echo this client's credentials."""
        return self._redactor.redact(text)

    def _keep_quiet(self, seconds: float) -> float:
        """Ask nothing for `seconds`: Binance lengthens an IP ban (418) for requests sent during it."""
        self._quiet_until = max(self._quiet_until, self.clock.monotonic() + seconds)
        return seconds

    async def _wait_out_ban(self) -> None:
        """Before any request: sit out a short rate-limit pause; refuse at once during a long one."""
        left = self._quiet_until - self.clock.monotonic()
        if left > MAX_RATE_WAIT_S:
            raise VenueUnavailable(f"{self.health.name}: rate limited; retry after {left:.0f} s", left)
        if left > 0:
            await self.clock.sleep(left)

    def _down(self, exc: BaseException) -> None:
        self.health.reachable = False
        text = self._scrub(str(exc)) if isinstance(exc, BinanceAPIException) else type(exc).__name__
        self.health.last_error = text[:200]
        log.warning("%s: %s", self.health.name, self.health.last_error)
