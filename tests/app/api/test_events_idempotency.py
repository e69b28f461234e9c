"""Outcome event ids on PostgreSQL: idempotent per storefront with a payload hash, and the
service's own ids (`takeover:<session>`, `policy-handoff:<session>`) in a namespace no
client can write."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.core.security import Scope
from app.store.models import EventRow
from tests.factories import ScriptedEngine, bearer, chat_body, make_profile, profile_body


@pytest.fixture
async def client(make_client, pg_settings) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    def reply(messages: Any) -> str:
        if "human" in messages[-1]["content"]:
            return "I'll connect you with a human agent now."
        return "Happy to help with that."

    async with make_client(pg_settings(), ScriptedEngine(reply)) as c:
        yield c


async def _session(client: httpx.AsyncClient, keys: dict[Scope, str], message: str = "hi") -> str:
    profile = make_profile()
    r = await client.put(
        f"/v1/profiles/{profile.user_id}",
        json=profile_body(profile),
        headers=bearer(keys[Scope.ADMIN]),
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        "/v1/chat", json=chat_body(profile.user_id, message), headers=bearer(keys[Scope.STOREFRONT])
    )
    assert r.status_code == 200, r.text
    return str(r.json()["session_id"])


async def _events(client: httpx.AsyncClient, session_id: str) -> list[tuple[str, str, str]]:
    async with client.app.state.services.db() as db:  # type: ignore[attr-defined]
        rows = await db.execute(
            select(EventRow.origin, EventRow.client_event_id, EventRow.type)
            .where(EventRow.session_id == session_id)
            .order_by(EventRow.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_event_same_id_same_body_is_a_duplicate_another_body_a_conflict(
    client: httpx.AsyncClient, pg_keys
) -> None:  # type: ignore[no-untyped-def]
    shop = bearer(pg_keys[Scope.STOREFRONT])
    session_id = await _session(client, pg_keys)
    event = {
        "event_id": f"ord-{uuid.uuid4().hex[:6]}",
        "type": "conversion",
        "session_id": session_id,
        "amount": "299.00",
        "currency": "USD",
    }
    first, *retries = await asyncio.gather(
        *(client.post("/v1/events", json=event, headers=shop) for _ in range(4))
    )
    statuses = sorted([first.status_code, *(r.status_code for r in retries)])
    assert statuses == [200, 200, 200, 201], [r.text for r in (first, *retries)]

    changed = await client.post("/v1/events", json={**event, "amount": "999999.00"}, headers=shop)
    assert changed.status_code == 409, changed.text
    error = changed.json()["error"]
    assert (error["code"], error["param"]) == ("event_id_reused", "event_id")
    # A different type under the same id is a different body too.
    other = await client.post(
        "/v1/events",
        json={"event_id": event["event_id"], "type": "offer_shown", "session_id": session_id},
        headers=shop,
    )
    assert other.status_code == 409
    # Nothing was overwritten: one event, the first body.
    assert await _events(client, session_id) == [("client", event["event_id"], "conversion")]
    again = await client.post("/v1/events", json=event, headers=shop)
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")


async def test_event_ids_of_the_service_are_out_of_reach_of_clients(
    client: httpx.AsyncClient, pg_keys
) -> None:  # type: ignore[no-untyped-def]
    shop = bearer(pg_keys[Scope.STOREFRONT])
    session_id = await _session(client, pg_keys)
    # A client taking the server's id first gets its own event, in its namespace...
    taken = {
        "event_id": f"takeover:{session_id}",
        "type": "handoff",
        "session_id": session_id,
        "reason": "other",
    }
    r = await client.post("/v1/events", json=taken, headers=shop)
    assert (r.status_code, r.json()["status"]) == (201, "recorded"), r.text
    # ...and the takeover still records the service's own event and silences the bot.
    r = await client.post(f"/v1/sessions/{session_id}/handoff", headers=shop)
    assert r.status_code == 200 and not r.json()["already_handed_off"], r.text
    assert await _events(client, session_id) == [
        ("client", f"takeover:{session_id}", "handoff"),
        ("server", f"takeover:{session_id}", "handoff"),
    ]
    # The reverse order too: a reply that hands off writes its server event first.
    handed = await _session(client, pg_keys, "I want a human please")
    r = await client.post(
        "/v1/events",
        json={
            "event_id": f"policy-handoff:{handed}",
            "type": "handoff",
            "session_id": handed,
            "reason": "customer_request",
        },
        headers=shop,
    )
    assert (r.status_code, r.json()["status"]) == (201, "recorded"), r.text
    assert await _events(client, handed) == [
        ("server", f"policy-handoff:{handed}", "handoff"),
        ("client", f"policy-handoff:{handed}", "handoff"),
    ]
