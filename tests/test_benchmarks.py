import asyncio
from datetime import timedelta
from decimal import Decimal

from tests.builders import NOW
from tradingbot.core.yardsticks import scaled, universe_step
from tradingbot.core.domain import EquityMark

D = Decimal


def test_equal_weight_index_is_the_mean_relative_and_ignores_listings():
    before = {"A": D(10), "B": D(100)}
    now = {"A": D(11), "B": D(90), "NEW": D(5)}  # A +10 %, B -10 %, NEW just listed
    assert universe_step(D(1), before, now) == D(1)
    assert universe_step(D(2), {"A": D(10)}, {"A": D(15)}) == D(3)
    assert universe_step(D("1.5"), {}, now) == D("1.5")  # nothing to compare: unchanged


def test_benchmarks_are_scaled_to_the_account_when_they_start():
    marks = [EquityMark(NOW, D(10000), D(10000), D(0)), EquityMark(NOW + timedelta(hours=2), D(9000), D(0), D(9000))]
    series = [(NOW + timedelta(hours=1), D(50000)), (NOW + timedelta(hours=3), D(55000))]
    assert scaled(series, marks, D(10000)) == [(NOW + timedelta(hours=1), D(10000)), (NOW + timedelta(hours=3), D(11000))]
    assert scaled([], marks, D(1)) == []


def test_marks_record_benchmarks_that_the_equity_history_scales(world):
    run = asyncio.run
    run(world.services.mark())
    world.clock.advance(timedelta(hours=5))
    run(world.services.mark())
    history = run(world.services.equity_history())
    universe = history.benchmarks["Equal-weight universe"]
    assert len(universe) == 2 and universe[0][1] == D(10000)  # starts at the capital
    prices_then = {s: world.market.price(s, NOW) for s in world.market.rules}
    prices_now = run(world.market.prices())
    expected = D(10000) * universe_step(D(1), prices_then, prices_now)
    assert abs(universe[1][1] - expected) < D("0.000001")
    assert "BTC buy & hold" not in history.benchmarks  # the scripted market lists no BTCUSDT


def test_inventory_history_is_value_per_asset_per_rebalance(world):
    asyncio.run(world.services.rebalance_slot())
    world.clock.advance(timedelta(days=1))
    asyncio.run(world.services.rebalance_slot())
    history = world.store.inventory_history()
    assert len(history) == 2
    for _, held in history:
        assets = {p.asset: p for p in held}
        assert "USDT" in assets and len(assets) >= 5 and assets["USDT"].price == 1
        assert all(p.price and p.value > 0 for p in held)  # quantity and price of each, as valued then


def test_the_universe_index_chains_across_restarts(tmp_path):
    from tests.conftest import World

    first = World(tmp_path / "b.sqlite")
    asyncio.run(first.services.mark())
    first.clock.advance(timedelta(days=3))
    again = World(tmp_path / "b.sqlite", clock=first.clock)  # a new process on the same database
    asyncio.run(again.services.mark())
    (_, _, start), (_, _, later) = again.store.benchmarks()
    assert start == D(1) and later != D(1)
