from decimal import Decimal

from hypothesis import given, settings, strategies as st

from tests.builders import rules
from tradingbot.core.domain import Side
from tradingbot.core.costs import Costs
from tradingbot.core.planning import Book, plan_buys, plan_sells

D = Decimal
RULES = {
    "AAAUSDT": rules("AAAUSDT", step="0.001"),
    "BBBUSDT": rules("BBBUSDT", step="1"),
    "CCCUSDT": rules("CCCUSDT", step="0.00001", min_notional="10"),
    "DDDUSDT": rules("DDDUSDT", step="0.1"),
}
PRICES = {"AAAUSDT": D("25.5"), "BBBUSDT": D("0.0123"), "CCCUSDT": D("64000"), "DDDUSDT": D("3.3")}


def book(cash="10000", **holdings) -> Book:
    return Book("USDT", D(cash), {k: D(v) for k, v in holdings.items()}, RULES, PRICES)


def test_full_mode_sells_everything_and_reports_dust():
    plan = plan_sells(book(AAA="10.0005", BBB="100"), ["CCCUSDT"], "full", D(1), Costs())
    assert [(o.symbol, o.quantity) for o in plan.orders] == [("AAAUSDT", D("10.000"))]
    assert plan.skipped[0].symbol == "BBBUSDT" and "notional" in plan.skipped[0].reason  # 1.23 USDT of dust


def test_delta_mode_trims_overweight_and_keeps_the_rest():
    b = book(cash="0", AAA="300", DDD="500")  # 7650 + 1650 = 9300 equity; target 4650 each
    plan = plan_sells(b, ["AAAUSDT", "DDDUSDT"], "delta", D(1), Costs())
    assert [(o.symbol, o.side) for o in plan.orders] == [("AAAUSDT", Side.SELL)]
    assert abs(plan.orders[0].quantity * PRICES["AAAUSDT"] - 3000) < 1


def test_buys_split_cash_equally_and_never_exceed_it():
    plan = plan_buys(book(cash="9000"), ["AAAUSDT", "CCCUSDT", "DDDUSDT"], D(1), Costs(slippage_bps=D(10)))
    spends = [o.quote_amount for o in plan.orders]
    assert spends == [D(3000)] * 3
    plan = plan_buys(book(cash="9000"), ["AAAUSDT", "CCCUSDT"], D("0.5"), Costs())
    assert [o.quote_amount for o in plan.orders] == [D(2250)] * 2


def test_a_target_that_cannot_trade_is_reported_not_bought():
    halted = dict(RULES, AAAUSDT=rules("AAAUSDT", status="BREAK"))
    plan = plan_buys(Book("USDT", D(1000), {}, halted, PRICES), ["AAAUSDT", "DDDUSDT"], D(1), Costs())
    assert [o.symbol for o in plan.orders] == ["DDDUSDT"]
    assert "BREAK" in plan.skipped[0].reason


amounts = st.decimals(min_value=0, max_value=10**6, places=6, allow_nan=False, allow_infinity=False)


@settings(max_examples=200)
@given(cash=amounts, holdings=st.dictionaries(st.sampled_from(["AAA", "BBB", "CCC", "DDD"]), amounts),
       targets=st.lists(st.sampled_from(sorted(RULES)), min_size=1, max_size=4, unique=True),
       mode=st.sampled_from(["full", "delta"]), fraction=st.decimals(min_value="0.01", max_value=1, places=2),
       slip=st.decimals(min_value=0, max_value=100, places=1))
def test_plans_respect_filters_and_cash(cash, holdings, targets, mode, fraction, slip):
    b = Book("USDT", cash, holdings, RULES, PRICES)
    costs = Costs(Decimal("0.001"), slip)
    sells = plan_sells(b, targets, mode, fraction, costs)
    buys = plan_buys(b, targets, fraction, costs)
    for o in sells.orders + buys.orders:
        r = RULES[o.symbol]
        assert o.quantity % r.step_size == 0 and o.quantity >= r.min_qty
        assert o.quantity * o.est_price >= r.min_notional
    for o in sells.orders:
        assert o.quantity <= holdings[r.base if (r := RULES[o.symbol]) else ""]
    spent = sum((o.quote_amount for o in buys.orders), Decimal(0))
    assert spent <= cash  # weights of what is bought sum to at most 1 of the cash
    if b.equity > 0:
        assert spent <= b.equity * fraction + Decimal("0.000001")
