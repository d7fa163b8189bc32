"""Logging through the redactor: every formatted log record (tracebacks included) has its secrets masked."""
from __future__ import annotations

import logging
from typing import Iterable

from ..core.redaction import Redactor


class RedactingFormatter(logging.Formatter):
    def __init__(self, fmt: str, secrets: Iterable[str]):
        super().__init__(fmt)
        self.redactor = Redactor(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))

    def redact(self, text: str) -> str:
        return self.redactor.redact(text)


def install(level: str, secrets: Iterable[str]) -> RedactingFormatter:
    """Log to stderr through the redacting formatter."""
    formatter = RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets)
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    return formatter
