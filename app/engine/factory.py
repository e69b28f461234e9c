"""Builds the configured backend; the backend module (torch, vllm) is imported only here."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from app.core.config import Settings
from app.engine.base import Adapter, ChatEngine
from app.engine.config import EngineConfig
from app.engine.routed import PolicyRoutedEngine

# Ranks vLLM's LoRA kernels are built for; a rank in between is padded to the next one.
_VLLM_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)


def adapter_rank(adapter: Adapter) -> int:
    """The LoRA rank in an adapter folder's config (0 when it cannot be read: the
    engine's own validation reports that folder properly when it loads it)."""
    try:
        rank = json.loads((Path(adapter.path) / "adapter_config.json").read_text()).get("r")
    except (OSError, ValueError):
        return 0
    return rank if isinstance(rank, int) else 0


def lora_rank_for(adapters: Sequence[Adapter]) -> int:
    """The smallest rank vLLM accepts that holds every adapter (8 with none)."""
    needed = max((adapter_rank(a) for a in adapters), default=0)
    return next((r for r in _VLLM_RANKS if r >= needed), needed)


def engine_config(settings: Settings, adapters: Sequence[Adapter] = ()) -> EngineConfig:
    """The engine settings the service settings imply; `MORE_MAX_LORA_RANK` unset sizes the
    LoRA rank to the adapters served at start (padding costs time per token on CPU)."""
    return EngineConfig(
        backend=settings.MORE_ENGINE,
        model_path=settings.MORE_MODEL_PATH,
        cache_dir=settings.MORE_CACHE_DIR,
        dtype=settings.MORE_DTYPE,
        seed=settings.MORE_ENGINE_SEED,
        max_model_len=settings.MORE_MAX_MODEL_LEN,
        gpu_memory_utilization=settings.MORE_GPU_MEMORY_UTILIZATION,
        max_num_seqs=settings.MORE_MAX_NUM_SEQS,
        max_queue=settings.MORE_MAX_QUEUE,
        max_loras=settings.MORE_MAX_LORAS,
        max_lora_rank=settings.MORE_MAX_LORA_RANK or lora_rank_for(adapters),
        generation_timeout_s=settings.MORE_GENERATION_TIMEOUT_S,
        warmup=settings.MORE_ENGINE_WARMUP,
    )


def create_engine(config: EngineConfig, adapters: Sequence[Adapter] = ()) -> ChatEngine:
    """A not-yet-started engine for `config.backend`; call `await engine.start()` next.

    `adapters` are loaded during `start()`; more can be added at run time with
    `add_adapter()`.
    """
    if config.backend == "vllm":
        from app.engine.vllm import VLLMEngine

        return VLLMEngine(config, adapters=adapters)
    if config.backend == "transformers":
        from app.engine.hf import TransformersEngine

        return TransformersEngine(config, adapters=adapters)
    raise ValueError(f"unknown engine backend {config.backend!r}: use 'vllm' or 'transformers'")


def merged_config(config: EngineConfig, adapter: Adapter) -> EngineConfig:
    """`config` serving `adapter` merged into its base model's weights, without LoRA
    (the merge is written once under the cache directory; see `app.engine.merge`)."""
    from app.engine.bundled import default_cache_dir, resolve_model_path
    from app.engine.merge import merged_model

    base = resolve_model_path(config.model_path, config.cache_dir)
    merged = merged_model(Path(adapter.path), base, config.cache_dir or default_cache_dir())
    return replace(config, model_path=str(merged), enable_lora=False)


def policy_engines(
    config: EngineConfig, adapters: Sequence[Adapter], *, with_base: bool
) -> PolicyRoutedEngine:
    """One not-yet-started engine per policy, each merged (`merged_config`; the base
    model's own when `with_base`), routed by adapter name (`app.engine.routed`).

    Engine i binds its OpenMP threads to core i (modulo the cores there are) so the
    engines do not spin against each other on one core, and each reserves its share of
    `gpu_memory_utilization` (on CPU, the share of RAM for the KV cache). Merging loads
    torch and writes each merge once: call this off the event loop.
    """
    policies: list[Adapter | None] = [*adapters, *([None] if with_base else [])]
    cores = os.cpu_count() or 1
    share = config.gpu_memory_utilization / len(policies)
    engines: dict[str | None, ChatEngine] = {}
    for i, adapter in enumerate(policies):
        own = merged_config(config, adapter) if adapter else replace(config, enable_lora=False)
        own = replace(own, cpu_bind=str(i % cores), gpu_memory_utilization=share)
        engines[adapter.name if adapter else None] = create_engine(own)
    return PolicyRoutedEngine(engines, adapters)
