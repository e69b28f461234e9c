"""How the chat engine is built: one frozen config both backends read.

The API's pydantic `Settings` (env vars `MORE_ENGINE`, `MORE_MODEL_PATH`, ...) builds it;
tests and benchmarks build it directly. Nothing here imports torch or vllm.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

EngineBackend = Literal["vllm", "transformers"]
EngineDType = Literal["float32", "bfloat16", "float16", "auto"]


@dataclass(frozen=True)
class EngineConfig:
    """Settings of the one shared chat engine.

    Backend:
        backend (`"vllm" | "transformers"`, default `"vllm"`): vLLM `AsyncLLM` (batched,
            the default) or transformers + PEFT (one request at a time; small machines
            and fast tests).
        model_path (`str | None`, default `None`): a local Hugging Face model folder;
            `None` serves the bundled SmolLM2-135M-Instruct. Never downloaded.
        cache_dir (`Path | None`, default `None`): where the bundled model is converted
            once; `None` means `$MORE_CACHE_DIR` or `~/.cache/more`.
        dtype (default `"float32"`): weights and activations; on this CPU fp32 is faster
            than bf16, on GPUs use `"bfloat16"` or `"auto"`.
        seed (`int`, default `0`): engine seed (vLLM) / default torch seed (transformers).
        cpu_threads (`int | None`, default `None`): transformers backend only: torch
            intra-op threads (process-wide); `None` keeps torch's default. On a shared
            CPU, 1 avoids oversubscription (a tiny model ran 8x faster with 1 than 2).

    Capacity:
        max_model_len (`int`, default `2048`): prompt + reply tokens per request.
        gpu_memory_utilization (`float`, default `0.3`): vLLM's share of device memory
            for weights + KV cache; on CPU it sizes the KV cache in RAM, so keep it low
            (0.3) on a shared machine, raise it (0.85-0.9) on a dedicated GPU.
        max_num_seqs (`int`, default `64`): vLLM's cap on sequences batched together.
        max_queue (`int`, default `64`): requests in flight (running or waiting) before
            new ones are refused with `EngineOverloadedError` (the API answers 429).

    LoRA (one adapter per policy version, chosen per request):
        enable_lora (`bool`, default `True`): serve adapters at all.
        max_loras (`int`, default `4`): distinct adapters in one vLLM batch.
        max_lora_rank (`int`, default `64`): largest adapter rank accepted; larger ones
            are refused when added.
        max_cpu_loras (`int | None`, default `None`): adapters vLLM keeps loaded in host
            memory (`None` = `max_loras`); raise it when many versions are live.
        cpu_bind (`str | None`, default `None`): vLLM only: the CPU cores this engine's
            OpenMP threads are bound to (vLLM's `VLLM_CPU_OMP_THREADS_BIND` syntax, e.g.
            `"1"` or `"0-1"`); `None` keeps the process environment's (vLLM's default
            `auto`: one core, the other left to the API). Set per engine when several
            run side by side (`app.engine.routed`), so they do not share a core.

    Requests:
        generation_timeout_s (`float`, default `30.0`): wall time allowed per reply,
            queueing included; past it the request is aborted and
            `EngineTimeoutError` raised (the API answers 503).
        warmup (`bool`, default `True`): run one short generation in `start()` so the
            first real request does not pay for lazy initialisation.
    """

    backend: EngineBackend = "vllm"
    model_path: str | None = None
    cache_dir: Path | None = None
    dtype: EngineDType = "float32"
    seed: int = 0
    cpu_threads: int | None = None

    max_model_len: int = 2048
    gpu_memory_utilization: float = 0.3
    max_num_seqs: int = 64
    max_queue: int = 64

    enable_lora: bool = True
    max_loras: int = 4
    max_lora_rank: int = 64
    max_cpu_loras: int | None = None
    cpu_bind: str | None = None

    generation_timeout_s: float = 30.0
    warmup: bool = True

    def __post_init__(self) -> None:
        if self.backend not in ("vllm", "transformers"):
            raise ValueError(
                f"backend={self.backend!r}: choose 'vllm' or 'transformers' (MORE_ENGINE)"
            )
        if not 0.0 < self.gpu_memory_utilization <= 1.0:
            raise ValueError(
                f"gpu_memory_utilization={self.gpu_memory_utilization}: use a share in (0, 1], "
                "about 0.3 on CPU"
            )
        if self.generation_timeout_s <= 0:
            raise ValueError("generation_timeout_s must be positive (seconds per reply)")
        if self.max_queue < 1:
            raise ValueError("max_queue must be at least 1 (requests in flight)")
        if self.max_model_len < 16:
            raise ValueError("max_model_len must be at least 16 tokens")
        if self.max_loras < 1 or self.max_lora_rank < 1:
            raise ValueError("max_loras and max_lora_rank must be at least 1")
        if self.cpu_threads is not None and self.cpu_threads < 1:
            raise ValueError("cpu_threads must be at least 1 (or None for torch's default)")
        if self.max_cpu_loras is not None and self.max_cpu_loras < self.max_loras:
            raise ValueError("max_cpu_loras must be at least max_loras (or None)")
