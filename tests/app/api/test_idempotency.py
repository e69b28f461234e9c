"""`Idempotency-Key` on POST /v1/chat: replay, conflicts, and no double writes."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from app.core.security import Scope
from app.store.models import MessageRow, SessionRow
from tests.factories import ScriptedEngine, bearer, chat_body, make_profile, profile_body


@pytest.fixture
async def shop(make_client, pg_settings, pg_keys):  # type: ignore[no-untyped-def]
    engine = ScriptedEngine(lambda messages: f"reply #{len(engine.prompts)}")
    async with make_client(pg_settings(), engine) as client:
        profile = make_profile()
        await client.put(
            f"/v1/profiles/{profile.user_id}",
            json=profile_body(profile),
            headers=bearer(pg_keys[Scope.ADMIN]),
        )
        yield client, bearer(pg_keys[Scope.STOREFRONT]), profile.user_id, engine


async def _message_count(client, user_id: str) -> int:  # type: ignore[no-untyped-def]
    async with client.app.state.services.db() as s:
        count = await s.scalar(
            select(func.count())
            .select_from(MessageRow)
            .join(SessionRow)
            .where(SessionRow.user_id == user_id)
        )
    return int(count or 0)


async def test_idempotency_retry_replays_stored_response_without_generating(shop):
    client, storefront, user_id, engine = shop
    headers = {**storefront, "Idempotency-Key": "retry-1"}
    first = await client.post("/v1/chat", json=chat_body(user_id), headers=headers)
    again = await client.post("/v1/chat", json=chat_body(user_id), headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert len(engine.prompts) == 1
    assert await _message_count(client, user_id) == 2

    # Replays over SSE carry the same stored reply.
    streamed = await client.post(
        "/v1/chat", json={**chat_body(user_id), "stream": True}, headers=headers
    )
    assert "event: done" in streamed.text and first.json()["reply"] in streamed.text
    assert len(engine.prompts) == 1


async def test_idempotency_same_key_different_payload_is_409(shop):
    client, storefront, user_id, _ = shop
    headers = {**storefront, "Idempotency-Key": "retry-2"}
    assert (await client.post("/v1/chat", json=chat_body(user_id), headers=headers)).is_success
    other = await client.post("/v1/chat", json=chat_body(user_id, "different"), headers=headers)
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert other.json()["error"]["param"] == "Idempotency-Key"


async def test_idempotency_concurrent_retry_is_409_in_progress(shop):
    client, storefront, user_id, engine = shop
    headers = {**storefront, "Idempotency-Key": "retry-3"}
    engine.gate = asyncio.Event()
    first = asyncio.create_task(client.post("/v1/chat", json=chat_body(user_id), headers=headers))
    await asyncio.wait_for(engine.started.wait(), 10)
    second = await client.post("/v1/chat", json=chat_body(user_id), headers=headers)
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "idempotency_key_in_progress"
    assert "retry-after" in second.headers
    engine.gate.set()
    assert (await first).status_code == 200
    assert await _message_count(client, user_id) == 2


async def test_idempotency_keys_are_scoped_per_api_key(shop, pg_keys):
    client, storefront, user_id, engine = shop
    key = {"Idempotency-Key": "shared-name"}
    a = await client.post("/v1/chat", json=chat_body(user_id), headers={**storefront, **key})
    b = await client.post(
        "/v1/chat", json=chat_body(user_id), headers={**bearer(pg_keys[Scope.ADMIN]), **key}
    )
    assert a.status_code == b.status_code == 200
    assert a.json()["session_id"] != b.json()["session_id"]
    assert len(engine.prompts) == 2
