"""A shopper's data on PostgreSQL + Redis: export everything, erase it (outcome events kept
anonymised), the message retention purge, and /metrics behind MORE_METRICS_KEY."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from app.core.security import Scope
from app.services.shopper_data import purge_expired_messages
from app.store import audit
from app.store.models import EventRow, IdempotencyRow, MessageRow, SessionRow, utcnow
from tests.factories import ScriptedEngine, bearer, chat_body, make_profile, profile_body


@pytest.fixture
async def client(make_client, pg_settings) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    async with make_client(pg_settings(), ScriptedEngine()) as c:
        yield c


def _db(client: httpx.AsyncClient) -> Any:
    return client.app.state.services.db  # type: ignore[attr-defined]


async def _shopper_with_history(
    client: httpx.AsyncClient, keys: dict[Scope, str]
) -> tuple[str, list[str]]:
    """A shopper with two sessions (one turn sent with an Idempotency-Key), a conversion
    carrying an order id, a rated session with a comment, and an experiment-free past."""
    admin, shop = bearer(keys[Scope.ADMIN]), bearer(keys[Scope.STOREFRONT])
    profile = make_profile(first_name="Erin")
    r = await client.put(
        f"/v1/profiles/{profile.user_id}", json=profile_body(profile), headers=admin
    )
    assert r.status_code == 201
    sessions = []
    for n, message in enumerate(("my card ends 4242", "where is my parcel?")):
        headers = {**shop, "Idempotency-Key": f"idem-{uuid.uuid4().hex}"} if n == 0 else shop
        r = await client.post("/v1/chat", json=chat_body(profile.user_id, message), headers=headers)
        assert r.status_code == 200, r.text
        sessions.append(r.json()["session_id"])
    for event in (
        {
            "event_id": f"{profile.user_id}:ord-1",
            "type": "conversion",
            "session_id": sessions[0],
            "amount": "120.00",
            "currency": "USD",
            "order_id": "ord-1",
        },
        {
            "event_id": f"{profile.user_id}:rating",
            "type": "satisfaction",
            "session_id": sessions[1],
            "score": 2,
            "comment": "Erin here, call me on 555-0100",
        },
    ):
        r = await client.post("/v1/events", json=event, headers=shop)
        assert r.status_code == 201, r.text
    return profile.user_id, sessions


async def test_export_returns_everything_stored_about_the_shopper(
    client: httpx.AsyncClient, pg_keys
) -> None:  # type: ignore[no-untyped-def]
    user_id, sessions = await _shopper_with_history(client, pg_keys)
    r = await client.get(f"/v1/profiles/{user_id}/export", headers=bearer(pg_keys[Scope.ADMIN]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user_id"] == user_id and body["storefront_id"] == "default"
    assert body["profile"]["first_name"] == "Erin"
    assert [s["id"] for s in body["sessions"]] == sessions
    first = body["sessions"][0]["messages"]
    assert [m["role"] for m in first] == ["user", "assistant"]
    assert first[0]["content"] == "my card ends 4242"
    assert first[0]["profile_snapshot"]["first_name"] == "Erin"
    assert {e["type"] for e in body["events"]} == {"conversion", "satisfaction"}
    assert all(e["created_at"].endswith(("Z", "+00:00")) for e in body["events"])
    entry = (await _audit(client))[0]
    assert (entry.action, entry.target, entry.actor) == ("profile.export", user_id, "test-admin")

    r = await client.get("/v1/profiles/nobody-here/export", headers=bearer(pg_keys[Scope.ADMIN]))
    assert (r.status_code, r.json()["error"]["code"]) == (404, "unknown_user")


async def _audit(client: httpx.AsyncClient) -> list[audit.AuditEntry]:
    async with _db(client)() as db:
        return await audit.list_entries(db, storefront_id="default", limit=50)


async def test_delete_erases_the_shopper_and_keeps_anonymous_outcomes(
    client: httpx.AsyncClient, pg_keys
) -> None:  # type: ignore[no-untyped-def]
    admin, shop = bearer(pg_keys[Scope.ADMIN]), bearer(pg_keys[Scope.STOREFRONT])
    user_id, sessions = await _shopper_with_history(client, pg_keys)
    async with _db(client)() as db:
        event_ids = list(
            await db.scalars(
                select(EventRow.id).where(EventRow.session_id.in_(sessions)).order_by(EventRow.id)
            )
        )
        stored_replies = await db.scalar(
            select(func.count())
            .select_from(IdempotencyRow)
            .where(IdempotencyRow.response["session_id"].as_string().in_(sessions))
        )
    assert stored_replies == 1  # the turn sent with an Idempotency-Key

    r = await client.delete(f"/v1/profiles/{user_id}", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "user_id": user_id,
        "profile": True,
        "sessions": 2,
        "messages": 4,
        "events_anonymised": 2,
        "assignments": 0,
    }

    # Gone from the API...
    for method, path in (("GET", ""), ("GET", "/export"), ("DELETE", "")):
        r = await client.request(method, f"/v1/profiles/{user_id}{path}", headers=admin)
        assert (r.status_code, r.json()["error"]["code"]) == (404, "unknown_user")
    r = await client.post(
        "/v1/chat", json=chat_body(user_id, "hi", session_id=sessions[0]), headers=shop
    )
    assert r.status_code == 404
    # ...and from the database: no message, session or stored reply; events anonymous.
    async with _db(client)() as db:
        messages = await db.scalar(
            select(func.count()).select_from(MessageRow).where(MessageRow.session_id.in_(sessions))
        )
        left = await db.scalar(
            select(func.count()).select_from(SessionRow).where(SessionRow.id.in_(sessions))
        )
        replies = await db.scalar(
            select(func.count())
            .select_from(IdempotencyRow)
            .where(IdempotencyRow.response["session_id"].as_string().in_(sessions))
        )
        events = list(
            await db.scalars(
                select(EventRow).where(EventRow.id.in_(event_ids)).order_by(EventRow.id)
            )
        )
    assert (messages, left, replies) == (0, 0, 0)
    assert [(e.type, e.user_id, e.session_id) for e in events] == [
        ("conversion", None, None),
        ("satisfaction", None, None),
    ]
    assert events[0].payload == {"amount": "120.00", "currency": "USD"}
    assert events[1].payload == {"score": 2}
    assert all(e.client_event_id == f"erased:{e.id}" for e in events)
    assert events[0].variant is not None  # still counted per variant
    # The audit keeps who did what, without the erased person's data.
    entries = [e for e in await _audit(client) if e.target == user_id]
    assert entries[0].action == "profile.erase" and entries[0].before["messages"] == 4
    puts = [e for e in entries if e.action == "profile.put"]
    assert puts and all(e.before is None and e.after is None for e in puts)


async def test_retention_purges_old_messages_only(client: httpx.AsyncClient, pg_keys) -> None:  # type: ignore[no-untyped-def]
    _, sessions = await _shopper_with_history(client, pg_keys)
    async with _db(client)() as db, db.begin():
        await db.execute(
            update(MessageRow)
            .where(MessageRow.session_id == sessions[0])
            .values(created_at=utcnow() - timedelta(days=31))
        )
    assert await purge_expired_messages(_db(client), retention_days=30) >= 2
    async with _db(client)() as db:
        kept = dict(
            (
                await db.execute(
                    select(MessageRow.session_id, func.count())
                    .where(MessageRow.session_id.in_(sessions))
                    .group_by(MessageRow.session_id)
                )
            ).all()
        )
        sessions_left = await db.scalar(
            select(func.count()).select_from(SessionRow).where(SessionRow.id.in_(sessions))
        )
    assert kept == {sessions[1]: 2}  # the recent session keeps its messages
    assert sessions_left == 2  # sessions and outcomes stay for the A/B reports


async def test_retention_setting_purges_at_startup(
    make_client, pg_settings, client: httpx.AsyncClient, pg_keys
) -> None:  # type: ignore[no-untyped-def]
    _, sessions = await _shopper_with_history(client, pg_keys)
    async with _db(client)() as db, db.begin():
        await db.execute(
            update(MessageRow)
            .where(MessageRow.session_id.in_(sessions))
            .values(created_at=utcnow() - timedelta(days=8))
        )
    async with make_client(pg_settings(MORE_MESSAGE_RETENTION_DAYS=7), ScriptedEngine()) as other:
        for _ in range(100):  # the purge task runs right after startup
            async with _db(other)() as db:
                left = await db.scalar(
                    select(func.count())
                    .select_from(MessageRow)
                    .where(MessageRow.session_id.in_(sessions))
                )
            if left == 0:
                break
            await asyncio.sleep(0.05)
    assert left == 0


async def test_metrics_behind_a_key_when_configured(make_client, pg_settings) -> None:  # type: ignore[no-untyped-def]
    async with make_client(pg_settings(), ScriptedEngine()) as open_client:
        assert (await open_client.get("/metrics")).status_code == 200
    secret = f"metrics-{uuid.uuid4().hex}"
    async with make_client(pg_settings(MORE_METRICS_KEY=secret), ScriptedEngine()) as client:
        anonymous = await client.get("/metrics")
        assert (anonymous.status_code, anonymous.json()["error"]["code"]) == (
            401,
            "missing_api_key",
        )
        assert anonymous.headers["WWW-Authenticate"] == "Bearer"
        wrong = await client.get("/metrics", headers=bearer("not-it"))
        assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "invalid_api_key")
        scraped = await client.get("/metrics", headers=bearer(secret))
        assert scraped.status_code == 200 and "more_http_requests_total" in scraped.text


async def test_export_and_erase_on_the_embedded_database(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from app.core.config import Settings
    from app.main import create_app
    from app.store.migrations import upgrade
    from tests.factories import run_sync

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        DATABASE_URL=None,
        REDIS_URL=None,
        MORE_DATA_DIR=tmp_path,
        MORE_GUARD_MODE="off",
        MORE_PROMPT_VERDICT=False,
    )
    run_sync(upgrade, settings.database_url)
    app = create_app(settings=settings, engine=ScriptedEngine())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            client.app = app  # type: ignore[attr-defined]
            keys = {Scope.ADMIN: "demo-admin-key", Scope.STOREFRONT: "demo-storefront-key"}
            user_id, sessions = await _shopper_with_history(client, keys)
            admin = bearer(keys[Scope.ADMIN])
            exported = await client.get(f"/v1/profiles/{user_id}/export", headers=admin)
            assert exported.status_code == 200, exported.text
            body = exported.json()
            # SQLite hands back naive times: the export still states them in UTC.
            stamps = [m["created_at"] for s in body["sessions"] for m in s["messages"]]
            assert stamps and all(t.endswith(("Z", "+00:00")) for t in stamps)
            erased = await client.delete(f"/v1/profiles/{user_id}", headers=admin)
            assert erased.status_code == 200 and erased.json()["messages"] == 4, erased.text
            async with _db(client)() as db:
                replies = await db.scalar(
                    select(func.count())
                    .select_from(IdempotencyRow)
                    .where(IdempotencyRow.response["session_id"].as_string().in_(sessions))
                )
                left = await db.scalar(
                    select(func.count())
                    .select_from(MessageRow)
                    .where(MessageRow.session_id.in_(sessions))
                )
            assert (replies, left) == (0, 0)
