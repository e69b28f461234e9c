"""Greedy MultiWOZ replies from `prompt.build_messages`: a prompted base model, or a base
model with a trained LoRA adapter (`more multiwoz predict`).

CPU budget: SmolLM2-135M in fp32, batches of 8 left-padded prompts, at most 48 new
tokens per reply; on 2 shared cores that is roughly 1-2 s per reply.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from training.data.multiwoz.turn import MultiWozTurn
from training.eval.decoding import greedy_decode
from training.multiwoz.prompt import build_messages


def resolve_model(model: str) -> str:
    if model == "bundled":
        from app.engine.bundled import ensure_bundled_model

        return str(ensure_bundled_model())
    return model


def generate_predictions(
    turns: Sequence[MultiWozTurn],
    *,
    model: str = "bundled",
    adapter: str | Path | None = None,
    max_new_tokens: int = 48,
    batch_size: int = 8,
) -> dict[str, list[dict[str, str]]]:
    """Greedy replies for every turn, in the evaluator's predictions format.

    Args:
        turns: the system turns to answer, in dialogue order.
        model: HF model folder, or `bundled` (SmolLM2-135M-Instruct).
        adapter: a PEFT LoRA folder trained on `model`; None replies with the base model.
        max_new_tokens: reply budget in tokens.
        batch_size: prompts per `generate` call.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = resolve_model(model)
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    lm = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    if adapter is not None:
        from peft import PeftModel

        # Fold the LoRA into the weights once: decoding then costs what the base model costs.
        lm = PeftModel.from_pretrained(lm, str(adapter)).merge_and_unload()
    lm.eval()

    replies: list[str] = []
    batches = range(0, len(turns), batch_size)
    for start in tqdm(batches, desc="generating", unit="batch"):
        batch = turns[start : start + batch_size]
        texts = [
            tokenizer.apply_chat_template(
                build_messages(t), tokenize=False, add_generation_prompt=True
            )
            for t in batch
        ]
        rows, _ = greedy_decode(lm, tokenizer, texts, max_new_tokens=max_new_tokens)
        replies += [tokenizer.decode(row, skip_special_tokens=True).strip() for row in rows]

    predictions: dict[str, list[dict[str, str]]] = {}
    for turn, reply in zip(turns, replies, strict=True):
        predictions.setdefault(turn.dialogue_id, []).append({"response": reply})
    return predictions
