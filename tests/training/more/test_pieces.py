"""Scaffold reference inputs, datasets, reward resolution, metrics files and plots."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import torch

from app.domain.prompt import (
    REASONING_CLOSE,
    REASONING_MARKER,
    REASONING_OPEN,
    strip_reasoning,
)
from training.data.schema import TaskExample
from training.more.data import balanced, cell, grpo_dataset, load_examples, sft_rows
from training.more.metrics import plot_metrics, read_metrics
from training.more.rewards import resolve_reward, resolve_rewards
from training.more.scaffold import build_conditioned_inputs, reasoning_prefix


def test_conditioned_inputs_put_reasoning_between_prompt_and_completion() -> None:
    pad = 0
    prompt_ids = torch.tensor([[0, 0, 5, 6], [7, 8, 9, 10]])
    prompt_mask = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 1]])
    completion_ids = torch.tensor([[20, 21, 0], [30, 31, 32]])
    completion_mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    ids, mask = build_conditioned_inputs(
        prompt_ids, prompt_mask, [[100, 101, 102], [200]], completion_ids, completion_mask, pad
    )
    assert ids.tolist() == [
        [5, 6, 100, 101, 102, 20, 21, 0],
        [7, 8, 9, 10, 200, 30, 31, 32],
    ]
    assert mask.tolist() == [[1, 1, 1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1, 1, 1]]
    # the last C positions are exactly the completion tokens, so logits_to_keep=C scores them
    assert torch.equal(ids[:, -3:], completion_ids)


def test_conditioned_inputs_left_pad_shorter_rows() -> None:
    ids, mask = build_conditioned_inputs(
        torch.tensor([[1], [2]]),
        torch.tensor([[1], [1]]),
        [[9, 9, 9], []],
        torch.tensor([[3], [4]]),
        torch.tensor([[1], [1]]),
        pad_token_id=-1,
    )
    assert ids.tolist() == [[1, 9, 9, 9, 3], [-1, -1, -1, 2, 4]]
    assert mask.tolist() == [[1, 1, 1, 1, 1], [0, 0, 0, 1, 1]]


def test_reasoning_prefix_is_stripped_at_inference() -> None:
    prefix = reasoning_prefix(["Available credit = $500.", "Decision: approve."])
    assert prefix.startswith(REASONING_OPEN) and prefix.rstrip().endswith(REASONING_CLOSE)
    assert strip_reasoning(prefix + "Yes, it fits.") == "Yes, it fits."


def test_sft_rows_mix_reasoned_and_direct(task_examples: list[TaskExample]) -> None:
    examples = task_examples * 10
    rows = sft_rows(examples, verdict_share=0.5, reasoned_share=0.5, seed=1)
    direct = [r for r in rows if r["kind"] == "direct"]
    reasoned = [r for r in rows if r["kind"] == "reasoned"]
    assert len(direct) == len(examples)  # one direct row per example, always
    assert 5 < len(reasoned) < len(examples) - 5
    assert 5 < sum(r["verdict"] for r in direct) < len(direct) - 5
    for row in direct:
        assert not row["completion"][0]["content"].startswith(REASONING_OPEN)
        # the served prompt never carries the marker, so it never elicits a trace
        assert REASONING_MARKER not in str(row["prompt"])
    for row in reasoned:
        content = row["completion"][0]["content"]
        assert content.startswith(REASONING_OPEN)
        assert REASONING_MARKER in str(row["prompt"])
        assert strip_reasoning(content)  # a reply follows the closed trace
    assert all(r["kind"] == "direct" for r in sft_rows(task_examples, reasoned_share=0.0, seed=1))
    assert rows == sft_rows(examples, verdict_share=0.5, reasoned_share=0.5, seed=1)
    with pytest.raises(ValueError, match="verdict_share"):
        sft_rows(task_examples, verdict_share=1.5)


def test_balanced_caps_every_cell(task_examples: list[TaskExample]) -> None:
    examples = task_examples * 10
    chosen = balanced(examples, per_cell=2, seed=3)
    counts = Counter(cell(ex) for ex in chosen)
    assert set(counts) == {cell(ex) for ex in examples}  # no cell dropped
    assert max(counts.values()) <= 2
    assert balanced(examples, per_cell=2, seed=3) == chosen  # deterministic
    assert len(balanced(examples, per_cell=None)) == len(examples)


def test_term_follow_ups_are_a_cell_of_their_own() -> None:
    """Approvals that answer a term asked by name are balanced apart from other follow-ups,
    so the few hundred of them are not drowned by "and the other item?" turns."""
    from training.data.ecommerce import SplitSizes, generate
    from training.data.schema import Split

    train = generate(5, SplitSizes(train=0, dev=0, test=0, hard=0, train_terms=40))[Split.TRAIN]
    cells = Counter(cell(ex) for ex in train)
    assert cells["approve:term:follow"] > 0
    first_turns = [ex for ex in train if not ex.history]
    assert all(cell(ex) != "approve:term:follow" for ex in first_turns)


def test_grpo_rows_and_jsonl_roundtrip(task_examples: list[TaskExample], tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text("".join(ex.model_dump_json() + "\n" for ex in task_examples))
    loaded = load_examples(path, limit=3)
    assert loaded == task_examples[:3]
    dataset = grpo_dataset(loaded)
    assert {"prompt", "example", "intent", "action"} <= set(dataset.column_names)
    assert TaskExample.model_validate_json(dataset[1]["example"]) == task_examples[1]
    with pytest.raises(FileNotFoundError, match="more data generate"):
        load_examples(tmp_path / "missing.jsonl")


def test_resolve_rewards_by_dotted_path_and_rename() -> None:
    fn = resolve_reward("training.rewards.base:completion_text")
    assert fn("hi") == "hi"
    [renamed] = resolve_rewards(["training.rewards.base.completion_text"])
    assert renamed.__name__ == "completion_text"
    with pytest.raises(ValueError, match="unknown reward 'no_such_reward'"):
        resolve_reward("no_such_reward")


def test_metrics_jsonl_plots(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    rows = [
        {
            "step": s,
            "loss": 0.1 * s,
            "kl": 0.01,
            "step_time": 1.0,
            "rewards/fluency_reward/mean": 0.5,
            "rewards/fluency_reward/std": 0.1,
            "constraints/decision_reward/mean": 0.6,
            "constraints/decision_reward/lambda": 1.0 + s,
            "weights/fluency_reward": 1.0,
        }
        for s in (1, 2, 3)
    ]
    path.write_text(
        "".join(json.dumps(r) + "\n" for r in rows)
        + json.dumps({"step": 3, "train_runtime": 1})
        + "\n"
    )
    assert len(read_metrics(path)) == 3
    written = plot_metrics(path, tmp_path / "plots")
    assert {p.stem for p in written} == {"rewards", "constraints", "lambdas", "weights", "training"}
    assert all(p.stat().st_size > 1000 for p in written)


def test_stability_oscillation_ranks_swinging_runs_higher() -> None:
    from training.more.stability import moving_average, oscillation

    assert moving_average([1.0, 3.0, 5.0], window=2) == [1.0, 2.0, 4.0]
    steady = [0.5 + 0.01 * i for i in range(40)]
    swinging = [0.2 if i % 4 < 2 else 0.9 for i in range(40)]
    assert oscillation(steady) < 0.02 < oscillation(swinging)
    assert oscillation([0.7]) == 0.0


def test_served_completion_strips_reasoning_in_both_shapes() -> None:
    from training.more.trainer import served_completion

    text = reasoning_prefix(["Decision: approve."]) + "Yes, it fits."
    assert served_completion(text) == "Yes, it fits."
    chat = [{"role": "assistant", "content": text}]
    assert served_completion(chat) == [{"role": "assistant", "content": "Yes, it fits."}]
    assert served_completion("<reasoning>\nAvailable credit") == ""  # never closed: nothing shown
    assert served_completion("Sure, happy to help.") == "Sure, happy to help."
