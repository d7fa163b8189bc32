"""Rate-limit storms, IP bans and a delisting on the local Binance, through the real python-binance client.

A 429 answer carries Retry-After: the transport waits that long before the same request goes again,
so a storm costs time, never a second execution. A 418 ban longer than a slot can wait is not
hammered: the slot is journaled as skipped and the next one runs once the ban is over.
"""
from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

from handlers.commands import Context, dispatch
from tests.binance_world import binance_bot
from tests.test_binance_faults import PARAMS, agreed
from tradingbot.core.errors import VenueUnavailable

ORDER = "/api/v3/order"


def run(coro):
    return asyncio.run(coro)


def answered(bot, status: int) -> int:
    return sum(1 for r in bot.sim.requests if r.status == status)


def test_a_429_storm_is_waited_out_and_the_rebalance_runs_exactly_once(tmp_path):
    async def scenario():
        async with binance_bot(tmp_path, PARAMS) as bot:
            await bot.services.preview()  # the bot has been running: its clients are open
            bot.sim.faults.fail_next(3, 429, None, retry_after=1)  # whatever is asked next, three times
            summary = await bot.services.rebalance_slot()
            assert summary.state == "done" and len(bot.orders_sent()) == 4  # executed once each
            assert answered(bot, 429) == 3  # the injected storm only: the weight budget kept the rest under
            assert max(t.health.used_weight for t in bot.transports) <= bot.transports[1].health.budget
            waits = [w for t in bot.transports for w in t.health.waits]
            assert waits.count(1.0) == 3  # each Retry-After waited before the request went again
            await agreed(bot)
    run(scenario())


def test_a_429_on_the_first_contact_carries_its_retry_after_and_the_rebalance_still_runs_once(tmp_path):
    async def scenario():
        async with binance_bot(tmp_path, PARAMS) as bot:  # nothing asked yet: the clients open (ping) first
            bot.sim.faults.fail_next(2, 429, None, retry_after=1)
            try:
                await bot.transports[0].open()
                raise AssertionError("the refused ping must not open the client")
            except VenueUnavailable as e:
                assert e.retry_after == 1.0
            summary = await bot.services.rebalance_slot()  # the second 429 meets the engine's backoff
            assert summary.state == "done" and len(bot.orders_sent()) == 4
            await agreed(bot)
    run(scenario())


def test_a_short_418_ban_is_waited_out(tmp_path):
    async def scenario():
        async with binance_bot(tmp_path, PARAMS) as bot:
            bot.sim.faults.fail_next(1, 418, ORDER, retry_after=1)
            summary = await bot.services.rebalance_slot()
            assert summary.state == "done" and len(bot.orders_sent()) == 4
            assert 1.0 in bot.transports[1].health.waits
            await agreed(bot)
    run(scenario())


def test_a_long_418_ban_skips_the_slot_without_hammering_and_the_next_slot_runs(tmp_path):
    async def scenario():
        async with binance_bot(tmp_path, PARAMS) as bot:
            await bot.services.reconcile()
            bot.sim.faults.fail_next(1000, 418, None, retry_after=3600)  # banned for an hour
            summary = await bot.services.rebalance_slot()
            assert summary.state == "skipped" and "exchange unreachable: rate limited (418)" in summary.row.note
            assert answered(bot, 418) <= 4  # one per question asked, none repeated while banned
            asked = len(bot.sim.requests)
            await bot.services.status()  # still answers (last mark) ...
            assert len(bot.sim.requests) == asked  # ... without asking a venue that banned us
            assert bot.orders_sent() == []
            history = (await dispatch(Context(bot.services, "test"), "/history")).text
            assert "skipped" in history and "418" in history

            bot.sim.faults.clear()  # the ban is over by the next slot
            bot.clock.advance(timedelta(days=1))
            again = await bot.services.rebalance_slot()
            assert again.state == "done" and again.slot != summary.slot and len(bot.orders_sent()) == 4
            assert bot.store.get_rebalance(summary.slot).state == "skipped"  # never run late
            await agreed(bot)
    run(scenario())


def test_a_token_delisted_while_held_is_valued_at_its_last_price_and_kept(tmp_path):
    async def scenario():
        async with binance_bot(tmp_path, PARAMS) as bot:
            await bot.services.reconcile()
            first = await bot.services.rebalance_slot()
            gone = first.targets[0]
            asset = gone.removesuffix("USDT")
            held = bot.store.load_ledger().holdings()[asset]
            listed = {r.symbol for r in await bot.sim.market.symbols()}
            bot.sim.listing.listed = listed - {gone}  # gone from exchangeInfo, prices and klines
            bot.clock.advance(timedelta(minutes=5))  # past the exchangeInfo cache

            for text in ("/status", "/pnl", "/positions"):
                assert "failed" not in (await dispatch(Context(bot.services, "test"), text)).text.lower()
            [kept] = [p for p in (await bot.services.positions()).positions if p.asset == asset]
            # its last close on the venue (cached candles), else the last price the bot booked or valued it at
            assert abs(kept.price / bot.store.last_prices()[gone] - 1) < Decimal("0.005") and kept.quantity == held

            bot.clock.advance(timedelta(days=1))
            later = await bot.services.rebalance_slot()
            assert later.state == "done"
            assert any(s.symbol == gone for s in later.skipped), later.skipped
            assert [o for o in bot.orders_sent() if o["symbol"] == gone and o["side"] == "SELL"] == []
            assert bot.store.load_ledger().holdings()[asset] == held  # kept until a person writes it off
            await agreed(bot)
    run(scenario())
