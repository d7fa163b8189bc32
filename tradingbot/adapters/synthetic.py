"""A deterministic synthetic market behind the MarketData port, for tests, demos and benchmarks.

Daily log closes come from a market factor (BTC), per-symbol betas, fat-tailed idiosyncratic
shocks and market-wide momentum/reversal spells. Each day is filled in on demand with a Brownian
bridge on a 5-minute grid, seeded by (seed, symbol, day), so any instant has one answer.
"""
from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple, Sequence

import numpy as np

from ..core.domain import Candle, SymbolRules
from ..app.ports import Clock
from .rng_streams import stream
from .synthetic_days import DAY_MS, KNOT_MS, KNOTS, UNIT, Day, SymbolDays, between, open_units, price_in

EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)  # a Monday, so 1w candles align as on Binance
END = datetime(2031, 1, 1, tzinfo=timezone.utc)  # the precomputed daily path stops here
DAYS = (END - EPOCH).days
LISTINGS_UNTIL = (datetime(2028, 1, 1, tzinfo=timezone.utc) - EPOCH).days  # new listings keep coming until then
HOUR_MS = 3_600_000
INTERVAL_HOURS = {"1h": 1, "4h": 4, "1d": 24, "1w": 168}
NEVER = 2**62
MARKET_VOL = 0.026  # BTC-like daily volatility of the common factor
_ONE_MS = timedelta(milliseconds=1)
_NOT_READING = (-1, -1)


class _Spec(NamedTuple):
    base: str
    price: float  # at the epoch; for wrapped tokens the ratio to the coin they track
    volume: float  # mean daily quote volume
    kind: str  # coin | peg | lev | wrap
    driver: int = -1  # the coin a leveraged or wrapped token follows
    beta: float = 1.0  # exposure to the market factor (coins) or to the driver (leveraged)
    noise: float = 0.0  # daily idiosyncratic (coins) or peg/tracking (peg, wrap) volatility
    persist: float = 0.0  # AR(1) coefficient of the peg/tracking noise
    growth: float = 0.0  # daily drift of a wrapped token's ratio (staking yield)


_SPECIALS = (
    _Spec("BTC", 42_000.0, 2.0e9, "coin"),
    _Spec("ETH", 2_300.0, 1.0e9, "coin", beta=1.1, noise=0.018),
    _Spec("USDC", 1.0, 3.0e8, "peg", noise=0.0002, persist=0.6),
    _Spec("FDUSD", 1.0, 2.5e8, "peg", noise=0.0004, persist=0.7),
    _Spec("TUSD", 1.0, 1.5e7, "peg", noise=0.0012, persist=0.9),
    _Spec("EUR", 1.08, 2.5e7, "peg", noise=0.004, persist=0.995),
    _Spec("BTCUP", 9.0, 3.0e6, "lev", driver=0, beta=3.0),
    _Spec("BTCDOWN", 0.006, 2.0e6, "lev", driver=0, beta=-3.0),
    _Spec("ETHUP", 3.5, 1.5e6, "lev", driver=1, beta=3.0),
    _Spec("ETHDOWN", 0.25, 1.0e6, "lev", driver=1, beta=-3.0),
    _Spec("WBTC", 0.9995, 4.0e6, "wrap", driver=0, noise=0.0005, persist=0.5),
    _Spec("WBETH", 1.03, 2.5e6, "wrap", driver=1, noise=0.0008, persist=0.5, growth=0.03 / 365),
)


# Real fiat and stablecoin codes a generated ticker could spell; exclusion filters would catch them.
_RESERVED = frozenset("USD USDT EUR RUB RON COP ZAR PAX DAI VAI UST TRY GBP AUD BRL UAH NGN PLN ARS JPY".split())


def _t(rng: np.random.Generator, df: float, size: int) -> np.ndarray:
    """Unit-variance Student-t shocks, clipped so one day cannot be absurd."""
    return np.clip(rng.standard_t(df, size) * math.sqrt((df - 2) / df), -10, 10)


def _ticker(rng: np.random.Generator, taken: set[str]) -> str:
    """A new pronounceable 3-5 letter base that no exclusion filter would mistake for a special token."""
    cons, vows = "BCDFGHJKLMNPRSTVXZ", "AEIOU"  # no W: wrapped tokens start with W
    while True:
        pattern = ("CVC", "CVCV", "CVCVC", "VCVC")[int(rng.integers(4))]
        name = "".join(cons[int(rng.integers(18))] if ch == "C" else vows[int(rng.integers(5))] for ch in pattern)
        if name not in taken and not name.endswith(("UP", "DOWN", "BULL", "BEAR")):
            taken.add(name)
            return name


def _coin_returns(shocks: np.ndarray, kappa: np.ndarray, sens: np.ndarray) -> np.ndarray:
    """Idiosyncratic daily log returns fed back from the past week: momentum if kappa > 0, reversal if < 0."""
    gain = kappa[:, None] * sens / 7
    noise = (1 - 3.5 * gain) * shocks  # shrink shocks in momentum spells so they do not inflate volatility
    out = np.empty_like(shocks)
    week = np.zeros(shocks.shape[1])
    pull = np.zeros(shocks.shape[1])  # level / 400: keeps each coin's price within a plausible band
    for d in range(shocks.shape[0]):
        row = out[d]
        np.multiply(gain[d], week, out=row)
        row += noise[d] - pull
        week += row - out[d - 7] if d >= 7 else row
        pull += row / 400
    return out


def _market(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """BTC's log level since the epoch (fat-tailed, pulled to a slow uptrend) and the regime per day."""
    rng = np.random.default_rng((seed, 3))
    trend = math.log(65 / 42) * np.minimum(np.arange(DAYS + 1) / 500, 1.0)
    shocks = (MARKET_VOL * _t(rng, 4.0, DAYS)).tolist()
    m = [0.0]
    for d in range(DAYS):
        m.append(m[d] + trend[d + 1] - trend[d] + (trend[d] - m[d]) / 90 + shocks[d])
    kappa = np.empty(DAYS)
    d, sign = 0, 1.0 if rng.random() < 0.5 else -1.0
    while d < DAYS:  # spells of 10-42 days, usually flipping sign so both strategies get their turn
        length = int(rng.integers(10, 43))
        kappa[d : d + length] = sign * rng.uniform(0.25, 0.6)
        sign = -sign if rng.random() < 0.75 else sign
        d += length
    return np.array(m), kappa


def _filters(price: float) -> tuple[Decimal, Decimal, Decimal, int]:
    """Step size, tick size, max quantity and volume decimals by price level, as Binance sets them."""
    if price >= 1000:
        return Decimal("0.00001"), Decimal("0.01"), Decimal(9_000_000), 5
    if price >= 10:
        return Decimal("0.001"), Decimal("0.0001"), Decimal(9_000_000), 3
    tick = Decimal("0.0001") if price >= 1 else Decimal("0.00000001")
    if price >= 0.1:
        return Decimal("0.1"), tick, Decimal(9_000_000), 1
    return Decimal(1), tick, Decimal(92_233_720_368), 0  # cheap coins need a huge max to buy any notional


def _dec(units: int) -> Decimal:
    return Decimal(units).scaleb(-8)


class SyntheticMarket:
    """A made-up exchange whose answers depend only on the seed and the clock, never on the call order."""

    def __init__(self, clock: Clock, seed: int = 7, n_symbols: int = 240, quote: str = "USDT"):
        # n_symbols counts every symbol ever listed, the 12 special ones (BTC, ETH, pegged, ...) included.
        if n_symbols <= len(_SPECIALS):
            raise ValueError(f"n_symbols must exceed {len(_SPECIALS)}")
        self._clock, self._seed = clock, seed
        self._prices_memo: tuple[int, dict[str, Decimal]] | None = None
        self._listed_memo: tuple[int, int, list[SymbolRules], list[int]] | None = None
        self._today_memo: tuple[int, list[int], np.ndarray] | None = None
        specs, sens, drift, shocks, notional = self._draw(seed, n_symbols)
        self._level, scale = self._levels(seed, specs, sens, drift, shocks)
        self._scale, self._mean_volume = scale.tolist(), [s.volume for s in specs]
        self._key = [s.driver if s.kind in ("lev", "wrap") else i for i, s in enumerate(specs)]
        self._listing, self._delist = self._lifetimes(seed, n_symbols)
        self._index = {s.base + quote: i for i, s in enumerate(specs)}
        self._vdec: list[int] = []
        self._rules: list[tuple[SymbolRules, SymbolRules]] = []
        for i, s in enumerate(specs):
            # Filters are set once from the price level at listing and never follow the price, as on Binance.
            step, tick, max_qty, vdec = _filters(open_units(self._level, self._listing[i] // DAY_MS, i) / UNIT)
            self._vdec.append(vdec)
            trading = SymbolRules(s.base + quote, s.base, quote, "TRADING", step, step, max_qty, notional[i], tick)
            self._rules.append((trading, replace(trading, status="BREAK")))
        self._days = SymbolDays(seed, self._level, self._scale, self._key, self._mean_volume, self._vdec,
                                max(4096, 16 * n_symbols))
        self._reading = _NOT_READING  # (symbol index, last day) of the candles() call in progress
        self._closed = lru_cache(maxsize=max(8192, 32 * n_symbols))(self._closed_candle)
        self._closed_figures = lru_cache(maxsize=max(8192, 32 * n_symbols))(
            lambda i, size, k: self._close_and_volume(i, size, k, (k + 1) * size))

    @staticmethod
    def _draw(seed: int, n: int) -> tuple[list[_Spec], np.ndarray, np.ndarray, np.ndarray, list[Decimal]]:
        """Per-symbol parameters and shocks, each symbol from its own stream so it does not depend on n."""
        names_rng = np.random.default_rng((seed, 2))
        taken = {s.base for s in _SPECIALS} | _RESERVED
        specs, notional = list(_SPECIALS), [Decimal(5)] * n
        sens, drift = np.ones(n), np.zeros(n)
        shocks = np.empty((n, DAYS))
        for i in range(n):
            rng = stream(seed, 0, i)
            if i >= len(_SPECIALS):
                price = 10 ** rng.uniform(-4, 3.7)
                volume = 10 ** np.clip(rng.normal(6.7, 0.75), math.log10(5e4), math.log10(8e8))
                beta, sigma = rng.uniform(0.7, 1.5), math.exp(rng.uniform(math.log(0.025), math.log(0.08)))
                specs.append(_Spec(_ticker(names_rng, taken), price, volume, "coin", beta=beta, noise=sigma))
                sens[i], drift[i] = rng.uniform(0.6, 1.4), rng.normal(-0.0003, 0.0004)
                notional[i] = Decimal(10) if rng.random() < 0.06 else Decimal(5)
            shocks[i] = _t(rng, 3.5, DAYS)
        return specs, sens, drift, shocks.T.copy(), notional

    @staticmethod
    def _levels(
        seed: int, specs: list[_Spec], sens: np.ndarray, drift: np.ndarray, shocks: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Daily log closes (row 0 is the epoch open) and each symbol's intraday bridge scale."""
        m, kappa = _market(seed)
        steps = np.arange(DAYS + 1)[:, None]
        level, scale = np.empty((DAYS + 1, len(specs))), np.empty(len(specs))
        coins = [i for i, s in enumerate(specs) if s.kind == "coin"]
        sigma = np.array([specs[i].noise for i in coins])
        beta = np.array([specs[i].beta for i in coins])
        idio = _coin_returns(shocks[:, coins] * sigma, kappa, sens[coins]) + drift[coins]
        base = np.log([specs[i].price for i in coins])
        level[:, coins] = base + beta * m[:, None] + np.vstack([np.zeros(len(coins)), np.cumsum(idio, axis=0)])
        scale[coins] = np.sqrt((beta * MARKET_VOL) ** 2 + sigma**2)
        noisy = [i for i, s in enumerate(specs) if s.kind in ("peg", "wrap")]
        phi = np.array([specs[i].persist for i in noisy])
        eps = shocks[:, noisy] * np.array([specs[i].noise for i in noisy])
        ar = np.zeros((DAYS + 1, len(noisy)))
        for d in range(DAYS):  # peg and tracking errors mean-revert instead of wandering off
            ar[d + 1] = phi * ar[d] + eps[d]
        for j, i in enumerate(noisy):
            s = specs[i]
            if s.kind == "peg":
                level[:, i], scale[i] = math.log(s.price) + ar[:, j], s.noise
            else:
                tracked = level[:, s.driver] + math.log(s.price) + ar[:, j] + s.growth * steps[:, 0]
                level[:, i], scale[i] = tracked, scale[s.driver]
        for i, s in enumerate(specs):
            if s.kind == "lev":  # a daily-rebalanced token: leverage times the driver, minus a small fee
                moved = level[:, s.driver] - level[0, s.driver]
                level[:, i] = math.log(s.price) + s.beta * moved - 0.0001 * steps[:, 0]
                scale[i] = s.beta * scale[s.driver]
        return level, scale

    @staticmethod
    def _lifetimes(seed: int, n: int) -> tuple[list[int], list[int]]:
        """Listing and delisting times in ms since the epoch: a quarter of the coins list later, a few delist."""
        rng = np.random.default_rng((seed, 1))
        listing, delist = [0] * n, [NEVER] * n
        order = rng.permutation(np.arange(len(_SPECIALS), n)).tolist()
        late, gone = order[: len(order) // 4], order[len(order) // 4 :][: max(2, round(0.03 * len(order)))]

        def spaced(count: int, first_day: int) -> list[int]:
            # Evenly spaced, so every 30-day window until 2028 sees a new listing, at a random hour of the day.
            days = [first_day + j * (LISTINGS_UNTIL - first_day) // count for j in range(count)]
            return [(day * 24 + int(rng.integers(24))) * HOUR_MS for day in days]

        for i, t in zip(late, spaced(len(late), 14)):
            listing[i] = t
        for i, t in zip(gone, spaced(len(gone), 91)):
            delist[i] = t
        return listing, delist

    def _day(self, i: int, d: int) -> Day:
        """Symbol i's day d; a candles() read in progress draws the days it needs next with it."""
        return self._days.day(i, d, self._reading[1] if self._reading[0] == i else -1)

    def _partial(self, day: Day, hour: int, rem: int) -> tuple[int, int, int]:
        """Price, high and low of an hour `rem` ms in, interpolating linearly between 5-minute knots."""
        price = price_in(day, hour * HOUR_MS + rem)
        seen = day.knots[hour * 12 : hour * 12 + rem // KNOT_MS + 1]
        return price, max(int(seen.max()), price), min(int(seen.min()), price)

    def _price_units(self, i: int, t: int) -> int:
        d, r = divmod(t, DAY_MS)
        return price_in(self._day(i, d), r)

    def _span(self, i: int, start: int, end: int) -> tuple[int, int, int, int, int, int]:
        """Integer OHLC and volumes over [start, end) ms; start is hour-aligned, end may cut an hour short."""
        o = c = -1
        hi, lo, bv, qv = 0, NEVER, 0, 0
        t = start
        while t < end:
            d = t // DAY_MS
            day, stop = self._day(i, d), min(end, (d + 1) * DAY_MS)
            a, (b, rem) = (t - d * DAY_MS) // HOUR_MS, divmod(stop - d * DAY_MS, HOUR_MS)
            if a == 0 and b == 24:  # a whole day, summed when it was drawn
                do, dh, dl, c, dbv, dqv = day.whole
                o, hi, lo, bv, qv, t = do if o < 0 else o, max(hi, dh), min(lo, dl), bv + dbv, qv + dqv, stop
                continue
            opens, highs, lows, closes, bvs, qvs = day.bars.tolist()  # Python ints beat numpy on 24 items
            o = opens[a] if o < 0 else o
            if b > a:
                hi, lo = max(hi, *highs[a:b]), min(lo, *lows[a:b])
                c, bv, qv = closes[b - 1], bv + sum(bvs[a:b]), qv + sum(qvs[a:b])
            if rem:  # the still-open hour (at now) or the hour trading stopped in
                c, ph, pl = self._partial(day, b, rem)
                hi, lo = max(hi, ph), min(lo, pl)
                bv, qv = bv + bvs[b] * rem // HOUR_MS, qv + qvs[b] * rem // HOUR_MS
            t = stop
        if o < 0:  # a candle that opened exactly now: no trades yet
            o = hi = lo = c = self._price_units(i, start)
        return o, hi, lo, c, bv, qv

    def _candle(self, i: int, size: int, k: int, end: int) -> Candle:
        opened = k * size
        o, h, l, c, bv, qv = self._span(i, max(opened, self._listing[i]), min(opened + size, end))  # noqa: E741
        at = EPOCH + timedelta(milliseconds=opened)
        volume = Decimal(bv).scaleb(-self._vdec[i])
        closes = at + timedelta(milliseconds=size - 1)
        return Candle(at, closes, _dec(o), _dec(h), _dec(l), _dec(c), volume, _dec(qv))

    def _closed_candle(self, i: int, size: int, k: int) -> Candle:
        return self._candle(i, size, k, (k + 1) * size)

    def _now(self) -> int:
        return (self._clock.now() - EPOCH) // _ONE_MS

    async def symbols(self) -> list[SymbolRules]:
        """Every symbol listed by now; delisted ones stay, with status BREAK."""
        return list(self._listed(self._now())[0])

    def _listed(self, now: int) -> tuple[list[SymbolRules], list[int]]:
        """The rules of every symbol listed at `now` and the indices of those trading; the same from one listing
        or delisting to the next, so every order of a rebalance need not look at every symbol again."""
        memo = self._listed_memo
        if memo is None or not memo[0] <= now < memo[1]:
            events = (*self._listing, *self._delist)
            since = max((t for t in events if t <= now), default=-NEVER)
            until = min((t for t in events if t > now), default=NEVER)
            listed = [r for r in (self._rules_at(i, now) for i in range(len(self._rules))) if r is not None]
            live = [i for i in range(len(self._rules)) if self._listing[i] <= now < self._delist[i]]
            memo = self._listed_memo = (since, until, listed, live)
        return memo[2], memo[3]

    async def symbol(self, symbol: str) -> SymbolRules | None:
        """One symbol's rules as symbols() has them (None when not listed by now), without a pass over all."""
        i = self._index.get(symbol)
        return None if i is None else self._rules_at(i, self._now())

    def _rules_at(self, i: int, now: int) -> SymbolRules | None:
        if self._listing[i] > now:
            return None
        trading, broken = self._rules[i]
        return broken if self._delist[i] <= now else trading

    async def candles(self, symbol: str, interval: str, start: datetime, end: datetime) -> list[Candle]:
        """Candles with open_time in [start, end], oldest first; the last one may still be open."""
        hours = INTERVAL_HOURS.get(interval)
        if hours is None:
            raise ValueError(f"unsupported interval {interval!r}; use one of {', '.join(INTERVAL_HOURS)}")
        i, now = self._index.get(symbol), self._now()
        if i is None or self._listing[i] > now:
            return []
        size, cutoff = hours * HOUR_MS, min(now, self._delist[i])
        first = max(-(-((start - EPOCH) // _ONE_MS) // size), self._listing[i] // size)
        last = min((end - EPOCH) // _ONE_MS // size, now // size, (self._delist[i] - 1) // size)
        self._reading = (i, (min((last + 1) * size, cutoff) - 1) // DAY_MS)  # the days a missing one is drawn with
        try:
            return [
                self._closed(i, size, k) if (k + 1) * size <= cutoff else self._candle(i, size, k, cutoff)
                for k in range(first, last + 1)
            ]
        finally:
            self._reading = _NOT_READING

    async def ranking_figures(self, symbol: str, at_now: datetime, at_then: datetime, first_day: datetime,
                              last_day: datetime) -> tuple[Decimal | None, Decimal | None, list[Decimal]]:
        """candles()'s closes at the two anchors and closed daily quote volumes (see ReadsRankingFigures), from the
        same integer spans, without the ~3,300 Decimal candles a 400-symbol ranking would build."""
        i, now = self._index.get(symbol), self._now()
        if i is None or self._listing[i] > now:
            return None, None, []
        first, last = ((t - EPOCH) // _ONE_MS // DAY_MS for t in (first_day, last_day))
        self._reading = (i, last)  # a missing day is drawn with the later ones, as candles() does
        try:
            hourly = [self._figures(i, HOUR_MS, (t - EPOCH) // _ONE_MS // HOUR_MS, now) for t in (at_now, at_then)]
            volumes = [f[1] for f in (self._figures(i, DAY_MS, d, now) for d in range(first, last + 1)) if f]
        finally:
            self._reading = _NOT_READING
        close_now, close_then = (f[0] if f else None for f in hourly)
        return close_now, close_then, volumes

    def _figures(self, i: int, size: int, k: int, now: int) -> tuple[Decimal, Decimal] | None:
        """Close and quote volume of candle k of symbol i, if candles() lists it at `now` and it has closed."""
        if (k + 1) * size > now or k < self._listing[i] // size or k > (self._delist[i] - 1) // size:
            return None
        if (k + 1) * size <= self._delist[i]:  # final: kept, as _closed keeps whole candles
            return self._closed_figures(i, size, k)
        return self._close_and_volume(i, size, k, self._delist[i])  # cut short by its delisting

    def _close_and_volume(self, i: int, size: int, k: int, end: int) -> tuple[Decimal, Decimal]:
        span = self._span(i, max(k * size, self._listing[i]), end)
        return _dec(span[3]), _dec(span[5])

    async def prices(self) -> dict[str, Decimal]:
        """Current price of every symbol trading now, equal to the close of its still-open candles."""
        now = self._now()
        # Every order of a rebalance asks at the same instant on a test clock: compute that once.
        if self._prices_memo is None or self._prices_memo[0] != now:
            live = self._listed(now)[1]
            knots = self._today(now // DAY_MS, live)
            j, r = divmod(now % DAY_MS, KNOT_MS)  # the same 5-minute step for every symbol
            self._prices_memo = (now, {
                self._rules[i][0].symbol: _dec(between(a, b, r))
                for i, a, b in zip(live, knots[:, j].tolist(), knots[:, j + 1].tolist())
            })
        return dict(self._prices_memo[1])

    def _today(self, d: int, live: list[int]) -> np.ndarray:
        """Day d's knots of the symbols trading, a row each (drawn in one pass where missing), kept for the day."""
        if self._today_memo is None or self._today_memo[:2] != (d, live):
            self._days.draw(self._days.missing((i, d) for i in live))
            rows = [self._days.day(i, d).knots for i in live] or [np.empty(KNOTS + 1, np.int64)]
            self._today_memo = (d, live, np.stack(rows))
        return self._today_memo[2]

    async def prefetch(self, symbols: Sequence[str], start: datetime, end: datetime) -> None:
        """Draw the days of [start, end] these symbols traded on, in passes over all of them (a day drawn with
        others equals that day drawn alone; see synthetic_days)."""
        now = self._now()
        first, last = max((start - EPOCH) // _ONE_MS, 0) // DAY_MS, min((end - EPOCH) // _ONE_MS, now) // DAY_MS
        known = [self._index[s] for s in symbols if s in self._index]
        pairs = [(i, d) for d in range(first, min(last, DAYS - 1) + 1) for i in known
                 if self._listing[i] < (d + 1) * DAY_MS and d * DAY_MS < self._delist[i]]
        if len(pairs) <= self._days.size // 2:  # more would push out what was drawn first before it is read
            self._days.draw(self._days.missing(pairs))

    def draws(self) -> tuple[int, int]:
        """How many passes have drawn how many symbol-days so far (for tests: a count, not a time)."""
        return self._days.passes, self._days.drawn

    async def first_candle_time(self, symbol: str, listed_by: datetime | None = None) -> datetime | None:
        """Open time of the symbol's first hourly candle, or None if unknown or not listed yet."""
        i = self._index.get(symbol)
        if i is None or self._listing[i] > self._now():
            return None
        return EPOCH + timedelta(milliseconds=self._listing[i])

    def circulating_supply(self) -> dict[str, Decimal]:
        """Coins in circulation per base asset (fixed), so that market cap = supply × price, as CoinGecko's is."""
        # At the epoch a coin's cap is 10 to 300 days of its mean volume: the usual spread of turnover.
        out = {}
        for i, (rules, _) in enumerate(self._rules):
            days = 10 ** stream(self._seed, 5, i).uniform(1, 2.5)
            out[rules.base] = Decimal(round(self._mean_volume[i] * days / math.exp(self._level[0, i])))
        return out

    def delist(self, symbol: str, when: datetime) -> None:
        """Test hook: the symbol stops trading at `when`; KeyError if it is unknown."""
        # Cached closed candles need no purge: a candle is only cached once it ended before both now and delisting.
        self._delist[self._index[symbol]] = (when - EPOCH) // _ONE_MS
        self._prices_memo = self._listed_memo = None
