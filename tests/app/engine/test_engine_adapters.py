"""Adapter folders are checked before a backend loads them; vLLM ids are stable by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.engine.adapters import stable_lora_id, validate_adapter
from app.engine.base import Adapter, AdapterError


def _adapter_dir(tmp_path: Path, config: object, weights: bool = True) -> Path:
    (tmp_path / "adapter_config.json").write_text(json.dumps(config))
    if weights:
        (tmp_path / "adapter_model.safetensors").write_bytes(b"\0")
    return tmp_path


def test_validate_adapter_accepts_a_peft_lora_folder(tiny_lora_dir: Path) -> None:
    config = validate_adapter(Adapter("v1", str(tiny_lora_dir)), max_rank=64)
    assert config["peft_type"] == "LORA" and config["r"] == 8


@pytest.mark.parametrize(
    ("config", "weights", "message"),
    [
        ({"peft_type": "LORA", "r": 8}, False, "no adapter_model.safetensors"),
        ({"peft_type": "PREFIX_TUNING", "r": 8}, True, "only LORA"),
        ({"peft_type": "LORA", "r": 128}, True, "exceeds max_lora_rank=64"),
        ({"peft_type": "LORA"}, True, "rank"),
        (["not", "a", "mapping"], True, "JSON object"),
    ],
)
def test_validate_adapter_refuses_bad_folders(
    tmp_path: Path, config: object, weights: bool, message: str
) -> None:
    folder = _adapter_dir(tmp_path, config, weights)
    with pytest.raises(AdapterError, match=message) as err:
        validate_adapter(Adapter("v1", str(folder)), max_rank=64)
    assert str(tmp_path) not in str(err.value)  # messages reach API callers: no server paths


def test_validate_adapter_refuses_missing_folder_and_name(tmp_path: Path) -> None:
    with pytest.raises(AdapterError, match="does not exist"):
        validate_adapter(Adapter("v1", str(tmp_path / "missing")), max_rank=64)
    with pytest.raises(AdapterError, match="non-empty name"):
        validate_adapter(Adapter(" ", str(tmp_path)), max_rank=64)
    (tmp_path / "adapter_config.json").write_text("{not json")
    with pytest.raises(AdapterError, match="not JSON"):
        validate_adapter(Adapter("v1", str(tmp_path)), max_rank=64)


def test_stable_lora_id_is_positive_repeatable_and_unique() -> None:
    first = stable_lora_id("more-v1", {})
    assert first >= 1 and stable_lora_id("more-v1", {}) == first
    assert stable_lora_id("more-v1", {first: "more-v1"}) == first  # already its own
    probed = stable_lora_id("more-v1", {first: "someone-else"})
    assert probed != first and probed >= 1
