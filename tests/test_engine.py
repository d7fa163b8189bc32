"""The rebalance use case end to end on real SQLite and the real paper venue (scripted prices)."""
import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest

from tests.conftest import World
from tradingbot.app.rebalancer import client_order_id
from tradingbot.core.ledger import replay
from tradingbot.core.params import StrategyParams

run = asyncio.run


def holdings(world: World) -> dict[str, Decimal]:
    return {a: q for a, q in run(world.paper.balances()).items() if a != "USDT"}


def test_rebalance_buys_top_n_in_equal_weight(world):
    summary = run(world.services.rebalance_slot())
    assert summary.state == "done" and len(summary.targets) == 4
    held = holdings(world)
    assert sorted(held) == sorted(t.removesuffix("USDT") for t in summary.targets)
    positions = run(world.services.positions())
    weights = [positions.weight(p) for p in positions.positions]
    assert max(weights) - min(weights) < Decimal("0.01")  # equal up to step rounding and fees
    assert positions.cash < positions.equity * Decimal("0.01")
    assert summary.row.fees == sum(f.fee_quote for f in summary.fills) > 0


def test_the_ranking_acted_on_is_kept_with_the_rebalance(world):
    summary = run(world.services.rebalance_slot())
    row = world.store.get_rebalance(summary.slot)
    ranking = world.store.ranking_of(row.id)
    assert len(ranking) == len(world.market.rules)
    assert tuple(r.symbol for r in ranking if r.selected) == summary.targets


def test_the_same_slot_never_runs_twice(world):
    first = run(world.services.rebalance_slot())
    sent = list(world.venue.sent)
    again = run(world.services.rebalance_slot())
    assert again.already_done and again.slot == first.slot
    assert world.venue.sent == sent


def test_momentum_picks_the_risers_and_reversal_the_fallers(world):
    world.clock.advance(timedelta(days=8))
    momentum = run(world.services.ranking()).ranking.selected
    world.services.set_params("strategy=reversal", "test")
    reversal = run(world.services.ranking()).ranking.selected
    assert set(momentum) == {"LIMAUSDT", "KILOUSDT", "JULIETUSDT", "INDIAUSDT"}
    assert set(reversal) == {"ALPHAUSDT", "BRAVOUSDT", "CHARLIEUSDT", "DELTAUSDT"}


def test_next_day_full_mode_rotates_and_ledger_agrees_with_venue(world):
    run(world.services.rebalance_slot())
    for day in range(3):
        world.clock.advance(timedelta(days=1))
        run(world.services.rebalance_slot())
    ledger = world.store.load_ledger()
    assert ledger.holdings() == holdings(world)
    assert ledger.cash == run(world.paper.balances())["USDT"]
    again = replay("USDT", world.store.deposits(), [(f, f.symbol.removesuffix("USDT"))
                                                    for f in world.store.fills_in_order()])
    assert again.cash == ledger.cash and again.holdings() == ledger.holdings()
    assert again.fees == ledger.fees
    assert len(world.store.recent_rebalances(10)) == 4


def test_delta_mode_trades_less_than_full_mode(tmp_path):
    fees = {}
    for mode in ("full", "delta"):
        w = World(tmp_path / f"{mode}.sqlite", params=StrategyParams(topn=4, min_age_days=1, mode=mode))
        run(w.services.rebalance_slot())
        w.clock.advance(timedelta(hours=1))
        run(w.services.rebalance_now())
        fees[mode] = w.store.load_ledger().fees
    assert fees["delta"] < fees["full"]


def test_a_lost_response_is_looked_up_not_resent(world):
    world.venue.lose_response_of = {"LIMAUSDT"}
    world.clock.advance(timedelta(days=8))
    summary = run(world.services.rebalance_slot())
    assert summary.state == "done"
    assert len(world.venue.sent) == len(set(world.venue.sent))
    assert "LIMA" in holdings(world)


def assert_filled_once(world: World, slot: str, symbol: str) -> None:
    assert len(world.venue.sent) == len(set(world.venue.sent)), "an order was sent twice"
    statuses = {o.symbol: o.status.value for o in world.store.orders_for(slot)}
    assert statuses[symbol] == "filled" and "rejected" not in statuses.values()
    assert world.store.load_ledger().holdings() == holdings(world)


def test_a_lookup_that_fails_never_leads_to_a_resend(world):
    world.clock.advance(timedelta(days=8))
    world.venue.lose_response_of = {"LIMAUSDT"}
    world.venue.lookups_down_after_loss = 2  # the order went through; the next two lookups time out
    summary = run(world.services.rebalance_slot())
    assert summary.state == "done"
    assert_filled_once(world, summary.slot, "LIMAUSDT")


def test_an_unknown_outcome_waits_for_the_venue_instead_of_guessing(world):
    world.clock.advance(timedelta(days=8))
    world.venue.lose_response_of = {"LIMAUSDT"}
    world.venue.lookups_down_after_loss = 1000  # the order went through, then every lookup fails
    first = run(world.services.rebalance_slot())
    assert first.state in ("selling", "buying")
    lima = [o for o in world.store.orders_for(first.slot) if o.symbol == "LIMAUSDT"][0]
    assert lima.status.value == "sending"  # outcome unknown: kept for the next run, not re-sent, not rejected

    world.venue.lookups_down = 0
    second = run(world.services.rebalance_slot())
    assert second.state == "done"
    assert_filled_once(world, first.slot, "LIMAUSDT")


def test_crash_after_a_fill_resumes_without_resending(tmp_path):
    reference = World(tmp_path / "ref.sqlite")
    run(reference.services.rebalance_slot())

    crashed = World(tmp_path / "crash.sqlite")
    crashed.venue.crash_after = 2
    with pytest.raises(SystemExit):
        run(crashed.services.rebalance_slot())
    assert crashed.store.unfinished_rebalances()

    restarted = World(tmp_path / "crash.sqlite", clock=crashed.clock)
    [summary] = run(restarted.services.rebalancer.resume_unfinished(restarted.services.params))
    assert summary.state == "done"
    all_sent = crashed.venue.sent + restarted.venue.sent
    assert len(all_sent) == len(set(all_sent)), "an order was sent twice"
    assert holdings(restarted) == holdings(reference)
    assert restarted.store.load_ledger().holdings() == holdings(restarted)


def test_venue_down_leaves_the_slot_resumable(world):
    world.venue.down_for = 100
    summary = run(world.services.rebalance_slot())
    assert summary.state in ("selling", "buying") and "unavailable" in " ".join(summary.errors)
    world.venue.down_for = 0
    summary = run(world.services.rebalance_slot())
    assert summary.state == "done" and not summary.already_done


def test_no_eligible_token_skips_without_trading(world):
    world.services.set_params("min_age_days=3650", "test")
    summary = run(world.services.rebalance_slot())
    assert summary.state == "skipped" and world.venue.sent == []
    assert "no eligible token" in summary.errors[0]


def test_a_halted_holding_stays_visible_as_unsellable(world):
    run(world.services.rebalance_slot())
    held = sorted(holdings(world))
    world.market.halt(held[0] + "USDT")
    world.clock.advance(timedelta(days=1))
    summary = run(world.services.rebalance_slot())
    assert any(s.symbol == held[0] + "USDT" and "BREAK" in s.reason for s in summary.skipped)
    assert held[0] in holdings(world)


def test_liquidate_sells_everything_and_pauses(world):
    run(world.services.rebalance_slot())
    summary = run(world.services.liquidate())
    assert summary.state == "done" and world.services.paused
    # Buy fees taken in the base asset leave less than one lot step: unsellable dust, reported, kept visible.
    left = holdings(world)
    assert left and all(q < world.market.rules[a + "USDT"].step_size for a, q in left.items())
    assert {p.asset for p in summary.positions} == set(left) and all(p.dust for p in summary.positions)
    from handlers.texts import summary as render
    text = render(summary, "USDT", world.services.params.zone)
    assert text.startswith(f"Liquidation {summary.slot} done") and "done (momentum" not in text
    assert f"Left as dust: {len(left)} coins ≈" in text and "Still held outside" not in text


def test_client_order_ids_are_deterministic_and_binance_safe():
    a = client_order_id("M20261124T091503", "B", "1000CHEEMSUSDT")
    assert a == client_order_id("M20261124T091503", "B", "1000CHEEMSUSDT")
    long = client_order_id("M20261124T091503", "B", "AVERYLONGSYMBOLNAMEUSDT")
    assert len(long) <= 36 and long.replace("-", "").isalnum()
    assert long != client_order_id("M20261124T091503", "S", "AVERYLONGSYMBOLNAMEUSDT")
