"""Steward keys: made once, kept only as a slow hash, checked at most 5 times a minute.

A key reads ``<key id>.<secret>``: the key id (``st-`` and 8 hex digits) is not secret and
names the key in the history and in ``steward list``; the secret is kept only as its
``hashlib.scrypt`` hash. Nothing here logs or repeats a key or a secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections import deque

#: scrypt cost (n, r, p): about 16 MiB and 50 ms per check on this machine's cores.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1

#: Wrong keys allowed per session within :data:`WINDOW_SECONDS`; more are refused unchecked.
MAX_FAILURES = 5
WINDOW_SECONDS = 60.0


def new_key() -> tuple[str, str]:
    """Return ``(key_id, key)``: a fresh key id and the whole key (shown to the steward once)."""
    key_id = f"st-{secrets.token_hex(4)}"
    return key_id, f"{key_id}.{secrets.token_urlsafe(24)}"


def key_id_of(key: str) -> str | None:
    """Return the key id a key names (None if the key is not of the form ``st-….secret``)."""
    key_id, dot, secret = key.strip().partition(".")
    if not dot or not secret or not key_id.startswith("st-") or len(key_id) > 40:
        return None
    return key_id


def hash_key(key: str, salt: bytes | None = None) -> str:
    """Return the stored form of a key: ``scrypt$n$r$p$salt$hash`` (base64)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(key.strip().encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R,
                            p=SCRYPT_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def key_matches(key: str, stored: str) -> bool:
    """Return whether ``key`` hashes to ``stored`` (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(key.strip().encode(), salt=base64.b64decode(salt), n=int(n),
                             r=int(r), p=int(p), dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return scheme == "scrypt" and hmac.compare_digest(got, expected)


class Attempts:
    """Wrong keys per session (a browser session, or the process): 5 a minute, then wait."""

    def __init__(self, limit: int = MAX_FAILURES, window: float = WINDOW_SECONDS):
        self.limit, self.window = limit, window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait_seconds(self, session: str) -> float:
        """Return how long ``session`` must wait before its key is checked (0: now)."""
        now = time.monotonic()
        with self._lock:
            failures = self._failures.get(session)
            while failures and now - failures[0] > self.window:
                failures.popleft()
            if not failures or len(failures) < self.limit:
                return 0.0
            return max(0.0, self.window - (now - failures[0]))

    def failed(self, session: str) -> None:
        """Record a wrong key of ``session``."""
        with self._lock:
            self._failures.setdefault(session, deque()).append(time.monotonic())


#: The process's record of wrong keys (every store of the process shares it).
ATTEMPTS = Attempts()
