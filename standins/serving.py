"""What every stand-in does when run with python -m: serve until SIGINT or SIGTERM, then stop cleanly."""
from __future__ import annotations

import asyncio
import signal
from typing import Awaitable, Callable


async def serve_until_signalled(stop: Callable[[], Awaitable[None]]) -> None:
    """Wait for SIGINT/SIGTERM (the stand-in is already listening), then run `stop`."""
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopped.set)
    try:
        await stopped.wait()
    finally:
        await stop()
