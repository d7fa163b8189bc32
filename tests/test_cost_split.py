"""Where the money went (core/cost_split.py): fees, spread, impact and delay add up, Decimal-exact, to what the
real fills cost against a zero-cost fill at the signal mid."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from hypothesis import given, strategies as st

from tradingbot.core.cost_split import CostSplit, order_cost, rebalance_cost
from tradingbot.core.domain import Fill, OrderRecord, OrderStatus, Side
from tradingbot.core.ledger import Ledger

D = Decimal
T = datetime(2025, 1, 1, tzinfo=timezone.utc)
SYMBOL = "ABCUSDT"


def order(side: Side, signal, mid, touch, coid: str = "o1") -> OrderRecord:
    return OrderRecord(coid, 1, "slot", "B" if side is Side.BUY else "S", SYMBOL, side, None, None, OrderStatus.FILLED,
                       signal_mid=signal, send_mid=mid, send_touch=touch)


def fill(side: Side, price, qty, fee_rate=D("0.001"), coid: str = "o1") -> Fill:
    price, qty = D(price), D(qty)
    if side is Side.BUY:
        fee = (qty * fee_rate).quantize(D("1e-8"))
        return Fill(coid, SYMBOL, side, price, qty, fee, "ABC", fee * price, T)
    fee = (qty * price * fee_rate).quantize(D("1e-8"))
    return Fill(coid, SYMBOL, side, price, qty, fee, "USDT", fee, T)


def test_a_buy_walking_two_levels_after_the_price_moved_splits_by_hand():
    # signal mid 10, mid when sent 10.02, best ask 10.03; 1 ABC at 10.03 and 2 at 10.05; 0.1 % fee in ABC
    split = order_cost(order(Side.BUY, D(10), D("10.02"), D("10.03")),
                       [fill(Side.BUY, "10.03", 1), fill(Side.BUY, "10.05", 2)], "ABC", "USDT")
    assert split == CostSplit(fees=D("0.003") * 10, spread=D("0.03"), impact=D("0.04"), delay=D("0.06"), traded=D(30))
    assert split.total == D("0.16") and split.bps(split.total) == D("0.16") / 30 * 10_000


def test_a_sell_counts_each_part_as_a_cost_too():
    split = order_cost(order(Side.SELL, D(10), D("9.99"), D("9.98")),
                       [fill(Side.SELL, "9.98", 1), fill(Side.SELL, "9.9", 1)], "ABC", "USDT")
    assert (split.delay, split.spread, split.impact) == (D("0.02"), D("0.02"), D("0.08"))
    assert split.fees == D("0.00998") + D("0.0099")


def test_a_rebalance_sums_its_orders_and_leaves_out_one_without_a_signal_price():
    buy, unknown = order(Side.BUY, D(10), D(10), D(10)), order(Side.BUY, None, D(10), D(10), coid="o2")
    fills = [fill(Side.BUY, "10", 1), fill(Side.BUY, "11", 1, coid="o2")]
    assert rebalance_cost([buy, unknown], fills, "USDT") == order_cost(buy, fills[:1], "ABC", "USDT")


def test_a_venue_that_did_not_say_what_the_order_met_puts_it_all_in_impact():
    split = order_cost(order(Side.BUY, D(10), None, None), [fill(Side.BUY, "10.1", 1, fee_rate=D(0))], "ABC", "USDT")
    assert (split.delay, split.spread, split.impact) == (0, 0, D("0.1"))


prices = st.integers(1, 10**6).map(lambda n: D(n) / 1000)
levels = st.lists(st.tuples(prices, st.integers(1, 10**5).map(lambda n: D(n) / 100)), min_size=1, max_size=6)


@given(st.sampled_from([Side.BUY, Side.SELL]), prices, prices, prices, levels, st.sampled_from([D(0), D("0.001")]))
def test_the_four_parts_add_up_to_the_equity_lost_against_a_zero_cost_fill_at_the_signal_mid(
        side, signal, mid, touch, walked, fee_rate):
    fills = [fill(side, p, q, fee_rate) for p, q in walked]
    qty = sum(q for _, q in walked)
    split = order_cost(order(side, signal, mid, touch), fills, "ABC", "USDT")

    def equity_after(trades: list[Fill]) -> Decimal:
        ledger = Ledger("USDT")
        ledger.deposit(D(10**12))
        if side is Side.SELL:  # hold what is sold, bought at no cost
            ledger.apply_fill(Fill("h", SYMBOL, Side.BUY, signal, qty, D(0), "ABC", D(0), T), "ABC")
        for f in trades:
            ledger.apply_fill(f, "ABC")
        return ledger.equity({SYMBOL: signal})
    ideal = equity_after([Fill("o1", SYMBOL, side, signal, qty, D(0), "USDT", D(0), T)])
    assert split is not None and split.total == ideal - equity_after(fills)
