"""One contract, two venues: the paper venue and the Binance adapter (real python-binance → local server)
must look the same to the engine — fills, fees in the asset received, balances, rejections, lookups.
"""
from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from tests.binance_world import CAPITAL, make_bot
from tests.books import assert_books_agree
from tradingbot.core.domain import OrderRequest, OrderStatus, Side
from tradingbot.core.errors import OrderRejected
from tradingbot.core.money import floor_to_step
from tradingbot.core.params import StrategyParams
from tradingbot.core.reconcile import differences, ledger_balances

VENUES = ["paper", "binance"]
FEE = Decimal("0.001")
PARAMS = StrategyParams(topn=5, min_age_days=1, min_quote_volume=Decimal(0))


def run(coro):
    return asyncio.run(coro)


async def _rules(bot, symbol):
    return {r.symbol: r for r in await bot.market.symbols()}[symbol]


@pytest.mark.parametrize("kind", VENUES)
def test_a_buy_by_quote_amount_fills_on_the_lot_step_and_pays_the_fee_in_the_asset_received(kind, tmp_path):
    async def scenario():
        async with make_bot(kind, tmp_path, PARAMS) as bot:
            rules = await _rules(bot, "ETHUSDT")
            r = await bot.exchange.place_market_order(OrderRequest("c-buy-1", "ETHUSDT", Side.BUY,
                                                                   quote_amount=Decimal("1000")))
            assert r.status is OrderStatus.FILLED and r.fills and r.client_order_id == "c-buy-1"
            qty = r.executed_qty
            spent = sum((f.price * f.quantity for f in r.fills), Decimal(0))
            assert floor_to_step(qty, rules.step_size) == qty and Decimal(990) < spent <= Decimal(1000)
            assert all(f.commission_asset == "ETH" for f in r.fills)
            assert sum(f.commission for f in r.fills) == sum((f.quantity * FEE).quantize(Decimal("1e-8"))
                                                            for f in r.fills)
            balances = await bot.exchange.balances()
            assert balances["USDT"] == CAPITAL - spent
            assert balances["ETH"] == qty - sum(f.commission for f in r.fills)
            assert await bot.exchange.find_order("ETHUSDT", "c-buy-1") == r
    run(scenario())


@pytest.mark.parametrize("kind", VENUES)
def test_a_sell_by_quantity_pays_the_fee_in_quote_and_balances_move_exactly(kind, tmp_path):
    async def scenario():
        async with make_bot(kind, tmp_path, PARAMS) as bot:
            rules = await _rules(bot, "BTCUSDT")
            bought = await bot.exchange.place_market_order(OrderRequest("c-b", "BTCUSDT", Side.BUY,
                                                                        quote_amount=Decimal(500)))
            held = (await bot.exchange.balances())["BTC"]
            qty = floor_to_step(held, rules.step_size)
            sold = await bot.exchange.place_market_order(OrderRequest("c-s", "BTCUSDT", Side.SELL, quantity=qty))
            assert sold.status is OrderStatus.FILLED and sold.executed_qty == qty
            assert all(f.commission_asset == "USDT" and f.fee_quote == f.commission for f in sold.fills)
            proceeds = sum((f.price * f.quantity - f.commission for f in sold.fills), Decimal(0))
            spent = sum((f.price * f.quantity for f in bought.fills), Decimal(0))
            balances = await bot.exchange.balances()
            assert balances["USDT"] == CAPITAL - spent + proceeds
            assert balances.get("BTC", Decimal(0)) == held - qty
    run(scenario())


@pytest.mark.parametrize("kind", VENUES)
def test_rejections_carry_binance_codes_and_change_nothing(kind, tmp_path):
    async def scenario():
        async with make_bot(kind, tmp_path, PARAMS) as bot:
            cases = [
                (OrderRequest("r1", "ETHUSDT", Side.BUY, quote_amount=Decimal(20000)), -2010),  # no funds
                (OrderRequest("r2", "ETHUSDT", Side.BUY, quote_amount=Decimal("0.5")), -1013),  # notional
                (OrderRequest("r3", "NOPEUSDT", Side.BUY, quote_amount=Decimal(100)), -1121),  # symbol
                (OrderRequest("r4", "ETHUSDT", Side.SELL, quantity=Decimal("0.123456789")), -1013),  # off step
            ]
            for request, code in cases:
                with pytest.raises(OrderRejected) as caught:
                    await bot.exchange.place_market_order(request)
                assert caught.value.code == code, request
            assert await bot.exchange.balances() == {"USDT": CAPITAL}
    run(scenario())


@pytest.mark.parametrize("kind", VENUES)
def test_an_order_the_venue_never_received_is_not_found(kind, tmp_path):
    async def scenario():
        async with make_bot(kind, tmp_path, PARAMS) as bot:
            assert await bot.exchange.find_order("ETHUSDT", "never-sent-1") is None
    run(scenario())


async def _rebalance_and_check(bot):
    summary = await bot.services.rebalance_now()
    assert summary.state == "done" and len(summary.row.targets) == 5
    assert {f.symbol for f in summary.fills} == set(summary.row.targets)
    assert_books_agree(bot.store, None)  # the venue's side: its changes since the deposit, below
    ledger = bot.store.load_ledger()
    venue = await bot.exchange.balances()
    assert differences(venue, {"USDT": CAPITAL}, ledger_balances(ledger), {"USDT": CAPITAL}) == []
    found, _ = await bot.services.reconcile()
    assert found == []
    return summary.row.targets


def test_both_venues_rebalance_to_the_same_targets_with_ledger_venue_and_fills_in_exact_agreement(tmp_path):
    async def scenario(kind):
        async with make_bot(kind, tmp_path / kind, PARAMS) as bot:
            return await _rebalance_and_check(bot)
    for kind in VENUES:
        (tmp_path / kind).mkdir()
    assert run(scenario("paper")) == run(scenario("binance"))
