"""The four reasoning functions of DESIGN §4, as scorers and as TRL rewards.

Each scorer maps (TaskExample, reply) to a `Score` in [0, 1] with a short reason:

* `score_decision`: 1 when the reply's stance equals the gold action, else 0.
* `score_numeric`: the share of numbers in the reply that are licensed (1 with none).
  Licensed: the decision's amounts and counts, and any number in what the model was
  shown (profile facts, storefront context, history, the customer's message). An
  amount matches a licensed one within the precision it was stated with ("$83" for
  $83.33), never looser than 5% of the value nor tighter than half the currency's
  minor unit; an amount in another currency than the profile's is licensed only if the
  customer's side used it.
* `score_state`: the share of claims about the user (eligibility, verification,
  standing, tier, region, age, fraud review, limit / available credit / balance
  figures) that agree with the profile (1 with none).
* `score_handoff`: 1 when the reply hands off exactly when the gold action is a handoff.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

from app.domain.money import CURRENCIES, quantize
from app.domain.profile import AccountStanding, AgeBand
from app.domain.prompt import render_facts
from app.domain.rules import SUPPORTED_REGIONS, Action
from training.data.schema import TaskExample
from training.rewards.base import RewardFunc, Score, reward_from_scorer
from training.rewards.reasoning.numbers import Amount, extract_numbers
from training.rewards.reasoning.parser import (
    Claim,
    ParsedReply,
    Stance,
    StanceFallback,
    parse_reply,
)

_PARSE_CACHE: dict[tuple[str, str], ParsedReply] = {}
_FALLBACK: list[StanceFallback] = []  # empty: rules only (the default)


def enable_embedding_fallback(enabled: bool = True) -> None:
    """Let the MiniLM k-NN classifier decide stances where no rule fires (loads it once)."""
    _FALLBACK.clear()
    _PARSE_CACHE.clear()
    if enabled:
        from training.rewards.reasoning.embedding import get_embedding_classifier

        _FALLBACK.append(get_embedding_classifier())


def parse_for(example: TaskExample, reply: str) -> ParsedReply:
    """Parse once per (intent, reply): the four functions share one parse."""
    key = (example.intent.value, reply)
    parsed = _PARSE_CACHE.get(key)
    if parsed is None:
        if len(_PARSE_CACHE) > 8192:
            _PARSE_CACHE.clear()
        fallback = _FALLBACK[0] if _FALLBACK else None
        parsed = _PARSE_CACHE[key] = parse_reply(reply, example.intent, fallback=fallback)
    return parsed


def score_decision(example: TaskExample, reply: str) -> Score:
    if not any(ch.isalpha() for ch in reply):
        return Score(0.0, "empty reply decides nothing")  # even where the gold is `inform`
    parsed = parse_for(example, reply)
    gold = example.decision.action
    if parsed.stance.value == gold.value:
        return Score(1.0, f"stance {parsed.stance.value} = gold")
    return Score(0.0, f"stance {parsed.stance.value}, gold {gold.value}")


# --- numeric faithfulness -------------------------------------------------------------


def _shown_text(example: TaskExample) -> str:
    """Everything the model was shown besides instructions: facts, history, message."""
    history = " ".join(m["content"] for m in example.history)
    return f"{render_facts(example.profile, example.context)}\n{history}\n{example.message}"


def _licensed(example: TaskExample) -> tuple[list[tuple[Decimal, str | None]], set[Decimal]]:
    """(licensed amounts with currency, licensed plain values)."""
    cur = example.profile.currency
    amounts: list[tuple[Decimal, str | None]] = [
        (v, cur) for v in example.decision.amounts.values()
    ]
    amounts += [(quantize(i.price, cur), cur) for i in example.context.items]
    values: set[Decimal] = {Decimal(c) for c in example.decision.counts}
    shown = extract_numbers(_shown_text(example))
    amounts += [(a.value, a.currency) for a in shown.amounts]
    values |= {Decimal(c.value) for c in shown.counts} | {n.value for n in shown.others}
    # Digits glued to words ("under-18", "ord-55120") are licensed too once shown.
    values |= {
        Decimal(d) for d in re.findall(r"\d+(?:\.\d+)?", _shown_text(example).replace(",", ""))
    }
    values |= {Decimal(0)}  # "0% interest": the terms are interest-free
    return amounts, values


def _amount_ok(a: Amount, licensed: list[tuple[Decimal, str | None]], currency: str) -> bool:
    half_minor = Decimal(1).scaleb(-CURRENCIES[currency][1]) / 2
    for value, cur in licensed:
        if a.currency is not None and cur is not None and a.currency != cur:
            continue
        tol = max(half_minor, min(a.tolerance, abs(value) * Decimal("0.05")))
        if abs(a.value - value) <= tol:
            return True
    return False


def score_numeric(example: TaskExample, reply: str) -> Score:
    parsed = parse_for(example, reply)
    amounts, values = _licensed(example)
    cur = example.profile.currency
    plain = [v for v, _ in amounts]
    bad: list[str] = []
    total = 0
    for a in parsed.amounts:
        total += 1
        # An amount without a currency is checked against the profile's currency.
        if not _amount_ok(a, amounts, a.currency or cur):
            bad.append(a.text)
    for c in parsed.counts:
        total += 1
        if Decimal(c.value) not in values:
            bad.append(c.text)
    for n in parsed.others:
        total += 1
        if n.value not in values and not any(abs(n.value - v) < Decimal("0.01") for v in plain):
            bad.append(n.text)
    if total == 0:
        return Score(1.0, "no numbers")
    value = (total - len(bad)) / total
    if not bad:
        return Score(1.0, f"{total} numbers, all licensed")
    return Score(value, f"unlicensed: {', '.join(bad)}")


# --- state consistency ----------------------------------------------------------------


def _claim_holds(claim: Claim, example: TaskExample) -> bool:
    p = example.profile
    cur = p.currency
    match claim.subject:
        case "eligible":
            return claim.value == example.decision.eligible
        case "verified":
            return claim.value == p.identity_verified
        case "standing":
            expected = {
                "good": {AccountStanding.GOOD},
                "late": {AccountStanding.LATE, AccountStanding.DELINQUENT},
                "suspended": {AccountStanding.SUSPENDED},
            }[str(claim.value)]
            return p.account_standing in expected
        case "tier":
            return claim.value == p.membership_tier.value
        case "not_tier":
            return claim.value != p.membership_tier.value
        case "region_supported":
            return claim.value == (p.region in SUPPORTED_REGIONS)
        case "minor":
            return claim.value == (p.age_band is AgeBand.UNDER_18)
        case "fraud_review":
            return claim.value == p.fraud_review
        case "credit_limit" | "available_credit" | "outstanding_balance":
            truth = example.decision.amounts[claim.subject]
            half_minor = Decimal(1).scaleb(-CURRENCIES[cur][1]) / 2
            tol = max(half_minor, min(claim.tolerance, truth * Decimal("0.05")))
            return abs(Decimal(claim.value) - truth) <= tol
    return True


def score_state(example: TaskExample, reply: str) -> Score:
    claims = parse_for(example, reply).claims
    if not claims:
        return Score(1.0, "no claims about the user")
    wrong = [c for c in claims if not _claim_holds(c, example)]
    if not wrong:
        return Score(1.0, f"{len(claims)} claims, all consistent")
    reason = "; ".join(f"{c.subject}={c.value} ({c.text!r})" for c in wrong)
    return Score((len(claims) - len(wrong)) / len(claims), f"contradicts profile: {reason}")


# --- handoff --------------------------------------------------------------------------


def score_handoff(example: TaskExample, reply: str) -> Score:
    parsed = parse_for(example, reply)
    gold = example.decision.action is Action.HANDOFF
    if parsed.handoff == gold:
        return Score(1.0, "hands off as required" if gold else "no handoff, none required")
    if gold:
        return Score(0.0, "gold is a handoff but the reply keeps the conversation")
    return Score(0.0, "reply hands off without cause")


SCORERS: dict[str, Callable[[TaskExample, str], Score]] = {
    "decision": score_decision,
    "numeric": score_numeric,
    "state": score_state,
    "handoff": score_handoff,
}

decision_reward: RewardFunc = reward_from_scorer("decision_reward", score_decision)
numeric_reward: RewardFunc = reward_from_scorer("numeric_reward", score_numeric)
state_reward: RewardFunc = reward_from_scorer("state_reward", score_state)
handoff_reward: RewardFunc = reward_from_scorer("handoff_reward", score_handoff)

# name -> TRL reward; the constraint set f_k of DESIGN §4.
REASONING_FUNCTIONS: dict[str, RewardFunc] = {
    "decision": decision_reward,
    "numeric": numeric_reward,
    "state": state_reward,
    "handoff": handoff_reward,
}

__all__ = [
    "REASONING_FUNCTIONS",
    "SCORERS",
    "Stance",
    "decision_reward",
    "enable_embedding_fallback",
    "handoff_reward",
    "numeric_reward",
    "parse_for",
    "score_decision",
    "score_handoff",
    "score_numeric",
    "score_state",
    "state_reward",
]
