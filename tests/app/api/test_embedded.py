"""The embedded default: SQLite file + in-process cache, demo keys, demo profiles."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from app.core.config import Settings
from app.services.demo import seed_demo_profiles
from app.store.migrations import upgrade
from app.store.models import MessageRow
from tests.factories import bearer, chat_body, run_sync


def embedded_settings(data_dir: Path, **overrides) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        DATABASE_URL=None,
        REDIS_URL=None,
        MORE_DATA_DIR=data_dir,
        MORE_MAX_TOKENS=8,
        **overrides,
    )


async def test_embedded_mode_serves_demo_users_on_sqlite(make_client, tiny_engine, tmp_path):
    settings = embedded_settings(tmp_path / "data")
    assert settings.embedded and settings.database_url.startswith("sqlite+aiosqlite:///")
    run_sync(upgrade, settings.database_url)
    assert (tmp_path / "data" / "more.db").is_file()

    async with make_client(settings, tiny_engine) as client:
        await seed_demo_profiles(client.app.state.services.db)
        shop = bearer("demo-storefront-key")
        ready = await client.get("/readyz")
        assert ready.json() == {
            "status": "ok",
            "mode": "embedded",
            "checks": {"database": "ok", "cache": "ok", "engine": "ok"},
        }
        first = await client.post(
            "/v1/chat",
            json=chat_body(
                "demo-eligible", context={"items": [{"title": "Pixel 9", "price": "299.00"}]}
            ),
            headers=shop,
        )
        assert first.status_code == 200, first.text
        sid = first.json()["session_id"]
        second = await client.post(
            "/v1/chat", json=chat_body("demo-eligible", "thanks", session_id=sid), headers=shop
        )
        assert second.status_code == 200
        stream = await client.post("/v1/chat/stream", json=chat_body("demo-boundary"), headers=shop)
        assert "event: done" in stream.text

        admin = await client.get("/v1/profiles/demo-yen", headers=bearer("demo-admin-key"))
        assert admin.status_code == 200 and admin.json()["currency"] == "JPY"
        assert (await client.get("/v1/profiles/demo-yen", headers=shop)).status_code == 403

        async with client.app.state.services.db() as db:
            roles = list(
                await db.scalars(
                    select(MessageRow.role)
                    .where(MessageRow.session_id == sid)
                    .order_by(MessageRow.id)
                )
            )
        assert roles == ["user", "assistant", "user", "assistant"]
