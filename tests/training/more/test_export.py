from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def test_merge_adapter_output_matches_base_plus_adapter(
    tiny_model_dir: Path, tiny_lora_dir: Path, tmp_path: Path
) -> None:
    from peft import PeftModel

    from training.more.export import merge_adapter

    merged_dir = merge_adapter(tiny_lora_dir, tmp_path / "merged", base_model=tiny_model_dir)

    tokenizer = AutoTokenizer.from_pretrained(merged_dir)
    ids = tokenizer("Can I pay in instalments?", return_tensors="pt").input_ids
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    with_adapter = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(tiny_model_dir), tiny_lora_dir
    )
    merged = AutoModelForCausalLM.from_pretrained(merged_dir)
    assert not (merged_dir / "adapter_config.json").exists()  # full weights, no LoRA needed
    with torch.no_grad():
        expected = with_adapter(ids).logits
        got = merged(ids).logits
        untouched = base(ids).logits
    assert torch.allclose(got, expected, atol=1e-4)
    assert not torch.allclose(got, untouched, atol=1e-4)  # the adapter really changed it
