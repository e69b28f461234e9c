"""Parser accuracy on hand-labelled replies (targets from the task issue)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.rewards.reasoning.fixtures import FixtureReport, measure

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"
SCENARIOS = FIXTURES / "parser_scenarios.json"


@pytest.fixture(scope="module")
def main_report() -> FixtureReport:
    return measure(FIXTURES / "parser_replies.jsonl", SCENARIOS)


def test_parser_fixtures_are_large_and_cover_every_stance() -> None:
    rows = [
        json.loads(line) for line in (FIXTURES / "parser_replies.jsonl").read_text().splitlines()
    ]
    assert len(rows) >= 150
    assert {r["stance"] for r in rows} == {"approve", "decline", "ask_info", "handoff", "inform"}
    assert sum(not r["numeric_ok"] for r in rows) >= 10  # invented amounts are represented
    assert sum(not r["state_ok"] for r in rows) >= 10  # false claims too


def test_parser_stance_and_amount_accuracy(
    main_report: FixtureReport, record_property: pytest.RecordProperty
) -> None:
    summary = main_report.summary
    for key, value in summary.items():
        record_property(key, round(value, 4))
    print(f"\nreply parser on {main_report.n} fixtures: {summary}")
    assert summary["stance_accuracy"] >= 0.95, main_report.errors
    assert summary["amount_extraction_accuracy"] >= 0.98, main_report.errors
    assert summary["count_extraction_accuracy"] >= 0.98, main_report.errors


def test_parser_numeric_and_state_verdicts(main_report: FixtureReport) -> None:
    assert main_report.summary["numeric_verdict_accuracy"] >= 0.95, main_report.errors
    assert main_report.summary["state_verdict_accuracy"] >= 0.95, main_report.errors


@pytest.mark.parametrize("batch", ["heldout", "blind"])
def test_parser_later_batches(batch: str, record_property: pytest.RecordProperty) -> None:
    """Batches written after the rules were frozen, then fixed (see docs/results.md)."""
    report = measure(FIXTURES / f"parser_replies_{batch}.jsonl", SCENARIOS)
    for key, value in report.summary.items():
        record_property(f"{batch}_{key}", round(value, 4))
    assert report.summary["stance_accuracy"] >= 0.95, report.errors
    assert report.summary["amount_extraction_accuracy"] >= 0.98, report.errors
