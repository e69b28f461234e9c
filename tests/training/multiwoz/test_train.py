"""MultiWOZ SFT and MORE runs end to end on the tiny model and the fixture release.

The shipped run files are loaded and overridden (tiny model, fixture data, 2 steps), so
these tests check the configs and the `more multiwoz train` path together.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from more_cli.main import app
from training.data.multiwoz.db import VenueDB
from training.data.multiwoz.paths import ENV_DB, REPO_ROOT

CONFIGS = REPO_ROOT / "training" / "configs" / "multiwoz"
TINY = {
    "per_device_train_batch_size": 2,
    "lora_r": 4,
    "lora_alpha": 8,
    "lora_dropout": 0.0,
    "lora_target_modules": ["q_proj", "v_proj"],
    "learning_rate": 5e-2,
    "save_strategy": "no",
    "disable_tqdm": True,
}
CONSTRAINTS = [
    "offered_entities_reward",
    "requested_attributes_reward",
    "no_invention_reward",
    "booking_claim_reward",
]


@dataclass(frozen=True)
class Runs:
    sft: Path
    more: Path
    sft_summary: dict[str, Any]
    more_summary: dict[str, Any]


def _fixture_data(fixture_release: Path) -> dict[str, Any]:
    return {
        "data": "multiwoz22",
        "data_root": str(fixture_release),
        "split": "train",
        "dialogues": None,
        "eval_dialogues": 1,
        "eval_max_new_tokens": 4,
    }


@pytest.fixture(scope="module")
def runs(
    tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, fixture_release: Path
) -> Runs:
    from training.multiwoz.train import load_multiwoz_run, train_multiwoz

    root = tmp_path_factory.mktemp("multiwoz-train")
    common = {"model_name_or_path": str(tiny_model_dir), **_fixture_data(fixture_release), **TINY}
    with pytest.MonkeyPatch.context() as mp:
        # The reasoning rewards read the configured DB: the fixture's, not the shared copy.
        mp.setenv(ENV_DB, str(fixture_release.parent / "db"))
        sft_args = load_multiwoz_run(
            CONFIGS / "sft.yaml",
            "sft",
            {**common, "output_dir": str(root / "sft"), "max_steps": 2, "eval_after": True},
        )
        sft_summary = train_multiwoz("sft", *sft_args)
        more_args = load_multiwoz_run(
            CONFIGS / "more.yaml",
            "more",
            {
                **common,
                "output_dir": str(root / "more"),
                "max_steps": 2,
                "eval_after": False,
                "scaffold_path": sft_summary["adapter"],
                "num_generations": 2,
                "max_completion_length": 8,
                "lambda_warmup_steps": 0,
                "weight_update_interval": 1,
                # The models behind fluency and naturalness are tested elsewhere; concision
                # keeps the adapted linguistic path without loading them.
                "linguistic_rewards": ["training.multiwoz.rewards:concision_reward"],
            },
        )
        more_summary = train_multiwoz("more", *more_args)
    return Runs(root / "sft", root / "more", sft_summary, more_summary)


@pytest.mark.parametrize("name", ["sft", "mixed", "more"])
def test_multiwoz_configs_load_with_every_key_valid(name: str) -> None:
    from training.multiwoz.train import load_multiwoz_run

    run, mwoz, cfg = load_multiwoz_run(CONFIGS / f"{name}.yaml", "sft" if name == "sft" else "more")
    assert (mwoz.data, mwoz.split, mwoz.eval_split) == ("multiwoz21", "dev", "test")
    assert run.model_name_or_path is None  # the bundled SmolLM2
    if name != "sft":
        assert cfg.mode == name and not cfg.reference_conditioning
        assert cfg.scaffold_path == "runs/multiwoz/sft/adapter"
        assert [n.rpartition(":")[2] for n in cfg.constraint_rewards] == CONSTRAINTS
        assert len(cfg.reward_names) == 7


def test_multiwoz_run_rejects_task_keys_and_reasoning_reference(tmp_path: Path) -> None:
    from training.multiwoz.train import load_multiwoz_run

    with pytest.raises(ValueError, match="train_file"):
        load_multiwoz_run(CONFIGS / "sft.yaml", "sft", {"train_file": "x.jsonl"})
    with pytest.raises(ValueError, match="reference_conditioning: false"):
        load_multiwoz_run(CONFIGS / "more.yaml", "more", {"reference_conditioning": True})
    with pytest.raises(ValueError, match="not_a_key"):
        load_multiwoz_run(CONFIGS / "mixed.yaml", "more", {"not_a_key": 1})


def test_multiwoz_linguistic_rewards_read_turn_rows(
    fixture_release: Path, fixture_db: VenueDB
) -> None:
    from training.data.multiwoz import official22
    from training.more.rewards import resolve_rewards

    turn = next(official22.iter_turns("train", fixture_release, db=fixture_db))
    names = [f"training.multiwoz.rewards:{n}" for n in ("concision_reward", "fluency_reward")]
    concision, fluency = resolve_rewards(names)
    assert fluency.__name__ == "fluency_reward"  # metric keys use the short name
    scores = concision(None, ["Sure, it is cheap.", ""], example=[turn.model_dump_json()] * 2)
    assert scores == [1.0, 0.0]


def test_multiwoz_sft_writes_adapter_card_and_evaluation(runs: Runs) -> None:
    assert (runs.sft / "adapter" / "adapter_config.json").is_file()
    assert runs.sft_summary["steps"] == 2
    (label, figures), *_ = runs.sft_summary["evaluation"].items()
    assert label == "MultiWOZ 2.2 test, first 1 dialogues" and figures["dialogues"] == 1
    assert (runs.sft / "eval" / "predictions.json").is_file()
    card = (runs.sft / "adapter" / "README.md").read_text()
    assert "MultiWOZ 2.2 train" in card
    assert "bleu" in card.split("## Evaluation")[1]


def test_multiwoz_more_logs_multiwoz_constraints(runs: Runs) -> None:
    from training.more.metrics import read_metrics

    rows = read_metrics(runs.more / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2]
    for name in CONSTRAINTS:
        assert f"constraints/{name}/lambda" in rows[-1]
    assert rows[-1]["weights/concision_reward"] == pytest.approx(1.0)
    assert (runs.more / "adapter" / "adapter_model.safetensors").is_file()
    assert runs.more_summary["more_state"]["updates"] == 2


def test_multiwoz_predict_writes_predictions_the_evaluator_scores(
    runs: Runs, fixture_release: Path, tmp_path: Path
) -> None:
    data = ["--data", "multiwoz22", "--root", str(fixture_release), "--split", "test"]
    preds, result = tmp_path / "preds.json", tmp_path / "result.json"
    done = CliRunner().invoke(
        app,
        [
            *("multiwoz", "predict", "--adapter", str(runs.more / "adapter"), *data),
            *("--dialogues", "2", "--max-new-tokens", "4", "--batch-size", "4"),
            *("--out", str(preds), "--result", str(result)),
        ],
    )
    assert done.exit_code == 0, done.output
    assert "BLEU" in done.output and "(2 dialogues, 5 turns)" in done.output
    scored = json.loads(result.read_text())
    assert scored["adapter"] == str(runs.more / "adapter") and scored["dialogues"] == 2
    constraints = scored["constraints"]
    assert set(constraints) == {
        "offered_entities",
        "requested_attributes",
        "no_invention",
        "booking_claim",
    }
    assert constraints["booking_claim"]["turns"] == 5  # applies to every turn
    assert all(c["mean"] is None or 0.0 <= c["mean"] <= 1.0 for c in constraints.values())
    rescored = CliRunner().invoke(
        app, ["multiwoz", "eval", "--predictions", str(preds), "--mode", "lex", *data]
    )
    assert rescored.exit_code == 0, rescored.output
    assert f"BLEU {scored['bleu']:.2f}" in rescored.output
