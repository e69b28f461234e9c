"""Merge a LoRA adapter into its base model's weights, for deployments without LoRA.

The merged folder is a plain Hugging Face model (safetensors + tokenizer) that vLLM or
transformers load with `MORE_MODEL_PATH` and no `MORE_ADAPTER_PATH`.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path


def recorded_base(adapter_dir: Path) -> Path:
    """The base model folder an adapter belongs to.

    Its recorded `base_model_name_or_path` when that is a local model folder, else the
    bundled model (an adapter trained on another machine records a path not found here).
    """
    from app.engine.bundled import resolve_model_path

    config = json.loads((Path(adapter_dir) / "adapter_config.json").read_text())
    recorded = config.get("base_model_name_or_path")
    return resolve_model_path(
        recorded if recorded and (Path(recorded) / "config.json").is_file() else None
    )


def merge_adapter(adapter_dir: Path, out_dir: Path, base_model: Path | None = None) -> Path:
    """Write base model + adapter as one full-weight model to `out_dir` and return it.

    `base_model` defaults to the adapter's recorded `base_model_name_or_path` when that
    is a local folder, else the bundled model.
    """
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if base_model is None:
        base_model = recorded_base(adapter_dir)
    model = AutoModelForCausalLM.from_pretrained(base_model, dtype=torch.float32)
    merged = PeftModel.from_pretrained(model, adapter_dir).merge_and_unload()
    tokenizer_src = adapter_dir if (adapter_dir / "tokenizer_config.json").exists() else base_model
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_src)

    # Write beside the target and rename, so a failed export never leaves half a model.
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".merge-", dir=out_dir.parent))
    try:
        merged.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir
