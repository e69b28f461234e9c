"""`more multiwoz export` and `dataset` on the fixture release; `--data auto` resolution."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from more_cli.main import app
from training.data.multiwoz.load import resolve_data
from training.data.multiwoz.turn import MultiWozTurn


def _common(fixture_release: Path) -> list[str]:
    return [
        "--data",
        "multiwoz22",
        "--root",
        str(fixture_release),
        "--db",
        str(fixture_release.parent / "db"),
    ]


def test_cli_export_writes_turn_records(fixture_release: Path, tmp_path: Path) -> None:
    out = tmp_path / "turns.jsonl"
    done = CliRunner().invoke(
        app, ["multiwoz", "export", "--split", "test", "--out", str(out), *_common(fixture_release)]
    )
    assert done.exit_code == 0, done.output
    turns = [MultiWozTurn.model_validate_json(line) for line in out.read_text().splitlines()]
    assert [t.key for t in turns][:2] == ["fix00001/0", "fix00001/1"] and len(turns) == 6


def test_cli_dataset_saves_grpo_rows(fixture_release: Path, tmp_path: Path) -> None:
    from datasets import load_from_disk

    out = tmp_path / "ds"
    done = CliRunner().invoke(
        app,
        ["multiwoz", "dataset", "--split", "train", "--out", str(out), *_common(fixture_release)],
    )
    assert done.exit_code == 0, done.output
    dataset = load_from_disk(str(out))
    assert len(dataset) == 3
    assert dataset[0]["prompt"][-1] == {
        "role": "user",
        "content": "I need a cheap place to eat in the north.",
    }


def test_resolve_data_auto(monkeypatch: pytest.MonkeyPatch, fixture_release: Path) -> None:
    monkeypatch.delenv("MORE_MULTIWOZ_DIR", raising=False)
    assert resolve_data("auto", None) == "multiwoz21"
    assert resolve_data("auto", fixture_release) == "multiwoz22"
    monkeypatch.setenv("MORE_MULTIWOZ_DIR", str(fixture_release))
    assert resolve_data("auto", None) == "multiwoz22"
    assert resolve_data("multiwoz21", None) == "multiwoz21"


def test_baseline_generates_one_reply_per_turn(
    fixture_release: Path, fixture_db, tiny_model_dir: Path
) -> None:
    from training.data.multiwoz import official22
    from training.multiwoz.baseline import generate_predictions
    from training.multiwoz.evaluator import PredictedTurn, evaluate, group_dialogues

    turns = list(official22.iter_turns("test", fixture_release, db=fixture_db))
    predictions = generate_predictions(
        turns, model=str(tiny_model_dir), max_new_tokens=4, batch_size=4
    )
    assert {k: len(v) for k, v in predictions.items()} == {
        "fix00001": 3,
        "fix00002": 2,
        "fix00003": 1,
    }
    assert all(isinstance(p["response"], str) for v in predictions.values() for p in v)
    parsed = {k: [PredictedTurn(response=p["response"]) for p in v] for k, v in predictions.items()}
    result = evaluate(parsed, group_dialogues(turns), fixture_db, mode="lex")
    assert result.turns == 6 and 0.0 <= result.bleu <= 100.0
