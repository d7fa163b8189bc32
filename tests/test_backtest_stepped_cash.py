"""Full mode's cash under the volume model solved for all trades at once (Newton's method, stepped_cash.py) must
be the trade-by-trade recursion: on random trades with impacts far below, near and at their cap, symbols without
volume (an infinite impact scale) and every share of cash invested."""
from __future__ import annotations

import numpy as np
import pytest

from tradingbot.core.backtest import stepped_cash as sc


def trades(seed: int, impact: float, dead: float = 0.0, trades: int = 300):
    rng = np.random.default_rng(seed)
    count = rng.integers(1, 12, trades)
    pr = np.repeat(np.arange(trades), count)
    pairs = len(pr)
    bought = np.exp(rng.normal(0, 3, pairs))
    sold_at = bought * np.exp(rng.normal(0.002, 0.08, pairs))
    spread = rng.uniform(0, 0.01, pairs)
    scale = impact * rng.uniform(0.2, 2.0, (2, pairs))
    scale[:, rng.random(pairs) < dead] = np.inf
    columns = (bought, sold_at, 1.0 + 0.0005 + spread, scale[0], 1.0 - 0.0005 - spread[::-1], scale[1])
    return pr, count, columns


@pytest.mark.parametrize("seed, capital, impact, dead, invest", [
    (0, 1e5, 0.0, 0.0, 1.0), (1, 1e5, 1e-5, 0.0, 1.0), (2, 1e5, 1e-3, 0.0, 0.6),
    (3, 1e11, 1e-4, 0.0, 1.0),  # impact at its cap until the costs have eaten most of the cash
    (4, 1e5, 1e-4, 0.2, 1.0), (5, 1e5, 1e-5, 0.05, 0.3)])
def test_newton_over_all_trades_is_the_trade_by_trade_recursion(seed, capital, impact, dead, invest):
    pr, count, columns = trades(seed, impact, dead)
    fv = (0.001, invest)
    solved = sc.solve_cash(capital, fv, pr, count, columns)
    assert solved is not None  # converged: the fast path is the one taken
    looped = sc.cash_steps(capital, fv, count.tolist(), columns)
    np.testing.assert_allclose(solved[0], looped[0], rtol=1e-12, atol=0)  # units
    np.testing.assert_allclose(solved[1], looped[1], rtol=1e-12, atol=0)  # spends
    # kept: cash − n × spend, all of it spent when invest is 1, leaves a rounding residue of the cash's size
    np.testing.assert_allclose(solved[2], looped[2], rtol=1e-12, atol=1e-15 * (looped[1] * count).max())
    at_cap = columns[3] * np.sqrt(looped[1][pr]) >= sc.MAX_IMPACT
    assert capital < 1e11 or at_cap.sum() > 20  # the cap is really met


def test_when_newton_does_not_converge_the_recursion_answers(monkeypatch):
    pr, count, columns = trades(6, 1e-3)
    monkeypatch.setattr(sc, "MAX_NEWTON", 1)
    assert sc.solve_cash(1e5, (0.001, 1.0), pr, count, columns) is None
    for got, want in zip(sc.stepped_cash(1e5, (0.001, 1.0), pr, count, columns),
                         sc.cash_steps(1e5, (0.001, 1.0), count.tolist(), columns)):
        np.testing.assert_array_equal(got, want)
