"""Session-wide fixtures: real PostgreSQL/Redis URLs, the bundled model, a tiny random model.

Heavy fixtures (model folders, engines) are session-scoped so each is built once.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from app.engine.vllm import VLLMEngine

# Tests never reach a hub: fail fast instead of hanging on the closed network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Apps built in tests must not pick up the adapters shipped under models/ (they belong to
# the bundled model, not the tiny test model); tests that want them pass a folder.
os.environ.setdefault("MORE_ADAPTERS_DIR", "/nonexistent/more-test-adapters")

TEST_DATABASE_URL = os.environ.get(
    "MORE_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
TEST_REDIS_URL = os.environ.get("MORE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(scope="session")
def bundled_model_dir() -> Path:
    """The bundled SmolLM2-135M-Instruct as an HF folder (converted once per cache)."""
    from app.engine.bundled import ensure_bundled_model

    return ensure_bundled_model()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, bundled_model_dir: Path) -> Path:
    """A tiny randomly initialised Llama with the bundled tokenizer and chat template."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    path = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = AutoTokenizer.from_pretrained(bundled_model_dir)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    # Zero the special tokens' (tied) embeddings: their logits are then 0 while the maximum
    # over ~49k random logits is well above it, so greedy replies are never made of tokens
    # that decode to nothing (a near-tie could otherwise flip with the torch thread count).
    with torch.no_grad():
        model.get_input_embeddings().weight[tokenizer.all_special_ids] = 0.0
    model.save_pretrained(path, safe_serialization=True)
    tokenizer.save_pretrained(path)
    return path


def _write_random_lora(model_dir: Path, out_dir: Path, *, seed: int, rank: int = 8) -> Path:
    """Save a PEFT LoRA adapter for `model_dir` whose B weights are random, not zero.

    PEFT initialises B to zero (an untrained adapter is a no-op); non-zero B makes the
    adapter change greedy output, which is what engine tests need to see.
    """
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    # PEFT draws A from the global generator: seed it, or A (and whether the adapter
    # changes a tiny model's greedy reply) depends on which tests ran before.
    torch.manual_seed(1000 + seed)
    config = LoraConfig(
        r=rank,
        lora_alpha=2 * rank,
        target_modules=[
            *("q_proj", "k_proj", "v_proj", "o_proj"),
            *("gate_proj", "up_proj", "down_proj"),
        ],
        lora_dropout=0.0,
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(base, config)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.05)
    model.save_pretrained(out_dir, safe_serialization=True)
    return out_dir


@pytest.fixture(scope="session")
def make_lora_adapter(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Factory `(model_dir, seed) -> adapter folder`, each adapter written once per session."""
    made: dict[tuple[Path, int], Path] = {}

    def make(model_dir: Path, seed: int = 0) -> Path:
        key = (Path(model_dir), seed)
        if key not in made:
            out = tmp_path_factory.mktemp(f"lora-{Path(model_dir).name}-{seed}")
            made[key] = _write_random_lora(Path(model_dir), out, seed=seed)
        return made[key]

    return make


@pytest.fixture(scope="session")
def tiny_lora_dir(make_lora_adapter: Callable[..., Path], tiny_model_dir: Path) -> Path:
    """A random non-zero LoRA adapter for `tiny_model_dir`."""
    return make_lora_adapter(tiny_model_dir, seed=1)


@pytest.fixture(scope="session")
def bundled_lora_dir(make_lora_adapter: Callable[..., Path], bundled_model_dir: Path) -> Path:
    """A random non-zero LoRA adapter for the bundled SmolLM2."""
    return make_lora_adapter(bundled_model_dir, seed=1)


@pytest.fixture(scope="session")
async def vllm_engine(bundled_lora_dir: Path) -> AsyncIterator[VLLMEngine]:
    """The vLLM engine on the bundled model with `bundled_lora_dir` as adapter "bundled-lora".

    One per session (~35 s to start, ~4 GiB of RAM); reuse it rather than starting another.
    """
    from app.engine.base import Adapter
    from app.engine.config import EngineConfig
    from app.engine.vllm import VLLMEngine

    engine = VLLMEngine(
        EngineConfig(
            backend="vllm",
            max_model_len=1024,
            max_queue=16,
            max_loras=2,
            max_lora_rank=32,  # the shipped adapters (models/) are r 32
            generation_timeout_s=120.0,
        ),
        adapters=[Adapter(name="bundled-lora", path=str(bundled_lora_dir))],
    )
    await engine.start()
    yield engine
    # Stops the spawned engine-core process, so pytest exits without hanging.
    await engine.close()


@pytest.fixture(scope="session")
def intent_classifier():  # type: ignore[no-untyped-def]
    """The service's intent classifier on the bundled MiniLM (built once per process)."""
    from app.engine.intent import default_intent_classifier

    return default_intent_classifier()
