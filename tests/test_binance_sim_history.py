"""The local Binance serves clients other than ours: order and trade history as Binance pages it, time in force on
market orders refused, and the book ticker; through the real python-binance client and raw HTTP."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import aiohttp

from tests.test_binance_sim import KEY, START, refused, run
from tradingbot.adapters.clock import ManualClock
from standins.binance_json import ms


def three_buys_an_hour_apart(clock: ManualClock):
    """Three one-fill ETHUSDT buys at START, +1 h, +2 h; answers (orders, their trade ids)."""
    async def place(client):
        orders = []
        for _ in range(3):
            orders.append(await client.order_market_buy(symbol="ETHUSDT", quoteOrderQty="100"))
            clock.advance(timedelta(hours=1))
        return orders
    return place


def test_history_without_a_starting_point_is_the_newest_and_time_filters_apply():
    clock = ManualClock(START)
    hour = 3_600_000

    async def scenario(sim, client):
        orders = await three_buys_an_hour_apart(clock)(client)
        ids = [o["orderId"] for o in orders]
        trades = [o["fills"][0]["tradeId"] for o in orders]
        t0 = ms(START)
        asked = {
            "newest orders": await client.get_all_orders(symbol="ETHUSDT", limit=2),
            "orders from id": await client.get_all_orders(symbol="ETHUSDT", orderId=ids[0], limit=2),
            "orders in window": await client.get_all_orders(symbol="ETHUSDT", startTime=t0 + hour // 2,
                                                            endTime=t0 + hour + hour // 2),
            "orders before": await client.get_all_orders(symbol="ETHUSDT", endTime=t0 + hour, limit=1),
            "newest trades": await client.get_my_trades(symbol="ETHUSDT", limit=2),
            "trades from id": await client.get_my_trades(symbol="ETHUSDT", fromId=trades[0], limit=2),
            "trades since": await client.get_my_trades(symbol="ETHUSDT", startTime=t0 + hour // 2, limit=1),
            "trades in window": await client.get_my_trades(symbol="ETHUSDT", startTime=t0 + hour // 2,
                                                           endTime=t0 + hour + hour // 2),
        }
        return ids, trades, asked
    ids, trades, asked = run(scenario, clock=clock, check_timestamps=False)
    assert [o["orderId"] for o in asked["newest orders"]] == ids[1:]  # Binance: the most recent `limit`
    assert [o["orderId"] for o in asked["orders from id"]] == ids[:2]
    assert [o["orderId"] for o in asked["orders in window"]] == [ids[1]]
    assert [o["orderId"] for o in asked["orders before"]] == [ids[1]]  # endTime alone: newest up to it
    assert [t["id"] for t in asked["newest trades"]] == trades[1:]
    assert [t["id"] for t in asked["trades from id"]] == trades[:2]
    assert [t["id"] for t in asked["trades since"]] == [trades[1]]  # startTime: the oldest from there
    assert [t["id"] for t in asked["trades in window"]] == [trades[1]]


def test_a_market_order_with_a_time_in_force_is_refused_as_binance_does():
    async def scenario(sim, client):
        order = await refused(client.create_order(symbol="ETHUSDT", side="BUY", type="MARKET", quoteOrderQty="50",
                                                  timeInForce="GTC"))
        test = await refused(client.create_test_order(symbol="ETHUSDT", side="BUY", type="MARKET",
                                                      quoteOrderQty="50", timeInForce="IOC"))
        return order, test, sim.orders(KEY)
    order, test, placed = run(scenario)
    for refusal in (order, test):
        assert (refusal.status_code, refusal.code) == (400, -1106)
        assert refusal.message == "Parameter 'timeInForce' sent when not required."
    assert placed == []


def test_the_book_ticker_answers_one_symbol_or_all_with_binances_weights():
    async def scenario(sim, client):
        before = sim.used_weight  # create() pinged and asked the time
        one = await client.get_orderbook_ticker(symbol="ETHUSDT")
        w_one = int(client.response.headers["X-MBX-USED-WEIGHT-1M"])
        every = await client.get_orderbook_tickers()
        w_all = int(client.response.headers["X-MBX-USED-WEIGHT-1M"])
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{sim.rest_url}/v3/ticker/bookTicker",
                                params={"symbols": '["BTCUSDT","ETHUSDT"]'}) as resp:
                pair, w_pair = await resp.json(), int(resp.headers["X-MBX-USED-WEIGHT-1M"])
            async with http.get(f"{sim.rest_url}/v3/ticker/bookTicker", params={"symbol": "NOPEUSDT"}) as resp:
                unknown = resp.status, await resp.json()
        price = (await sim.listing.prices())["ETHUSDT"]
        return one, every, pair, unknown, price, (w_one - before, w_all - w_one, w_pair - w_all)
    one, every, pair, unknown, price, weights = run(scenario, clock=ManualClock(START))
    assert set(one) == {"symbol", "bidPrice", "bidQty", "askPrice", "askQty"} and one["symbol"] == "ETHUSDT"
    assert Decimal(one["bidPrice"]) <= price < Decimal(one["askPrice"]) and Decimal(one["bidQty"]) > 0
    assert len(every) > 40 and {"ETHUSDT", "BTCUSDT"} <= {t["symbol"] for t in every}
    assert [t["symbol"] for t in pair] == ["BTCUSDT", "ETHUSDT"] and pair[1] == one
    assert weights == (2, 4, 4)
    assert unknown == (400, {"code": -1121, "msg": "Invalid symbol."})
