"""The request gate: body-size cap and authentication before the body is read, rate limits
on every route family and on failed authentications, and a per-shopper chat limit."""

from __future__ import annotations

from typing import Any

import pytest

from app.core.security import Scope
from tests.factories import ScriptedEngine, bearer, chat_body, make_profile, profile_body


def assert_error(response: Any, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    return body["error"]


async def _asgi(
    app: Any, method: str, path: str, headers: dict[str, str], chunks: list[bytes]
) -> tuple[int, dict[str, str], int]:
    """Call the app directly: (status, headers, body chunks it pulled from the client)."""
    pulled = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal pulled
        if pulled < len(chunks):
            pulled += 1
            return {
                "type": "http.request",
                "body": chunks[pulled - 1],
                "more_body": pulled < len(chunks),
            }
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("10.9.8.7", 5555),
        "server": ("test", 80),
        "app": app,
    }
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    response_headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], response_headers, pulled


async def test_gate_refuses_large_and_unauthenticated_bodies_without_reading_them(
    make_client, pg_settings, pg_keys
) -> None:  # type: ignore[no-untyped-def]
    settings = pg_settings(MORE_MAX_BODY_BYTES=4096)
    async with make_client(settings, ScriptedEngine()) as client:
        app = client.app  # type: ignore[attr-defined]
        eight_mb = str(8 * 2**20)
        shop = bearer(pg_keys[Scope.STOREFRONT])
        # Unauthenticated 8 MB body: refused on its headers, not a byte read.
        for headers in ({}, bearer("not-a-key")):
            status, _, pulled = await _asgi(
                app, "POST", "/v1/chat", {**headers, "content-length": eight_mb}, [b"{}"]
            )
            assert (status, pulled) in {(401, 0), (413, 0)}
        status, _, pulled = await _asgi(
            app, "POST", "/v1/chat", {"content-type": "application/json"}, [b"x" * 100]
        )
        assert (status, pulled) == (401, 0)
        # Authenticated but declared too large: 413 without reading.
        status, _, pulled = await _asgi(
            app, "POST", "/v1/chat", {**shop, "content-length": eight_mb}, [b"{}"]
        )
        assert (status, pulled) == (413, 0)
        # A chunked body with no length: read only until it passes the cap.
        chunks = [b"x" * 1024] * 64
        status, _, pulled = await _asgi(app, "POST", "/v1/chat", shop, chunks)
        assert status == 413 and pulled == 5

        big = {"user_id": "u-1", "message": "x" * 4000, "context": {"items": []}}
        err = assert_error(
            await client.post("/v1/chat", json={**big, "pad": "y" * 5000}, headers=shop),
            413,
            "payload_too_large",
        )
        assert "4096 bytes" in err["message"]
        missing = await client.post("/v1/chat", json=chat_body("u-1"))
        assert_error(missing, 401, "missing_api_key")
        assert missing.headers["www-authenticate"] == "Bearer"


async def test_gate_rate_limits_each_route_family_per_key(make_client, pg_settings, pg_keys):  # type: ignore[no-untyped-def]
    settings = pg_settings(MORE_RATE_LIMIT_ADMIN_PER_KEY=3, MORE_RATE_LIMIT_EVENTS_PER_KEY=1)
    async with make_client(settings, ScriptedEngine()) as client:
        admin, shop = bearer(pg_keys[Scope.ADMIN]), bearer(pg_keys[Scope.STOREFRONT])
        profile = make_profile()
        put = await client.put(
            f"/v1/profiles/{profile.user_id}", json=profile_body(profile), headers=admin
        )
        assert put.status_code == 201
        reads = [
            await client.get(f"/v1/profiles/{profile.user_id}", headers=admin) for _ in range(3)
        ]
        assert [r.status_code for r in reads] == [200, 200, 429]
        err = assert_error(reads[-1], 429, "rate_limited")
        assert "API key" in err["message"] and 1 <= int(reads[-1].headers["retry-after"]) <= 60
        # Other families keep their own budgets, for the same key too.
        chat = await client.post("/v1/chat", json=chat_body(profile.user_id), headers=admin)
        assert chat.status_code == 200, chat.text
        session_id = chat.json()["session_id"]
        event = {"event_id": "e-1", "type": "offer_shown", "session_id": session_id}
        assert (await client.post("/v1/events", json=event, headers=shop)).status_code == 201
        again = await client.post("/v1/events", json={**event, "event_id": "e-2"}, headers=shop)
        assert_error(again, 429, "rate_limited")
        handoff = await client.post(f"/v1/sessions/{session_id}/handoff", headers=shop)
        assert_error(handoff, 429, "rate_limited")  # the events family


async def test_gate_throttles_an_address_that_keeps_failing_authentication(
    make_client, pg_settings, pg_keys
) -> None:  # type: ignore[no-untyped-def]
    settings = pg_settings(MORE_RATE_LIMIT_AUTH_FAILURES_PER_IP=3)
    async with make_client(settings, ScriptedEngine()) as client:
        guesses = [
            await client.get("/v1/experiments", headers=bearer(f"guess-{i}")) for i in range(3)
        ]
        assert [r.status_code for r in guesses] == [401, 401, 401]
        # Past the budget even a valid key from that address waits: keys are never checked.
        blocked = await client.get("/v1/experiments", headers=bearer(pg_keys[Scope.ADMIN]))
        err = assert_error(blocked, 429, "rate_limited")
        assert "client address" in err["message"] and int(blocked.headers["retry-after"]) >= 1
        # Unauthenticated routes are not affected.
        assert (await client.get("/healthz")).status_code == 200


async def test_gate_per_shopper_chat_limit_inside_a_key(make_client, pg_settings, pg_keys):  # type: ignore[no-untyped-def]
    settings = pg_settings(MORE_RATE_LIMIT_PER_USER=2)
    async with make_client(settings, ScriptedEngine()) as client:
        admin, shop = bearer(pg_keys[Scope.ADMIN]), bearer(pg_keys[Scope.STOREFRONT])
        ada, bob = make_profile(), make_profile()
        for profile in (ada, bob):
            await client.put(
                f"/v1/profiles/{profile.user_id}", json=profile_body(profile), headers=admin
            )
        statuses = [
            (await client.post("/v1/chat", json=chat_body(ada.user_id), headers=shop)).status_code
            for _ in range(3)
        ]
        assert statuses == [200, 200, 429]
        bob_chat = await client.post("/v1/chat", json=chat_body(bob.user_id), headers=shop)
        assert bob_chat.status_code == 200


def _matches(template: str, path: str) -> bool:
    parts, wanted = template.split("/"), path.split("/")
    return len(parts) == len(wanted) and all(
        p == w or (p.startswith("{") and p.endswith("}"))
        for p, w in zip(parts, wanted, strict=True)
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/v1/profiles/someone"), ("DELETE", "/v1/chat"), ("PUT", "/v1/experiments")],
)
async def test_gate_405_lists_every_method_of_the_path(
    make_client, pg_settings, pg_keys, method: str, path: str
) -> None:  # type: ignore[no-untyped-def]
    async with make_client(pg_settings(), ScriptedEngine()) as client:
        response = await client.request(method, path, headers=bearer(pg_keys[Scope.ADMIN]))
        assert_error(response, 405, "method_not_allowed")
        spec = (await client.get("/openapi.json")).json()["paths"]
        template = next(t for t in spec if _matches(t, path))
        documented = {m.upper() for m in spec[template]}
        assert set(response.headers["allow"].split(", ")) == documented
