"""Every fault the local Binance server can inject leaves ledger and venue agreeing, with no order sent twice.

The bot runs EXCHANGE=testnet against BinanceSim through the real python-binance client.
"""
from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal

import pytest

from tests.binance_world import CAPITAL, binance_bot
from tests.books import assert_books_agree
from tradingbot.core.domain import OrderStatus
from tradingbot.core.params import StrategyParams
from tradingbot.core.reconcile import ledger_balances

PARAMS = StrategyParams(topn=4, min_age_days=1, min_quote_volume=Decimal(0))
ORDER = "/api/v3/order"


def run(coro):
    return asyncio.run(coro)


async def agreed(bot) -> None:
    """Ledger = fills replayed = venue changes; no client order id executed twice."""
    assert_books_agree(bot.store, None)  # the venue's side: reconcile, below
    found, _ = await bot.services.reconcile()
    assert found == []
    sent = Counter(o["clientOrderId"] for o in bot.orders_sent())
    assert [c for c, n in sent.items() if n > 1] == []


def fault_case(inject, check=None, extra=None):
    async def scenario(tmp_path):
        async with binance_bot(tmp_path, PARAMS, extra=extra) as bot:
            await bot.services.reconcile()  # baseline before trading
            inject(bot.sim)
            summary = await bot.services.rebalance_now()
            assert summary.state == "done", summary.row.note
            await agreed(bot)
            if check:
                assert check(bot, summary) is None, "a check asserts what it expects; a returned value is lost"
    return scenario


def _bought_everything(bot, summary):
    assert len(summary.fills) >= 4 and len(bot.orders_sent()) == 4


def _an_order_partly_filled(bot, summary):
    assert [o for o in summary.orders if o.status is OrderStatus.PARTIAL] != []


def _commission_paid_in_bnb(bot, summary):
    assert summary.fills and {f.commission_asset for f in summary.fills} == {"BNB"}


CASES = {
    "response lost after the order was accepted": fault_case(lambda s: s.faults.lose_response_next(2), _bought_everything),
    "order request times out unexecuted": fault_case(lambda s: s.faults.hang_next(1, ORDER), _bought_everything),
    "503 on an order": fault_case(lambda s: s.faults.fail_next(2, 503, ORDER), _bought_everything),
    "-1007 status unknown, executed": fault_case(lambda s: s.faults.fail_next(1, 500, ORDER, execute=True),
                                                 _bought_everything),
    "429 on market data": fault_case(lambda s: s.faults.fail_next(1, 429, "/api/v3/exchangeInfo")),
    "clock skew provokes -1021": fault_case(lambda s: s.faults.skew_clock(-30_000), _bought_everything),
    "a partial fill": fault_case(lambda s: s.faults.partial_next("0.5"), _an_order_partly_filled),
    "commission in BNB": fault_case(lambda s: s.faults.bnb_fees(True), _commission_paid_in_bnb,
                                    extra={"BNB": Decimal(5)}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_fault_leaves_ledger_and_venue_agreeing(name, tmp_path):
    run(CASES[name](tmp_path))


def test_a_business_rejection_is_reported_once_and_never_retried(tmp_path):
    async def scenario():
        async with binance_bot(tmp_path, PARAMS) as bot:
            bot.sim.faults.reject_next(-2010, "Account has insufficient balance for requested action.")
            summary = await bot.services.rebalance_now()
            rejected = [o for o in summary.orders if o.status is OrderStatus.REJECTED]
            assert len(rejected) == 1 and rejected[0].error_code == -2010
            assert len(summary.errors) == 1
            assert len(bot.orders_sent()) == 3  # the other three bought; the rejected one was not sent again
            await agreed(bot)
    run(scenario())


def test_a_symbol_halted_between_ranking_and_ordering_is_refused_once_and_the_rest_completes(tmp_path):
    async def scenario():
        async with binance_bot(tmp_path, PARAMS) as bot:
            halted: list[str] = []

            def halt_a_target(_line: str) -> None:  # the first order is going out: the ranking is done
                if not halted:
                    halted.append(bot.store.recent_rebalances(1)[0].targets[-1])
                    bot.sim.faults.set_status(halted[0], "BREAK")

            summary = await bot.services.rebalance_now(progress=halt_a_target)
            assert summary.state == "done" and halted[0] in summary.targets
            [refused] = [o for o in summary.orders if o.symbol == halted[0]]
            assert refused.status is OrderStatus.REJECTED and any(halted[0] in e for e in summary.errors)
            assert sorted(o["symbol"] for o in bot.orders_sent()) == sorted(t for t in summary.targets
                                                                             if t != halted[0])
            await agreed(bot)
    run(scenario())


def test_the_venue_s_own_assets_are_never_traded(tmp_path):
    async def scenario():
        gifts = {"BTC": Decimal(1), "ETH": Decimal(10), "USDT": CAPITAL * 5}  # a stocked testnet account
        async with binance_bot(tmp_path, PARAMS, extra=gifts) as bot:
            await bot.services.reconcile()
            before = await bot.exchange.balances()
            summary = await bot.services.rebalance_now()
            spent = sum((f.price * f.quantity for f in summary.fills), Decimal(0))
            assert spent <= CAPITAL and all(f.side.value == "BUY" for f in summary.fills)
            after = await bot.exchange.balances()
            assert after["BTC"] >= before["BTC"] and after["USDT"] >= before["USDT"] - CAPITAL
            await agreed(bot)
    run(scenario())


def test_reconciliation_reports_a_difference_and_changes_nothing(tmp_path):
    async def scenario():
        async with binance_bot(tmp_path, PARAMS) as bot:
            await bot.services.reconcile()
            bot.sim.add_account("test-api-key-0123456789", "test-api-secret-abcdefghijklmnop",
                                {"USDT": CAPITAL - 25})  # someone withdrew 25 USDT behind the bot's back
            ledger_before = ledger_balances(bot.store.load_ledger())
            found, changed = await bot.services.reconcile()
            assert changed and [(d.asset, d.gap) for d in found] == [("USDT", Decimal(-25))]
            assert ledger_balances(bot.store.load_ledger()) == ledger_before
            assert bot.store.db.execute("SELECT COUNT(*) FROM reconciliations").fetchone()[0] == 1
            assert (await bot.services.reconcile())[1] is False  # reported once, not on every check
    run(scenario())
