"""Checks a LoRA adapter folder before a backend loads it, and names it for vLLM.

Both backends refuse a bad folder with the same `AdapterError` message, before any
weights move, so registering a broken policy version fails fast and says why.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app.engine.base import Adapter, AdapterError

_WEIGHT_FILES = ("adapter_model.safetensors", "adapter_model.bin")


def validate_adapter(adapter: Adapter, *, max_rank: int) -> dict[str, Any]:
    """Return the adapter's PEFT config after checking the folder can be served.

    Raises `AdapterError` when the folder, its `adapter_config.json` or its weights are
    missing, when it is not a LoRA adapter, or when its rank exceeds `max_rank`.
    """
    if not adapter.name or not adapter.name.strip():
        raise AdapterError("an adapter needs a non-empty name")
    # Messages name files by their role, never by their absolute path: they reach API
    # callers through the policy registry.
    path = Path(adapter.path)
    if not path.is_dir():
        raise AdapterError(f"adapter {adapter.name!r}: the adapter folder does not exist")
    config_file = path / "adapter_config.json"
    try:
        config = json.loads(config_file.read_text())
    except FileNotFoundError:
        raise AdapterError(
            f"adapter {adapter.name!r}: adapter_config.json is missing from its folder"
        ) from None
    except json.JSONDecodeError as exc:
        raise AdapterError(
            f"adapter {adapter.name!r}: adapter_config.json is not JSON: {exc}"
        ) from None
    if not isinstance(config, Mapping):
        raise AdapterError(f"adapter {adapter.name!r}: adapter_config.json is not a JSON object")
    if config.get("peft_type", "LORA") != "LORA":
        raise AdapterError(
            f"adapter {adapter.name!r}: peft_type {config.get('peft_type')!r}, only LORA is served"
        )
    rank = config.get("r")
    if not isinstance(rank, int) or rank < 1:
        raise AdapterError(f"adapter {adapter.name!r}: rank r={rank!r} is not a positive int")
    if rank > max_rank:
        raise AdapterError(
            f"adapter {adapter.name!r}: rank {rank} exceeds max_lora_rank={max_rank}; "
            "raise the engine's max_lora_rank (MORE_MAX_LORA_RANK)"
        )
    if not any((path / name).is_file() for name in _WEIGHT_FILES):
        raise AdapterError(
            f"adapter {adapter.name!r}: no adapter_model.safetensors (or .bin) in its folder"
        )
    return dict(config)


def stable_lora_id(name: str, taken: Mapping[int, str]) -> int:
    """A positive int id derived from `name` (the same across restarts), unique in `taken`.

    vLLM keys its adapter cache by this id; deriving it from the name keeps ids stable
    when the registry re-adds the same versions in another order after a restart.
    """
    lora_id = zlib.crc32(name.encode()) % (2**31 - 2) + 1
    while taken.get(lora_id, name) != name:  # a crc collision: probe the next id
        lora_id = lora_id % (2**31 - 2) + 1
    return lora_id
