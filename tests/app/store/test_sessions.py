"""The session cache interface, run against Redis and the in-process implementation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from app.store.sessions import (
    CacheUnavailableError,
    InMemorySessionCache,
    RedisSessionCache,
    SessionCache,
)
from tests.factories import TEST_REDIS_URL


@pytest.fixture(params=["memory", "redis"])
async def cache(request, redis_prefix: str) -> AsyncIterator[SessionCache]:  # type: ignore[no-untyped-def]
    if request.param == "memory":
        impl: SessionCache = InMemorySessionCache(ttl_s=2, max_messages=4)
    else:
        impl = RedisSessionCache(
            TEST_REDIS_URL, ttl_s=2, max_messages=4, prefix=redis_prefix, timeout_s=1
        )
    yield impl
    await impl.close()


def _msgs(*texts: str) -> list[dict[str, str]]:
    return [
        {"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(texts)
    ]


async def test_sessions_history_is_capped_and_oldest_first(cache: SessionCache) -> None:
    assert await cache.get_history("s1") is None
    await cache.set_history("s1", _msgs("a", "b"))
    await cache.append("s1", _msgs("c", "d"))
    await cache.append("s1", _msgs("e", "f"))
    history = await cache.get_history("s1")
    assert [m["content"] for m in history or []] == ["c", "d", "e", "f"]  # cap of 4


async def test_sessions_append_never_revives_a_missing_history(cache: SessionCache) -> None:
    await cache.append("gone", _msgs("late", "turn"))
    assert await cache.get_history("gone") is None


async def test_sessions_ttl_slides_on_each_write(cache: SessionCache) -> None:
    await cache.set_history("s2", _msgs("a", "b"))
    await asyncio.sleep(1.2)
    await cache.append("s2", _msgs("c", "d"))  # restarts the 2 s TTL
    await asyncio.sleep(1.2)
    assert await cache.get_history("s2") is not None  # 2.4 s after set, 1.2 s after append
    await asyncio.sleep(2.2)
    assert await cache.get_history("s2") is None


async def test_sessions_lock_is_exclusive_and_owner_released(cache: SessionCache) -> None:
    token = await cache.acquire_lock("s3", ttl_s=5)
    assert token is not None
    assert await cache.acquire_lock("s3", ttl_s=5) is None
    await cache.release_lock("s3", "not-the-owner")
    assert await cache.acquire_lock("s3", ttl_s=5) is None
    await cache.release_lock("s3", token)
    assert await cache.acquire_lock("s3", ttl_s=5) is not None


async def test_sessions_redis_down_raises_cache_unavailable_quickly() -> None:
    cache = RedisSessionCache(
        "redis://127.0.0.1:1/0", ttl_s=60, max_messages=4, prefix="x:", timeout_s=0.2
    )
    try:
        for call in (cache.ping(), cache.get_history("s"), cache.acquire_lock("s", ttl_s=1)):
            with pytest.raises(CacheUnavailableError):
                await asyncio.wait_for(call, 5)  # bounded: never a hang
    finally:
        await cache.close()
