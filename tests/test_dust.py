"""Dust: one definition (what no order can sell), shown apart everywhere, converted by /dust on paper only."""
from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings, strategies as st

from handlers import texts as fmt
from handlers.commands import BY_NAME, Context, dispatch
from tests.books import assert_books_agree
from tests.builders import rules
from tradingbot.app.dust import DUST_LEG, settle_interrupted
from tradingbot.app.order_desk import request_for
from tradingbot.app.rebalancer import client_order_id
from tradingbot.core.domain import OrderRecord, OrderStatus, Position, Side
from tradingbot.core.costs import Costs
from tradingbot.core.planning import Book, flag_dust, is_dust, plan_sells

D = Decimal
run = asyncio.run


def cheap_rules(symbol: str, step: str, min_notional: str):
    return rules(symbol, step=step, min_notional=min_notional)


@settings(max_examples=200, deadline=None)
@given(qty=st.decimals("0", "50", places=6), price=st.decimals("0.01", "500", places=4),
       step=st.sampled_from(["1", "0.1", "0.001", "0.00001"]), notional=st.sampled_from(["0.1", "1", "5", "10"]))
def test_dust_is_exactly_what_the_planner_cannot_sell(qty, price, step, notional):
    """The one definition agrees with the planner: dust iff a full-mode sell of the holding is skipped."""
    r = cheap_rules("AAAUSDT", step, notional)
    book = Book("USDT", D(0), {"AAA": qty} if qty > 0 else {}, {"AAAUSDT": r}, {"AAAUSDT": price})
    plan = plan_sells(book, [], "full", D(1), Costs(slippage_bps=D(0)))
    assert is_dust(qty, price, r) == (qty > 0 and not plan.orders)


def test_dust_is_judged_by_the_venue_filters_not_by_value():
    """1.23 USDT below a 5 USDT minimum is dust; 0.75 USDT above a 0.1 USDT minimum is a sellable position."""
    held = [Position("BBB", D(100), D(1), D(0), D(0), D("0.0123")), Position("CCC", D("0.05"), D(1), D(0), D(0), D(15)),
            Position("GONE", D(3), D(1), D(0), D(0), None)]
    flagged = flag_dust(held, {"BBBUSDT": cheap_rules("BBBUSDT", "1", "5"), "CCCUSDT": cheap_rules("CCCUSDT", "0.001", "0.1")},
                        "USDT")
    assert [p.dust for p in flagged] == [True, False, False]  # no rules, no price: a position to look at
    sells = plan_sells(Book("USDT", D(0), {"CCC": D("0.05")}, {"CCCUSDT": cheap_rules("CCCUSDT", "0.001", "0.1")},
                            {"CCCUSDT": D(15)}), [], "full", D(1), Costs())
    assert [(o.symbol, o.quantity) for o in sells.orders] == [("CCCUSDT", D("0.050"))]  # sold with the next rebalance


def leave_dust(world) -> dict[str, Decimal]:
    """A rebalance and a liquidation: the buy fees leave a sub-lot fraction of each coin held."""
    run(world.services.rebalance_slot())
    world.clock.advance(timedelta(hours=1))
    run(world.services.liquidate())
    left = world.store.load_ledger().holdings()
    assert left
    return left


def test_status_positions_and_summaries_show_dust_apart(world):
    run(world.services.rebalance_slot())
    world.services.set_params("strategy=reversal", "test")  # other picks: the coins sold leave dust behind
    world.clock.advance(timedelta(days=1))
    summary = run(world.services.rebalance_slot())
    ledger = world.store.load_ledger()
    status = run(world.services.status())
    positions = run(world.services.positions())
    dust = positions.dust
    assert dust.count > 0 and dust.count + len(positions.held) == len(ledger.holdings())
    assert status.positions == len(positions.held) == 4 and status.dust == dust
    assert f"Positions: 4 (and dust: {dust.count} coins ≈" in fmt.status(status)
    assert f"dust: {dust.count} coins ≈" in fmt.positions(positions)
    assert sum(1 for line in fmt.positions(positions).splitlines()[1:] if not line.startswith(("cash", "dust", "Equity"))) == 4
    text = fmt.summary(summary, "USDT", world.services.params.zone)
    assert f"Left as dust: {dust.count} coins" in text and "Still held outside" not in text
    ranking = run(world.services.ranking())
    assert ranking.held == {p.asset + "USDT" for p in positions.held}


def test_dust_converts_on_paper_with_one_fill_each_and_the_books_still_agree(world):
    left = leave_dust(world)
    before = run(world.services.positions())
    ctx = Context(world.services, "test", requested_at=world.clock.now())
    preview = run(BY_NAME["dust"].preview(ctx, []))
    assert preview.confirmable and preview.text.startswith(f"Convert dust: {len(left)} coins ≈")
    reply = run(dispatch(ctx, "/dust"))
    assert reply.text.startswith("Dust conversion D") and f"{len(left)} fills recorded as dust conversions" in reply.text
    ledger = world.store.load_ledger()
    assert ledger.holdings() == {}
    fills = world.store.fills(limit=len(left))
    assert {f.symbol.removesuffix("USDT") for f in fills} == set(left) and all(f.side is Side.SELL for f in fills)
    for f in fills:  # at the last price, less the fee, booked in quote
        assert f.price == world.market.price(f.symbol, world.clock.now())
        assert f.fee_quote == f.commission == (f.quantity * f.price * D("0.001")).quantize(D("0.00000001"))
    journal = world.store.orders_for(fills[0].client_order_id.split("-")[0])
    assert {o.leg for o in journal} == {DUST_LEG} and all(o.rebalance_id is None for o in journal)
    assert ledger.cash == before.cash + sum(f.quantity * f.price - f.fee_quote for f in fills)
    assert_books_agree(world.store, run(world.paper.balances()))  # fills replayed == ledger == venue
    assert run(dispatch(ctx, "/dust")).text.endswith("already done: nothing sent.")  # a confirmation pressed twice
    world.clock.advance(timedelta(seconds=5))
    later = Context(world.services, "test", requested_at=world.clock.now())
    assert run(dispatch(later, "/dust")).text == "⚠ no dust to convert: every holding can be sold by an order"
    assert not run(BY_NAME["dust"].preview(later, [])).confirmable


class NoDustVenue:
    """A venue without a dust transfer, as Binance's Spot Testnet and Demo Mode are."""

    name = "testnet"

    def __init__(self, inner):
        self.inner = inner

    async def balances(self):
        return await self.inner.balances()


def test_dust_on_a_venue_without_dust_transfer_says_so_and_converts_nothing(world):
    left = leave_dust(world)
    world.services.exchange = NoDustVenue(world.paper)
    ctx = Context(world.services, "test", requested_at=world.clock.now())
    preview = run(BY_NAME["dust"].preview(ctx, []))
    reply = run(dispatch(ctx, "/dust"))
    for text in (preview.text, reply.text):
        assert "\n" not in text and "/sapi/v1/asset/dust" in text and "nothing converted" in text
        assert f"dust: {len(left)} coins ≈" in text
    assert not preview.confirmable
    assert world.store.load_ledger().holdings() == left and run(world.paper.balances()).keys() >= left.keys()


def test_dust_is_for_admins_and_takes_no_arguments(world):
    viewer = Context(world.services, "viewer", role=BY_NAME["status"].role)
    assert run(dispatch(viewer, "/dust")).text == "⚠ /dust is for admins only"
    assert run(dispatch(Context(world.services, "admin"), "/dust now")).text == "⚠ /dust takes no arguments"


def test_charts_get_dust_flags_from_the_services(world):
    leave_dust(world)
    world.clock.advance(timedelta(hours=1))
    snapshots = run(world.services.inventory())
    last = snapshots[-1]
    assert last.live and last.time == world.clock.now() and last.dust.count == len(world.store.load_ledger().holdings())
    assert set(last.values) == {"USDT"}  # only cash: every coin left is dust
    first = snapshots[0]  # the first rebalance's: four positions and the cash left, no dust yet
    assert not first.live and len(first.values) == 5 and first.dust.count == 0


def journal_dust_orders(world, key: str):
    """The first half of a /dust: its orders journaled as being sent, as convert_dust writes them."""
    quote = world.services.quote
    held = world.store.load_ledger().holdings()
    orders = [OrderRecord(client_order_id(key, DUST_LEG, asset + quote), None, key, DUST_LEG, asset + quote, Side.SELL,
                          qty, None, OrderStatus.SENDING) for asset, qty in held.items()]
    world.store.add_orders(None, key, orders, world.clock.now())
    return orders


def test_a_conversion_the_venue_ran_before_a_crash_is_booked_at_the_next_start(world):
    leave_dust(world)
    orders = journal_dust_orders(world, "D20261125T100000")
    run(world.paper.convert_dust([request_for(o) for o in orders]))  # the venue converted; the crash came before booking
    assert world.store.load_ledger().holdings() != {}  # ledger and venue disagree until settled
    assert run(settle_interrupted(world.services)) == len(orders)
    assert world.store.load_ledger().holdings() == {}
    assert {o.status for o in world.store.orders_for("D20261125T100000")} == {OrderStatus.FILLED}
    assert_books_agree(world.store, run(world.paper.balances()))
    assert run(settle_interrupted(world.services)) == 0  # settled once


def test_a_conversion_cut_short_before_the_venue_acted_is_closed_and_changes_nothing(world):
    left = leave_dust(world)
    journal_dust_orders(world, "D20261125T100000")
    assert run(settle_interrupted(world.services)) == len(left)
    closed = world.store.orders_for("D20261125T100000")
    assert {o.status for o in closed} == {OrderStatus.REJECTED} and all("nothing converted" in o.error for o in closed)
    assert world.store.load_ledger().holdings() == left
    assert_books_agree(world.store, run(world.paper.balances()))


def test_a_rebalance_summary_leaves_out_the_dust_it_could_not_sell_instead_of_a_line_per_coin(world):
    run(world.services.rebalance_slot())
    for strategy in ("reversal", "momentum"):  # other picks each day: the coins sold leave dust behind
        world.services.set_params(f"strategy={strategy}", "test")
        world.clock.advance(timedelta(days=1))
        summary = run(world.services.rebalance_slot())
    dust_sells = {k.symbol for k in summary.skipped if k.reason.startswith("below minimum")}
    assert len(dust_sells) == 4  # the dust held since the last rebalance, tried and skipped
    text = fmt.summary(summary, "USDT", world.services.params.zone)
    assert "Skipped" not in text and "Left as dust: 4 coins" in text
