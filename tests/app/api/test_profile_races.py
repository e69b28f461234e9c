"""Uniqueness races answer what a sequential client would get: of four concurrent first
PUTs of one profile, one creates it (201) and three replace it (200), never a 503."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.core.config import DEMO_ADMIN_KEY, Settings
from app.core.security import Scope
from app.store.migrations import upgrade
from tests.factories import ScriptedEngine, bearer, make_profile, profile_body, run_sync


@pytest.fixture(params=["postgresql", "sqlite"])
def race_setup(request, pg_settings, pg_keys, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "postgresql":
        return pg_settings(MORE_DB_POOL_SIZE=4), bearer(pg_keys[Scope.ADMIN])
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        DATABASE_URL=None,
        REDIS_URL=None,
        MORE_DATA_DIR=tmp_path,
        MORE_GUARD_MODE="off",
    )
    run_sync(upgrade, settings.database_url)
    return settings, bearer(DEMO_ADMIN_KEY)


async def test_profile_concurrent_first_puts_give_one_201_and_200s(make_client, race_setup):  # type: ignore[no-untyped-def]
    settings, admin = race_setup
    async with make_client(settings, ScriptedEngine()) as client:
        for _ in range(5):  # a few rounds: each is a fresh race on a new shopper
            profile = make_profile()
            url = f"/v1/profiles/{profile.user_id}"
            bodies = [{**profile_body(profile), "credit_limit": f"{1000 + i}.00"} for i in range(4)]
            responses = await asyncio.gather(
                *(client.put(url, json=body, headers=admin) for body in bodies)
            )
            statuses = sorted(r.status_code for r in responses)
            assert statuses == [200, 200, 200, 201], [r.text for r in responses]
            stored = (await client.get(url, headers=admin)).json()["credit_limit"]
            assert stored in {body["credit_limit"] for body in bodies}
