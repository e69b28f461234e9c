"""Evaluation end to end on the tiny random model: generation, scoring, JSON + markdown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from training.data.ecommerce.io import write_split
from training.data.schema import TaskExample
from training.eval.cli import register
from training.eval.policies import TransformersPolicy, make_policy
from training.eval.runner import evaluate
from training.rewards.linguistic import get_concision_reward, get_fluency_reward
from training.rewards.linguistic.naturalness import get_naturalness_reward

CONSTRAINTS = {"decision", "numeric", "state", "handoff"}
LINGUISTIC = {"fluency", "naturalness", "concision"}


@pytest.fixture(scope="session")
def tiny_policy(tiny_model_dir: Path) -> TransformersPolicy:
    import torch

    policy = TransformersPolicy.from_path(tiny_model_dir, max_new_tokens=6, batch_size=2)
    # The random model's greedy pick is a newline, which strips to an empty reply; blank
    # that output row so replies carry text for the rewards to score.
    newline = policy.tokenizer("\n", add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        policy.model.get_output_embeddings().weight[newline] = 0.0
    return policy


def test_evaluate_tiny_model_writes_json_and_markdown_reports(
    tiny_policy: TransformersPolicy,
    tiny_model_dir: Path,
    eval_examples: list[TaskExample],
    tmp_path: Path,
) -> None:
    linguistic = {
        "fluency_reward": get_fluency_reward(tiny_model_dir),
        "naturalness_reward": get_naturalness_reward(),
        "concision_reward": get_concision_reward(),
    }
    result = evaluate(
        tiny_policy,
        eval_examples,
        split="dev",
        linguistic=linguistic,
        out_dir=tmp_path,
        progress=False,
        settings={"note": "tiny"},
    )
    report = json.loads((tmp_path / "report.json").read_text())
    assert report == json.loads(json.dumps(result.report))
    assert {"policy", "split", "threshold", "settings", "overall", "by_intent", "by_action"} <= set(
        report
    )
    overall = report["overall"]
    assert overall["n"] == len(eval_examples) and overall["errors"] == 0
    assert set(overall["constraints"]) == CONSTRAINTS  # every registered reasoning function
    for figures in overall["constraints"].values():
        assert 0.0 <= figures["satisfied"] <= 1.0 and 0.0 <= figures["mean"] <= 1.0
    assert 0.0 <= overall["all_satisfied"] <= 1.0
    assert set(overall["linguistic"]) == LINGUISTIC
    assert all(0.0 <= v <= 1.0 for v in overall["linguistic"].values())
    assert 0 < overall["reply_tokens"]["mean"] <= 6 + 1
    assert overall["latency_s"]["p50"] > 0
    assert report["generation"]["generated_tokens"] > 0 and report["settings"]["note"] == "tiny"
    assert set(report["by_intent"]) == {ex.intent.value for ex in eval_examples}
    assert set(report["by_action"]) == {ex.decision.action.value for ex in eval_examples}
    assert sum(g["n"] for g in report["by_intent"].values()) == len(eval_examples)
    # A random model fails the task: each failing function lists replies with reasons.
    assert report["failures"] and all(
        s["reason"] for samples in report["failures"].values() for s in samples
    )

    markdown = (tmp_path / "report.md").read_text()
    assert markdown == result.markdown
    headings = ("## Overall", "## Per intent", "## Per gold action", "## Sample failures")
    for heading in (*headings, "**all**"):
        assert heading in markdown
    for name in CONSTRAINTS | LINGUISTIC | {ex.intent.value for ex in eval_examples}:
        assert name in markdown

    rows = [json.loads(line) for line in (tmp_path / "replies.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [ex.id for ex in eval_examples]
    for r in rows:
        assert set(r["constraints"]) == CONSTRAINTS and set(r["reasons"]) == CONSTRAINTS


def test_transformers_policy_replies_and_restores_training_mode(
    tiny_policy: TransformersPolicy, eval_examples: list[TaskExample]
) -> None:
    tiny_policy.model.train()
    replies = tiny_policy.generate(eval_examples[:3])
    assert not any(r.error for r in replies)
    assert all(1 <= (r.generated_tokens or 0) <= 6 and r.latency_s > 0 for r in replies)
    assert tiny_policy.model.training  # a trainer's model goes back to training mode
    tiny_policy.model.eval()
    # Greedy decoding is deterministic.
    assert [r.text for r in tiny_policy.generate(eval_examples[:3])] == [r.text for r in replies]


def test_adapter_policy_loads_a_lora_adapter(
    tiny_model_dir: Path, eval_examples: list[TaskExample], tmp_path: Path
) -> None:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    config = LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    get_peft_model(base, config).save_pretrained(tmp_path / "adapter")

    policy = make_policy(
        f"adapter:{tmp_path / 'adapter'}", model_path=str(tiny_model_dir), max_new_tokens=4
    )
    assert policy.name == f"adapter:{tmp_path / 'adapter'}"
    replies = policy.generate(eval_examples[:2])
    policy.close()
    assert all(r.error is None and r.generated_tokens for r in replies)


def test_more_eval_cli_writes_reports(
    tiny_model_dir: Path, eval_examples: list[TaskExample], tmp_path: Path
) -> None:
    write_split(eval_examples, tmp_path / "data" / "dev.jsonl")
    app = typer.Typer()
    app.callback()(lambda: None)  # keep `eval` a subcommand, as under `more`
    register(app)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "eval",
            "--policy", "base",
            "--model-path", str(tiny_model_dir),
            "--split", "dev",
            "--data", str(tmp_path / "data"),
            "--limit", "3",
            "--out", str(out),
            "--max-new-tokens", "4",
            "--reward", "decision_reward",
            "--reward", "concision",
            "--no-progress",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["overall"]["n"] == 3 and report["split"] == "dev"
    assert set(report["overall"]["constraints"]) == {"decision"}
    assert set(report["overall"]["linguistic"]) == {"concision"}
    assert report["settings"]["limit"] == 3
    assert (out / "report.md").is_file() and (out / "replies.jsonl").is_file()
    assert "all constraints satisfied by" in result.output and "report.md" in result.output


def test_replay_scores_an_earlier_evaluations_replies_again(
    eval_examples: list[TaskExample], tmp_path: Path
) -> None:
    """`more eval --policy replay:<replies.jsonl>` re-scores stored replies (after a change
    to the checks) without a model: the same rows, today's scores."""
    write_split(eval_examples, tmp_path / "data" / "dev.jsonl")
    approve_all = "Yes! You can pay for it in instalments."
    stored = tmp_path / "replies.jsonl"
    stored.write_text(
        "".join(
            json.dumps({"id": ex.id, "reply": approve_all, "latency_s": 0.5, "truncated": False})
            + "\n"
            for ex in eval_examples
        )
    )
    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    out = tmp_path / "out"
    args = ["eval", "--policy", f"replay:{stored}", "--split", "dev"]
    args += ["--data", str(tmp_path / "data"), "--out", str(out), "--no-progress"]
    result = CliRunner().invoke(app, args)

    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / "replies.jsonl").read_text().splitlines()]
    assert [r["reply"] for r in rows] == [approve_all] * len(eval_examples)
    by_id = {r["id"]: r for r in rows}
    assert by_id["dev-1-0"]["constraints"]["decision"] == 1.0  # the lamp fits
    assert by_id["dev-2-0"]["constraints"]["decision"] == 0.0  # $900 is over $600
    report = json.loads((out / "report.json").read_text())
    assert report["settings"]["verdict"] == "as recorded"

    stored.write_text(json.dumps({"id": "dev-1-0", "reply": approve_all}) + "\n")
    missing = CliRunner().invoke(app, args)
    # The wrong file for the split is the command line's mistake: a message, exit 2.
    assert missing.exit_code == 2
    assert f"no reply to {len(eval_examples) - 1} of these examples" in missing.output
    assert "Traceback" not in missing.output
    absent = CliRunner().invoke(app, ["eval", "--policy", "replay:/nope.jsonl", *args[3:]])
    assert absent.exit_code == 2 and "is not a replies.jsonl file" in absent.output


def test_inferred_prompts_read_an_unplaceable_follow_up_as_an_earlier_request(
    eval_examples: list[TaskExample],
) -> None:
    """As the chat service does: "why not?" after a purchase question gets that
    purchase's verdict line; on its own it gets none."""
    from training.eval.policies import prompt_for

    purchase = eval_examples[1]  # $900 lamp, $600 available: a decline
    follow_up = purchase.model_copy(
        update={
            "message": "why not?",
            "history": [
                {"role": "user", "content": purchase.message},
                {"role": "assistant", "content": "I'm sorry, it's over your credit."},
            ],
        }
    )
    alone = purchase.model_copy(update={"message": "why not?"})
    assert "Verdict: decline" in prompt_for(follow_up, "inferred")[0]["content"]
    assert "Verdict:" not in prompt_for(alone, "inferred")[0]["content"]
