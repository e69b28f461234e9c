"""Bad input and faults on POST /v1/chat (PostgreSQL + Redis, scripted engine): every
failure is a clean 4xx/5xx in the one error shape, never a 500 or a hang, and nothing
is written half-way."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from app.core.security import Scope
from app.engine.base import EngineError, EngineOverloadedError, EngineTimeoutError
from app.store.models import IdempotencyRow, MessageRow, SessionRow
from tests.factories import ScriptedEngine, bearer, chat_body, make_profile, profile_body


def assert_error(response, status: int, code: str, param: str | None = "any") -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"type", "code", "message", "param"}
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    if param != "any":
        assert body["error"]["param"] == param, body
    return body["error"]


@pytest.fixture
async def shop(make_client, pg_settings, pg_keys):  # type: ignore[no-untyped-def]
    """(client, storefront headers, admin headers, a known user id, the scripted engine)."""
    engine = ScriptedEngine("Happy to help: that fits your available credit.")
    async with make_client(pg_settings(), engine) as client:
        profile = make_profile()
        admin = bearer(pg_keys[Scope.ADMIN])
        put = await client.put(
            f"/v1/profiles/{profile.user_id}", json=profile_body(profile), headers=admin
        )
        assert put.status_code == 201
        yield client, bearer(pg_keys[Scope.STOREFRONT]), admin, profile.user_id, engine


async def test_chat_rejects_missing_and_wrong_keys(shop):
    client, _, _, user_id, _ = shop
    assert_error(await client.post("/v1/chat", json=chat_body(user_id)), 401, "missing_api_key")
    wrong = await client.post("/v1/chat", json=chat_body(user_id), headers=bearer("nope"))
    assert_error(wrong, 401, "invalid_api_key")
    assert wrong.headers["www-authenticate"] == "Bearer"
    basic = await client.post(
        "/v1/chat", json=chat_body(user_id), headers={"Authorization": "Basic abc"}
    )
    assert_error(basic, 401, "missing_api_key")


async def test_profiles_need_admin_scope(shop):
    client, storefront, _, user_id, _ = shop
    assert_error(
        await client.get(f"/v1/profiles/{user_id}", headers=storefront), 403, "insufficient_scope"
    )


async def test_chat_unknown_user_is_404_with_message(shop):
    client, storefront, _, _, _ = shop
    err = assert_error(
        await client.post("/v1/chat", json=chat_body("nobody-here"), headers=storefront),
        404,
        "unknown_user",
        "user_id",
    )
    # It says what to do, and names no id: answers must not help probe which ids exist.
    assert "PUT /v1/profiles/" in err["message"] and "nobody-here" not in err["message"]


async def test_chat_unknown_or_foreign_session_is_404(shop):
    client, storefront, admin, user_id, _ = shop
    unknown = await client.post(
        "/v1/chat", json=chat_body(user_id, session_id="does-not-exist"), headers=storefront
    )
    assert_error(unknown, 404, "unknown_session", "session_id")
    # A session of another shopper is not revealed.
    other = make_profile()
    await client.put(f"/v1/profiles/{other.user_id}", json=profile_body(other), headers=admin)
    theirs = await client.post("/v1/chat", json=chat_body(other.user_id), headers=storefront)
    sid = theirs.json()["session_id"]
    foreign = await client.post(
        "/v1/chat", json=chat_body(user_id, session_id=sid), headers=storefront
    )
    assert_error(foreign, 404, "unknown_session", "session_id")
    # Exactly the answer an id that never existed gets.
    assert foreign.json() == unknown.json()


@pytest.mark.parametrize(
    ("body", "param", "needle"),
    [
        ({"message": ""}, "message", "at least 1"),
        ({"message": "   \n "}, "message", "blank"),
        ({"message": "x" * 4001}, "message", "at most 4000"),
        ({"message": "hi\x00there"}, "message", "NUL"),
        ({"message": 42}, "message", "string"),
        ({"message": None}, "message", "string"),
        ({"user_id": "bad id with spaces"}, "user_id", "pattern"),
        ({"session_id": "../../etc"}, "session_id", "pattern"),
        ({"context": {"items": [{"title": "x", "price": "-3"}]}}, "context.items.0.price", ""),
        ({"surprise": 1}, "surprise", "Extra inputs"),
    ],
)
async def test_chat_bad_input_is_422_with_a_clear_message(shop, body, param, needle):
    client, storefront, _, user_id, engine = shop
    payload = {**chat_body(user_id), **body}
    err = assert_error(
        await client.post("/v1/chat", json=payload, headers=storefront),
        422,
        "invalid_request",
        param,
    )
    assert needle in err["message"]
    assert engine.prompts == []  # rejected before any generation


async def test_chat_exactly_4000_chars_is_accepted(shop):
    client, storefront, _, user_id, _ = shop
    response = await client.post(
        "/v1/chat", json=chat_body(user_id, "y" * 4000), headers=storefront
    )
    assert response.status_code == 200


async def test_chat_malformed_or_missing_body_is_422(shop):
    client, storefront, _, _, _ = shop
    headers = {**storefront, "Content-Type": "application/json"}
    err = assert_error(
        await client.post("/v1/chat", content=b'{"user_id": "u1", "message": ', headers=headers),
        422,
        "invalid_request",
    )
    assert "not valid JSON" in err["message"]
    assert_error(await client.post("/v1/chat", headers=headers), 422, "invalid_request")
    missing = await client.post("/v1/chat", json={"user_id": "u1"}, headers=storefront)
    assert "message" in assert_error(missing, 422, "invalid_request", "message")["message"]


async def test_unknown_route_and_method_use_the_error_shape(shop):
    client, storefront, _, _, _ = shop
    assert_error(await client.get("/v1/nothing", headers=storefront), 404, "not_found")
    assert_error(await client.get("/v1/chat", headers=storefront), 405, "method_not_allowed")


async def test_chat_one_generation_per_session(shop):
    client, storefront, _, user_id, engine = shop
    first = await client.post("/v1/chat", json=chat_body(user_id), headers=storefront)
    sid = first.json()["session_id"]

    engine.gate = asyncio.Event()
    engine.started.clear()
    busy = asyncio.create_task(
        client.post("/v1/chat", json=chat_body(user_id, "one", session_id=sid), headers=storefront)
    )
    await asyncio.wait_for(engine.started.wait(), 10)
    second = await client.post(
        "/v1/chat", json=chat_body(user_id, "two", session_id=sid), headers=storefront
    )
    assert_error(second, 409, "generation_in_progress", "session_id")
    # Other sessions are not blocked... (new session, same user)
    engine.gate.set()
    assert (await busy).status_code == 200
    # ...and the lock is released once the first reply is done.
    third = await client.post(
        "/v1/chat", json=chat_body(user_id, "three", session_id=sid), headers=storefront
    )
    assert third.status_code == 200


async def test_chat_rate_limit_per_key_is_429_with_retry_after(make_client, pg_settings, pg_keys):
    settings = pg_settings(MORE_RATE_LIMIT_PER_KEY=2, MORE_RATE_LIMIT_WINDOW_S=60)
    async with make_client(settings, ScriptedEngine()) as client:
        admin, storefront = bearer(pg_keys[Scope.ADMIN]), bearer(pg_keys[Scope.STOREFRONT])
        profile = make_profile()
        await client.put(
            f"/v1/profiles/{profile.user_id}", json=profile_body(profile), headers=admin
        )
        statuses = [
            (await client.post("/v1/chat", json=chat_body(profile.user_id), headers=storefront))
            for _ in range(3)
        ]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert_error(statuses[2], 429, "rate_limited")
    assert 1 <= int(statuses[2].headers["retry-after"]) <= 60


async def test_chat_rate_limit_per_session(make_client, pg_settings, pg_keys):
    settings = pg_settings(MORE_RATE_LIMIT_PER_SESSION=1)
    async with make_client(settings, ScriptedEngine()) as client:
        admin, storefront = bearer(pg_keys[Scope.ADMIN]), bearer(pg_keys[Scope.STOREFRONT])
        profile = make_profile()
        await client.put(
            f"/v1/profiles/{profile.user_id}", json=profile_body(profile), headers=admin
        )
        first = await client.post("/v1/chat", json=chat_body(profile.user_id), headers=storefront)
        body = chat_body(profile.user_id, session_id=first.json()["session_id"])
        assert (await client.post("/v1/chat", json=body, headers=storefront)).status_code == 200
        limited = await client.post("/v1/chat", json=body, headers=storefront)
    err = assert_error(limited, 429, "rate_limited")
    assert "session" in err["message"] and "retry-after" in limited.headers


@pytest.mark.parametrize(
    ("failure", "status", "code"),
    [
        (EngineTimeoutError("slow"), 503, "generation_timeout"),
        (EngineOverloadedError("full"), 429, "engine_overloaded"),
        (EngineError("boom"), 503, "engine_error"),
    ],
)
async def test_chat_engine_failures_map_to_retryable_errors(shop, failure, status, code):
    client, storefront, _, user_id, engine = shop
    engine.fail_with = failure
    response = await client.post("/v1/chat", json=chat_body(user_id), headers=storefront)
    assert_error(response, status, code)
    assert int(response.headers["retry-after"]) >= 1


async def test_chat_slow_engine_times_out_instead_of_hanging(make_client, pg_settings, pg_keys):
    engine = ScriptedEngine()
    engine.gate = asyncio.Event()  # never set: the engine would wait forever
    settings = pg_settings(MORE_GENERATION_TIMEOUT_S=0.5)
    async with make_client(settings, engine) as client:
        profile = make_profile()
        await client.put(
            f"/v1/profiles/{profile.user_id}",
            json=profile_body(profile),
            headers=bearer(pg_keys[Scope.ADMIN]),
        )
        response = await client.post(
            "/v1/chat", json=chat_body(profile.user_id), headers=bearer(pg_keys[Scope.STOREFRONT])
        )
    assert_error(response, 503, "generation_timeout")
    assert "retry-after" in response.headers


async def test_chat_overload_from_queue_depth_is_429(shop):
    client, storefront, _, user_id, engine = shop
    engine._depth = 10_000  # the engine reports a full queue
    response = await client.post("/v1/chat", json=chat_body(user_id), headers=storefront)
    engine._depth = 0
    assert_error(response, 429, "engine_overloaded")
    assert response.headers["retry-after"] == "2"


async def test_chat_failed_write_leaves_nothing_behind(shop):
    """PostgreSQL refuses NUL characters: the reply cannot be stored, so neither the
    session nor the user's message may be, and the idempotency key is freed."""
    client, storefront, _, user_id, engine = shop
    engine.reply = "half\x00written"
    headers = {**storefront, "Idempotency-Key": "atomic-1"}
    response = await client.post("/v1/chat", json=chat_body(user_id), headers=headers)
    assert_error(response, 503, "database_unavailable")
    db = client.app.state.services.db
    async with db() as s:
        assert await s.scalar(select(func.count()).where(SessionRow.user_id == user_id)) == 0
        assert (
            await s.scalar(
                select(func.count())
                .select_from(MessageRow)
                .join(SessionRow)
                .where(SessionRow.user_id == user_id)
            )
            == 0
        )
        assert await s.scalar(select(func.count()).where(IdempotencyRow.key == "atomic-1")) == 0
    engine.reply = "All good now."
    retry = await client.post("/v1/chat", json=chat_body(user_id), headers=headers)
    assert retry.status_code == 200 and retry.json()["reply"] == "All good now."


async def test_chat_stream_failure_mid_way_sends_error_event(shop):
    client, storefront, _, user_id, engine = shop
    engine.fail_with = EngineTimeoutError("slow")
    response = await client.post("/v1/chat/stream", json=chat_body(user_id), headers=storefront)
    assert response.status_code == 200
    assert "event: error" in response.text
    assert '"code": "generation_timeout"' in response.text
    # Errors found before streaming starts are plain HTTP errors.
    early = await client.post("/v1/chat/stream", json=chat_body("ghost"), headers=storefront)
    assert_error(early, 404, "unknown_user")


async def test_chat_handoff_flag_and_prompt_holds_only_own_facts(shop):
    client, storefront, admin, user_id, engine = shop
    other = make_profile(first_name="Zed", credit_limit="9999.00")
    await client.put(f"/v1/profiles/{other.user_id}", json=profile_body(other), headers=admin)
    engine.reply = "Let me connect you with a human agent who can look into this."
    response = await client.post(
        "/v1/chat",
        json=chat_body(
            user_id,
            "I want to dispute a charge",
            context={"items": [{"title": "Pixel 9 phone", "price": "299.00"}]},
        ),
        headers=storefront,
    )
    assert response.status_code == 200 and response.json()["handoff"] is True
    system = engine.prompts[-1][0]["content"]
    assert "Ada" in system and "$1,200" in system and '"Pixel 9 phone" $299' in system
    assert "Zed" not in system and "9,999" not in system
    assert "Verdict: hand off to a person" in system  # the intent was recognised


async def test_chat_stream_stalled_engine_ends_with_timeout_event_and_frees_session(
    make_client, pg_settings, pg_keys
):
    engine = ScriptedEngine()
    async with make_client(pg_settings(MORE_GENERATION_TIMEOUT_S=0.3), engine) as client:
        profile = make_profile()
        await client.put(
            f"/v1/profiles/{profile.user_id}",
            json=profile_body(profile),
            headers=bearer(pg_keys[Scope.ADMIN]),
        )
        shop = bearer(pg_keys[Scope.STOREFRONT])
        first = await client.post("/v1/chat", json=chat_body(profile.user_id), headers=shop)
        sid = first.json()["session_id"]
        engine.gate = asyncio.Event()  # never set: the engine stalls
        body = chat_body(profile.user_id, "more?", session_id=sid)
        stalled = await client.post("/v1/chat/stream", json=body, headers=shop)
        assert "event: error" in stalled.text and "generation_timeout" in stalled.text
        engine.gate.set()
        # The session lock was released: the next turn runs.
        assert (await client.post("/v1/chat", json=body, headers=shop)).status_code == 200
