"""Personal data never reaches an error text or a log line: the engines hide bound
parameters, so a failed write names its statement, not the shopper's name or message."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.core.security import Scope
from app.store.db import create_db_engine
from tests.factories import ScriptedEngine, bearer, chat_body, make_profile, profile_body

SECRET = "Zenobia-Quartermaine 4242.42"


@pytest.fixture(params=["postgresql", "sqlite"])
def db_url(request, pg_url: str, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    return pg_url if request.param == "postgresql" else f"sqlite+aiosqlite:///{tmp_path}/p.db"


async def test_db_errors_hide_bound_parameters(db_url: str) -> None:
    engine = create_db_engine(db_url, pool_size=1)
    try:
        with pytest.raises(DBAPIError) as err:
            async with engine.begin() as conn:
                await conn.execute(
                    text("INSERT INTO no_such_table VALUES (:name)"), {"name": SECRET}
                )
    finally:
        await engine.dispose()
    assert "no_such_table" in str(err.value)  # the statement is still there to debug
    assert "Zenobia" not in str(err.value) and "4242" not in str(err.value)


async def test_db_failed_turn_logs_no_message_name_or_amount(
    make_client, pg_settings, pg_keys, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    engine = ScriptedEngine("half\x00written for Zenobia: $4242.42")  # PostgreSQL refuses NUL
    async with make_client(pg_settings(), engine) as client:
        profile = make_profile(first_name="Zenobia", credit_limit="4242.42")
        await client.put(
            f"/v1/profiles/{profile.user_id}",
            json=profile_body(profile),
            headers=bearer(pg_keys[Scope.ADMIN]),
        )
        with caplog.at_level(logging.INFO):
            response = await client.post(
                "/v1/chat",
                json=chat_body(profile.user_id, "Quartermaine asks about 4242.42"),
                headers=bearer(pg_keys[Scope.STOREFRONT]),
            )
    assert response.status_code == 503
    assert caplog.records, "the failed write was not logged at all"
    for secret in ("Zenobia", "Quartermaine", "4242"):  # caplog.text includes tracebacks
        assert secret not in caplog.text
