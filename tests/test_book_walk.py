"""A market order walking a book (core/book_walk.py): level by level, fees per level, never past the book."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import given, strategies as st

from tradingbot.core.book_walk import BookLevel, OrderBook, deeper, walk_book
from tradingbot.core.costs import commission
from tradingbot.core.domain import Side, SymbolRules

D = Decimal
FEE = D("0.001")
RULES = SymbolRules("ABCUSDT", "ABC", "USDT", "TRADING", D("0.01"), D("0.01"), D(0), D(5), D("0.001"))
# Three asks and three bids around 10: 1, 2 and 4 ABC deep.
BOOK = OrderBook("ABCUSDT", bids=(BookLevel(D("9.999"), D(1)), BookLevel(D("9.99"), D(2)), BookLevel(D("9.9"), D(4))),
                 asks=(BookLevel(D("10.001"), D(1)), BookLevel(D("10.01"), D(2)), BookLevel(D("10.1"), D(4))), limit=5)


def test_a_buy_spanning_levels_takes_each_in_full_and_the_rest_in_steps_with_a_fee_per_level():
    walk = walk_book(BOOK, Side.BUY, RULES, FEE, quote_amount=D(50))
    # 10.001 + 20.02 = 30.021 spent on the first two levels; 19.979 buys 1.97 more at 10.1
    assert [(f.price, f.qty) for f in walk.fills] == [(D("10.001"), D(1)), (D("10.01"), D(2)), (D("10.1"), D("1.97"))]
    assert [f.commission for f in walk.fills] == [D("0.001"), D("0.002"), D("0.00197")]
    assert {f.commission_asset for f in walk.fills} == {"ABC"} and not walk.short
    assert walk.quote == D("49.918") and walk.fee_quote == D("0.001") * D("10.001") + D("0.02002") + D("0.019897")


def test_a_sell_takes_the_bids_best_first_and_pays_its_fee_in_the_quote_on_each_level():
    walk = walk_book(BOOK, Side.SELL, RULES, FEE, qty=D("2.5"))
    assert [(f.price, f.qty) for f in walk.fills] == [(D("9.999"), D(1)), (D("9.99"), D("1.5"))]
    assert [(f.commission, f.commission_asset) for f in walk.fills] == [(D("0.00999900"), "USDT"),
                                                                         (D("0.01498500"), "USDT")]
    assert walk.avg_price == (D("9.999") + D("14.985")) / D("2.5")


def test_a_book_shallower_than_the_order_says_so_and_fills_only_what_it_shows():
    buy = walk_book(BOOK, Side.BUY, RULES, FEE, quote_amount=D(1000))
    sell = walk_book(BOOK, Side.SELL, RULES, FEE, qty=D(8))
    assert buy.short and sell.short and buy.qty == sell.qty == 7
    assert deeper(20) == 100 and deeper(100) == 500 and deeper(5000) is None


@st.composite
def books(draw):
    """A book on the tick and step grids: prices worsen level by level away from a spread around 1..1000."""
    best_bid = D(draw(st.integers(1000, 10**6))) / 1000
    spread = D(draw(st.integers(1, 50))) / 1000
    gaps = draw(st.lists(st.integers(1, 100), min_size=1, max_size=30))
    sizes = draw(st.lists(st.integers(1, 10**5), min_size=len(gaps), max_size=len(gaps)))
    bids, asks, bid, ask = [], [], best_bid, best_bid + spread
    for gap, size in zip(gaps, sizes):
        if bid > 0:
            bids.append(BookLevel(bid, D(size) / 100))
        asks.append(BookLevel(ask, D(size) / 100))
        bid, ask = bid - D(gap) / 1000, ask + D(gap) / 1000
    return OrderBook("ABCUSDT", tuple(bids), tuple(asks), limit=len(gaps))


@given(books(), st.integers(1, 10**7), st.integers(1, 10**7))
def test_a_buy_never_averages_below_the_best_ask_and_a_bigger_one_never_averages_lower(book, a, b):
    small, big = (walk_book(book, Side.BUY, RULES, FEE, quote_amount=D(n) / 100) for n in sorted((a, b)))
    for walk in (small, big):
        assert walk.avg_price is None or walk.avg_price >= book.asks[0].price
    if small.avg_price is not None:
        assert big.avg_price is not None and big.avg_price >= small.avg_price
        best = book.asks[0].price  # what the order paid beyond the touch grows with its size
        assert big.quote - big.qty * best >= small.quote - small.qty * best


@given(books(), st.integers(1, 10**7), st.integers(1, 10**7))
def test_a_sell_never_averages_above_the_best_bid_and_a_bigger_one_never_averages_higher(book, a, b):
    small, big = (walk_book(book, Side.SELL, RULES, FEE, qty=D(n) / 100) for n in sorted((a, b)))
    assert small.avg_price is not None and big.avg_price is not None
    assert big.avg_price <= small.avg_price <= book.bids[0].price
    best = book.bids[0].price
    assert big.qty * best - big.quote >= small.qty * best - small.quote


@given(books(), st.integers(1, 10**7), st.sampled_from([Side.BUY, Side.SELL]))
def test_the_fees_per_level_are_binances_fee_on_what_each_level_gave_and_sum_to_the_walks_fee(book, n, side):
    amount = {"quote_amount": D(n) / 100} if side is Side.BUY else {"qty": D(n) / 100}
    walk = walk_book(book, side, RULES, FEE, **amount)
    for f in walk.fills:
        received = f.qty if side is Side.BUY else f.qty * f.price
        assert f.commission == commission(received, FEE)
        assert f.fee_quote == (f.commission * f.price if side is Side.BUY else f.commission)
        assert f.qty % RULES.step_size == 0 and f.qty > 0
    assert walk.fee_quote == sum(f.fee_quote for f in walk.fills)
    if side is Side.BUY:
        assert walk.quote <= amount["quote_amount"]
