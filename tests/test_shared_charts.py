"""People asking the same at once share one valuation and one drawing; a write starts afresh; a picture sent once
goes again by Telegram's file_id."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from handlers import texts as fmt
from handlers.commands import Context, Role, dispatch
from handlers.shared_answers import SHARE_S, SharedAnswers
from handlers.telegram_app import TelegramConfig
from tests.test_telegram_bot import config, fake, run_with_bot, wait, world  # noqa: F401 (fixtures)

run = asyncio.run
PEOPLE = 8


def ask_at_once(world, shared: SharedAnswers, text: str) -> list:
    """PEOPLE viewers send `text` together; each reply with its charts drawn: [(reply, photos)]."""
    async def everyone():
        ctxs = [Context(world.services, f"telegram:{2000 + i}", Role.VIEWER, user_id=2000 + i, shared=shared)
                for i in range(PEOPLE)]
        replies = await asyncio.gather(*(dispatch(ctx, text) for ctx in ctxs))
        photos = await asyncio.gather(*(r.charts() for r in replies))
        return list(zip(replies, photos))
    return run(everyone())


def test_people_asking_for_the_pnl_at_once_share_one_valuation_and_one_drawing(world):
    run(world.services.rebalance_slot())
    shared = SharedAnswers(world.services)
    answers = ask_at_once(world, shared, "/pnl")
    assert shared.drawn == 1  # eight people, one equity chart drawn
    assert len({r.text for r, _ in answers}) == 1  # the same valuation in everyone's words
    pictures = [photos for _, photos in answers]
    assert all(len(p) == 1 and p[0].png.startswith(b"\x89PNG") for p in pictures)  # everyone got the picture
    assert len({p[0].png for p in pictures}) == 1


def test_a_new_mark_values_and_draws_afresh(world):
    run(world.services.rebalance_slot())
    shared = SharedAnswers(world.services)
    before = ask_at_once(world, shared, "/pnl")[0]
    world.clock.advance(timedelta(minutes=30))  # prices moved
    run(world.services.mark())
    after = ask_at_once(world, shared, "/pnl")[0]
    assert shared.drawn == 2
    assert after[0].text != before[0].text and after[1][0].png != before[1][0].png


def test_a_mark_invalidates_even_while_the_clock_stands_still(world):
    run(world.services.rebalance_slot())
    shared = SharedAnswers(world.services)
    ask_at_once(world, shared, "/pnl")
    run(world.services.mark())  # same instant, same prices: but a new mark is a new chart (one more point)
    ask_at_once(world, shared, "/pnl")
    assert shared.drawn == 2


def test_nothing_valued_or_drawn_before_a_rebalance_is_shown_after_it(world):
    shared = SharedAnswers(world.services)
    empty = ask_at_once(world, shared, "/positions")
    assert all("No positions" in reply.text and photos == () for reply, photos in empty)
    run(world.services.rebalance_now())
    held = ask_at_once(world, shared, "/positions")
    fresh = fmt.positions(run(world.services.positions()))
    assert all(reply.text == fresh for reply, _ in held)  # the words are the new holdings, for everyone
    assert len({photos[0].png for _, photos in held}) == 1 and shared.drawn == 2  # nothing to draw once, then once
    run(world.services.liquidate())  # sold: only dust is left
    sold = ask_at_once(world, shared, "/positions")
    fresh = fmt.positions(run(world.services.positions()))
    assert all(reply.text == fresh for reply, _ in sold) and "cash" in fresh
    assert {photos[0].png for _, photos in sold} != {photos[0].png for _, photos in held} and shared.drawn == 3


def test_the_status_is_shared_but_a_pause_shows_at_once(world):
    shared = SharedAnswers(world.services)
    before = ask_at_once(world, shared, "/status")
    assert len({reply.text for reply, _ in before}) == 1 and "paused" not in before[0][0].text.lower()
    world.services.pause("admin")  # a change the services announce: nothing shared from before it
    after = ask_at_once(world, shared, "/status")
    assert all("paused" in reply.text.lower() for reply, _ in after)


def test_a_report_is_shared_only_for_a_moment(world):
    run(world.services.rebalance_slot())
    shared = SharedAnswers(world.services)
    first = ask_at_once(world, shared, "/positions")[0]
    world.clock.advance(timedelta(seconds=SHARE_S / 2))
    assert ask_at_once(world, shared, "/positions")[0][1][0] is first[1][0]  # the same drawing, not a new one
    world.clock.advance(timedelta(seconds=SHARE_S))
    ask_at_once(world, shared, "/positions")
    assert shared.drawn == 2  # valued again after the moment, so drawn again


def test_a_failed_drawing_is_tried_again_by_the_next_person(world):
    shared = SharedAnswers(world.services)
    calls = []

    async def draw():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("drawing failed")
        return "picture"

    async def twice():
        results = await asyncio.gather(shared.chart("k", draw), shared.chart("k", draw), return_exceptions=True)
        return results, await shared.chart("k", draw)
    together, later = run(twice())
    assert [type(r) for r in together] == [RuntimeError, RuntimeError]  # both waited on the one drawing
    assert later == "picture" and len(calls) == 2


def test_a_shared_chart_goes_up_once_and_then_by_its_file_id(world, fake):  # noqa: F811
    viewers = [2001 + i for i in range(5)]
    base = config(fake)
    cfg = TelegramConfig(**{**base.__dict__, "viewers": frozenset(viewers)})
    run(world.services.rebalance_slot())

    async def scenario():
        for user in viewers:
            fake.send_text(user, "/positions")
        for user in viewers:
            await wait(fake, lambda m, u=user: m.chat_id == u and m.kind == "photo", timeout=20)

    run_with_bot(world, fake, scenario, cfg)
    photos = [m for u in viewers for m in fake.messages_to(u) if m.kind == "photo"]
    assert len(photos) == len(viewers) and len({m.photo_bytes for m in photos}) == 1  # the same picture to all
    sends = [c for c in fake.calls if c.method.lower() == "sendphoto" and c.status == 200]
    uploads = [c for c in sends if c.files]
    assert len(uploads) == 1  # uploaded once ...
    by_id = [c.params["photo"] for c in sends if not c.files]
    assert len(by_id) == len(viewers) - 1 and set(by_id) == {photos[0].file_id}  # ... then sent by its file_id
