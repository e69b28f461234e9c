"""The reply guard on its own: what it lets through, what it replaces and with what."""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal

import pytest

from app.domain.checks import TurnFacts, verify
from app.domain.profile import CartItem, StorefrontContext
from app.domain.replies import detects_handoff
from app.domain.requests import items_compared, split_requests
from app.domain.rules import Intent
from app.engine.base import Generation
from app.services.guard import (
    GuardConfig,
    GuardMode,
    Intervention,
    ReplyGuard,
    fallback_reply,
)
from tests.factories import ScriptedEngine, make_profile

PHONE = StorefrontContext(items=[CartItem(title="Pixel 9 phone", price=Decimal("299"))])
MESSAGES = [{"role": "user", "content": "Can I pay for this phone in instalments?"}]


def _gen(text: str, finish_reason: str = "stop") -> Generation:
    return Generation(text, 100, len(text.split()), finish_reason, 0.1, 0.2)


def _guard(reply: str, mode: GuardMode = GuardMode.ENFORCE, candidates: int = 3) -> ReplyGuard:
    engine = ScriptedEngine(reply)
    return ReplyGuard(engine=engine, config=GuardConfig(mode=mode, candidates=candidates))


async def _review(guard: ReplyGuard, facts: TurnFacts, text: str, **kw: str) -> object:
    return await guard.review(
        facts=facts,
        generation=_gen(text, **kw),
        messages=MESSAGES,  # type: ignore[arg-type]
        adapter=None,
        policy="test-v1",
        seed="s-1",
    )


async def test_guard_passes_a_correct_reply_untouched() -> None:
    facts = TurnFacts(make_profile(), PHONE, "Can I pay for this phone?", Intent.PURCHASE_FIT)
    reply = "Yes, the Pixel 9 phone fits: it's $299 and you have $1,200 available."
    guarded = await _review(_guard("unused"), facts, reply)
    assert guarded.intervention is Intervention.NONE and guarded.text == reply
    assert guarded.record["raw"]["decision"] == 1.0


async def test_guard_replaces_a_forbidden_approval_with_a_passing_candidate() -> None:
    suspended = make_profile(account_standing="suspended")
    facts = TurnFacts(suspended, PHONE, "Can I buy it on instalments?", Intent.PURCHASE_FIT)
    decline = "Unfortunately, instalments aren't available because your account is suspended."
    guarded = await _review(_guard(decline), facts, "Yes, you can buy it on instalments!")
    assert guarded.intervention is Intervention.RESAMPLE
    assert guarded.text == decline
    assert "decision" in guarded.record["failed"]
    assert guarded.candidates_checked == 3 and guarded.extra_completion_tokens > 0


async def test_guard_falls_back_to_a_rule_grounded_reply_when_no_candidate_passes() -> None:
    suspended = make_profile(account_standing="suspended")
    facts = TurnFacts(suspended, PHONE, "Can I buy it on instalments?", Intent.PURCHASE_FIT)
    still_wrong = "Sure, go ahead, you're approved!"
    guarded = await _review(_guard(still_wrong), facts, still_wrong)
    assert guarded.intervention is Intervention.FALLBACK
    assert guarded.candidates_checked == 3
    assert "suspended" in guarded.text  # the reason the rules give
    assert _guard("x").check(facts, guarded.text).passed


async def test_guard_hands_off_when_the_turn_needs_a_person() -> None:
    facts = TurnFacts(make_profile(), StorefrontContext(), "I want a human", Intent.HUMAN_REQUEST)
    guarded = await _review(_guard("I can help you here.", candidates=0), facts, "I can help.")
    assert guarded.intervention is Intervention.FALLBACK and guarded.handoff
    assert "handoff" in guarded.record["failed"]


async def test_guard_catches_invented_amounts_and_false_claims() -> None:
    facts = TurnFacts(make_profile(), StorefrontContext(), "What's my limit?", Intent.CREDIT_INFO)
    guard = _guard("x")
    invented = guard.check(facts, "Your credit limit is $1,500 and you have $5,000 available.")
    assert {"numeric", "state"} <= set(invented.failed)
    assert guard.check(facts, "Your credit limit is $1,500 and you have $1,200 available.").passed


@pytest.mark.parametrize(
    ("text", "finish"),
    [
        ("", "stop"),
        ("<reasoning>Request: credit info.", "stop"),
        ("Available credit: $1,200. Available credit: $1,200. Available credit: $1,200.", "stop"),
        ("Your credit limit is $1,500 and you have", "length"),
    ],
)
async def test_guard_rejects_degenerate_output(text: str, finish: str) -> None:
    facts = TurnFacts(make_profile(), StorefrontContext(), "What's my limit?", Intent.CREDIT_INFO)
    guarded = await _review(_guard("", candidates=0), facts, text, finish_reason=finish)
    assert guarded.intervention is Intervention.FALLBACK
    assert "degenerate" in guarded.record["failed"]


async def test_monitor_mode_sends_the_raw_reply_but_records_the_failure() -> None:
    suspended = make_profile(account_standing="suspended")
    facts = TurnFacts(suspended, PHONE, "Can I buy it?", Intent.PURCHASE_FIT)
    guarded = await _review(_guard("x", GuardMode.MONITOR), facts, "Yes, you're approved!")
    assert guarded.intervention is Intervention.NONE
    assert guarded.text == "Yes, you're approved!"
    assert "decision" in guarded.record["failed"]


async def test_off_mode_checks_nothing() -> None:
    facts = TurnFacts(make_profile(), PHONE, "Can I buy it?", None)
    guarded = await _review(_guard("x", GuardMode.OFF), facts, "Let me connect you with an agent.")
    assert guarded.verdict is None and guarded.handoff


async def test_unknown_intent_checks_only_what_needs_no_intent() -> None:
    over = StorefrontContext(items=[CartItem(title="TV", price=Decimal("5000"))])
    facts = TurnFacts(make_profile(), over, "blah", None)
    guard = _guard("x")
    assert not guard.check(facts, "Yes, the TV fits, go ahead!").passed  # forbidden approval
    # A statement nothing can check is not sent; a question back is.
    assert not guard.check(facts, "Happy to help with that.").passed
    assert guard.check(facts, "Happy to help: what would you like to know?").passed
    # The fallback for a forbidden approval declines; for anything else it asks back.
    assert "doesn't fit" in fallback_reply(facts, "s", raw_stance=None) or "?" in (
        fallback_reply(facts, "s", raw_stance=None)
    )
    from app.domain.rules import Action

    decline = fallback_reply(facts, "s", raw_stance=Action.APPROVE)
    assert guard.check(facts, decline).passed and "$5,000" in decline


def test_fallback_is_deterministic_per_turn() -> None:
    facts = TurnFacts(make_profile(), PHONE, "Can I?", Intent.PURCHASE_FIT)
    assert fallback_reply(facts, "session-1:0") == fallback_reply(facts, "session-1:0")


async def test_an_item_added_in_words_that_breaks_the_credit_ends_in_a_correct_decline() -> None:
    exact = make_profile(credit_limit=Decimal("500"), outstanding_balance=Decimal("201"))
    message = "can I also add a case for 15 dollars and still use instalments?"
    approval = "Yes! You can add the case and pay in instalments."
    for intent in (Intent.PURCHASE_FIT, None):  # known, or the classifier abstained
        facts = TurnFacts(exact, PHONE, message, intent)
        guarded = await _review(_guard(approval), facts, approval)
        assert guarded.intervention is Intervention.FALLBACK
        assert _guard("unused").check(facts, guarded.text).passed, guarded.text
        # The decline is for the cart with the case: its total or the shortfall
        assert "$314" in guarded.text or "$15 " in guarded.text, guarded.text


async def test_a_decline_for_a_reason_the_facts_deny_is_replaced_when_intent_is_unknown() -> None:
    """Served once, intent abstained: "I can't offer instalments until your account is
    set up. Once you've verified your account, just ask again." to a verified shopper whose
    available credit is one cent short of the phone."""
    short = make_profile(credit_limit=Decimal("500"), outstanding_balance=Decimal("201.01"))
    message = "my card says I have 299 available, so this works right?"
    facts = TurnFacts(short, PHONE, message, None)
    wrong = "I can't offer instalments until your account is verified. Just ask again."
    right = "That's over what you can spend: you have $298.99 available and the phone is $299."
    guard = _guard(wrong)
    assert not guard.check(facts, wrong).passed and guard.check(facts, right).passed

    guarded = await _review(guard, facts, wrong)

    assert guarded.intervention is Intervention.FALLBACK
    assert guard.check(facts, guarded.text).passed
    assert "$299" in guarded.text or "$0.01" in guarded.text, guarded.text


@pytest.mark.parametrize("seed", [f"session-{i}:0" for i in range(12)])
def test_the_fallback_to_how_much_do_i_owe_says_what_is_owed(seed: str) -> None:
    """Seen through the live API: a late payer asking "how much do I owe right now" was
    given the limit and the available credit, and not the $100 owed."""
    from app.domain.checks import verify

    profile = make_profile(
        account_standing="late", credit_limit=Decimal("2000"), outstanding_balance=Decimal("100")
    )
    facts = TurnFacts(
        profile, StorefrontContext(), "how much do I owe right now", Intent.CREDIT_INFO
    )
    reply = fallback_reply(facts, seed)
    assert "$100" in reply and verify(facts, reply).passed, reply


async def test_with_the_intent_unknown_a_failing_reply_is_not_resampled() -> None:
    """Seen through the live API: "what's 2+2" got a privacy decline, then a resampled
    "I can see you've got a good score on your account". Unknown intent: ask back."""
    from app.domain.references import CLARIFYING_REPLIES

    facts = TurnFacts(make_profile(), StorefrontContext(), "what's 2+2", None)
    guard = _guard("I can see you've got a good score on your account.")
    privacy = "I'm sorry, I can only discuss your own account, so I can't share anyone else's."
    guarded = await _review(guard, facts, privacy)

    assert guarded.intervention is Intervention.FALLBACK  # type: ignore[attr-defined]
    assert guarded.candidates_checked == 0  # type: ignore[attr-defined]
    assert guarded.text in CLARIFYING_REPLIES  # type: ignore[attr-defined]


async def test_of_the_passing_candidates_the_one_nearest_the_rules_replies_is_sent() -> None:
    # Seen through the live API: a candidate that passed every check and read oddly.
    odd = "My door is open, so I can see your order. It's out for delivery."
    plain = "Your order A-55120 is out for delivery."
    replies = iter([odd, plain, odd])
    engine = ScriptedEngine(lambda _messages: next(replies))
    guard = ReplyGuard(engine=engine, config=GuardConfig(candidates=3))
    order = StorefrontContext(order_id="A-55120", order_status="out for delivery")
    facts = TurnFacts(make_profile(), order, "where's my stuff", Intent.ORDER_STATUS)
    guarded = await _review(guard, facts, "Hi A-55120! What can I do for you?")
    assert guarded.intervention is Intervention.RESAMPLE
    assert guarded.text == plain and guarded.candidates_checked == 3


async def test_a_handoff_is_said_in_the_rules_words_without_sampling() -> None:
    engine = ScriptedEngine("Let me connect you with billing; I'm sorry about the charge.")
    guard = ReplyGuard(engine=engine, config=GuardConfig(candidates=3))
    message = "Why was my account suspended?"  # read as a fraud report, decided as a person
    facts = TurnFacts(make_profile(), StorefrontContext(), message, Intent.FRAUD_REPORT)
    fraud_team = "I'm transferring you to our fraud team; a specialist will secure your account."
    guarded = await _review(guard, facts, fraud_team)
    assert guarded.intervention is Intervention.FALLBACK and guarded.handoff
    assert guarded.candidates_checked == 0 and engine.prompts == []
    assert "charge" not in guarded.text and "fraud" not in guarded.text


async def test_a_handoff_that_passed_its_checks_is_still_said_in_the_rules_words() -> None:
    # The checks read that a reply hands off, not what else it says (live API).
    odd = "I'm transferring ord-221 to its own account, so a person needs to transfer it."
    delivered = StorefrontContext(order_id="ord-221", order_status="delivered")
    message = "my parcel ord-221 never showed up"
    facts = TurnFacts(make_profile(), delivered, message, Intent.ORDER_STATUS)
    assert facts.decided_intent is Intent.HUMAN_REQUEST
    guard = _guard("unused")
    guarded = await _review(guard, facts, odd)
    assert guarded.verdict is not None and guarded.verdict.passed  # it did pass
    assert guarded.intervention is Intervention.FALLBACK and guarded.handoff
    assert "its own account" not in guarded.text and guarded.record["intervention"] == "fallback"


# --- a message that asks several things ------------------------------------------------


async def _review_parts(  # type: ignore[no-untyped-def]
    guard: ReplyGuard, message: str, text: str, *parts: tuple[str, Intent], asked_before: int = 0
):
    whole = TurnFacts(make_profile(), PHONE, message, parts[0][1])
    further = tuple(replace(whole, message=m, intent=i) for m, i in parts[1:])
    return await _review_with_further(guard, whole, text, further, asked_before=asked_before)


async def _review_with_further(  # type: ignore[no-untyped-def]
    guard: ReplyGuard,
    facts: TurnFacts,
    text: str,
    further: tuple[TurnFacts, ...],
    asked_before: int = 0,
):
    """The reply to `facts`, then the message's further requests, as the chat service does."""
    guarded = await _review(guard, facts, text)
    return guard.answer_further(guarded, further, asked_before=asked_before, seed="s-1")


async def test_a_further_request_the_reply_leaves_unanswered_gets_the_rules_answer() -> None:
    balance = "You owe $300 of your $1,500 limit. Let me know if you need anything else."
    guarded = await _review_parts(
        _guard("unused"),
        "what's my balance, and can I buy the Pixel 9 phone?",
        balance,
        ("what's my balance", Intent.CREDIT_INFO),
        ("can I buy the Pixel 9 phone?", Intent.PURCHASE_FIT),
    )
    assert guarded.intervention is Intervention.NONE  # the policy's own answer stays first
    assert guarded.text.startswith("You owe $300 of your $1,500 limit.")
    # Its closing line moved to the end: one greeting, one closing line per reply.
    assert "Let me know if you need anything else. " not in guarded.text
    added = guarded.text.removeprefix("You owe $300 of your $1,500 limit.")
    assert "$299" in added and not guarded.handoff
    assert guarded.record["further"][0]["intent"] == "purchase_fit"


async def test_a_further_request_already_answered_adds_nothing() -> None:
    both = "Yes, the Pixel 9 phone fits: it's $299, and you have $1,200 available of your $1,500."
    guarded = await _review_parts(
        _guard("unused"),
        "can I buy the Pixel 9 phone and what's my limit?",
        both,
        ("can I buy the Pixel 9 phone", Intent.PURCHASE_FIT),
        ("what's my limit?", Intent.CREDIT_INFO),
    )
    assert guarded.text == both and "further" not in guarded.record


async def test_the_answer_comes_before_a_handoff_and_the_handoff_is_said_once() -> None:
    handoff = "Of course, I'll pass you to a colleague now."
    guarded = await _review_parts(
        _guard("unused"),
        "can I talk to a person, also what's my available credit? and my order's late, help",
        handoff,
        ("can I talk to a person", Intent.HUMAN_REQUEST),
        ("what's my available credit?", Intent.CREDIT_INFO),
    )
    # The credit first, then the handoff (in the rules' words), said once.
    assert guarded.handoff and "$1,200" in guarded.text
    handing_off = [s for s in re.split(r"(?<=[.!?])\s+", guarded.text) if detects_handoff(s)]
    assert len(handing_off) == 1 and guarded.text.endswith(handing_off[0])


async def test_further_requests_are_answered_only_when_enforcing() -> None:
    balance = "Your limit is $1,500 and you have $1,200 available."
    guarded = await _review_parts(
        _guard("unused", mode=GuardMode.MONITOR),
        "what's my balance, and can I buy the Pixel 9 phone?",
        balance,
        ("what's my balance", Intent.CREDIT_INFO),
        ("can I buy the Pixel 9 phone?", Intent.PURCHASE_FIT),
    )
    assert guarded.text == balance


async def test_a_request_asked_first_is_answered_first() -> None:
    balance = "You owe $300 of your $1,500 limit, so $1,200 is available."
    guarded = await _review_parts(
        _guard("unused"),
        "can I buy the Pixel 9 phone, and what's my balance?",
        balance,
        ("what's my balance", Intent.CREDIT_INFO),
        ("can I buy the Pixel 9 phone?", Intent.PURCHASE_FIT),
        asked_before=1,
    )
    assert guarded.text.endswith(balance) and "$299" in guarded.text.removesuffix(balance)


def test_the_fallback_does_not_say_its_closing_words_twice() -> None:
    facts = TurnFacts(
        make_profile(), StorefrontContext(), "Can I buy something?", Intent.PURCHASE_FIT
    )
    for seed in map(str, range(40)):
        reply = fallback_reply(facts, seed)
        assert "Then I can check whether it fits. Then I can check." not in reply


async def test_two_answers_that_state_the_same_rule_state_it_once() -> None:
    # "whats my balance, and is there an age limit for instalments": the age rule was
    # said by the credit answer and again by the eligibility one (live API).
    message = "whats my balance, and is there an age limit for instalments"
    whole = TurnFacts(make_profile(), StorefrontContext(), message, Intent.CREDIT_INFO)
    rule = "Instalments are open to customers aged 18 and over, with no upper age limit."
    reply = f"You owe $300 of your $1,500 limit, so $1,200 is available. {rule}"
    assert verify(whole, reply).passed
    part = replace(whole, message="is there an age limit for instalments", intent=None)
    assert part.decided_intent is Intent.INSTALMENT_ELIGIBILITY
    guarded = await _review_with_further(_guard("unused"), whole, reply, (part,))
    assert guarded.text.count(rule) == 1 and len(guarded.text) > len(reply)


async def test_an_approval_of_one_item_does_not_answer_for_another() -> None:
    # "sofa bed or coffee table - which can I afford on 6 months?": the sofa bed's approval
    # was taken to answer the coffee table too (live API).
    two = StorefrontContext(
        items=[
            CartItem(title="sofa bed", price=Decimal("899")),
            CartItem(title="coffee table", price=Decimal("150")),
        ]
    )
    shopper = make_profile(credit_limit=Decimal("1000"), outstanding_balance=Decimal("0"))
    message = "sofa bed or coffee table - which can I afford on 6 months?"
    whole = TurnFacts(shopper, two, message, Intent.PURCHASE_FIT)
    asked = split_requests(whole, items_compared(whole))
    sofa = "That works! $899 is within your $1,000 of available credit, at $149.83 a month."
    assert verify(asked.main, sofa).passed
    guarded = await _review_with_further(_guard("unused"), asked.main, sofa, asked.further)
    assert guarded.text.startswith(sofa) and "$25" in guarded.text.removeprefix(sofa)


async def test_guard_says_a_copied_verdict_label_in_the_shoppers_words() -> None:
    late = make_profile(account_standing="late")
    facts = TurnFacts(late, PHONE, "Can I buy it on instalments?", Intent.PURCHASE_FIT)
    copied = (
        "I'm sorry, instalments aren't available on your account: account not in good standing."
    )
    guarded = await _review(_guard("unused"), facts, copied)
    assert guarded.intervention is Intervention.NONE  # the policy's decision, kept
    assert guarded.text == (
        "I'm sorry, instalments aren't available on your account because a payment is overdue."
    )
    assert guarded.record["reworded"] is True
    monitor = await _review(_guard("unused", mode=GuardMode.MONITOR), facts, copied)
    assert monitor.text == copied and "reworded" not in monitor.record


@pytest.mark.parametrize(
    ("fields", "message", "context", "said"),
    [
        ({}, "it's ORD-55120", StorefrontContext(), "I can't see order ORD-55120 from here."),
        ({"account_standing": "late"}, "what do you mean late? I paid last week", PHONE,
         "I can't see recent payments here"),
        ({}, "I've been waiting 3 weeks for my refund", StorefrontContext(),
         "I'm sorry the refund hasn't come through."),
        ({}, "Is there a penalty if I pay the phone off early?", PHONE,
         "That needs someone who can see and change your account"),
    ],
)  # fmt: skip
def test_a_handoff_the_shopper_did_not_ask_for_says_why(
    fields: dict[str, object], message: str, context: StorefrontContext, said: str
) -> None:
    facts = TurnFacts(make_profile(**fields), context, message, Intent.ORDER_STATUS)
    assert facts.decided_intent is Intent.HUMAN_REQUEST
    reply = fallback_reply(facts, "s-1")
    assert reply.startswith(said)
    verdict = _guard("x").check(facts, reply)
    assert verdict.passed and verdict.handoff


@pytest.mark.parametrize(
    ("message", "intent", "said"),
    [
        ("is it possible to get a higher limit? I earn 60k a year", Intent.LIMIT_INCREASE,
         "Thanks for the details: limit reviews are done by a colleague."),
        ("thanks for nothing, you're useless", None, "I'm sorry I haven't been more help."),
    ],
)  # fmt: skip
def test_an_income_given_or_a_complaint_goes_to_a_person_with_why(
    message: str, intent: Intent | None, said: str
) -> None:
    facts = TurnFacts(make_profile(), StorefrontContext(), message, intent)
    parts = [replace(facts, message=m, intent=intent) for m in re.split(r"(?<=\?) ", message)]
    main = split_requests(facts, parts).main
    assert main.decided_intent is Intent.HUMAN_REQUEST
    reply = fallback_reply(main, "s-1")
    assert reply.startswith(said) and _guard("x").check(main, reply).handoff


def test_asked_how_to_check_out_an_approval_says_where() -> None:
    message = "perfect, how do I check out with that?"
    facts = TurnFacts(make_profile(), PHONE, message, Intent.PURCHASE_FIT)
    again = "Yes, the Pixel 9 phone fits: it's $299 and you have $1,200 available."
    assert "decision" in verify(facts, again).failed
    reply = fallback_reply(facts, "s-1")
    assert "At checkout" in reply and verify(facts, reply).passed


@pytest.mark.parametrize(
    ("message", "context", "intent", "said"),
    [
        # "Can I pay weekly instead of monthly?" got "Yes" (live API).
        ("Can I pay weekly instead of monthly?", PHONE, Intent.PURCHASE_FIT,
         "Plans are paid monthly; there's no weekly option."),
        ("and when will it arrive?", StorefrontContext(order_id="ORD-1", order_status="shipped"),
         Intent.ORDER_STATUS, "I don't have a delivery date for it yet."),
        ("I'd like to know my current balance", StorefrontContext(), Intent.CREDIT_INFO,
         "You currently owe $300"),
        ("k", PHONE, None, "Is there anything else I can help with?"),
    ],
)  # fmt: skip
def test_the_rules_reply_answers_what_was_asked(
    message: str, context: StorefrontContext, intent: Intent | None, said: str
) -> None:
    facts = TurnFacts(make_profile(), context, message, intent)
    replies = {fallback_reply(facts, str(seed)) for seed in range(12)}
    assert all(verify(facts, reply).passed for reply in replies), replies
    assert any(said in reply for reply in replies), replies


def test_a_term_between_the_tiers_is_not_said_to_be_past_the_longest() -> None:
    # "can I get it in 4 payments" was told "Standard plans go up to 6 months, not 4".
    standard = make_profile(membership_tier="standard")
    facts = TurnFacts(standard, PHONE, "can I get it in 4 payments", Intent.PURCHASE_FIT)
    replies = {fallback_reply(facts, str(seed)) for seed in range(30)}
    assert all("up to" not in r and "longest" not in r for r in replies), replies
    assert all(verify(facts, r).passed for r in replies), replies
    assert all("$99.67" in r for r in replies), replies  # over 3 months, the nearest term


def test_the_rules_reply_says_what_would_be_left_when_a_follow_up_supposes_a_purchase() -> None:
    history = (
        {"role": "user", "content": "how much credit do I have left"},
        {"role": "assistant", "content": "Right now you can spend up to $1,200 on credit."},
    )
    message = "and if I buy the $250 jacket?"
    facts = TurnFacts(make_profile(), StorefrontContext(), message, Intent.PURCHASE_FIT, history)
    replies = {fallback_reply(facts, str(seed)) for seed in range(12)}
    assert all("$950 would be left" in r and verify(facts, r).passed for r in replies), replies


async def test_a_copied_label_whose_rewording_fails_is_never_sent() -> None:
    # "…: cart over the available credit." passed where its rewording repeated the reply
    # before word for word, and the label reached the shopper (live API).
    from app.domain.wording import in_shoppers_words

    short = make_profile(credit_limit=Decimal("500"), outstanding_balance=Decimal("300"))
    copied = (
        "I'm sorry, instalments aren't available on your account: cart over the available credit."
    )
    reworded = in_shoppers_words(copied, short, PHONE)
    history = (
        {"role": "user", "content": "Can I buy it on instalments?"},
        {"role": "assistant", "content": reworded},
    )
    facts = TurnFacts(short, PHONE, "what do you mean?", Intent.PURCHASE_FIT, history)
    assert verify(facts, copied).passed and not verify(facts, reworded).passed
    guarded = await _review(_guard("unused"), facts, copied)
    assert guarded.intervention is Intervention.FALLBACK
    assert "cart over the available credit" not in guarded.text
    assert "unworded" in guarded.record


@pytest.mark.parametrize("seed", ["s-0", "s-1", "s-2", "s-3"])
def test_the_fallback_to_what_paying_off_would_do_says_it_frees_credit(seed: str) -> None:
    """Seen through the live API: "what if I pay off my balance first?" after a decline
    over the credit was handed to a person as a request to pay it off."""
    profile = make_profile(credit_limit=Decimal("1000"), outstanding_balance=Decimal("200"))
    camera = StorefrontContext(items=[CartItem(title="Canon R6", price=Decimal("950"))])
    facts = TurnFacts(profile, camera, "what if I pay off my balance first?", Intent.PURCHASE_FIT)
    reply = fallback_reply(facts, seed)
    assert "Paying off your balance of $200" in reply and verify(facts, reply).passed, reply


@pytest.mark.parametrize("seed", ["s-0", "s-1", "s-2", "s-3"])
def test_the_fallback_to_a_term_the_tier_lacks_gives_a_payment_it_has(seed: str) -> None:
    """Seen through the live API: "How much would each payment be on 12 months?" from a
    standard member got "That works! ... you can pick 3 or 6 months"."""
    profile = make_profile(membership_tier="standard")
    chair = StorefrontContext(items=[CartItem(title="Aeron chair", price=Decimal("540"))])
    message = "How much would each payment be on 12 months?"
    facts = TurnFacts(profile, chair, message, Intent.PURCHASE_FIT)
    reply = fallback_reply(facts, seed)
    assert "a month" in reply and verify(facts, reply).passed, reply


@pytest.mark.parametrize("seed", [f"s-{i}" for i in range(8)])
def test_the_fallback_to_a_price_asked_over_the_credit_says_the_price_once(seed: str) -> None:
    """Seen through the live API: "how much is this?" over the credit got how far over
    alone."""
    lego = StorefrontContext(items=[CartItem(title="Lego set", price=Decimal("849.99"))])
    profile = make_profile(credit_limit=Decimal("1000"), outstanding_balance=Decimal("200"))
    facts = TurnFacts(profile, lego, "how much is this?", Intent.PURCHASE_FIT)
    reply = fallback_reply(facts, seed)
    assert "$849.99" in reply and verify(facts, reply).passed, reply
    assert reply.count("$849.99") == 1, reply


@pytest.mark.parametrize("seed", [f"s-{i}" for i in range(8)])
def test_the_fallback_to_go_ahead_keeps_the_term_picked_before(seed: str) -> None:
    """Seen through the live API: "great, do it" after "can i get this on 6 months?" was
    told where to go ahead with the 3-month payment."""
    watch = StorefrontContext(items=[CartItem(title="Apple Watch", price=Decimal("399"))])
    history = (
        {"role": "user", "content": "can i get this on 6 months?"},
        {"role": "assistant", "content": "Yes! You could pay $66.50 a month over 6 months."},
    )
    facts = TurnFacts(make_profile(), watch, "great, do it", Intent.PURCHASE_FIT, history)
    reply = fallback_reply(facts, seed)
    assert "$66.50" in reply and "checkout" in reply and verify(facts, reply).passed, reply
    assert "$133" not in reply, reply


@pytest.mark.parametrize("seed", [f"s-{i}" for i in range(6)])
def test_a_handoff_not_asked_for_does_not_open_as_if_it_had_been(seed: str) -> None:
    """Seen through the live API: "My card was declined at checkout, why?" got "Happy to.
    Let me transfer you to a colleague"."""
    message = "My card was declined at checkout, why?"
    facts = TurnFacts(make_profile(), StorefrontContext(), message, Intent.HUMAN_REQUEST)
    reply = fallback_reply(facts, seed)
    assert reply.startswith("I can't see card payments from here."), reply
    vague = TurnFacts(make_profile(), StorefrontContext(), "hmm help", Intent.HUMAN_REQUEST)
    opening = fallback_reply(vague, seed).split()[0].strip(",.")
    assert opening not in {"Sure", "Happy", "Of", "Certainly", "No"}, opening


def test_a_handoff_for_hardship_says_sorry_once_and_names_a_colleague_once() -> None:
    message = "I lost my job and can't make my payments this month"
    facts = TurnFacts(make_profile(), StorefrontContext(), message, Intent.HUMAN_REQUEST)
    reply = fallback_reply(facts, "s")
    assert reply.startswith("I'm sorry to hear that."), reply
    assert reply.count("colleague") <= 1, reply


async def test_a_purchase_beside_a_question_the_rules_hold_no_facts_for_is_answered_first() -> None:
    facts = TurnFacts(
        make_profile(),
        PHONE,
        "Can I buy this now and start paying next month?",
        Intent.PURCHASE_FIT,
    )
    asked = split_requests(facts, [])
    approval_alone = "Yes! The Pixel 9 phone fits your available credit of $1,200."
    guarded = await _review_with_further(
        _guard("unused"), asked.main, approval_alone, asked.further, asked.asked_before
    )
    assert guarded.intervention is Intervention.FALLBACK  # the start date was left unsaid
    said = guarded.text
    assert "$299" in said and "I can't see the payment dates" in said
    assert said.index("$299") < said.index("I can't see")  # in the order asked


async def test_a_reply_about_an_order_does_not_answer_a_purchase_it_never_names() -> None:
    case = StorefrontContext(
        items=[CartItem(title="OtterBox case", price=Decimal("59"))],
        order_id="ord-6610",
        order_status="shipped",
    )
    message = "Is ord-6610 on its way? Also can I get the case on credit?"
    whole = TurnFacts(make_profile(), case, message, Intent.ORDER_STATUS)
    part = replace(whole, message="Also can I get the case on credit?", intent=Intent.PURCHASE_FIT)
    garble = "Order ord-6610 is currently shipped, but you can order again once you get them."
    guarded = await _review_with_further(_guard("unused"), whole, garble, (part,))
    assert "$59" in guarded.text  # the purchase gets the rules' answer


def test_the_fallback_is_a_draw_that_passes_the_turns_checks() -> None:
    from app.domain.profile import MembershipTier

    silver = make_profile(membership_tier=MembershipTier.SILVER, credit_limit=Decimal("2500"))
    monitor = StorefrontContext(items=[CartItem(title="Dell UltraSharp 32", price=Decimal("899"))])
    message = "What terms do I get, is there interest, and can I buy the monitor?"
    facts = TurnFacts(silver, monitor, message, Intent.PURCHASE_FIT)
    for seed in range(30):
        said = fallback_reply(facts, f"s-{seed}")
        assert verify(facts, said).passed, said
