"""The portfolio over the backtest window, marked at every candle's close (pure, NumPy).

The arithmetic is the live engine's planning without lot sizes, each pick's target being equity ×
invest_fraction / n (the rest stays cash): full mode sells every holding and spends cash × invest_fraction
/ n on each pick (in closed form, as cash compounds by one factor a period); delta mode sells non-picks,
trims overweight picks to their target, then buys the shortfalls from the cash the sells produced (scaled
down if it is short), one rebalance at a time.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..costs import Costs
from .config import BacktestConfig, allowed_columns, signal_rows, window
from .execution import MAX_IMPACT, VolumeCosts, pair_costs
from .panel import Panel
from .signals import ranked_picks
from .stepped_cash import stepped_cash


@dataclass
class _Fills:
    """The run's fills at its costs (as floats, for NumPy) and what they added up to."""

    fee: float
    slip: float
    model: VolumeCosts | None = None  # the volume cost model's spread and impact; None: flat
    trade: int = 0  # the trade being filled: the volume model's row
    fees: float = 0.0
    slippage: float = 0.0  # quote lost to slippage_bps
    spread: float = 0.0  # to the volume model's half-spread
    impact: float = 0.0  # to its market impact
    traded: float = 0.0  # quote value of every fill, buys and sells
    fills: int = 0

    @classmethod
    def at(cls, costs: Costs, model: VolumeCosts | None = None) -> _Fills:
        return cls(float(costs.fee_rate), float(costs.slippage), model)

    def sell(self, q: np.ndarray, qty: np.ndarray, cols: np.ndarray, px: np.ndarray) -> float:
        """Sell qty[cols] at px less slippage (and the volume model's spread and impact); returns the cash
        received after fees."""
        value = qty[cols] * px[cols]
        if self.model is None:
            gross = float(qty[cols] @ px[cols]) * (1.0 - self.slip)
        else:
            spread, impact = self.model.fractions(self.trade, cols, value)
            gross = float(value @ (1.0 - self.slip - spread - impact))
            self.spread += float(value @ spread)
            self.impact += float(value @ impact)
        self.slippage += float(value.sum()) * self.slip
        fee = gross * self.fee
        q[cols] -= qty[cols]
        self.fees, self.traded, self.fills = self.fees + fee, self.traded + gross, self.fills + len(cols)
        return gross - fee

    def buy(self, q: np.ndarray, cols: np.ndarray, spend: np.ndarray, px: np.ndarray) -> float:
        """Spend quote amounts at px plus slippage (and the volume model's spread and impact); the fee comes off
        the units received. Each cost is its share of what the spend lost against the price: spend × c / (1 + Σc)."""
        total = float(spend.sum())
        if self.model is None:
            q[cols] += spend / (px[cols] * (1.0 + self.slip)) * (1.0 - self.fee)
            self.slippage += total * self.slip / (1.0 + self.slip)
        else:
            spread, impact = self.model.fractions(self.trade, cols, spend)
            paid = 1.0 + self.slip + spread + impact
            q[cols] += spend / (px[cols] * paid) * (1.0 - self.fee)
            self.slippage += float(spend @ (self.slip / paid))
            self.spread += float(spend @ (spread / paid))
            self.impact += float(spend @ (impact / paid))
        self.fees, self.traded, self.fills = self.fees + total * self.fee, self.traded + total, self.fills + len(cols)
        return total


def _delta(q: np.ndarray, cash: float, px: np.ndarray, cols: np.ndarray, invest: float, costs: _Fills) -> float:
    n = len(cols)
    value = q * px
    goal = (cash + float(value.sum())) * invest / n
    target = np.zeros(len(q), dtype=bool)
    target[cols] = True
    # Non-picks go entirely; a pick above its target sells the excess (at the mid price, as planned live).
    excess = np.where(target, np.maximum(value - goal, 0.0), 0.0)
    wanted = np.where(target, np.divide(excess, px, out=np.zeros_like(px), where=px > 0), q)
    sold = np.flatnonzero(wanted > 0)
    if sold.size:
        cash += costs.sell(q, wanted, sold, px)
        q[sold[~target[sold]]] = 0.0
    goal = (cash + float(q @ px)) * invest / n
    need = goal - q[cols] * px[cols]
    short = need > 0
    total = float(need[short].sum())
    if total <= 0:
        return cash
    return cash - costs.buy(q, cols[short], need[short] * min(1.0, cash / total), px)


@dataclass(frozen=True)
class Run:
    """One backtest's path from the first to the last row of its window (a mark per candle)."""

    config: BacktestConfig
    first_row: int
    equity: np.ndarray  # after the row's trades, at its closes
    holdings: np.ndarray  # symbols held at each row's end
    trade_rows: np.ndarray  # rows (panel rows) on which the portfolio traded
    fees: float
    traded: float
    fills: int
    last_picks: tuple[str, ...]
    slippage: float = 0.0  # slippage_bps's part of the costs, in quote
    spread: float = 0.0  # the volume model's half-spreads, in quote
    impact: float = 0.0  # the volume model's market impact, in quote
    per_day: int = 1  # candles in a day

    @property
    def day_ends(self) -> np.ndarray:
        """Indices into equity of the marks at each UTC day's close (every one on daily candles)."""
        return np.arange(self.per_day - 1, len(self.equity), self.per_day)

    @property
    def daily_equity(self) -> np.ndarray:
        return self.equity if self.per_day == 1 else self.equity[self.day_ends]


def _fill_prices(panel: Panel, rows: np.ndarray | int, cols: np.ndarray | slice, at_open: bool) -> np.ndarray:
    """Fill prices at (rows, cols): the close (delay 0), or the open, else the carried close (a later fill)."""
    if not at_open:
        return panel.price0[rows, cols]
    opens = np.where(panel.has[rows, cols], panel.open[rows, cols], panel.price0[rows, cols])
    return np.nan_to_num(opens, nan=0.0)


def simulate(panel: Panel, config: BacktestConfig, allowed: np.ndarray | None = None) -> Run:
    """Rebalance at the signal rows' closes (config.signal_rows); mark equity at every candle's close."""
    p = config.params
    first, last = window(panel, config)
    lookback = config.lookback_rows(panel)
    offset, at_open = config.fill_offset(panel)
    signals = signal_rows(panel, config, first, last)
    signals = signals[(signals >= first) & (signals + offset <= last)]
    allowed = allowed_columns(panel, p) if allowed is None else allowed
    filters = (p.min_age_days, float(p.min_quote_volume), allowed)
    pr, pc = ranked_picks(panel, signals, lookback, filters, p.topn, p.strategy)
    count = np.bincount(pr, minlength=len(signals))
    trading = count > 0  # nobody eligible: the rebalance is skipped and the holdings kept, as live
    fired = signals[trading]
    trades, count, pr = fired + offset, count[trading], (np.cumsum(trading) - 1)[pr]  # pr: now the trade's index
    if p.mode == "full" and len(trades):
        if not config.execution.volume:
            return _full_path(panel, config, first, last, trades, at_open, (pr, pc, count))
        return _full_stepped(panel, config, first, last, (fired, trades), at_open, (pr, pc, count))
    model = None
    if config.execution.volume:  # a trade sells only the last trade's picks and buys only its own
        picks = _matrix(pr, pc, panel, trades)
        traded = picks | np.vstack([np.zeros_like(picks[:1]), picks[:-1]])
        model = VolumeCosts.at(panel, fired, traded, config.execution.impact_k)
    bounds = np.searchsorted(pr, np.arange(len(trades) + 1))
    costs = _Fills.at(config.costs, model)
    price0 = panel.price0
    q = np.zeros(len(panel.symbols))
    cash = config.capital
    equity = np.empty(last - first + 1)
    held = np.zeros(last - first + 1, dtype=np.int64)
    done, traded_rows, cols = first, [], np.empty(0, dtype=np.int64)
    with np.errstate(invalid="ignore" if model else None):  # see VolumeCosts.fractions
        for k, row in enumerate(trades.tolist()):
            cols = pc[bounds[k]:bounds[k + 1]]
            if row > done:
                equity[done - first:row - first] = cash + price0[done:row] @ q
                held[done - first:row - first] = np.count_nonzero(q)
            costs.trade = k
            px = _fill_prices(panel, row, slice(None), at_open)
            cash = _delta(q, cash, px, cols, float(p.invest_fraction), costs)
            equity[row - first] = cash + float(price0[row] @ q)
            held[row - first] = np.count_nonzero(q)
            done = row + 1
            traded_rows.append(row)
    if done <= last:
        equity[done - first:] = cash + price0[done:last + 1] @ q
        held[done - first:] = np.count_nonzero(q)
    names = tuple(panel.symbols[c] for c in np.flatnonzero(q))
    return Run(config, first, equity, held, np.array(traded_rows, dtype=np.int64), costs.fees, costs.traded,
               costs.fills, names, costs.slippage, costs.spread, costs.impact, panel.per_day)


def _matrix(pr: np.ndarray, pc: np.ndarray, panel: Panel, trades: np.ndarray) -> np.ndarray:
    """The picks as a (trade, symbol) mask."""
    picks = np.zeros((len(trades), len(panel.symbols)), dtype=bool)
    picks[pr, pc] = True
    return picks


def _full_path(panel: Panel, config: BacktestConfig, first: int, last: int, trades: np.ndarray, at_open: bool,
               pairs: tuple[np.ndarray, np.ndarray, np.ndarray]) -> Run:
    """Full mode without a loop: everything is sold at each trade, so cash compounds by one factor a period.

    With a share v of the cash invested, cash after the sells of trade k is C[k] = C[k-1] × ((1-v) + v ×
    (1-f)²(1-s)/(1+s) × the mean price relative of period k-1's picks): the step-by-step arithmetic of the
    spec, in closed form (a test checks it against a plain day-by-day loop). Prices and units are held per
    (trade, pick) pair, not per (trade, symbol): an hourly run has tens of thousands of trades.
    """
    costs = _Fills.at(config.costs)
    f, s, v = costs.fee, costs.slip, float(config.params.invest_fraction)
    pr, pc, count = pairs  # each pick's trade and column (in trade then column order), picks per trade
    count = count.astype(np.float64)
    following = np.minimum(pr + 1, len(trades) - 1)  # the last period's relative is never used
    bought = _fill_prices(panel, trades[pr], pc, at_open)
    sold_at = _fill_prices(panel, trades[following], pc, at_open)
    relative = np.bincount(pr, weights=sold_at / bought, minlength=len(trades)) / count
    growth = (1 - v) + v * (1 - f) ** 2 * (1 - s) / (1 + s) * relative[:-1]
    cash = config.capital * np.concatenate([[1.0], np.cumprod(growth)])
    kept = cash * (1 - v)  # the share not invested, held as cash through each period
    sold = (cash[1:] - kept[:-1]) / (1 - f)  # gross quote value of the sells that produced each later cash
    units = (cash * v / count)[pr] * (1 - f) / ((1 + s) * bought)
    equity, period, live = _marks(panel, config.capital, (first, last), trades, (pc, units, count), kept)
    held = np.where(live, count[np.maximum(period, 0)], 0).astype(np.int64)
    traded = float(sold.sum() + cash.sum() * v)
    slipped = float(sold.sum()) * s / (1 - s) + float(cash.sum()) * v * s / (1 + s)  # sells at mid, buys' spend
    names = tuple(panel.symbols[c] for c in pc[pr == len(trades) - 1].tolist())
    return Run(config, first, equity, held, trades, f * traded, traded, int(count.sum() + count[:-1].sum()), names,
               slipped, per_day=panel.per_day)


def _marks(panel: Panel, capital: float, span: tuple[int, int], trades: np.ndarray,
           holdings: tuple[np.ndarray, np.ndarray, np.ndarray], kept: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Full mode's equity at every candle of [first, last]: each period's picks held, plus the cash kept; also each
    candle's period (-1 before the first trade) and whether it is past the first trade."""
    first, last = span
    pc, units, count = holdings
    days = np.arange(first, last + 1)
    period = np.searchsorted(trades, days, side="right") - 1
    live = period >= 0
    equity = np.full(len(days), capital)
    equity[live] = _held_value(panel, days[live], period[live], pc, units, count) + kept[period[live]]
    return equity, period, live


def _held_value(panel: Panel, days: np.ndarray, period: np.ndarray, pc: np.ndarray, units: np.ndarray,
                count: np.ndarray) -> np.ndarray:
    """Σ units × price on each day of the holdings of its period, over the (day, pick) pairs only."""
    starts = np.concatenate([[0], np.cumsum(count).astype(np.int64)])  # each period's first pair
    per_day = count[period].astype(np.int64)
    owner = np.repeat(np.arange(len(days)), per_day)
    pair = np.arange(int(per_day.sum())) - np.repeat(np.cumsum(per_day) - per_day - starts[period], per_day)
    return np.bincount(owner, weights=panel.price0[days[owner], pc[pair]] * units[pair], minlength=len(days))


def _full_stepped(panel: Panel, config: BacktestConfig, first: int, last: int,
                  fired_trades: tuple[np.ndarray, np.ndarray], at_open: bool,
                  pairs: tuple[np.ndarray, np.ndarray, np.ndarray]) -> Run:
    """Full mode under the volume model: an order's impact depends on its size, so cash goes one trade at a time,
    but only through each trade's picks (every holding is the last trade's picks, all sold): prices and costs are
    read per (trade, pick) pair up front, the cash recursion is solved over those pairs (stepped_cash.py), and the
    totals and the marks are worked out from its units afterwards, as in _full_path. The model is read for those
    pairs alone."""
    fired, trades = fired_trades
    costs = _Fills.at(config.costs)
    f, s, v = costs.fee, costs.slip, float(config.params.invest_fraction)
    pr, pc, count = pairs  # each pick's trade and column (in trade then column order), picks per trade
    nxt = np.minimum(pr + 1, len(trades) - 1)  # where each pick is sold (the last trade's never are)
    bought, sold_at = (_fill_prices(panel, trades[t], pc, at_open) for t in (pr, nxt))
    spread, scale = pair_costs(panel, fired[np.r_[pr, nxt]], np.r_[pc, pc], config.execution.impact_k)
    model = (spread[:len(pr)], scale[:len(pr)], spread[len(pr):], scale[len(pr):])  # buys', then sells'
    buy_base, buy_scale, sell_keep, sell_scale = 1.0 + s + model[0], model[1], 1.0 - s - model[2], model[3]
    units, spend, kept = stepped_cash(config.capital, (f, v), pr, count,
                                      (bought, sold_at, buy_base, buy_scale, sell_keep, sell_scale))
    fills = _stepped_fills(costs, model, pr, units, spend, bought, sold_at)
    equity, period, live = _marks(panel, config.capital, (first, last), trades, (pc, units, count), kept)
    holding = np.bincount(pr, weights=units != 0, minlength=len(trades))  # an order of nothing holds nothing
    held = np.where(live, holding[np.maximum(period, 0)], 0).astype(np.int64)
    names = tuple(panel.symbols[c] for c in pc[(pr == len(trades) - 1) & (units != 0)])
    return Run(config, first, equity, held, trades, fills.fees, fills.traded, fills.fills, names, fills.slippage,
               fills.spread, fills.impact, panel.per_day)


def _stepped_fills(costs: _Fills, model: tuple[np.ndarray, ...], pr: np.ndarray, units: np.ndarray,
                   spend: np.ndarray, bought: np.ndarray, sold_at: np.ndarray) -> _Fills:
    """_full_stepped's costs added up from its units, pair by pair as _Fills.sell and _Fills.buy count them."""
    f, s = costs.fee, costs.slip
    sold = pr < len(spend) - 1
    value = (units * sold_at)[sold]
    buy_spread, buy_scale, spread, scale = model
    spread, scale = spread[sold], scale[sold]
    with np.errstate(invalid="ignore"):
        impact = np.fmin(scale * np.sqrt(value), MAX_IMPACT)
        each = spend[pr]
        buy_impact = np.fmin(buy_scale * np.sqrt(each), MAX_IMPACT)
    paid = 1.0 + s + buy_spread + buy_impact
    # Sums of products, not `@`: a dot this long starts BLAS threads, which cost more than they save here.
    gross = float((value * (1.0 - s - spread - impact)).sum())
    total = float(each.sum())
    costs.fees, costs.traded = (gross + total) * f, gross + total
    costs.fills = int(np.count_nonzero(units[sold])) + len(pr)
    costs.slippage = float(value.sum()) * s + float((each * (s / paid)).sum())
    costs.spread = float((value * spread).sum()) + float((each * (buy_spread / paid)).sum())
    costs.impact = float((value * impact).sum()) + float((each * (buy_impact / paid)).sum())
    return costs
