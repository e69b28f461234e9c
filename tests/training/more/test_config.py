"""MoreConfig checks and run-file parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.more.config import MoreConfig
from training.more.run import load_run, save_resolved

BASE = {"output_dir": "/tmp/more-test-config", "use_cpu": True, "report_to": []}


def test_config_defaults_cover_design() -> None:
    cfg = MoreConfig(**BASE)
    assert cfg.mode == "more" and cfg.weighting == "alignment"
    assert cfg.targets == [0.95] * 4
    assert cfg.reward_names[:4] == cfg.constraint_rewards
    assert cfg.adaptive


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"mode": "bogus"}, "mode='bogus' is unknown"),
        ({"weighting": "adam"}, "weighting='adam' is unknown"),
        ({"constraint_targets": [0.9]}, "one τ per constraint"),
        ({"constraint_target": 1.5}, "outside"),
        ({"lambda_init": 50.0}, "raise lambda_max"),
        ({"weight_floor": 0.5}, "lower weight_floor"),
        ({"linguistic_rewards": ["decision_reward"]}, "both as constraint and linguistic"),
        ({"initial_weights": [1.0]}, "initial_weights has 1 values"),
    ],
)
def test_config_rejects_inconsistent_fields(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MoreConfig(**BASE, **overrides)


def test_config_ablations_freeze_weights() -> None:
    assert not MoreConfig(**BASE, mode="no_adaptive").adaptive
    assert not MoreConfig(**BASE, mode="mixed").adaptive
    assert not MoreConfig(**BASE, weighting="fixed").adaptive


def test_load_run_splits_run_and_trainer_keys(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(
        "train_file: data.jsonl\nlora_r: 4\noutput_dir: out\nuse_cpu: true\nreport_to: []\n"
        "mode: no_constraints\nlambda_lr: 0.2\n"
    )
    run, cfg = load_run(path, "more", {"max_steps": 3})
    assert run.train_file == "data.jsonl" and run.lora_r == 4
    assert isinstance(cfg, MoreConfig)
    assert cfg.mode == "no_constraints" and cfg.lambda_lr == 0.2 and cfg.max_steps == 3
    saved = save_resolved(run, cfg, tmp_path / "out")
    assert "lambda_lr: 0.2" in saved.read_text()


def test_load_run_rejects_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("output_dir: out\nuse_cpu: true\nlamda_lr: 0.2\n")
    with pytest.raises(ValueError, match="lamda_lr"):
        load_run(path, "more")


CONFIGS = Path(__file__).resolve().parents[3] / "training" / "configs"


@pytest.mark.parametrize("name", sorted(p.name for p in CONFIGS.glob("*.yaml")))
def test_shipped_run_files_parse(name: str) -> None:
    path = CONFIGS / name
    stage = "scaffold" if name.startswith(("scaffold", "sft")) else "more"
    _, cfg = load_run(path, stage, {"use_cpu": True})
    assert cfg.output_dir
