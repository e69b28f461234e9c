from __future__ import annotations

import shutil
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


def test_shipped_adapter_is_half_precision_and_replies_as_the_trained_one(
    tiny_model_dir: Path, tiny_lora_dir: Path, tmp_path: Path
) -> None:
    from peft import PeftModel
    from safetensors.torch import load_file

    from training.more.export import ship_adapter

    trained_dir = shutil.copytree(tiny_lora_dir, tmp_path / "run" / "adapter")
    (trained_dir / "README.md").write_text("# card\n")
    shipped = ship_adapter(trained_dir, tmp_path / "models" / "more")
    ship_adapter(trained_dir, shipped)  # re-shipping replaces the folder whole

    assert sorted(p.name for p in shipped.iterdir()) == [
        "README.md",
        "adapter_config.json",
        "adapter_model.safetensors",
    ]
    weights = load_file(shipped / "adapter_model.safetensors")
    trained = load_file(tiny_lora_dir / "adapter_model.safetensors")
    assert weights.keys() == trained.keys()
    assert {t.dtype for t in weights.values()} == {torch.float16}
    assert not list(shipped.parent.glob(".tmp-*"))

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    ids = tokenizer("Can I pay in instalments?", return_tensors="pt").input_ids
    with torch.no_grad():
        got = PeftModel.from_pretrained(
            AutoModelForCausalLM.from_pretrained(tiny_model_dir), shipped
        )
        want = PeftModel.from_pretrained(
            AutoModelForCausalLM.from_pretrained(tiny_model_dir), tiny_lora_dir
        )
        assert torch.equal(got(ids).logits.argmax(-1), want(ids).logits.argmax(-1))
        assert torch.allclose(got(ids).logits, want(ids).logits, atol=1e-2)
