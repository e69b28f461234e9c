"""Seeding the service's logs through its public API (chat turns and outcome events)."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import httpx

from app.domain.profile import Profile, StorefrontContext
from app.domain.references import Turn, reference_replies
from app.domain.rules import Intent, decide

STORE = {"Authorization": "Bearer demo-storefront-key"}
ADMIN = {"Authorization": "Bearer demo-admin-key"}


def correct_reply(profile: Profile, context: StorefrontContext, intent: Intent) -> str:
    """A gold reference for the turn: passes every reasoning function by construction."""
    decision = decide(profile, context, intent)
    turn = Turn(intent, profile, context, decision)
    return reference_replies(turn, random.Random(0), k=1)[0]


async def put_profile(client: httpx.AsyncClient, profile: Profile) -> None:
    body = profile.model_dump(mode="json")
    body.pop("user_id")
    r = await client.put(f"/v1/profiles/{profile.user_id}", json=body, headers=ADMIN)
    assert r.status_code in (200, 201), r.text


async def chat(
    client: httpx.AsyncClient,
    user_id: str,
    message: str,
    context: StorefrontContext | None = None,
    session_id: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"user_id": user_id, "message": message}
    if context is not None:
        body["context"] = context.model_dump(mode="json")
    if session_id is not None:
        body["session_id"] = session_id
    r = await client.post("/v1/chat", json=body, headers=STORE)
    assert r.status_code == 200, r.text
    return r.json()


async def event(client: httpx.AsyncClient, session_id: str, kind: str, **fields: Any) -> None:
    body = {"event_id": f"{session_id}:{kind}", "session_id": session_id, "type": kind, **fields}
    r = await client.post("/v1/events", json=body, headers=STORE)
    assert r.status_code == 201, r.text


PHONE = StorefrontContext(
    product_id="sku-0042", items=[{"title": "Pixel 9 phone", "price": Decimal("299.00")}]
)
