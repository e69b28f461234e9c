"""API keys over HTTP (rotate with and without a grace period, revoke) and the admin audit
trail of every admin and operator change, on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.core.security import Scope
from app.store import audit
from tests.factories import ScriptedEngine, bearer, make_profile, profile_body


@pytest.fixture
async def client(make_client, pg_settings) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    async with make_client(pg_settings(), ScriptedEngine()) as c:
        yield c


async def _entries(client: httpx.AsyncClient, storefront_id: str | None) -> list[audit.AuditEntry]:
    async with client.app.state.services.db() as db:  # type: ignore[attr-defined]
        return await audit.list_entries(db, storefront_id=storefront_id, limit=1000)


async def _new_key(client: httpx.AsyncClient, operator: dict[str, str], scopes: list[str]) -> Any:
    name = f"k-{uuid.uuid4().hex[:8]}"
    r = await client.post(
        "/v1/keys",
        json={"name": name, "storefront_id": "default", "scopes": scopes},
        headers=operator,
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_keys_rotate_with_grace_then_revoke(client: httpx.AsyncClient, pg_keys) -> None:  # type: ignore[no-untyped-def]
    operator = bearer(pg_keys[Scope.OPERATOR])
    created = await _new_key(client, operator, ["admin"])
    name, old = created["name"], created["key"]
    assert (await client.get("/v1/experiments", headers=bearer(old))).status_code == 200

    rotated = await client.post(f"/v1/keys/{name}/rotate", json={"grace_s": 600}, headers=operator)
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["key"]
    assert new != old and rotated.json()["previous_key_expires_at"] is not None
    for key in (old, new):  # both work during the grace period
        assert (await client.get("/v1/experiments", headers=bearer(key))).status_code == 200

    # No grace: the secret it had stops at once (this replica forgets its cached lookup).
    again = await client.post(f"/v1/keys/{name}/rotate", headers=operator)
    assert again.status_code == 200, again.text
    newest = again.json()["key"]
    for key in (old, new):
        assert (await client.get("/v1/experiments", headers=bearer(key))).status_code == 401
    assert (await client.get("/v1/experiments", headers=bearer(newest))).status_code == 200

    revoked = await client.delete(f"/v1/keys/{name}", headers=operator)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert (await client.get("/v1/experiments", headers=bearer(newest))).status_code == 401
    for gone in (
        await client.delete(f"/v1/keys/{name}", headers=operator),
        await client.post(f"/v1/keys/{name}/rotate", headers=operator),
    ):
        assert (gone.status_code, gone.json()["error"]["code"]) == (404, "unknown_api_key")
    listed = (await client.get("/v1/keys?storefront_id=default", headers=operator)).json()
    state = next(k for k in listed["data"] if k["name"] == name)
    assert state["revoked_at"] is not None and "key" not in state

    actions = [
        (e.action, e.actor) for e in reversed(await _entries(client, "default")) if e.target == name
    ]
    assert actions == [
        ("apikey.create", "test-operator"),
        ("apikey.rotate", "test-operator"),
        ("apikey.rotate", "test-operator"),
        ("apikey.revoke", "test-operator"),
    ]
    entries = [e for e in await _entries(client, "default") if e.target == name]
    assert all(old not in str(e.after) and new not in str(e.after) for e in entries)


async def test_audit_records_admin_and_operator_changes_with_before_and_after(
    client: httpx.AsyncClient, pg_keys
) -> None:  # type: ignore[no-untyped-def]
    admin, operator = bearer(pg_keys[Scope.ADMIN]), bearer(pg_keys[Scope.OPERATOR])
    profile = make_profile(first_name="Ada")
    url = f"/v1/profiles/{profile.user_id}"
    assert (await client.put(url, json=profile_body(profile), headers=admin)).status_code == 201
    changed = {**profile_body(profile), "credit_limit": "2000.00"}
    assert (await client.put(url, json=changed, headers=admin)).status_code == 200

    versions = [f"au-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    for version in versions:
        r = await client.post("/v1/policies", json={"name": version}, headers=operator)
        assert r.status_code == 201, r.text
    r = await client.post(f"/v1/policies/{versions[1]}/promote", headers=operator)
    assert r.status_code == 200, r.text
    name = f"au-{uuid.uuid4().hex[:8]}"
    r = await client.post(
        "/v1/experiments",
        json={
            "name": name,
            "variants": [
                {"name": "a", "weight": 1, "policy_version": versions[0]},
                {"name": "b", "weight": 1, "policy_version": versions[1]},
            ],
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    r = await client.patch(
        f"/v1/experiments/{name}", json={"weights": {"a": 1, "b": 3}}, headers=admin
    )
    assert r.status_code == 200, r.text
    r = await client.post("/v1/policies/rollback", headers=operator)
    assert r.status_code == 200, r.text

    mine = {e.target: e for e in await _entries(client, None)}
    by_target: dict[str | None, list[audit.AuditEntry]] = {}
    for entry in reversed(await _entries(client, None)):
        by_target.setdefault(entry.target, []).append(entry)

    put_created, put_changed = by_target[profile.user_id]
    assert (put_created.action, put_created.actor) == ("profile.put", "test-admin")
    assert put_created.storefront_id == "default" and put_created.before is None
    assert put_changed.before["credit_limit"] == "1500.00"
    assert put_changed.after["credit_limit"] == "2000.00"
    assert put_changed.request_id  # ties the entry to the request's logs

    registered = by_target[versions[0]][0]
    assert (registered.action, registered.actor) == ("policy.register", "test-operator")
    assert registered.storefront_id is None  # the registry is global
    assert [e.action for e in by_target[versions[1]]] == [
        "policy.register",
        "policy.promote",
        "policy.rollback",
    ]
    assert by_target[versions[1]][1].after == {"promoted": versions[1]}

    created, ramped = by_target[name]
    assert created.action == "experiment.create" and created.before is None
    assert ramped.action == "experiment.update"
    assert [v["weight"] for v in ramped.before["variants"]] == [1, 1]
    assert [v["weight"] for v in ramped.after["variants"]] == [1, 3]
    assert mine[name].storefront_id == "default"
