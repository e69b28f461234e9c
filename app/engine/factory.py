"""Builds the configured backend; the backend module (torch, vllm) is imported only here."""

from __future__ import annotations

from collections.abc import Sequence

from app.engine.base import Adapter, ChatEngine
from app.engine.config import EngineConfig


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
