"""Settings: embedded defaults, URL normalisation, demo-key refusal, engine config."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.core.config import Settings
from app.engine.factory import engine_config


def make(**values) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(_env_file=None, **{"DATABASE_URL": None, "REDIS_URL": None, **values})  # type: ignore[call-arg]


def test_config_embedded_defaults(tmp_path: Path) -> None:
    settings = make(MORE_DATA_DIR=tmp_path)
    assert settings.embedded
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path.resolve()}/more.db"
    assert settings.storefront_key == "demo-storefront-key"
    assert settings.admin_key == "demo-admin-key"
    assert settings.default_policy_version == "base"


def test_config_shipped_more_adapter_is_the_default_policy_served_merged(tmp_path: Path) -> None:
    shipped = tmp_path / "models"
    (shipped / "more").mkdir(parents=True)
    (shipped / "more" / "adapter_config.json").write_text("{}")
    settings = make(MORE_DATA_DIR=tmp_path, MORE_ADAPTERS_DIR=shipped)
    assert settings.default_adapter_path == str(shipped / "more")
    assert settings.default_policy_version == "more-v1"
    assert settings.merge_adapter  # embedded, no A/B: one policy, merged
    # The A/B merges each arm into its own engine; a service that registers policies
    # at run time needs LoRA slots.
    assert make(MORE_ADAPTERS_DIR=shipped, MORE_DEFAULT_EXPERIMENT=True).merge_adapter
    external = make(MORE_ADAPTERS_DIR=shipped, DATABASE_URL="postgresql://db/x")
    assert not external.merge_adapter
    assert make(MORE_ADAPTERS_DIR=shipped, MORE_MERGE_ADAPTER=False).merge_adapter is False
    # An explicit adapter wins; without a shipped one the base model replies.
    assert make(MORE_ADAPTERS_DIR=shipped, MORE_ADAPTER_PATH="/a/b").default_adapter_path == "/a/b"
    assert make(MORE_ADAPTERS_DIR=tmp_path / "none").default_adapter_path is None


def test_config_plain_postgres_url_gets_the_async_driver() -> None:
    settings = make(DATABASE_URL="postgresql://u:p@db:5432/more")
    assert settings.database_url == "postgresql+asyncpg://u:p@db:5432/more"
    assert not settings.embedded
    assert settings.storefront_key is None  # no implicit demo key outside embedded mode


def test_config_refuses_demo_keys_outside_embedded_mode() -> None:
    with pytest.raises(ValidationError, match="MORE_ALLOW_DEMO_KEYS"):
        make(REDIS_URL="redis://r:6379/0", MORE_DEMO_API_KEY="demo-storefront-key")
    with pytest.raises(ValidationError, match="MORE_ADMIN_API_KEY"):
        make(DATABASE_URL="postgresql://db/x", MORE_ADMIN_API_KEY="demo-admin-key")
    allowed = make(
        DATABASE_URL="postgresql://db/x",
        MORE_ADMIN_API_KEY="demo-admin-key",
        MORE_ALLOW_DEMO_KEYS=True,
    )
    assert allowed.admin_key == "demo-admin-key"
    assert make(DATABASE_URL="postgresql://db/x", MORE_ADMIN_API_KEY="s3cret").admin_key == "s3cret"


def test_config_reads_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MORE_ENGINE", "transformers")
    monkeypatch.setenv("MORE_SESSION_TTL_S", "3600")
    monkeypatch.setenv("MORE_ADAPTER_PATH", "/models/more-v3")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.MORE_ENGINE == "transformers"
    assert settings.MORE_SESSION_TTL_S == 3600
    assert settings.default_policy_version == "more-v3"


def test_config_builds_the_engine_config() -> None:
    settings = make(
        MORE_ENGINE="transformers",
        MORE_MODEL_PATH="/m",
        MORE_MAX_QUEUE=7,
        MORE_GENERATION_TIMEOUT_S=9,
        MORE_GPU_MEMORY_UTILIZATION=0.5,
    )
    config = engine_config(settings)
    assert (config.backend, config.model_path, config.max_queue) == ("transformers", "/m", 7)
    assert config.generation_timeout_s == 9 and config.gpu_memory_utilization == 0.5
    assert config.max_lora_rank == 8  # no adapters: the smallest rank vLLM builds


def test_engine_lora_rank_sized_to_the_adapters(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from app.engine.base import Adapter

    folders = []
    for rank in (16, 32):
        folder = tmp_path / f"r{rank}"
        folder.mkdir()
        (folder / "adapter_config.json").write_text(json.dumps({"r": rank}))
        folders.append(Adapter(name=f"r{rank}", path=str(folder)))
    assert engine_config(make(), folders).max_lora_rank == 32
    assert engine_config(make(MORE_MAX_LORA_RANK=64), folders).max_lora_rank == 64
    odd = tmp_path / "r20"
    odd.mkdir()
    (odd / "adapter_config.json").write_text(json.dumps({"r": 20}))
    assert engine_config(make(), [Adapter("odd", str(odd))]).max_lora_rank == 32


def test_config_blank_merge_setting_is_unset() -> None:
    # compose passes `MORE_MERGE_ADAPTER=` when the operator sets nothing
    assert make(MORE_MERGE_ADAPTER="").MORE_MERGE_ADAPTER is None
