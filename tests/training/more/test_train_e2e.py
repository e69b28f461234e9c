"""Both stages end to end on the tiny random model: run outputs and a servable adapter."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.training.more.more_testdata import (
    action_word_reward,
    make_examples,
    short_reward,
    vowel_reward,
)

pytestmark = pytest.mark.slow

CONSTRAINTS = ["action_word_reward"]
LINGUISTIC = ["short_reward", "vowel_reward", "concision_like_reward"]


def concision_like_reward(prompts: Any, completions: Any, **kwargs: Any) -> list[float | None]:
    """Rewards replies that end early: conflicts with nothing in particular (third signal)."""
    return [float(len(str(c)) < 40) for c in completions]


@dataclass(frozen=True)
class Runs:
    scaffold: Path
    more: Path
    scaffold_summary: dict[str, Any]
    more_summary: dict[str, Any]


@pytest.fixture(scope="session")
def runs(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Runs:
    from trl import SFTConfig

    from training.more.config import MoreConfig
    from training.more.run import RunArgs, train_more, train_scaffold

    root = tmp_path_factory.mktemp("more-e2e")
    data = root / "train.jsonl"
    data.write_text("".join(ex.model_dump_json() + "\n" for ex in make_examples()))
    run = RunArgs(
        model_name_or_path=str(tiny_model_dir),
        train_file=str(data),
        lora_r=4,
        lora_alpha=8,
        lora_dropout=0.0,
        lora_target_modules=["q_proj", "v_proj"],
        eval_after=False,
    )
    common = {"use_cpu": True, "report_to": [], "logging_steps": 1, "seed": 0, "disable_tqdm": True}
    scaffold_cfg = SFTConfig(
        output_dir=str(root / "scaffold"),
        max_steps=2,
        per_device_train_batch_size=2,
        learning_rate=5e-2,
        max_length=512,
        save_strategy="no",
        **common,
    )
    scaffold_summary = train_scaffold(run, scaffold_cfg)
    more_cfg = MoreConfig(
        output_dir=str(root / "more"),
        max_steps=2,
        per_device_train_batch_size=4,
        num_generations=2,
        max_completion_length=8,
        learning_rate=5e-2,
        beta=0.05,
        save_strategy="steps",
        save_steps=2,
        constraint_rewards=CONSTRAINTS,
        linguistic_rewards=LINGUISTIC,
        weight_update_interval=1,
        lambda_warmup_steps=0,
        scaffold_path=scaffold_summary["adapter"],
        **common,
    )
    more_summary = train_more(
        run, more_cfg, [action_word_reward, short_reward, vowel_reward, concision_like_reward]
    )
    return Runs(root / "scaffold", root / "more", scaffold_summary, more_summary)


def test_train_scaffold_writes_run_outputs(runs: Runs) -> None:
    assert (runs.scaffold / "run_config.yaml").is_file()
    assert (runs.scaffold / "adapter" / "adapter_config.json").is_file()
    lines = (runs.scaffold / "metrics.jsonl").read_text().splitlines()
    assert sum("loss" in json.loads(x) for x in lines) == 2
    assert runs.scaffold_summary["steps"] == 2


def test_train_more_logs_every_metric_per_step(runs: Runs) -> None:
    from training.more.metrics import read_metrics

    rows = read_metrics(runs.more / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2]
    for row in rows:
        for name in CONSTRAINTS:
            assert 0.0 <= row[f"constraints/{name}/mean"] <= 1.0
            assert row[f"constraints/{name}/lambda"] > 0.0
        weights = [row[f"weights/{name}"] for name in LINGUISTIC]
        assert sum(weights) == pytest.approx(1.0)
        for name in CONSTRAINTS + LINGUISTIC:
            assert f"rewards/{name}/mean" in row
        for key in ("kl", "loss", "step_time"):
            assert row[key] is not None
    # the action word never appears in random text: the constraint is violated, so λ rose
    assert rows[1]["constraints/action_word_reward/lambda"] > 1.0
    assert {p.name for p in (runs.more / "plots").iterdir()} >= {
        "rewards.png",
        "constraints.png",
        "lambdas.png",
        "weights.png",
        "training.png",
    }


def test_train_more_checkpoints_carry_multipliers_and_weights(runs: Runs) -> None:
    state = json.loads((runs.more / "checkpoint-2" / "more_state.json").read_text())
    assert set(state["multipliers"]) == set(CONSTRAINTS)
    assert len(state["weights"]["weights"]) == len(LINGUISTIC)
    assert runs.more_summary["more_state"]["updates"] == 2


def test_train_more_adapter_is_the_policy_only(runs: Runs) -> None:
    adapter = runs.more / "adapter"
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert config["peft_type"] == "LORA" and config["r"] == 4
    assert (adapter / "adapter_model.safetensors").is_file()
    assert not (adapter / "ref").exists()  # TRL's frozen reference copy is not shipped


def test_train_more_adapter_carries_a_model_card(runs: Runs) -> None:
    card = (runs.more / "adapter" / "README.md").read_text()

    for section in ("## Command", "## Config", "## Seed", "## Data", "## Evaluation"):
        assert section in card
    assert "mode: more" in card  # the resolved run file is reproduced
    assert "sha256" in card  # the training data is identified by its hash


async def test_train_more_adapter_changes_served_greedy_reply(
    runs: Runs, tiny_model_dir: Path
) -> None:
    from app.engine.base import Adapter, SamplingSettings
    from app.engine.config import EngineConfig
    from app.engine.hf import TransformersEngine

    adapter = Adapter(name="more-tiny", path=str(runs.more / "adapter"))
    engine = TransformersEngine(
        EngineConfig(backend="transformers", model_path=str(tiny_model_dir), cpu_threads=1),
        adapters=[adapter],
    )
    await engine.start()
    try:
        messages = make_examples()[0].messages()
        greedy = SamplingSettings(max_tokens=12)
        base = await engine.generate(messages, greedy)
        tuned = await engine.generate(messages, greedy, adapter=adapter)
    finally:
        await engine.close()
    assert base.text != tuned.text
