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


def _window_sums(values: np.ndarray, rows: np.ndarray, window: int) -> np.ndarray:
    """Sums over each of `rows`' last `window` rows (fewer at the start), from one cumulative sum."""
    total = np.cumsum(values, axis=0)
    out = total[rows]
    before = rows - window
    out[before >= 0] -= total[before[before >= 0]]
    return out


def _trailing_means(values: tuple[np.ndarray, ...], rows: np.ndarray, window: int) -> tuple[np.ndarray, ...]:
    """Means of the non-NaN values (NaN in the first array marks a gap in all) over each of `rows`' last
    `window` rows, then how many values there were."""
    seen = ~np.isnan(values[0])
    counts = _window_sums(seen.astype(np.float64), rows, window)
    sums = [_window_sums(np.where(seen, v, 0.0), rows, window) for v in values]
    return (*(np.divide(m, counts, out=np.zeros_like(m), where=counts > 0) for m in sums), counts)


def spread_products(close: np.ndarray, high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """Abdi–Ranaldo's (c_{t−1} − η_{t−1})(c_{t−1} − η_t) per row t (known at t's close); NaN at row 0 or a gap."""
    with np.errstate(invalid="ignore", divide="ignore"):
        c, eta = np.log(close), (np.log(high) + np.log(low)) / 2.0
    products = (c[:-1] - eta[:-1]) * (c[:-1] - eta[1:])
    return np.concatenate([np.full((1, close.shape[1]), np.nan), products])


def half_spreads(close: np.ndarray, high: np.ndarray, low: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Half the Abdi–Ranaldo spread at these rows per symbol, over their last SPREAD_DAYS days: √max(mean, 0)."""
    mean, _ = _trailing_means((spread_products(close, high, low),), rows, SPREAD_DAYS)
    return np.minimum(np.sqrt(np.maximum(mean, 0.0)), MAX_HALF_SPREAD)


def daily_sigma(close: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Standard deviation of daily log returns over SIGMA_DAYS days at these rows per symbol; 0 below two."""
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.log(close[1:] / close[:-1])
    r = np.concatenate([np.full((1, close.shape[1]), np.nan), r])
    r[~np.isfinite(r)] = np.nan
    mean, squares, n = _trailing_means((r, r * r), rows, SIGMA_DAYS)
    var = np.divide((squares - mean * mean) * n, n - 1, out=np.zeros_like(n), where=n > 1)
    return np.sqrt(np.maximum(var, 0.0))


@dataclass(frozen=True)
class VolumeCosts:
    """The volume model's inputs at each trade's signal row, shape (trades, symbols)."""

    half_spread: np.ndarray
    sigma: np.ndarray
    volume: np.ndarray
    k: float

    @classmethod
    def at(cls, panel: Panel, signal_rows: np.ndarray, cols: np.ndarray, k: float) -> VolumeCosts:
        """The inputs at these rows for the columns a run ever trades (others stay 0: never asked for).

        Only the rows the trailing windows reach are read, so a run over part of a long panel pays for its part.
        """
        if panel.high is None or panel.low is None:
            raise UserError("the volume cost model needs the candles' highs and lows, which this panel lacks")
        shape = (len(signal_rows), len(panel.symbols))
        spread, sigma, volume = np.zeros(shape), np.zeros(shape), np.zeros(shape)
        if len(signal_rows) and len(cols):
            lo = max(int(signal_rows.min()) - max(SPREAD_DAYS, SIGMA_DAYS), 0)
            part = slice(lo, int(signal_rows.max()) + 1)
            close, at = panel.close[part, cols], signal_rows - lo
            spread[:, cols] = half_spreads(close, panel.high[part, cols], panel.low[part, cols], at)
            sigma[:, cols] = daily_sigma(close, at)
            volume[:, cols] = panel.volume_mean[signal_rows][:, cols]
        return cls(spread, sigma, volume, k)

    def fractions(self, trade: int, cols: np.ndarray, notional: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(half-spread, impact) as fractions of each order's value, for orders of `notional` quote."""
        volume, scale = self.volume[trade, cols], self.k * self.sigma[trade, cols]
        share = np.divide(notional, volume, out=np.zeros(len(cols)), where=volume > 0)
        # No volume at all (a coin that stopped trading): the cap, unless k or σ makes impact nil anyway.
        impact = np.where(volume > 0, scale * np.sqrt(share), np.where(scale > 0, MAX_IMPACT, 0.0))
        return self.half_spread[trade, cols], np.minimum(impact, MAX_IMPACT)
