"""The simulated customer's reaction to one reply: the documented outcome model.

SIMULATION: these probabilities are assumptions chosen to be plausible and to reward
exactly what the reasoning functions measure, not estimates from real shoppers. They
turn "was the reply right and clear?" into outcome events so the A/B machinery can be
exercised end to end; docs/experiments.md lists every number and why.

One customer turn per session. From the judged reply (`Judgement`) and the gold action:

* **offer shown**: the reply approves instalments on a credit question (the shopper
  sees an instalment offer).
* **conversion**: likeliest after a correct approval with a clear, faithful offer;
  much less likely after an unclear one; rare after a wrong approval (the offer fails
  at checkout) or when a valid offer was missed.
* **handoff**: the bot handed off (policy handoff), or the shopper escalates: very
  likely when they needed a human and did not get one, likely after a wrong reply,
  sometimes after an unclear one, rarely otherwise.
* **satisfaction** (1–5, answered by a share of shoppers): a latent score raised by a
  correct decision, a clear reply and a purchase, lowered by an escalation, plus noise.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from app.domain.rules import CREDIT_INTENTS, Action, Intent

OFFER_INTENTS: frozenset[Intent] = frozenset({Intent.INSTALMENT_ELIGIBILITY, Intent.PURCHASE_FIT})


@dataclass(frozen=True)
class Judgement:
    """What the reasoning functions say about one reply (each score in [0, 1])."""

    stance: Action | None  # the parsed stance of the reply, None when unreadable
    decision: float  # stance equals the gold action
    numeric: float  # every amount/count licensed
    state: float  # no claim contradicts the profile
    handoff: float  # hands off exactly when it should
    words: int  # reply length in words

    @property
    def correct(self) -> bool:
        return self.decision >= 0.5 and self.handoff >= 0.5

    def clear(self, max_words: int) -> bool:
        """Faithful numbers and state, and a readable length."""
        return self.numeric >= 0.5 and self.state >= 0.5 and 3 <= self.words <= max_words


@dataclass(frozen=True)
class OutcomeModel:
    """Probabilities of the simulated shopper (see the module docstring and docs).

    Conversion probabilities by situation:
        p_convert_clear_offer: correct approval, clear and faithful offer.
        p_convert_unclear_offer: correct approval, but a wrong number or an unclear reply.
        p_convert_wrong_offer: approval the rules do not allow (fails at checkout).
        p_convert_missed_offer: the shopper was eligible but got no offer.
        p_convert_no_offer: no offer was due (declines, information, small talk).
    Escalation (shopper asks for a human) probabilities:
        p_escalate_needed: the shopper needed a human and the bot did not hand off.
        p_escalate_wrong: the decision was wrong.
        p_escalate_unclear: right decision, unclear or unfaithful reply.
        p_escalate_ok: right and clear.
    Satisfaction:
        p_rate: share of sessions that answer the survey.
        sat_base, sat_correct, sat_clear, sat_converted, sat_escalated: latent score terms.
        sat_noise: standard deviation of the latent noise (rounded, clipped to 1..5).
    max_words: replies longer than this are not "clear".
    """

    p_convert_clear_offer: float = 0.40
    p_convert_unclear_offer: float = 0.20
    p_convert_wrong_offer: float = 0.03
    p_convert_missed_offer: float = 0.08
    p_convert_no_offer: float = 0.04
    p_escalate_needed: float = 0.70
    p_escalate_wrong: float = 0.30
    p_escalate_unclear: float = 0.12
    p_escalate_ok: float = 0.03
    p_rate: float = 0.5
    sat_base: float = 2.0
    sat_correct: float = 1.2
    sat_clear: float = 0.8
    sat_converted: float = 0.6
    sat_escalated: float = -0.8
    sat_noise: float = 0.7
    max_words: int = 80

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if name.startswith("p_") and not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], got {value}")

    def conversion_probability(self, intent: Intent, gold: Action, j: Judgement) -> float:
        offer = offer_shown(intent, j)
        if offer and gold is Action.APPROVE:
            return (
                self.p_convert_clear_offer
                if j.clear(self.max_words)
                else (self.p_convert_unclear_offer)
            )
        if offer:
            return self.p_convert_wrong_offer
        if gold is Action.APPROVE and intent in OFFER_INTENTS:
            return self.p_convert_missed_offer
        if gold is Action.HANDOFF:
            return 0.0  # disputes and fraud reports do not end in a purchase
        return self.p_convert_no_offer

    def escalation_probability(self, gold: Action, j: Judgement) -> float:
        if j.stance is Action.HANDOFF:
            return 0.0  # already with a human (a policy handoff)
        if gold is Action.HANDOFF:
            return self.p_escalate_needed
        if not j.correct:
            return self.p_escalate_wrong
        if not j.clear(self.max_words):
            return self.p_escalate_unclear
        return self.p_escalate_ok

    def sample(
        self,
        rng: random.Random,
        *,
        intent: Intent,
        gold: Action,
        judgement: Judgement,
        basket: Decimal | None,
    ) -> Outcome:
        """Draw one session's outcome (the rng is per session, so runs are reproducible)."""
        offer = offer_shown(intent, judgement)
        converted = rng.random() < self.conversion_probability(intent, gold, judgement)
        policy_handoff = judgement.stance is Action.HANDOFF
        escalated = rng.random() < self.escalation_probability(gold, judgement)
        satisfaction = None
        if rng.random() < self.p_rate:
            latent = (
                self.sat_base
                + self.sat_correct * judgement.correct
                + self.sat_clear * judgement.clear(self.max_words)
                + self.sat_converted * converted
                + self.sat_escalated * escalated
                + rng.gauss(0.0, self.sat_noise)
            )
            satisfaction = min(5, max(1, round(latent)))
        amount = None
        if converted:
            # The basket when the page had one, else a typical order value.
            amount = basket if basket is not None else Decimal(rng.randrange(20, 400))
        reason = None
        if policy_handoff:
            reason = "policy"
        elif escalated:
            reason = "customer_request" if gold is Action.HANDOFF else "unresolved"
        return Outcome(
            offer_shown=offer,
            converted=converted,
            amount=amount,
            handoff=policy_handoff or escalated,
            handoff_reason=reason,
            satisfaction=satisfaction,
        )


@dataclass(frozen=True)
class Outcome:
    offer_shown: bool
    converted: bool
    amount: Decimal | None
    handoff: bool
    handoff_reason: str | None  # policy | customer_request | unresolved
    satisfaction: int | None


def offer_shown(intent: Intent, j: Judgement) -> bool:
    """An instalment offer reached the shopper: an approving reply to a credit question."""
    return j.stance is Action.APPROVE and intent in CREDIT_INTENTS
