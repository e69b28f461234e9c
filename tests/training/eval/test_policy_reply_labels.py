"""The reply parser against policy replies a person labelled by reading.

`tests/fixtures/policy_replies_labelled.jsonl`: replies of the trained policies on the
test split, and replies the live service sent with the reply guard enforcing (test and
hard splits, `served-more`) (sampled by `python -m training.eval.judge sample`, spread over
gold actions),
each with the turn the policy saw and a reader's labels: the stance, the decline reasons
given, every amount stated, whether every number is right and whether every claim about
the shopper is true. Training, evaluation and the reply guard all read replies with the
parser, so its agreement with these labels bounds what their figures mean.
"""

from __future__ import annotations

import json
from pathlib import Path

from app.domain.checks import TurnFacts, forbidden_approval, verify
from app.domain.profile import Profile, StorefrontContext
from app.domain.rules import Action, Intent
from training.eval.judge import agreement

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "policy_replies_labelled.jsonl"


def _labelled() -> list[dict]:
    return [json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip()]


def test_labels_cover_every_stance_and_both_policies() -> None:
    rows = _labelled()
    assert len(rows) >= 300
    assert {r["stance"] for r in rows} == {a.value for a in Action}
    assert {r["policy"] for r in rows} >= {"scaffold", "more", "served-more"}
    assert sum(r["policy"] == "served-more" for r in rows) >= 100
    assert all(isinstance(r["numeric_ok"], bool) and isinstance(r["state_ok"], bool) for r in rows)


def test_parser_agrees_with_the_reader() -> None:
    result = agreement(_labelled())
    summary = result.summary

    assert summary["stance_agreement"] >= 0.95, result.confusion_markdown()
    assert summary["decline_reason_agreement"] >= 0.95, result.disagreements
    assert summary["amount_agreement"] >= 0.95, result.disagreements
    # Amounts are read in their role (a monthly payment is a price over a term, a
    # shortfall is the shortfall, a price is a price, no fact licenses an income or a
    # credit score). 330 rows agreed on 0.994; the 240 read on 2026-12-06 agree on 0.946:
    # the reader also rejects licensed numbers the parser leaves to the state check (a
    # limit and available credit swapped), a cart's shortfall given for one of its items,
    # a price a cent off. Every such reply the reader rejects that approves is still held
    # by the decision and state checks (below).
    assert summary["numeric_verdict_agreement"] >= 0.97, result.disagreements
    # State: 570 rows agreed on 0.972; the 200 read later on 2026-12-06 (generator-3
    # policies) on 0.955, 8 of the 9 misses one phrasing: "Right now you can spend up to
    # $X on credit" to a shopper who may not use the credit (region, age, standing,
    # identity). The readers split on it (the later ones call it a false eligibility
    # claim, 11 earlier rows accept it); the parser now takes the stricter reading, what
    # a shopper would act on, and generator 5 says it only to shoppers who may use the
    # credit ("up to $0" claims nothing). All 770 rows: 0.968 before, 0.966 now.
    assert summary["state_verdict_agreement"] >= 0.96, result.disagreements
    # Nothing else is read as an approval. The other way, the parser reads a "yes, you can
    # pay in instalments" given to a question about something else (credit info) as
    # `inform`, as the rules frame that question: 3 served replies, all to eligible shoppers.
    approvals = {(g, p): n for (g, p), n in result.confusion.items() if "approve" in (g, p)}
    assert all(g == "approve" for (g, p) in approvals), approvals
    assert sum(n for (g, p), n in approvals.items() if g != p) <= 3, approvals


def test_every_approval_a_reader_sees_that_the_rules_forbid_fails_the_checks() -> None:
    """The confusion the guard cannot afford: credit the rules forbid, said yes to, sent."""
    forbidden = []
    for row in _labelled():
        facts = TurnFacts(
            profile=Profile.model_validate(row["profile"]),
            context=StorefrontContext.model_validate(row.get("context") or {}),
            message=row["message"],
            intent=Intent(row["intent"]),
            history=tuple(row.get("history") or ()),
        )
        if row["stance"] == "approve" and forbidden_approval(facts):
            forbidden.append(row["id"])
            assert not verify(facts, row["reply"]).passed, row["id"]
    assert forbidden  # the fixture holds such replies (one of them served before a fix)
