"""Pairs in quotes other than the synthetic market's own, so the local Binance can list as Binance does: a few
thousand spot symbols in every quote (USDC, FDUSD, BTC, ETH, BNB, TRY, EUR, ...), of which a bot ranks one quote's.

Each pair follows its base's pair in the market's quote (USDT), at a fixed rate per quote: the same candles,
prices divided by the rate, listed when that pair is, BREAK when it is; about one in twelve is BREAK on its own,
as Binance keeps halted pairs listed. Whether a base has a pair in a quote is drawn once per (base, quote) from
the seed, so the set does not depend on the order of questions and stays the same as time passes.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from tradingbot.core.domain import QUOTE_UNIT, Candle, SymbolRules


class Quote(NamedTuple):
    asset: str
    usdt: Decimal  # what one unit of the quote asset is worth in USDT (fixed)
    min_notional: Decimal  # NOTIONAL.minNotional in the quote, about 5 USDT as on Binance


def _q(asset: str, usdt: str, min_notional: str) -> Quote:
    return Quote(asset, Decimal(usdt), Decimal(min_notional))


QUOTES = (  # Binance's spot quote assets besides USDT, with rough rates
    _q("USDC", "1", "5"), _q("FDUSD", "1", "5"), _q("TUSD", "1", "5"), _q("BTC", "60000", "0.0001"),
    _q("ETH", "3000", "0.001"), _q("BNB", "600", "0.01"), _q("TRY", "0.03", "150"), _q("EUR", "1.08", "5"),
    _q("BRL", "0.18", "30"), _q("JPY", "0.0067", "800"), _q("MXN", "0.055", "100"), _q("PLN", "0.25", "20"),
    _q("RON", "0.22", "25"), _q("ARS", "0.001", "5000"), _q("ZAR", "0.055", "100"), _q("UAH", "0.024", "200"),
    _q("COP", "0.00025", "20000"), _q("CZK", "0.044", "120"), _q("DAI", "1", "5"), _q("AEUR", "1.08", "5"),
    _q("IDR", "0.000062", "80000"), _q("XRP", "0.5", "10"), _q("DOGE", "0.15", "35"), _q("TRX", "0.12", "45"),
    _q("SOL", "150", "0.035"), _q("EURI", "1.08", "5"), _q("GBP", "1.27", "4"), _q("AUD", "0.66", "8"),
    _q("USDP", "1", "5"), _q("PAX", "1", "5"), _q("DOT", "6", "1"), _q("BIDR", "0.000062", "80000"),
    _q("RUB", "0.011", "500"),
)
BREAK_SHARE = 1 / 12


@dataclass(frozen=True)
class Pair:
    """One pair in another quote: its own rules, and the pair of the market's quote it follows."""

    own: SymbolRules  # TRADING, or BREAK when halted on its own
    follows: str  # e.g. ETHUSDT for ETHBTC
    quote: Quote


class QuotePairs:
    """About `count` pairs in QUOTES over the market's symbols, as many as it lists when first asked."""

    def __init__(self, count: int, seed: int, home: str = "USDT"):
        self.count, self._seed, self.home = count, seed, home  # home: the market's own quote
        self.density: float | None = None  # share of (base, quote) that are pairs, set by the first listing
        self._pairs: dict[str, Pair] = {}  # by symbol
        self._of_base: dict[str, tuple[Pair, ...]] = {}  # by the followed symbol, drawn on first sight

    def listed(self, market_rules: list[SymbolRules]) -> list[SymbolRules]:
        """The pairs following the market's listed symbols, as listed now: BREAK with theirs, else their own."""
        if self.density is None:
            self.density = min(1.0, self.count / max(1, len(market_rules) * len(QUOTES)))
        return [p.own if r.trading else replace(p.own, status=r.status)
                for r in market_rules for p in self._pairs_of(r)]

    def _pairs_of(self, followed: SymbolRules) -> tuple[Pair, ...]:
        """The pairs that follow one of the market's symbols (drawn once, then remembered)."""
        known = self._of_base.get(followed.symbol)
        if known is None:
            density = self.density or 0.0
            known = tuple(self._pair(followed, q) for q in QUOTES
                          if q.asset != followed.base and self._draw(followed.base, q.asset, "listed") < density)
            self._of_base[followed.symbol] = known
            self._pairs.update((p.own.symbol, p) for p in known)
        return known

    def _draw(self, base: str, quote: str, what: str) -> float:
        digest = hashlib.blake2b(f"{self._seed}:{base}:{quote}:{what}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64

    def _pair(self, followed: SymbolRules, q: Quote) -> Pair:
        tick = max(QUOTE_UNIT, _power_of_ten(followed.tick_size / q.usdt))
        status = "BREAK" if self._draw(followed.base, q.asset, "status") < BREAK_SHARE else "TRADING"
        own = SymbolRules(followed.base + q.asset, followed.base, q.asset, status, followed.step_size,
                          followed.min_qty, followed.max_qty, q.min_notional, tick)
        return Pair(own, followed.symbol, q)

    def followed_by(self, symbol: str) -> list[tuple[str, Quote]]:
        """The market symbols a pair of this name would follow (one per quote its name ends with)."""
        return [(symbol[: -len(q.asset)] + self.home, q) for q in QUOTES if symbol.endswith(q.asset)]

    def pair(self, symbol: str, followed: SymbolRules) -> SymbolRules | None:
        """The pair `symbol` as listed now, when `followed` has it."""
        for p in self._pairs_of(followed):
            if p.own.symbol == symbol:
                return p.own if followed.trading else replace(p.own, status=followed.status)
        return None

    def find(self, symbol: str) -> Pair | None:
        """A pair drawn so far (every listed one is, once the listing has been read)."""
        return self._pairs.get(symbol)

    def prices(self, market_prices: dict[str, Decimal]) -> dict[str, Decimal]:
        """Prices of the TRADING pairs drawn so far whose followed symbol trades."""
        out = {}
        for p in self._pairs.values():
            price = market_prices.get(p.follows)
            if price is not None and p.own.trading:
                out[p.own.symbol] = _in_quote(price, p.quote)
        return out

    @staticmethod
    def candles(pair: Pair, candles: list[Candle]) -> list[Candle]:
        """The followed symbol's candles in the pair's quote: prices and quote volume divided by the rate."""
        return [Candle(c.open_time, c.close_time, _in_quote(c.open, pair.quote), _in_quote(c.high, pair.quote),
                       _in_quote(c.low, pair.quote), _in_quote(c.close, pair.quote), c.volume,
                       _in_quote(c.quote_volume, pair.quote))
                for c in candles]


def _in_quote(usdt: Decimal, q: Quote) -> Decimal:
    return (usdt / q.usdt).quantize(QUOTE_UNIT, rounding=ROUND_HALF_UP)


def _power_of_ten(x: Decimal) -> Decimal:
    return Decimal(1).scaleb(x.adjusted()) if x > 0 else QUOTE_UNIT
