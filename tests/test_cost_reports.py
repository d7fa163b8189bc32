"""A paper rebalance walking books records where its money went (schema V10), and /history, the rebalance push and
/pnl show the split."""
from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal
from zoneinfo import ZoneInfo

from handlers import texts
from handlers.commands import Context, dispatch
from tests.conftest import World
from tradingbot.adapters import schema
from tradingbot.adapters.sqlite_store import SqliteStore, open_database
from tradingbot.adapters.synthetic_books import SyntheticBooks
from tradingbot.core.cost_split import rebalance_cost
from tradingbot.core.domain import OrderStatus

UTC = ZoneInfo("UTC")


def rebalanced(tmp_path, latency: str = "1500"):
    """A first rebalance on the scripted market through the paper venue with books, `latency` ms per order."""
    world = World(tmp_path / "bot.sqlite")
    world.paper.books = SyntheticBooks(world.market, world.clock)
    world.services.set_params([f"latency_ms={latency}"], "test")
    summary = asyncio.run(world.services.rebalance_slot())
    return world, summary


def test_each_order_keeps_its_signal_price_the_mid_and_touch_it_met_and_its_average_and_each_fill_its_model(
        tmp_path):
    world, summary = rebalanced(tmp_path)
    orders = [o for o in world.store.orders_for(summary.row.slot) if o.status is OrderStatus.FILLED]
    assert orders and summary.row.signal_prices
    for o in orders:
        fills = [f for f in world.store.fills(rebalance_id=summary.row.id) if f.client_order_id == o.client_order_id]
        assert o.signal_mid == summary.row.signal_prices[o.symbol]
        assert o.send_mid is not None and o.send_touch is not None and o.send_touch > o.send_mid  # buys: the ask
        assert o.signal_mid != o.send_mid  # the scripted prices drift while the order waits out its latency
        assert o.avg_price == sum(f.quote_quantity for f in fills) / sum(f.quantity for f in fills)
        assert {f.priced_by for f in fills} == {"book"}


def test_the_push_history_and_pnl_show_fees_spread_impact_and_delay(tmp_path):
    world, summary = rebalanced(tmp_path)
    split = rebalance_cost(summary.orders, summary.fills, "USDT")
    assert split.fees > 0 and split.spread > 0 and split.delay != 0 and split.traded > 0
    pushed = texts.summary(summary, "USDT", UTC)
    rows = world.services.history(5)
    history = texts.history(rows, "USDT", UTC, world.services.rebalance_costs(rows))
    pnl = texts.pnl(asyncio.run(world.services.pnl()), UTC)
    for text in (pushed, history, pnl):
        assert all(part in text for part in ("fees", "spread", "impact", "delay")), text
    assert f"Costs: {split.total:,.2f} USDT" in pushed and "Costs, last 1 rebalance:" in pnl
    assert f"{split.bps(split.total):.1f}bp" in history and f"Costs of {summary.row.slot}:" in history


def test_without_a_signal_price_or_fills_nothing_is_claimed(tmp_path):
    world = World(tmp_path / "bot.sqlite")
    assert texts.history(world.services.history(5), "USDT", UTC, {}) == "No rebalances yet."
    assert "Costs" not in texts.pnl(asyncio.run(world.services.pnl()), UTC)
    assert rebalance_cost([], [], "USDT").traded == Decimal(0)


def test_plan_estimates_the_split_from_the_books_now_and_says_nothing_without_books(tmp_path):
    world = World(tmp_path / "bot.sqlite")
    ctx = Context(world.services, "test")
    without = asyncio.run(dispatch(ctx, "/plan")).text
    world.services.books = SyntheticBooks(world.market, world.clock)
    preview = asyncio.run(world.services.preview())
    text = asyncio.run(dispatch(ctx, "/plan")).text
    costs = preview.costs
    assert "From the books now" not in without and "From the books now" in text
    assert costs is not None and costs.delay == 0 and costs.spread > 0 and costs.fees > 0
    spent = costs.traded + costs.spread + costs.impact  # at the mid, plus what crossing and walking the book took
    amounts = sum(o.quote_amount for o in preview.buys.orders if o.quote_amount)
    assert 0 <= amounts - spent < 1  # each buy's amount, but for less than one lot left unspent


def test_orders_and_fills_booked_before_v10_read_back_without_a_split(tmp_path):
    db = open_database(tmp_path / "v9.sqlite")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    for statements in schema.MIGRATIONS[:9]:
        for sql in statements:
            db.execute(sql)
    db.execute("INSERT INTO meta VALUES ('schema_version', '9')")
    db.execute("INSERT INTO rebalances (id, slot, kind, state, started_at, targets, equity_before, turnover, fees)"
               " VALUES (1, 'S1', 'manual', 'done', '2026-11-24T09:00:00.000Z', '[]', '100', '10', '0.01')")
    db.execute("INSERT INTO orders (client_order_id, rebalance_id, slot, leg, symbol, side, requested_quote, status,"
               " created_at, updated_at) VALUES ('c1', 1, 'S1', 'B', 'AUSDT', 'BUY', '10', 'filled', 't', 't')")
    db.execute("INSERT INTO fills (client_order_id, rebalance_id, symbol, side, price, quantity, quote_quantity,"
               " commission, commission_asset, fee_quote, time) VALUES ('c1', 1, 'AUSDT', 'BUY', '1', '10', '10',"
               " '0.01', 'A', '0.01', '2026-11-24T09:00:00.000Z')")
    db.conn.commit()
    store = SqliteStore(db, "USDT")  # migrates to V10
    order, fill = store.orders_for("S1")[0], store.fills()[0]
    assert (order.signal_mid, order.send_mid, order.send_touch, order.avg_price, fill.priced_by) == (
        None, None, None, None, "")
    assert store.get_rebalance("S1").signal_prices == {}
    assert rebalance_cost([order], [fill], "USDT").traded == 0  # no signal price: no claim about its costs


def test_the_cost_reports_read_only_orders_that_traded_in_one_query_and_split_as_all_orders_do(tmp_path):
    world, summary = rebalanced(tmp_path)
    slot, store = summary.row.slot, world.store
    dust = replace(store.orders_for(slot)[0], client_order_id="dust-1", status=OrderStatus.SKIPPED)
    store.add_orders(summary.row.id, slot, [dust], world.clock.now())  # a dust holding's skipped sell, no fills
    traded = {f.client_order_id for f in store.fills(rebalance_id=summary.row.id)}
    assert [o.client_order_id for o in store.filled_orders([slot, "S-none"])[slot]] == [
        o.client_order_id for o in store.orders_for(slot) if o.client_order_id in traded]
    assert store.filled_orders([slot, "S-none"])["S-none"] == [] and store.filled_orders([]) == {}
    rows = world.services.history(5)
    assert world.services.rebalance_costs(rows) == {
        r.id: rebalance_cost(store.orders_for(r.slot), store.fills(rebalance_id=r.id), "USDT") for r in rows}


def test_a_finished_rebalances_split_is_worked_out_once(tmp_path):
    world, summary = rebalanced(tmp_path)
    rows = world.services.history(5)
    first = world.services.rebalance_costs(rows)
    asked: list[list[str]] = []
    reads = world.store.filled_orders
    world.store.filled_orders = lambda slots: asked.append(list(slots)) or reads(slots)  # type: ignore[method-assign]
    assert world.services.rebalance_costs(rows) == first and asked == [[]]  # done: kept, nothing read again
