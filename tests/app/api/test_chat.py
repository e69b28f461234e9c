"""POST /v1/chat on real PostgreSQL + Redis with the transformers engine (tiny model)."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from app.core.security import Scope
from app.core.timing import parse_header
from app.store.models import MessageRow, SessionRow
from tests.factories import bearer, chat_body, make_profile, profile_body


async def _put_profile(client, admin_key: str, **fields) -> str:  # type: ignore[no-untyped-def]
    profile = make_profile(**fields)
    response = await client.put(
        f"/v1/profiles/{profile.user_id}", json=profile_body(profile), headers=bearer(admin_key)
    )
    assert response.status_code == 201, response.text
    return profile.user_id


async def _rows(client, session_id: str) -> tuple[int, list[tuple[str, str]]]:  # type: ignore[no-untyped-def]
    db = client.app.state.services.db
    async with db() as s:
        sessions = await s.scalar(select(func.count()).where(SessionRow.id == session_id))
        messages = (
            await s.execute(
                select(MessageRow.role, MessageRow.content)
                .where(MessageRow.session_id == session_id)
                .order_by(MessageRow.id)
            )
        ).all()
    return int(sessions or 0), [tuple(m) for m in messages]


async def test_chat_reply_persists_turn_and_continues_session(
    make_client, pg_settings, pg_keys, tiny_engine
):
    async with make_client(pg_settings(), tiny_engine) as client:
        user_id = await _put_profile(client, pg_keys[Scope.ADMIN])
        shop = bearer(pg_keys[Scope.STOREFRONT])

        first = await client.post("/v1/chat", json=chat_body(user_id), headers=shop)
        assert first.status_code == 200, first.text
        body = first.json()
        assert set(body) == {
            "session_id",
            "reply",
            "variant",
            "policy_version",
            "handoff",
            "usage",
            "latency_ms",
        }
        assert body["variant"] == "default" and body["policy_version"] == "base"
        assert 0 < body["usage"]["completion_tokens"] <= 8  # MORE_MAX_TOKENS in the fixture
        assert body["usage"]["total_tokens"] == (
            body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
        )
        assert first.headers["x-request-id"]
        # Where the time went, span by span (app.core.timing).
        spans = parse_header(first.headers["server-timing"])
        assert {"auth", "admit", "profile", "assign", "prompt", "generate", "persist"} <= set(spans)
        assert all(ms >= 0 for ms in spans.values())

        sid = body["session_id"]
        second = await client.post(
            "/v1/chat", json=chat_body(user_id, "And over 6 months?", session_id=sid), headers=shop
        )
        assert second.status_code == 200, second.text
        assert second.json()["session_id"] == sid

        sessions, messages = await _rows(client, sid)
        assert sessions == 1
        assert [role for role, _ in messages] == ["user", "assistant", "user", "assistant"]
        assert messages[0][1] == "Can I pay in instalments?"
        assert messages[1][1] == body["reply"]
        # The Redis history holds both turns too (oldest first).
        cached = await client.app.state.services.cache.get_history(sid)
        assert [m["content"] for m in cached] == [content for _, content in messages]


async def test_chat_stream_sends_deltas_then_done_matching_the_record(
    make_client, pg_settings, pg_keys, tiny_engine
):
    async with make_client(pg_settings(), tiny_engine) as client:
        user_id = await _put_profile(client, pg_keys[Scope.ADMIN])
        for path, extra in (("/v1/chat/stream", {}), ("/v1/chat", {"stream": True})):
            response = await client.post(
                path, json=chat_body(user_id, **extra), headers=bearer(pg_keys[Scope.STOREFRONT])
            )
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            events = _parse_sse(response.text)
            kinds = [kind for kind, _ in events]
            # (The random tiny model may emit only special tokens: deltas can be empty.)
            assert kinds[-1] == "done" and set(kinds[:-1]) <= {"delta"}, kinds
            done = events[-1][1]
            streamed = "".join(data["text"] for kind, data in events if kind == "delta")
            assert streamed.strip() == done["reply"]
            _, messages = await _rows(client, done["session_id"])
            assert messages == [("user", "Can I pay in instalments?"), ("assistant", done["reply"])]


def _parse_sse(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        kind, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if kind:
            events.append((kind, json.loads("\n".join(data))))
    return events


async def test_chat_metrics_use_route_templates_not_ids(
    make_client, pg_settings, pg_keys, tiny_engine
):
    async with make_client(pg_settings(), tiny_engine) as client:
        user_id = await _put_profile(client, pg_keys[Scope.ADMIN])
        reply = await client.post(
            "/v1/chat", json=chat_body(user_id), headers=bearer(pg_keys[Scope.STOREFRONT])
        )
        await client.get(f"/v1/profiles/{user_id}", headers=bearer(pg_keys[Scope.ADMIN]))
        text = (await client.get("/metrics")).text
    for name in (
        "more_http_requests_total",
        "more_http_request_duration_seconds_bucket",
        "more_generation_duration_seconds_bucket",
        "more_time_to_first_token_seconds_bucket",
        "more_generated_tokens_total",
        "more_engine_queue_depth",
    ):
        assert name in text, name
    assert 'route="/v1/profiles/{user_id}"' in text
    assert 'route="/v1/chat",status="200"' in text
    assert user_id not in text and reply.json()["session_id"] not in text
