"""Soak on the Binance path: hourly rebalances through the real python-binance client against the local
Binance (BinanceSim), a seeded random fault before every slot, then the books must balance exactly.

CI runs 16 hourly slots (every kind of fault at least once, ~15 s). A longer run on demand:

    SOAK_BINANCE_SLOTS=240 python -m pytest tests/test_soak_binance.py -s

(SOAK_SEED picks another fault schedule; it is shared with tests/test_soak.py.) The faults are the sim's:
5xx on orders with and without execution, answers lost after execution (once with the lookups down and a
restart before the resume), a hung order request, a 429 storm with a short Retry-After, a rejection, a
partial fill, a symbol halted between ranking and ordering, a held one halted for hours, fees in BNB, a
skewed server clock, a restart between slots, a slot fired twice. The figures are printed; -s shows them. Afterwards:
- the ledger re-derived from the fills equals the stored ledger and the venue's balances (less the BNB
  the account held for fees), to the last unit;
- every hourly slot has exactly one journal row (none lost, none run twice), none is left open;
- no client order id was executed twice at the venue, and every venue trade is booked (and nothing else).
"""
from __future__ import annotations

import asyncio
import os

from tests.binance_world import binance_bot
from tests.books import assert_books_agree
from tests.figures import count
from tests.soak import assert_slots_journaled_once
from tests.soak_binance import FIRST_SLOT, GIFT, KINDS, PARAMS, BinanceSoak

SLOTS = int(os.environ.get("SOAK_BINANCE_SLOTS", "16"))
SEED = int(os.environ.get("SOAK_SEED", "20261124"))


def test_binance_soak_hourly_rebalances_with_random_faults_keep_the_books_exact(tmp_path):
    async def scenario() -> None:
        async with binance_bot(tmp_path, PARAMS, extra=GIFT) as bot:
            soak = BinanceSoak(bot, SEED)
            seconds = await soak.run(SLOTS)
            print("\n" + soak.figures(seconds))
            count("binance soak slots run", len(soak.slots))
            count("binance soak faults injected", sum(soak.injected.values()))
            count("binance soak orders sent twice", soak.sent_twice())
            count("binance soak trades lost", soak.trades_lost())
            store = bot.store  # the last process's

            # the ledger re-derived from fills == the stored ledger == the venue, exactly (Decimal equality)
            assert_books_agree(store, soak.venue_balances())

            # one journal row per hourly slot: none lost, none twice, none left open
            assert_slots_journaled_once(store, FIRST_SLOT, SLOTS)

            # nothing executed twice at the venue; every venue trade booked once, and nothing else
            assert soak.sent_twice() == 0
            fills = store.fills()
            assert soak.trades_lost() == 0 and len(fills) == len({(f.client_order_id, f.trade_id) for f in fills})

            # the schedule did what it is for: every kind struck somewhere, most slots still traded
            assert soak.states()["done"] >= SLOTS * 0.7
            if SLOTS >= len(KINDS):
                assert set(soak.injected) == set(KINDS)
                assert {f.commission_asset for f in fills} >= {"BNB", "USDT"}  # fees in BNB struck
    asyncio.run(scenario())
