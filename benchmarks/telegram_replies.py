"""Watching the fake Telegram for bench_telegram.py: every message the bot sends, stamped as it is recorded, and
each chat's messages matched to the commands that chat sent.

A command is answered by one text message, recognised by its content; /pnl and /positions follow theirs with a
chart photo, which may arrive after the person already sent the next command. Matching by content (not "the next
message in the chat") keeps a late chart from passing for the next command's reply; anything else is an error.
"""
from __future__ import annotations

import queue
import subprocess
import threading
import time
from typing import Any, Callable

# One marker per command, found in that reply only (checked against the other four in the warm-up).
SIGNATURES = {"/status": "Next rebalance:", "/pnl": "Net P/L:", "/positions": "avg cost",
              "/params": "invest_fraction =", "/help": "/whoami —"}
CHART_COMMANDS = frozenset({"/pnl", "/positions"})  # their reply is followed by one chart (handlers/commands.py)


class UnexpectedReply(RuntimeError):
    """The bot sent a chat something that answers none of its commands."""


def classify(text: str) -> str:
    """Which command this reply answers, from its content ('?' when none or several markers match)."""
    if text.startswith("⚠"):
        return "error"
    kinds = [cmd for cmd, marker in SIGNATURES.items() if marker in text]
    return kinds[0] if len(kinds) == 1 else "?"


class Watcher:
    """One thread blocked in fake.wait_for: stamps every message the bot sends as the fake records it.

    Only this thread waits on the fake, so the fake's lock is scanned once per change, not once per sender.
    """

    def __init__(self, fake: Any) -> None:
        self.fake = fake
        self._seen: set[tuple[int, int]] = set()
        self._queues: dict[int, queue.Queue] = {}
        self._qlock = threading.Lock()
        self._stop = threading.Event()
        self.count = 0
        self._thread = threading.Thread(target=self._run, name="bench-watcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def queue_of(self, chat_id: int) -> queue.Queue:
        with self._qlock:
            return self._queues.setdefault(chat_id, queue.Queue())

    def _run(self) -> None:
        seen = self._seen
        while not self._stop.is_set():
            try:
                msg = self.fake.wait_for(lambda m: (m.chat_id, m.message_id) not in seen, timeout=0.2)
            except TimeoutError:
                continue
            stamp = time.perf_counter()
            seen.add((msg.chat_id, msg.message_id))
            self.count += 1
            self.queue_of(msg.chat_id).put((stamp, msg))

    def next(self, chat_id: int, timeout: float, proc: subprocess.Popen | None = None):
        """(perf_counter stamp, SentMessage) of the next message to chat_id; TimeoutError if none came."""
        q, deadline = self.queue_of(chat_id), time.monotonic() + timeout
        while True:
            try:
                return q.get(timeout=min(0.25, max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                if proc is not None and proc.poll() is not None:
                    raise RuntimeError(f"the bot process exited with {proc.returncode} while we waited") from None
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"no message to chat {chat_id} within {timeout}s") from None

    def drain(self, chat_id: int) -> list:
        """Take what is queued for chat_id (after a phase): its (stamp, SentMessage) pairs."""
        q, taken = self.queue_of(chat_id), []
        while True:
            try:
                taken.append(q.get_nowait())
            except queue.Empty:
                return taken

    def settle(self, quiet: float = 1.0, limit: float = 10.0) -> None:
        """Wait until the bot has sent nothing for `quiet` seconds (late or duplicate replies land first)."""
        deadline, last, last_change = time.monotonic() + limit, self.count, time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            if self.count != last:
                last, last_change = self.count, time.monotonic()
            elif time.monotonic() - last_change >= quiet:
                return


class Conversation:
    """One chat's replies matched to its commands, one command at a time, as a person waits for each answer."""

    def __init__(self, watcher: Watcher, chat_id: int, proc: subprocess.Popen | None = None,
                 kind_of: Callable[[str], str] = classify, chart_commands: frozenset[str] = CHART_COMMANDS):
        self.watcher, self.chat_id, self.proc = watcher, chat_id, proc
        self.kind_of, self.chart_commands = kind_of, chart_commands
        self.charts_due = 0  # chart photos announced by replies already matched, not yet seen
        self.late: list[str] = []  # commands whose reply did not come in time: it may still arrive

    def reply_to(self, command: str, timeout: float) -> tuple[float, Any]:
        """(stamp, message) of the text answering command, skipping due charts and late replies; TimeoutError if
        none came (the command is then awaited as late); UnexpectedReply for anything else."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                stamp, msg = self.watcher.next(self.chat_id, max(0.0, deadline - time.monotonic()), self.proc)
            except TimeoutError:
                self.late.append(command)
                raise
            if not self._expected(msg, command):
                return stamp, msg

    def _expected(self, msg: Any, command: str) -> bool:
        """True for a message owed to an earlier command (consumed); False for command's own reply."""
        if msg.kind == "photo" and self.charts_due:
            self.charts_due -= 1
            return True
        kind = self.kind_of(msg.text) if msg.kind == "text" else msg.kind
        if kind in self.late:
            self.late.remove(kind)
            self.charts_due += kind in self.chart_commands
            return True
        if kind == command:
            self.charts_due += command in self.chart_commands
            return False
        raise UnexpectedReply(f"chat {self.chat_id}: waiting for the reply to {command}, got a {msg.kind} "
                              f"message {msg.text[:120]!r}")

    def finish(self) -> None:
        """After the bot went quiet: what is left queued must be due charts or late replies, nothing else."""
        for _, msg in self.watcher.drain(self.chat_id):
            self._expected(msg, "(nothing: the chat's commands were all answered)")
