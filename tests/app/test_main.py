"""create_app(): nothing heavy at import; the lifespan builds and always closes the
engine, database engine and cache, and loads the default policy's adapter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from app.core.config import Settings
from app.main import create_app
from tests.factories import bearer, chat_body


def test_main_import_is_light() -> None:
    code = (
        "import sys, app.main, app.cli; app.main.create_app(); "
        "print(sorted(m for m in ('torch', 'vllm', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


async def test_main_lifespan_builds_engine_from_settings_with_adapter(
    tmp_path: Path, tiny_model_dir: Path, tiny_lora_dir: Path
) -> None:
    from app.services.demo import seed_demo_profiles
    from app.store.migrations import upgrade
    from tests.factories import run_sync

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        DATABASE_URL=None,
        REDIS_URL=None,
        MORE_DATA_DIR=tmp_path,
        MORE_ENGINE="transformers",
        MORE_MODEL_PATH=str(tiny_model_dir),
        MORE_ADAPTER_PATH=str(tiny_lora_dir),
        MORE_ENGINE_WARMUP=False,
        MORE_MAX_TOKENS=4,
    )
    run_sync(upgrade, settings.database_url)
    app = create_app(settings=settings)
    async with app.router.lifespan_context(app):
        services = app.state.services
        engine = services.engine
        assert type(engine).__name__ == "TransformersEngine"
        assert tiny_lora_dir.name in engine.adapters  # type: ignore[attr-defined]
        await seed_demo_profiles(services.db)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            reply = await client.post(
                "/v1/chat", json=chat_body("demo-eligible"), headers=bearer("demo-storefront-key")
            )
        assert reply.status_code == 200, reply.text
        assert reply.json()["policy_version"] == tiny_lora_dir.name
    # Shut down: the engine the lifespan built is closed.
    assert not await engine.is_ready()
