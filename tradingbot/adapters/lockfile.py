"""A lock file beside the database: one process at a time schedules or rebalances on it.

The long-running bot (and `bot.py rebalance`) holds it for its whole life; each rebalance takes it
again (a nested hold), so a second process is refused both at its start and at any rebalance.
flock is released by the kernel when the process dies, even by SIGKILL, so a crash never leaves it stuck.
"""
from __future__ import annotations

import fcntl
import os
from pathlib import Path


class FileLock:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._fd: int | None = None
        self._holds = 0  # nested acquires in this process; the file is unlocked when the last one ends

    def acquire(self) -> bool:
        if self._fd is None:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            self._fd = fd
        self._holds += 1
        return True

    def release(self) -> None:
        if self._fd is None:
            return
        self._holds -= 1
        if self._holds <= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd, self._holds = None, 0


class NoLock:
    """For an in-memory database, which no other process can open."""

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        return None
