"""The simulator's outcome model: ordering of the probabilities and seeded sampling."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from app.domain.rules import Action, Intent
from training.simulate.outcomes import Judgement, OutcomeModel, offer_shown

MODEL = OutcomeModel()


def judgement(stance: Action | None, *, correct: bool = True, clear: bool = True) -> Judgement:
    return Judgement(
        stance=stance,
        decision=1.0 if correct else 0.0,
        numeric=1.0 if clear else 0.0,
        state=1.0,
        handoff=1.0,
        words=25,
    )


def test_outcome_offer_shown_only_for_approvals_of_credit_questions() -> None:
    assert offer_shown(Intent.PURCHASE_FIT, judgement(Action.APPROVE))
    assert not offer_shown(Intent.PURCHASE_FIT, judgement(Action.DECLINE))
    assert not offer_shown(Intent.ORDER_STATUS, judgement(Action.APPROVE))


def test_outcome_conversion_probability_rewards_correct_clear_offers() -> None:
    fit, approve = Intent.PURCHASE_FIT, Action.APPROVE
    clear = MODEL.conversion_probability(fit, approve, judgement(approve))
    unclear = MODEL.conversion_probability(fit, approve, judgement(approve, clear=False))
    missed = MODEL.conversion_probability(fit, approve, judgement(Action.DECLINE, correct=False))
    wrong = MODEL.conversion_probability(fit, Action.DECLINE, judgement(approve, correct=False))
    assert clear > unclear > missed > wrong
    assert MODEL.conversion_probability(Intent.DISPUTE, Action.HANDOFF, judgement(None)) == 0.0


def test_outcome_escalation_probability_punishes_wrong_and_missing_handoffs() -> None:
    needed = MODEL.escalation_probability(Action.HANDOFF, judgement(Action.INFORM, correct=False))
    wrong = MODEL.escalation_probability(Action.APPROVE, judgement(Action.DECLINE, correct=False))
    unclear = MODEL.escalation_probability(Action.APPROVE, judgement(Action.APPROVE, clear=False))
    ok = MODEL.escalation_probability(Action.APPROVE, judgement(Action.APPROVE))
    assert needed > wrong > unclear > ok
    assert MODEL.escalation_probability(Action.HANDOFF, judgement(Action.HANDOFF)) == 0.0


def _draws(j: Judgement, gold: Action, n: int = 20_000, seed: int = 1) -> list:
    rng = random.Random(seed)
    return [
        MODEL.sample(rng, intent=Intent.PURCHASE_FIT, gold=gold, judgement=j, basket=Decimal("99"))
        for _ in range(n)
    ]


def test_outcome_sampled_rates_match_the_model() -> None:
    good = _draws(judgement(Action.APPROVE), Action.APPROVE)
    rate = sum(o.converted for o in good) / len(good)
    # 20,000 Bernoulli(0.40) draws: standard error 0.0035, so ±0.015 is > 4 sigma.
    assert rate == pytest.approx(MODEL.p_convert_clear_offer, abs=0.015)
    assert all(o.offer_shown for o in good)
    assert all(o.amount == Decimal("99") for o in good if o.converted)
    rated = [o.satisfaction for o in good if o.satisfaction is not None]
    assert len(rated) / len(good) == pytest.approx(MODEL.p_rate, abs=0.015)
    assert set(rated) <= {1, 2, 3, 4, 5}

    bad = _draws(judgement(Action.DECLINE, correct=False, clear=False), Action.APPROVE)
    bad_rated = [o.satisfaction for o in bad if o.satisfaction is not None]
    assert sum(rated) / len(rated) > sum(bad_rated) / len(bad_rated) + 1.0
    escalated = sum(o.handoff for o in bad) / len(bad)
    assert escalated == pytest.approx(MODEL.p_escalate_wrong, abs=0.015)
    assert {o.handoff_reason for o in bad if o.handoff} == {"unresolved"}


def test_outcome_policy_handoff_is_reported_as_policy() -> None:
    outcomes = _draws(judgement(Action.HANDOFF), Action.HANDOFF, n=200)
    assert all(o.handoff and o.handoff_reason == "policy" for o in outcomes)
    assert not any(o.converted for o in outcomes)


def test_outcome_sampling_is_reproducible_per_seed() -> None:
    j = judgement(Action.APPROVE, clear=False)
    assert _draws(j, Action.APPROVE, n=500, seed=7) == _draws(j, Action.APPROVE, n=500, seed=7)
    assert _draws(j, Action.APPROVE, n=500, seed=7) != _draws(j, Action.APPROVE, n=500, seed=8)


def test_outcome_model_rejects_bad_probabilities() -> None:
    with pytest.raises(ValueError):
        OutcomeModel(p_convert_clear_offer=1.5)
