"""Full mode's cash under the volume model, trade after trade (pure, NumPy): the recursion and a faster solver.

Every trade sells the last trade's picks and spends a share v of the cash equally on its own, so the cash after
trade k's sells is a function of the cash after trade k-1's alone: c[k+1] = g_k(c[k]). Each g_k is smooth but for
the impact's cap (its square-root impact makes it nonlinear), so the plain way is a loop, trade by trade and pick
by pick (cash_steps). solve_cash finds the same sequence for all trades at once by Newton's method on the system
log c[k+1] − log g_k(c[k]) = 0: the Jacobian is lower bidiagonal, so each step is a first-order linear recurrence,
solved by a cumulative product and sum, and every iteration is a few NumPy passes over the (trade, pick) pairs.
It stops once the last correction is tiny (the next would be of its square), and gives up (None: the caller
loops) when it does not get there in MAX_NEWTON steps.
"""
from __future__ import annotations

from math import sqrt

import numpy as np

from .execution import MAX_IMPACT

MAX_NEWTON = 12
# The largest correction, relative to the cash it corrects, after which the iterate is taken: Newton's next one
# would be of the order of its square, far below rounding (a correction itself never gets below the rounding of
# the residuals it is made of, which add up along the chain of trades).
_CONVERGED = 1e-12


def cash_steps(capital: float, fv: tuple[float, float], count: list[int],
               columns: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The recursion pick by pick: each pick's units, each trade's spend per pick and the cash it kept.

    `columns` are, per (trade, pick) pair in trade order: the buy price, the sell price (the next trade's), the
    buy's 1 + slippage + half-spread and impact scale, the sell's 1 − slippage − half-spread and impact scale.
    Plain floats and lists: a trade has about ten picks, where each NumPy call costs more than its arithmetic.
    An impact of ∞ × 0 (an order of nothing in a symbol without volume) is NaN, and takes the cap as np.fmin
    would; it is paid on 0 quote."""
    f, v = fv
    bought, sold_at, buy_base, buy_scale, sell_keep, sell_scale = (a.tolist() for a in columns)
    units: list[float] = []
    spend, kept = [0.0] * len(count), [0.0] * len(count)
    cash, a = capital, 0
    for k, n in enumerate(count):
        if k:  # sell the last trade's picks at this trade's prices
            gross = 0.0
            for i in range(a - count[k - 1], a):
                value = units[i] * sold_at[i]
                impact = sell_scale[i] * sqrt(value)
                gross += value * (sell_keep[i] - (impact if impact < MAX_IMPACT else MAX_IMPACT))
            cash += gross - gross * f
        spend[k] = each = cash * v / n
        root = sqrt(each)
        for i in range(a, a + n):
            impact = buy_scale[i] * root
            paid = buy_base[i] + (impact if impact < MAX_IMPACT else MAX_IMPACT)
            units.append(each / (bought[i] * paid) * (1.0 - f))
        kept[k] = cash = cash - each * n
        a += n
    return np.array(units), np.array(spend), np.array(kept)


def stepped_cash(capital: float, fv: tuple[float, float], pr: np.ndarray, count: np.ndarray,
                 columns: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """cash_steps' units, spends and kept cash: by solve_cash when it converges, else by the loop."""
    solved = solve_cash(capital, fv, pr, count, columns)
    return solved if solved is not None else cash_steps(capital, fv, count.tolist(), columns)


def solve_cash(capital: float, fv: tuple[float, float], pr: np.ndarray, count: np.ndarray,
               columns: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """cash_steps' results from Newton's method over all trades at once; None when it does not converge.

    `pr` is each pair's trade (ascending), `count` each trade's picks (all ≥ 1)."""
    f, v = fv
    n = count.astype(np.float64)
    cash = _start(capital, (f, v), pr, n, columns)
    with np.errstate(all="ignore"):
        for _ in range(MAX_NEWTON):
            after, slope = _next_cash(cash, (f, v), pr, n, columns)
            # In logs, log c[k+1] − log g_k(c[k]) = 0, whose terms are nearly a shift (g is c times a factor that
            # the impact bends only slightly), so the far start converges fast. The correction d solves
            # d[k+1] = elasticity[k] d[k] − residual[k+1] with d[0] = 0: a cumulative product and sum.
            residual = np.log(cash[1:]) - np.log(after[:-1])
            growth = np.cumprod((slope * cash / after)[:-1])
            correction = growth * np.cumsum(-residual / growth)
            if not np.all(np.isfinite(correction)):
                return None
            cash[1:] *= np.exp(correction)
            if np.all(np.abs(correction) <= _CONVERGED):
                units, spend, kept, _, _ = _trades(cash, (f, v), pr, n, columns)
                return units, spend, kept
    return None


def _start(capital: float, fv: tuple[float, float], pr: np.ndarray, n: np.ndarray,
           columns: tuple[np.ndarray, ...]) -> np.ndarray:
    """The cash without impact, in closed form (each g_k is then linear): Newton's starting point."""
    f, v = fv
    bought, sold_at, buy_base, _, sell_keep, _ = columns
    per_cash = np.bincount(pr, weights=sold_at * sell_keep / (bought * buy_base), minlength=len(n))
    growth = (1.0 - v) + (1.0 - f) ** 2 * v / n * per_cash
    return capital * np.concatenate([[1.0], np.cumprod(growth[:-1])])


def _trades(cash: np.ndarray, fv: tuple[float, float], pr: np.ndarray, n: np.ndarray,
            columns: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Given each trade's cash before it buys: the pairs' units, the spends, the kept cash, and per pair the
    value sold, its gross and the pieces of its derivative. The same arithmetic as cash_steps, pair by pair."""
    f, v = fv
    bought, sold_at, buy_base, buy_scale, sell_keep, sell_scale = columns
    spend = cash * v / n
    each = spend[pr]
    impact = buy_scale * np.sqrt(each)
    capped = ~(impact < MAX_IMPACT)  # NaN (∞ × 0) takes the cap, as in the loop
    paid = buy_base + np.where(capped, MAX_IMPACT, impact)
    units = each / (bought * paid) * (1.0 - f)
    kept = cash - spend * n
    value = units * sold_at
    sell_impact = sell_scale * np.sqrt(value)
    sell_capped = ~(sell_impact < MAX_IMPACT)
    keep = sell_keep - np.where(sell_capped, MAX_IMPACT, sell_impact)
    # d(value)/d(each) = value/each × (1 − impact / 2paid) below the cap;
    # d(value × keep)/d(value) = keep − impact/2
    dvalue = value / np.where(each > 0, each, 1.0) * (1.0 - np.where(capped, 0.0, impact) / (2.0 * paid))
    dgross = dvalue * (keep - np.where(sell_capped, 0.0, sell_impact) / 2.0)
    return units, spend, kept, value * keep, dgross


def _next_cash(cash: np.ndarray, fv: tuple[float, float], pr: np.ndarray, n: np.ndarray,
               columns: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
    """g_k(cash[k]) for every trade k (the cash after the next trade's sells) and its derivative."""
    f, v = fv
    _, spend, kept, gross, dgross = _trades(cash, fv, pr, n, columns)
    sold = np.bincount(pr, weights=gross, minlength=len(n))
    slope = (1.0 - v) + (1.0 - f) * v / n * np.bincount(pr, weights=dgross, minlength=len(n))
    return kept + (sold - sold * f), slope
