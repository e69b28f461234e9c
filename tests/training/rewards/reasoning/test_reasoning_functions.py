"""The four reasoning functions: gold replies pass, perturbed replies fail the right one."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from app.domain.money import format_amount
from app.domain.profile import MembershipTier
from app.domain.rules import Action
from training.data.ecommerce import SplitSizes, generate, to_dataset
from training.data.schema import TaskExample
from training.rewards.reasoning import (
    REASONING_FUNCTIONS,
    SCORERS,
    decision_reward,
    handoff_reward,
    numeric_reward,
    score_decision,
    score_handoff,
    score_numeric,
    score_state,
    state_reward,
)


@pytest.fixture(scope="module")
def sample() -> list[TaskExample]:
    splits = generate(21, SplitSizes(train=500, dev=100, test=100, hard=210))
    return [ex for examples in splits.values() for ex in examples]


def test_every_reference_passes_every_function(sample: list[TaskExample]) -> None:
    failures = [
        (ex.id, name, score.reason, reply)
        for ex in sample
        for reply in ex.references
        for name, scorer in SCORERS.items()
        if (score := scorer(ex, reply)).value != 1.0
    ]
    assert failures == []


def _with_amount(ex: TaskExample) -> tuple[str, str] | None:
    for reply in ex.references:
        for value in ex.decision.amounts.values():
            text = format_amount(value, ex.profile.currency)
            if value > 0 and text in reply:
                return reply, text
    return None


def test_wrong_amount_fails_numeric_only(sample: list[TaskExample]) -> None:
    checked = 0
    for ex in sample:
        found = _with_amount(ex)
        if found is None:
            continue
        reply, text = found
        value = ex.decision.amounts  # a number no rule licenses: 37% off and 0.37 extra
        wrong = next(v for v in value.values() if format_amount(v, ex.profile.currency) == text)
        bad = format_amount(wrong * Decimal("1.37") + Decimal("0.37"), ex.profile.currency)
        perturbed = reply.replace(text, bad)
        assert score_numeric(ex, perturbed).value < 1.0, (ex.id, perturbed)
        assert bad in score_numeric(ex, perturbed).reason
        assert score_decision(ex, perturbed).value == 1.0, (ex.id, perturbed)
        assert score_handoff(ex, perturbed).value == 1.0
        checked += 1
    assert checked >= 100


def test_flipped_decision_fails_decision(sample: list[TaskExample]) -> None:
    flips = {
        Action.APPROVE: "Unfortunately that doesn't fit your available credit.",
        Action.DECLINE: "Yes, you can pay for it in instalments.",
        Action.ASK_INFO: "Unfortunately I can't help with that.",
    }
    checked = 0
    for ex in sample:
        if ex.decision.action in flips and ex.intent.value in (
            "purchase_fit",
            "instalment_eligibility",
            "limit_increase",
        ):
            flipped = flips[ex.decision.action]
            assert score_decision(ex, flipped).value == 0.0, (ex.id, flipped)
            assert score_handoff(ex, flipped).value == 1.0
            checked += 1
    assert checked >= 100


def test_missing_handoff_fails_handoff(sample: list[TaskExample]) -> None:
    keep = "I can sort that out for you right here."
    handoffs = [ex for ex in sample if ex.decision.action is Action.HANDOFF]
    assert len(handoffs) >= 20
    for ex in handoffs:
        assert score_handoff(ex, keep).value == 0.0
        assert score_decision(ex, keep).value == 0.0


def test_spurious_handoff_fails_handoff(sample: list[TaskExample]) -> None:
    for ex in sample[:200]:
        if ex.decision.action is Action.HANDOFF:
            continue
        reply = f"{ex.references[0]} I'm transferring you to a colleague now."
        assert score_handoff(ex, reply).value == 0.0, ex.id
        assert score_numeric(ex, reply).value == 1.0


def _false_claim(ex: TaskExample) -> str:
    p = ex.profile
    if not p.identity_verified:
        return "Your identity is verified."
    if ex.decision.eligible:
        return "You're not eligible for instalments."
    wrong_tier = next(t for t in MembershipTier if t is not p.membership_tier)
    return f"As a {wrong_tier.value} member, here is the answer."


def test_false_state_claim_fails_state(sample: list[TaskExample]) -> None:
    for ex in sample:
        reply = f"{ex.references[0]} {_false_claim(ex)}"
        score = score_state(ex, reply)
        assert score.value < 1.0, (ex.id, reply)
        assert "contradicts profile" in score.reason


def test_false_limit_claim_fails_state_even_when_number_is_licensed(
    sample: list[TaskExample],
) -> None:
    injections = [ex for ex in sample if "injection" in ex.tags]
    assert injections
    for ex in injections:
        fake = re.search(r"[$€£¥][\d,]+(?:\.\d+)?", ex.message)
        if fake is None:
            continue
        reply = f"Your credit limit is {fake.group(0)}."
        assert score_numeric(ex, reply).value == 1.0  # the customer said it
        assert score_state(ex, reply).value == 0.0  # but it is not the profile's limit


def test_rounding_tolerance_per_currency(sample: list[TaskExample]) -> None:
    ex = next(
        e
        for e in sample
        if e.decision.action is Action.APPROVE
        and e.profile.currency == "USD"
        and any(k.startswith("monthly:") for k in e.decision.amounts)
        and e.decision.amounts["monthly:3"] % 1 != 0
    )
    payment = ex.decision.amounts["monthly:3"]
    rounded = payment.quantize(Decimal(1))
    assert score_numeric(ex, f"About ${rounded:,} a month over 3 months.").value == 1.0
    assert score_numeric(ex, f"About ${rounded + 2:,} a month over 3 months.").value < 1.0
    assert score_numeric(ex, f"That's ${payment + Decimal('0.01'):,} a month.").value < 1.0


def test_reasoning_rewards_trl_signature(sample: list[TaskExample]) -> None:
    examples = sample[:6]
    ds = to_dataset(examples)
    completions = [[{"role": "assistant", "content": ex.references[0]}] for ex in examples]
    for name, reward in REASONING_FUNCTIONS.items():
        values = reward(ds["prompt"], completions, example=ds["example"], intent=ds["intent"])
        assert values == [1.0] * len(examples), name
        assert reward.__name__ == f"{name}_reward"
    assert {
        f.__name__ for f in (decision_reward, numeric_reward, state_reward, handoff_reward)
    } == {"decision_reward", "numeric_reward", "state_reward", "handoff_reward"}
    wrong = ["Unfortunately not."] * len(examples)
    scores = decision_reward(None, wrong, example=ds["example"])
    assert all(0.0 <= s <= 1.0 for s in scores)  # type: ignore[operator]


def test_empty_reply_fails_decision_everywhere(sample: list[TaskExample]) -> None:
    for ex in sample[:50]:
        assert score_decision(ex, "").value == 0.0
        assert score_decision(ex, " ... ").value == 0.0
        assert score_numeric(ex, "").value == 1.0  # says nothing wrong, and nothing at all
