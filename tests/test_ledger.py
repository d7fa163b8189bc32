from decimal import Decimal

from hypothesis import given, settings, strategies as st

from tests.builders import NOW
from tradingbot.core.domain import Fill, Side
from tradingbot.core.ledger import Ledger, replay

D = Decimal
FEE = D("0.001")
ASSETS = ("AAA", "BBB", "CCC")


def fill(side: Side, asset: str, qty: Decimal, price: Decimal, i: int = 0) -> Fill:
    if side is Side.BUY:
        commission = (qty * FEE).quantize(D("0.00000001"))
        return Fill(f"c{i}", asset + "USDT", side, price, qty, commission, asset, commission * price, NOW)
    commission = (qty * price * FEE).quantize(D("0.00000001"))
    return Fill(f"c{i}", asset + "USDT", side, price, qty, commission, "USDT", commission, NOW)


def test_buy_then_sell_books_fees_where_binance_charges_them():
    ledger = Ledger("USDT")
    ledger.deposit(D(1000))
    ledger.apply_fill(fill(Side.BUY, "AAA", D(10), D(50)), "AAA")
    pos = ledger.positions["AAA"]
    assert pos.quantity == D("9.99") and pos.cost == D(500) and ledger.cash == D(500)
    ledger.apply_fill(fill(Side.SELL, "AAA", D("9.99"), D(60)), "AAA")
    assert ledger.cash == D(500) + D("599.4") - D("0.5994")
    assert ledger.positions["AAA"].realized == D("599.4") - D("0.5994") - D(500)
    assert ledger.fees == D("0.5") + D("0.5994")  # 0.01 AAA at 50, then 0.1% of 599.4
    assert ledger.equity({}) - ledger.deposits == ledger.realized


def test_a_commission_paid_in_bnb_shrinks_the_bnb_holding_and_counts_as_the_trade_s_cost():
    ledger = Ledger("USDT")
    ledger.deposit(D(1000))
    bnb_fee = Fill("b1", "AAAUSDT", Side.BUY, D(50), D(10), D("0.00125"), "BNB", D("0.75"), NOW)  # BNB at 600
    ledger.apply_fill(bnb_fee, "AAA")
    assert ledger.positions["AAA"].quantity == D(10)  # nothing taken from the asset received
    assert ledger.positions["AAA"].cost == D("500.75") and ledger.cash == D(500)
    assert ledger.positions["BNB"].quantity == D("-0.00125") and ledger.fees == D("0.75")
    prices = {"AAAUSDT": D(55), "BNBUSDT": D(600)}
    assert ledger.equity(prices) == D(500) + D(550) - D("0.75")
    unrealized = sum(p.quantity * prices[p.asset + "USDT"] - p.cost for p in ledger.positions.values())
    assert ledger.equity(prices) - ledger.deposits == ledger.realized + unrealized
    sell = Fill("b2", "AAAUSDT", Side.SELL, D(60), D(10), D("0.0009"), "BNB", D("0.54"), NOW)
    ledger.apply_fill(sell, "AAA")
    assert ledger.positions["AAA"].realized == D(600) - D("500.75") - D("0.54")
    assert ledger.positions["BNB"].quantity == D("-0.00215")


def test_selling_more_than_held_is_refused():
    ledger = Ledger("USDT")
    ledger.deposit(D(100))
    try:
        ledger.apply_fill(fill(Side.SELL, "AAA", D(1), D(1)), "AAA")
    except ValueError as e:
        assert "exceeds" in str(e)
    else:
        raise AssertionError("oversell accepted")


prices = st.decimals(min_value="0.0001", max_value=100000, places=4)
steps = st.lists(st.one_of(
    st.tuples(st.just("move"), st.sampled_from(ASSETS), prices),
    st.tuples(st.just("buy"), st.sampled_from(ASSETS), st.decimals(min_value="0.01", max_value=1, places=2)),
    st.tuples(st.just("sell"), st.sampled_from(ASSETS), st.decimals(min_value="0.01", max_value=1, places=2)),
), max_size=40)


@settings(max_examples=200, deadline=None)
@given(steps)
def test_ledger_invariants(steps):
    ledger = Ledger("USDT")
    ledger.deposit(D(100000))
    px = {a + "USDT": D(10) for a in ASSETS}
    fills: list[tuple[Fill, str]] = []
    for i, (kind, asset, x) in enumerate(steps):
        symbol = asset + "USDT"
        before = ledger.equity(px)
        if kind == "move":
            held = ledger.positions[asset].quantity if asset in ledger.positions else D(0)
            expected = held * (x - px[symbol])  # a mark-to-market move changes equity by qty x price change
            px[symbol] = x
            assert ledger.equity(px) - before == expected
            continue
        if kind == "buy":
            qty = (ledger.cash * x / px[symbol]).quantize(D("0.001"), rounding="ROUND_DOWN")
        else:
            held = ledger.positions[asset].quantity if asset in ledger.positions else D(0)
            qty = (held * x).quantize(D("0.001"), rounding="ROUND_DOWN")
        if qty <= 0:
            continue
        f = fill(Side.BUY if kind == "buy" else Side.SELL, asset, qty, px[symbol], i)
        ledger.apply_fill(f, asset)
        fills.append((f, asset))
        assert ledger.equity(px) - before == -f.fee_quote  # a trade at the mark price costs exactly its fee
    again = replay("USDT", [D(100000)], fills)
    assert again.cash == ledger.cash and again.holdings() == ledger.holdings()
    assert ledger.fees == sum((f.fee_quote for f, _ in fills), D(0))
    assert ledger.cash >= 0 and all(q >= 0 for q in ledger.holdings().values())
    unrealized = sum((p.unrealized for p in ledger.valued(px)), D(0))
    assert ledger.equity(px) - ledger.deposits == ledger.realized + unrealized
