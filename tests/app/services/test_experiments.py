"""Experiment service pieces that need no HTTP: the embedded default experiment."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.services.demo import DEFAULT_EXPERIMENT, ensure_default_experiment
from app.store import experiments as repo
from app.store.db import create_db_engine, create_session_factory
from app.store.migrations import upgrade


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'more.db'}"
    upgrade(url)
    return url


@pytest.fixture
async def db(db_url: str) -> AsyncIterator:
    engine = create_db_engine(db_url)
    yield create_session_factory(engine)
    await engine.dispose()


def _adapter(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "adapter_config.json").write_text("{}")
    return path


async def test_default_experiment_runs_sft_vs_more_when_both_adapters_ship(
    db, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    models = tmp_path / "models"
    _adapter(models / "sft")
    _adapter(models / "more")
    record = await ensure_default_experiment(db, adapters_dir=models, base_model="smollm2")
    assert record is not None and record.name == DEFAULT_EXPERIMENT
    assert record.status == "running"
    assert [(v.name, v.policy_version) for v in record.variants] == [
        ("sft", "sft-v1"),
        ("more", "more-v1"),
    ]
    async with db() as s:
        more = await repo.get_policy_version(s, name="more-v1")
    assert more is not None and more.adapter_path == str((models / "more").resolve())
    # Idempotent: a restart does not create or change anything.
    assert await ensure_default_experiment(db, adapters_dir=models, base_model="smollm2") is None


async def test_default_experiment_uses_the_base_model_until_sft_ships(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    models = tmp_path / "models"
    _adapter(models / "more")
    record = await ensure_default_experiment(db, adapters_dir=models, base_model="smollm2")
    assert record is not None
    assert [(v.name, v.policy_version) for v in record.variants] == [
        ("base", "base"),
        ("more", "more-v1"),
    ]


async def test_default_experiment_needs_a_more_adapter(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert await ensure_default_experiment(db, adapters_dir=tmp_path, base_model="m") is None
