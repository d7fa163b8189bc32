"""One cost contract: what `/set` says about fees and slippage is what the next paper fill is charged."""
from __future__ import annotations

import asyncio
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

import bot
from handlers.commands import Context, dispatch
from tests.builders import NO_ENV_FILE
from tradingbot.core.domain import Fill, Side, SymbolRules
from tradingbot.bootstrap import account_lock, build
from tradingbot.settings import load_settings

run = asyncio.run
EIGHT = Decimal("0.00000001")


def charged_exactly(fill: Fill, rules: SymbolRules, reference: Decimal, fee_rate: str, bps: str) -> None:
    """The fill's price is the reference moved against the order by bps (then to the tick, against the trader),
    and its fee is quantity × fee_rate in the asset received: the base on a buy, the quote on a sell."""
    move = reference * Decimal(bps) / 10_000
    buy = fill.side is Side.BUY
    ticks = ((reference + move if buy else reference - move) / rules.tick_size).to_integral_value(
        ROUND_CEILING if buy else ROUND_FLOOR)
    assert fill.price == ticks * rules.tick_size, fill
    received = fill.quantity if buy else fill.quantity * fill.price
    assert fill.commission == (received * Decimal(fee_rate)).quantize(EIGHT, ROUND_HALF_UP), fill
    assert fill.commission_asset == (rules.base if buy else rules.quote)


def test_set_fee_rate_and_slippage_charge_the_next_paper_fills_exactly_them(world):
    ctx = Context(world.services, "console")
    for line in ("/set fee_rate=0.0025", "/set slippage_bps=40"):
        assert "⚠" not in run(dispatch(ctx, line)).text
    buys = run(dispatch(ctx, "/rebalance_now")).summary.fills
    for line in ("/set fee_rate=0.004", "/set slippage_bps=120.5"):  # changed again: read afresh, not once
        run(dispatch(ctx, line))
    sells = run(dispatch(ctx, "/liquidate")).summary.fills
    assert len(buys) == len(sells) == 4
    assert {f.side for f in buys} == {Side.BUY} and {f.side for f in sells} == {Side.SELL}
    for fills, fee_rate, bps in ((buys, "0.0025", "40"), (sells, "0.004", "120.5")):
        for f in fills:
            charged_exactly(f, world.market.rules[f.symbol], world.market.price(f.symbol, f.time), fee_rate, bps)


def test_the_composition_root_hands_the_paper_venue_the_parameters_in_force(tmp_path, monkeypatch):
    """bot.py's own wiring: a demo bot on the synthetic market, time frozen so the fill sees the planned prices."""
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "")
    monkeypatch.setenv(bot.FROZEN_CLOCK, "1")
    db = str(tmp_path / "demo.sqlite")
    args = bot.parse_args(["--env-file", NO_ENV_FILE, "--db", db, "--demo", "--clock", "2026-11-24T09:00:10Z"])
    app = build(load_settings(env_file=NO_ENV_FILE), bot.run_options(args), account_lock(db))
    ctx = Context(app.services, "console")
    assert app.venue.paper is not None and app.venue.paper.books is not None  # the demo walks its books...
    app.venue.paper.books = None  # ...here the flat model, whose price slippage_bps sets
    assert "⚠" not in run(dispatch(ctx, "/set fee_rate=0.0075 slippage_bps=250 latency_ms=0 topn=3")).text
    prices = run(app.venue.market.prices())
    rules = {r.symbol: r for r in run(app.venue.market.symbols())}
    fills = run(dispatch(ctx, "/rebalance_now")).summary.fills
    assert len(fills) == 3
    for f in fills:
        charged_exactly(f, rules[f.symbol], prices[f.symbol], "0.0075", "250")
