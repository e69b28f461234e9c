"""A row held locked by another client (a stuck transaction, a crashed worker whose
connection lingers) costs a request at most `MORE_DB_LOCK_TIMEOUT_S`: it answers 503 with
Retry-After and a message that says why, and the row works again once released."""

from __future__ import annotations

import asyncio

import asyncpg
from sqlalchemy.engine import make_url

from app.core.security import Scope
from tests.factories import ScriptedEngine, bearer, make_profile, profile_body


async def _connect(pg_url: str) -> asyncpg.Connection:
    url = make_url(pg_url)
    return await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, database=url.database
    )


async def test_a_row_locked_elsewhere_answers_503_within_the_lock_timeout(
    make_client, pg_settings, pg_keys, pg_url
) -> None:  # type: ignore[no-untyped-def]
    admin = bearer(pg_keys[Scope.ADMIN])
    profile = make_profile()
    url = f"/v1/profiles/{profile.user_id}"
    settings = pg_settings(MORE_DB_LOCK_TIMEOUT_S=0.3)
    async with make_client(settings, ScriptedEngine()) as client:
        assert (await client.put(url, json=profile_body(profile), headers=admin)).status_code == 201

        other = await _connect(pg_url)
        try:
            locked = other.transaction()
            await locked.start()
            await other.execute(
                "SELECT 1 FROM profiles WHERE user_id = $1 FOR UPDATE", profile.user_id
            )
            # Far past the lock timeout: a hang here is the failure this test guards.
            response = await asyncio.wait_for(
                client.put(url, json=profile_body(profile), headers=admin), timeout=30
            )
            await locked.rollback()
        finally:
            await other.close()

        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "database_unavailable"
        assert "busy" in response.json()["error"]["message"]
        assert response.headers["Retry-After"] == "5"

        again = await client.put(url, json=profile_body(profile), headers=admin)
        assert again.status_code == 200, again.text
