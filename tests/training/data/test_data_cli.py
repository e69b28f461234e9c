"""`more data generate` through typer's CliRunner."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from more_cli.main import app
from training.data.ecommerce import load_split


def _run(out: Path, seed: int = 4) -> str:
    result = CliRunner().invoke(
        app,
        [
            "data", "generate", "--seed", str(seed), "--out", str(out),
            "--n-train", "50", "--n-dev", "10", "--n-test", "12", "--n-hard", "14",
            "--n-train-terms", "6",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.output


def test_data_generate_writes_splits_card_and_summary(tmp_path: Path) -> None:
    output = _run(tmp_path / "a")
    for split, n in (("train", 56), ("dev", 10), ("test", 12), ("hard", 14)):
        assert len(load_split(tmp_path / "a", split)) == n
        assert any(line.split()[:2] == [split, str(n)] for line in output.splitlines())
    card = (tmp_path / "a" / "README.md").read_text()
    assert "--seed 4" in card and "| purchase_fit |" in card
    assert "wrote 92 examples" in output


def test_data_generate_is_reproducible(tmp_path: Path) -> None:
    _run(tmp_path / "a")
    _run(tmp_path / "b")
    _run(tmp_path / "c", seed=5)
    a, b, c = ((tmp_path / d / "train.jsonl").read_bytes() for d in "abc")
    assert a == b
    assert a != c
