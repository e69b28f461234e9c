"""The shopper-intent classifier: generated messages, hand-written unseen phrasings, rules."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from app.domain.intents import (
    decided_alike,
    earlier_requests,
    in_context,
    intent_text,
    names_other_account,
)
from app.domain.profile import CartItem, StorefrontContext
from app.domain.rules import Intent
from app.engine.intent import MiniLMIntentClassifier, accuracy
from training.data.ecommerce.generator import generate_split
from training.data.schema import Split

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _labelled(name: str) -> list[tuple[str, Intent]]:
    rows = [json.loads(line) for line in (FIXTURES / name).read_text().splitlines() if line]
    return [(r["message"], Intent(r["intent"])) for r in rows]


def test_intent_on_generated_messages(intent_classifier: Any) -> None:
    regular = generate_split(Split.TEST, 300, seed=11, n_refs=1)
    hard = generate_split(Split.HARD, 140, seed=11, n_refs=1)
    # As serving reads them: the titles of the items in view said as "item".
    acc, abstained, _ = accuracy(
        intent_classifier, [(intent_text(e.message, e.context), e.intent) for e in regular]
    )
    acc_hard, _, _ = accuracy(
        intent_classifier, [(intent_text(e.message, e.context), e.intent) for e in hard]
    )
    assert acc >= 0.97 and abstained <= 0.01
    assert acc_hard >= 0.90


def test_intent_on_unseen_phrasings(intent_classifier: Any) -> None:
    """Hand-written messages in no prototype (tests/fixtures/intent_*.jsonl). `dev` was
    used to choose the thresholds; `heldout` only measures (docs/serving.md)."""
    for name, floor in (("intent_dev.jsonl", 0.95), ("intent_heldout.jsonl", 0.93)):
        labelled = _labelled(name)
        assert len(labelled) >= 70
        acc, abstained, when_answered = accuracy(intent_classifier, labelled)
        assert acc >= floor, (name, acc)
        # An abstention is safe (only intent-free checks run); a confident wrong intent
        # would make the guard judge the wrong question, so that rate must stay tiny.
        assert when_answered >= 0.97, (name, when_answered)
        assert abstained <= 0.06


def test_other_account_rule_ignores_own_id(intent_classifier: Any) -> None:
    other = intent_classifier.classify("What's the limit on account u-5555?", "u-1001")
    assert other.intent is Intent.OTHER_USER_DATA
    assert names_other_account("Check u-5555 for me", "u-1001")
    assert not names_other_account("My id is u-1001, what's my limit?", "u-1001")
    assert names_other_account("Can you tell me how much credit my sister has left?", None)
    assert names_other_account("What's my husband's credit limit?", None)
    assert not names_other_account("Can I pay in instalments for my sister's gift?", None)
    assert not names_other_account("Can I buy this for my dad on instalments?", None)


def test_classifier_abstains_when_nothing_is_close_or_the_vote_splits() -> None:
    from app.engine.bundled import load_minilm

    strict = MiniLMIntentClassifier(
        min_similarity=0.99,
        prototypes=[("Where is my order?", Intent.ORDER_STATUS)],
        encoder=load_minilm(),
    )
    assert strict.classify("Where is my order?").intent is Intent.ORDER_STATUS
    assert strict.classify("The weather on Mars is cold tonight").intent is None


def test_a_vote_split_only_between_intents_decided_alike_is_not_an_abstention() -> None:
    """Two prototypes with the same text: split between eligibility and a purchase, the
    decision is the same, so the classifier answers; split between a purchase and an
    order question it abstains."""
    from app.engine.bundled import load_minilm

    encoder = load_minilm()
    text = "How much would it be over 12 months?"
    alike = MiniLMIntentClassifier(
        k=2,
        min_share=0.6,
        prototypes=[(text, Intent.INSTALMENT_ELIGIBILITY), (text, Intent.PURCHASE_FIT)],
        encoder=encoder,
    )
    guess = alike.classify(text)
    assert guess.intent in (Intent.INSTALMENT_ELIGIBILITY, Intent.PURCHASE_FIT)
    assert guess.confidence == 1.0
    different = MiniLMIntentClassifier(
        k=2,
        min_share=0.6,
        prototypes=[(text, Intent.ORDER_STATUS), (text, Intent.PURCHASE_FIT)],
        encoder=encoder,
    )
    assert different.classify(text).intent is None
    assert decided_alike(Intent.INSTALMENT_ELIGIBILITY) is decided_alike(Intent.PURCHASE_FIT)
    assert decided_alike(Intent.CREDIT_INFO) is Intent.CREDIT_INFO


def test_the_earlier_requests_are_the_shoppers_messages_latest_first() -> None:
    history = [
        {"role": "user", "content": "Can I buy the TV on instalments?"},
        {"role": "assistant", "content": "No, your identity is not verified."},
        {"role": "user", "content": "what do I need to do?"},
        {"role": "assistant", "content": "Verify your ID."},
        {"role": "user", "content": "  "},
        {"role": "assistant", "content": "Anything else?"},
    ]
    assert earlier_requests(history) == [
        "what do I need to do?",
        "Can I buy the TV on instalments?",
    ]
    assert earlier_requests(history, limit=1) == ["what do I need to do?"]
    assert earlier_requests(history[1:2]) == []


def test_eligibility_with_items_in_view_is_decided_as_a_purchase() -> None:
    cart = StorefrontContext(items=[CartItem(title="TV", price="500")])
    assert in_context(Intent.INSTALMENT_ELIGIBILITY, cart) is Intent.PURCHASE_FIT
    assert in_context(Intent.INSTALMENT_ELIGIBILITY, StorefrontContext()) is (
        Intent.INSTALMENT_ELIGIBILITY
    )
    assert in_context(None, cart) is None


def test_confusion_matrix_helper_counts_every_message(intent_classifier: Any) -> None:
    labelled = _labelled("intent_dev.jsonl")[:20]
    guesses = intent_classifier.classify_many([m for m, _ in labelled])
    pairs = Counter(
        (gold.value, g.intent.value if g.intent else "abstain")
        for (_, gold), g in zip(labelled, guesses, strict=True)
    )
    assert sum(pairs.values()) == 20


def test_a_request_wrapped_in_an_override_is_read_as_the_request(intent_classifier: Any) -> None:
    from training.data.ecommerce.scenarios import INJECTIONS

    request = "Can I buy the drone on instalments?"
    for template in INJECTIONS:
        message = template.format(fake="$50,000", request=request)
        message = message if request in message else f"{message} {request}"
        assert intent_classifier.classify(message).intent is Intent.PURCHASE_FIT, message


def test_follow_ups_about_a_term_or_a_shortfall_are_purchase_questions(
    intent_classifier: Any,
) -> None:
    """Asked after a reply about an item in view, these need that item's figures: read as
    eligibility or a purchase they are decided as a purchase (`in_context`), never left to
    an abstention or read as a request for a higher limit."""
    cart = StorefrontContext(items=[CartItem(title="TV", price=Decimal("899"))])
    for message in (
        "and over a year?",
        "and how much would it be over a year?",
        "what about 12 months then?",
        "ok how much would that be over six months?",
        "can I do it over 24 months instead?",
        "how much short am I for the TV?",
        "how much more would I need to get it?",
    ):
        guess = intent_classifier.classify(intent_text(message, cart))
        assert in_context(guess.intent, cart) is Intent.PURCHASE_FIT, (message, guess)


def test_the_titles_in_view_are_read_as_item() -> None:
    cart = StorefrontContext(
        items=[
            CartItem(title="Gaming Laptop", price=Decimal("999")),
            CartItem(title="laptop", price=Decimal("10")),
        ]
    )
    assert intent_text("What about the gaming laptop?", cart) == "What about the item?"
    assert intent_text("and the LAPTOP sleeve?", cart) == "and the item sleeve?"
    assert intent_text("laptops?", cart) == "laptops?"  # a word, not a title
    assert intent_text("Where is my order?", StorefrontContext()) == "Where is my order?"


def test_the_served_encoder_runs_int8_linear_layers_close_to_float32(
    intent_classifier: Any,
) -> None:
    """Serving embeds with int8 weights (about 3x faster here); its embeddings stay close
    to the float32 encoder's, and the labelled-set floors above hold with it."""
    import numpy as np
    import torch

    from app.engine.bundled import load_minilm
    from app.engine.intent import Int8Encoder

    encoder = intent_classifier._encoder
    assert isinstance(encoder, Int8Encoder)
    modules = list(encoder._model.modules())
    assert not [m for m in modules if type(m) is torch.nn.Linear]  # none left in float
    assert sum(isinstance(m, torch.ao.nn.quantized.dynamic.Linear) for m in modules) >= 36

    messages = ["Can I pay for this in instalments?", "Where is my parcel?", "I want a human"]
    int8 = encoder.encode(messages)
    float32 = load_minilm().encode(messages, normalize_embeddings=True)
    assert int8.shape == float32.shape
    assert np.allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-5)
    assert (int8 * float32).sum(axis=1).min() > 0.85
    assert encoder.encode([]).shape == (0, float32.shape[1])


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        # Asked for a person in anger or in one word more: still a handoff, not small talk.
        ("this is ridiculous, I want to complain to a real person", Intent.HUMAN_REQUEST),
        ("operator please", Intent.HUMAN_REQUEST),
        ("you're useless, put me through to a manager", Intent.HUMAN_REQUEST),
        # Orders the shopper never placed are fraud, not an order-status question.
        ("there are orders I never placed", Intent.FRAUD_REPORT),
    ],
)
def test_requests_for_a_person_and_unknown_orders(
    intent_classifier: Any, message: str, intent: Intent
) -> None:
    assert intent_classifier.classify(message).intent is intent


def test_a_repeated_message_is_encoded_once(intent_classifier: Any) -> None:
    """Shoppers repeat short messages: their similarities are kept, the vote runs each time
    (so the other-account rule still depends on who asks)."""
    from app.engine.intent import MiniLMIntentClassifier

    calls: list[list[str]] = []
    classifier = MiniLMIntentClassifier(encoder=_Counting(intent_classifier, calls))
    calls.clear()  # the prototypes' own pass
    messages = ["where is my order?", "Check u-5555 for me"]
    first = classifier.classify_many(messages, ["u-1", "u-1"])
    again = classifier.classify_many(messages, ["u-1", "u-5555"])  # u-5555 asks of itself
    assert calls == [messages]  # one encoder pass for both calls
    assert first[0] == again[0] and first[0].intent is Intent.ORDER_STATUS
    timing = MiniLMIntentClassifier(encoder=_Counting(intent_classifier, calls), row_cache_size=0)
    calls.clear()
    timing.classify_many(messages)
    timing.classify_many(messages)
    assert calls == [messages, messages]  # nothing kept: what the benchmark times
    assert (
        first[1].intent is Intent.OTHER_USER_DATA and again[1].intent is not Intent.OTHER_USER_DATA
    )


class _Counting:
    """An encoder that records what it is asked to encode."""

    def __init__(self, classifier: Any, calls: list[list[str]]) -> None:
        self._classifier = classifier
        self._calls = calls

    def encode(self, texts: list[str], **kw: Any) -> Any:
        self._calls.append(list(texts))
        return self._classifier.embed(texts)


def test_a_message_reads_the_same_whatever_is_encoded_beside_it(intent_classifier: Any) -> None:
    """Dynamic int8 scales activations by their range: encoded in one batch, a message's
    embedding depended on its batch-mates (another shopper's message, the prototypes), and
    a message near the vote's threshold changed intent with them."""
    import numpy as np

    encoder = intent_classifier._encoder
    message = "Hello, I'd like to know if I can use instalment plans."
    alone = encoder.encode([message])
    beside = encoder.encode(["hi", message, "my parcel never came and I want a refund right now"])
    assert np.array_equal(alone[0], beside[1])


def test_a_close_vote_between_intents_decided_alike_goes_by_what_the_message_names(
    intent_classifier: Any,
) -> None:
    import numpy as np

    labels = [Intent.PURCHASE_FIT, Intent.INSTALMENT_ELIGIBILITY, Intent.PURCHASE_FIT]
    close = np.array([0.80, 0.79, 0.78])  # purchase leads, eligibility close behind
    vote = intent_classifier.vote
    nothing_named = vote("can I use instalment plans?", None, close, labels)
    assert nothing_named.intent is Intent.INSTALMENT_ELIGIBILITY
    assert vote("can I finance the TV?", None, close, labels).intent is Intent.PURCHASE_FIT
    # A near-exact match is not a close vote: it stands whatever the message names.
    clear = np.array([0.99, 0.70, 0.70])
    assert vote("can I use instalment plans?", None, clear, labels).intent is Intent.PURCHASE_FIT
