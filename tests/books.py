"""The books check the fault, soak and crash tests end with: the ledger re-derived from the journaled fills
== the stored ledger == the venue's balances, Decimal-exact.

The check reads a store, so it works on a live bot's database and on the copy a killed process left behind.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Mapping

from tradingbot.adapters.sqlite_store import SqliteStore
from tradingbot.core.ledger import Ledger, replay
from tradingbot.core.reconcile import ledger_balances


def replayed_ledger(store: SqliteStore) -> Ledger:
    """The ledger rebuilt from scratch out of the store's deposits and every fill, in booking order."""
    quote = store.quote
    return replay(quote, store.deposits(), ((f, f.symbol.removesuffix(quote)) for f in store.fills_in_order()))


def held(balances: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Balances without the empty ones (a venue may list an asset at 0 or not at all)."""
    return {a: q for a, q in balances.items() if q}


def book_differences(stored: Ledger, replayed: Ledger, venue: Mapping[str, Decimal] | None) -> list[str]:
    """Every way the stored ledger, the replayed one and the venue disagree (empty when they agree exactly).

    The ledgers must be equal in full (cash, fees, each position's quantity, cost and realized P/L), not
    only in what they hold. venue=None skips the venue: on one whose balances predate the bot.
    """
    found = []
    if stored != replayed:
        found.append(f"stored ledger {stored} != fills replayed {replayed}")
    if venue is not None and held(ledger_balances(stored)) != held(venue):
        found.append(f"ledger holds {held(ledger_balances(stored))}, venue {held(venue)}")
    return found


def assert_books_agree(store: SqliteStore, venue: Mapping[str, Decimal] | None) -> None:
    """Fills replayed == stored ledger == venue balances (venue=None: the two ledgers only)."""
    problems = book_differences(store.load_ledger(), replayed_ledger(store), venue)
    assert problems == [], "\n".join(problems)
