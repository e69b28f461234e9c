"""A lone policy served merged: written once per (base, adapter content), then reused."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from app.engine.merge import merged_model


def test_merged_model_is_written_once_and_redone_when_the_adapter_changes(
    tmp_path: Path,
    tiny_model_dir: Path,
    make_lora_adapter: Callable[..., Path],
) -> None:
    adapter = tmp_path / "more"
    shutil.copytree(make_lora_adapter(tiny_model_dir, seed=3), adapter)
    cache = tmp_path / "cache"

    first = merged_model(adapter, tiny_model_dir, cache)
    assert (first / "config.json").is_file() and (first / "model.safetensors").is_file()
    written = (first / "model.safetensors").stat().st_mtime_ns
    assert merged_model(adapter, tiny_model_dir, cache) == first
    assert (first / "model.safetensors").stat().st_mtime_ns == written  # reused, not redone

    # A retrained adapter in the same folder is merged again, beside the old one.
    retrained = make_lora_adapter(tiny_model_dir, seed=4)
    shutil.copy(retrained / "adapter_model.safetensors", adapter / "adapter_model.safetensors")
    second = merged_model(adapter, tiny_model_dir, cache)
    assert second != first and (second / "model.safetensors").is_file()
