"""Policy registry: register (hot-load), promote and roll back, while requests are in flight."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.core.config import Settings
from app.engine.adapters import validate_adapter
from app.engine.base import Adapter
from app.main import create_app
from app.store.migrations import upgrade
from tests.factories import ScriptedEngine, chat_body, make_profile, profile_body

STORE = {"Authorization": "Bearer demo-storefront-key"}
ADMIN = {"Authorization": "Bearer demo-admin-key"}


class ValidatingEngine(ScriptedEngine):
    """Scripted replies, but adapters are checked like the real backends check them."""

    async def add_adapter(self, adapter: Adapter) -> None:
        validate_adapter(adapter, max_rank=64)
        await super().add_adapter(adapter)


def _adapter_folder(path: Path) -> str:
    path.mkdir(parents=True)
    (path / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 8}))
    (path / "adapter_model.safetensors").write_bytes(b"weights")
    return str(path)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    # Every test's tmp_path lies under the base temp folder: the adapters root here.
    cfg = Settings(
        MORE_DATA_DIR=tmp_path_factory.mktemp("policies-api"),
        MORE_ADAPTERS_ROOT=tmp_path_factory.getbasetemp(),
    )
    upgrade(cfg.database_url)
    return cfg


@pytest.fixture(scope="module")
def engine() -> ValidatingEngine:
    return ValidatingEngine("Sure, happy to help.")


@pytest.fixture(scope="module")
async def client(settings: Settings, engine: ValidatingEngine) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, engine=engine)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


async def _user(client: httpx.AsyncClient) -> str:
    profile = make_profile()
    r = await client.put(
        f"/v1/profiles/{profile.user_id}", json=profile_body(profile), headers=ADMIN
    )
    assert r.status_code in (200, 201)
    return profile.user_id


async def _chat(client: httpx.AsyncClient, user_id: str, **extra: Any) -> dict[str, Any]:
    r = await client.post("/v1/chat", json=chat_body(user_id, **extra), headers=STORE)
    assert r.status_code == 200, r.text
    return r.json()


async def test_registry_hot_loads_and_promotes_while_requests_are_in_flight(
    client: httpx.AsyncClient, engine: ValidatingEngine, tmp_path: Path
) -> None:
    user_id = await _user(client)
    before = await _chat(client, user_id)
    default_version = before["policy_version"]

    # Hold a generation in flight, then register and promote a new version meanwhile.
    engine.gate = asyncio.Event()
    engine.started.clear()
    in_flight = asyncio.create_task(_chat(client, await _user(client)))
    await engine.started.wait()
    r = await client.post(
        "/v1/policies",
        json={
            "name": "more-v2",
            "adapter_path": _adapter_folder(tmp_path / "more-v2"),
            "metrics": {"constraint_satisfaction": 0.97},
        },
        headers=ADMIN,
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "registered"
    assert any(a.name == "more-v2" for a in engine.added)  # loaded now, no restart
    r = await client.post("/v1/policies/more-v2/promote", headers=ADMIN)
    assert r.status_code == 200 and r.json()["status"] == "promoted"
    engine.gate.set()
    engine.gate = None
    assert (await in_flight)["policy_version"] == default_version  # started before

    fresh = await _chat(client, await _user(client))
    assert fresh["policy_version"] == "more-v2" and fresh["variant"] == "default"
    assert engine.adapters_used[-1] == "more-v2"
    # An existing session keeps the policy it started with.
    again = await _chat(client, user_id, session_id=before["session_id"])
    assert again["policy_version"] == default_version

    # Roll back: the configured default serves new sessions again.
    r = await client.post("/v1/policies/rollback", headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["withdrawn"]["status"] == "rolled_back" and r.json()["promoted"] is None
    assert (await _chat(client, await _user(client)))["policy_version"] == default_version
    r = await client.post("/v1/policies/rollback", headers=ADMIN)
    assert r.status_code == 409


async def test_registry_rollback_walks_back_the_promotion_history(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    for name in ("hist-a", "hist-b", "hist-c"):
        r = await client.post(
            "/v1/policies",
            json={"name": name, "adapter_path": _adapter_folder(tmp_path / name)},
            headers=ADMIN,
        )
        assert r.status_code == 201, r.text
        assert (await client.post(f"/v1/policies/{name}/promote", headers=ADMIN)).status_code == 200
    first = (await client.post("/v1/policies/rollback", headers=ADMIN)).json()
    assert (first["withdrawn"]["name"], first["promoted"]["name"]) == ("hist-c", "hist-b")
    second = (await client.post("/v1/policies/rollback", headers=ADMIN)).json()
    assert (second["withdrawn"]["name"], second["promoted"]["name"]) == ("hist-b", "hist-a")
    listed = (await client.get("/v1/policies", headers=ADMIN)).json()
    statuses = {p["name"]: p["status"] for p in listed["data"]}
    assert statuses["hist-a"] == "promoted" and statuses["hist-c"] == "rolled_back"
    await client.post("/v1/policies/rollback", headers=ADMIN)  # back to the default


async def test_registry_refuses_broken_adapters_and_duplicates(
    client: httpx.AsyncClient, engine: ValidatingEngine, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    r = await client.post(
        "/v1/policies", json={"name": "broken", "adapter_path": str(empty)}, headers=ADMIN
    )
    assert r.status_code == 422 and "adapter_config.json" in r.json()["error"]["message"]
    assert str(tmp_path) not in r.text  # no absolute server path in an error
    assert (await client.get("/v1/policies/broken", headers=ADMIN)).status_code == 404
    ok = {"name": "dup-v1", "adapter_path": _adapter_folder(tmp_path / "dup")}
    assert (await client.post("/v1/policies", json=ok, headers=ADMIN)).status_code == 201
    assert (await client.post("/v1/policies", json=ok, headers=ADMIN)).status_code == 409
    assert (await client.post("/v1/policies/ghost/promote", headers=ADMIN)).status_code == 404
    assert (await client.post("/v1/policies", json=ok, headers=STORE)).status_code == 403


async def test_registry_confines_adapter_paths_to_the_adapters_root(
    client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    root = settings.MORE_ADAPTERS_ROOT.resolve()
    inside = Path(_adapter_folder(tmp_path / "inside"))
    relative = str(inside.resolve().relative_to(root))
    r = await client.post(
        "/v1/policies", json={"name": "confined-v1", "adapter_path": relative}, headers=ADMIN
    )
    assert r.status_code == 201, r.text
    assert r.json()["adapter_path"] == str(inside.resolve())

    outside = Path("/tmp") / f"more-outside-{tmp_path.name}"  # never created: only its name
    link = tmp_path / "link-out"
    link.symlink_to("/etc")
    for escape in (str(outside), "../../../../../../etc", str(link), "/etc/passwd"):
        r = await client.post(
            "/v1/policies", json={"name": "escape-v1", "adapter_path": escape}, headers=ADMIN
        )
        assert r.status_code == 422, (escape, r.text)
        error = r.json()["error"]
        assert error["param"] == "adapter_path" and "MORE_ADAPTERS_ROOT" in error["message"]
        assert str(root) not in r.text and "/etc" not in error["message"]
    assert (await client.get("/v1/policies/escape-v1", headers=ADMIN)).status_code == 404
