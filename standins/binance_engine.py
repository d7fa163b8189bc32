"""The local Binance's matching engine: accounts in memory, market orders filled against the symbol's book.

Written from Binance's rules (the Spot API docs' filters, errors and commission FAQ), not from the product's
paper venue: a market buy by quoteOrderQty walks the asks, a sell by quantity walks the bids, one trade per
level touched; LOT_SIZE and NOTIONAL are checked before matching, a balance shortfall rejects the whole order,
and commission is charged on each trade in the asset received (or in BNB at a discount when enabled).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

from tradingbot.core.domain import Side, SymbolRules
from .binance_book import EIGHT_DECIMALS, Book, Level, Walk, down_to, walk
from .binance_json import ApiError
from .binance_orders import Account, MarketOrder, SimOrder, SimTrade

BNB_DISCOUNT = Decimal("0.75")  # paying commission in BNB costs 25% less
LOT_SIZE = ApiError(400, -1013, "Filter failure: LOT_SIZE")
NOTIONAL = ApiError(400, -1013, "Filter failure: NOTIONAL")
NO_FUNDS = ApiError(400, -2010, "Account has insufficient balance for requested action.")
DUPLICATE = ApiError(400, -2010, "Duplicate order sent.")
MARKET_CLOSED = ApiError(400, -2010, "Market is closed.")
_PREC = 60  # no product or sum of Binance-sized amounts is ever rounded
_ZERO = Decimal(0)


@dataclass(frozen=True)
class Execution:
    """How one order meets the book: a fraction filled before it expires, BNB's price when fees go in BNB."""

    fraction: Decimal | None = None
    bnb_price: Decimal | None = None


@dataclass(frozen=True)
class Match:
    """An order checked against the filters and matched against the book, before any balance moves."""

    qty: Decimal  # the order's size: its quantity, or what its quoteOrderQty buys (sells) from the book
    walk: Walk


class MatchingEngine:
    """Accounts and their orders; ids are sequential across the server, like Binance's."""

    def __init__(self, fee_rate: Decimal):
        self.fee_rate = fee_rate
        self.accounts: dict[str, Account] = {}
        self._order_ids, self._trade_ids = itertools.count(1), itertools.count(1)

    def add_account(self, api_key: str, api_secret: str, balances: dict[str, Decimal]) -> None:
        """Create or replace an account; its orders start empty."""
        self.accounts[api_key] = Account(api_key, api_secret, {a: Decimal(v) for a, v in balances.items()})

    def balances(self, api_key: str) -> dict[str, Decimal]:
        """Non-zero free balances of an account."""
        return {a: v for a, v in sorted(self.accounts[api_key].balances.items()) if v}

    @staticmethod
    def match(order: MarketOrder, rules: SymbolRules, book: Book, mid: Decimal) -> Match:
        """The book's answer to an order, after LOT_SIZE and NOTIONAL (valued at mid, the average price)."""
        side = book.asks if order.side is Side.BUY else book.bids
        step = rules.step_size or EIGHT_DECIMALS
        with localcontext(prec=_PREC):
            matched = walk(side, step, qty=order.quantity, quote=order.quote_qty)
            qty = order.quantity if order.quantity is not None else matched.qty
            if qty <= 0 or down_to(qty, step) != qty or qty < rules.min_qty or 0 < rules.max_qty < qty:
                raise LOT_SIZE
            if qty * mid < rules.min_notional:
                raise NOTIONAL
        return Match(qty, matched)

    def place(self, account: Account, order: MarketOrder, rules: SymbolRules, book: Book, mid: Decimal,
              now_ms: int, how: Execution = Execution()) -> SimOrder:
        """Match a market order now, or raise ApiError changing nothing."""
        if any(o.is_open and o.client_order_id == order.client_order_id for o in account.orders):
            raise DUPLICATE  # only open orders must have unique client ids
        matched = self.match(order, rules, book, mid)
        with localcontext(prec=_PREC):
            self._check_funds(account, order, rules, matched)
            taken = matched.walk
            if how.fraction is not None:  # a thinner book than drawn: only part of the order's size is there
                cap = down_to(matched.qty * how.fraction, rules.step_size or EIGHT_DECIMALS)
                taken = walk(taken.taken, rules.step_size, qty=cap) if cap > 0 else Walk((), ran_out=True)
            filled = taken.qty == matched.qty and not (order.quantity is None and taken.ran_out)
            placed = SimOrder(next(self._order_ids), order.client_order_id, order.symbol, order.side,
                              "FILLED" if filled else "EXPIRED", matched.qty, order.quote_qty, now_ms)
            for part in taken.taken:
                placed.trades.append(self._trade(account, placed, rules, part, how.bnb_price))
        account.orders.append(placed)
        return placed

    @staticmethod
    def _check_funds(account: Account, order: MarketOrder, rules: SymbolRules, matched: Match) -> None:
        """A shortfall rejects the whole order, as Binance does; a quoteOrderQty buy must be covered in full."""
        if order.side is Side.BUY:
            needed, asset = (order.quote_qty if order.quote_qty is not None else matched.walk.quote), rules.quote
        else:
            needed, asset = matched.qty, rules.base
        if account.balances.get(asset, _ZERO) < needed:
            raise NO_FUNDS

    def _trade(self, account: Account, placed: SimOrder, rules: SymbolRules, part: Level,
               bnb_price: Decimal | None) -> SimTrade:
        """One trade against one level: move the assets, then charge commission."""
        value = part.qty * part.price
        buy = placed.side is Side.BUY
        fee, asset = self._commission(account, rules, part.qty if buy else value, buy, value, bnb_price)
        changes = {rules.base: part.qty if buy else -part.qty, rules.quote: -value if buy else value}
        changes[asset] = changes.get(asset, _ZERO) - fee
        for a, delta in changes.items():
            account.balances[a] = account.balances.get(a, _ZERO) + delta
        return SimTrade(next(self._trade_ids), placed.order_id, placed.symbol, placed.side, part.price, part.qty,
                        fee, asset, placed.time_ms)

    def _commission(self, account: Account, rules: SymbolRules, received: Decimal, buy: bool, value: Decimal,
                    bnb_price: Decimal | None) -> tuple[Decimal, str]:
        """The received amount times the rate in the asset received (base on a buy, quote on a sell); in BNB at
        a 25% discount when enabled and the account holds enough BNB (otherwise Binance falls back)."""
        if bnb_price:
            fee = _eight_decimals(value / bnb_price * self.fee_rate * BNB_DISCOUNT)
            if account.balances.get("BNB", _ZERO) >= fee:
                return fee, "BNB"
        return _eight_decimals(received * self.fee_rate), rules.base if buy else rules.quote

    @staticmethod
    def find(account: Account, symbol: str, order_id: int | None, client_id: str | None) -> SimOrder | None:
        """The newest order on symbol matching every id given (a client id may have been reused)."""
        for o in reversed(account.orders):
            if o.symbol == symbol and order_id in (None, o.order_id) and client_id in (None, o.client_order_id):
                return o
        return None


def _eight_decimals(amount: Decimal) -> Decimal:
    """A commission as Binance reports it: 8 decimals (base/quoteCommissionPrecision)."""
    return amount.quantize(EIGHT_DECIMALS, rounding=ROUND_HALF_UP)
