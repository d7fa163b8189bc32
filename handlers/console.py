"""The console front end: chat with the bot on stdin/stdout, through the same command table."""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TextIO

from .commands import Context, Reply, dispatch


def save_photos(reply: Reply, folder: Path) -> list[Path]:
    """Charts go to files; the console prints their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for photo in reply.photos:
        path = folder / photo.name
        path.write_bytes(photo.png)
        paths.append(path)
    return paths


def render(reply: Reply, folder: Path) -> str:
    lines = [reply.text]
    lines += [f"[chart] {p}" for p in save_photos(reply, folder)]
    return "\n".join(lines)


async def run_once(ctx: Context, lines: list[str], out: TextIO, chart_dir: Path) -> None:
    """`bot.py chat "/status" "/pnl"`: each command once, replies printed in order."""
    for line in lines:
        reply = await dispatch(ctx, line)
        print(f"> {line}\n{render(reply, chart_dir)}\n", file=out, flush=True)


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
        print(render(reply, chart_dir), file=out, flush=True)
    stop.set()


class ConsoleNotifier:
    """Pushes printed on the console, marked so they stand apart from replies."""

    def __init__(self, out: TextIO = sys.stdout):
        self.out = out

    async def push(self, kind: str, text: str, monospace: bool = False) -> None:
        print(f"\n[push] {text}", file=self.out, flush=True)
