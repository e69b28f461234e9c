"""Tenancy across the whole route table, with two storefronts on PostgreSQL + Redis.

* Every route is in the scope table below (iterating `app.routes`: a new route cannot
  escape it); each protected one answers 401 without a key and 403 to a key without its
  scope, and lets a key with the scope through.
* Storefront B can neither read, continue, post to, hand off, export, delete nor learn
  the existence of storefront A's shoppers, sessions, events or experiments: B's answer
  for A's id equals its answer for an id that exists nowhere (status, code, message).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from app.core.security import Scope
from tests.factories import ScriptedEngine, bearer, chat_body, make_profile, profile_body

S, A, OP = Scope.STOREFRONT, Scope.ADMIN, Scope.OPERATOR
# (method, path) -> the scopes of which a key needs one; None: public.
ROUTE_SCOPES: dict[tuple[str, str], frozenset[Scope] | None] = {
    ("POST", "/v1/chat"): frozenset({S}),
    ("POST", "/v1/chat/stream"): frozenset({S}),
    ("POST", "/v1/events"): frozenset({S}),
    ("POST", "/v1/sessions/{session_id}/handoff"): frozenset({S}),
    ("PUT", "/v1/profiles/{user_id}"): frozenset({A}),
    ("GET", "/v1/profiles/{user_id}"): frozenset({A}),
    ("DELETE", "/v1/profiles/{user_id}"): frozenset({A}),
    ("GET", "/v1/profiles/{user_id}/export"): frozenset({A}),
    ("POST", "/v1/experiments"): frozenset({A}),
    ("GET", "/v1/experiments"): frozenset({A}),
    ("GET", "/v1/experiments/{name}"): frozenset({A}),
    ("PATCH", "/v1/experiments/{name}"): frozenset({A}),
    ("GET", "/v1/experiments/{name}/report"): frozenset({A}),
    ("GET", "/v1/experiments/{name}/report.png"): frozenset({A}),
    ("POST", "/v1/policies"): frozenset({OP}),
    ("GET", "/v1/policies"): frozenset({A, OP}),
    ("POST", "/v1/policies/rollback"): frozenset({OP}),
    ("GET", "/v1/policies/{name}"): frozenset({A, OP}),
    ("POST", "/v1/policies/{name}/promote"): frozenset({OP}),
    ("POST", "/v1/storefronts"): frozenset({OP}),
    ("GET", "/v1/storefronts"): frozenset({OP}),
    ("POST", "/v1/keys"): frozenset({OP}),
    ("GET", "/v1/keys"): frozenset({OP}),
    ("POST", "/v1/keys/{name}/rotate"): frozenset({OP}),
    ("DELETE", "/v1/keys/{name}"): frozenset({OP}),
    ("GET", "/healthz"): None,
    ("GET", "/readyz"): None,
    ("GET", "/metrics"): None,  # or MORE_METRICS_KEY: tests/app/api/test_shopper_data.py
    ("GET", "/widget.js"): None,
    ("GET", "/demo"): None,  # embedded mode only; 404 here
    ("POST", "/demo/chat"): None,
}
# A single-scope key of each kind, and which scopes it counts as having.
KEY_SCOPES = {S: {S}, A: {A, S}, OP: {OP}}
# Positive checks that would change shared state (a rollback) are left out.
NO_POSITIVE_CALL = {("POST", "/v1/policies/rollback")}


def _api_routes(app: Any) -> set[tuple[str, str]]:
    found = set()
    for route in app.routes:
        if isinstance(route, APIRoute):
            found.update((m, route.path) for m in route.methods if m not in ("HEAD", "OPTIONS"))
    return found


def _fill(path: str) -> str:
    # Valid for every path pattern (user ids, session ids, experiment, version, key names).
    return re.sub(r"\{[^}]+\}", "probe-1", path)


def _error(response: httpx.Response) -> tuple[int, str | None, str | None]:
    body = (
        response.json()
        if response.headers.get("content-type", "").startswith("application/json")
        else {}
    )
    error = body.get("error") or {}
    return response.status_code, error.get("code"), error.get("message")


@dataclass
class Tenant:
    id: str
    keys: dict[Scope, dict[str, str]]  # scope -> Authorization header


@pytest.fixture
async def client(make_client, pg_settings) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    settings = pg_settings(
        MORE_RATE_LIMIT_AUTH_FAILURES_PER_IP=100_000, MORE_RATE_LIMIT_ADMIN_PER_KEY=100_000
    )
    async with make_client(settings, ScriptedEngine(_reply)) as c:
        yield c


def _reply(messages: Any) -> str:
    return "Happy to help with that."


@pytest.fixture
def tenants(client: httpx.AsyncClient, pg_keys) -> Callable[[], Any]:  # type: ignore[no-untyped-def]
    operator = bearer(pg_keys[Scope.OPERATOR])

    async def make() -> Tenant:
        storefront = f"shop-{uuid.uuid4().hex[:8]}"
        r = await client.post(
            "/v1/storefronts", json={"id": storefront, "name": "Test shop"}, headers=operator
        )
        assert r.status_code == 201, r.text
        keys = {}
        for scope in (S, A, OP):
            r = await client.post(
                "/v1/keys",
                json={
                    "name": f"{storefront}-{scope.value}",
                    "storefront_id": storefront,
                    "scopes": [scope.value],
                },
                headers=operator,
            )
            assert r.status_code == 201, r.text
            keys[scope] = bearer(r.json()["key"])
        return Tenant(storefront, keys)

    return make


def test_tenancy_scope_table_covers_every_route(client: httpx.AsyncClient) -> None:
    routes = _api_routes(client.app)  # type: ignore[attr-defined]
    assert routes - set(ROUTE_SCOPES) == set(), "add new routes to ROUTE_SCOPES"
    assert set(ROUTE_SCOPES) - routes == set(), "ROUTE_SCOPES names routes that are gone"


async def test_tenancy_every_route_needs_a_key_of_the_right_scope(
    client: httpx.AsyncClient, tenants: Callable[[], Any]
) -> None:
    tenant = await tenants()
    for (method, path), needed in sorted(ROUTE_SCOPES.items()):
        url = _fill(path)
        body = {"unexpected": True} if method in ("POST", "PUT", "PATCH") else None
        if needed is None:
            response = await client.request(method, url, json=body)
            assert response.status_code not in (401, 403), (method, path, response.text)
            continue
        anonymous = await client.request(method, url, json=body)
        assert anonymous.status_code == 401, (method, path, anonymous.text)
        assert anonymous.json()["error"]["code"] == "missing_api_key"
        wrong = await client.request(
            method, url, json=body, headers={"Authorization": "Bearer nope-" + uuid.uuid4().hex}
        )
        assert wrong.status_code == 401, (method, path, wrong.text)
        for scope, has in KEY_SCOPES.items():
            response = await client.request(method, url, json=body, headers=tenant.keys[scope])
            if has & needed:
                if (method, path) not in NO_POSITIVE_CALL:
                    assert response.status_code not in (401, 403), (method, path, scope)
            else:
                assert response.status_code == 403, (method, path, scope, response.text)
                assert response.json()["error"]["code"] == "insufficient_scope"


async def _versions(client: httpx.AsyncClient, operator: dict[str, str]) -> list[str]:
    names = [f"tn-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    for name in names:
        r = await client.post("/v1/policies", json={"name": name}, headers=operator)
        assert r.status_code == 201, r.text
    return names


async def test_tenancy_storefront_b_cannot_reach_storefront_a(
    client: httpx.AsyncClient, tenants: Callable[[], Any], pg_keys
) -> None:  # type: ignore[no-untyped-def]
    a, b = await tenants(), await tenants()
    engine: ScriptedEngine = client.app.state.services.engine  # type: ignore[attr-defined]

    # Storefront A: a shopper with a session, an event and an experiment.
    shopper = make_profile(first_name="Alice")
    r = await client.put(
        f"/v1/profiles/{shopper.user_id}", json=profile_body(shopper), headers=a.keys[A]
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        "/v1/chat",
        json=chat_body(shopper.user_id, "secret-of-a: my order 7781"),
        headers={**a.keys[S], "Idempotency-Key": "shared-key"},
    )
    assert r.status_code == 200, r.text
    session_a = r.json()["session_id"]
    event_a = {
        "event_id": "ord-7781:conversion",
        "type": "conversion",
        "session_id": session_a,
        "amount": "299.00",
        "currency": "USD",
    }
    r = await client.post("/v1/events", json=event_a, headers=a.keys[S])
    assert r.status_code == 201, r.text
    versions = await _versions(client, bearer(pg_keys[Scope.OPERATOR]))
    experiment = {
        "name": "exp-a",
        "variants": [
            {"name": "control", "weight": 1, "policy_version": versions[0]},
            {"name": "treatment", "weight": 1, "policy_version": versions[1]},
        ],
    }
    r = await client.post("/v1/experiments", json=experiment, headers=a.keys[A])
    assert r.status_code == 201, r.text

    # Storefront B has a shopper of its own.
    own = make_profile(first_name="Bob")
    r = await client.put(f"/v1/profiles/{own.user_id}", json=profile_body(own), headers=b.keys[A])
    assert r.status_code == 201, r.text

    unknown_user, unknown_session = f"u-{uuid.uuid4().hex[:10]}", str(uuid.uuid4())

    async def same(make_request: Callable[[str], Any], a_id: str, unknown_id: str) -> None:
        theirs, nobody = await make_request(a_id), await make_request(unknown_id)
        assert _error(theirs) == _error(nobody), (theirs.text, nobody.text)
        assert theirs.status_code == 404, theirs.text
        assert a_id not in theirs.text

    # Shoppers: read, export, erase, chat as them.
    for method, suffix in (("GET", ""), ("GET", "/export"), ("DELETE", "")):
        await same(
            lambda uid, m=method, s=suffix: client.request(
                m, f"/v1/profiles/{uid}{s}", headers=b.keys[A]
            ),
            shopper.user_id,
            unknown_user,
        )
    for route in ("/v1/chat", "/v1/chat/stream"):
        await same(
            lambda uid, r=route: client.post(r, json=chat_body(uid), headers=b.keys[S]),
            shopper.user_id,
            unknown_user,
        )
    # Sessions: continue, post an event to, hand off.
    await same(
        lambda sid: client.post(
            "/v1/chat", json=chat_body(own.user_id, session_id=sid), headers=b.keys[S]
        ),
        session_a,
        unknown_session,
    )
    await same(
        lambda sid: client.post(
            "/v1/events",
            json={**event_a, "event_id": uuid.uuid4().hex, "session_id": sid},
            headers=b.keys[S],
        ),
        session_a,
        unknown_session,
    )
    await same(
        lambda sid: client.post(f"/v1/sessions/{sid}/handoff", headers=b.keys[A]),
        session_a,
        unknown_session,
    )
    # Experiments: read, ramp, report.
    for method, suffix, body in (
        ("GET", "", None),
        ("PATCH", "", {"status": "running"}),
        ("GET", "/report", None),
        ("GET", "/report.png", None),
    ):
        await same(
            lambda name, m=method, s=suffix, j=body: client.request(
                m, f"/v1/experiments/{name}{s}", json=j, headers=b.keys[A]
            ),
            "exp-a",
            "exp-nobody",
        )

    # Ids are per storefront: B reusing A's ids is new to B, never "exists".
    r = await client.post(
        "/v1/chat",
        json=chat_body(own.user_id, "hello"),
        headers={**b.keys[S], "Idempotency-Key": "shared-key"},
    )
    assert r.status_code == 200 and "Idempotent-Replayed" not in r.headers, r.text
    session_b = r.json()["session_id"]
    r = await client.post(
        "/v1/events", json={**event_a, "session_id": session_b}, headers=b.keys[S]
    )
    assert (r.status_code, r.json()["status"]) == (201, "recorded"), r.text
    r = await client.post("/v1/experiments", json=experiment, headers=b.keys[A])
    assert r.status_code == 201, r.text
    listed = (await client.get("/v1/experiments", headers=b.keys[A])).json()
    assert listed["count"] == 1
    # The same user id in B is B's own shopper: created (201), not "replaced" (200).
    twin = make_profile(shopper.user_id, first_name="Twin")
    r = await client.put(
        f"/v1/profiles/{shopper.user_id}", json=profile_body(twin), headers=b.keys[A]
    )
    assert r.status_code == 201, r.text
    # ...and A's session id with B's twin of the shopper is still unknown to B.
    prompts_before = len(engine.prompts)
    r = await client.post(
        "/v1/chat",
        json=chat_body(shopper.user_id, "and my order?", session_id=session_a),
        headers=b.keys[S],
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_session"
    assert len(engine.prompts) == prompts_before  # nothing of A's reached a prompt
    r = await client.post("/v1/chat", json=chat_body(shopper.user_id), headers=b.keys[S])
    assert r.status_code == 200
    prompt = " ".join(m["content"] for m in engine.prompts[-1])
    assert "Twin" in prompt and "Alice" not in prompt and "secret-of-a" not in prompt

    # A's data is untouched by all of it.
    r = await client.get(f"/v1/profiles/{shopper.user_id}", headers=a.keys[A])
    assert r.status_code == 200 and r.json()["first_name"] == "Alice"
    r = await client.post(
        "/v1/chat",
        json=chat_body(shopper.user_id, "still there?", session_id=session_a),
        headers=a.keys[S],
    )
    assert r.status_code == 200, r.text  # not handed off by B
    exported = (
        await client.get(f"/v1/profiles/{shopper.user_id}/export", headers=a.keys[A])
    ).json()
    assert [s["id"] for s in exported["sessions"]] == [session_a]
    assert [e["event_id"] for e in exported["events"]] == ["ord-7781:conversion"]
    exported_b = (
        await client.get(f"/v1/profiles/{shopper.user_id}/export", headers=b.keys[A])
    ).json()
    assert exported_b["profile"]["first_name"] == "Twin"
    assert session_a not in {s["id"] for s in exported_b["sessions"]}
    r = await client.get("/v1/experiments/exp-a", headers=a.keys[A])
    assert r.status_code == 200 and r.json()["status"] == "draft"


async def test_tenancy_operator_manages_storefronts_and_keys_without_shopper_access(
    client: httpx.AsyncClient, tenants: Callable[[], Any]
) -> None:
    tenant = await tenants()
    operator = tenant.keys[OP]
    listed = (await client.get("/v1/storefronts", headers=operator)).json()
    assert tenant.id in {s["id"] for s in listed["data"]}
    keys = (await client.get(f"/v1/keys?storefront_id={tenant.id}", headers=operator)).json()
    assert {k["name"]: k["scopes"] for k in keys["data"]} == {
        f"{tenant.id}-storefront": ["storefront"],
        f"{tenant.id}-admin": ["admin"],
        f"{tenant.id}-operator": ["operator"],
    }
    assert all("key" not in k for k in keys["data"])  # secrets are shown once only
    # An operator reaches no shopper data, of its own storefront or any other.
    r = await client.get("/v1/profiles/anyone", headers=operator)
    assert r.status_code == 403
    # Duplicates and unknown storefronts are refused clearly.
    r = await client.post(
        "/v1/storefronts", json={"id": tenant.id, "name": "again"}, headers=operator
    )
    assert (r.status_code, r.json()["error"]["code"]) == (409, "storefront_exists")
    # A boolean is not a number of seconds (the schema says integer).
    r = await client.post(
        f"/v1/keys/{tenant.id}-admin/rotate", json={"grace_s": False}, headers=operator
    )
    assert r.status_code == 422, r.text
    # A name PostgreSQL cannot store is a 422, not an outage.
    r = await client.post(
        "/v1/storefronts",
        json={"id": f"s-{uuid.uuid4().hex[:6]}", "name": "a\x00b"},
        headers=operator,
    )
    assert r.status_code == 422, r.text
    r = await client.post(
        "/v1/keys",
        json={"name": f"{tenant.id}-admin", "storefront_id": tenant.id, "scopes": ["admin"]},
        headers=operator,
    )
    assert (r.status_code, r.json()["error"]["code"]) == (409, "api_key_exists")
    r = await client.post(
        "/v1/keys",
        json={"name": f"k-{uuid.uuid4().hex[:6]}", "storefront_id": "no-such", "scopes": ["admin"]},
        headers=operator,
    )
    assert (r.status_code, r.json()["error"]["code"]) == (404, "unknown_storefront")
    assert r.json()["error"]["param"] == "storefront_id"
