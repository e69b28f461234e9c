"""A message that asks several things: which request the policy answers, which the rules.

"what's my balance, and can I buy the blender?" was answered with the balance alone, and
"instalments on the bike and when does ord-1180 arrive?" with the order alone (live API):
the service reads one intent per message. Each part of the message
(`app.domain.intents.request_parts`) is read on its own as well; the policy answers the
message as a whole, and the reply guard adds the rules' answer to each further request
of another kind that the policy's reply leaves unanswered, in the order the shopper
asked (a handoff last).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from app.domain.checks import TurnFacts, items_meant
from app.domain.intents import (
    Cue,
    asks_if_bot,
    asks_together,
    asks_which_fits,
    credit_side_topic,
    decided_alike,
    names_an_order,
    names_what_a_person_handles,
    states_income,
    without_credit_side,
)
from app.domain.rules import Action, Intent, cart_fit

# At most this many further requests of one message are answered: a reply that answers
# four questions in a row reads like a form, and such messages are rare.
MAX_FURTHER_REQUESTS = 2


@dataclass(frozen=True)
class Requests:
    """What one message asks.

    Args:
        main: the request the policy's reply is checked against (the whole message, when
            it was read as one of its requests).
        further: the other requests of other kinds, in the order asked.
        asked_before: how many of `further` the shopper asked before `main`.
    """

    main: TurnFacts
    further: tuple[TurnFacts, ...] = ()
    asked_before: int = 0


def split_requests(facts: TurnFacts, parts: Sequence[TurnFacts]) -> Requests:
    """The requests of a message: `facts` is the whole message as its intent was read,
    `parts` each of its requests read on its own.

    Requests of one kind share one answer: asking whether instalments are possible and
    whether an item fits (`decided_alike`), or anything a person must handle; purchase
    questions about different items are different requests. A fraud report in any part
    makes the whole message one: a person secures the account before anything is bought
    on it or told about it. A message read whole as none of its requests (or not placed at
    all) is answered as the first of them."""
    if any(part.decided_intent is Intent.FRAUD_REPORT for part in parts):
        if facts.decided_intent is not Intent.FRAUD_REPORT:
            facts = replace(facts, intent=Intent.FRAUD_REPORT)
        return Requests(facts)
    if facts.intent is Intent.LIMIT_INCREASE and states_income(facts.message):
        # "is it possible to get a higher limit? I earn 60k a year": one request, whose
        # income is in its second sentence (answered as the first alone, it was asked for
        # the income it had just been given, live API).
        return Requests(facts)
    if facts.decided_intent is Intent.SMALL_TALK and credit_side_topic(facts.message):
        # "Can I buy this now and start paying next month?": what cannot be seen from here
        # is said after the answer to the purchase the message asks for as well.
        rest = replace(facts, message=without_credit_side(facts.message))
        if _ASKS_TO_BUY(rest.message) and rest.decided_intent in (
            Intent.PURCHASE_FIT,
            Intent.INSTALMENT_ELIGIBILITY,
        ):
            return Requests(facts, (rest,), asked_before=1)
        return Requests(facts)
    placed = [part for part in parts if _asks_something(part)]
    if not placed:
        return Requests(facts)
    kinds = [_kind(part) for part in placed]
    if facts.decided_intent is None or _kind(facts) not in kinds:
        # Read as none of its requests ("how do returns work and can I get a limit
        # increase?" read whole as a credit question; two items asked about one by one,
        # read as one cart): answered as its first request, the others after it.
        facts = placed[0]
    main = kinds.index(_kind(facts))
    seen = {_kind(facts)}
    further: list[tuple[int, TurnFacts]] = []
    for at, (part, kind) in enumerate(zip(placed, kinds, strict=True)):
        if kind in seen or (kind == _ANY_PURCHASE and any(k.startswith(kind) for k in seen)):
            continue  # a purchase question naming no item is about the items already asked
        seen.add(kind)
        further.append((at, part))
    # A later part asking which item "it" is ("when is my next instalment due and how much
    # is it?" was asked which product, live API): "it" is what the message asked before.
    further = [
        (at, part)
        for at, part in further
        if not (at > 0 and _asks_which_item(part) and _POINTS_BACK(part.message))
    ]
    if _kind(facts) == "handoff":
        # "why was I charged a late fee? this is unfair and I want a refund" got the return
        # steps before the handoff (live API): a refund of a charge is the person's to
        # look into; only an item sent back is a return.
        further = [
            (at, part)
            for at, part in further
            if part.decided_intent is not Intent.RETURNS or _SENDS_BACK(part.message)
        ]
    further = further[:MAX_FURTHER_REQUESTS]
    before = sum(1 for at, _ in further if at < main)
    return Requests(facts, tuple(part for _, part in further), before)


def items_compared(facts: TurnFacts) -> list[TurnFacts]:
    """Each item in view asked about on its own, when the message asks which of them fits
    ("which one can I afford, the tent or the chair?" was asked which product, live API);
    none otherwise. Read as parts of the message (`split_requests`), the first is answered
    by the policy and the others by the rules."""
    items = facts.context.items
    if len(items) < 2 or not asks_which_fits(facts.message):
        return []
    named = items_meant(facts.message, items)
    if len(named) >= 2:  # the ones named, in the page's order; else every one in view
        items = [item for item in items if item in named]
    # Asked about together as well, the whole comes first: when it fits, nothing is left
    # to choose between.
    whole = replace(facts, intent=Intent.PURCHASE_FIT)
    together = asks_together(facts.message) and whole.cart is facts.context
    if together and (fit := cart_fit(facts.profile, facts.context)) is not None and fit.fits:
        return []
    # Each asked as a purchase of its own, over the terms the message asked about.
    terms = " or ".join(f"{t} months" for t in sorted(facts.asked_terms))
    over = f" over {terms}" if terms else ""
    each = [
        replace(facts, message=f"Can I buy the {item.title}{over}?", intent=Intent.PURCHASE_FIT)
        for item in items
    ]
    return [whole, *each] if together else each


def _asks_something(part: TurnFacts) -> bool:
    """Whether a part is a request to answer: placed, and no greeting or thanks (whether
    the shopper talks to a machine is a question, and is answered). A part read as one for
    a person must say so in words a cue reads: the encoder, given a few words, read "how
    do I verify my account?" as a dispute, and the session was handed off (live API)."""
    intent = part.decided_intent
    if intent is None:
        return False
    if intent in (Intent.DISPUTE, Intent.FRAUD_REPORT, Intent.HUMAN_REQUEST):
        return names_what_a_person_handles(part.message)
    if intent is Intent.ORDER_STATUS:
        return names_an_order(part.message)
    if intent in (Intent.PURCHASE_FIT, Intent.INSTALMENT_ELIGIBILITY) and _TELLS_WHAT_WAS_DONE(
        part.message
    ):
        return False
    return intent is not Intent.SMALL_TALK or asks_if_bot(part.message)


def _asks_which_item(part: TurnFacts) -> bool:
    return (
        part.decision is not None
        and part.decision.action is Action.ASK_INFO
        and (part.decided_intent in (Intent.PURCHASE_FIT, Intent.INSTALMENT_ELIGIBILITY))
    )


# An item sent back, said.
_SENDS_BACK = Cue(r"\breturn\w*|\bsend\w* (?:\w+ )?back\b|\bexchange\b")
# Something said before pointed at, not named.
_POINTS_BACK = Cue(r"\b(?:it|that|this|them|those|these)\b")
# Buying asked for in so many words.
_ASKS_TO_BUY = Cue(r"\b(?:buy|purchase|get|order|take|put)\b")
# A statement of something done, with no question in it ("Where is my refund? I sent the
# jacket back 3 weeks ago": the second sentence was answered as a purchase, live API).
_TELLS_WHAT_WAS_DONE = Cue(
    r"(?s)^(?!.*\?)(?!.*\b(?:can|could|may|want|would|need|please|let me|how|what|which)\b)"
    r".*\b(?:sent|returned|bought|ordered|paid|received|got|was|were|did|had|placed)\b"
)


_ANY_PURCHASE = Intent.PURCHASE_FIT.value


def _kind(facts: TurnFacts) -> str:
    """Requests of one kind are answered by one reply; purchase questions about different
    items are different requests ("is the TV too expensive for me? what about the
    headphones instead" got a decline of both together, live API)."""
    assert facts.decided_intent is not None and facts.decision is not None
    if facts.decision.action is Action.HANDOFF:
        return "handoff"
    intent = decided_alike(facts.decided_intent)
    names_items = facts.cart is not facts.context or items_meant(facts.message, facts.cart.items)
    if intent is Intent.PURCHASE_FIT and names_items:  # "and what about camera plus lens?"
        items = sorted(f"{i.quantity} {i.title.lower()} {i.price}" for i in facts.cart.items)
        return f"{_ANY_PURCHASE}:{'|'.join(items)}"
    return intent.value
