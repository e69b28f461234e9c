"""Who may run a turn now: rate limits per session and per shopper, one generation per
session.

Both live in Redis (the rate limiter's and the session cache's) so every replica sees
them. When Redis is down they hold per replica instead (in process), and the turn is
served degraded rather than refused: a Redis outage must not stop the shop's chat.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from app.core.errors import GenerationInProgressError
from app.services.rate_limits import RateLimiter
from app.store.sessions import CacheUnavailableError, InMemorySessionCache, SessionCache

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SessionLock:
    """A held session lock: release it with `SessionGuard.release`."""

    session_id: str
    token: str
    cache: SessionCache  # where it was taken (the shared cache, or this replica's)
    degraded: bool  # taken locally because the shared cache was down


class SessionGuard:
    """Rate limits and the per-session generation lock.

    Args:
        cache: the shared session cache.
        limiter: the service's rate limiter.
        lock_ttl_s: how long a lock outlives a crashed holder (the generation timeout plus
            a margin, so a live generation never loses its lock).
    """

    def __init__(self, cache: SessionCache, *, limiter: RateLimiter, lock_ttl_s: float) -> None:
        self._cache = cache
        self._local = InMemorySessionCache(ttl_s=cache.ttl_s, max_messages=cache.max_messages)
        self._limiter = limiter
        self.lock_ttl_s = lock_ttl_s

    async def rate_limit(self, family: str, *identifiers: str, limit: int, what: str) -> None:
        """Count one request in the bucket; `RateLimitedError` (429) past `limit` per window."""
        await self._limiter.hit(family, *identifiers, limit=limit, what=what)

    async def lock(self, session_id: str) -> SessionLock:
        """Take the session's generation lock, or `GenerationInProgressError` (409)."""
        key = f"session:{session_id}"
        cache, degraded = self._cache, False
        try:
            token = await cache.acquire_lock(key, ttl_s=self.lock_ttl_s)
        except CacheUnavailableError:
            cache, degraded = self._local, True
            token = await cache.acquire_lock(key, ttl_s=self.lock_ttl_s)
        if token is None:
            raise GenerationInProgressError(
                "another reply is being generated for this session; wait for it to finish",
                param="session_id",
            )
        return SessionLock(session_id, token, cache, degraded)

    @staticmethod
    async def release(lock: SessionLock) -> None:
        """Release a lock (best effort: it expires on its own if this fails)."""
        try:
            await lock.cache.release_lock(f"session:{lock.session_id}", lock.token)
        except Exception:
            logger.warning("could not release session lock", exc_info=True)
