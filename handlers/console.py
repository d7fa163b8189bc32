"""The console front end: chat with the bot on stdin/stdout, through the same command table.

Commands that trade confirm first, as Telegram's buttons do: the command's preview (the plan with
estimated costs) is shown, and it runs only on /confirm (or y) within 60 s; the confirmed request's
time fixes its journal key, so it runs once however often it is confirmed.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Sequence, TextIO

from tradingbot.app.ports import Progress
from tradingbot.app.services import Services
from tradingbot.core.errors import UserError

from .chart_replies import after_rebalance
from .commands import BY_NAME, Command, Context, allows, dispatch, parse
from .lifecycle import Lifecycle, Timetable
from .replies import Photo, Reply

log = logging.getLogger(__name__)

CONFIRM_TTL = timedelta(seconds=60)  # as long as Telegram's Confirm button lives
YES, NO = ("/confirm", "y", "yes"), ("/cancel", "n", "no", "")
UNCONFIRMED = "Not confirmed: nothing sent. To confirm in the same call, add \"/confirm\" after it."


def save_photos(photos: Sequence[Photo], folder: Path) -> list[Path]:
    """Charts go to files; the console prints their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for photo in photos:
        path = folder / photo.name
        path.write_bytes(photo.png)
        paths.append(path)
    return paths


async def render(reply: Reply, folder: Path, ctx: Context | None = None) -> str:
    """The reply's text, then the paths of its charts once drawn (a rebalance's: equity and allocation)."""
    photos = await reply.charts() + (await after_rebalance(ctx.services) if ctx and reply.summary else ())
    lines = [reply.text] + [f"[chart] {p}" for p in save_photos(photos, folder)]
    return "\n".join(lines)


@dataclass(frozen=True)
class _Asked:
    line: str
    name: str
    at: datetime


class ConsoleChat:
    """One operator's lines in order; a confirmable command waits for the next line to confirm it."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.waiting: _Asked | None = None  # anything but a yes cancels it, as a y/N prompt does

    async def answer(self, line: str) -> Reply:
        waiting, self.waiting = self.waiting, None
        word = line.strip().lower()
        if word in YES:
            return await self._confirm(waiting)
        if word in NO:
            return Reply(f"/{waiting.name} cancelled: nothing sent." if waiting else "Nothing to cancel.")
        reply = await self._ask(line)
        if waiting is not None:
            reply = dataclasses.replace(reply, text=f"(/{waiting.name} cancelled: nothing sent.)\n{reply.text}")
        return reply

    async def _ask(self, line: str) -> Reply:
        command = self._confirmable(line)
        if command is None:
            return await dispatch(self.ctx, line)
        preview = await dispatch(self.ctx, line, preview=True)
        if preview.text.startswith("⚠") or not preview.confirmable:
            return preview
        self.waiting = _Asked(line, command.name, self.ctx.services.clock.now())
        prompt = f"Confirm /{command.name} within {CONFIRM_TTL.seconds} s? /confirm or /cancel (y/N)"
        return dataclasses.replace(preview, text=f"{preview.text}\n\n{prompt}")

    def _confirmable(self, line: str) -> Command | None:
        try:
            command = BY_NAME.get(parse(line)[0])
        except UserError:
            return None
        return command if command and command.preview and allows(self.ctx.role, command.role) else None

    async def _confirm(self, waiting: _Asked | None) -> Reply:
        if waiting is None:
            return Reply("⚠ Nothing to confirm: send the command first.")
        if self.ctx.services.clock.now() - waiting.at > CONFIRM_TTL:
            return Reply(f"⚠ /{waiting.name} expired after {CONFIRM_TTL.seconds} s: nothing sent; send it again.")
        return await dispatch(dataclasses.replace(self.ctx, requested_at=waiting.at), waiting.line)


async def run_once(ctx: Context, lines: list[str], out: TextIO, chart_dir: Path) -> None:
    """`bot.py chat "/status" "/pnl"`: each command once, replies printed in order.

    A confirmable command shows its plan; a following "/confirm" in the same call confirms it.
    """
    chat = ConsoleChat(ctx)
    for line in lines:
        reply = await chat.answer(line)
        print(f"> {line}\n{await render(reply, chart_dir, ctx)}\n", file=out, flush=True)
    if chat.waiting is not None:
        print(UNCONFIRMED, file=out, flush=True)


async def run_console(ctx: Context, inp: TextIO, out: TextIO, chart_dir: Path, stop: asyncio.Event) -> None:
    """Read commands until EOF, /quit or a stop request; the scheduler keeps running meanwhile."""
    loop = asyncio.get_running_loop()
    chat = ConsoleChat(ctx)
    print("iTradingBot console — /help for commands, /quit to leave.", file=out, flush=True)
    while not stop.is_set():
        if inp.isatty():
            print("> ", end="", file=out, flush=True)
        line = await loop.run_in_executor(None, inp.readline)
        if not line:  # EOF
            break
        line = line.strip()
        if not line and chat.waiting is None:
            continue
        if line in ("/quit", "/exit"):
            break
        reply = await chat.answer(line)
        print(await render(reply, chart_dir, ctx), file=out, flush=True)
    stop.set()


class ConsoleNotifier:
    """Pushes printed on the console, marked so they stand apart from replies; charts saved as files."""

    def __init__(self, chart_dir: Path, out: TextIO = sys.stdout):
        self.chart_dir, self.out = chart_dir, out

    async def push(self, kind: str, text: str, monospace: bool = False,
                   photos: Sequence[tuple[str, bytes]] = (), caption: str = "") -> None:
        reply = Reply(text, monospace, tuple(Photo(name, png, caption) for name, png in photos))
        print(f"\n[push] {await render(reply, self.chart_dir)}", file=self.out, flush=True)


async def serve_console(services: Services, timetable: Timetable, chart_dir: Path, progress: Progress,
                        inp: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    """The bot on the console: the shared start-up, then commands until EOF or /quit, then the shared stop."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler  # only a serving bot schedules (see jobs.py)

    lifecycle = Lifecycle(services, ConsoleNotifier(chart_dir, out), AsyncIOScheduler(timezone="UTC"), timetable)
    await lifecycle.start()
    try:
        await run_console(Context(services, "console", progress=progress), inp, out, chart_dir, asyncio.Event())
    finally:
        await lifecycle.stop()
        log.info("stopped")
    return 0
