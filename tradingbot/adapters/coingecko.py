"""Market caps from CoinGecko's public API (GET /coins/markets), behind the MarketCaps port.

Pages of 250 coins by market cap, enough of them for the top ~1,000; coins named by MARKET_CAP_IDS that are
not among those are asked for by id. The free tier's rate limit is honoured: a 429 waits for its Retry-After
(else an exponential backoff), as do 5xx answers and network errors; whatever still fails after the retries
is a VenueUnavailable naming CoinGecko, never a raw aiohttp error. A demo API key goes in the
x-cg-demo-api-key header, never in the URL, so it appears in no log line.
"""
from __future__ import annotations

import asyncio
import logging
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable

import aiohttp

from ..core.errors import VenueUnavailable
from ..core.market_caps import CoinCap
from ..app.ports import Clock
from ..core.redaction import mask_url_credentials

log = logging.getLogger(__name__)

DEFAULT_URL = "https://api.coingecko.com/api/v3"
KEY_HEADER = "x-cg-demo-api-key"  # CoinGecko's header for a Demo (free) plan key
PER_PAGE = 250  # the most /coins/markets returns in one page
PAGES = 4  # 4 × 250: the top ~1,000 coins by market cap
MAX_WAIT_S = 120.0  # a longer Retry-After is not waited: the reading fails and the cache serves
IDS_PER_CALL = 100  # override ids asked for in one request, so the URL stays short


class CoinGeckoCaps:
    name = "coingecko"

    def __init__(self, clock: Clock, base_url: str = DEFAULT_URL, api_key: str | None = None,
                 extra_ids: Iterable[str] = (), pages: int = PAGES, retries: int = 4, backoff_s: float = 2.0,
                 timeout_s: float = 20.0):
        self.clock, self.base_url = clock, base_url.rstrip("/")
        self.extra_ids = sorted(set(extra_ids))
        self.pages, self.retries, self.backoff_s = pages, retries, backoff_s
        self._headers = {"Accept": "application/json", **({KEY_HEADER: api_key} if api_key else {})}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self.requests = 0  # answers received, 429s included (tests and benchmarks read it)

    async def coins(self) -> list[CoinCap]:
        """The top coins by market cap, page by page until a short page or PAGES, then the override ids."""
        out: list[CoinCap] = []
        for page in range(1, self.pages + 1):
            batch = await self._markets({"per_page": PER_PAGE, "page": page})
            out += batch
            if len(batch) < PER_PAGE:
                break
        have = {c.coin_id for c in out}
        missing = [i for i in self.extra_ids if i not in have]
        for start in range(0, len(missing), IDS_PER_CALL):
            out += await self._markets({"ids": ",".join(missing[start:start + IDS_PER_CALL])})
        return out

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _markets(self, query: dict[str, Any]) -> list[CoinCap]:
        body = await self._get("/coins/markets", {"vs_currency": "usd", "order": "market_cap_desc", **query})
        if not isinstance(body, list):
            raise VenueUnavailable("coingecko: /coins/markets did not answer a list")
        return [coin for coin in map(_coin, body) if coin is not None]

    async def _get(self, path: str, params: dict[str, Any]) -> Any:
        """One GET with retries: 429 waits its Retry-After, 5xx and network errors back off; JSON back."""
        last = ""
        for attempt in range(self.retries + 1):
            pause = self.backoff_s * 2 ** attempt
            try:
                async with self._client().get(self.base_url + path, params=params) as answer:
                    self.requests += 1
                    if answer.status == 200:
                        return await answer.json(content_type=None)
                    last = f"HTTP {answer.status}"
                    if answer.status == 429:
                        pause = _retry_after(answer.headers.get("Retry-After")) or pause
                    elif answer.status < 500:  # 401 (a bad key), 404 (a wrong URL): asking again will not help
                        raise VenueUnavailable(f"coingecko: {last} from {mask_url_credentials(self.base_url)}")
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as e:
                last = f"{type(e).__name__}: {str(e)[:120]}"
            if attempt == self.retries or pause > MAX_WAIT_S:
                break
            log.info("coingecko %s: %s; trying again in %.0f s", path, last, pause)
            await self.clock.sleep(pause)
        raise VenueUnavailable(f"coingecko: {last} (after {attempt + 1} tries)")

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout)
        return self._session


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (CoinGecko sends seconds; an HTTP date is not worth parsing here)."""
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:
        return None


def _coin(item: Any) -> CoinCap | None:
    """A /coins/markets entry; one without an id, a symbol or a usable cap is left out (unknown, not zero)."""
    if not isinstance(item, dict):
        return None
    coin_id, symbol, cap = item.get("id"), item.get("symbol"), item.get("market_cap")
    if not isinstance(coin_id, str) or not isinstance(symbol, str) or isinstance(cap, bool) or cap is None:
        return None
    try:
        value = Decimal(str(cap))
    except InvalidOperation:
        return None
    return CoinCap(coin_id, symbol, value) if value.is_finite() and value > 0 else None
