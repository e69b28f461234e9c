"""The rate limiter: moving windows in Redis (shared) or memory, Retry-After, and the
per-replica fallback while Redis is down."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import pytest

from app.core.errors import RateLimitedError
from app.services.rate_limits import RateLimiter
from tests.factories import TEST_REDIS_URL


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[RateLimiter]:
    prefix = f"more-test-{uuid.uuid4().hex[:10]}:"
    url = TEST_REDIS_URL if request.param == "redis" else None
    rl = RateLimiter(window_s=60, redis_url=url, prefix=prefix)
    yield rl
    if url is not None:
        from redis.asyncio import Redis

        client = Redis.from_url(url)
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
    await rl.close()


async def test_rate_limits_refuse_past_the_limit_with_retry_after(limiter: RateLimiter) -> None:
    for _ in range(3):
        await limiter.hit("chat", "key-a", limit=3, what="API key")
    with pytest.raises(RateLimitedError) as err:
        await limiter.hit("chat", "key-a", limit=3, what="API key")
    assert err.value.status == 429 and "API key" in err.value.message
    assert err.value.headers["Retry-After"] in {str(n) for n in range(55, 61)}
    # Buckets are separate per family and per identifier.
    await limiter.hit("chat", "key-b", limit=3, what="API key")
    await limiter.hit("events", "key-a", limit=3, what="API key")


async def test_rate_limits_check_and_count_do_not_consume_each_other(
    limiter: RateLimiter,
) -> None:
    await limiter.check("auth-failures", "10.0.0.1", limit=2, what="client address")
    await limiter.count("auth-failures", "10.0.0.1", limit=2)
    await limiter.count("auth-failures", "10.0.0.1", limit=2)
    with pytest.raises(RateLimitedError):
        await limiter.check("auth-failures", "10.0.0.1", limit=2, what="client address")
    await limiter.check("auth-failures", "10.0.0.2", limit=2, what="client address")


async def test_rate_limits_fall_back_to_memory_quickly_when_redis_is_down() -> None:
    rl = RateLimiter(window_s=60, redis_url="redis://127.0.0.1:1/0", timeout_s=0.2)
    started = time.perf_counter()
    await rl.hit("chat", "k", limit=1, what="API key")
    with pytest.raises(RateLimitedError):  # still limited, per replica
        await rl.hit("chat", "k", limit=1, what="API key")
    assert time.perf_counter() - started < 2
    await rl.close()
