"""Unit tests for the reply parser: numbers, stance, handoff, claims."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.domain.numbers import extract_numbers, words_to_int
from app.domain.replies import Action, detects_handoff, extract_claims, parse_reply
from app.domain.rules import Intent


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("five hundred", 500),
        ("twenty-four", 24),
        ("a hundred and fifty", 150),
        ("two thousand five hundred", 2500),
        ("one million", 1_000_000),
        ("twelve", 12),
    ],
)
def test_words_to_int_values(text: str, value: int) -> None:
    assert words_to_int(text) == value


@pytest.mark.parametrize(
    ("text", "amounts"),
    [
        ("It's $1,234.50 in total.", [("1234.50", "USD")]),
        ("That comes to 1,200 USD or USD 900", [("1200", "USD"), ("900", "USD")]),
        ("€1.234,56 or £20", [("1234.56", "EUR"), ("20", "GBP")]),
        ("about $1.5k", [("1500", "USD")]),
        ("five hundred dollars", [("500", "USD")]),
        (
            "¥8,333 and JP¥12,000 and 134800 JPY",
            [("8333", "JPY"), ("12000", "JPY"), ("134800", "JPY")],
        ),
        ("a hundred and fifty pounds", [("150", "GBP")]),
        ("20 quid, 3 euros", [("20", "GBP"), ("3", "EUR")]),
    ],
)
def test_extract_amounts_with_currency(text: str, amounts: list[tuple[str, str]]) -> None:
    found = [(a.value, a.currency) for a in extract_numbers(text).amounts]
    assert found == [(Decimal(v), c) for v, c in amounts]


def test_extract_amount_tolerance_follows_stated_precision() -> None:
    a, b, c = extract_numbers("$83, $83.33 and $1.5k").amounts
    assert (a.tolerance, b.tolerance, c.tolerance) == (
        Decimal("0.5"),
        Decimal("0.005"),
        Decimal(50),
    )


@pytest.mark.parametrize(
    ("text", "counts"),
    [
        ("over 3, 6 or 12 months", [3, 6, 12]),
        ("in three instalments", [3]),
        ("a 12-month plan", [12]),
        ("twenty-four monthly payments of $16.63", [24]),
        ("2 items, delivered in 5 business days", [2, 5]),
        ("3 or 6 months", [3, 6]),
    ],
)
def test_extract_counts_with_units(text: str, counts: list[int]) -> None:
    assert [c.value for c in extract_numbers(text).counts] == counts


def test_extract_numbers_skips_identifiers_times_and_lone_words() -> None:
    numbers = extract_numbers("Order ord-7781 (S24) ships at 10:30; one of our team will help.")
    assert numbers.amounts == () and numbers.counts == () and numbers.others == ()
    others = extract_numbers("the 55-inch TV, 0% interest").others
    assert [(n.value, n.percent) for n in others] == [(Decimal(55), False), (Decimal(0), True)]


@pytest.mark.parametrize(
    ("reply", "stance"),
    [
        ("Yes, the phone fits within your available credit.", Action.APPROVE),
        ("Unfortunately, the phone doesn't fit: it's over your available credit.", Action.DECLINE),
        ("I'm sorry for the wait, but yes, you can pay in instalments.", Action.APPROVE),
        (
            "It's a lovely phone, but unfortunately it's above your available credit.",
            Action.DECLINE,
        ),
        ("I can't see any reason why not: it fits.", Action.APPROVE),
        ("Nothing stops you from paying in instalments.", Action.APPROVE),
        ("You're not eligible for instalments.", Action.DECLINE),
        ("It's not within your available credit.", Action.DECLINE),
        ("Once you verify your identity, you can pay in instalments.", Action.DECLINE),
        ("If you'd like, you can pay over 6 months.", Action.APPROVE),
        ("Could you tell me which item you mean?", Action.ASK_INFO),
        ("I can't check without your order number. Could you share it?", Action.ASK_INFO),
        ("Unfortunately it doesn't fit. Is there anything else I can help with?", Action.DECLINE),
        ("Your limit is $500 and you have $300 available.", Action.INFORM),
        ("I'm connecting you with a colleague now.", Action.HANDOFF),
    ],
)
def test_parse_reply_stance(reply: str, stance: Action) -> None:
    assert parse_reply(reply, Intent.PURCHASE_FIT).stance is stance


def test_parse_reply_informational_intent_yes_is_an_answer() -> None:
    reply = "Yes, you have $300 of available credit."
    assert parse_reply(reply, Intent.PURCHASE_FIT).stance is Action.APPROVE
    assert parse_reply(reply, Intent.CREDIT_INFO).stance is Action.INFORM


def test_parse_reply_no_info_is_not_a_refusal() -> None:
    reply = "Unfortunately I don't have your credit score, but your limit is €3,000."
    assert parse_reply(reply, Intent.CREDIT_INFO).stance is Action.INFORM


@pytest.mark.parametrize(
    ("reply", "handoff"),
    [
        ("Let me transfer you to a colleague who handles disputes.", True),
        ("A member of our team will be with you shortly.", True),
        ("I'm passing you over to them now.", True),
        ("Would you like me to connect you with an agent?", False),
        ("I can't connect you to an agent right now.", False),
        ("No need to speak to an agent: I can help.", False),
        ("Contact our team any time.", False),
    ],
)
def test_detects_handoff(reply: str, handoff: bool) -> None:
    assert detects_handoff(reply) is handoff


def _claims(text: str) -> set[tuple[str, object]]:
    parsed = parse_reply(text)
    return {(c.subject, c.value) for c in parsed.claims}


def test_extract_claims_state() -> None:
    assert _claims("You're not eligible because your identity isn't verified yet.") == {
        ("eligible", False),
        ("verified", False),
    }
    assert _claims("As a gold member in good standing, you qualify.") == {
        ("tier", "gold"),
        ("standing", "good"),
        ("eligible", True),
    }
    assert _claims("Plans are paused until your account is back in good standing.") == set()
    assert ("standing", "late") in _claims("There's an overdue payment on your account.")
    assert ("region_supported", False) in _claims("Pay-later isn't available in your region.")
    assert ("minor", True) in _claims("Instalments are for adults only.")
    assert _claims("I'll check whether you're eligible.") == set()


def test_extract_claims_amount_roles() -> None:
    claims = {
        (c.subject, c.value)
        for c in extract_claims(
            "Your limit is $1,000, you owe $250.50 and you have $749.50 available.",
            extract_numbers(
                "Your limit is $1,000, you owe $250.50 and you have $749.50 available."
            ).amounts,
        )
    }
    assert claims == {
        ("credit_limit", Decimal("1000")),
        ("outstanding_balance", Decimal("250.50")),
        ("available_credit", Decimal("749.50")),
    }
    denied = "Your limit isn't $20,000."
    assert extract_claims(denied, extract_numbers(denied).amounts) == []


def test_bare_number_in_money_role_is_an_amount() -> None:
    text = "Your limit is 1,500 and you owe 250.50, for 3 items."
    numbers = extract_numbers(text)
    assert [(a.value, a.currency) for a in numbers.amounts] == [
        (Decimal(1500), None),
        (Decimal("250.50"), None),
    ]
    assert [c.value for c in numbers.counts] == [3]
    claims = {(c.subject, c.value) for c in extract_claims(text, numbers.amounts)}
    assert claims == {("credit_limit", Decimal(1500)), ("outstanding_balance", Decimal("250.50"))}
