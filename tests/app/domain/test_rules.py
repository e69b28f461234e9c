from __future__ import annotations

from decimal import Decimal

import pytest

from app.domain.profile import (
    AccountStanding,
    AgeBand,
    CartItem,
    MembershipTier,
    Profile,
    StorefrontContext,
)
from app.domain.rules import Action, DeclineReason, Intent, decide, monthly_payments


def _profile(**overrides: object) -> Profile:
    fields: dict[str, object] = {
        "user_id": "u-1",
        "credit_limit": Decimal("500.00"),
        "outstanding_balance": Decimal("100.00"),
    }
    fields.update(overrides)
    return Profile.model_validate(fields)


def _cart(*prices: str) -> StorefrontContext:
    return StorefrontContext(
        items=[CartItem(title=f"item {i}", price=Decimal(p)) for i, p in enumerate(prices)]
    )


def test_decide_purchase_fit_approves_within_available_credit() -> None:
    decision = decide(_profile(), _cart("300"), Intent.PURCHASE_FIT)

    assert decision.action is Action.APPROVE
    assert decision.amounts["available_credit"] == Decimal("400.00")
    assert decision.amounts["monthly:3"] == Decimal("100.00")
    assert decision.amounts["monthly:6"] == Decimal("50.00")
    assert decision.reasoning[-1] == "Decision: approve."


def test_decide_purchase_fit_at_exact_boundary_approves() -> None:
    assert decide(_profile(), _cart("400.00"), Intent.PURCHASE_FIT).action is Action.APPROVE


def test_decide_purchase_fit_one_cent_over_declines_with_shortfall() -> None:
    decision = decide(_profile(), _cart("400.01"), Intent.PURCHASE_FIT)

    assert decision.action is Action.DECLINE
    assert decision.reason is DeclineReason.INSUFFICIENT_CREDIT
    assert decision.amounts["shortfall"] == Decimal("0.01")


def test_decide_sums_several_items_and_quantities() -> None:
    context = StorefrontContext(
        items=[
            CartItem(title="case", price=Decimal("50"), quantity=3),
            CartItem(title="phone", price=Decimal("260")),
        ]
    )
    decision = decide(_profile(), context, Intent.PURCHASE_FIT)

    assert decision.amounts["price"] == Decimal("410.00")
    assert decision.action is Action.DECLINE
    assert 3 in decision.counts


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"account_standing": AccountStanding.LATE}, DeclineReason.ACCOUNT_STANDING),
        ({"identity_verified": False}, DeclineReason.UNVERIFIED),
        ({"region": "BR"}, DeclineReason.REGION),
        ({"age_band": AgeBand.UNDER_18}, DeclineReason.AGE),
    ],
)
def test_decide_ineligible_profile_declines_with_first_failing_rule(
    overrides: dict[str, object], reason: DeclineReason
) -> None:
    decision = decide(_profile(**overrides), _cart("10"), Intent.PURCHASE_FIT)

    assert decision.action is Action.DECLINE
    assert decision.reason is reason
    assert not decision.eligible


def test_decide_purchase_without_item_asks_for_information() -> None:
    assert decide(_profile(), StorefrontContext(), Intent.PURCHASE_FIT).action is Action.ASK_INFO


@pytest.mark.parametrize("intent", [Intent.DISPUTE, Intent.FRAUD_REPORT, Intent.HUMAN_REQUEST])
def test_decide_handoff_intents_hand_off(intent: Intent) -> None:
    assert decide(_profile(), _cart("10"), intent).action is Action.HANDOFF


def test_decide_fraud_review_hands_off_credit_questions_only() -> None:
    profile = _profile(fraud_review=True)

    assert decide(profile, _cart("10"), Intent.PURCHASE_FIT).action is Action.HANDOFF
    assert decide(profile, StorefrontContext(), Intent.RETURNS).action is Action.INFORM


def test_decide_other_users_data_is_declined_for_privacy() -> None:
    decision = decide(_profile(), StorefrontContext(), Intent.OTHER_USER_DATA)

    assert (decision.action, decision.reason) == (Action.DECLINE, DeclineReason.PRIVACY)


def test_monthly_payments_round_to_currency_minor_unit() -> None:
    usd = _profile(membership_tier=MembershipTier.GOLD)
    jpy = _profile(currency="JPY", membership_tier=MembershipTier.GOLD)

    assert monthly_payments(Decimal("100"), usd)[3] == Decimal("33.33")
    assert monthly_payments(Decimal("100000"), jpy)[24] == Decimal("4167")


def test_profile_available_credit_never_negative() -> None:
    profile = _profile(credit_limit=Decimal("100"), outstanding_balance=Decimal("250"))

    assert profile.available_credit == Decimal("0")


def test_profile_rejects_unknown_currency() -> None:
    with pytest.raises(ValueError, match="currency"):
        _profile(currency="XYZ")
