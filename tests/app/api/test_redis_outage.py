"""A Redis outage (a throwaway redis-server this test starts and kills): chat keeps
working from PostgreSQL, responses are marked degraded and /readyz reports it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.security import Scope
from tests.factories import ScriptedEngine, bearer, chat_body, make_profile, profile_body
from tests.throwaway import ThrowawayRedis


@pytest.fixture
def throwaway_redis(tmp_path: Path) -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis(tmp_path)  # skips when redis-server is not installed
    server.start()
    yield server
    server.kill()


async def test_redis_outage_chat_falls_back_to_postgres_and_readyz_degrades(
    make_client, pg_settings, pg_keys, throwaway_redis
):
    engine = ScriptedEngine(lambda messages: f"reply to {messages[-1]['content']}")
    settings = pg_settings(REDIS_URL=throwaway_redis.url, MORE_REDIS_TIMEOUT_S=0.3)
    async with make_client(settings, engine) as client:
        shop = bearer(pg_keys[Scope.STOREFRONT])
        profile = make_profile()
        await client.put(
            f"/v1/profiles/{profile.user_id}",
            json=profile_body(profile),
            headers=bearer(pg_keys[Scope.ADMIN]),
        )
        first = await client.post("/v1/chat", json=chat_body(profile.user_id, "one"), headers=shop)
        assert first.status_code == 200 and "x-more-degraded" not in first.headers
        ready = await client.get("/readyz")
        assert ready.json()["status"] == "ok"

        throwaway_redis.kill()

        sid = first.json()["session_id"]
        second = await client.post(
            "/v1/chat", json=chat_body(profile.user_id, "two", session_id=sid), headers=shop
        )
        assert second.status_code == 200, second.text
        assert second.headers["x-more-degraded"] == "session-cache"
        # The history came from PostgreSQL: the prompt holds the first turn.
        contents = [m["content"] for m in engine.prompts[-1][1:]]
        assert contents == ["one", "reply to one", "two"]
        # New sessions work too, and the one-generation-per-session lock still holds.
        fresh = await client.post("/v1/chat", json=chat_body(profile.user_id), headers=shop)
        assert fresh.status_code == 200

        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["status"] == "degraded"
        assert ready.json()["checks"] == {"database": "ok", "cache": "down", "engine": "ok"}
        metrics = (await client.get("/metrics")).text
        assert 'more_dependency_up{dependency="cache"} 0.0' in metrics

        throwaway_redis.start()  # same port: the service recovers on its own
        assert (await client.get("/readyz")).json()["status"] == "ok"
        third = await client.post(
            "/v1/chat", json=chat_body(profile.user_id, "three", session_id=sid), headers=shop
        )
        assert third.status_code == 200 and "x-more-degraded" not in third.headers
        contents = [m["content"] for m in engine.prompts[-1][1:]]
        assert contents == ["one", "reply to one", "two", "reply to two", "three"]


async def test_readyz_unavailable_when_engine_down(make_client, pg_settings):
    engine = ScriptedEngine()
    async with make_client(pg_settings(), engine) as client:
        engine.ready = False
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert ready.json()["checks"]["engine"] == "down"
