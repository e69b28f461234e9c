"""PUT/GET /v1/profiles/{user_id} (admin scope) on PostgreSQL."""

from __future__ import annotations

import pytest

from app.core.security import Scope
from tests.factories import ScriptedEngine, bearer, chat_body, make_profile, profile_body


async def test_profiles_create_update_read_roundtrip(make_client, pg_settings, pg_keys):
    admin = bearer(pg_keys[Scope.ADMIN])
    engine = ScriptedEngine()
    async with make_client(pg_settings(MORE_PROFILE_CACHE_TTL_S=300), engine) as client:
        profile = make_profile(credit_limit="1000.10", outstanding_balance="0.05")
        url = f"/v1/profiles/{profile.user_id}"
        created = await client.put(url, json=profile_body(profile), headers=admin)
        assert created.status_code == 201
        assert created.json()["available_credit"] == "1000.05"

        # Prime the profile cache through a chat turn, then update: the next turn must
        # see the new facts (this replica's own update invalidates its cache).
        shop = bearer(pg_keys[Scope.STOREFRONT])
        await client.post("/v1/chat", json=chat_body(profile.user_id), headers=shop)
        update = {**profile_body(profile), "credit_limit": "2500.00", "first_name": "Grace"}
        updated = await client.put(url, json=update, headers=admin)
        assert updated.status_code == 200
        await client.post("/v1/chat", json=chat_body(profile.user_id), headers=shop)
        assert "Grace" in engine.prompts[-1][0]["content"]
        assert "$2,500" in engine.prompts[-1][0]["content"]

        read = await client.get(url, headers=admin)
        assert read.status_code == 200
        body = read.json()
        assert body["user_id"] == profile.user_id
        assert body["first_name"] == "Grace" and body["credit_limit"] == "2500.00"
        assert body["membership_tier"] == "gold"


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"currency": "usd"}, "currency"),
        ({"currency": "CHF"}, None),  # well-formed but unsupported: the domain check
        ({"credit_limit": "-1"}, "credit_limit"),
        ({"credit_limit": "1.001"}, "credit_limit"),
        ({"region": "usa"}, "region"),
        ({"account_standing": "great"}, "account_standing"),
        ({"first_name": "a\x00b"}, "first_name"),
        ({"user_id": "in-body"}, "user_id"),
    ],
)
async def test_profiles_invalid_body_is_422(make_client, pg_settings, pg_keys, change, param):
    async with make_client(pg_settings(), ScriptedEngine()) as client:
        profile = make_profile()
        response = await client.put(
            f"/v1/profiles/{profile.user_id}",
            json={**profile_body(profile), **change},
            headers=bearer(pg_keys[Scope.ADMIN]),
        )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    if param:
        assert error["param"] == param


async def test_profiles_unknown_user_is_404(make_client, pg_settings, pg_keys):
    async with make_client(pg_settings(), ScriptedEngine()) as client:
        response = await client.get("/v1/profiles/nobody", headers=bearer(pg_keys[Scope.ADMIN]))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_user"
