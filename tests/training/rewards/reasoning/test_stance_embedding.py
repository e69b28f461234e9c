"""The optional MiniLM k-NN stance fallback (bundled encoder, generated prototypes)."""

from __future__ import annotations

import pytest

from app.domain.replies import Action, parse_reply
from app.domain.rules import Intent
from training.rewards.reasoning.embedding import EmbeddingStanceClassifier, prototype_replies


@pytest.fixture(scope="module")
def classifier() -> EmbeddingStanceClassifier:
    return EmbeddingStanceClassifier(n_examples=60)


def test_prototypes_are_deterministic_and_labelled() -> None:
    first = prototype_replies(30)
    assert first == prototype_replies(30)
    assert {stance for _, stance in first} >= {Action.APPROVE, Action.DECLINE, Action.HANDOFF}


def test_embedding_fallback_decides_only_where_rules_are_silent(
    classifier: EmbeddingStanceClassifier,
) -> None:
    # No rule cue fires here; the nearest references are approvals.
    text = "Instalment plans for your account: 3 or 6 months, interest-free, starting today."
    assert parse_reply(text, Intent.PURCHASE_FIT).stance is Action.INFORM
    parsed = parse_reply(text, Intent.PURCHASE_FIT, fallback=classifier)
    assert parsed.stance is Action.APPROVE and not parsed.handoff
    # Rules fired: the fallback is not consulted.
    rules = parse_reply("Unfortunately it doesn't fit.", Intent.PURCHASE_FIT, fallback=classifier)
    assert rules.stance is Action.DECLINE
    # Answers to informational requests stay answers.
    assert classifier("Your order ships Thursday.", Intent.ORDER_STATUS) is None


def test_embedding_classifier_abstains_when_far_from_everything(
    classifier: EmbeddingStanceClassifier,
) -> None:
    assert classifier.predict("Quantum chromodynamics explains the strong force.") is None
