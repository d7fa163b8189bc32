"""Dust conversion (/dust): the holdings no order can sell, turned into the quote where the venue allows it.

What dust is lives in planning.is_dust; this is the use case. The paper venue converts each holding at the
last price less the fee, as Binance's dust transfer does (Binance pays BNB; the paper account its quote). Each
conversion is journaled as an order on the dust leg "D" and booked as one sell fill through the same
record_execution as every trade, so equity = cash + Σ quantity × price and the ledger re-derived from the
fills keep holding. Binance's own dust transfer is a wallet (SAPI) endpoint that the Spot Testnet and Demo
Mode do not offer: there the bot says so and converts nothing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING

from ..core.domain import ZERO, DustTotal, Fill, OrderRecord, OrderStatus, Position, Side
from .rebalancer import client_order_id
from ..core.errors import UserError
from .market_view import owned
from .order_desk import request_for
from .ports import DustConverter

if TYPE_CHECKING:
    from .services import Services

log = logging.getLogger(__name__)
DUST_LEG = "D"  # the journal's leg of a dust conversion: its fills are recorded as such, not as trades
NOT_OFFERED = ("Binance converts dust only by its wallet's dust transfer to BNB (POST /sapi/v1/asset/dust, less a"
               " service charge), which the {venue} venue does not offer: nothing converted")


@dataclass(frozen=True)
class DustConversion:
    """What /dust did: the journal key, what was dust, the fills booked and the quote received net of fees."""

    slot: str
    dust: DustTotal
    fills: tuple[Fill, ...]
    already_done: bool = False

    @property
    def received(self) -> Decimal:
        return sum((f.quote_quantity - f.fee_quote for f in self.fills), ZERO)


def dust_key(at: datetime) -> str:
    """Journal key of a dust conversion, one per second asked: D20261124T091503."""
    return at.astimezone(timezone.utc).strftime("D%Y%m%dT%H%M%S")


async def dust_now(services: Services) -> tuple[list[Position], str]:
    """The dust held now, and why the venue cannot convert it ('' when it can)."""
    report = await services.positions()
    dust = [p for p in report.positions if p.dust]
    can = isinstance(services.exchange, DustConverter)
    return dust, "" if can else NOT_OFFERED.format(venue=services.exchange.name)


async def convert_dust(services: Services, requested_at: datetime | None = None) -> DustConversion:
    """Convert every dust holding the venue holds for the bot, once per request (a repeat reports the first)."""
    key = dust_key(requested_at or services.clock.now())
    store = services.store
    await settle_interrupted(services)  # an earlier conversion cut short by a crash is booked first
    if store.orders_for(key):
        return DustConversion(key, DustTotal(0, ZERO), _fills_of(services, key), already_done=True)
    dust, refusal = await dust_now(services)
    quote = services.quote
    if refusal:
        raise UserError(f"{refusal}; {DustTotal.of(dust).describe(quote)} stays")
    mine = owned(await services.exchange.balances(), store.load_ledger())
    orders = [OrderRecord(client_order_id(key, DUST_LEG, p.asset + quote), None, key, DUST_LEG, p.asset + quote,
                          Side.SELL, mine[p.asset], None, OrderStatus.SENDING)
              for p in dust if mine.get(p.asset, ZERO) > 0]
    if not orders:
        raise UserError("no dust to convert: every holding can be sold by an order")
    now = services.clock.now()
    store.add_orders(None, key, orders, now)  # not part of a rebalance
    assert isinstance(services.exchange, DustConverter)  # dust_now refused otherwise
    for result in await services.exchange.convert_dust([request_for(o) for o in orders]):
        store.record_execution(result.client_order_id, result.status, result.exchange_order_id, result.fills,
                               result.symbol.removesuffix(quote), None, now)
    log.info("dust converted (%s): %s", key, DustTotal.of(dust).describe(quote))
    await services.mark("dust")
    return DustConversion(key, DustTotal.of(dust), _fills_of(services, key))


async def settle_interrupted(services: Services) -> int:
    """Book what a crash left between the journal and the ledger: each unsettled dust order is looked up at the
    venue (its conversion is all or nothing) and booked if it ran, else closed as never converted. Returns how
    many orders it settled."""
    store, exchange = services.store, services.exchange
    open_orders = store.unsettled_orders(DUST_LEG)
    if not open_orders or not isinstance(exchange, DustConverter):
        return 0
    now = services.clock.now()
    for order in open_orders:
        result = await exchange.find_order(order.symbol, order.client_order_id)
        if result is None:
            store.set_order_status(order.client_order_id, OrderStatus.REJECTED, now,
                                   error="interrupted before the venue converted it: nothing converted")
        else:
            store.record_execution(result.client_order_id, result.status, result.exchange_order_id, result.fills,
                                   result.symbol.removesuffix(services.quote), None, now)
    log.info("settled %d dust order(s) a crash left open", len(open_orders))
    return len(open_orders)


def _fills_of(services: Services, key: str) -> tuple[Fill, ...]:
    coids = {o.client_order_id for o in services.store.orders_for(key)}
    return tuple(f for f in services.store.fills() if f.client_order_id in coids)
