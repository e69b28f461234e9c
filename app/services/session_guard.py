"""Who may run a turn now: rate limits per key and per session, one generation per session.

Both live in the shared session cache (Redis) so every replica sees them. When the cache
is down they hold per replica instead (an in-process cache), and the turn is served
degraded rather than refused: a Redis outage must not stop the shop's chat.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from app.core.errors import GenerationInProgressError, RateLimitedError
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
        window_s: rate-limit window.
        lock_ttl_s: how long a lock outlives a crashed holder (the generation timeout plus
            a margin, so a live generation never loses its lock).
    """

    def __init__(self, cache: SessionCache, *, window_s: int, lock_ttl_s: float) -> None:
        self._cache = cache
        self._local = InMemorySessionCache(ttl_s=cache.ttl_s, max_messages=cache.max_messages)
        self.window_s = window_s
        self.lock_ttl_s = lock_ttl_s

    async def rate_limit(self, bucket: str, limit: int, *, what: str) -> None:
        """Count one request in `bucket`; `RateLimitedError` (429) past `limit` per window."""
        try:
            wait = await self._cache.hit(bucket, limit=limit, window_s=self.window_s)
        except CacheUnavailableError:
            wait = await self._local.hit(bucket, limit=limit, window_s=self.window_s)
        if wait is not None:
            raise RateLimitedError(
                f"too many requests for this {what}: at most {limit} per {self.window_s} s",
                retry_after_s=wait,
            )

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
