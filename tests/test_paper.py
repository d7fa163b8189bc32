"""Tests for the paper venue and the shared Decimal helpers, on real SQLite databases."""
from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlite_utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradingbot.adapters.paper import PaperExchange
from tradingbot.adapters.clock import ManualClock
from tradingbot.core.costs import Costs
from tradingbot.core.domain import Candle, OrderRequest, OrderResult, OrderStatus, Side, SymbolRules
from tradingbot.core.errors import OrderRejected, UserError
from tradingbot.core.money import floor_to_step, fmt_decimal, round_to_tick, to_decimal
from tradingbot.core.params import StrategyParams

D = Decimal
START = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
RULES = [
    SymbolRules("BTCUSDT", "BTC", "USDT", "TRADING", D("0.00001"), D("0.00001"), D("9000"), D("5"), D("0.01")),
    SymbolRules("ETHUSDT", "ETH", "USDT", "TRADING", D("0.0001"), D("0.0001"), D("0"), D("5"), D("0.01")),
    SymbolRules("DOGEUSDT", "DOGE", "USDT", "TRADING", D("1"), D("10"), D("1000"), D("1"), D("0.00001")),
    SymbolRules("HALTUSDT", "HALT", "USDT", "HALT", D("0.01"), D("0.01"), D("0"), D("5"), D("0.01")),
]
PRICES = {"BTCUSDT": D("40000"), "ETHUSDT": D("2000"), "DOGEUSDT": D("0.1"), "HALTUSDT": D("3")}
INSUFFICIENT = (-2010, "Account has insufficient balance for requested action.")
LOT_SIZE = (-1013, "Filter failure: LOT_SIZE")
NO_QTY = (-1102, "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed.")
NEGATIVE = (
    -1100, r"Illegal characters found in parameter 'quantity'; legal range is '^([0-9]{1,20})(\.[0-9]{1,20})?$'."
)
BAD_ID = (-1100, "Illegal characters found in parameter 'newClientOrderId'.")


class FakeMarket:
    """MarketData with fixed rules and prices that can be scheduled to change at a clock time."""

    def __init__(self, clock: ManualClock, rules: list[SymbolRules] = RULES, prices: dict[str, Decimal] = PRICES):
        self.clock = clock
        self.rules = list(rules)
        self.schedule = [(START - timedelta(days=1), symbol, price) for symbol, price in prices.items()]

    def set_price(self, symbol: str, price: Decimal, at: datetime | None = None) -> None:
        """Set a price from `at` on (now if omitted)."""
        self.schedule.append((at or self.clock.now(), symbol, price))

    async def symbols(self) -> list[SymbolRules]:
        return list(self.rules)

    async def candles(self, symbol: str, interval: str, start: datetime, end: datetime) -> list[Candle]:
        return []

    async def first_candle_time(self, symbol: str, listed_by: datetime | None = None) -> datetime | None:
        return START - timedelta(days=365) if any(r.symbol == symbol for r in self.rules) else None

    async def prices(self) -> dict[str, Decimal]:
        now = self.clock.now()
        current: dict[str, Decimal] = {}
        for at, symbol, price in sorted(self.schedule, key=lambda e: e[0]):
            if at <= now:
                current[symbol] = price
        return current


def make(db: sqlite_utils.Database | None = None, costs: Costs = Costs(), **deposits: str):
    """A paper exchange at fixed costs on a fresh in-memory DB (unless given), a manual clock and a fake market."""
    clock = ManualClock(START)
    market = FakeMarket(clock)
    ex = PaperExchange(db or sqlite_utils.Database(memory=True), market, clock, lambda: costs)
    for asset, amount in deposits.items():
        ex.deposit(asset, D(amount))
    return ex, market, clock


def place(ex: PaperExchange, cid: str, symbol: str, side: Side, qty: str | None = None, quote: str | None = None
          ) -> OrderResult:
    q = D(qty) if qty is not None else None
    a = D(quote) if quote is not None else None
    return asyncio.run(ex.place_market_order(OrderRequest(cid, symbol, side, quantity=q, quote_amount=a)))


def bal(ex: PaperExchange) -> dict[str, Decimal]:
    return asyncio.run(ex.balances())


def state(ex: PaperExchange) -> tuple:
    """Everything an order may change, to prove a rejection changed nothing."""
    rows = lambda t: list(ex.db.query(f"SELECT * FROM {t} ORDER BY 1"))  # noqa: E731
    return rows("paper_balances"), rows("paper_orders"), rows("paper_fills")


# --- money helpers --------------------------------------------------------------------------------

steps = st.sampled_from([D("1"), D("0.1"), D("0.00001"), D("0.00100000"), D("0.5"), D("0.25"), D("10"), D("0.3")])


@given(q=st.decimals(min_value=-10**9, max_value=10**9, places=12), step=steps)
def test_floor_to_step_is_largest_multiple_not_above(q: Decimal, step: Decimal) -> None:
    f = floor_to_step(q, step)
    assert f % step == 0
    assert f <= q
    assert f > q - step


def test_floor_to_step_examples() -> None:
    assert floor_to_step(D("1.23456"), D("0.001")) == D("1.234")
    assert str(floor_to_step(D("1200"), D("0.001"))) == "1200.000"  # never an exponent
    assert floor_to_step(D("1.23456"), D("0")) == D("1.23456")
    # a long non-multiple must not round up to the next step at default precision
    assert floor_to_step(D("2.99999999999999999999999999999999"), D("1")) == 2
    with pytest.raises(ValueError):
        floor_to_step(D("1"), D("-0.1"))


def test_round_to_tick() -> None:
    assert round_to_tick(D("100.001"), D("0.01"), up=True) == D("100.01")
    assert round_to_tick(D("100.009"), D("0.01"), up=False) == D("100.00")
    assert round_to_tick(D("100.01"), D("0.01"), up=True) == D("100.01")
    assert round_to_tick(D("1.2345"), D("0"), up=True) == D("1.2345")


def test_to_decimal_goes_through_text() -> None:
    assert to_decimal(0.1) == D("0.1")  # Decimal(0.1) would be 0.1000000000000000055...
    assert to_decimal(1e-7) == D("0.0000001")
    assert to_decimal(" 42.50 ") == D("42.50")
    assert to_decimal(7) == D(7)
    for bad in ("abc", "nan", float("inf")):
        with pytest.raises(ValueError):
            to_decimal(bad)
    with pytest.raises(TypeError):
        to_decimal(True)


def test_fmt_decimal() -> None:
    assert fmt_decimal(D("1E-5")) == "0.00001"
    assert fmt_decimal(D("1E+2")) == "100"
    assert fmt_decimal(D("1.2300")) == "1.23"
    assert fmt_decimal(D("-0.000")) == "0"
    assert fmt_decimal(D("123456789012345678901234567890.000000000001")) == "123456789012345678901234567890.000000000001"


@given(st.decimals(min_value=-10**20, max_value=10**20, allow_nan=False, allow_infinity=False))
def test_fmt_decimal_round_trips(d: Decimal) -> None:
    text = fmt_decimal(d)
    assert "E" not in text and D(text) == d


# --- filling ------------------------------------------------------------------------------------


def test_buy_by_quote_amount_rounds_down_and_charges_fee_in_base() -> None:
    ex, market, _ = make(USDT="1000")
    market.set_price("BTCUSDT", D("43210.12"))
    result = place(ex, "buy-1", "BTCUSDT", Side.BUY, quote="100")
    (fill,) = result.fills
    assert result.status is OrderStatus.FILLED and result.exchange_order_id == "1"
    assert fill.price == D("43210.12")
    assert fill.quantity == D("0.00231")  # 100 / 43210.12 = 0.0023142... floored to the step
    assert fill.quote_quantity == D("99.8153772") <= 100
    assert (fill.commission, fill.commission_asset) == (D("0.00000231"), "BTC")
    assert fill.fee_quote == D("0.00000231") * D("43210.12")
    assert fill.time == START and fill.trade_id == "1"
    assert bal(ex) == {"BTC": D("0.00230769"), "USDT": D("900.1846228")}


def test_buy_by_quantity_costs_quantity_times_price() -> None:
    ex, _, _ = make(USDT="1000")
    (fill,) = place(ex, "buy-q", "ETHUSDT", Side.BUY, qty="0.25").fills
    assert (fill.quantity, fill.price, fill.commission) == (D("0.25"), D("2000"), D("0.00025"))
    assert bal(ex) == {"ETH": D("0.24975"), "USDT": D("500")}


def test_sell_charges_fee_in_quote() -> None:
    ex, _, _ = make(BTC="0.01")
    (fill,) = place(ex, "sell-1", "BTCUSDT", Side.SELL, qty="0.005").fills
    assert (fill.commission, fill.commission_asset, fill.fee_quote) == (D("0.2"), "USDT", D("0.2"))
    assert bal(ex) == {"BTC": D("0.005"), "USDT": D("199.8")}


def test_selling_everything_leaves_no_zero_balance() -> None:
    ex, _, _ = make(BTC="0.01")
    place(ex, "sell-all", "BTCUSDT", Side.SELL, qty="0.01")
    assert bal(ex) == {"USDT": D("399.6")}


def test_slippage_moves_price_against_the_order_and_rounds_to_tick_against_the_trader() -> None:
    ex, market, _ = make(costs=Costs(slippage_bps=D("3")), USDT="10000", ETH="1")
    market.set_price("ETHUSDT", D("1000.01"))
    buy = place(ex, "b", "ETHUSDT", Side.BUY, qty="0.01").fills[0]
    sell = place(ex, "s", "ETHUSDT", Side.SELL, qty="0.01").fills[0]
    assert buy.price == D("1000.32")  # 1000.310003 rounded up
    assert sell.price == D("999.70")  # 999.709997 rounded down
    assert sell.price < D("1000.01") < buy.price


def test_latency_advances_the_clock_and_fills_at_the_later_price() -> None:
    ex, market, clock = make(costs=Costs(latency_ms=1500), USDT="1000")
    market.set_price("ETHUSDT", D("2100"), at=START + timedelta(seconds=1))
    result = place(ex, "late", "ETHUSDT", Side.BUY, qty="0.1")
    assert clock.now() == START + timedelta(milliseconds=1500)
    assert result.fills[0].price == D("2100")
    assert result.fills[0].time == START + timedelta(milliseconds=1500)
    row = ex.db.table("paper_orders").get("late")
    assert (row["created_at"], ex.db.table("paper_fills").get(1)["time"]) == (
        "2026-11-24T09:00:00.000Z",
        "2026-11-24T09:00:01.500Z",
    )


def test_costs_are_read_from_their_source_at_every_order() -> None:
    in_force = [Costs()]
    clock = ManualClock(START)
    ex = PaperExchange(sqlite_utils.Database(memory=True), FakeMarket(clock), clock, lambda: in_force[-1])
    ex.deposit("USDT", D("1000"))
    in_force.append(Costs(fee_rate=D("0")))
    assert place(ex, "free", "ETHUSDT", Side.BUY, qty="0.1").fills[0].commission == 0
    assert bal(ex)["ETH"] == D("0.1")


def test_costs_keep_the_parameters_bounds_and_never_hold_floats() -> None:
    """One validation: what /set refuses (a fee above 1 %, a float) no cost value can hold either."""
    bad_costs = (dict(fee_rate=D("1")), dict(fee_rate=D("0.5")), dict(fee_rate=D("-0.1")), dict(fee_rate=0.00075),
                 dict(slippage_bps=D("-1")), dict(slippage_bps=D("501")), dict(latency_ms=-5), dict(latency_ms=1.5))
    for bad in bad_costs:
        with pytest.raises(UserError, match=f"^{next(iter(bad))} must be "):
            Costs(**bad)  # type: ignore[arg-type]
    assert Costs(D("0.01"), D(500), 10000) == Costs.of(StrategyParams(fee_rate=D("0.01"), slippage_bps=D(500),
                                                                       latency_ms=10000))


# --- rejections -----------------------------------------------------------------------------------

REJECTIONS = [
    ("unknown symbol", "XYZUSDT", Side.BUY, "1", None, (-1121, "Invalid symbol.")),
    ("halted", "HALTUSDT", Side.BUY, "10", None, (-2010, "Market is closed.")),
    ("off step", "BTCUSDT", Side.SELL, "0.000015", None, LOT_SIZE),
    ("below min qty", "DOGEUSDT", Side.SELL, "5", None, LOT_SIZE),
    ("above max qty", "DOGEUSDT", Side.BUY, "1001", None, LOT_SIZE),
    ("quote below one step", "BTCUSDT", Side.BUY, None, "0.1", LOT_SIZE),
    ("notional by quantity", "BTCUSDT", Side.SELL, "0.0001", None, (-1013, "Filter failure: NOTIONAL")),
    ("notional by quote", "ETHUSDT", Side.BUY, None, "4.99", (-1013, "Filter failure: NOTIONAL")),
    ("quote over cash", "ETHUSDT", Side.BUY, None, "1000.01", INSUFFICIENT),
    ("quantity over cash", "ETHUSDT", Side.BUY, "0.5001", None, INSUFFICIENT),
    ("sell more than held", "BTCUSDT", Side.SELL, "0.01001", None, INSUFFICIENT),
    ("sell what is not held", "DOGEUSDT", Side.SELL, "100", None, INSUFFICIENT),
    ("negative quantity", "BTCUSDT", Side.SELL, "-1", None, NEGATIVE),
    ("no amount", "BTCUSDT", Side.BUY, None, None, NO_QTY),
    ("sell by quote", "BTCUSDT", Side.SELL, None, "100", NO_QTY),
]


@pytest.mark.parametrize("why,symbol,side,qty,quote,expected", REJECTIONS, ids=[r[0] for r in REJECTIONS])
def test_rejection_changes_nothing_and_does_not_use_the_id(why, symbol, side, qty, quote, expected) -> None:
    ex, _, _ = make(USDT="1000", BTC="0.01")
    before = state(ex)
    with pytest.raises(OrderRejected) as info:
        place(ex, "same-id", symbol, side, qty, quote)
    assert (info.value.code, info.value.message) == expected
    assert state(ex) == before
    assert asyncio.run(ex.find_order(symbol, "same-id")) is None
    # Binance keeps no rejected order, so the id is free for the corrected order
    assert place(ex, "same-id", "ETHUSDT", Side.BUY, qty="0.01").status is OrderStatus.FILLED


@pytest.mark.parametrize("cid", ["has space", "dot.not.allowed", "x" * 37, "", "ünïcode"])
def test_illegal_client_order_id(cid: str) -> None:
    ex, _, _ = make(USDT="1000")
    before = state(ex)
    with pytest.raises(OrderRejected) as info:
        place(ex, cid, "ETHUSDT", Side.BUY, qty="0.01")
    assert (info.value.code, info.value.message) == BAD_ID
    assert state(ex) == before


def test_longest_legal_client_order_id_is_accepted() -> None:
    ex, _, _ = make(USDT="1000")
    assert place(ex, "A-z_9" + "x" * 31, "ETHUSDT", Side.BUY, qty="0.01").status is OrderStatus.FILLED


def test_duplicate_client_order_id_is_rejected_and_changes_nothing() -> None:
    ex, _, _ = make(USDT="1000")
    place(ex, "dup", "ETHUSDT", Side.BUY, qty="0.01")
    before = state(ex)
    with pytest.raises(OrderRejected) as info:
        place(ex, "dup", "BTCUSDT", Side.BUY, quote="50")
    assert (info.value.code, info.value.message) == (-2010, "Duplicate order sent.")
    assert state(ex) == before


def test_duplicate_sent_concurrently_fills_once() -> None:
    ex, _, _ = make(costs=Costs(latency_ms=100), USDT="1000")
    order = OrderRequest("race", "ETHUSDT", Side.BUY, quantity=D("0.01"))

    async def both():
        twice = (ex.place_market_order(order), ex.place_market_order(order))
        return await asyncio.gather(*twice, return_exceptions=True)

    outcomes = asyncio.run(both())
    assert sum(isinstance(o, OrderRejected) and o.message == "Duplicate order sent." for o in outcomes) == 1
    assert ex.db.table("paper_fills").count == 1


def test_failed_write_rolls_back_the_whole_order() -> None:
    ex, _, _ = make(USDT="1000")
    # A real SQLite failure on the last insert of the order, not a mock
    ex.db.execute("CREATE TRIGGER boom BEFORE INSERT ON paper_fills BEGIN SELECT RAISE(ABORT, 'disk'); END")
    before = state(ex)
    with pytest.raises(sqlite3.IntegrityError):
        place(ex, "crash", "ETHUSDT", Side.BUY, qty="0.01")
    assert state(ex) == before  # the order row and balance updates went with the fill
    ex.db.execute("DROP TRIGGER boom")
    assert place(ex, "crash", "ETHUSDT", Side.BUY, qty="0.01").status is OrderStatus.FILLED


# --- lookup and persistence -----------------------------------------------------------------------


def test_find_order_round_trip() -> None:
    ex, _, _ = make(USDT="1000")
    placed = place(ex, "look-me-up", "BTCUSDT", Side.BUY, quote="123.45")
    assert asyncio.run(ex.find_order("BTCUSDT", "look-me-up")) == placed
    assert asyncio.run(ex.find_order("ETHUSDT", "look-me-up")) is None
    assert asyncio.run(ex.find_order("BTCUSDT", "never-sent")) is None


def test_state_survives_a_new_instance_on_the_same_file(tmp_path) -> None:
    path = tmp_path / "bot.db"
    with sqlite_utils.Database(path) as db:
        ex, _, _ = make(db, USDT="1000")
        first = place(ex, "o1", "ETHUSDT", Side.BUY, qty="0.1")
        balances = bal(ex)
    with sqlite_utils.Database(path) as db:
        again, _, _ = make(db)  # schema creation is idempotent
        assert bal(again) == balances
        assert asyncio.run(again.find_order("ETHUSDT", "o1")) == first
        with pytest.raises(OrderRejected, match="Duplicate order sent."):
            place(again, "o1", "ETHUSDT", Side.BUY, qty="0.1")
        second = place(again, "o2", "ETHUSDT", Side.SELL, qty="0.05")
        assert (second.exchange_order_id, second.fills[0].trade_id) == ("2", "2")


def test_amounts_and_times_are_stored_as_exact_text() -> None:
    ex, _, _ = make(USDT="1000")
    place(ex, "t", "BTCUSDT", Side.BUY, quote="100")
    fill = ex.db.table("paper_fills").get(1)
    assert (fill["qty"], fill["price"], fill["commission"]) == ("0.0025", "40000", "0.0000025")
    assert fill["time"] == "2026-11-24T09:00:00.000Z"
    types = {c.name: c.type for c in ex.db.table("paper_balances").columns}
    assert types == {"asset": "TEXT", "free": "TEXT"}


def test_deposit_rejects_nonsense() -> None:
    ex, _, _ = make()
    for asset, amount in (("USDT", D("0")), ("USDT", D("-1")), ("", D("1")), ("USDT", D("NaN"))):
        with pytest.raises(ValueError):
            ex.deposit(asset, amount)
    assert bal(ex) == {}


# --- invariant: balances are re-derivable from deposits and fills ---------------------------------

STEP = {r.symbol: r.step_size for r in RULES}
ASSETS = {r.symbol: (r.base, r.quote) for r in RULES}
EXPECTED_CODES = {-1121, -2010, -1013, -1100}

sometimes = st.integers(min_value=0, max_value=5).map(lambda n: n == 0)  # about one in six
orders = st.tuples(
    st.sampled_from(["BTCUSDT", "ETHUSDT", "DOGEUSDT"] * 3 + ["HALTUSDT", "NOPEUSDT"]),
    st.sampled_from([Side.BUY, Side.SELL]),
    st.booleans(),  # buy by quote amount
    st.integers(min_value=0, max_value=3000),  # steps of quantity, or quote units
    sometimes,  # knock the quantity off the step
    st.decimals(min_value=D("0.05"), max_value=D("1.5"), places=3),  # price move factor
    sometimes,  # reuse the previous client order id
)


def rederive(ex: PaperExchange) -> dict[str, Decimal]:
    """Deposits plus the effect of every stored fill, recomputed from the stored text."""
    out: dict[str, Decimal] = {}
    for d in ex.db.query("SELECT asset, amount FROM paper_deposits"):
        out[d["asset"]] = out.get(d["asset"], D(0)) + D(d["amount"])
    for f in ex.db.query("SELECT * FROM paper_fills"):
        base, quote = ASSETS[f["symbol"]]
        qty, value = D(f["qty"]), D(f["qty"]) * D(f["price"])
        sign = 1 if f["side"] == "BUY" else -1
        out[base] = out.get(base, D(0)) + sign * qty
        out[quote] = out.get(quote, D(0)) - sign * value
        out[f["commission_asset"]] -= D(f["commission"])
    return {a: v for a, v in out.items() if v != 0}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ops=st.lists(orders, min_size=3, max_size=25),
    costs=st.builds(
        Costs,
        fee_rate=st.sampled_from([D("0"), D("0.001"), D("0.00075")]),
        slippage_bps=st.sampled_from([D("0"), D("5"), D("12.5")]),
        latency_ms=st.sampled_from([0, 250]),
    ),
)
def test_balances_rederive_exactly_from_deposits_and_fills(ops, costs: Costs) -> None:
    with sqlite_utils.Database(memory=True) as db:
        ex, market, _ = make(db, costs=costs, USDT="5000", BTC="0.05", ETH="1", DOGE="500")
        cid, filled = "start", 0
        for n, (symbol, side, by_quote, units, off_step, move, reuse) in enumerate(ops):
            cid = cid if reuse else f"o{n}"
            if symbol in PRICES:
                market.set_price(symbol, (PRICES[symbol] * move).quantize(D("0.00001")))
            step = STEP.get(symbol, D("0.01"))
            qty = units * step + (step / 2 if off_step else 0)
            quote = None
            if side is Side.BUY and by_quote:
                qty, quote = None, D(units)
            try:
                result = asyncio.run(ex.place_market_order(OrderRequest(cid, symbol, side, qty, quote)))
            except OrderRejected as e:
                assert e.code in EXPECTED_CODES
                continue
            filled += 1
            fill = result.fills[0]
            if quote is not None:
                assert fill.quantity * fill.price <= quote
            assert fill.quantity % STEP[symbol] == 0
        balances = bal(ex)
        assert balances == rederive(ex)
        assert all(v > 0 for v in balances.values())
        assert all(D(r["free"]) >= 0 for r in db.query("SELECT free FROM paper_balances"))
        assert ex.db.table("paper_fills").count == ex.db.table("paper_orders").count == filled


def test_buy_with_both_amounts_spends_the_quote_amount() -> None:
    ex, _, _ = make(USDT="1000")
    (fill,) = place(ex, "both", "ETHUSDT", Side.BUY, qty="0.3", quote="100").fills
    assert fill.quantity == D("0.05")  # the quote amount wins, as OrderRequest documents


def test_fee_of_a_cross_pair_is_valued_in_the_account_quote() -> None:
    clock = ManualClock(START)
    ethbtc = SymbolRules("ETHBTC", "ETH", "BTC", "TRADING", D("0.001"), D("0.001"), D("0"), D("0.0001"), D("0.00001"))
    market = FakeMarket(clock, RULES + [ethbtc], {**PRICES, "ETHBTC": D("0.05")})
    with sqlite_utils.Database(memory=True) as db:
        ex = PaperExchange(db, market, clock)
        ex.deposit("ETH", D("1"))
        (fill,) = place(ex, "x", "ETHBTC", Side.SELL, qty="1").fills
        assert (fill.commission, fill.commission_asset) == (D("0.00005"), "BTC")
        assert fill.fee_quote == D("0.00005") * PRICES["BTCUSDT"]  # 2 USDT
