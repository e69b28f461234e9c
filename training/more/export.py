"""What leaves a training run: a merged model, or an adapter folder to ship.

* `merge_adapter`: the adapter merged into its base model's weights, a plain Hugging Face
  model (safetensors + tokenizer) that vLLM or transformers load with `MORE_MODEL_PATH`
  and no `MORE_ADAPTER_PATH`. The merge itself is the service's (`app.engine.merge`,
  which also serves a lone policy merged); this module only finds the base model.
* `ship_adapter`: the adapter as the repository carries it under `models/`: its config,
  model card and weights in half precision. A r-32 all-linear adapter is 39 MB in fp32;
  every re-ship is a new blob in the history, and fp16 halves it at no cost in replies
  (PEFT and vLLM cast adapter weights to the base model's dtype when they load them).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from app.engine import merge
from app.engine.bundled import atomic_folder


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


SHIPPED_FILES = ("adapter_config.json", "README.md")
WEIGHTS = "adapter_model.safetensors"


def ship_adapter(adapter_dir: Path, target: Path, *, dtype: str = "float16") -> Path:
    """Copy a trained adapter to `target` (e.g. `models/more`) with its weights cast to
    `dtype`: the config and model card as they are, no tokenizer (the base model's is
    used). `target` is replaced whole or not at all.
    """
    import torch
    from safetensors.torch import load_file, save_file

    adapter_dir, target = Path(adapter_dir), Path(target)
    cast = getattr(torch, dtype)
    tensors = {
        name: tensor.to(cast).contiguous()
        for name, tensor in load_file(adapter_dir / WEIGHTS).items()
    }
    with atomic_folder(target) as tmp:
        save_file(tensors, tmp / WEIGHTS, metadata={"format": "pt"})
        for name in SHIPPED_FILES:
            if (adapter_dir / name).is_file():
                shutil.copy2(adapter_dir / name, tmp / name)
    return target
