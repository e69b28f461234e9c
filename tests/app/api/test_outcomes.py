"""Outcome events, human takeover and experiments through the HTTP API (embedded SQLite)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.core.config import Settings
from app.main import create_app
from app.store import experiments as repo
from app.store.migrations import upgrade
from tests.factories import ScriptedEngine, chat_body, make_profile, profile_body

STORE = {"Authorization": "Bearer demo-storefront-key"}
ADMIN = {"Authorization": "Bearer demo-admin-key"}


def _reply(messages: Any) -> str:
    text = messages[-1]["content"]
    if "human" in text:
        return "I'll connect you with a human agent now."
    return "Yes, you can pay for it in 3 or 6 instalments."


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    cfg = Settings(MORE_DATA_DIR=tmp_path_factory.mktemp("outcomes-api"))
    upgrade(cfg.database_url)
    return cfg


@pytest.fixture(scope="module")
def engine() -> ScriptedEngine:
    return ScriptedEngine(_reply)


@pytest.fixture(scope="module")
async def app(settings: Settings, engine: ScriptedEngine) -> AsyncIterator[Any]:
    application = create_app(settings, engine=engine)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="module")
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def _session(client: httpx.AsyncClient, message: str = "Can I pay in instalments?"):
    profile = make_profile()
    r = await client.put(
        f"/v1/profiles/{profile.user_id}", json=profile_body(profile), headers=ADMIN
    )
    assert r.status_code in (200, 201), r.text
    r = await client.post("/v1/chat", json=chat_body(profile.user_id, message), headers=STORE)
    assert r.status_code == 200, r.text
    return profile.user_id, r.json()


async def test_events_are_idempotent_under_retries(client: httpx.AsyncClient) -> None:
    user_id, chat = await _session(client)
    event = {
        "event_id": f"{chat['session_id']}:conversion",
        "type": "conversion",
        "session_id": chat["session_id"],
        "user_id": user_id,
        "amount": "299.00",
        "currency": "USD",
    }
    first = await client.post("/v1/events", json=event, headers=STORE)
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "recorded"
    assert first.json()["variant"] == chat["variant"]
    retries = await asyncio.gather(
        *(client.post("/v1/events", json=event, headers=STORE) for _ in range(5))
    )
    assert {r.status_code for r in retries} == {200}
    assert {r.json()["status"] for r in retries} == {"duplicate"}


async def test_events_concurrent_first_posts_count_once(client: httpx.AsyncClient) -> None:
    _, chat = await _session(client)
    event = {
        "event_id": f"{chat['session_id']}:satisfaction",
        "type": "satisfaction",
        "session_id": chat["session_id"],
        "score": 4,
    }
    results = await asyncio.gather(
        *(client.post("/v1/events", json=event, headers=STORE) for _ in range(6))
    )
    statuses = Counter(r.json()["status"] for r in results)
    assert statuses == {"recorded": 1, "duplicate": 5}


@pytest.mark.parametrize(
    ("patch", "status"),
    [
        ({"type": "satisfaction", "score": 6}, 422),
        ({"type": "satisfaction", "score": 0}, 422),
        ({"type": "conversion", "amount": "10.00", "currency": "XYZ"}, 422),
        ({"type": "conversion", "amount": "-1", "currency": "USD"}, 422),
        ({"type": "handoff", "reason": "bored"}, 422),
        ({"type": "teleport"}, 422),
        ({"type": "offer_shown", "session_id": "no-such-session"}, 404),
        ({"type": "offer_shown", "user_id": "someone-else"}, 404),
    ],
)
async def test_events_reject_bad_input(
    client: httpx.AsyncClient, patch: dict[str, Any], status: int
) -> None:
    _, chat = await _session(client)
    event = {"event_id": uuid.uuid4().hex, "session_id": chat["session_id"], **patch}
    r = await client.post("/v1/events", json=event, headers=STORE)
    assert r.status_code == status, r.text
    assert "error" in r.json()


async def test_events_need_a_key(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/events", json={})
    assert r.status_code == 401


async def test_handoff_silences_the_bot_and_is_logged_once(client: httpx.AsyncClient) -> None:
    user_id, chat = await _session(client)
    sid = chat["session_id"]
    r = await client.post(
        f"/v1/sessions/{sid}/handoff", json={"reason": "customer_request"}, headers=STORE
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "human" and not r.json()["already_handed_off"]
    again = await client.post(f"/v1/sessions/{sid}/handoff", headers=STORE)
    assert again.json()["already_handed_off"]
    silent = await client.post(
        "/v1/chat", json=chat_body(user_id, "hello?", session_id=sid), headers=STORE
    )
    assert silent.status_code == 409
    assert silent.json()["error"]["code"] == "session_handed_off"
    unknown = await client.post("/v1/sessions/nope/handoff", headers=STORE)
    assert unknown.status_code == 404


async def _register(app: Any, name: str, adapter_path: str | None) -> None:
    async with app.state.services.db() as db, db.begin():
        await repo.ensure_policy_version(
            db, name=name, base_model="scripted", adapter_path=adapter_path
        )


async def test_experiment_assigns_sticky_variants_and_hot_loads_adapters(
    app: Any, client: httpx.AsyncClient, engine: ScriptedEngine, tmp_path: Path
) -> None:
    await _register(app, "base", None)
    await _register(app, "more-v1", str(tmp_path / "more-v1"))
    body = {
        "name": "ab-sticky",
        "status": "running",
        "variants": [
            {"name": "control", "weight": 0.5, "policy_version": "base"},
            {"name": "more", "weight": 0.5, "policy_version": "more-v1"},
        ],
    }
    r = await client.post("/v1/experiments", json=body, headers=ADMIN)
    assert r.status_code == 201, r.text
    assert [v["share"] for v in r.json()["variants"]] == [0.5, 0.5]
    clash = await client.post("/v1/experiments", json={**body, "name": "other"}, headers=ADMIN)
    assert clash.status_code == 409  # one running experiment at a time

    users: dict[str, str] = {}
    for _ in range(40):
        user_id, chat = await _session(client)
        users[user_id] = chat["variant"]
        expected = "more-v1" if chat["variant"] == "more" else "base"
        assert chat["policy_version"] == expected
    assert set(users.values()) == {"control", "more"}
    assert any(a.name == "more-v1" for a in engine.added)  # loaded without a restart
    assert "more-v1" in engine.adapters_used

    # Ramp to 0/100: every assigned user keeps the variant; new users all get "more".
    r = await client.patch(
        "/v1/experiments/ab-sticky", json={"weights": {"control": 0, "more": 1}}, headers=ADMIN
    )
    assert r.status_code == 200 and r.json()["allocation_version"] == 2
    for user_id, variant in users.items():
        again = await client.post("/v1/chat", json=chat_body(user_id), headers=STORE)
        assert again.json()["variant"] == variant
    for _ in range(5):
        _, chat = await _session(client)
        assert chat["variant"] == "more"

    # Weights that miss a variant conflict with the experiment; an empty PATCH changes
    # nothing and says so.
    r = await client.patch(
        "/v1/experiments/ab-sticky", json={"weights": {"control": 1}}, headers=ADMIN
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "variant_mismatch"
    r = await client.patch("/v1/experiments/ab-sticky", json={}, headers=ADMIN)
    assert r.status_code == 200 and r.json()["allocation_version"] == 2

    r = await client.patch("/v1/experiments/ab-sticky", json={"status": "stopped"}, headers=ADMIN)
    assert r.json()["status"] == "stopped"
    _, chat = await _session(client)
    assert chat["variant"] == "default"


async def test_experiment_report_counts_outcomes_per_variant(
    app: Any, client: httpx.AsyncClient
) -> None:
    await _register(app, "base", None)
    await _register(app, "base-b", None)
    body = {
        "name": "ab-report",
        "status": "running",
        "variants": [
            {"name": "a", "weight": 1, "policy_version": "base"},
            {"name": "b", "weight": 1, "policy_version": "base-b"},
        ],
    }
    assert (await client.post("/v1/experiments", json=body, headers=ADMIN)).status_code == 201
    expected: Counter[tuple[str, str]] = Counter()
    for i in range(30):
        message = "get me a human" if i % 5 == 0 else "Can I pay in instalments?"
        _, chat = await _session(client, message)
        variant, sid = chat["variant"], chat["session_id"]
        expected[(variant, "sessions")] += 1
        expected[(variant, "handoffs")] += chat["handoff"]
        if i % 2 == 0:
            await client.post(
                "/v1/events",
                json={"event_id": f"{sid}:offer", "type": "offer_shown", "session_id": sid},
                headers=STORE,
            )
            expected[(variant, "offers")] += 1
        if i % 4 == 0:
            conversion = {
                "event_id": f"{sid}:conv",
                "type": "conversion",
                "session_id": sid,
                "amount": "50.00",
                "currency": "USD",
            }
            for _ in range(2):  # a retried conversion counts once
                await client.post("/v1/events", json=conversion, headers=STORE)
            expected[(variant, "conversions")] += 1
    await client.patch("/v1/experiments/ab-report", json={"status": "stopped"}, headers=ADMIN)

    r = await client.get("/v1/experiments/ab-report/report", headers=ADMIN)
    assert r.status_code == 200, r.text
    report = r.json()
    for variant in ("a", "b"):
        assert report["sessions"][variant] == expected[(variant, "sessions")]
        est = report["variants"][variant]
        n = expected[(variant, "sessions")]
        assert est["conversion_rate"]["value"] == pytest.approx(
            expected[(variant, "conversions")] / n
        )
        assert est["handoff_rate"]["value"] == pytest.approx(expected[(variant, "handoffs")] / n)
        assert est["reached_conversion_rate"]["n"] == expected[(variant, "offers")]
    assert report["srm"]["observed"] == {
        "a": expected[("a", "sessions")],
        "b": expected[("b", "sessions")],
    }
    assert "| b |" in report["markdown"]
    png = await client.get("/v1/experiments/ab-report/report.png", headers=ADMIN)
    assert png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"
    assert (await client.get("/v1/experiments/nope/report", headers=ADMIN)).status_code == 404
    assert (await client.get("/v1/experiments/ab-report/report", headers=STORE)).status_code == 403


async def test_experiment_rejects_bad_definitions(app: Any, client: httpx.AsyncClient) -> None:
    await _register(app, "base", None)
    one = {"name": "solo", "variants": [{"name": "a", "weight": 1, "policy_version": "base"}]}
    assert (await client.post("/v1/experiments", json=one, headers=ADMIN)).status_code == 422
    unknown = {
        "name": "ghost",
        "variants": [
            {"name": "a", "weight": 1, "policy_version": "base"},
            {"name": "b", "weight": 1, "policy_version": "never-registered"},
        ],
    }
    # Well-formed bodies that conflict with the registry or with themselves: 409, since
    # the schema cannot state these rules (Schemathesis: valid data is never a 422).
    r = await client.post("/v1/experiments", json=unknown, headers=ADMIN)
    assert r.status_code == 409 and "never-registered" in r.json()["error"]["message"]
    assert r.json()["error"]["code"] == "unknown_policy_version"
    zero = {
        "name": "zero",
        "variants": [
            {"name": "a", "weight": 0, "policy_version": "base"},
            {"name": "b", "weight": 0, "policy_version": "base"},
        ],
    }
    r = await client.post("/v1/experiments", json=zero, headers=ADMIN)
    assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_allocation"
    twins = {
        "name": "twins",
        "variants": [
            {"name": "a", "weight": 1, "policy_version": "base"},
            {"name": "a", "weight": 1, "policy_version": "base"},
        ],
    }
    r = await client.post("/v1/experiments", json=twins, headers=ADMIN)
    assert r.status_code == 409 and r.json()["error"]["code"] == "duplicate_variant_name"


async def test_metrics_expose_per_variant_outcomes(client: httpx.AsyncClient) -> None:
    _, chat = await _session(client)
    sid = chat["session_id"]
    for kind, extra in [
        ("offer_shown", {}),
        ("conversion", {"amount": "20.00", "currency": "EUR"}),
        ("handoff", {"reason": "unresolved"}),
        ("satisfaction", {"score": 5}),
    ]:
        r = await client.post(
            "/v1/events",
            json={"event_id": f"{sid}:{kind}", "type": kind, "session_id": sid, **extra},
            headers=STORE,
        )
        assert r.status_code == 201
    text = (await client.get("/metrics")).text
    variant = chat["variant"]
    for needle in [
        f'more_offers_shown_total{{variant="{variant}"}}',
        f'more_conversions_total{{variant="{variant}"}}',
        f'more_handoffs_total{{reason="unresolved",variant="{variant}"}}',
        f'more_satisfaction_score_bucket{{le="5.0",variant="{variant}"}}',
        f'more_conversion_amount_total{{currency="EUR",variant="{variant}"}}',
    ]:
        assert needle in text, needle


async def test_policy_handoff_replies_are_logged_as_events(
    app: Any, client: httpx.AsyncClient
) -> None:
    from sqlalchemy import select

    from app.store.models import EventRow

    _, chat = await _session(client, "please get me a human")
    assert chat["handoff"] is True
    async with app.state.services.db() as db:
        row = await db.scalar(
            select(EventRow).where(
                EventRow.client_event_id == f"policy-handoff:{chat['session_id']}"
            )
        )
    assert row is not None and row.type == "handoff" and row.payload["reason"] == "policy"
    assert row.variant == chat["variant"]
    text = (await client.get("/metrics")).text
    assert f'more_handoffs_total{{reason="policy",variant="{chat["variant"]}"}}' in text


async def test_experiment_srm_expectation_follows_the_ramp_history(
    app: Any, client: httpx.AsyncClient
) -> None:
    await _register(app, "base", None)
    await _register(app, "base-ramp", None)
    body = {
        "name": "ab-ramp-srm",
        "status": "running",
        "variants": [
            {"name": "c", "weight": 0.9, "policy_version": "base"},
            {"name": "t", "weight": 0.1, "policy_version": "base-ramp"},
        ],
    }
    assert (await client.post("/v1/experiments", json=body, headers=ADMIN)).status_code == 201
    try:
        for _ in range(20):
            await _session(client)
        ramp = {"weights": {"c": 0.5, "t": 0.5}}
        r = await client.patch("/v1/experiments/ab-ramp-srm", json=ramp, headers=ADMIN)
        assert r.json()["allocation_version"] == 2
        for _ in range(20):
            await _session(client)
    finally:
        await client.patch("/v1/experiments/ab-ramp-srm", json={"status": "stopped"}, headers=ADMIN)
    report = (await client.get("/v1/experiments/ab-ramp-srm/report", headers=ADMIN)).json()
    # 20 users under 90/10, then 20 under 50/50: expected shares (18 + 10) / 40 = 0.7 and
    # (2 + 10) / 40 = 0.3 of the 40 users, not the current 50/50.
    assert report["srm"]["expected"] == pytest.approx({"c": 28.0, "t": 12.0})
    assert sum(report["srm"]["observed"].values()) == 40
