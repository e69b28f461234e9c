"""The same training command under `accelerate launch` with two CPU processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
HELPERS = "tests.training.more.more_testdata"


def test_accelerate_two_cpu_processes_train_more(tmp_path: Path, tiny_model_dir: Path) -> None:
    from tests.training.more.more_testdata import make_examples

    data = tmp_path / "train.jsonl"
    data.write_text("".join(ex.model_dump_json() + "\n" for ex in make_examples()))
    run_file = tmp_path / "run.yaml"
    run_file.write_text(
        yaml.safe_dump(
            {
                "model_name_or_path": str(tiny_model_dir),
                "train_file": str(data),
                "lora_r": 4,
                "lora_alpha": 8,
                "lora_target_modules": ["q_proj", "v_proj"],
                "eval_after": False,
                "constraint_rewards": [f"{HELPERS}:action_word_reward"],
                "linguistic_rewards": [f"{HELPERS}:short_reward", f"{HELPERS}:vowel_reward"],
                "output_dir": str(tmp_path / "out"),
                "use_cpu": True,
                "max_steps": 2,
                "per_device_train_batch_size": 2,
                "num_generations": 2,
                "max_completion_length": 8,
                "learning_rate": 0.05,
                "beta": 0.05,
                "logging_steps": 1,
                "save_strategy": "no",
                "report_to": [],
                "weight_update_interval": 1,
                "lambda_warmup_steps": 0,
                "disable_tqdm": True,
            }
        )
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    launcher = Path(sys.executable).with_name("accelerate")
    result = subprocess.run(
        [
            str(launcher),
            "launch",
            "--config_file",
            str(REPO / "training/configs/accelerate/cpu_2proc.yaml"),
            str(REPO / "training/train.py"),
            "more",
            "--config",
            str(run_file),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["processes"] == 2 and summary["steps"] == 2
    assert (tmp_path / "out" / "adapter" / "adapter_model.safetensors").is_file()
    rows = [json.loads(x) for x in (tmp_path / "out" / "metrics.jsonl").read_text().splitlines()]
    assert sum("loss" in r for r in rows) == 2  # rank 0 alone writes the metrics
    assert rows[1]["constraints/action_word_reward/lambda"] > 1.0
