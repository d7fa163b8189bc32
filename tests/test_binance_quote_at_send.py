"""A Binance venue reads the top of each order's book just before sending it (GET /ticker/bookTicker) and
records the mid and best quote the order met, as the paper venue does, so the cost split tells the spread and
the delay from the impact; a read that fails or hangs is not waited for and records nothing."""
from __future__ import annotations

import asyncio
from decimal import Decimal

from tests.binance_world import CAPITAL, binance_bot
from tradingbot.adapters import binance_exchange
from tradingbot.adapters.sqlite_order_costs import SqliteFilledOrders
from tradingbot.core.cost_split import rebalance_cost
from tradingbot.core.domain import Fill, OrderRequest, OrderStatus, Side
from tradingbot.core.ledger import Ledger
from tradingbot.core.params import StrategyParams

BOOK_TICKER = "/api/v3/ticker/bookTicker"
PARAMS = StrategyParams(topn=5, min_age_days=1, min_quote_volume=Decimal(0))


def _asked(bot, path: str) -> int:
    return sum(1 for r in bot.sim.requests if r.path == path)


def test_a_rebalance_on_binance_records_the_book_at_send_and_its_split_adds_up_to_the_ledger(tmp_path):
    async def scenario():
        async with binance_bot(tmp_path, PARAMS) as bot:
            summary = await bot.services.rebalance_slot()
            orders = [o for o in bot.store.orders_for(summary.row.slot) if o.status is OrderStatus.FILLED]
            assert len(orders) == 5 and _asked(bot, BOOK_TICKER) == 5  # one read per order sent
            for o in orders:  # buys: the best ask, above the mid
                assert o.send_mid is not None and o.send_touch is not None and o.send_touch > o.send_mid
            split = rebalance_cost(orders, summary.fills, "USDT")
            assert split.spread > 0 and split.fees > 0 and split.traded > 0

            ideal = Ledger("USDT")  # the same quantities bought at the signal mids, at no cost
            ideal.deposit(CAPITAL)
            for o in orders:
                qty = sum(f.quantity for f in summary.fills if f.client_order_id == o.client_order_id)
                base = o.symbol.removesuffix("USDT")
                ideal.apply_fill(Fill(o.client_order_id, o.symbol, Side.BUY, o.signal_mid, qty, Decimal(0), base,
                                      Decimal(0), summary.row.started_at), base)
            signal = {o.symbol: o.signal_mid for o in orders}
            assert split.total == ideal.equity(signal) - bot.store.load_ledger().equity(signal)
            # `costs calibrate` prices them from the mid at send, not from the signal (its fallback)
            filled = SqliteFilledOrders(bot.databases[1]).filled_market_orders()
            assert len(filled) == 5 and all(o.send_mid is not None for o in filled)
            assert {(o.send_mid, o.send_touch) for o in filled} == {(o.send_mid, o.send_touch) for o in orders}
    asyncio.run(scenario())


def test_a_failed_or_slow_read_sends_the_order_without_a_quote(tmp_path, monkeypatch):
    monkeypatch.setattr(binance_exchange, "QUOTE_READ_TIMEOUT_S", 0.2)

    async def scenario():
        async with binance_bot(tmp_path, PARAMS) as bot:
            bot.sim.faults.fail_next(4, 503, path=BOOK_TICKER)  # every attempt of the read
            failed = await bot.exchange.place_market_order(OrderRequest("a", "ETHUSDT", Side.BUY,
                                                                        quote_amount=Decimal(100)))
            assert _asked(bot, BOOK_TICKER) == 4
            bot.sim.faults.hang_next(1, path=BOOK_TICKER)
            slow = await bot.exchange.place_market_order(OrderRequest("b", "ETHUSDT", Side.BUY,
                                                                      quote_amount=Decimal(100)))
            for r in (failed, slow):
                assert r.status is OrderStatus.FILLED and (r.send_mid, r.send_touch) == (None, None)
            # Given up at the read's own timeout: the transport's (2 s) would have ended in a second attempt
            assert _asked(bot, BOOK_TICKER) == 5 and len(bot.orders_sent()) == 2
            sold = await bot.exchange.place_market_order(OrderRequest("c", "ETHUSDT", Side.SELL,
                                                                      quantity=slow.executed_qty / 2))
            assert sold.send_touch is not None and sold.send_mid is not None and sold.send_touch < sold.send_mid
            assert await bot.exchange.find_order("ETHUSDT", "c") == sold  # a lookup keeps what was met
    asyncio.run(scenario())
