"""Outcomes, experiments and the registry on real PostgreSQL + Redis with the transformers
engine on the tiny model and a real LoRA adapter hot-loaded mid-traffic.

The PostgreSQL database is shared by the whole test session: every test leaves no
experiment running and nothing promoted, so other tests keep seeing the default policy.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from app.core.config import Settings
from app.core.security import Scope
from app.engine.base import ChatEngine
from tests.factories import chat_body, make_profile, profile_body


def _headers(keys: dict[Scope, str], scope: Scope) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys[scope]}"}


async def _session(client: httpx.AsyncClient, keys: dict[Scope, str]) -> dict:
    profile = make_profile()
    r = await client.put(
        f"/v1/profiles/{profile.user_id}",
        json=profile_body(profile),
        headers=_headers(keys, Scope.ADMIN),
    )
    assert r.status_code in (200, 201), r.text
    r = await client.post(
        "/v1/chat", json=chat_body(profile.user_id), headers=_headers(keys, Scope.STOREFRONT)
    )
    assert r.status_code == 200, r.text
    return r.json()


async def test_pg_events_idempotent_and_registry_hot_loads_a_real_adapter(
    pg_settings: Callable[..., Settings],
    pg_keys: dict[Scope, str],
    tiny_engine: ChatEngine,
    tiny_model_dir: Path,
    make_lora_adapter: Callable[..., Path],
    make_client,  # type: ignore[no-untyped-def]
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    admin, store = _headers(pg_keys, Scope.ADMIN), _headers(pg_keys, Scope.STOREFRONT)
    # the test adapters are written under pytest's temporary folder: the adapters root
    settings = pg_settings(MORE_ADAPTERS_ROOT=tmp_path_factory.getbasetemp())
    async with make_client(settings, tiny_engine) as client:
        chat = await _session(client, pg_keys)
        event = {
            "event_id": f"{chat['session_id']}:conversion",
            "type": "conversion",
            "session_id": chat["session_id"],
            "amount": "19.99",
            "currency": "USD",
        }
        results = await asyncio.gather(
            *(client.post("/v1/events", json=event, headers=store) for _ in range(8))
        )
        assert Counter(r.json()["status"] for r in results) == {"recorded": 1, "duplicate": 7}

        # Register and promote a real LoRA while generations are running.
        adapter = make_lora_adapter(tiny_model_dir, seed=7)
        name = f"pg-lora-{chat['session_id'][:8]}"
        traffic = [asyncio.create_task(_session(client, pg_keys)) for _ in range(3)]
        try:
            r = await client.post(
                "/v1/policies", json={"name": name, "adapter_path": str(adapter)}, headers=admin
            )
            assert r.status_code == 201, r.text
            r = await client.post(f"/v1/policies/{name}/promote", headers=admin)
            assert r.status_code == 200, r.text
            for reply in await asyncio.gather(*traffic):
                assert reply["reply"] is not None  # none failed during the swap
            fresh = await _session(client, pg_keys)
            assert fresh["policy_version"] == name
        finally:
            await client.post("/v1/policies/rollback", headers=admin)
        assert (await _session(client, pg_keys))["policy_version"] == chat["policy_version"]


async def test_pg_experiment_report_and_takeover(
    pg_settings: Callable[..., Settings],
    pg_keys: dict[Scope, str],
    tiny_engine: ChatEngine,
    make_client,  # type: ignore[no-untyped-def]
) -> None:
    admin, store = _headers(pg_keys, Scope.ADMIN), _headers(pg_keys, Scope.STOREFRONT)
    async with make_client(pg_settings(), tiny_engine) as client:
        base = (await _session(client, pg_keys))["policy_version"]
        for version in (base, f"{base}-twin"):
            await client.post("/v1/policies", json={"name": version}, headers=admin)
        name = f"pg-ab-{base}".lower().replace("_", "-")[:60]
        r = await client.post(
            "/v1/experiments",
            json={
                "name": name,
                "status": "running",
                "variants": [
                    {"name": "a", "weight": 1, "policy_version": base},
                    {"name": "b", "weight": 1, "policy_version": f"{base}-twin"},
                ],
            },
            headers=admin,
        )
        assert r.status_code == 201, r.text
        try:
            chats = [await _session(client, pg_keys) for _ in range(8)]
            assert {c["variant"] for c in chats} <= {"a", "b"}
            handed = chats[0]
            r = await client.post(f"/v1/sessions/{handed['session_id']}/handoff", headers=store)
            assert r.status_code == 200 and r.json()["status"] == "human"
        finally:
            await client.patch(f"/v1/experiments/{name}", json={"status": "stopped"}, headers=admin)
        report = (await client.get(f"/v1/experiments/{name}/report", headers=admin)).json()
        assert sum(report["sessions"].values()) == 8
        rates = report["variants"][handed["variant"]]["handoff_rate"]
        assert rates["value"] * report["sessions"][handed["variant"]] >= 1
