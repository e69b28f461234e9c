"""The reply guard: no reply reaches a shopper that breaks a rule the service knows.

After the policy replies, the guard runs the same checks MORE trains against
(`app.domain.checks`: decision with its reason, licensed numbers, true claims, handoff)
plus the degenerate-output check, in well under a millisecond and with no model call.

Modes (`MORE_GUARD_MODE`):

* `off`: nothing is checked (the reply's handoff is still read from its text);
* `monitor`: every reply is checked and counted, and sent as generated;
* `enforce` (default): a failing reply is replaced by the one of `n` candidates sampled
  in one engine call (shared prompt, temperature > 0) that passes and reads nearest the
  rules' own replies (`nearest_the_rules`), else by a rule-grounded reply in the same voice
  (`app.domain.references`); with the intent unknown, straight by the latter (a question
  back, or the rules' decline). A turn whose gold action is a handoff always ends
  handed off in the rules' words (no candidates), even when the policy's reply passed:
  its checks read that it hands off, not what else it says ("I'm transferring ord-221 to
  its own account" passed them, live API).

When the intent is unknown (the classifier abstained) only what needs no intent is
checked: numbers, claims, no approval the rules forbid, and degenerate output.

A message that asks two things ("what's my balance, and can I buy the blender?") is
answered on both in `enforce` mode: the policy answers the message as its intent was read,
and each further request (`app.domain.requests`) its reply leaves unanswered gets the
rules' reply for it (`ReplyGuard.answer_further`), checked against its own facts, in the
order the shopper asked, a handoff last.
"""

from __future__ import annotations

import hashlib
import logging
import random
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher
from enum import StrEnum
from typing import Any

from app.core import metrics
from app.core.timing import span
from app.domain.checks import (
    TurnFacts,
    Verdict,
    check_decision,
    forbidden_approval,
    items_meant,
    parse,
    verify,
)
from app.domain.intents import (
    asks_account_servicing,
    asks_for_person,
    asks_hardship,
    complains,
    reports_bereavement,
    reports_missing_delivery,
    reports_missing_refund,
    says_already_paid,
    states_income,
)
from app.domain.profile import AccountStanding
from app.domain.prompt import ChatMessage
from app.domain.references import (
    LEFT_AFTER_TAG,
    PER_ITEM_TAG,
    TERM_WHY_TAG,
    Turn,
    clarifying_reply,
    reference_replies,
    without_pleasantries,
)
from app.domain.replies import detects_handoff
from app.domain.rules import Action, Intent, decide
from app.domain.wording import in_shoppers_words
from app.engine.base import Adapter, ChatEngine, EngineError, Generation, SamplingSettings

logger = logging.getLogger(__name__)


class GuardMode(StrEnum):
    OFF = "off"
    MONITOR = "monitor"
    ENFORCE = "enforce"


class Intervention(StrEnum):
    NONE = "none"  # the policy's reply was sent
    RESAMPLE = "resample"  # a resampled candidate that passed was sent
    FALLBACK = "fallback"  # a rule-grounded reply was sent


@dataclass(frozen=True)
class GuardConfig:
    """The guard's knobs (from the settings).

    Args:
        mode: off | monitor | enforce.
        candidates: replies sampled in one engine call when the first one fails (0: go
            straight to the rule-grounded reply).
        temperature: sampling temperature of those candidates (> 0, or they repeat the
            greedy reply that just failed).
        max_tokens: reply cap of the candidates.
    """

    mode: GuardMode = GuardMode.ENFORCE
    candidates: int = 4
    temperature: float = 0.8
    max_tokens: int = 64


@dataclass(frozen=True)
class GuardedReply:
    """What the guard decided for one turn."""

    text: str  # the reply to send
    handoff: bool  # the sent reply hands the session to a person
    intervention: Intervention
    verdict: Verdict | None  # the policy's own reply, checked (None in `off` mode)
    extra_completion_tokens: int = 0  # tokens spent on candidates
    candidates_checked: int = 0
    record: dict[str, Any] = field(default_factory=dict)  # stored with the turn


def _rng(*parts: str) -> random.Random:
    """A deterministic RNG per turn, so a retried turn gets the same fallback wording."""
    return random.Random(hashlib.sha256("|".join(parts).encode()).hexdigest())


def fallback_reply(facts: TurnFacts, seed: str, *, raw_stance: Action | None = None) -> str:
    """A rule-grounded reply for this turn, in the voice of the training references.

    With the intent unknown, a reply that approved what the rules forbid, or declined for a
    reason the facts deny, is answered with the rules' decline for the items in view (or
    for instalments) when the rules forbid the credit; anything else with a short question
    back, which states no fact that could be wrong.
    """
    rng = _rng("fallback", seed)
    intent = facts.decided_intent
    if intent is Intent.HUMAN_REQUEST and (why := _why_a_person(facts)):
        return f"{why} {rng.choice(_PASSING_ON)}"
    if intent is Intent.HUMAN_REQUEST and not asks_for_person(facts.message):
        # Not asked for in so many words, a handoff does not open "Happy to." or "Sure"
        # ("My card was declined at checkout, why?" got "Happy to. Let me transfer you",
        # live API).
        return rng.choice(_PASSING_ON)
    if intent is None:
        decided = raw_stance in (Action.APPROVE, Action.DECLINE)
        if not decided or forbidden_approval(facts) is None:
            return clarifying_reply(rng)
        intent = Intent.PURCHASE_FIT if facts.cart.items else Intent.INSTALMENT_ELIGIBILITY
    # The first of a few of the rules' replies that passes the turn's checks: a draw may
    # leave out something the shopper asked ("What terms do I get, is there interest, and
    # can I buy the monitor?" got a reply without the terms, live API).
    said = [
        _said_once(in_shoppers_words(reply, facts.profile, facts.cart))
        for reply in reference_replies(_rules_turn(facts, intent), rng, k=_FALLBACK_DRAWS)
    ]
    return next((text for text in said if verify(facts, text).passed), said[0])


# How many of the rules' replies the fallback draws to find one that passes its checks.
_FALLBACK_DRAWS = 4


# A handoff the shopper did not ask for in so many words says why a person takes over
# ("it's ORD-55120" got "Sure, let me transfer you to a colleague", live API).
_PASSING_ON: tuple[str, ...] = (
    "I'm passing you to a colleague who can take it from here.",
    "I'm connecting you with a member of our team now.",
    "Let me hand you over to a colleague who can help with this.",
)


# A card or payment refused at checkout, which the assistant has no view of.
_CARD_REFUSED_RE = re.compile(
    r"\b(?:card|payment|transaction)\b[^.!?]{0,25}\b(?:declined|rejected|refused|failed|"
    r"did ?n[o']t go through|won'?t go through|not going through|bounced)\b",
    re.IGNORECASE,
)


def _why_a_person(facts: TurnFacts) -> str | None:
    """What the assistant cannot see that a person can, when that is why the rules hand
    the turn off (an order it has no view of, a payment the profile cannot show yet, a
    parcel or a refund that never came)."""
    named = facts.order_number
    if named and named not in (facts.context.order_id or ""):
        said = re.search(rf"\S*{named}\b", facts.message)
        order = said.group(0) if said and not said.group(0).isdigit() else f"#{named}"
        unseen = f"I can't see order {order.strip('#.,;:!?')} from here."
        shown = facts.context.order_id
        if shown and facts.context.order_status and shown.lower() in facts.message.lower():
            # Asked about the order in view as well: its status first.
            return f"Order {shown} is {facts.context.order_status}. {unseen}"
        return unseen
    if facts.profile.account_standing is not AccountStanding.GOOD and says_already_paid(
        facts.message
    ):
        return "I can't see recent payments here, and I'm sorry for the worry."
    if states_income(facts.message):  # the income a limit review asked for, given
        return "Thanks for the details: limit reviews are done by a colleague."
    if complains(facts.message):
        return "I'm sorry I haven't been more help."
    if reports_bereavement(facts.message):
        return "I'm so sorry for your loss."
    if asks_hardship(facts.message):
        # ("I lost my job and can't make my payments this month" got a bare handoff.)
        return "I'm sorry to hear that."
    if _CARD_REFUSED_RE.search(facts.message):
        return "I can't see card payments from here."
    if reports_missing_delivery(facts.message):
        return "I'm sorry it hasn't reached you."
    if reports_missing_refund(facts.message):
        return "I'm sorry the refund hasn't come through."
    if asks_account_servicing(facts.message) and not asks_for_person(facts.message):
        # "Is there a penalty if I pay the headphones off early?" got "Sure, let me transfer
        # you" (live API), as if a person had been asked for.
        return "That needs someone who can see and change your account and orders in full."
    return None


def _answers(part: TurnFacts, text: str) -> bool:
    """Whether `text` already answers request `part`: its decision, and, for a purchase of
    items of its own, about those items ("sofa bed or coffee table - which can I afford?"
    got the sofa bed's approval, which decides the coffee table's alike, live API)."""
    assert part.decided_intent is not None
    parsed = parse(text, part.decided_intent)
    if not check_decision(part, parsed).passed:
        return False
    if part.decided_intent is not Intent.PURCHASE_FIT or not part.cart.items:
        return True
    if part.cart is part.context and any(a.value == part.cart.total for a in parsed.amounts):
        return True
    # Named, not only a stance: "Order ord-6610 is currently shipped, but you can order
    # again once you get them." read as an approval of the case asked about (live API).
    return bool(items_meant(text, part.cart.items))


def _said_once(reply: str) -> str:
    """`reply` without a sentence that an earlier one already says: a question back and
    its closer ("Then I can check whether it fits. Then I can check."), or two answers of
    one message that state the same rule."""
    kept: list[str] = []
    for sentence in re.split(r"(?<=[.!?])\s+", reply.strip()):
        said = sentence.rstrip(".!?").lower()
        if not any(earlier.lower().startswith(said) for earlier in kept):
            kept.append(sentence)
    return " ".join(kept)


def _rules_turn(facts: TurnFacts, intent: Intent) -> Turn:
    """The turn as the references see it: the rules' decision for `intent`, and the terms
    the shopper asked about in the conversation (or the one nearest the monthly payment
    they aim at)."""
    decision = decide(facts.profile, facts.cart, intent)
    aimed = frozenset({facts.aimed_term}) if facts.aimed_term is not None else None
    terms = facts.asked_terms or aimed
    tags = (LEFT_AFTER_TAG,) if facts.asks_left_after else ()
    if (term := facts.term_refused_asked_why) is not None:
        tags += (f"{TERM_WHY_TAG}:{term}",)
    items = facts.cart.items
    tags += tuple(f"{PER_ITEM_TAG}:{items.index(i)}:{t}" for i, t in facts.terms_per_item)
    return Turn(intent, facts.profile, facts.cart, decision, tags, facts.message, terms)


def nearest_the_rules(texts: list[str], facts: TurnFacts, seed: str) -> int:
    """The index of the text nearest the rules' own replies for the turn (by characters).

    Candidates are sampled at temperature, and several may pass every check while reading
    oddly ("My door is open, so I can see your order. It's out for delivery.", seen
    through the live API). The one nearest the references says it the way a person
    would: the same measure, in spirit, as the naturalness reward the policy was trained
    on, without a model call.
    """
    intent = facts.decided_intent
    if intent is None or len(texts) < 2:
        return 0
    turn = _rules_turn(facts, intent)
    references = [r.lower() for r in reference_replies(turn, _rng("references", seed), k=4)]

    def closeness(text: str) -> float:
        said = text.lower()
        return max((SequenceMatcher(None, said, ref).ratio() for ref in references), default=0)

    return max(range(len(texts)), key=lambda i: closeness(texts[i]))


class ReplyGuard:
    """Checks the policy's reply and, in `enforce` mode, replaces a failing one."""

    def __init__(self, *, engine: ChatEngine, config: GuardConfig) -> None:
        self.engine = engine
        self.config = config

    def check(self, facts: TurnFacts, text: str, *, truncated: bool = False) -> Verdict:
        started = time.perf_counter()
        verdict = verify(facts, text, truncated=truncated)
        metrics.GUARD_DURATION.observe(time.perf_counter() - started)
        return verdict

    def answer_further(
        self,
        guarded: GuardedReply,
        further: Sequence[TurnFacts],
        *,
        asked_before: int = 0,
        seed: str,
    ) -> GuardedReply:
        """In `enforce` mode, `guarded` with the rules' answer to each further request of
        the message (`app.domain.requests.Requests`) it leaves unanswered, in the order the
        shopper asked (the first `asked_before` of them came before the one `guarded`
        answers), a handoff last: the shopper reads the answers, then that a person takes
        over. Only answers that pass their own checks are added."""
        if self.config.mode is not GuardMode.ENFORCE or not further:
            return guarded
        said: list[tuple[int, str, bool]] = [(asked_before, guarded.text, guarded.handoff)]
        handoff = guarded.handoff
        added: list[dict[str, str]] = []
        for i, part in enumerate(further):
            assert part.decided_intent is not None
            if _answers(part, guarded.text):
                continue  # the reply answers this request too
            hands_off = part.decision is not None and part.decision.action is Action.HANDOFF
            if hands_off and handoff:
                continue  # one handoff is said once
            text = fallback_reply(part, f"{seed}:{i + 1}")
            sent = self.check(part, text)
            if not sent.passed:  # a gap in the references: log it, never show the shopper
                logger.error("further request's reply failed its checks: %s", sent.failed)
                continue
            said.append((i if i < asked_before else i + 1, text, sent.handoff))
            handoff = handoff or sent.handoff
            added.append({"intent": part.decided_intent.value, "reply": text})
        if not added:
            return guarded
        ordered = [text for _, text, _ in sorted(said, key=lambda s: (s[2], s[0]))]
        last = len(ordered) - 1
        text = _said_once(
            " ".join(
                without_pleasantries(part, greeting=i > 0, closing=i < last)
                for i, part in enumerate(ordered)
            )
        )
        record = {**guarded.record, "further": added}
        return replace(guarded, text=text, handoff=handoff, record=record)

    async def review(
        self,
        *,
        facts: TurnFacts,
        generation: Generation,
        messages: list[ChatMessage],
        adapter: Adapter | None,
        policy: str,
        seed: str,
    ) -> GuardedReply:
        """Check `generation` (the policy's reply) and decide what the shopper reads."""
        text = generation.text
        if self.config.mode is GuardMode.OFF:
            return GuardedReply(text, detects_handoff(text), Intervention.NONE, None)
        verdict = self.check(facts, text, truncated=generation.finish_reason == "length")
        for name, score in verdict.scores.items():
            outcome = "pass" if score.passed else "fail"
            metrics.GUARD_CHECKS.labels(policy, name, outcome).inc()
        record: dict[str, Any] = {
            "intent": facts.intent.value if facts.intent else None,
            "raw": {name: round(score.value, 3) for name, score in verdict.scores.items()},
            "failed": {name: verdict.scores[name].reason for name in verdict.failed},
        }
        handoff = facts.decision is not None and facts.decision.action is Action.HANDOFF
        if self.config.mode is GuardMode.MONITOR:
            return self._done(
                text, verdict.handoff, Intervention.NONE, verdict, record, policy, sent=verdict
            )
        worded = self._in_shoppers_words(facts, text, verdict, record) if verdict.passed else None
        if worded is not None and not handoff:
            text, sent = worded
            return self._done(
                text, sent.handoff, Intervention.NONE, verdict, record, policy, sent=sent
            )

        extra, checked = 0, 0
        # With the request unknown, candidates are judged only on what needs no intent, and
        # sampled at temperature they wander ("what's 2+2" got "I can see you've got a good
        # score on your account"): the fallback asks what the shopper needs instead.
        # A handoff is said best in the rules' own words: sampled ones apologised "about the
        # charge" to a shopper who asked why their account was suspended (live API).
        if self.config.candidates > 0 and facts.decided_intent is not None and not handoff:
            sampling = SamplingSettings(
                max_tokens=self.config.max_tokens,
                temperature=self.config.temperature,
                n=self.config.candidates,
                seed=int(hashlib.sha256(seed.encode()).hexdigest()[:8], 16),
            )
            try:
                with span("resample"):  # inside "guard": the checks are the rest of it
                    candidates = await self.engine.generate_many(messages, sampling, adapter)
            except EngineError as exc:  # the fallback still answers correctly
                logger.warning("guard resample failed, using the fallback: %s", exc)
                candidates = []
            passing: list[tuple[str, Verdict]] = []
            for candidate in candidates:
                extra += candidate.completion_tokens
                checked += 1
                truncated = candidate.finish_reason == "length"
                second = self.check(facts, candidate.text, truncated=truncated)
                if second.passed and (
                    worded := self._in_shoppers_words(facts, candidate.text, second, record)
                ):
                    passing.append(worded)
            if passing:
                best, second = passing[nearest_the_rules([t for t, _ in passing], facts, seed)]
                return self._done(
                    best,
                    second.handoff,
                    Intervention.RESAMPLE,
                    verdict,
                    record,
                    policy,
                    sent=second,
                    extra=extra,
                    checked=checked,
                )
        text = fallback_reply(facts, seed, raw_stance=verdict.stance)
        sent = self.check(facts, text)  # the rules' own wording, checked all the same
        if not sent.passed:  # a gap in the references: log it, never show the shopper
            logger.error("fallback reply failed its checks: %s", sent.failed)
        return self._done(
            text,
            sent.handoff,
            Intervention.FALLBACK,
            verdict,
            record,
            policy,
            sent=sent,
            extra=extra,
            checked=checked,
        )

    def _in_shoppers_words(
        self, facts: TurnFacts, text: str, verdict: Verdict, record: dict[str, Any]
    ) -> tuple[str, Verdict] | None:
        """`text` with the prompt's verdict labels it copies said as a person would
        (`app.domain.wording`), noted in `record`; None when the words fail a check, so
        the labels are never sent: "…: cart over the available credit." passed where its
        rewording repeated the reply before word for word (live API)."""
        said = in_shoppers_words(text, facts.profile, facts.cart)
        if said == text:
            return text, verdict
        checked = self.check(facts, said)
        if not checked.passed:
            record["unworded"] = {name: checked.scores[name].reason for name in checked.failed}
            return None
        record["reworded"] = True
        return said, checked

    @staticmethod
    def _done(
        text: str,
        handoff: bool,
        intervention: Intervention,
        verdict: Verdict,
        record: dict[str, Any],
        policy: str,
        *,
        sent: Verdict,
        extra: int = 0,
        checked: int = 0,
    ) -> GuardedReply:
        metrics.GUARD_INTERVENTIONS.labels(policy, intervention.value).inc()
        metrics.GUARD_REPLIES.labels(
            policy, "pass" if verdict.passed else "fail", "pass" if sent.passed else "fail"
        ).inc()
        record["intervention"] = intervention.value
        return GuardedReply(text, handoff, intervention, verdict, extra, checked, record)
