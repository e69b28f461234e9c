"""A LoRA adapter merged into its base model's weights: one policy served without LoRA.

On this CPU, vLLM's LoRA path costs about 11x per generated token against the same
policy with its weights merged (docs/benchmarks.md, "LoRA slot vs merged weights"), so a
service that serves one policy alone serves it merged. `merged_model` writes the merge
once per (base model, adapter content) under the cache directory and reuses it after;
`merge_adapter` is the export itself (`more train export` uses it too).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from app.engine.bundled import is_complete, save_model_folder

logger = logging.getLogger(__name__)


def merge_adapter(adapter_dir: Path, out_dir: Path, base_model: Path) -> Path:
    """Write `base_model` + the adapter in `adapter_dir` as one full-weight Hugging Face
    model (safetensors + tokenizer) to `out_dir` and return it."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(base_model, dtype=torch.float32)
    merged = PeftModel.from_pretrained(model, adapter_dir).merge_and_unload()
    tokenizer_src = adapter_dir if (adapter_dir / "tokenizer_config.json").exists() else base_model
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_src)

    return save_model_folder(merged, tokenizer, out_dir, source=str(adapter_dir))


def _fingerprint(adapter_dir: Path, base_model: Path) -> str:
    """Content hash of the adapter's files and the base model's weights' names and sizes:
    a retrained adapter in the same folder is merged again, an unchanged one is not."""
    digest = hashlib.sha256(str(base_model.resolve()).encode())
    for path in sorted(base_model.glob("*.safetensors")):
        digest.update(f"{path.name}:{path.stat().st_size}".encode())
    for path in sorted(p for p in adapter_dir.iterdir() if p.is_file()):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def merged_model(adapter_dir: Path, base_model: Path, cache_dir: Path) -> Path:
    """The merged model of `adapter_dir` on `base_model`, written under `cache_dir` on
    first use (8 s for the shipped adapter on the bundled model, here) and reused after."""
    adapter_dir = Path(adapter_dir).expanduser()
    target = cache_dir / "merged" / f"{adapter_dir.name}-{_fingerprint(adapter_dir, base_model)}"
    if is_complete(target):
        return target
    logger.info("merging adapter %s into %s (once) -> %s", adapter_dir, base_model.name, target)
    return merge_adapter(adapter_dir, target, base_model)
