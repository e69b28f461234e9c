"""Rate limits of every route family, through the `limits` library.

Counters live in Redis when it is configured, so every replica shares them; in process
memory in embedded mode, and as the fallback while Redis is down (limits then hold per
replica: a Redis outage must not stop the shop's chat, nor lift every limit). Each limit
is a moving window of `window_s` seconds, so `Retry-After` is the exact wait until the
oldest counted request leaves the window.

Buckets (`family`, then identifiers):

* `chat`, `events`, `admin` per API key: the route families (`app.api.gate`);
* `auth-failures` per client IP: failed authentications;
* `session` per chat session, `user` per (API key, shopper): inside the chat service.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from app.core.errors import RateLimitedError

logger = logging.getLogger(__name__)

# After a Redis failure, count in memory for this long before trying Redis again, so an
# outage costs one timeout per replica every few seconds rather than one per request.
_REDIS_RETRY_AFTER_S = 5.0


class RateLimiter:
    """Moving-window limits in Redis (shared) or in memory (this replica).

    Args:
        window_s: the window every limit is counted over.
        redis_url: Redis URL; None counts in process memory only.
        prefix: prefix of the Redis keys (the service's `MORE_REDIS_PREFIX`).
        timeout_s: Redis connect/read timeout; past it the request counts in memory.
    """

    def __init__(
        self,
        *,
        window_s: int,
        redis_url: str | None = None,
        prefix: str = "more:",
        timeout_s: float = 0.5,
    ) -> None:
        self.window_s = window_s
        self._local = MovingWindowRateLimiter(MemoryStorage())
        self._shared: MovingWindowRateLimiter | None = None
        self._storage: RedisStorage | None = None
        self._shared_down_until = 0.0
        if redis_url:
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            # redis-py (already the session cache's client) rather than coredis; no
            # retries and short timeouts, as for the session cache.
            self._storage = RedisStorage(
                f"async+{redis_url}",
                implementation="redispy",
                key_prefix=f"{prefix}rl",
                wrap_exceptions=True,
                socket_timeout=timeout_s,
                socket_connect_timeout=timeout_s,
                retry_on_timeout=False,
                retry=Retry(NoBackoff(), 0),  # type: ignore[arg-type]
            )
            self._shared = MovingWindowRateLimiter(self._storage)

    def _item(self, limit: int) -> Any:
        return RateLimitItemPerSecond(limit, self.window_s)

    def _limiter(self) -> tuple[MovingWindowRateLimiter, bool]:
        """(limiter to use now, whether it is the shared one)."""
        if self._shared is not None and time.monotonic() >= self._shared_down_until:
            return self._shared, True
        return self._local, False

    def _shared_failed(self, exc: BaseException) -> None:
        logger.warning("rate limits counted per replica, Redis unavailable: %s", exc)
        self._shared_down_until = time.monotonic() + _REDIS_RETRY_AFTER_S

    async def _call(self, method: str, item: Any, identifiers: tuple[str, ...]) -> Any:
        limiter, shared = self._limiter()
        try:
            return await getattr(limiter, method)(item, *identifiers)
        except (StorageError, OSError, TimeoutError) as exc:
            if not shared:
                raise
            self._shared_failed(exc)
            return await getattr(self._local, method)(item, *identifiers)

    async def hit(self, family: str, *identifiers: str, limit: int, what: str) -> None:
        """Count one request in the bucket; `RateLimitedError` (429 + Retry-After) if it
        is already at `limit` within the window (the refused request is not counted)."""
        item = self._item(limit)
        key = (family, *identifiers)
        if not await self._call("hit", item, key):
            raise await self._limited(item, key, limit=limit, what=what)

    async def check(self, family: str, *identifiers: str, limit: int, what: str) -> None:
        """Like `hit`, without counting: refuse while the bucket is full."""
        item = self._item(limit)
        key = (family, *identifiers)
        if not await self._call("test", item, key):
            raise await self._limited(item, key, limit=limit, what=what)

    async def count(self, family: str, *identifiers: str, limit: int) -> None:
        """Count one event in the bucket without refusing anything (e.g. a failed login)."""
        await self._call("hit", self._item(limit), (family, *identifiers))

    async def _limited(
        self, item: Any, key: tuple[str, ...], *, limit: int, what: str
    ) -> RateLimitedError:
        try:
            stats = await self._call("get_window_stats", item, key)
            wait = max(1, math.ceil(stats.reset_time - time.time()))
        except Exception:  # the refusal stands; only the hint is lost
            wait = self.window_s
        return RateLimitedError(
            f"too many requests for this {what}: at most {limit} per {self.window_s} s",
            retry_after_s=min(wait, self.window_s),
        )

    async def close(self) -> None:
        """Release the Redis connections."""
        if self._storage is not None:
            client = getattr(self._storage.bridge, "storage", None)
            if client is not None:
                await client.aclose()
