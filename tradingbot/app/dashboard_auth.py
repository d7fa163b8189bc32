"""Signing in to the web dashboard without passwords: one-time links from the chat, signed session cookies.

A link carries a random token; only its SHA-256 is stored, so a copy of the database cannot be used to sign
in. Spending a link is one conditional update (single use, 5 minutes). The session cookie is
`generation.expiry.signature`, signed with HMAC-SHA256 under a random key kept by the link store (never a
setting); `/dashboard revoke` moves the generation on, which ends every session at once.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Protocol

from .ports import Clock

LINK_TTL = timedelta(minutes=5)
SESSION_TTL = timedelta(hours=12)
COOKIE = "itb_session"
LOGIN_PATH = "/login"


class LinkStore(Protocol):
    """Where link hashes, the signing key and the session generation live (SQLite, or memory when read-only)."""

    def signing_key(self) -> bytes: ...

    def generation(self) -> int: ...

    def next_generation(self) -> int: ...

    def add_link(self, digest: str, created: datetime, expires: datetime, who: str) -> None: ...

    def spend_link(self, digest: str, now: datetime) -> bool: ...


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


class DashboardAuth:
    """Issues one-time links and checks the session cookies they are exchanged for."""

    def __init__(self, store: LinkStore, clock: Clock, public_url: str):
        self.store, self.clock = store, clock
        self.public_url = public_url.rstrip("/")

    def issue_link(self, who: str) -> str:
        """A new single-use link, valid LINK_TTL; only its hash is kept."""
        token = secrets.token_urlsafe(32)
        now = self.clock.now()
        self.store.add_link(token_digest(token), now, now + LINK_TTL, who)
        return f"{self.public_url}{LOGIN_PATH}?t={token}"

    def spend(self, token: str) -> bool:
        """True once for a live, unused link; a used, expired or unknown one is refused."""
        if not token or len(token) > 200:
            return False
        return self.store.spend_link(token_digest(token), self.clock.now())

    def session_cookie(self) -> str:
        expires = int((self.clock.now() + SESSION_TTL).timestamp())
        body = f"{self.store.generation()}.{expires}"
        return f"{body}.{self._sign(body)}"

    def valid_session(self, cookie: str | None) -> bool:
        """Signed by our key, not expired, and of the current generation (not revoked)."""
        if not cookie or cookie.count(".") != 2 or len(cookie) > 200:
            return False
        generation, expires, signature = cookie.split(".")
        if not hmac.compare_digest(signature, self._sign(f"{generation}.{expires}")):
            return False
        if not (generation.isdigit() and expires.isdigit()):
            return False
        return int(expires) > self.clock.now().timestamp() and int(generation) == self.store.generation()

    def revoke_all(self) -> int:
        """End every session (cookies of older generations are refused); returns the new generation."""
        return self.store.next_generation()

    def _sign(self, body: str) -> str:
        mac = hmac.new(self.store.signing_key(), body.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")
