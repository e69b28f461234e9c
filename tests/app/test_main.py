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


def _settings(data_dir: Path, model: Path, adapter: Path | None, **extra: object) -> Settings:
    """Embedded settings on the tiny model; `adapter` None: the default policy is whatever
    `MORE_ADAPTERS_DIR` ships."""
    if adapter is not None:
        extra = {"MORE_ADAPTER_PATH": str(adapter), "MORE_ADAPTERS_ROOT": adapter.parent, **extra}
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        DATABASE_URL=None,
        REDIS_URL=None,
        MORE_DATA_DIR=data_dir,
        MORE_CACHE_DIR=data_dir / "cache",
        MORE_ENGINE="transformers",
        MORE_MODEL_PATH=str(model),
        MORE_ENGINE_WARMUP=False,
        MORE_MAX_TOKENS=4,
        MORE_GUARD_MODE="off",  # the tiny model's words are compared, not judged
        **extra,
    )


async def _chat_once(settings: Settings) -> tuple[object, httpx.Response, httpx.Response]:
    """Start the app, seed the demo shoppers, chat once and try to register an adapter."""
    from app.services.demo import seed_demo_profiles
    from app.store.migrations import upgrade
    from tests.factories import run_sync

    run_sync(upgrade, settings.database_url)
    app = create_app(settings=settings)
    async with app.router.lifespan_context(app):
        services = app.state.services
        engine = services.engine
        await seed_demo_profiles(services.db)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            reply = await client.post(
                "/v1/chat", json=chat_body("demo-eligible"), headers=bearer("demo-storefront-key")
            )
            registered = await client.post(
                "/v1/policies",
                json={"name": "other-v1", "adapter_path": settings.MORE_ADAPTER_PATH},
                headers=bearer("demo-admin-key"),
            )
        assert type(engine).__name__ == "TransformersEngine"
        assert engine.config.enable_lora is not settings.merge_adapter  # type: ignore[attr-defined]
    # Shut down: the engine the lifespan built is closed.
    assert not await engine.is_ready()  # type: ignore[attr-defined]
    return engine, reply, registered


async def test_main_lifespan_serves_the_adapter_in_a_lora_slot(
    tmp_path: Path, tiny_model_dir: Path, tiny_lora_dir: Path
) -> None:
    settings = _settings(tmp_path, tiny_model_dir, tiny_lora_dir, MORE_MERGE_ADAPTER=False)
    engine, reply, registered = await _chat_once(settings)
    assert tiny_lora_dir.name in engine.adapters  # type: ignore[attr-defined]
    assert reply.status_code == 200, reply.text
    assert reply.json()["policy_version"] == tiny_lora_dir.name
    assert registered.status_code == 201, registered.text


async def test_main_lifespan_serves_a_lone_policy_merged_with_the_same_replies(
    tmp_path: Path, tiny_model_dir: Path, tiny_lora_dir: Path
) -> None:
    slot = _settings(tmp_path / "slot", tiny_model_dir, tiny_lora_dir, MORE_MERGE_ADAPTER=False)
    _, slot_reply, _ = await _chat_once(slot)

    merged = _settings(tmp_path / "merged", tiny_model_dir, tiny_lora_dir)
    assert merged.merge_adapter  # the embedded default
    engine, reply, registered = await _chat_once(merged)

    config = engine.config  # type: ignore[attr-defined]
    assert Path(config.model_path).parent == tmp_path / "merged" / "cache" / "merged"
    assert engine.adapters == ()  # type: ignore[attr-defined]
    assert reply.status_code == 200, reply.text
    assert reply.json()["policy_version"] == tiny_lora_dir.name
    # Greedy: the merged weights say exactly what the adapter in its slot said.
    assert reply.json()["reply"] == slot_reply.json()["reply"]
    # No LoRA slots: registering an adapter is refused with what to change.
    assert registered.status_code == 422, registered.text
    assert "MORE_MERGE_ADAPTER=false" in registered.json()["error"]["message"]


def _base_vs_more(  # type: ignore[no-untyped-def]
    tmp_path: Path, tiny_model_dir: Path, tiny_lora_dir: Path, **extra
):
    """Settings of an embedded service started with its base-vs-more A/B
    (`MORE_DEFAULT_EXPERIMENT=true`, only the MORE adapter shipped, so the control arm is
    the bare base model): the experiment is created at start, before the engine."""
    import shutil

    from app.store.migrations import upgrade
    from tests.factories import run_sync

    shipped = tmp_path / "models"
    shutil.copytree(tiny_lora_dir, shipped / "more")
    settings = _settings(
        tmp_path,
        tiny_model_dir,
        shipped / "more",
        MORE_ADAPTERS_DIR=shipped,
        MORE_DEFAULT_EXPERIMENT=True,
        **extra,
    )
    settings = settings.model_copy(update={"MORE_ADAPTER_PATH": None})
    assert settings.default_policy_version == "more-v1"
    run_sync(upgrade, settings.database_url)
    return settings


async def _chat_as_many(app, n: int = 16) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """policy version -> the reply of the first shopper assigned to it (same question,
    same profile facts for everyone)."""
    from tests.factories import make_profile, profile_body

    replies: dict[str, str] = {}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        for i in range(n):
            user = f"u-ab-{i}"
            put = await client.put(
                f"/v1/profiles/{user}",
                json=profile_body(make_profile(user)),
                headers=bearer("demo-admin-key"),
            )
            assert put.status_code in (200, 201), put.text
            response = await client.post(
                "/v1/chat", json=chat_body(user), headers=bearer("demo-storefront-key")
            )
            assert response.status_code == 200, response.text
            replies.setdefault(response.json()["policy_version"], response.json()["reply"])
    return replies


async def test_main_lifespan_serves_each_policy_of_an_experiment_merged_in_its_own_engine(
    tmp_path: Path, tiny_model_dir: Path, tiny_lora_dir: Path
) -> None:
    """The base-vs-more A/B with merging on (the embedded default): one engine per arm,
    MORE's adapter merged into one and the bare base model in the other, each bound to
    its own core, and each arm answering exactly as it does from a LoRA slot."""
    from app.engine.routed import PolicyRoutedEngine

    merged = _base_vs_more(tmp_path / "merged", tiny_model_dir, tiny_lora_dir)
    assert merged.merge_adapter
    app = create_app(settings=merged)
    async with app.router.lifespan_context(app):
        engine = app.state.services.engine
        assert isinstance(engine, PolicyRoutedEngine)
        engines = engine.engines
        assert set(engines) == {"more-v1", None}
        more, base = engines["more-v1"].config, engines[None].config  # type: ignore[attr-defined]
        assert not more.enable_lora and not base.enable_lora
        assert Path(more.model_path).parent == tmp_path / "merged" / "cache" / "merged"
        assert (more.cpu_bind, base.cpu_bind) == ("0", "1")
        assert more.gpu_memory_utilization == base.gpu_memory_utilization
        merged_replies = await _chat_as_many(app)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            registered = await client.post(
                "/v1/policies",
                json={"name": "other-v1", "adapter_path": str(merged.MORE_ADAPTERS_DIR / "more")},
                headers=bearer("demo-admin-key"),
            )
    # No LoRA slots: a new adapter needs a restart, and the error says how.
    assert registered.status_code == 422, registered.text
    assert "MORE_MERGE_ADAPTER=false" in registered.json()["error"]["message"]

    slots = _base_vs_more(
        tmp_path / "slots", tiny_model_dir, tiny_lora_dir, MORE_MERGE_ADAPTER=False
    )
    app = create_app(settings=slots)
    async with app.router.lifespan_context(app):
        engine = app.state.services.engine
        assert engine.config.enable_lora and engine.adapters == ("more-v1",)
        slot_replies = await _chat_as_many(app)

    # Greedy: both arms say in their own engine what they say from a LoRA slot.
    assert set(merged_replies) == set(slot_replies) == {"more-v1", "base"}
    assert merged_replies == slot_replies


async def test_main_lifespan_starts_the_ab_from_a_relative_adapters_dir(
    tmp_path: Path, tiny_model_dir: Path, tiny_lora_dir: Path, monkeypatch
) -> None:
    """`MORE_DEFAULT_EXPERIMENT=true more up` with the default `MORE_ADAPTERS_DIR=models`
    (relative) failed at start: the default policy's folder and the experiment's
    registered one (absolute) looked like two folders named more-v1."""
    from app.engine.routed import PolicyRoutedEngine

    _base_vs_more(tmp_path, tiny_model_dir, tiny_lora_dir)  # models/more, a migrated db
    monkeypatch.chdir(tmp_path)
    relative = _settings(
        tmp_path,
        tiny_model_dir,
        None,
        MORE_ADAPTERS_DIR=Path("models"),
        MORE_DEFAULT_EXPERIMENT=True,
    )
    assert relative.default_adapter_path == "models/more"
    app = create_app(settings=relative)
    async with app.router.lifespan_context(app):
        engine = app.state.services.engine
        assert isinstance(engine, PolicyRoutedEngine)
        assert set(engine.engines) == {"more-v1", None}


async def test_main_lifespan_serves_the_base_model_alone_without_lora_slots(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    """Embedded, no adapter shipped: the base model without LoRA slots, which cost time
    per token even empty (API 61 vs vLLM's own server 48 ms per token, same model)."""
    settings = _settings(tmp_path, tiny_model_dir, None, MORE_ADAPTERS_DIR=tmp_path / "no-adapters")
    assert settings.merge_adapter and settings.default_adapter_path is None
    app = create_app(settings=settings)
    async with app.router.lifespan_context(app):
        assert app.state.services.engine.config.enable_lora is False
