"""The comparison scripts' arithmetic: per-turn outcomes from a report's replies, paired
intervals of their differences, and the table `benchmarks/against_shipped.py` writes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))

import against_shipped
from _policy_eval import paired_interval, passes


def _report(folder: Path, decisions: list[float | None]) -> Path:
    folder.mkdir(parents=True)
    rows = [
        {
            "id": f"t-{i}",
            "constraints": {"decision": d, "numeric": 1.0, "state": None, "handoff": 1.0},
        }
        for i, d in enumerate(decisions)
    ]
    (folder / "replies.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    (folder / "report.json").write_text("{}")
    return folder / "report.json"


def test_outcomes_and_their_paired_difference(tmp_path: Path) -> None:
    shipped = passes(_report(tmp_path / "a", [1.0, 0.0, 1.0, 0.0] * 25))
    candidate = passes(_report(tmp_path / "b", [1.0, 1.0, 1.0, 0.0] * 25))
    assert shipped["t-1"] == {
        "all": False,
        "decision": False,
        "numeric": True,
        "state": True,
        "handoff": True,
    }
    better = paired_interval(candidate, shipped, "decision")
    assert better["difference"] == pytest.approx(0.25) and better["n"] == 100
    assert 0 < better["ci_low"] < 0.25 < better["ci_high"]
    same = paired_interval(candidate, shipped, "numeric")
    assert same == {"difference": 0.0, "ci_low": 0.0, "ci_high": 0.0, "n": 100}


def test_the_table_shows_every_function_and_difference() -> None:
    overall = {
        "all_satisfied": 0.95,
        "constraints": {
            fn: {"satisfied": 0.99} for fn in ("decision", "numeric", "state", "handoff")
        },
        "linguistic": {"naturalness_reward": 0.85, "fluency_reward": 0.78},
        "reply_tokens": {"p95": 41.0},
        "degenerate": {"at_token_cap": 0, "repetition_loops": 1},
    }
    table = against_shipped.report_table(
        {p: {s: overall for s in against_shipped.SPLITS} for p in against_shipped.POLICIES},
        [
            {
                "split": "test",
                "metric": "all",
                "difference": 0.02,
                "ci_low": -0.01,
                "ci_high": 0.05,
                "n": 300,
            }
        ],
    )
    assert (
        "| candidate | hard | **0.950** | 0.990 | 0.990 | 0.990 | 0.990 | 0.850 | 0.780 | 41 | 0 | 1 |"  # noqa: E501
        in table
    )
    assert "| all | test | +0.020 | [-0.010, +0.050] | 300 |" in table
