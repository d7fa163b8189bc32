"""The fake Telegram's world around its Bot API: what people do (send text, press buttons), what the bot did (to
inspect and wait for), and what can go wrong (floods, blocks, conflicts, an outage, latency).

No HTTP here: telegram_api.py serves all of it, and overrides _wake to nudge its pending long polls.
"""
from __future__ import annotations

import copy
import itertools
import math
import time
from collections import deque
from typing import Any, Callable

from .telegram_html import button_data
from .telegram_json import ApiCall, ApiError, Json, SentMessage, too_many_requests, user_json
from .telegram_methods import BotApiMethods


class TelegramWorld(BotApiMethods):
    """One bot's Telegram, in memory: inject what people do, inspect what the bot did, and inject faults.

    "Sends" below are sendMessage, sendPhoto, sendDocument and sendMediaGroup (one per call); block() also
    refuses sendChatAction. Recorded params are as sent (ints and bools as strings in forms), JSON fields decoded.
    """

    def __init__(self, token: str, bot_username: str) -> None:
        super().__init__(token, bot_username)
        self._update_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._floods: list[list[Any]] = []  # [chat_id or None, retry_after, remaining]
        self._blocked: set[int] = set()
        self._conflict = self._down = self._refusing = False
        self._latency = 0.0
        self._rate: int | None = None
        self._recent: dict[int, deque[float]] = {}

    def _wake(self) -> None:
        """Something changed that pending getUpdates must see; the server overrides this."""

    # ----- what people do -----
    def send_text(self, user_id: int, text: str, chat_id: int | None = None, chat_type: str = "private",
                  first_name: str = "Op", forwarded_from: int | None = None) -> int:
        """A person sends text; a leading /command gets its bot_command entity. Returns the update_id.

        forwarded_from: the person forwards a message that user wrote (Telegram keeps its entities).
        """
        chat_id = user_id if chat_id is None else chat_id
        with self._lock:
            # A negative id is never a private chat: let _chat pick group or supergroup from it.
            chat = self._chat(chat_id, None if chat_id < 0 and chat_type == "private" else chat_type, first_name)
            message = {"message_id": self._next_message_id(chat_id), "date": int(time.time()), "chat": chat,
                       "from": user_json(user_id, first_name), "text": text}
            if forwarded_from is not None:
                message["forward_origin"] = {"type": "user", "sender_user": user_json(forwarded_from, "Other"),
                                             "date": int(time.time())}
            command = text.split(maxsplit=1)[0] if text.startswith("/") else ""
            if len(command) > 1:  # length in UTF-16 units and including any @botname, as Telegram counts
                message["entities"] = [{"type": "bot_command", "offset": 0,
                                        "length": len(command.encode("utf-16-le")) // 2}]
            return self._push({"message": message})

    def press_button(self, user_id: int, message_id: int, data: str, chat_id: int | None = None,
                     first_name: str = "Op", forged: bool = False) -> int:
        """A person presses an inline button on a bot message that shows it. Returns the update_id.

        forged: send data the message does not show, as a modified client can (Telegram does not check it).
        """
        chat_id = user_id if chat_id is None else chat_id
        with self._lock:
            msg = self._by_key.get((chat_id, message_id))
            if msg is None or msg.deleted:
                raise ValueError(f"the bot has no message {message_id} in chat {chat_id}")
            if not forged and data not in button_data(msg.reply_markup):  # nobody can press a button that is not shown
                raise ValueError(f"message {message_id} shows no button {data!r}: {button_data(msg.reply_markup)}")
            query_id = f"cb{next(self._callback_ids)}"
            self._open_callbacks.add(query_id)
            query = {"id": query_id, "from": user_json(user_id, first_name), "chat_instance": f"ci{chat_id}",
                     "data": data, "message": self._message_json(msg)}
            return self._push({"callback_query": query})

    def _push(self, payload: Json) -> int:
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, **payload})
        self._changed.notify_all()
        self._wake()
        return update_id

    # ----- what the bot did -----
    @property
    def sent(self) -> list[SentMessage]:
        """Every message the bot created, in order (a copy)."""
        with self._lock:
            return copy.deepcopy(self._sent)

    @property
    def calls(self) -> list[ApiCall]:
        """Every Bot API request, in order (a copy)."""
        with self._lock:
            return copy.deepcopy(self._calls)

    @property
    def commands(self) -> list[Json]:
        """The commands of the last setMyCommands."""
        with self._lock:
            return copy.deepcopy(self._commands)

    @property
    def answered_callbacks(self) -> list[Json]:
        """Every accepted answerCallbackQuery: callback_query_id, text, show_alert."""
        with self._lock:
            return copy.deepcopy(self._answered)

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """The bot's messages in one chat, deleted ones included (see .deleted)."""
        return [m for m in self.sent if m.chat_id == chat_id]

    def wait_for(self, predicate: Callable[[SentMessage], bool], timeout: float = 5.0) -> SentMessage:
        """Block until a sent message (as it is now, edits included) matches; TimeoutError lists what was sent."""
        def describe() -> str:
            lines = [f"  #{m.message_id} to {m.chat_id} [{m.kind}{', deleted' if m.deleted else ''}] {m.text!r:.90}"
                     for m in self._sent[-20:]]
            return "\n".join(lines) or "  nothing"
        return self._wait(lambda: self._sent, predicate, timeout, "message", describe)

    def wait_for_call(self, method: str, timeout: float = 5.0,
                      predicate: Callable[[ApiCall], bool] = lambda call: True) -> ApiCall:
        """Block until a call of that method (case-insensitive) matching predicate was made."""
        def matches(call: ApiCall) -> bool:
            return call.method.lower() == method.lower() and predicate(call)
        return self._wait(lambda: self._calls, matches, timeout, f"{method} call",
                          lambda: ", ".join(f"{c.method}({c.status})" for c in self._calls[-30:]) or "none")

    def _wait(self, items: Callable[[], list[Any]], predicate: Callable[[Any], bool], timeout: float,
              what: str, describe: Callable[[], str]) -> Any:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for item in items():
                    if predicate(item):  # judged under the lock, handed out as a copy
                        return copy.deepcopy(item)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no matching {what} within {timeout}s; so far:\n{describe()}")
                self._changed.wait(remaining)

    # ----- faults -----
    def flood(self, chat_id: int | None, retry_after: int, times: int = 1) -> None:
        """The next `times` message sends to chat_id (None: any chat) get 429 with parameters.retry_after."""
        with self._lock:
            self._floods.append([chat_id, int(retry_after), int(times)])

    def per_chat_limit(self, messages_per_second: int | None) -> None:
        """Like Telegram's flood control: more sends than this to one chat within a second get 429 (None: off)."""
        with self._lock:
            self._rate, self._recent = messages_per_second, {}

    def block(self, chat_id: int) -> None:
        """The person blocked the bot: sends and chat actions to chat_id get 403."""
        with self._lock:
            self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        """The person unblocked the bot."""
        with self._lock:
            self._blocked.discard(chat_id)

    def conflict(self, on: bool = True) -> None:
        """Another instance polls with this token: every getUpdates gets 409 Conflict."""
        with self._lock:
            self._conflict = on
        self._wake()

    def down(self, on: bool = True) -> None:
        """Telegram is unreachable behind its proxy: every method answers 502, which PTB raises as NetworkError."""
        with self._lock:
            self._down = on
        self._wake()

    def latency(self, seconds: float) -> None:
        """Delay every Bot API call by this many seconds before it is handled."""
        with self._lock:
            self._latency = max(0.0, float(seconds))

    def faults(self) -> Json:
        """The faults in force, as the control API reports them."""
        with self._lock:
            return {"flood": [dict(zip(("chat_id", "retry_after", "times"), f)) for f in self._floods],
                    "blocked": sorted(self._blocked), "conflict": self._conflict, "down": self._down,
                    "refusing": self._refusing, "latency": self._latency, "per_chat_limit": self._rate}

    def _gate(self, method: str, chat_id: int) -> None:
        """Faults and flood control for a send to chat_id; called under the lock by the methods."""
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if method == "sendchataction":
            return
        for flood in self._floods:
            if flood[0] in (None, chat_id):
                flood[2] -= 1
                if flood[2] <= 0:
                    self._floods.remove(flood)
                raise too_many_requests(flood[1])
        if self._rate:
            now, recent = time.monotonic(), self._recent.setdefault(chat_id, deque())
            while recent and now - recent[0] >= 1.0:
                recent.popleft()
            if len(recent) >= self._rate:
                raise too_many_requests(max(1, math.ceil(recent[0] + 1.0 - now)))
            recent.append(now)
