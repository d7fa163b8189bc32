"""The few error types the core and services raise; adapters translate library errors into these."""
from __future__ import annotations


class UserError(Exception):
    """A refusal a person should read: one line, nothing changed."""


class OrderRejected(Exception):
    """A business rejection by the venue (Binance-shaped code); reported once, never retried."""

    def __init__(self, code: int, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class VenueUnavailable(Exception):
    """A transient failure (network, 5xx, rate limit); the caller may retry with backoff."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


# Binance error codes the paper venue mirrors so every venue looks alike to the engine.
# -2010 covers several rejections (insufficient balance, duplicate id, market closed): read the message.
ILLEGAL_CHARS = -1100
MANDATORY_PARAM = -1102
FILTER_FAILURE = -1013
NEW_ORDER_REJECTED = -2010
INVALID_SYMBOL = -1121
NO_SUCH_ORDER = -2013
