"""The reply parser against policy replies a person labelled by reading.

`tests/fixtures/policy_replies_labelled.jsonl`: replies of the trained policies on the
test split (sampled by `python -m training.eval.judge sample`, spread over gold actions),
each with the turn the policy saw and a reader's labels: the stance, the decline reasons
given, every amount stated, whether every number is right and whether every claim about
the shopper is true. Training, evaluation and the reply guard all read replies with the
parser, so its agreement with these labels bounds what their figures mean.
"""

from __future__ import annotations

import json
from pathlib import Path

from app.domain.rules import Action
from training.eval.judge import agreement

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "policy_replies_labelled.jsonl"


def _labelled() -> list[dict]:
    return [json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip()]


def test_labels_cover_every_stance_and_both_policies() -> None:
    rows = _labelled()
    assert len(rows) >= 200
    assert {r["stance"] for r in rows} == {a.value for a in Action}
    assert {r["policy"] for r in rows} >= {"scaffold", "more"}
    assert all(isinstance(r["numeric_ok"], bool) and isinstance(r["state_ok"], bool) for r in rows)


def test_parser_agrees_with_the_reader() -> None:
    result = agreement(_labelled())
    summary = result.summary

    assert summary["stance_agreement"] >= 0.95, result.confusion_markdown()
    assert summary["decline_reason_agreement"] >= 0.95, result.disagreements
    assert summary["amount_agreement"] >= 0.95, result.disagreements
    # Amounts are read in their role (a monthly payment is a price over a term, a
    # shortfall is the shortfall): 219 of 220 agree; the one miss is "3 hours a month".
    assert summary["numeric_verdict_agreement"] >= 0.99, result.disagreements
    assert summary["state_verdict_agreement"] >= 0.95, result.disagreements
    # No reply a reader sees as an approval is read as anything else, nor the reverse:
    # the one confusion the guard cannot afford.
    approvals = {(g, p): n for (g, p), n in result.confusion.items() if "approve" in (g, p)}
    assert all(g == p for (g, p) in approvals), approvals
