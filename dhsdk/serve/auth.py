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


class TokenCache:
    """Token -> :class:`Principal` lookups, remembered for ``ttl_s`` seconds (a busy client
    costs one database query per ``ttl_s``, not one per request; a revoked token stops working
    within ``ttl_s``). Records each token's last use at most once a minute.

    Args:
        store: the :class:`~dhsdk.serve.db.Store`.
        ttl_s: how long a lookup (found or not) is remembered.
    """

    LAST_USED_EVERY_S = 60.0

    def __init__(self, store, ttl_s: float = 2.0):
        self.store, self.ttl_s = store, ttl_s
        self._seen: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    def lookup(self, token: str | None) -> Principal | None:
        """The tenant of ``token`` (None: missing, unknown or revoked)."""
        if not token:
            return None
        key = hash_token(token)
        now = time.monotonic()
        with self._lock:
            hit = self._seen.get(key)
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        row = self.store.token_by_hash(key)
        who = None if row is None else Principal(tenant_id=row["tenant_id"], tenant=row["tenant"], token_id=row["id"])
        if row is not None and (row["last_used_at"] or 0) < time.time() - self.LAST_USED_EVERY_S:
            self.store.update("tokens", row["id"], last_used_at=time.time())
        with self._lock:
            if len(self._seen) > 10000:   # bounded: unknown tokens cannot fill memory
                self._seen.clear()
            self._seen[key] = (now, who)
        return who


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
