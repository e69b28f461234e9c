"""EngineConfig refuses inconsistent settings; the factory builds the configured backend."""

from __future__ import annotations

import dataclasses

import pytest

from app.engine.config import EngineConfig
from app.engine.factory import create_engine
from app.engine.hf import TransformersEngine
from app.engine.vllm import VLLMEngine


def test_engine_config_defaults_fit_a_shared_cpu() -> None:
    config = EngineConfig()
    assert config.backend == "vllm"
    assert config.gpu_memory_utilization == 0.3
    assert config.dtype == "float32"
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.backend = "transformers"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"backend": "llama.cpp"}, "MORE_ENGINE"),
        ({"gpu_memory_utilization": 0.0}, "gpu_memory_utilization"),
        ({"gpu_memory_utilization": 1.5}, "gpu_memory_utilization"),
        ({"generation_timeout_s": 0}, "generation_timeout_s"),
        ({"max_queue": 0}, "max_queue"),
        ({"max_model_len": 8}, "max_model_len"),
        ({"max_loras": 0}, "max_loras"),
        ({"max_loras": 4, "max_cpu_loras": 2}, "max_cpu_loras"),
        ({"cpu_threads": 0}, "cpu_threads"),
    ],
)
def test_engine_config_rejects_bad_values(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EngineConfig(**overrides)  # type: ignore[arg-type]


def test_create_engine_builds_the_configured_backend_without_starting_it() -> None:
    vllm_engine = create_engine(EngineConfig(backend="vllm"))
    hf_engine = create_engine(EngineConfig(backend="transformers"))

    assert isinstance(vllm_engine, VLLMEngine)
    assert isinstance(hf_engine, TransformersEngine)
    assert hf_engine.queue_depth == 0
