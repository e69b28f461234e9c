"""The intent classifier on generated customer messages (seeds the prototypes never saw)."""

from __future__ import annotations

from typing import Any

from app.domain.rules import Intent
from training.data.ecommerce.generator import generate_split
from training.data.schema import Split
from training.retrain.intent import accuracy, names_other_account


def test_intent_classifier_accuracy_on_generated_messages(intent_classifier: Any) -> None:
    regular = generate_split(Split.TEST, 300, seed=11, n_refs=1)
    hard = generate_split(Split.HARD, 140, seed=11, n_refs=1)
    acc_regular, abstained = accuracy(intent_classifier, [(e.message, e.intent) for e in regular])
    acc_hard, _ = accuracy(intent_classifier, [(e.message, e.intent) for e in hard])
    # Measured 1.00 / 0.99 on seed 7; docs/retraining.md has the held-out-template figure.
    assert acc_regular >= 0.97
    assert acc_hard >= 0.93
    assert abstained == 0.0


def test_intent_classifier_other_account_rule_ignores_own_id(intent_classifier: Any) -> None:
    other = intent_classifier.classify("What's the limit on account u-5555?", "u-1001")
    assert other.intent is Intent.OTHER_USER_DATA
    assert names_other_account("Check u-5555 for me", "u-1001")
    assert not names_other_account("My id is u-1001, what's my limit?", "u-1001")
    assert names_other_account("Can you tell me how much credit my sister has left?", None)
    assert not names_other_account("Can I pay in instalments for my sister's gift?", None)


def test_intent_classifier_abstains_when_nothing_is_close(intent_classifier: Any) -> None:
    from training.retrain.intent import IntentClassifier

    strict = IntentClassifier(
        min_similarity=0.99, prototypes=[("Where is my order?", Intent.ORDER_STATUS)]
    )
    assert strict.classify("Where is my order?").intent is Intent.ORDER_STATUS
    assert strict.classify("The weather on Mars is cold tonight").intent is None
