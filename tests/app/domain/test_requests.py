"""A message that asks several things: which request the policy answers, which the rules."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from app.domain.checks import TurnFacts
from app.domain.profile import CartItem, StorefrontContext
from app.domain.requests import MAX_FURTHER_REQUESTS, Requests, items_compared, split_requests
from app.domain.rules import Intent
from tests.factories import make_profile

PHONE = StorefrontContext(items=[CartItem(title="Pixel 9 phone", price=Decimal("299"))])


def _split(whole: Intent | None, *parts: tuple[str, Intent | None]) -> tuple:  # type: ignore[type-arg]
    facts = TurnFacts(make_profile(), PHONE, " and ".join(m for m, _ in parts), whole)
    asked = split_requests(facts, [replace(facts, message=m, intent=i) for m, i in parts])
    return asked.main, asked.further


def test_a_request_of_another_kind_is_answered_after_the_one_the_message_was_read_as() -> None:
    facts, further = _split(
        Intent.CREDIT_INFO,
        ("what's my balance", Intent.CREDIT_INFO),
        ("can I buy the phone?", Intent.PURCHASE_FIT),
    )
    assert facts.decided_intent is Intent.CREDIT_INFO
    assert [p.message for p in further] == ["can I buy the phone?"]


def test_requests_of_one_kind_share_one_answer() -> None:
    # Eligibility and a purchase get one answer; so do two requests for a person.
    _, further = _split(
        Intent.PURCHASE_FIT,
        ("am I eligible", Intent.INSTALMENT_ELIGIBILITY),
        ("how much a month?", Intent.PURCHASE_FIT),
    )
    assert further == ()
    _, further = _split(
        Intent.HUMAN_REQUEST,
        ("get me a person", Intent.HUMAN_REQUEST),
        ("I was charged twice", Intent.DISPUTE),
    )
    assert further == ()


def test_a_message_read_as_none_of_its_requests_is_read_as_the_first() -> None:
    facts, further = _split(
        Intent.CREDIT_INFO,
        ("how do returns work", Intent.RETURNS),
        ("can I get a limit increase?", Intent.LIMIT_INCREASE),
    )
    assert facts.decided_intent is Intent.RETURNS
    assert [p.decided_intent for p in further] == [Intent.LIMIT_INCREASE]
    facts, _ = _split(None, ("hi", Intent.SMALL_TALK), ("where's my order?", Intent.ORDER_STATUS))
    assert facts.decided_intent is Intent.ORDER_STATUS


def test_a_fraud_report_in_any_part_makes_the_whole_message_one() -> None:
    facts, further = _split(
        Intent.PURCHASE_FIT,
        ("can I buy this", Intent.PURCHASE_FIT),
        ("someone used my card without permission", Intent.FRAUD_REPORT),
    )
    assert facts.decided_intent is Intent.FRAUD_REPORT and further == ()


def test_unplaced_parts_and_small_talk_add_nothing() -> None:
    facts, further = _split(
        Intent.PURCHASE_FIT,
        ("hi!", Intent.SMALL_TALK),
        ("can I buy it?", Intent.PURCHASE_FIT),
        ("hmm", None),
    )
    assert facts.decided_intent is Intent.PURCHASE_FIT and further == ()


def test_at_most_a_few_further_requests_are_answered() -> None:
    _, further = _split(
        Intent.PURCHASE_FIT,
        ("can I buy it", Intent.PURCHASE_FIT),
        ("what's my limit", Intent.CREDIT_INFO),
        ("how do returns work", Intent.RETURNS),
        ("can I get a higher limit", Intent.LIMIT_INCREASE),
    )
    assert len(further) == MAX_FURTHER_REQUESTS


def test_purchase_questions_about_different_items_are_different_requests() -> None:
    # "is the TV too expensive for me? what about the headphones instead" got a decline of
    # both together (live API).
    both = StorefrontContext(
        items=[
            CartItem(title="55in OLED TV", price=Decimal("1099")),
            CartItem(title="headphones", price=Decimal("249")),
        ]
    )
    shopper = make_profile(credit_limit=Decimal("500"), outstanding_balance=Decimal("0"))
    message = "is the TV too expensive for me? what about the headphones instead"
    whole = TurnFacts(shopper, both, message, Intent.PURCHASE_FIT)
    parts = [
        replace(whole, message="is the TV too expensive for me?"),
        replace(whole, message="what about the headphones instead"),
    ]
    facts, further = _main_and_further(split_requests(whole, parts))
    assert [i.title for i in facts.cart.items] == ["55in OLED TV"]
    assert facts.decision is not None and facts.decision.action.value == "decline"
    assert [[i.title for i in p.cart.items] for p in further] == [["headphones"]]
    assert further[0].decision is not None and further[0].decision.action.value == "approve"


def test_a_purchase_question_naming_no_item_is_about_the_items_asked() -> None:
    two = StorefrontContext(
        items=[
            CartItem(title="corner sofa", price=Decimal("1450")),
            CartItem(title="TV", price=Decimal("700")),
        ]
    )
    whole = TurnFacts(make_profile(), two, "I want the sofa. Can I pay over 12 months?", None)
    parts = [
        replace(whole, message="I want the sofa.", intent=Intent.PURCHASE_FIT),
        replace(whole, message="Can I pay over 12 months?", intent=Intent.INSTALMENT_ELIGIBILITY),
    ]
    facts, further = _main_and_further(split_requests(whole, parts))
    assert [i.title for i in facts.cart.items] == ["corner sofa"] and further == ()


def _main_and_further(asked: Requests) -> tuple[TurnFacts, tuple[TurnFacts, ...]]:
    return asked.main, asked.further


def test_requests_asked_before_the_one_the_message_was_read_as_are_counted() -> None:
    # Read whole as a credit question, its eligibility question asked first.
    facts = TurnFacts(make_profile(), PHONE, "am I eligible, and is my limit still 1000?", None)
    parts = [
        replace(facts, message="am I eligible", intent=Intent.INSTALMENT_ELIGIBILITY),
        replace(facts, message="is my limit still 1000?", intent=Intent.CREDIT_INFO),
    ]
    asked = split_requests(replace(facts, intent=Intent.CREDIT_INFO), parts)
    assert asked.main.decided_intent is Intent.CREDIT_INFO and asked.asked_before == 1
    assert [p.message for p in asked.further] == ["am I eligible"]


def test_asking_whether_it_is_a_machine_is_a_request_to_answer() -> None:
    # "Hi! Just wondering if you're a real person, and whether I can split the boots into
    # payments" was passed to a person (live API).
    facts = TurnFacts(make_profile(), PHONE, "whether I can split it into payments", None)
    parts = [
        replace(facts, message="Hi!", intent=Intent.SMALL_TALK),
        replace(
            facts, message="Just wondering if you're a real person", intent=Intent.HUMAN_REQUEST
        ),
        replace(facts, message="whether I can split it into payments", intent=Intent.PURCHASE_FIT),
    ]
    assert parts[1].decided_intent is Intent.SMALL_TALK
    asked = split_requests(replace(facts, intent=Intent.PURCHASE_FIT), parts)
    assert asked.main.decided_intent is Intent.PURCHASE_FIT
    assert [p.decided_intent for p in asked.further] == [Intent.SMALL_TALK]
    assert asked.asked_before == 1


def test_asked_which_item_fits_each_item_is_its_own_request() -> None:
    # "which one can I afford, the tent or the chair?" was asked which product (live API).
    two = StorefrontContext(
        items=[
            CartItem(title="4-person tent", price=Decimal("389")),
            CartItem(title="office chair", price=Decimal("280")),
        ]
    )
    shopper = make_profile(credit_limit=Decimal("400"), outstanding_balance=Decimal("50"))
    facts = TurnFacts(shopper, two, "which one can I afford, the tent or the chair?", None)
    asked = split_requests(facts, items_compared(facts))
    assert [i.title for i in asked.main.cart.items] == ["4-person tent"]
    assert asked.main.decision is not None and asked.main.decision.action.value == "decline"
    assert [[i.title for i in p.cart.items] for p in asked.further] == [["office chair"]]
    assert asked.further[0].decision is not None
    assert asked.further[0].decision.action.value == "approve"
    both = TurnFacts(shopper, two, "can I get the tent and the chair?", Intent.PURCHASE_FIT)
    assert items_compared(both) == []


def test_of_the_items_in_view_those_named_are_compared() -> None:
    three = StorefrontContext(
        items=[
            CartItem(title="air purifier", price=Decimal("329")),
            CartItem(title="dehumidifier", price=Decimal("249")),
            CartItem(title="space heater", price=Decimal("89")),
        ]
    )
    message = "could I get the purifier and the dehumidifier, or only one of them?"
    facts = TurnFacts(make_profile(), three, message, Intent.PURCHASE_FIT)
    compared = items_compared(facts)
    assert [[i.title for i in p.cart.items] for p in compared] == [
        ["air purifier"],
        ["dehumidifier"],
    ]


def test_a_part_read_as_one_for_a_person_must_say_so() -> None:
    # The encoder, given "how do I verify my account?", read a dispute: the session was
    # handed to billing (live API). A part hands off only when its words ask for it.
    unverified = make_profile(identity_verified=False)
    message = "Can I buy the phone in instalments and how do I verify my account?"
    facts = TurnFacts(unverified, PHONE, message, Intent.PURCHASE_FIT)
    parts = [
        replace(facts, message="Can I buy the phone in instalments", intent=Intent.PURCHASE_FIT),
        replace(facts, message="how do I verify my account?", intent=Intent.DISPUTE),
    ]
    asked = split_requests(facts, parts)
    assert asked.main.decided_intent is Intent.PURCHASE_FIT and asked.further == ()
    suspended = make_profile(account_standing="suspended")
    message = "why is my account suspended and can i still buy the phone"
    facts = TurnFacts(suspended, PHONE, message, Intent.PURCHASE_FIT)
    parts = [
        replace(facts, message="why is my account suspended", intent=Intent.DISPUTE),
        replace(facts, message="can i still buy the phone", intent=Intent.PURCHASE_FIT),
    ]
    asked = split_requests(facts, parts)
    assert [p.decided_intent for p in asked.further] == [Intent.HUMAN_REQUEST]


def test_items_compared_over_the_term_asked() -> None:
    kit = StorefrontContext(
        items=[
            CartItem(title="espresso machine", price=Decimal("549")),
            CartItem(title="coffee grinder", price=Decimal("129")),
        ]
    )
    message = (
        "is the grinder cheaper monthly than the espresso machine? what would each be over 6 months"
    )
    facts = TurnFacts(make_profile(), kit, message, Intent.PURCHASE_FIT)
    assert [p.asked_terms for p in items_compared(facts)] == [frozenset({6})] * 2


def test_a_part_naming_every_item_in_view_asks_about_them_together() -> None:
    # "Is the camera doable over 6 months? and what about camera plus lens?" got the
    # camera alone (live API).
    cam = StorefrontContext(
        items=[
            CartItem(title="mirrorless camera", price=Decimal("1249")),
            CartItem(title="50mm lens", price=Decimal("399")),
        ]
    )
    shopper = make_profile(credit_limit=Decimal("1500"), outstanding_balance=Decimal("200"))
    message = "Is the camera doable over 6 months? and what about camera plus lens?"
    whole = TurnFacts(shopper, cam, message, Intent.PURCHASE_FIT)
    parts = [
        replace(whole, message="Is the camera doable over 6 months?"),
        replace(whole, message="and what about camera plus lens?", intent=None),
    ]
    asked = split_requests(whole, parts)
    answered = [asked.main, *asked.further]
    assert sorted(len(p.cart.items) for p in answered) == [1, 2]


def test_a_part_read_as_an_order_question_must_name_an_order() -> None:
    # "I paid last week" beside a question about credit was asked for an order number.
    _, further = _split(
        Intent.PURCHASE_FIT,
        ("can I buy the phone?", Intent.PURCHASE_FIT),
        ("I paid last week", Intent.ORDER_STATUS),
    )
    assert further == ()
    _, further = _split(
        Intent.PURCHASE_FIT,
        ("can I buy the phone?", Intent.PURCHASE_FIT),
        ("where is my parcel?", Intent.ORDER_STATUS),
    )
    assert [p.message for p in further] == ["where is my parcel?"]


def test_a_statement_of_what_was_done_is_no_purchase_request() -> None:
    # "Where is my refund? I sent the jacket back 3 weeks ago": the second sentence was
    # answered "Could you share the item you're looking at?" (live API).
    message = "Where is my refund? I sent the jacket back 3 weeks ago"
    whole = TurnFacts(make_profile(), StorefrontContext(), message, Intent.RETURNS)
    parts = [
        replace(whole, message="Where is my refund?", intent=Intent.RETURNS),
        replace(whole, message="I sent the jacket back 3 weeks ago", intent=Intent.PURCHASE_FIT),
    ]
    assert split_requests(whole, parts).further == ()


def test_items_asked_about_together_and_which_one_get_the_whole_first() -> None:
    shopper = make_profile(credit_limit=Decimal("1000"), outstanding_balance=Decimal("200"))
    tv_and_soundbar = StorefrontContext(
        items=[
            CartItem(title='Hisense 55" TV', price=Decimal("700")),
            CartItem(title="JBL soundbar", price=Decimal("300")),
        ]
    )
    message = "would both fit? If not, which one should I get?"
    facts = TurnFacts(shopper, tv_and_soundbar, message, Intent.PURCHASE_FIT)
    asked = split_requests(facts, items_compared(facts))
    assert asked.main.cart.total == Decimal("1000")
    assert [part.cart.total for part in asked.further] == [Decimal("700"), Decimal("300")]
    # When the whole fits, there is nothing to choose between.
    roomy = replace(facts, profile=make_profile(credit_limit=Decimal("2000")))
    assert items_compared(roomy) == []


def test_an_instalment_question_the_rules_hold_no_facts_for_is_said_after_the_purchase() -> None:
    sofa = StorefrontContext(items=[CartItem(title="Linen sofa", price=Decimal("700"))])
    message = "Can I buy this now and start paying next month?"
    asked = split_requests(TurnFacts(make_profile(), sofa, message, Intent.PURCHASE_FIT), [])
    assert asked.main.decided_intent is Intent.SMALL_TALK  # what cannot be seen, said
    assert [p.decided_intent for p in asked.further] == [Intent.PURCHASE_FIT]
    assert asked.asked_before == 1  # the purchase's answer comes first
    # Asking nothing to buy beside it, the side question alone is answered.
    alone = "Can I use instalments in store too?"
    asked = split_requests(TurnFacts(make_profile(), sofa, alone, Intent.PURCHASE_FIT), [])
    assert asked.main.decided_intent is Intent.SMALL_TALK and asked.further == ()


def test_a_later_part_asking_which_item_it_is_points_back_at_what_was_asked() -> None:
    nothing = StorefrontContext()
    message = "when is my next instalment due and how much is it?"
    facts = TurnFacts(make_profile(), nothing, message, Intent.CREDIT_INFO)
    parts = [
        replace(facts, message="when is my next instalment due", intent=Intent.CREDIT_INFO),
        replace(facts, message="how much is it?", intent=Intent.PURCHASE_FIT),
    ]
    assert split_requests(facts, parts).further == ()
    # Named, it is a purchase asked about: which item is asked back.
    named = [parts[0], replace(facts, message="can I buy something?", intent=Intent.PURCHASE_FIT)]
    assert [p.message for p in split_requests(facts, named).further] == ["can I buy something?"]


def test_which_one_if_not_both_compares_the_whole_then_each() -> None:
    two = StorefrontContext(
        items=[
            CartItem(title="Vitamix blender", price=Decimal("649")),
            CartItem(title="KitchenAid mixer", price=Decimal("699")),
        ]
    )
    facts = TurnFacts(make_profile(), two, "can I get both? if not which one", Intent.PURCHASE_FIT)
    compared = items_compared(facts)
    assert [len(p.cart.items) for p in compared] == [2, 1, 1]


def test_a_refund_beside_a_charge_a_person_looks_into_is_no_return() -> None:
    message = "why was I charged a late fee? this is unfair and I want a refund"
    facts = TurnFacts(make_profile(), StorefrontContext(), message, Intent.DISPUTE)
    parts = [
        replace(facts, message="why was I charged a late fee?", intent=Intent.DISPUTE),
        replace(facts, message="this is unfair and I want a refund", intent=Intent.RETURNS),
    ]
    assert split_requests(facts, parts).further == ()
    sent_back = [
        parts[0],
        replace(facts, message="how do I return the lamp?", intent=Intent.RETURNS),
    ]
    assert len(split_requests(facts, sent_back).further) == 1
