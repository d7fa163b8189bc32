"""What a simulated market order pays beyond the fee: the flat model, or the volume-aware one (pure, NumPy).

`flat` (the default) is the live parameters' `slippage_bps` on every fill whatever its size, so a run's
returns do not depend on its capital. `volume` adds two terms per fill, both fractions of the order's value:

- half the bid-ask spread, estimated from daily closes, highs and lows by Abdi & Ranaldo (2017), "A Simple
  Estimation of Bid-Ask Spreads from Daily Close, High, and Low Prices", Review of Financial Studies 30(12),
  4437–4480: s² = 4 E[(c_t − η_t)(c_t − η_{t+1})], c the log close and η the log mid-range (high + low) / 2,
  the expectation taken over SPREAD_DAYS days. Single products are often negative (volatility, not the
  spread, moved the price); the paper's monthly estimator averages them first and sets a negative mean to 0,
  and so does this module. Corwin & Schultz (2012), "A Simple Way to Estimate Bid-Ask Spreads from Daily High
  and Low Prices", Journal of Finance 67(2), 719–760, is kept beside it (two_day_spreads) for comparison: on
  Binance's daily candles it reads ~50 bps of half-spread for BTCUSDT (real: under 1 bps), because zeroing
  its negative two-day estimates before averaging turns a volatile market's noise into spread;
- a square-root market impact k · σ_daily · √(order / daily quote volume): the "square-root law" of
  Almgren, Thum, Hauptmann & Li (2005, "Direct Estimation of Equity Market Impact", Risk 18(7)) and Tóth et
  al. (2011, "Anomalous Price Impact and the Critical Nature of Liquidity in Financial Markets", Phys. Rev. X
  1, 021006), whose prefactor Y (our k) is of order 1 across markets (Bouchaud, Bonart, Donier & Gould 2018,
  "Trades, Quotes and Prices", ch. 12): hence DEFAULT_IMPACT_K = 1. σ_daily is the standard deviation of
  the symbol's daily log returns over SIGMA_DAYS days; the volume is its mean daily quote volume over the
  universe filter's 7 days (a single day's volume can be near zero and would make one fill absurd).

Both are read at the signal row (what is known when the order is decided), never after it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from .panel import Panel

COST_MODELS = ("flat", "volume")
DEFAULT_IMPACT_K = 1.0
SPREAD_DAYS = 30  # both papers' monthly estimates
SIGMA_DAYS = 30
# Caps that keep a fill's price positive on a coin that has all but stopped trading (7-day volume near zero);
# an order that would pay more than this does not fill on a real book at any price worth modelling.
MAX_HALF_SPREAD = 0.1
MAX_IMPACT = 0.5
_CS = 3.0 - 2.0 * np.sqrt(2.0)


@dataclass(frozen=True)
class Execution:
    """Which cost model a backtest fills with, and the impact prefactor k of the volume model."""

    cost_model: str = "flat"
    impact_k: float = DEFAULT_IMPACT_K

    def __post_init__(self) -> None:
        if self.cost_model not in COST_MODELS:
            raise UserError(f"cost_model must be flat or volume (got '{self.cost_model}')")
        if not (isinstance(self.impact_k, (int, float)) and 0 <= self.impact_k <= 100):
            raise UserError(f"impact_k must be a number from 0 to 100, like 1 (got {self.impact_k!r})")

    @property
    def volume(self) -> bool:
        return self.cost_model == "volume"


def parse_execution(key: str, text: str) -> str | float:
    """A /backtest value of cost_model or impact_k, checked (one clear line when wrong)."""
    if key == "cost_model":
        Execution(cost_model=text.strip().lower())
        return text.strip().lower()
    try:
        k = float(text)
    except ValueError:
        k = float("nan")
    if not 0 <= k <= 100:
        raise UserError(f"impact_k must be a number from 0 to 100, like 1 (got '{text[:20]}')")
    return k


def two_day_spreads(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """Corwin–Schultz spread S per row t from the candles of t-1 and t (eq. 14, 18), negatives set to 0.

    β = ln(H₀/L₀)² + ln(H₁/L₁)²,  γ = ln(max(H₀,H₁) / min(L₀,L₁))²,
    α = (√(2β) − √β) / (3 − 2√2) − √(γ / (3 − 2√2)),  S = 2(e^α − 1) / (1 + e^α).
    Row 0 and rows where either candle is missing are NaN.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        ranges = np.log(high / low) ** 2
        beta = ranges[1:] + ranges[:-1]
        gamma = np.log(np.fmax(high[1:], high[:-1]) / np.fmin(low[1:], low[:-1])) ** 2
        gamma = np.where(np.isnan(high[1:]) | np.isnan(high[:-1]), np.nan, gamma)
        alpha = (np.sqrt(2.0 * beta) - np.sqrt(beta)) / _CS - np.sqrt(gamma / _CS)
        spread = 2.0 * (np.exp(alpha) - 1.0) / (1.0 + np.exp(alpha))
    spread = np.where(np.isnan(spread), np.nan, np.maximum(spread, 0.0))
    return np.concatenate([np.full((1, high.shape[1]), np.nan), spread])


def spread_products(close: np.ndarray, high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """Abdi–Ranaldo's (c_{t−1} − η_{t−1})(c_{t−1} − η_t) per row t (known at t's close); NaN at row 0, gaps."""
    with np.errstate(invalid="ignore", divide="ignore"):
        c, eta = np.log(close), (np.log(high) + np.log(low)) / 2.0
    products = (c[:-1] - eta[:-1]) * (c[:-1] - eta[1:])
    return np.concatenate([np.full((1, close.shape[1]), np.nan), products])


def _means(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column, the mean of the non-NaN values (0 if none) and how many there were."""
    seen = ~np.isnan(values)
    count = seen.sum(axis=0).astype(np.float64)
    total = np.where(seen, values, 0.0).sum(axis=0)
    return np.divide(total, count, out=np.zeros_like(total), where=count > 0), count


def _spread_of(products: np.ndarray) -> np.ndarray:
    return _half_spread_at(_means(products)[0])


def _half_spread_at(mean: np.ndarray) -> np.ndarray:
    """√ of the mean Abdi–Ranaldo product, 0 where it is negative (as the paper), capped."""
    return np.minimum(np.sqrt(np.maximum(mean, 0.0)), MAX_HALF_SPREAD)


def _sigma_of(r: np.ndarray) -> np.ndarray:
    r[~np.isfinite(r)] = np.nan
    mean, n = _means(r)
    squares = np.where(np.isnan(r), 0.0, (r - mean) ** 2).sum(axis=0)
    return np.sqrt(np.divide(squares, n - 1, out=np.zeros_like(n), where=n > 1))


def half_spread(close: np.ndarray, high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """Half the Abdi–Ranaldo spread at the last row of these (days + 1, n) windows: √max(mean product, 0)."""
    return _spread_of(spread_products(close, high, low)[1:])


def daily_sigma(close: np.ndarray) -> np.ndarray:
    """Standard deviation (ddof 1) of the daily log returns in these (days + 1, n) windows; 0 below two."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return _sigma_of(np.log(close[1:] / close[:-1]))


def _cells(days: np.ndarray, cols: np.ndarray, reach: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (day, column) cells the windows of `reach` days before each (day, column) pair cover, each once.

    Pairs sorted by column then day: a pair adds the days after its column's last pair (at most reach + 1), so
    each column's cells are runs of consecutive days and a pair's window is the reach + 1 cells ending at its
    own (`ends`). Returns the cells' days and columns and each (sorted) pair's end; pairs overlap day after day,
    so this is a few times fewer cells than the windows hold."""
    first = np.r_[True, cols[1:] != cols[:-1]]
    since = np.where(first, np.iinfo(np.int64).min // 2, np.r_[0, days[:-1]] + 1)
    start = np.maximum(days - reach, since)
    added = np.maximum(days - start + 1, 0)  # 0: the same day again (an intraday run trades a day many times)
    ends = np.cumsum(added)
    owner = np.repeat(np.arange(len(days)), added)
    cell_days = np.arange(int(ends[-1]) if len(ends) else 0) - (ends - added)[owner] + start[owner]
    return cell_days, cols[owner], ends - 1


def _window_sums(values: np.ndarray, ends: np.ndarray, length: int) -> np.ndarray:
    """The sum of values[e − length + 1 … e] (NaN-free) for each end e.

    Each window is cut into blocks of the powers of two in `length` (30 = 16 + 8 + 4 + 2), the blocks' sums
    made once for all cells by doubling: O(cells × log length), and a window's sum is of its own terms only
    (a running sum's difference would lose the small spreads to the large totals before them). Doubling stops
    at the largest block a window takes."""
    total = np.zeros(len(ends))
    block, at, size = values, ends + 1, 1
    while size <= length:
        if length & size:
            at = at - size
            total += block[at]
        if 2 * size > length:
            break
        block = block[:-size] + block[size:]
        size *= 2
    return total


def _window_counts(seen: np.ndarray, ends: np.ndarray, length: int) -> np.ndarray:
    """How many cells are seen in each window e − length + 1 … e: whole numbers, so a running count is exact."""
    running = np.cumsum(seen, dtype=np.int64)
    return (running[ends] - running[ends - length]).astype(np.float64)


def _days(panel: Panel, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Daily closes, highs and lows, and each row's last UTC day closed at its close: both estimates are of
    daily quantities whatever the candles, so shorter candles are grouped into their UTC days first."""
    assert panel.high is not None and panel.low is not None
    n = panel.per_day
    if n == 1:
        return panel.close, panel.high, panel.low, rows
    pad = panel.first_day % n
    days = -(-(pad + panel.days) // n)

    def grouped(a: np.ndarray) -> np.ndarray:
        g = np.full((days * n, a.shape[1]), np.nan)
        g[pad:pad + panel.days] = a
        return g.reshape(days, n, a.shape[1])
    traded = ~np.isnan(grouped(panel.close)).all(axis=1)
    close = np.where(traded, grouped(panel.price)[:, -1], np.nan)  # the day's last close, carried within it
    high, low = np.fmax.reduce(grouped(panel.high), axis=1), np.fmin.reduce(grouped(panel.low), axis=1)
    return close, high, low, _day_index(panel, rows)


def _day_index(panel: Panel, rows: np.ndarray) -> np.ndarray:
    """Each row's last UTC day closed at its close, counted from the panel's first (partial) day; -1: none yet."""
    n = panel.per_day
    return rows if n == 1 else (panel.first_day % n + rows + 1) // n - 1


KNOWN = "volume model inputs"  # the panel's memo key: (day, column) keys ascending, their spread and σ


def model_inputs(panel: Panel, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Half-spread and σ_daily for each (row, column) pair, from the SPREAD_DAYS and SIGMA_DAYS days up to it.

    Only the windows asked for are read: a run needs a few symbols a trade, not the whole panel. What was worked
    out is kept with the panel (a few arrays of the pairs asked for), so runs on the same panel (a sweep, the
    capacity curve, runs from the dashboard) read again only the pairs no run has asked for yet."""
    if panel.high is None or panel.low is None:
        raise UserError("the volume cost model needs the candles' highs and lows, which this panel lacks")
    # Day-major keys: a run asks trade after trade, so its keys come nearly sorted and the search stays local
    keys = (_day_index(panel, rows).astype(np.int64) + 1) * len(panel.symbols) + cols
    known = panel.recall(KNOWN)
    if known is None or not len(known[0]):
        spread, sigma = _read_windows(panel, rows, cols)
        _remember(panel, known, keys, spread, sigma)
        return spread, sigma
    known_keys, known_spread, known_sigma = known
    at = np.minimum(np.searchsorted(known_keys, keys), len(known_keys) - 1)
    hit = known_keys[at] == keys
    spread, sigma = known_spread[at], known_sigma[at]
    if not hit.all():
        missing = ~hit
        spread[missing], sigma[missing] = _read_windows(panel, rows[missing], cols[missing])
        _remember(panel, known, keys[missing], spread[missing], sigma[missing])
    return spread, sigma


def _remember(panel: Panel, known: tuple[np.ndarray, ...] | None, keys: np.ndarray, spread: np.ndarray,
              sigma: np.ndarray) -> None:
    """Merge newly read pairs into what the panel keeps. The kept arrays are replaced whole, never changed: two
    runs in threads remembering at once keep one merge, and the other's pairs are read again when next asked."""
    if known is not None:
        keys, spread, sigma = (np.concatenate(a) for a in zip(known, (keys, spread, sigma)))
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    first = np.r_[True, keys[1:] != keys[:-1]]  # a pair asked twice is kept once
    panel.keep(KNOWN, (keys[first], spread[order][first], sigma[order][first]))


def _read_windows(panel: Panel, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """model_inputs read from the panel: each (row, column) pair's windows, each day of them read once."""
    closes, highs, lows, days = _days(panel, rows)
    order = np.lexsort((days, cols))
    cell_days, cell_cols, ends = _cells(days[order], cols[order], max(SPREAD_DAYS, SIGMA_DAYS))
    at = np.maximum(cell_days, 0) * closes.shape[1] + cell_cols  # flat: faster than 2-D indexing
    close, high, low = (np.take(a, at) for a in (closes, highs, lows))
    before = cell_days < 0  # windows reaching back before the panel's first day
    if before.any():
        close[before] = high[before] = low[before] = np.nan
    products, returns = np.full(len(at), np.nan), np.full(len(at), np.nan)  # a run's first cell: never read
    with np.errstate(invalid="ignore", divide="ignore"):
        c, eta = np.log(close), (np.log(high) + np.log(low)) / 2.0
        np.multiply(c[:-1] - eta[:-1], c[:-1] - eta[1:], out=products[1:])
        np.log(close[1:] / close[:-1], out=returns[1:])
    returns[~np.isfinite(returns)] = np.nan
    terms = np.zeros((3, len(at)))  # the products, the returns and their squares, 0 where NaN
    np.copyto(terms[0], products, where=~np.isnan(products))
    np.copyto(terms[1], returns, where=~np.isnan(returns))
    np.multiply(terms[1], terms[1], out=terms[2])
    # Row by row: gathering from a 2-D array's rows is several times slower than from 1-D arrays
    total, n = _window_sums(terms[0], ends, SPREAD_DAYS), _window_counts(~np.isnan(products), ends, SPREAD_DAYS)
    returns_sum, squares = (_window_sums(row, ends, SIGMA_DAYS) for row in terms[1:])
    m = _window_counts(~np.isnan(returns), ends, SIGMA_DAYS)
    spread, sigma = np.empty(len(order)), np.empty(len(order))
    mean = np.divide(total, n, out=np.zeros_like(total), where=n > 0)
    spread[order] = _half_spread_at(mean)
    mean = np.divide(returns_sum, m, out=np.zeros_like(m), where=m > 0)
    # Σ(r − mean)² as Σr² − n·mean²: daily returns' mean is small beside their spread, so little cancels
    deviation = np.maximum(squares - m * mean * mean, 0.0)
    sigma[order] = np.sqrt(np.divide(deviation, m - 1, out=np.zeros_like(m), where=m > 1))
    return spread, sigma


def pair_costs(panel: Panel, rows: np.ndarray, cols: np.ndarray, k: float) -> tuple[np.ndarray, np.ndarray]:
    """The half-spread and the impact's scale k·σ/√volume for each (signal row, column) pair."""
    spread, sigma = model_inputs(panel, rows, cols)
    volume = panel.volume_mean[rows, cols]  # only the pairs asked for: the whole (trades, symbols) grid is 10x
    # No volume at all (a coin that stopped trading): the cap, unless k or σ makes impact nil anyway.
    ks = k * sigma
    return spread, np.divide(ks, np.sqrt(volume), out=np.where(ks > 0, np.inf, 0.0), where=volume > 0)


@dataclass(frozen=True)
class VolumeCosts:
    """The volume model at each trade's signal row, shape (trades, symbols): the half-spread, and the impact's
    scale k·σ/√volume (so an order of Q quote pays scale·√Q; infinite where the symbol has no volume)."""

    half_spread: np.ndarray
    scale: np.ndarray

    @classmethod
    def at(cls, panel: Panel, signal_rows: np.ndarray, traded: np.ndarray, k: float) -> VolumeCosts:
        """The model for the symbols each trade may touch (`traded`, a (trades, symbols) mask); others stay 0."""
        spread, scale = np.zeros(traded.shape), np.zeros(traded.shape)
        trade, cols = np.nonzero(traded)
        spread[trade, cols], scale[trade, cols] = pair_costs(panel, signal_rows[trade], cols, k)
        return cls(spread, scale)

    def fractions(self, trade: int, cols: np.ndarray, notional: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(half-spread, impact) as fractions of each order's value, for orders of `notional` quote.

        ∞ × 0 for an order of nothing is NaN, and fmin takes the cap (times 0 quote): the caller runs its loop
        under np.errstate(invalid="ignore"), as entering it per call would cost more than the arithmetic."""
        # The row first, then the columns: [trade][cols] is a view and a gather, 3x faster than [trade, cols].
        return self.half_spread[trade][cols], np.fmin(self.scale[trade][cols] * np.sqrt(notional), MAX_IMPACT)
