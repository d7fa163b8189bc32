"""The local Binance's order book and how a market order walks it, against Binance's filters (PRICE_FILTER,
LOT_SIZE): pure functions, checked by Hypothesis."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import given, strategies as st

from standins.binance_book import MIN_LEVEL_QUOTE, book_of, walk
from tradingbot.core.domain import SymbolRules

D = Decimal
# Filters the synthetic market sets by price level: a BTC-like coin, a mid-priced one and a sub-cent one.
RULES = [SymbolRules("BTCUSDT", "BTC", "USDT", "TRADING", D("0.00001"), D("0.00001"), D(9_000_000), D(5), D("0.01")),
         SymbolRules("MIDUSDT", "MID", "USDT", "TRADING", D("0.001"), D("0.001"), D(9_000_000), D(5), D("0.0001")),
         SymbolRules("SUBUSDT", "SUB", "USDT", "TRADING", D(1), D(1), D(92_233_720_368), D(5), D("0.00000001"))]
MID_OF = {"BTCUSDT": (1000, 200_000), "MIDUSDT": (10, 1000), "SUBUSDT": (0.00001, 0.1)}


@st.composite
def books(draw, levels: int = 20):
    rules = draw(st.sampled_from(RULES))
    low, high = MID_OF[rules.symbol]
    mid = D(str(draw(st.floats(low, high)))).quantize(D("0.00000001"))
    volume = D(draw(st.integers(0, 3 * 10**9)))
    return rules, mid, book_of(rules, mid, volume, levels)


@given(books())
def test_every_level_sits_on_the_tick_and_step_grids_with_the_mid_inside_the_spread(drawn):
    rules, mid, book = drawn
    assert book.bids[0].price <= mid < book.asks[0].price == book.bids[0].price + rules.tick_size
    for side, later_is_worse in ((book.bids, lambda a, b: b < a), (book.asks, lambda a, b: b > a)):
        assert all(later_is_worse(a.price, b.price) for a, b in zip(side, side[1:]))
        assert all(level.price % rules.tick_size == 0 and level.price > 0 for level in side)  # PRICE_FILTER
        assert all(level.qty % rules.step_size == 0 and level.qty >= rules.min_qty for level in side)  # LOT_SIZE


def test_each_level_holds_a_share_of_the_coins_day_volume_and_a_quiet_coin_a_minimum():
    rules = RULES[1]
    for volume, depth in ((D(10**6), D(500)), (D(10**7), D(5000)), (D(0), MIN_LEVEL_QUOTE)):
        book = book_of(rules, D(50), volume)
        for level in (book.bids[0], book.asks[0], book.asks[-1]):
            assert depth - rules.step_size * level.price < level.price * level.qty <= depth


@given(books(), st.integers(1, 10**6))
def test_a_buy_by_quote_amount_never_spends_more_and_leaves_less_than_one_step_unspent(drawn, amount):
    rules, _, book = drawn
    taken = walk(book.asks, rules.step_size, quote=D(amount))
    assert taken.quote <= amount and all(t.qty % rules.step_size == 0 and t.qty > 0 for t in taken.taken)
    assert [t.price for t in taken.taken] == [a.price for a in book.asks[:len(taken.taken)]]
    if not taken.ran_out:  # it stopped where the rest no longer buys one step
        assert amount - taken.quote < rules.step_size * book.asks[len(taken.taken)].price


@given(books(), st.integers(1, 10**5))
def test_a_sell_by_quantity_takes_exactly_that_quantity_best_bid_first_unless_the_book_runs_out(drawn, lots):
    rules, _, book = drawn
    wanted = lots * rules.step_size
    taken = walk(book.bids, rules.step_size, qty=wanted)
    assert taken.qty == (sum(b.qty for b in book.bids) if taken.ran_out else wanted)
    assert [t.price for t in taken.taken] == [b.price for b in book.bids[:len(taken.taken)]]
    assert all(t.qty == b.qty for t, b in zip(taken.taken[:-1], book.bids))  # each level emptied before the next
