"""Numbers a manager trusts on sight: the words and the charts agree, replies are headed and punctuated right."""
from __future__ import annotations

import asyncio
import io
from datetime import timedelta

from handlers.commands import Context, dispatch
from handlers.console import run_once

run = asyncio.run


def test_the_pnl_chart_ends_at_the_equity_the_pnl_text_states(world):
    run(world.services.rebalance_slot())
    world.clock.advance(timedelta(hours=3, minutes=20))  # prices moved since the last stored mark
    report = run(world.services.pnl())
    stored = world.store.last_mark()
    assert stored is not None and stored.equity != report.equity
    for history in (run(world.services.equity_history((report.at, report.equity))),
                    run(world.services.equity_history())):  # /pnl's own figure, or valued now: the same here
        last = history.marks[-1]
        assert history.live and (last.time, last.equity) == (world.clock.now(), report.equity)
        assert list(history.marks[:-1]) == world.store.marks()  # the recorded marks, then the live one


def test_the_equity_chart_says_as_of_when_prices_are_out_of_reach(world):
    run(world.services.rebalance_slot())
    world.clock.advance(timedelta(hours=2))
    world.market.down_until = world.clock.now() + timedelta(minutes=5)
    history = run(world.services.equity_history())
    assert not history.live and history.marks[-1] == world.store.last_mark()
    snapshots = run(world.services.inventory())
    assert snapshots and not snapshots[-1].live  # the inventory too ends at its last record, "as of" it


def test_an_unknown_command_is_one_punctuated_line(world):
    ctx = Context(world.services, "test")
    assert run(dispatch(ctx, "/foo")).text == "⚠ unknown command /foo. Send /help for the list."
    assert run(dispatch(ctx, "/pnll")).text == "⚠ unknown command /pnll — did you mean /pnl? Send /help for the list."


def test_an_unknown_parameter_names_one_key_not_all(world):
    text = run(dispatch(Context(world.services, "test"), "/set bogus=1")).text
    assert text == "⚠ unknown parameter 'bogus' — the closest key is 'blacklist'; /params lists them all"


def test_the_console_prints_the_chart_paths_of_a_rebalance(world, tmp_path):
    out = io.StringIO()
    run(run_once(Context(world.services, "cli"), ["/rebalance_now", "/confirm"], out, tmp_path))
    text = out.getvalue()
    assert "done (momentum, full mode)" in text
    assert f"[chart] {tmp_path / 'equity.png'}" in text and f"[chart] {tmp_path / 'allocation.png'}" in text
    assert (tmp_path / "equity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
