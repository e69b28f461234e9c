"""Merge a LoRA adapter into its base model's weights, for deployments without LoRA.

The merged folder is a plain Hugging Face model (safetensors + tokenizer) that vLLM or
transformers load with `MORE_MODEL_PATH` and no `MORE_ADAPTER_PATH`. The merge itself is
the service's (`app.engine.merge`, which also serves a lone policy merged); this module
only finds the base model an adapter was trained on.
"""

from __future__ import annotations

import json
from pathlib import Path

from app.engine import merge


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
    return merge.merge_adapter(adapter_dir, out_dir, base_model or recorded_base(adapter_dir))
