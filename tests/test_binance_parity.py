"""The local Binance fills from its own book and rules, so a mistake in the paper venue's arithmetic shows against
it: the same order on the paper venue and on the stand-in (one market, one clock) fills alike, until the paper
venue is given a deliberate mistake."""
from __future__ import annotations

import ast
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path

from tests.test_binance_sim import START, run
from tests.test_layers import imports
from tradingbot.adapters.clock import ManualClock
from tradingbot.adapters.paper import PaperExchange
from tradingbot.adapters.sqlite_store import open_database
from tradingbot.adapters.synthetic import SyntheticMarket
from tradingbot.core import money
from tradingbot.core.domain import OrderRequest, Side

ROOT = Path(__file__).resolve().parent.parent
# What the Binance stand-in may take from the product: the market it serves, time, and plain domain types.
# Anything that computes a fill (the paper venue, money rounding, planning, error codes) it writes itself.
PRODUCT_PARTS_THE_STAND_IN_MAY_USE = {"tradingbot.adapters.synthetic", "tradingbot.adapters.clock",
                                      "tradingbot.app.ports", "tradingbot.core.domain", "tradingbot.core.timefmt"}


def same_buy_on_both(tmp_path) -> tuple[tuple, tuple]:
    """(price, quantity, commission, asset) of a 100 USDT ETHUSDT buy on the paper venue and on the stand-in."""
    clock = ManualClock(START)

    async def scenario(sim, client):
        paper = PaperExchange(open_database(tmp_path / "paper.sqlite"), SyntheticMarket(clock, seed=7, n_symbols=60),
                              clock)
        paper.deposit("USDT", Decimal(10000))
        result = await paper.place_market_order(OrderRequest("p-1", "ETHUSDT", Side.BUY, quote_amount=Decimal(100)))
        (fill,) = result.fills
        order = await client.order_market_buy(symbol="ETHUSDT", quoteOrderQty="100")
        (trade,) = order["fills"]
        return ((fill.price, fill.quantity, fill.commission, fill.commission_asset),
                (Decimal(trade["price"]), Decimal(trade["qty"]), Decimal(trade["commission"]),
                 trade["commissionAsset"]))
    return run(scenario, clock=clock, check_timestamps=False)


def test_a_small_buy_fills_alike_on_the_paper_venue_and_the_stand_in(tmp_path):
    on_paper, on_stand_in = same_buy_on_both(tmp_path)
    assert on_paper == on_stand_in and on_paper[3] == "ETH"


def test_a_wrong_tick_rounding_in_the_paper_venue_shows_against_the_stand_in(tmp_path, monkeypatch):
    honest = money._to_multiple

    def every_tick_rounded_down(value: Decimal, unit: Decimal, rounding: str) -> Decimal:
        return honest(value, unit, ROUND_FLOOR if rounding == ROUND_CEILING else rounding)

    # The mistake: a buy's price rounded to the tick in the buyer's favour, below the best ask.
    monkeypatch.setattr(money, "_to_multiple", every_tick_rounded_down)
    on_paper, on_stand_in = same_buy_on_both(tmp_path)
    assert on_paper[0] < on_stand_in[0], "the stand-in priced the buy with the paper venue's mistake"


def test_the_binance_stand_in_computes_fills_with_none_of_the_products_arithmetic():
    taken = {(path.name, target) for path in sorted((ROOT / "standins").glob("binance_*.py"))
             for _, target in imports(path, ast.parse(path.read_text()))
             if target.split(".")[0] == "tradingbot" and target not in PRODUCT_PARTS_THE_STAND_IN_MAY_USE}
    assert taken == set()
