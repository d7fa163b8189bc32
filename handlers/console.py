"""The console front end: chat with the bot on stdin/stdout, through the same command table."""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Sequence, TextIO

from .chart_replies import after_rebalance
from .commands import Context, dispatch
from .replies import Photo, Reply


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


async def run_once(ctx: Context, lines: list[str], out: TextIO, chart_dir: Path) -> None:
    """`bot.py chat "/status" "/pnl"`: each command once, replies printed in order."""
    for line in lines:
        reply = await dispatch(ctx, line)
        print(f"> {line}\n{await render(reply, chart_dir, ctx)}\n", file=out, flush=True)


async def run_console(ctx: Context, inp: TextIO, out: TextIO, chart_dir: Path, stop: asyncio.Event) -> None:
    """Read commands until EOF, /quit or a stop request; the scheduler keeps running meanwhile."""
    loop = asyncio.get_running_loop()
    print("iTradingBot console — /help for commands, /quit to leave.", file=out, flush=True)
    while not stop.is_set():
        if inp.isatty():
            print("> ", end="", file=out, flush=True)
        line = await loop.run_in_executor(None, inp.readline)
        if not line:  # EOF
            break
        line = line.strip()
        if not line:
            continue
        if line in ("/quit", "/exit"):
            break
        reply = await dispatch(ctx, line)
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
