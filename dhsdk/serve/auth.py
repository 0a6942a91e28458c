"""Bearer tokens (random, shown once, stored as SHA-256) and per-token rate limits.

A token is ``dhs_`` + 43 URL-safe characters (256 random bits). Only its SHA-256 is stored:
a leaked database does not leak working tokens, and with 256 random bits a plain hash is as
strong as a slow one (there is nothing to guess).
"""
from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass

PREFIX = "dhs_"


def new_token() -> str:
    """A fresh bearer token."""
    return PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The stored form of ``token`` (SHA-256 hex)."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(store, tenant: str, label: str = "") -> tuple[str, dict]:
    """Create ``tenant`` if needed and a token for it.

    Args:
        store: a :class:`~dhsdk.serve.db.Store`.
        tenant: the tenant's name (a merchant, a shop).
        label: a note saying what the token is for.

    Returns:
        (the token, to show once; its stored row, without the token).
    """
    from dhsdk.errors import InputError

    name = tenant.strip()
    if not name or len(name) > 200:
        raise InputError("the tenant name must be 1 to 200 characters, e.g. --tenant demo-boutique")
    row = store.tenant(name, create=True)
    token = new_token()
    return token, store.add_token(row["id"], hash_token(token), label)


@dataclass
class Principal:
    """Who is calling: the tenant and the token used."""

    tenant_id: str
    tenant: str
    token_id: str


class RateLimiter:
    """Token buckets per key: ``rate`` requests per second on average, bursts up to ``burst``.

    Args:
        rate: sustained requests per second (0 or less: no limit).
        burst: bucket size.
    """

    def __init__(self, rate: float, burst: int):
        self.rate, self.burst = float(rate), max(1, int(burst))
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill time)
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Spend one request of ``key``'s bucket.

        Returns:
            0 when allowed, else seconds until a request will be (for ``Retry-After``).
        """
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate
