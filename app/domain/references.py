"""Rule-grounded replies in the shop's voice: many phrasings per intent and gold action.

They are the training data's human-style references and the reply guard's fallback, so
the shopper hears one voice whichever wrote the reply. A reply is assembled from slots
(verdict, details, closer); each slot has several synonymous phrasings, so a policy
cannot win naturalness by memorising one sentence.

Every reply states its decision in its first clause ("Yes, ...", "Unfortunately, ...",
"I'm connecting you ..."): a policy trained on them puts the stance in its first tokens,
where it weighs most in the loss and where a reader looks first. Greetings and openers
are kept for answers that decide nothing (order status, small talk). Every phrasing is
true for the decision it is used with: the label-consistency test checks each one
against every reasoning function.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import reduce

from app.domain.intents import (
    acknowledges,
    asks_account_ok,
    asks_age_rule,
    asks_arrival,
    asks_capabilities,
    asks_checkout,
    asks_free_up,
    asks_how_are_you,
    asks_if_bot,
    asks_if_charged,
    asks_if_verified,
    asks_interest,
    asks_left_after,
    asks_max_spend,
    asks_minimum,
    asks_other_frequency,
    asks_owed,
    asks_own_tier,
    asks_price,
    asks_refund_method,
    asks_refund_timing,
    asks_shortfall,
    asks_terms_offered,
    asks_total_paid,
    asks_unknown_fact,
    asks_upfront,
    asks_way_forward,
    asks_which_regions,
    asks_why,
    asks_why_limit_low,
    compares_cost,
    currency_asked,
    moves_abroad,
    names_balance,
    out_of_scope_topic,
    pays_part_now,
    says_goodbye,
    says_thanks,
    status_says_when,
    supposes_paying_off,
)
from app.domain.money import CURRENCY_NAMES, format_amount, quantize
from app.domain.numbers import asked_terms, extract_numbers, term_numbers
from app.domain.profile import AccountStanding, Profile, StorefrontContext
from app.domain.replies import (
    says_age_rule,
    says_limit_review,
    says_no_interest,
    says_no_minimum,
    says_not_known,
    says_nothing_owed,
    says_paid_monthly,
    says_paying_down,
    says_regions,
    says_way_forward,
    says_whole_price,
)
from app.domain.rules import (
    TERMS_BY_TIER,
    Action,
    Decision,
    DeclineReason,
    Intent,
    cart_fit,
    monthly_payments,
    reason_text,
)


@dataclass(frozen=True)
class Turn:
    """Everything a reference may draw on for one customer turn."""

    intent: Intent
    profile: Profile
    context: StorefrontContext
    decision: Decision
    tags: tuple[str, ...] = ()
    message: str = ""
    # The terms the shopper asked about when the caller knows them from the conversation
    # (the guard's fallback); None: read from `message`.
    terms_asked: frozenset[int] | None = None

    def money(self, amount: Decimal) -> str:
        return format_amount(amount, self.profile.currency)

    @property
    def name(self) -> str | None:
        return self.profile.first_name

    @property
    def thing(self) -> str:
        """How a reply names what is being bought."""
        items = self.context.items
        if len(items) > 1 or (items and items[0].quantity > 1):
            return "your cart"
        return f"the {items[0].title}" if items else "it"


def terms_phrase(terms: tuple[int, ...], joiner: str = "or") -> str:
    """'3, 6 or 12' (a choice) or '3, 6 and 12' (an enumeration)."""
    joiner = f" {joiner} "
    words = [str(t) for t in terms]
    return (", ".join(words[:-1]) + joiner + words[-1]) if len(words) > 1 else words[0]


def _opener(rng: random.Random, turn: Turn, kind: str) -> str:
    name = turn.name
    friendly = [f"Hi {name}!", f"Thanks for checking, {name}."] if name else ["Hi there!"]
    # Decisions come first: only answers that decide nothing may open with a greeting.
    pools = {"neutral": ["", "", "Sure.", "Happy to help.", *friendly]}
    return rng.choice(pools.get(kind, [""]))


_LEAD = re.compile(
    r"^(Yes|Good news|Absolutely|Unfortunately|Sorry|Of course|Sure|Certainly|No problem|"
    r"That works)([,:!])\s"
)


def _address(rng: random.Random, turn: Turn, reply: str) -> str:
    """Sometimes name the shopper right after the leading word ("Yes, Ada, ..."), so the
    decision still comes first."""
    m = _LEAD.match(reply)
    if not turn.name or m is None or rng.random() < 0.5:
        return reply
    rest = reply[m.end() :]
    if m.group(2) == ",":
        return f"{m.group(1)}, {turn.name}, {rest}"
    return f"{m.group(1)}, {turn.name}{m.group(2)} {rest}"


_CLOSERS: dict[str, list[str]] = {
    "positive": [
        "",
        "",
        "",
        "",
        "Would you like to go ahead?",
        "You can pick your plan at checkout.",
        "Happy shopping!",
        "Let me know if you'd like help choosing a plan.",
    ],
    "negative": [
        "",
        "",
        "",
        "",
        "Is there anything else I can help with?",
        "I'm happy to help with anything else.",
        "Sorry I don't have better news.",
    ],
    "neutral": [
        "",
        "",
        "Anything else I can help with?",
        "Let me know if you need anything else.",
        "Have a great day!",
    ],
    "handoff": ["", "", "", "Thanks for your patience.", "They'll have all the details."],
    "ask": ["", "", "Thanks!", "I'll take it from there.", "Then I can check."],
}


def _closer(rng: random.Random, kind: str) -> str:
    return rng.choice(_CLOSERS.get(kind, [""]))


# What opens or closes a reply without answering anything: a reply that answers several
# requests in a row keeps one greeting, at its start, and one closing line, at its end.
# The closers of handoffs and questions back stay: they say what happens next.
_GREETING_RE = re.compile(
    r"^(?:Sure\.|Happy to help\.|Hi there!|Hi [^!?.]{1,40}!|Thanks for checking, [^.!?]{1,40}\.)"
    r"\s+"
)
_CLOSING_LINES = tuple(
    line for kind in ("positive", "negative", "neutral") for line in _CLOSERS[kind] if line
)


def without_pleasantries(reply: str, *, greeting: bool, closing: bool) -> str:
    """`reply` without its greeting (if `greeting`) and its closing line (if `closing`),
    when it has them; the rest as it was."""
    if greeting:
        reply = _GREETING_RE.sub("", reply, count=1)
    if closing:
        for line in _CLOSING_LINES:
            if reply.endswith(line) and len(reply) > len(line):
                reply = reply[: -len(line)].rstrip()
                break
    return reply


def _join(parts: list[str]) -> str:
    return " ".join(p for p in parts if p).strip()


def _monthly(turn: Turn, rng: random.Random) -> str:
    d = turn.decision
    terms = sorted(int(k.split(":")[1]) for k in d.amounts if k.startswith("monthly:"))
    pay = {t: turn.money(d.amounts[f"monthly:{t}"]) for t in terms}
    t1 = rng.choice(terms)
    t2 = rng.choice([t for t in terms if t != t1] or [t1])
    # Asked "over a year?", answer for a year (the rng draws above stay as they were, so
    # references to turns that name no term are unchanged).
    said = asked_terms(turn.message, terms) if turn.terms_asked is None else turn.terms_asked
    if len(asked := sorted(said & set(terms))) > 1:
        # "What's the difference between 6 and 12 months?": every term asked, side by side.
        each = [f"{pay[t]} a month over {t} months" for t in asked]
        return f"That's {', or '.join(each)}, all interest-free."
    if asked:
        t1 = t2 = asked[0]
    elif refused := sorted(asked_terms(turn.message) - set(terms)):
        # Asked for a term the tier does not offer: say so, then give the longest one it
        # does (the nearest to what was asked, and the lowest payment).
        tier, longest = turn.profile.membership_tier.value, terms[-1]
        listed = terms_phrase(tuple(terms))
        if refused[0] < longest:
            # "can I get it in 4 payments" was told "Standard plans go up to 6 months, not 4"
            # (live API): a term between the tier's is not past its longest. The nearest.
            near = min(terms, key=lambda t: (abs(t - refused[0]), -t))
            return rng.choice(
                [
                    f"{tier.capitalize()} plans come in {listed} months, not {refused[0]}. Over "
                    f"{near} months it's {pay[near]} a month.",
                    f"{refused[0]} months isn't one of the {tier} terms ({listed} months). You "
                    f"could pay {pay[near]} a month over {near} months.",
                    f"{refused[0]} months isn't offered: {tier} terms are {listed} months. "
                    f"That's {pay[near]} a month over {near} months.",
                ]
            )
        return rng.choice(
            [
                f"{tier.capitalize()} plans go up to {longest} months, not {refused[0]}. Over "
                f"{longest} months it's {pay[longest]} a month.",
                f"{refused[0]} months isn't one of the {tier} terms ({listed}"
                f" months). You could pay {pay[longest]} a month over {longest} months.",
                f"The longest plan open to {tier} members is {longest} months, not "
                f"{refused[0]}. That's {pay[longest]} a month over {longest} months.",
            ]
        )
    # Every phrasing holds "<payment> a month over <term> months", the words of the prompt's
    # Payments line, so the term a reply names is the one printed after the amount it copied.
    options = [
        f"That's {pay[t1]} a month over {t1} months, interest-free.",
        f"You could pay {pay[t1]} a month over {t1} months, with no interest.",
        f"For example, {pay[t1]} a month over {t1} months.",
        f"It would be {pay[t1]} a month over {t1} months, interest-free.",
        f"Spread out, that's {pay[t2]} a month over {t2} months.",
    ]
    return rng.choice(options)


def _approve_eligibility(turn: Turn, rng: random.Random) -> list[str]:
    terms = TERMS_BY_TIER[turn.profile.membership_tier]
    tier = turn.profile.membership_tier.value
    verdict = rng.choice(
        [
            "Yes, you can pay in instalments.",
            "Good news: you're eligible to pay in instalments.",
            "You qualify for our interest-free instalment plans.",
            "Absolutely, instalments are open to you.",
            "Yes! You can spread your purchases into monthly payments.",
            "Your account is set up for instalments, so yes.",
        ]
    )
    detail = rng.choice(
        [
            f"You can choose {terms_phrase(terms)} months, all interest-free.",
            f"Plans run over {terms_phrase(terms)} months with no interest.",
            f"As a {tier} member you can pick {terms_phrase(terms)} months.",
            f"The terms open to you are {terms_phrase(terms, 'and')} months, interest-free.",
        ]
    )
    extra = []
    available = turn.decision.amounts["available_credit"]
    if available > 0 and rng.random() < 0.35:
        extra = [
            rng.choice(
                [
                    f"You have {turn.money(available)} of available credit to use.",
                    f"Your available credit right now is {turn.money(available)}.",
                    "",
                ]
            )
        ]
    return [verdict, detail, *extra]


def _approve_purchase(turn: Turn, rng: random.Random) -> list[str]:
    d = turn.decision
    price, available = turn.money(d.amounts["price"]), turn.money(d.amounts["available_credit"])
    thing = turn.thing
    verdict = rng.choice(
        [
            f"Yes, {thing} fits: it's {price} and you have {available} available.",
            f"Good news: at {price}, {thing} is within your available credit of {available}.",
            f"You can put {thing} on instalments.",
            f"That works! {price} is within your {available} of available credit.",
            f"Yes, you can buy {thing} on instalments.",
            f"{thing[0].upper()}{thing[1:]} fits within your available credit, so it can go on "
            "instalments.",
        ]
    )
    return [verdict, _monthly(turn, rng)]


def _decline_reason(turn: Turn, rng: random.Random) -> list[str]:
    reason = turn.decision.reason
    thing = turn.thing
    # One phrasing per eligibility reason repeats the prompt's words for it ("identity not
    # verified"): a reply that copies the reason cannot name another one.
    echo = (
        f"I'm sorry, instalments aren't available on your account: {reason_text(reason)}."
        if reason
        else ""
    )
    if reason is DeclineReason.ACCOUNT_STANDING:
        if turn.profile.account_standing is AccountStanding.SUSPENDED:
            return [
                rng.choice(
                    [
                        "Your account is currently suspended, so I can't set up instalments.",
                        "Unfortunately, instalments aren't available because your account is "
                        "suspended.",
                        "I'm afraid a suspended account can't use pay-later plans.",
                        echo,
                    ]
                )
            ]
        return [
            rng.choice(
                [
                    "Instalments are paused on your account while a payment is overdue.",
                    "Because there's an overdue payment on your account, I can't offer "
                    "instalments right now.",
                    "Unfortunately, instalments aren't available while your account has a "
                    "late payment.",
                    "I'm afraid pay-later plans are on hold until your account is back in good "
                    "standing.",
                    echo,
                ]
            ),
            rng.choice(
                [
                    "",
                    "Once the overdue payment is settled, you're welcome to ask again.",
                    "Bringing your payments up to date will reopen them.",
                ]
            ),
        ]
    if reason is DeclineReason.UNVERIFIED:
        return [
            rng.choice(
                [
                    "We haven't been able to verify your identity yet, so instalments aren't "
                    "available for now.",
                    "Instalments need a verified identity, and yours isn't verified yet.",
                    "Unfortunately I can't offer instalments until your identity is verified.",
                    "I'm sorry, you're not eligible for instalments until you've verified your "
                    "identity.",
                    echo,
                ]
            ),
            rng.choice(
                [
                    "",
                    "You can complete verification in your account settings.",
                    "Once you've verified your ID, just ask again.",
                ]
            ),
        ]
    if reason is DeclineReason.REGION:
        return [
            rng.choice(
                [
                    "Instalment plans aren't offered in your country yet, so I can't set one up.",
                    "Unfortunately, pay-later isn't available in your region.",
                    "I'm sorry, we don't offer instalments where you live at the moment.",
                    "I'm afraid you're not eligible: instalments aren't offered in your region.",
                    echo,
                ]
            )
        ]
    if reason is DeclineReason.AGE:
        return [
            rng.choice(
                [
                    "Instalments are only available to adult customers, so I can't offer them "
                    "on this account.",
                    "Unfortunately, instalment plans are for adults only.",
                    "I'm sorry, pay-later plans aren't available on accounts of customers under "
                    "the age of majority.",
                    echo,
                ]
            )
        ]
    if reason is DeclineReason.PRIVACY:
        return [
            rng.choice(
                [
                    "I'm sorry, I can only discuss your own account, so I can't share anyone "
                    "else's credit details.",
                    "For privacy reasons I can't look up other customers' accounts.",
                    "I'm afraid I can't share information about another person's account.",
                    "Unfortunately I can't give out details of someone else's account.",
                ]
            ),
            rng.choice(
                [
                    "",
                    "They're welcome to ask us directly from their own account.",
                    "I'm happy to help with your own account, though.",
                ]
            ),
        ]
    # Insufficient credit: the price is above the available credit.
    d = turn.decision
    price = turn.money(d.amounts["price"])
    available = turn.money(d.amounts["available_credit"])
    shortfall = turn.money(d.amounts["shortfall"])
    verdict = rng.choice(
        [
            f"Unfortunately, {thing} doesn't fit: it's {price} and your available credit is "
            f"{available}.",
            f"I'm afraid {price} is more than your available credit of {available}, so I can't "
            f"put {thing} on instalments.",
            f"That's over what you can spend right now: you have {available} available and "
            f"{thing} costs {price}.",
            # The shortfall in the prompt's words ("$856.50 over the available credit"): with
            # "above your available credit" the policy put the price in the shortfall's place.
            f"Sorry, {thing} won't fit: it's {price}, which is {shortfall} over the available "
            "credit.",
            f"Sorry, {thing} is {shortfall} over the available credit, so instalments won't "
            "work for it.",
            # The account is fine here, the cart is not: say so, with the verdict's words.
            f"I'm sorry, {thing} won't go on instalments: {reason_text(d.reason)}."
            if d.reason
            else echo,
        ]
    )
    extra = [""]
    balance = d.amounts["outstanding_balance"]
    if balance > 0 and rng.random() < 0.4:
        extra = [
            rng.choice(
                [
                    f"Your limit is {turn.money(d.amounts['credit_limit'])}, but "
                    f"{turn.money(balance)} of it is already in use.",
                    f"You currently owe {turn.money(balance)}, which reduces what's available.",
                    "Paying down your balance would free up credit.",
                    "",
                ]
            )
        ]
    return [verdict, *extra]


def _decline(turn: Turn, rng: random.Random) -> list[str]:
    parts = _decline_reason(turn, rng)
    if turn.intent is Intent.LIMIT_INCREASE:
        parts.insert(
            0,
            rng.choice(
                [
                    "I can't review your limit at the moment.",
                    "A limit increase isn't possible right now.",
                    "I'm not able to raise your limit for now.",
                ]
            ),
        )
    return parts


HANDOFF_LINES: dict[Intent, tuple[str, ...]] = {
    Intent.DISPUTE: (
        "I'm connecting you with our billing team so a person can look into the charge.",
        "Let me transfer you to a colleague who handles disputes; they'll be with you shortly.",
        "A member of our team needs to review this, so I'm passing you over to them now.",
        "I'll hand this over to a specialist who can sort out the charge with you.",
        "Let me connect you with a colleague from billing; I'm sorry about the charge.",
        "I'm passing this to our billing team now so a person can check the payment with you.",
        "Let me get a specialist from our payments team to look at this with you.",
    ),
    Intent.FRAUD_REPORT: (
        "I'm transferring you to our fraud team right away; a specialist will secure your account.",
        "That needs a person: I'm connecting you with our security team now.",
        "I'm handing you over to a fraud specialist immediately; please don't worry.",
        "Let me put you through to our security team so a person can check this with you.",
        "I'm connecting you with a fraud specialist now to protect your account. Thanks for "
        "flagging it.",
    ),
    Intent.HUMAN_REQUEST: (
        "Of course, I'm connecting you with a member of our team now.",
        "Sure, let me transfer you to a colleague. They'll be with you shortly.",
        "No problem, I'll hand you over to one of our agents.",
        "I'm putting you through to a human agent now.",
        "Certainly. I'm connecting you with one of our customer service team.",
        "Happy to. Let me transfer you to a colleague who can take it from here.",
    ),
}
REVIEW_HANDOFF: tuple[str, ...] = (
    "For this I need to connect you with a member of our team.",
    "I'll pass you to a colleague who can help with credit on your account.",
    "A specialist from our team will take it from here; I'm transferring you now.",
    "Let me hand you over to one of our agents, who can look at your account with you.",
    "Credit questions on your account go to a person, so I'm connecting you with our team.",
    "I'm passing you to a colleague: a person needs to handle credit on your account.",
)


def _handoff(turn: Turn, rng: random.Random) -> list[str]:
    return [rng.choice(HANDOFF_LINES.get(turn.intent, REVIEW_HANDOFF))]


def _ask(turn: Turn, rng: random.Random) -> list[str]:
    if turn.intent is Intent.LIMIT_INCREASE:
        options = (
            "I can start a limit review for you. Could you tell me your annual income and "
            "employment status?",
            "To review your limit, I'll need a few details: what's your current yearly income, "
            "and are you employed or self-employed?",
            "Could you share your income details so I can request a review of your limit?",
            "Sure, I can request a review. What's your annual income, and are you employed?",
            "A review is possible: could you tell me your yearly income and your employer?",
            "I'll need your income details first. Could you share your annual income?",
            "Happy to start a limit review. Could you confirm your annual income and employment "
            "status?",
        )
    elif turn.intent is Intent.ORDER_STATUS:
        options = (
            "Could you share your order number so I can check?",
            "Which order do you mean? If you send me the order number I'll look it up.",
            "What's your order number? I'll check where it is.",
            "Could you tell me the order number? Then I can see where it is.",
            "Happy to check: which order is it? The order number is on your confirmation email.",
            "Can you send me the order number, please? I'll look up the delivery.",
        )
    else:
        options = (
            "Which item did you have in mind? Send me the product and I'll check it against "
            "your available credit.",
            "Could you tell me which product you're looking at? Then I can check whether it fits.",
            "What's the item you'd like to buy? I'll see if it fits your credit.",
            "Which product is it? Send me the item and I'll check it against your credit.",
            "Could you share the item you're looking at? I'll check if it fits.",
        )
    return [rng.choice(options)]


def _credit_sentences(turn: Turn) -> list[str]:
    """The ways a reply states the shopper's credit: the first two leave the balance out."""
    d = turn.decision
    limit, balance = d.amounts["credit_limit"], d.amounts["outstanding_balance"]
    available = d.amounts["available_credit"]
    m = turn.money
    options = [
        f"Your credit limit is {m(limit)} and you have {m(available)} available.",
        # "You can spend up to ..." claims the shopper may use the credit: only said
        # to one who may (one option either way, so the generator's draws stay aligned).
        f"Right now you can spend up to {m(available)} on credit; your total limit is {m(limit)}."
        if d.eligible
        else f"Your limit is {m(limit)} and {m(available)} of it is still available.",
    ]
    # No "nothing is outstanding" phrasing: policies copied it to shoppers who owe.
    if balance > 0:
        options += [
            f"Your credit limit is {m(limit)}. You currently owe {m(balance)}, so "
            f"{m(available)} is available to spend.",
            f"You have {m(available)} of available credit ({m(limit)} limit minus "
            f"{m(balance)} outstanding).",
        ]
    return options


NOTHING_OWED = "You don't owe anything right now."


def _owed_stated(turn: Turn, reply: str) -> str:
    """Asked what they owe ("What do I owe at the moment?"), a reply that gives only the
    limit and what is left says the balance instead. Rewritten after the draw, so the
    generator's random stream, and every other reference, stay as they were."""
    d = turn.decision
    balance = d.amounts.get("outstanding_balance", Decimal(0))
    if turn.intent is not Intent.CREDIT_INFO or d.action is not Action.INFORM:
        return reply
    if balance <= 0:
        # ("How much do I owe?" with nothing owed got the limit alone, live API.)
        if not asks_owed(turn.message) or says_nothing_owed(reply):
            return reply
        return _after_the_figures(reply, NOTHING_OWED)
    asked = asks_owed(turn.message) or asks_why(turn.message) or names_balance(turn.message)
    # The balance's figure may be the limit's or what is left too (all of the limit owed):
    # then it does not show the balance was said.
    figures = {turn.money(d.amounts["credit_limit"]), turn.money(d.amounts["available_credit"])}
    said = turn.money(balance) in reply and turn.money(balance) not in figures
    if said or not asked:
        return reply
    silent, owed = _credit_sentences(turn)[:2], _credit_sentences(turn)[2]
    return next((reply.replace(s, owed) for s in silent if s in reply), reply)


# How a reply says what can be done about a limit of zero, which the facts do not explain.
LIMIT_REVIEW = "If you'd like your limit reviewed, just ask me to raise it."


_FIGURE_RE = re.compile(r"\d|[$€£¥]")


def _after_the_figures(reply: str, line: str) -> str:
    """`reply` with `line` after its last sentence that states a figure, so a closing line
    ("Let me know if you need anything else.") stays last."""
    sentences = re.split(r"(?<=[.!?])\s+", reply)
    at = max((i + 1 for i, s in enumerate(sentences) if _FIGURE_RE.search(s)), default=0)
    if not at:  # no figure: before a closing line ("I'm happy to help with anything else.")
        closes = len(sentences) > 1 and sentences[-1] in _CLOSING_LINES
        at = len(sentences) - 1 if closes else len(sentences)
    return " ".join([*sentences[:at], line, *sentences[at:]])


# A turn that asks what is left after the purchase in a follow-up's few words (the
# guard knows it from the conversation: `TurnFacts.asks_left_after`).
LEFT_AFTER_TAG = "left_after"


def _left_after_stated(turn: Turn, reply: str) -> str:
    """Asked what would be left after buying what is in view, a reply about the credit
    says it (the available credit less the items)."""
    d = turn.decision
    credit = turn.intent is Intent.CREDIT_INFO and d.action is Action.INFORM
    if not (credit or (turn.intent is Intent.PURCHASE_FIT and d.action is Action.APPROVE)):
        return reply
    fit = cart_fit(turn.profile, turn.context)
    asked = asks_left_after(turn.message) or LEFT_AFTER_TAG in turn.tags
    if fit is None or not fit.fits or not asked:
        return reply
    left = turn.money(fit.available - fit.total)
    if _BALANCE_AFTER_RE.search(turn.message):
        # "what's my balance after that": what would be owed, and what is left.
        owed = turn.money(turn.profile.outstanding_balance + fit.total)
        if owed in reply and left in reply:
            return reply
        return _after_the_figures(
            reply,
            f"After {turn.thing} at {turn.money(fit.total)}, you'd owe {owed}, "
            f"with {left} still available.",
        )
    if left in reply:
        return reply
    return _after_the_figures(
        reply, f"After {turn.thing} at {turn.money(fit.total)}, {left} would be left."
    )


_BALANCE_AFTER_RE = re.compile(r"\b(?:balance|owe|owing)\b", re.IGNORECASE)


def _zero_limit_explained(turn: Turn, reply: str) -> str:
    """Asked why their limit is zero ("why is my limit zero?"), a reply says what can be
    done: the facts hold no reason, and a limit review is one request away."""
    d = turn.decision
    if turn.intent is not Intent.CREDIT_INFO or d.action is not Action.INFORM:
        return reply
    zero_why = d.amounts.get("credit_limit") == 0 and asks_why(turn.message)
    if not zero_why and not asks_why_limit_low(turn.message):
        return reply
    if says_limit_review(reply):
        return reply
    return _after_the_figures(reply, LIMIT_REVIEW)


def _interest_stated(turn: Turn, reply: str) -> str:
    """Asked about interest beside a question on their credit ("Tell me my limit. Also,
    what's the interest rate?") or with an approval, a reply says the plans charge none."""
    d = turn.decision
    credit = turn.intent is Intent.CREDIT_INFO and d.action is Action.INFORM
    if not (credit or d.action is Action.APPROVE):
        return reply
    if not asks_interest(turn.message) or asks_unknown_fact(turn.message):
        return reply  # (the rate on the balance: not held, not guessed)
    if asks_if_charged(turn.message):  # asked yes-or-no: "No" first, not "Yes, you can..."
        rest = re.sub(r"^\W*(?:yes|yep|sure)\b[,!.]?\s*(?:\w+[,!.]\s+)?", "", reply, flags=re.I)
        return f"No, there's no interest and no fee. {rest[:1].upper()}{rest[1:]}"
    if says_no_interest(reply):
        return reply
    return _after_the_figures(reply, "Instalment plans are interest-free, with no fees.")


def _monthly_stated(turn: Turn, reply: str) -> str:
    """Asked to pay weekly (or otherwise than monthly), an approval says plans are paid
    monthly first, not "Yes" ("Can I pay weekly instead of monthly?" got "Yes, you can pay
    in instalments", live API)."""
    asked = asks_other_frequency.search(turn.message)
    if turn.decision.action is not Action.APPROVE or asked is None or says_paid_monthly(reply):
        return reply
    other = _frequency_word(asked.group("how").lower())
    rest = re.sub(r"^\W*(?:yes|yep|sure)\b[,!.]?\s*(?:\w+[,!.]\s+)?", "", reply, flags=re.I)
    return f"Plans are paid monthly; there's no {other} option. {rest[:1].upper()}{rest[1:]}"


def _frequency_word(how: str) -> str:
    """The asked frequency as an adjective ("every two weeks" -> "fortnightly")."""
    if "day" in how or how == "daily":
        return "daily"
    if "twice" in how or "semi" in how:
        return "twice-monthly"
    if any(w in how for w in ("fortnight", "two weeks", "2 weeks", "other week", "bi")):
        return "fortnightly"
    return "weekly"


def _arrival_unknown_stated(turn: Turn, reply: str) -> str:
    """Asked when an order arrives, with a status that does not say ("packed and waiting
    for the courier"), a reply says after the status that the date cannot be seen here ("and
    when will it arrive?" got the status alone, live API)."""
    status = turn.context.order_status
    if turn.intent is not Intent.ORDER_STATUS or turn.decision.action is not Action.INFORM:
        return reply
    if not status or status_says_when(status) or not asks_arrival(turn.message):
        return reply
    if says_not_known(reply):
        return reply
    # (Not "I can't see ...": the stance reader takes that for a decline.)
    return _after_the_figures(reply, "I don't have a delivery date for it yet.")


def _refund_stated(turn: Turn, reply: str) -> str:
    """Asked when the refund of a return comes, a reply about returns says when it is
    issued."""
    if turn.intent is not Intent.RETURNS or not asks_refund_timing(turn.message):
        return reply
    if re.search(r"\brefund", reply, re.IGNORECASE):
        return reply
    return _after_the_figures(reply, "The refund is issued once we receive the parcel.")


def _refund_method_stated(turn: Turn, reply: str) -> str:
    """Asked where the refund of a return goes, a reply about returns says: to the
    original payment method."""
    if turn.intent is not Intent.RETURNS or not asks_refund_method(turn.message):
        return reply
    if re.search(r"original payment method", reply, re.IGNORECASE):
        return reply
    return _after_the_figures(reply, REFUND_TO_ORIGINAL)


REFUND_TO_ORIGINAL = "Your refund goes back to the original payment method once the item arrives."


def _free_up_explained(turn: Turn, reply: str) -> str:
    """Asked how to have more credit to spend, a reply about the credit says how: paying
    down what is owed frees it, and with nothing owed, a limit review is the way."""
    d = turn.decision
    if turn.intent is not Intent.CREDIT_INFO or d.action is not Action.INFORM:
        return reply
    balance = d.amounts.get("outstanding_balance", Decimal(0))
    spent = d.amounts.get("available_credit", Decimal(0)) <= 0 < balance
    if not (asks_free_up(turn.message) or spent) or says_paying_down(reply):
        # (With nothing left to spend, "so I can't buy anything on credit right now?" got
        # the figures alone, live API: how to have some again is said too.)
        return reply
    if balance <= 0:
        return reply if says_limit_review(reply) else _after_the_figures(reply, LIMIT_REVIEW)
    line = f"Paying down your balance of {turn.money(balance)} frees up credit as you go."
    return _after_the_figures(reply, line)


def _paying_off_explained(turn: Turn, reply: str) -> str:
    """Asked what paying the balance off would do after a decline over the credit, a reply
    says it frees that much, up to the limit (the shopper compares it with the cart)."""
    d = turn.decision
    if d.action is not Action.DECLINE or d.reason is not DeclineReason.INSUFFICIENT_CREDIT:
        return reply
    balance = d.amounts.get("outstanding_balance", Decimal(0))
    if balance <= 0 or not supposes_paying_off(turn.message) or says_paying_down(reply):
        return reply
    limit = turn.money(d.amounts["credit_limit"])
    owed = turn.money(balance)
    line = f"Paying off your balance of {owed} frees that much again, up to your limit of {limit}."
    named = [a.value for a in extract_numbers(turn.message).amounts]
    if len(named) == 1 and named[0] > 0:
        # A part of it named ("What if I pay $30 off my balance first?"): what that frees.
        paid = min(named[0], balance)
        after = d.amounts["available_credit"] + paid
        total = d.amounts["price"]
        short = total - after
        line = (
            f"If you pay {turn.money(paid)} off your balance, you'd have {turn.money(after)} "
            + (
                f"available, enough for {turn.thing} at {turn.money(total)}."
                if short <= 0
                else f"available, still {turn.money(short)} short of {turn.money(total)}."
            )
        )
    return _after_the_figures(reply, line)


# What a shopper can do about each decline that has a remedy they can act on.
WAY_FORWARD: dict[DeclineReason, str] = {
    DeclineReason.ACCOUNT_STANDING: "Bringing your payments up to date will reopen them.",
    DeclineReason.UNVERIFIED: "You can complete verification in your account settings.",
    DeclineReason.INSUFFICIENT_CREDIT: "Paying down your balance frees up credit, or a "
    "smaller basket may fit.",
}
REGIONS_OFFERED = (
    "Instalments are offered in the US, the UK, Germany, France, Spain, Italy, the "
    "Netherlands and Japan."
)


def _way_forward_stated(turn: Turn, reply: str) -> str:
    """Asked what can be done about a decline, a reply says it when the shopper can act
    (a suspended account, an unsupported region or an age cannot be acted on here)."""
    d = turn.decision
    if d.action is not Action.DECLINE or d.reason not in WAY_FORWARD:
        return reply
    if turn.profile.account_standing is AccountStanding.SUSPENDED:
        return reply
    if not asks_way_forward(turn.message) or says_way_forward(reply, d.reason):
        return reply
    return _after_the_figures(reply, WAY_FORWARD[d.reason])


AGE_RULE = "Instalments are open to customers aged 18 and over, with no upper age limit."


def _age_rule_stated(turn: Turn, reply: str) -> str:
    """Asked about an age limit, a reply states the rule (18 and over, none above)."""
    if turn.decision.action is Action.HANDOFF or not asks_age_rule(turn.message):
        return reply
    return reply if says_age_rule(reply) else _after_the_figures(reply, AGE_RULE)


STANDING_SAID = {
    AccountStanding.GOOD: "Your account is in good standing.",
    AccountStanding.LATE: "There's an overdue payment on your account.",
    AccountStanding.DELINQUENT: "There's an overdue payment on your account.",
    AccountStanding.SUSPENDED: "Your account is currently suspended.",
}


def _standing_stated(turn: Turn, reply: str) -> str:
    """Asked whether their account is in order, a reply about the credit says how it
    stands."""
    d = turn.decision
    if turn.intent is not Intent.CREDIT_INFO or d.action is not Action.INFORM:
        return reply
    if not asks_account_ok(turn.message):
        return reply
    return _after_the_figures(reply, STANDING_SAID[turn.profile.account_standing])


def _currency_stated(turn: Turn, reply: str) -> str:
    """Amounts asked in another currency than the account's: which one it is in, first."""
    asked = currency_asked(turn.message)
    account = turn.profile.currency
    if asked in (None, account) or turn.decision.action is Action.HANDOFF:
        return reply
    line = f"Your account is in {CURRENCY_NAMES[account]}, so amounts are given in those."
    return _after_the_figures(reply, line)


# A turn asking why the term asked before is not offered (the guard knows it from the
# conversation: `TurnFacts.term_refused_asked_why`), tagged with the term.
TERM_WHY_TAG = "term_why"


def _term_tier_explained(turn: Turn, reply: str) -> str:
    """Asked why a term is not offered: terms go by membership tier, said first."""
    tag = next((t for t in turn.tags if t.startswith(f"{TERM_WHY_TAG}:")), None)
    if tag is None or turn.decision.action is not Action.APPROVE:
        return reply
    term = int(tag.split(":")[1])
    tier = turn.profile.membership_tier.value
    listed = terms_phrase(TERMS_BY_TIER[turn.profile.membership_tier])
    having = [t.value for t, terms in TERMS_BY_TIER.items() if term in terms]
    why = (
        f"Terms go by membership tier: {term} months isn't offered below {having[0]}, and as "
        f"a {tier} member you can choose {listed} months."
        if having
        else f"{term} months isn't a term on any membership tier; as a {tier} member you can "
        f"choose {listed} months."
    )
    return f"{why} {reply}"


def _terms_offered_stated(turn: Turn, reply: str) -> str:
    """Asked what terms there are, an approval lists the tier's, after the figures ("What
    terms do I get, is there interest, and can I buy the monitor?" got one term's payment,
    live API)."""
    terms = TERMS_BY_TIER[turn.profile.membership_tier]
    if turn.decision.action is not Action.APPROVE or not asks_terms_offered(turn.message):
        return reply
    if asked_terms(turn.message) or set(terms) <= term_numbers(reply):
        return reply
    return _after_the_figures(reply, f"You can choose {terms_phrase(terms)} months.")


# A term asked for each of several items (`TurnFacts.terms_per_item`): a tag per item,
# "per_item:<index in the cart>:<months>".
PER_ITEM_TAG = "per_item"


def _payments_per_item_stated(turn: Turn, reply: str) -> str:
    """Asked a term for each item, an approval gives each item's payment over its term,
    instead of the cart's over one."""
    pairs = [t.split(":")[1:] for t in turn.tags if t.startswith(f"{PER_ITEM_TAG}:")]
    offered = TERMS_BY_TIER[turn.profile.membership_tier]
    if turn.decision.action is not Action.APPROVE or not pairs:
        return reply
    said = []
    for index, months in pairs:
        item, term = turn.context.items[int(index)], int(months)
        if term in offered:
            pay = turn.money(monthly_payments(item.price * item.quantity, turn.profile)[term])
            said.append(f"the {item.title} is {pay} a month over {term} months")
        else:
            said.append(f"{term} months isn't offered for the {item.title}")
    kept = [s for s in re.split(r"(?<=[.!?])\s+", reply) if " a month over " not in s]
    line = f"Over the terms you asked, {' and '.join(said)}."
    return _after_the_figures(" ".join(kept), line)


def _tier_stated(turn: Turn, reply: str) -> str:
    """Asked their membership tier, a reply about the credit names it and its terms."""
    d = turn.decision
    if turn.intent is not Intent.CREDIT_INFO or d.action is not Action.INFORM:
        return reply
    tier = turn.profile.membership_tier.value
    if not asks_own_tier(turn.message) or tier in reply.lower():
        return reply
    terms = terms_phrase(TERMS_BY_TIER[turn.profile.membership_tier])
    return _after_the_figures(reply, f"You're a {tier} member, with plans over {terms} months.")


def _verification_stated(turn: Turn, reply: str) -> str:
    """Asked whether they are verified, a reply says so (an unverified shopper's decline
    already says verification is needed)."""
    if turn.decision.action is Action.HANDOFF or not asks_if_verified(turn.message):
        return reply
    if not turn.profile.identity_verified:
        return reply
    return _after_the_figures(reply, "Your identity is verified, so there's nothing to do there.")


NO_MINIMUM = "There's no minimum amount: anything within your available credit can go on a plan."


CHECKOUT_STEPS = "At checkout, choose instalments as the payment method and pick your plan."


def _checkout_stated(turn: Turn, reply: str) -> str:
    """Asked how to go ahead, an approval says where: at checkout."""
    if turn.decision.action is not Action.APPROVE or not asks_checkout(turn.message):
        return reply
    return reply if "checkout" in reply.lower() else _after_the_figures(reply, CHECKOUT_STEPS)


def _minimum_stated(turn: Turn, reply: str) -> str:
    """Asked whether a plan has a smallest amount, an approval says it has none."""
    if turn.decision.action is not Action.APPROVE or not asks_minimum(turn.message):
        return reply
    return reply if says_no_minimum(reply) else _after_the_figures(reply, NO_MINIMUM)


def _regions_listed(turn: Turn, reply: str) -> str:
    """Asked where instalments are offered, a reply names the countries; asked about a
    move abroad, it names them first, with no "Yes" before ("I'm moving to Canada next
    month, can I still use instalments?" got "Yes, Sam! You can spread your purchases...",
    live API)."""
    if not asks_which_regions(turn.message) or says_regions(reply):
        return reply
    if moves_abroad(turn.message):
        rest = re.sub(
            r"^\W*(?:yes|yep|sure|good news)\b[,!.:]?\s*(?:\w+[,!.]\s+)?", "", reply, flags=re.I
        )
        return f"{REGIONS_OFFERED} Where you live now, {rest[:1].lower()}{rest[1:]}"
    return _after_the_figures(reply, REGIONS_OFFERED)


def _shortfall_stated(turn: Turn, reply: str) -> str:
    """Asked how much more credit they would need, a decline over the available credit
    says by how much (after the sentence with the figures, before any closing line)."""
    d = turn.decision
    shortfall = d.amounts.get("shortfall")
    if d.action is not Action.DECLINE or d.reason is not DeclineReason.INSUFFICIENT_CREDIT:
        return reply
    if shortfall is None or turn.money(shortfall) in reply or not asks_shortfall(turn.message):
        return reply
    return _after_the_figures(reply, f"That's {turn.money(shortfall)} over your available credit.")


def _most_affordable_stated(turn: Turn, reply: str) -> str:
    """Asked what they can afford instead, a decline over the available credit says what
    is available ("can I buy the TV? and if not, what can I afford?")."""
    d = turn.decision
    if d.action is not Action.DECLINE or d.reason is not DeclineReason.INSUFFICIENT_CREDIT:
        return reply
    available = d.amounts.get("available_credit")
    if available is None or turn.money(available) in reply or not asks_max_spend(turn.message):
        return reply
    return _after_the_figures(reply, f"You have {turn.money(available)} of credit to spend.")


def _most_spread_stated(turn: Turn, reply: str) -> str:
    """Asked the most they can spend and what it comes to a month ("what's the max I can
    spend and could that be spread over 6 months?" got "You can spread your credit limit
    of $1,000 into 3 and 6 months of credit", live API), a reply about the credit gives the
    available credit's payment over each term asked."""
    d = turn.decision
    if turn.intent is not Intent.CREDIT_INFO or d.action is not Action.INFORM:
        return reply
    if turn.context.items or not asks_max_spend(turn.message):
        return reply
    allowed = TERMS_BY_TIER[turn.profile.membership_tier]
    said = asked_terms(turn.message, allowed) if turn.terms_asked is None else turn.terms_asked
    available = turn.profile.available_credit
    lines = [
        f"Spread over {t} months, {turn.money(available)} would be "
        f"{turn.money(quantize(available / t, turn.profile.currency))} a month."
        for t in sorted(said)
        if available > 0
    ]
    return _after_the_figures(reply, " ".join(lines)) if lines else reply


def _whole_price_stated(turn: Turn, reply: str) -> str:
    """Offered to pay part now and the rest in instalments, an approval first says that a
    plan covers the whole price (its payments are the price over the term)."""
    d = turn.decision
    if d.action is Action.DECLINE and d.reason is DeclineReason.INSUFFICIENT_CREDIT:
        # Declined over the credit, part offered now: a plan still covers the whole price.
        if pays_part_now(turn.message) and not says_whole_price(reply):
            return (
                f"A plan covers the whole price, so paying part up front doesn't change it. {reply}"
            )
        return reply
    if d.action is not Action.APPROVE:
        return reply
    if not (pays_part_now(turn.message) or asks_upfront(turn.message)):
        return reply
    if says_whole_price(reply):
        return reply
    return f"A plan covers the whole price, with nothing paid up front. {reply}"


def _price_said(turn: Turn, price: str) -> str:
    thing = turn.thing
    return f"{thing[0].upper()}{thing[1:]} {'comes to' if thing == 'your cart' else 'is'} {price}."


def _cost_stated(turn: Turn, reply: str) -> str:
    """Asked the price, what a plan costs in all, whether it charges interest, or how many
    months it can run, an approval says so after its first sentence: the total is the
    price, with no interest or fee; the tier's terms."""
    d = turn.decision
    if "price" not in d.amounts:
        return reply
    price = turn.money(d.amounts["price"])
    if d.action is Action.DECLINE and asks_price(turn.message) and price not in reply:
        # "how much is this?" over the credit got how far over alone (live API): the
        # price asked comes first.
        return f"{_price_said(turn, price)} {reply}"
    if d.action is not Action.APPROVE:
        return reply
    if asks_total_paid(turn.message) and price not in reply:
        said = f"In all you'd pay {price}: plans are interest-free, so the total is the price."
    elif (
        asks_total_paid(turn.message)
        and compares_cost(turn.message)
        and not says_no_interest(reply)
    ):
        said = f"Every term comes to {price} in all: plans are interest-free."
    elif asks_price(turn.message) and price not in reply:
        said = _price_said(turn, price)
    elif asks_interest(turn.message) and not says_no_interest(reply):
        said = "There's no interest and no fee on top of the price."
    elif asks_terms_offered(turn.message) and not asked_terms(turn.message):
        terms = TERMS_BY_TIER[turn.profile.membership_tier]
        if set(terms) <= term_numbers(reply):
            return reply
        said = f"You can choose {terms_phrase(terms)} months."
    else:
        return reply
    first, *rest = re.split(r"(?<=[.!?])\s+", reply, maxsplit=1)
    return " ".join([first, said, *rest])


def _inform(turn: Turn, rng: random.Random) -> list[str]:
    if turn.intent is Intent.CREDIT_INFO:
        parts = [rng.choice(_credit_sentences(turn))]
        if "unknown_fact" in turn.tags or asks_unknown_fact(turn.message):
            parts.insert(
                0,
                rng.choice(
                    [
                        "I don't have that information on your account, but here's what I can see.",
                        "That isn't something I can see here.",
                        "I'm not able to see that detail.",
                    ]
                ),
            )
        return parts
    if turn.intent is Intent.ORDER_STATUS:
        oid, status = turn.context.order_id or "your order", turn.context.order_status
        return [
            rng.choice(
                [
                    f"Your order {oid} is {status}.",
                    f"I've checked {oid}: it's {status}.",
                    f"Order {oid} is currently {status}.",
                    f"Here's the latest on {oid}: {status}.",
                ]
            )
        ]
    if turn.intent is Intent.RETURNS:
        return [
            rng.choice(
                [
                    "You can start a return from your Orders page: choose the item, pick a "
                    "reason and print the prepaid label.",
                    "To send something back, open Orders, select the item and choose Return. "
                    "We'll email you a label.",
                    "Returns are easy: go to your orders, pick the item and follow the steps.",
                    "Just open the order in your account and select Return next to the item.",
                ]
            ),
            rng.choice(
                [
                    "",
                    "Your refund goes back to the original payment method once the item arrives.",
                    "The refund is issued once we receive the parcel.",
                ]
            ),
        ]
    name = f" {turn.name}" if turn.name else ""
    text = turn.message.lower()
    if says_thanks(turn.message) or "that's all" in text:
        options = [
            "You're welcome! Have a great day.",
            "Any time! Enjoy the rest of your day.",
            "My pleasure. Happy shopping!",
            f"Thanks for chatting{name}. Enjoy your day!",
            "Glad I could help!",
        ]
    elif "bot" in text or asks_if_bot(turn.message):
        options = [
            "Yes, I'm the shop's virtual assistant. I can help with instalments, your credit, "
            "orders and returns.",
            "I am: a virtual assistant for the shop. Ask me about payments, orders or returns.",
            "I'm an automated assistant, and I'm happy to help with your account or orders.",
            "Yes, I'm a bot, but I can answer most questions about payments and orders.",
            "I'm the shop's automated assistant, not a person, but I'm glad to help.",
        ]
    elif says_goodbye(turn.message):
        options = [
            "Goodbye! Have a great day.",
            f"Bye{name}, and happy shopping!",
            "Take care, and thanks for stopping by.",
        ]
    elif acknowledges(turn.message):
        options = [
            "Great! Is there anything else I can help with?",
            f"Glad that helps{name}. Anything else?",
            "Sounds good. Let me know if you need anything else.",
        ]
    elif (topic := out_of_scope_topic(turn.message)) in _NOT_SEEN_OF_CREDIT:
        # Said of instalments themselves: what the assistant helps with would repeat it.
        options = [_NOT_SEEN_OF_CREDIT[topic]]
    elif topic:
        options = [f"{_NOT_SEEN[topic]} {line}" for line in _WHAT_I_HELP_WITH]
    elif asks_capabilities(turn.message):
        options = list(_WHAT_I_HELP_WITH)
    else:
        options = [
            f"Hi{name}! How can I help you today?",
            f"Hello{name}! What can I do for you?",
            # (said only when asked: "I'm thinking about a new laptop" got it, live API)
            f"Hi{name}, I'm doing well, thanks. What can I help you with?"
            if asks_how_are_you(turn.message)
            else f"Hi{name}! What can I help you with?",
            "Good to hear from you! I can help with instalments, your credit, orders and returns.",
        ]
    return [rng.choice(options)]


# What the assistant helps with, said when asked and beside what it cannot see.
_WHAT_I_HELP_WITH: tuple[str, ...] = (
    "I can help with instalments, your credit, orders and returns.",
    "Ask me about instalments, your credit, an order or a return.",
    "What I can do is check instalments and your credit, look up an order in view and "
    "explain returns.",
)
# (Each in words the stance reader takes for no decision: "I can't see the ...".)
_NOT_SEEN: dict[str, str] = {
    "stock": "I can't see the stock levels from here; the product page shows whether it's "
    "available.",
    "delivery": "I can't see the delivery areas or times from here; checkout shows the "
    "options for your address.",
    "product": "I can't see the product details from here; the product page lists what's included.",
    "advice": "I can't see the product details or reviews from here; the product pages list them.",
    "shipping": "I can't see shipping costs from here; checkout shows them for your address.",
    "pricing": "I can't see price changes or offers from here; the product page shows the "
    "current price.",
    "payment": "I can't see the other ways to pay from here; checkout shows the options for "
    "your order.",
    "tier": "I can't see how membership tiers are given from here.",
    "return_rules": "I can't see the return conditions from here; to send something back, "
    "open Orders, select the item and choose Return.",
    "return_window": "I can't see how long returns stay open from here; to send something "
    "back, open Orders, select the item and choose Return.",
    "history": "I can't see your past orders from here; your Orders page lists them.",
    "memory": "I can't see any saved preferences from here, so name the term you'd like each "
    "time you ask.",
    "details": "I can't see your contact details from here; your account settings show them.",
    "site": "I can't see the website's errors from here; reloading the page or trying again "
    "later may help.",
    "privacy": "I can't see how the shop keeps data from here; its privacy policy explains it.",
    "other": "That isn't something I can see from here.",
}
# What the rules hold no facts for about instalments themselves (`out_of_scope_topic`), in
# words the stance reader takes for no decision ("I can't see whether … can be …" reads
# as a decline).
_NOT_SEEN_OF_CREDIT: dict[str, str] = {
    "in_store": "I can't see the rules for using instalments in stores or on other sites from "
    "here; I can check the ones for buying here online.",
    "business": "I can't see the rules for business purchases from here; I can check "
    "instalments on your own account.",
    "shared": "I can't see the rules for sharing a plan with someone else from here; I can "
    "check plans on your own account.",
    "deferred": "I can't see the payment dates from here; checkout shows when a plan's "
    "payments start.",
}

_KIND = {
    Action.APPROVE: "positive",
    Action.DECLINE: "negative",
    Action.ASK_INFO: "ask",
    Action.HANDOFF: "handoff",
    Action.INFORM: "neutral",
}


def _body(turn: Turn, rng: random.Random) -> list[str]:
    action = turn.decision.action
    if action is Action.APPROVE:
        if turn.intent is Intent.PURCHASE_FIT:
            return _approve_purchase(turn, rng)
        return _approve_eligibility(turn, rng)
    if action is Action.DECLINE:
        return _decline(turn, rng)
    if action is Action.HANDOFF:
        return _handoff(turn, rng)
    if action is Action.ASK_INFO:
        return _ask(turn, rng)
    return _inform(turn, rng)


def reference_replies(turn: Turn, rng: random.Random, k: int = 4) -> list[str]:
    """`k` distinct human-style gold replies for one turn (fewer only if phrasings run out)."""
    kind = _KIND[turn.decision.action]
    if turn.intent is Intent.SMALL_TALK:
        kind = "none"  # the small-talk line is itself the greeting
    replies: list[str] = []
    for _ in range(12 * k):
        body = [part for part in _body(turn, rng) if part]
        # Concise: a closer only where the body leaves room for it (about 48 tokens in all).
        closer = _closer(rng, kind) if sum(map(len, body)) < 110 else ""
        if closer == "Then I can check." and re.search(r"Then I can|\bcheck", " ".join(body)):
            closer = ""  # "... Then I can see where it is. Then I can check." (drawn all the same)
        reply = _address(rng, turn, _join([_opener(rng, turn, kind), *body, closer]))
        if reply not in replies:
            replies.append(reply)
        if len(replies) == k:
            break
    rewrites = (
        _owed_stated,
        _shortfall_stated,
        _most_affordable_stated,
        _most_spread_stated,
        _whole_price_stated,
        _cost_stated,
        _zero_limit_explained,
        _left_after_stated,
        _free_up_explained,
        _paying_off_explained,
        _way_forward_stated,
        _regions_listed,
        _age_rule_stated,
        _interest_stated,
        _monthly_stated,
        _arrival_unknown_stated,
        _refund_stated,
        _refund_method_stated,
        _verification_stated,
        _minimum_stated,
        _checkout_stated,
        _standing_stated,
        _tier_stated,
        _currency_stated,
        _term_tier_explained,
        _terms_offered_stated,
        _payments_per_item_stated,
    )
    said = (reduce(lambda text, rewrite: rewrite(turn, text), rewrites, r) for r in replies)
    return list(dict.fromkeys(said))


CLARIFYING_REPLIES: tuple[str, ...] = (
    "Sorry, I didn't quite catch that. I can help with instalments, your credit, orders and "
    "returns: what would you like to know?",
    "Could you tell me a bit more about what you need? I can help with payments, your "
    "credit, orders and returns.",
    "I want to get this right: could you rephrase your question? I can help with "
    "instalments, orders and returns.",
)


def clarifying_reply(rng: random.Random) -> str:
    """A question back that states no fact: the guard's reply when it cannot tell what
    the shopper asked and the policy's reply failed a check."""
    return rng.choice(CLARIFYING_REPLIES)
