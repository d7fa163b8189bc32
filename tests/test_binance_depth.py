"""GET /api/v3/depth on the local Binance, through the real python-binance client: the book its orders match."""
from __future__ import annotations

from decimal import Decimal

from tests.test_binance_sim import START, refused, run
from tradingbot.adapters.clock import ManualClock

D = Decimal
SYMBOL = "BTCUSDT"


def _weight(client) -> int:
    return int(client.response.headers["X-MBX-USED-WEIGHT-1M"])


def test_depth_lists_the_best_levels_first_as_text_pairs_and_each_answer_has_a_newer_update_id():
    async def scenario(sim, client):
        return await client.get_order_book(symbol=SYMBOL), await client.get_order_book(symbol=SYMBOL, limit=5)
    deep, top = run(scenario, clock=ManualClock(START), check_timestamps=False)  # one book for both reads
    assert set(deep) == {"lastUpdateId", "bids", "asks"} and top["lastUpdateId"] > deep["lastUpdateId"]
    assert len(deep["bids"]) == len(deep["asks"]) == 100 and len(top["bids"]) == len(top["asks"]) == 5
    assert all(isinstance(p, str) and isinstance(q, str) for p, q in deep["bids"] + deep["asks"])
    bids, asks = [D(p) for p, _ in deep["bids"]], [D(p) for p, _ in deep["asks"]]
    assert bids == sorted(bids, reverse=True) and asks == sorted(asks) and bids[0] < asks[0]
    assert top["asks"] == deep["asks"][:5] and top["bids"] == deep["bids"][:5]


def test_depth_weighs_by_limit_as_binance_counts_it():
    async def scenario(sim, client):
        costs = {}
        for n in (5, 100, 101, 500, 1000, 5000, 7000):
            before = _weight(client)
            await client.get_order_book(symbol=SYMBOL, limit=n)
            costs[n] = _weight(client) - before
        return costs
    assert run(scenario) == {5: 5, 100: 5, 101: 25, 500: 25, 1000: 50, 5000: 250, 7000: 250}


def test_depth_refuses_an_unknown_symbol_a_limit_below_one_and_no_symbol():
    async def scenario(sim, client):
        return (await refused(client.get_order_book(symbol="NOPEUSDT")),
                await refused(client.get_order_book(symbol=SYMBOL, limit=0)),
                await refused(client.get_order_book()))
    unknown, bad_limit, missing = run(scenario)
    assert (unknown.status_code, unknown.code, unknown.message) == (400, -1121, "Invalid symbol.")
    assert (bad_limit.code, bad_limit.message) == (
        -1100, "Illegal characters found in parameter 'limit'; legal range is '1 - 5000'.")
    assert missing.code == -1102


def test_a_market_buy_fills_level_by_level_at_the_prices_and_sizes_depth_showed():
    async def scenario(sim, client):
        book = await client.get_order_book(symbol=SYMBOL, limit=10)
        first = D(book["asks"][0][0]) * D(book["asks"][0][1])
        order = await client.order_market_buy(symbol=SYMBOL, quoteOrderQty=str((first * 2).quantize(D(1))))
        return book, order
    # one instant for both calls, so the order meets the very book depth showed
    book, order = run(scenario, clock=ManualClock(START), check_timestamps=False, deposit={"USDT": D(10**8)})
    fills = order["fills"]
    assert len(fills) >= 2  # twice the best level's value cannot fit in one level
    assert [[f["price"], f["qty"]] for f in fills[:-1]] == book["asks"][:len(fills) - 1]
    assert fills[-1]["price"] == book["asks"][len(fills) - 1][0]
