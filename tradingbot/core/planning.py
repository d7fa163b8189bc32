"""Rebalance planning (pure): which market orders take the book to the equal-weight target.

Sells are planned first from the holdings; buys are planned afterwards from the cash the
sells actually produced, so a slipped or partly rejected sell never leads to over-spending.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Iterable, Mapping, Sequence

from .costs import Costs
from .domain import QUOTE_UNIT, ZERO, Plan, PlannedOrder, Position, Side, SkippedOrder, SymbolRules
from .money import floor_to_step


@dataclass(frozen=True)
class Book:
    """What the account holds now, by asset, and the rules and prices needed to trade it."""

    quote: str
    cash: Decimal
    holdings: Mapping[str, Decimal]  # base asset -> quantity (the quote asset excluded)
    rules: Mapping[str, SymbolRules]  # symbol -> rules
    prices: Mapping[str, Decimal]  # symbol -> last price

    def symbol_of(self, asset: str) -> str:
        return asset + self.quote

    def value_of(self, asset: str) -> Decimal:
        price = self.prices.get(self.symbol_of(asset))
        return self.holdings.get(asset, ZERO) * price if price else ZERO

    @property
    def equity(self) -> Decimal:
        return self.cash + sum((self.value_of(a) for a in self.holdings), ZERO)


def book_from(quote: str, balances: Mapping[str, Decimal], rules: Mapping[str, SymbolRules],
              prices: Mapping[str, Decimal]) -> Book:
    """A Book from venue balances: the quote balance is cash, every other positive balance a holding."""
    holdings = {a: q for a, q in balances.items() if a != quote and q > 0}
    return Book(quote, balances.get(quote, ZERO), holdings, rules, prices)


def target_value(book: Book, targets: Sequence[str], invest_fraction: Decimal) -> Decimal:
    """Equal weight: the invested share of equity split over the chosen symbols."""
    return book.equity * invest_fraction / len(targets) if targets else ZERO


def plan_sells(book: Book, targets: Sequence[str], mode: str, invest_fraction: Decimal, costs: Costs) -> Plan:
    """Full mode sells every holding; delta mode sells non-targets and trims overweight targets."""
    orders: list[PlannedOrder] = []
    skipped: list[SkippedOrder] = []
    goal = target_value(book, targets, invest_fraction)
    for asset in sorted(book.holdings):
        symbol = book.symbol_of(asset)
        held = book.holdings[asset]
        if held <= 0:
            continue
        if mode == "full" or symbol not in targets:
            wanted = held
        else:
            price = book.prices.get(symbol)
            excess = book.value_of(asset) - goal
            if not price or excess <= 0:
                continue
            wanted = min(held, excess / price)
        _size(book, symbol, Side.SELL, wanted, None, costs, orders, skipped)
    return Plan(tuple(orders), tuple(skipped))


def plan_buys(book: Book, targets: Sequence[str], invest_fraction: Decimal, costs: Costs) -> Plan:
    """Buy each target up to its equal-weight value, scaled down to the cash actually available."""
    goal = target_value(book, targets, invest_fraction)
    needs = {s: goal - book.value_of(book.rules[s].base if s in book.rules else s) for s in targets}
    needs = {s: n for s, n in needs.items() if n > 0}
    total = sum(needs.values(), ZERO)
    scale = min(Decimal(1), book.cash / total) if total > 0 else ZERO
    orders: list[PlannedOrder] = []
    skipped: list[SkippedOrder] = []
    for symbol in sorted(needs):
        # Quote amounts are floored to the quote asset's precision, so their sum never exceeds cash.
        spend = floor_to_step(needs[symbol] * scale, QUOTE_UNIT)
        price = book.prices.get(symbol)
        wanted = spend / _fill_estimate(price, Side.BUY, costs) if price else ZERO
        _size(book, symbol, Side.BUY, wanted, spend, costs, orders, skipped)
    return Plan(tuple(orders), tuple(skipped))


def _fill_estimate(price: Decimal, side: Side, costs: Costs) -> Decimal:
    """The price sized against: the costs' slippage estimated; the venue decides the real price and fee."""
    move = costs.slippage
    return price * (1 + move) if side is Side.BUY else price * (1 - move)


def _size(
    book: Book,
    symbol: str,
    side: Side,
    wanted: Decimal,
    spend: Decimal | None,
    costs: Costs,
    orders: list[PlannedOrder],
    skipped: list[SkippedOrder],
) -> None:
    """Round a wanted quantity down to the lot step; keep it only if every filter passes."""
    rules = book.rules.get(symbol)
    price = book.prices.get(symbol)
    if rules is None or price is None or not rules.trading:
        status = rules.status if rules else "not listed"
        skipped.append(SkippedOrder(symbol, side, wanted, ZERO, f"cannot trade: {status}"))
        return
    est_price = _fill_estimate(price, side, costs)
    qty = floor_to_step(wanted, rules.step_size)
    capped = rules.max_qty > 0 and qty > rules.max_qty
    if capped:
        qty = floor_to_step(rules.max_qty, rules.step_size)
    notional = qty * est_price
    problem = lot_problem(qty, est_price, rules)
    if problem:
        below_qty = qty <= 0 or qty < rules.min_qty  # then the whole wanted quantity is what stays
        skipped.append(SkippedOrder(symbol, side, wanted if below_qty else qty,
                                    wanted * est_price if below_qty else notional, problem))
    else:
        quote_amount = None if spend is None else min(spend, book.cash)
        if capped and quote_amount is not None:  # or the venue would size the buy past max_qty
            quote_amount = min(quote_amount, floor_to_step(notional, QUOTE_UNIT))
        orders.append(PlannedOrder(symbol, side, qty, quote_amount, est_price, notional * costs.fee_rate))


def plan_preview(book: Book, targets: Sequence[str], mode: str, invest_fraction: Decimal,
                 costs: Costs) -> tuple[Plan, Plan]:
    """Sells, then the buys they would leave cash for if every sell filled at its estimated price."""
    sells = plan_sells(book, targets, mode, invest_fraction, costs)
    buys = plan_buys(after_sells(book, sells, costs), targets, invest_fraction, costs) if targets else Plan(())
    return sells, buys


def picks_unchanged(full_sells: Plan, targets: Sequence[str]) -> bool:
    """Full mode would sell exactly the coins it buys back: the picks are the holdings."""
    return bool(targets) and {o.symbol for o in full_sells.orders} == set(targets)


def below_minimum(reason: str) -> bool:
    """The skip was lot_problem's: the lot is under the venue's minimum quantity or notional."""
    return reason.startswith("below minimum")


def lot_problem(qty: Decimal, price: Decimal, rules: SymbolRules) -> str:
    """Why a lot of qty (already a multiple of the step) cannot be traded at price: '' when it can."""
    if qty <= 0 or qty < rules.min_qty:
        return f"below minimum quantity {rules.min_qty}"
    if qty * price < rules.min_notional:
        return f"below minimum notional {rules.min_notional} {rules.quote}"
    return ""


def is_dust(quantity: Decimal, price: Decimal | None, rules: SymbolRules | None) -> bool:
    """Dust: a holding that cannot be sold at this price (no whole lot, or one below min qty or notional).

    The one definition every report, chart and the /dust conversion use. A holding without rules or
    price (delisted, never priced) is not dust: it cannot be judged, so it stays in sight as a position.
    """
    if rules is None or price is None or quantity <= 0:
        return False
    return bool(lot_problem(floor_to_step(quantity, rules.step_size), price, rules))


def flag_dust(positions: Iterable[Position], rules: Mapping[str, SymbolRules], quote: str) -> list[Position]:
    """The positions with their dust flag set from the venue's rules (symbol = asset + quote)."""
    return [replace(p, dust=is_dust(p.quantity, p.price, rules.get(p.asset + quote))) for p in positions]


def after_sells(book: Book, sells: Plan, costs: Costs) -> Book:
    """The book as it would be if every planned sell filled at its estimated price."""
    holdings = dict(book.holdings)
    cash = book.cash
    for o in sells.orders:
        asset = book.rules[o.symbol].base
        holdings[asset] = holdings.get(asset, ZERO) - o.quantity
        cash += o.est_notional * (1 - costs.fee_rate)
    return replace(book, cash=cash, holdings={a: q for a, q in holdings.items() if q > 0})
