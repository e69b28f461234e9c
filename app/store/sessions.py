"""Session cache: recent history per session (sliding TTL, size cap) and per-session
generation locks, in Redis or in process (rate limits: `app.services.rate_limits`).

PostgreSQL holds the durable record; this cache only saves reading it on every turn.
Both implementations share one interface, so the service code above is the same.
Redis failures surface as `CacheUnavailableError`, never as a hang (short timeouts).
"""

from __future__ import annotations

import abc
import contextlib
import json
import time
import uuid
from collections import deque
from collections.abc import Sequence

from redis.exceptions import LockNotOwnedError

from app.domain.prompt import ChatMessage


class CacheUnavailableError(Exception):
    """The session cache did not answer; callers fall back to the database."""


class SessionCache(abc.ABC):
    """Recent history of each session, locks and counters."""

    def __init__(self, *, ttl_s: int, max_messages: int) -> None:
        self.ttl_s = ttl_s  # sliding: refreshed on every write
        self.max_messages = max_messages  # oldest messages are dropped past this

    @abc.abstractmethod
    async def get_history(self, session_id: str) -> list[ChatMessage] | None:
        """The cached history, oldest first; None when not cached (expired or never set)."""

    @abc.abstractmethod
    async def set_history(self, session_id: str, messages: Sequence[ChatMessage]) -> None:
        """Replace the cached history (capped) and restart its TTL."""

    @abc.abstractmethod
    async def append(self, session_id: str, messages: Sequence[ChatMessage]) -> None:
        """Append to a cached history and restart its TTL; a no-op if it is not cached,
        so an expired entry is never revived with only the newest turn."""

    @abc.abstractmethod
    async def forget(self, session_ids: Sequence[str]) -> None:
        """Drop the cached history of these sessions (their shopper was erased)."""

    @abc.abstractmethod
    async def acquire_lock(self, name: str, *, ttl_s: float) -> str | None:
        """Take a named lock for at most `ttl_s`; returns its token, or None if held."""

    @abc.abstractmethod
    async def release_lock(self, name: str, token: str) -> None:
        """Release a lock if `token` still holds it."""

    @abc.abstractmethod
    async def ping(self) -> None:
        """Raise `CacheUnavailableError` if the cache does not answer."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


class InMemorySessionCache(SessionCache):
    """One process's cache: the embedded default and the fallback for locks."""

    def __init__(self, *, ttl_s: int, max_messages: int) -> None:
        super().__init__(ttl_s=ttl_s, max_messages=max_messages)
        self._history: dict[str, tuple[float, deque[ChatMessage]]] = {}
        self._locks: dict[str, tuple[float, str]] = {}

    def _sweep(self, now: float) -> None:
        # Amortised cleanup keeps memory bounded by live sessions.
        if len(self._history) > 1024:
            for key in [k for k, (exp, _) in self._history.items() if exp <= now]:
                del self._history[key]

    async def get_history(self, session_id: str) -> list[ChatMessage] | None:
        entry = self._history.get(session_id)
        if entry is None or entry[0] <= time.monotonic():
            self._history.pop(session_id, None)
            return None
        return list(entry[1])

    async def set_history(self, session_id: str, messages: Sequence[ChatMessage]) -> None:
        now = time.monotonic()
        self._sweep(now)
        self._history[session_id] = (now + self.ttl_s, deque(messages, maxlen=self.max_messages))

    async def append(self, session_id: str, messages: Sequence[ChatMessage]) -> None:
        entry = self._history.get(session_id)
        now = time.monotonic()
        if entry is None or entry[0] <= now:
            self._history.pop(session_id, None)
            return
        entry[1].extend(messages)
        self._history[session_id] = (now + self.ttl_s, entry[1])

    async def forget(self, session_ids: Sequence[str]) -> None:
        for session_id in session_ids:
            self._history.pop(session_id, None)

    async def acquire_lock(self, name: str, *, ttl_s: float) -> str | None:
        now = time.monotonic()
        held = self._locks.get(name)
        if held is not None and held[0] > now:
            return None
        token = uuid.uuid4().hex
        self._locks[name] = (now + ttl_s, token)
        return token

    async def release_lock(self, name: str, token: str) -> None:
        held = self._locks.get(name)
        if held is not None and held[1] == token:
            del self._locks[name]

    async def ping(self) -> None:
        return None


class RedisSessionCache(SessionCache):
    """Redis: a list per session (RPUSHX + LTRIM + EXPIRE) and SET NX locks."""

    def __init__(
        self, url: str, *, ttl_s: int, max_messages: int, prefix: str = "more:", timeout_s: float
    ) -> None:
        super().__init__(ttl_s=ttl_s, max_messages=max_messages)
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self.prefix = prefix
        # Short timeouts and no retries: a dead Redis must cost a turn milliseconds, since
        # the service then reads history from PostgreSQL.
        self._redis = Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry_on_timeout=False,
            retry=Retry(NoBackoff(), 0),
            decode_responses=True,
            health_check_interval=30,
        )

    def _key(self, kind: str, name: str) -> str:
        return f"{self.prefix}{kind}:{name}"

    async def _call(self, coro):  # type: ignore[no-untyped-def]
        from redis.exceptions import RedisError

        try:
            return await coro
        except (RedisError, OSError) as exc:
            raise CacheUnavailableError(str(exc) or type(exc).__name__) from exc

    async def get_history(self, session_id: str) -> list[ChatMessage] | None:
        items = await self._call(self._redis.lrange(self._key("history", session_id), 0, -1))
        if not items:
            return None
        return [json.loads(item) for item in items]

    async def set_history(self, session_id: str, messages: Sequence[ChatMessage]) -> None:
        key = self._key("history", session_id)
        kept = list(messages)[-self.max_messages :] if self.max_messages else []
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            if kept:
                pipe.rpush(key, *(json.dumps(m, ensure_ascii=False) for m in kept))
                pipe.expire(key, self.ttl_s)
            await self._call(pipe.execute())

    async def append(self, session_id: str, messages: Sequence[ChatMessage]) -> None:
        key = self._key("history", session_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpushx(key, *(json.dumps(m, ensure_ascii=False) for m in messages))
            pipe.ltrim(key, -self.max_messages, -1)
            pipe.expire(key, self.ttl_s)
            await self._call(pipe.execute())

    async def forget(self, session_ids: Sequence[str]) -> None:
        for start in range(0, len(session_ids), 500):
            keys = [self._key("history", sid) for sid in session_ids[start : start + 500]]
            await self._call(self._redis.delete(*keys))

    async def acquire_lock(self, name: str, *, ttl_s: float) -> str | None:
        # redis-py's lock: SET NX PX with an owner token, released by a compare-and-delete
        # script, so a holder whose lock expired cannot release another's.
        token = uuid.uuid4().hex
        lock = self._redis.lock(self._key("lock", name), timeout=ttl_s, blocking=False)
        return token if await self._call(lock.acquire(token=token)) else None

    async def release_lock(self, name: str, token: str) -> None:
        lock = self._redis.lock(self._key("lock", name))

        async def release() -> None:
            # Expired and perhaps someone else's now: nothing of ours to release.
            with contextlib.suppress(LockNotOwnedError):
                await lock.do_release(token)

        await self._call(release())

    async def ping(self) -> None:
        await self._call(self._redis.ping())

    async def close(self) -> None:
        await self._redis.aclose()
