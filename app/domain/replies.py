"""Reply parser: stance, numbers and claims about the user's state, by rules.

Stance is scored from weighted cue phrases per sentence, after three rewrites that
keep the rules honest on hard phrasings:

* double negatives and polite refusals that are really approvals ("nothing stops you",
  "I can't see any reason why not", "no problem") are turned into approval cues;
* "I don't have / can't see that information" is not a refusal (it is an answer);
* conditional offers ("once you verify your identity, you can ...") do not count as
  approvals, while politeness conditionals ("if you'd like, you can ...") do.

Cues after a contrast ("..., but yes, it fits") weigh more than cues before it. A
handoff (the reply passes the conversation to a person) overrides everything; an
offer of a handoff ("would you like me to connect you?") is not one.

`parse_reply` returns everything the reasoning functions need. An optional embedding
classifier (`training.rewards.reasoning.embedding`) can break ties where no rule fires.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from app.domain.intents import Cue
from app.domain.numbers import Amount, Count, Number, extract_numbers, words_before
from app.domain.rules import Action, DeclineReason, Intent

# Intents whose gold action is never a credit approval: a "yes" there is an answer.
INFORMATIONAL_INTENTS: frozenset[Intent] = frozenset(
    {Intent.CREDIT_INFO, Intent.ORDER_STATUS, Intent.RETURNS, Intent.SMALL_TALK}
)


@dataclass(frozen=True)
class Claim:
    """One statement about the user's state. `subject` is one of: eligible, verified,
    standing, tier, not_tier, region_supported, minor, fraud_review, no_balance (nothing
    owed), credit_limit,
    available_credit, outstanding_balance, fits_credit / exceeds_credit (an amount said
    to fit / not to fit the available credit)."""

    subject: str
    value: bool | str | Decimal
    text: str
    tolerance: Decimal = Decimal(0)


@dataclass(frozen=True)
class ParsedReply:
    text: str
    stance: Action
    handoff: bool
    amounts: tuple[Amount, ...]
    counts: tuple[Count, ...]
    others: tuple[Number, ...]
    claims: tuple[Claim, ...]
    scores: dict[str, float] = field(default_factory=dict)


# --- rewrites -------------------------------------------------------------------------

_NEG = r"(?:\bnot\b|n't\b|\bno\b|\bnever\b|\bcannot\b|\bcan not\b)"
_APPROVAL_IDIOMS: tuple[tuple[str, float], ...] = (
    (r"nothing (?:stops|is stopping|stopping|prevents|standing in the way of) you", 2.5),
    (r"(?:there's |there is |i see |i can see |i can't see |i don't see |i do not see )?"
     r"no reason (?:why )?(?:you )?(?:can't|cannot|couldn't|shouldn't|not)", 2.5),
    (r"(?:can't|cannot|don't|do not) see (?:any |a )?reason why not", 2.5),
    (r"(?:i )?(?:don't|do not) see why not", 2.5),
    (r"(?:there's |there is )?no (?:catch|obstacle|issue|issues|problem|problems)\b", 1.0),
    (r"not a problem|no trouble|no worries", 1.0),
    (r"(?:you )?(?:don't|do not|won't) need to (?:do anything|worry|wait)", 0.5),
    (r"no need to (?:worry|wait|do anything)", 0.5),
    (r"(?:couldn't|could not|can't|cannot) be happier to (?:say|confirm)", 1.0),
    (r"(?:i )?can't wait", 0.0),
    (r"(?:there's |there is )?nothing (?:to worry about|wrong)", 0.5),
)  # fmt: skip
_APPROVAL_IDIOMS_RE = [(re.compile(p, re.IGNORECASE), w) for p, w in _APPROVAL_IDIOMS]
# "I don't have that information" answers; it does not refuse anything.
_NO_INFO_RE = re.compile(
    r"(?:\b(?:unfortunately|i'm afraid|sorry),?\s+)?\b(?:i )?(?:don't|do not|can't|cannot|"
    r"am not able to|'m not able to|am unable to|'m unable to) (?:have|see|access|view) "
    r"(?:access to )?(?:that|this|your|those|any|the)\b"
    r"[^.!?;]*|\b(?:that|this) (?:isn't|is not) something i can see\b|"
    r"\bi (?:don't|do not) have (?:that|this) (?:information|detail|info)\b",
    re.IGNORECASE,
)  # fmt: skip
_CONDITION_RE = re.compile(
    r"\b(?:once|as soon as|after|if|when|until|unless|before)\s+"
    r"(?:you(?:'ve| have)?|your|the|it)\s+"
    r"(?:\w+\s+){0,3}?(?:verif\w*|settle\w*|pay(?:s|ing)? (?:off|down)|paid|clear\w*|bring\w*|"
    r"complete\w*|update\w*|back in|resolve\w*|up to date|confirm\w*|increase\w*|raise\w*|"
    r"lower\w*|reduc\w*|free\w* up)",
    re.IGNORECASE,
)
_POLITE_IF_RE = re.compile(
    r"\bif (?:you'd|you would|you) (?:like|prefer|want|wish)\b|\bif that helps\b", re.IGNORECASE
)
_CONTRAST_RE = re.compile(r",?\s+\b(?:but|however|though|that said|still)\b,?\s*", re.IGNORECASE)
_SENTENCE_RE = re.compile(r"(?<=[.!?;:])\s+|\n+")

# --- cues -----------------------------------------------------------------------------

_DECLINE_CUES: tuple[tuple[str, float], ...] = (
    (r"\b(?:unfortunately|sadly|regrettably)\b", 1.5),
    (r"\bi'?m afraid\b|\bi am afraid\b", 1.5),
    (r"\b(?:i'm |i am |so |very |really )?sorry\b", 0.5),
    (r"\bregret\b", 1.0),
    (r"\b(?:can't|cannot|can not|couldn't|won't|unable to|not able to)\b", 1.5),
    (r"\b(?:aren't|isn't|is not|are not|not|no longer)\s+(?:currently\s+|yet\s+)?"
     r"(?:available|offered|eligible|possible|an option|open|supported)\b", 2.0),
    (r"\btoo (?:much|expensive|high|pricey)\b|\bout of (?:reach|budget)\b", 2.0),
    (r"\bunavailable\b", 1.5),
    (r"\b(?:isn't|is not|aren't|not)\s+(?:yet\s+)?confirmed\b", 1.5),
    (r"\bi can only (?:help|discuss|talk|share|look)\b", 1.5),
    (r"\b(?:need|needs|require|requires|must)\s+(?:you\s+)?(?:to\s+)?be\s+(?:an\s+)?adults?\b",
     1.5),
    (r"\bineligible\b|\b(?:don't|doesn't|do not|does not|won't)\s+qualify\b", 2.0),
    (r"\b(?:don't|do not|doesn't|does not)\s+offer\b", 2.0),
    (r"\b(?:doesn't|does not|won't|will not|wouldn't|would not|don't|do not)\s+"
     r"(?:quite\s+)?(?:fit|work|cover|stretch)\b", 2.0),
    (r"\b(?:exceeds?|exceeding|over|above|beyond|more than|higher than|short of)\s+"
     r"(?:the\s+|your\s+|what\s+)(?:[^.,;!?]{0,25}?)(?:available|limit|credit|you can spend|"
     r"you have)", 2.0),
    (r"\bmore than you (?:can spend|have)\b", 2.0),
    (r"\b(?:need|needs|have|has) to (?:be )?verif\w*|"
     r"\bverify your (?:identity|id) (?:first|before)", 1.5),
    (r"\bnot something i can (?:share|discuss|disclose|give out)\b", 2.0),
    (r"\b(?:more than|above|over)\s+(?:the\s+)?(?:[$€£¥][\d,.]+|\d[\d,.]*\s?(?:USD|EUR|GBP|JPY))"
     r"\s+(?:you have|of available|available)", 2.0),
    (r"\b(?:paused|on hold|suspended|declined|denied|rejected|blocked|frozen)\b", 1.5),
    (r"\bnot (?:approved|allowed|permitted)\b", 2.0),
    (r"\b(?:isn't|is not|aren't|not)\s+(?:yet\s+|been\s+)?verified\b", 2.0),
    (r"\bonly (?:available|offered|open) to\b|\bfor adults only\b", 1.0),
    (r"\bshort by\b|\bshortfall\b", 1.0),
    (r"\bno(?:t)? (?:enough|sufficient)\b", 2.0),
    (r"\bfor privacy reasons\b", 1.5),
    (r"\bonly discuss your own\b", 1.5),
    (r"\bnot (?:right )?now\b", 0.5),
)  # fmt: skip
_APPROVE_CUES: tuple[tuple[str, float], ...] = (
    (r"^(?:\W*)(?:yes|yep|yeah|yup|absolutely|of course|certainly|definitely)\b", 1.5),
    # "Sure, just open the order and select Pay Near": alone, "sure" agrees to talk, not
    # to credit (a resampled candidate once passed as an approval on it).
    (r"^(?:\W*)sure\b", 0.9),
    (r"\b(?:yes|absolutely|certainly|definitely)\b", 1.0),
    (r"\b(?:good|great|happy|excellent) news\b", 1.5),
    (r"\byou(?:'re| are)\s+(?:fully\s+|definitely\s+)?(?:verified\s+and\s+)?(?:eligible|approved|"
     r"all set|good to go|covered)\b", 2.0),
    (r"\byou(?:\s+can|\s+could|\s+may|'ll be able to|\s+will be able to|\s+are able to)\s+"
     r"(?:easily\s+|"
     r"still\s+|now\s+|definitely\s+|absolutely\s+)?(?:pay|put|buy|spread|split|get|use|"
     r"choose|pick|go ahead|take|order|finance|have)\b", 1.5),
    (r"\byou\s+(?:qualify|qualified)\b", 2.0),
    (r"\b(?:it|that|this|which|cart|order|purchase|[a-z]+)\s+(?:still\s+|easily\s+|comfortably\s+"
     r"|just\s+|neatly\s+)?fits\b", 2.0),
    (r"\b(?:within|inside)\s+(?:your|the)\s+(?:[^.;!?]{0,25}?)(?:available credit|credit|limit|"
     r"budget)\b", 2.0),
    (r"\b(?:is|are|'s)\s+(?:absolutely\s+|totally\s+|perfectly\s+)?fine\b", 1.5),
    (r"\b(?:is|are|will be)\s+possible\b", 1.0),
    (r"\b(?:under|below|less than)\s+(?:your|the)\s+(?:[^.,;!?]{0,20}?)(?:available|limit|credit)",
     1.5),
    (r"\b(?:approved|go (?:right )?ahead|all set|that works|works out)\b", 1.5),
    (r"\b(?:is|are)\s+(?:open|available)\s+to\s+you\b", 1.5),
    (r"\bset up for instalments\b", 1.5),
    (r"\b(?:monthly payments? of|a month (?:over|for)|per month|a month,|each month)\b", 1.0),
    (r"\benough (?:available )?credit\b|\bmore than enough\b|\bplenty of\b", 1.5),
    (r"\bcovers? it\b|\bwould cover it\b", 1.5),
    (r"\bi(?:'ve| have)\s+(?:just\s+)?(?:raised|increased|approved|upgraded)\b", 2.0),
)  # fmt: skip
_ASK_CUES: tuple[tuple[str, float], ...] = (
    (r"\b(?:could|can|would) you\s+(?:please\s+)?(?:tell|share|send|give|let me know|confirm|"
     r"provide|paste|check)\b", 2.0),
    (r"\bwhich\s+(?:item|product|order|one|model|purchase)\b", 2.0),
    (r"\bwhat(?:'s| is| are)\s+(?:your|the)\s+(?:order number|order id|annual income|yearly "
     r"income|income|item|product|current yearly income|current annual income)", 2.0),
    (r"\b(?:order number|order id|income|employment status|employer|product link|"
     r"product name)\b", 1.0),
    (r"\bi(?:'ll| will)\s+need\s+(?:a few details|your|some|to know|a bit more)\b", 1.5),
    (r"\bplease\s+(?:send|share|tell|provide|confirm|paste)\b", 1.5),
    (r"\b(?:without|need)\s+(?:your|the)\s+(?:order number|order id|income)", 1.5),
    (r"\blet me know which\b|\btell me (?:which|what)\b", 1.5),
)  # fmt: skip
_HANDOFF_RE = re.compile(
    r"\b(?:connect\w*|transfer\w*|put(?:ting)?\s+you\s+through|pass(?:ing)?\s+(?:you|this|it)"
    r"(?:\s+on|\s+over)?|hand(?:ing)?\s+(?:you|this|it)\s+(?:over|off|on)|hand(?:ing)?\s+you|"
    r"hand(?:ed|ing)?\s+(?:this|it)\s+over|escalat\w+|rout(?:e|ing)\s+you|forward\w*\s+(?:you|this)|"
    r"bring(?:ing)?\s+in|loop(?:ing)?\s+in|passed\s+(?:this|it|your case)|get(?:ting)?\s+you\s+to)"
    r"\b[^.!?]{0,60}?\b(?:team|colleague|agent|person|human|specialist|someone|representative|"
    r"advisor|adviser|staff|expert|department|manager)s?\b"
    r"|\b(?:while|as|and|then|now)\s+i\s+(?:transfer|connect|put)\s+you\b"
    r"|\b(?:get|bring|have)\s+(?:a|an|one of our|our)\s+(?:\w+\s+)?(?:specialist|agent|colleague|"
    r"advisor|person|representative)s?(?:\s+\w+){0,4}?\s+to\s+(?:look|help|check|review|call|"
    r"contact|take|sort|go through|deal)\b"
    r"|\b(?:i'm|i am|i'll|i will|let me|i've|i have)\s+(?:now\s+|just\s+)?(?:transferring|"
    r"transfer|connecting|connect|passing|pass|handing|hand|putting|put|passed|handed)\s+you\s+"
    r"(?:over|through|on|across|now)\b"
    r"|\b(?:a|one of our|our|an?)\s+(?:human\s+|live\s+|[a-z]+\s+)?(?:agent|colleague|specialist|"
    r"team member|"
    r"representative|advisor|person|member of (?:our|the) team)s?\s+(?:(?:from|in|on)\s+(?:\w+\s+)"
    r"{1,2})?(?:will|is going to|'ll|can|"
    r"is)\s+(?:now\s+|soon\s+|shortly\s+)?(?:be with you|take (?:it|this|over)|join|contact you|"
    r"get back|reach out|look into|review|help you|pick this up|call you|be in touch)",
    re.IGNORECASE,
)
_HANDOFF_NEGATION_RE = re.compile(
    r"(?:can't|cannot|not able to|unable to|won't|don't need to|no need to|without|"
    r"instead of|rather than|would you like me to|do you want me to|shall i|should i|"
    r"if you(?:'d| would)? (?:like|prefer|want)|i can|happy to|could)\s+(?:\w+\s+){0,3}$",
    re.IGNORECASE,
)


def _compile(cues: tuple[tuple[str, float], ...]) -> list[tuple[re.Pattern[str], float]]:
    return [(re.compile(p, re.IGNORECASE), w) for p, w in cues]


_DECLINE = _compile(_DECLINE_CUES)
_APPROVE = _compile(_APPROVE_CUES)
_ASK = _compile(_ASK_CUES)
_NEGATED_BEFORE_RE = re.compile(rf"{_NEG}(?:\s+\w+){{0,2}}\s*$", re.IGNORECASE)


def _normalise(text: str) -> str:
    return text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_RE.split(text) if s and s.strip()]


def detects_handoff(text: str) -> bool:
    """Does the reply pass the conversation to a person (not merely offer to)?"""
    for sentence in sentences(_normalise(text)):
        for m in _HANDOFF_RE.finditer(sentence):
            if _HANDOFF_NEGATION_RE.search(sentence[: m.start()]):
                continue
            if sentence.rstrip().endswith("?"):
                continue  # "shall I connect you to an agent?" is an offer
            return True
    return False


def _score(
    patterns: list[tuple[re.Pattern[str], float]], text: str, *, negatable: bool
) -> tuple[float, float]:
    """(cue score, score of cues that were negated: "not within your credit")."""
    total = negated = 0.0
    for pattern, weight in patterns:
        for m in pattern.finditer(text):
            if negatable and _NEGATED_BEFORE_RE.search(text[: m.start()][-25:]):
                negated += weight
                continue
            total += weight
    return total, negated


def stance_scores(text: str) -> dict[str, float]:
    """Cue scores per stance (approve, decline, ask_info) over the whole reply."""
    scores = {"approve": 0.0, "decline": 0.0, "ask_info": 0.0}
    for sentence in sentences(_normalise(text)):
        s = sentence
        for pattern, weight in _APPROVAL_IDIOMS_RE:
            if pattern.search(s):
                scores["approve"] += weight
                s = pattern.sub(" ", s)
        s = _NO_INFO_RE.sub(" ", s)
        conditional = bool(_CONDITION_RE.search(s)) and not _POLITE_IF_RE.search(s)
        parts = _CONTRAST_RE.split(s)
        for i, part in enumerate(parts):
            boost = 1.5 if i > 0 else 1.0
            approve, negated = _score(_APPROVE, part, negatable=True)
            # An offer conditional on something unmet ("once you verify ...") refuses for now.
            scores["decline" if conditional else "approve"] += boost * approve
            scores["decline"] += boost * (negated + _score(_DECLINE, part, negatable=False)[0])
            ask = _score(_ASK, part, negatable=False)[0]
            if ask and "?" in sentence:
                ask += 1.0
            scores["ask_info"] += ask
    return scores


def decide_stance(scores: dict[str, float], handoff: bool) -> Action:
    if handoff:
        return Action.HANDOFF
    approve, decline, ask = scores["approve"], scores["decline"], scores["ask_info"]
    if ask >= 2.0 and ask > approve and ask >= decline:
        return Action.ASK_INFO
    if max(approve, decline) < 1.0:
        return Action.INFORM
    return Action.APPROVE if approve > decline else Action.DECLINE


# --- claims ---------------------------------------------------------------------------

_TIERS = "standard|silver|gold|platinum"
_CLAIM_PATTERNS: tuple[tuple[str, str, bool | str], ...] = (
    # (subject, pattern, value); negation is handled by the pattern itself.
    ("eligible", rf"(?:{_NEG}|\bno longer\b)[^.,;!?]{{0,20}}\b(?:eligible|qualify|qualified)\b|"
     r"\bineligible\b|\bdon't qualify\b", False),
    ("eligible", r"\byou(?:'re| are)\s+(?:fully\s+|definitely\s+|still\s+)?eligible\b|"
     r"\byou\s+(?:do\s+)?qualify\b|\byou(?:'ve| have)\s+qualified\b", True),
    # "Right now you can pay in instalments", "your account is set up for instalments":
    # eligibility said outright (not "once you've verified your ID, you can ...").
    ("eligible", r"(?<!once )(?<!when )(?<!then )\byou can (?:pay|buy|spread|split|put)\b"
     r"[^.!?;]{0,40}?\b(?:in|into|on|over)\s+(?:instal?l?ments|monthly payments|a payment plan)\b"
     r"(?![^.!?]{0,40}\b(?:once|when|after|as soon as|if)\b)|\baccount is (?:all )?set up for "
     r"instal?l?ments\b|\binstal?l?ments are open to you\b", True),
    # "Right now you can spend up to $1,200 on credit": only true of a shopper who may use
    # the credit (readers marked it false when said to a suspended account); "up to $0"
    # claims nothing.
    ("eligible", r"(?<!once )(?<!when )\byou can (?:still |now |currently )?spend (?:up to |as "
     r"much as )?(?!\D{0,3}0(?:[.,]0+)?\b)(?:\S+\s+){1,2}?on credit\b", True),
    ("verified", r"(?:\bnot|n't|\bun)\s*(?:yet\s+|been\s+|fully\s+)?verified\b|"
     r"\b(?:identity|id) (?:isn't|is not|hasn't been) (?:yet )?confirmed\b|"
     r"\bonce your (?:identity|id) is verified\b|\b(?:id|identity) check (?:is )?(?:still )?"
     r"(?:pending|incomplete)\b|\b(?:need|needs|have|has) to (?:be )?verif\w*|"
     r"\bhaven't (?:been able to )?verif|\b(?:verify|confirm) your (?:identity|id)\b|"
     r"\bverification (?:is )?(?:still )?(?:pending|incomplete|outstanding|needed|required)\b|"
     r"\buntil (?:you've |you have |your identity is |your id is )?verified\b|"
     r"\bonce you(?:'ve| have)? verified\b|\bcomplete (?:the |your )?(?:identity )?verification\b",
     False),
    ("verified", r"\b(?:your (?:identity|id|account) is|you're|you are)\s+(?:fully\s+|already\s+)?"
     r"verified\b|\byour verified (?:identity|id|account)\b", True),
    ("standing", r"\bno (?:overdue|late|missed) payments?\b|\bnothing (?:is )?overdue\b", "good"),
    ("standing", r"(?<!back )(?<!not )(?<!isn't )(?<!until )\bin good standing\b", "good"),
    ("standing", r"(?<!no )\b(?:overdue|late payments?|missed (?:a |your )?payments?|"
     r"behind on (?:your )?payments|in arrears|payment is late)\b", "late"),
    ("standing", r"\b(?:account is|been|is currently|account's)\s+(?:currently\s+)?suspended\b|"
     r"\bsuspended account\b", "suspended"),
    ("not_tier", rf"\b(?:not|n't)\s+(?:a\s+|an\s+|on\s+the\s+)?({_TIERS})\s+"
     r"(?:member|membership|tier|customer|status|level)", "tier"),
    ("tier", rf"(?<!not a )(?<!not an )\b({_TIERS})\s+(?:member|membership|tier|customer|status|"
     r"level)\b|\b(?:tier|membership|status) (?:is|of) ({_TIERS})\b", "tier"),
    ("region_supported", r"(?:\bnot|n't|\bno longer)\s+(?:yet\s+)?(?:offered|available|supported)"
     r"\s+(?:yet\s+)?(?:in|where|for)\s+(?:your|you)\b|\b(?:don't|do not) offer [^.!?]{0,30}"
     r"(?:where you live|in your (?:region|country))|\bin your (?:region|country) (?:isn't|is not)"
     r"\b|\b(?:region|country) (?:isn't|is not) (?:yet )?supported\b", False),
    ("region_supported", r"\boutside (?:our|the) supported (?:regions|countries)\b", False),
    ("region_supported", r"(?<!not )(?<!n't )\b(?:available|offered|supported) in your "
     r"(?:region|country)\b", True),
    # "I can't offer instalments for adult customers": the reverse of the rule, said of a
    # shopper the reply turns away, so it claims the shopper is an adult.
    ("minor", r"(?:\bcan't|\bcannot|\bcan not|\bnot)\s+(?:offer|open|available)\b[^.!?]{0,30}"
     r"\b(?:for|to)\s+adults?(?:\s+customers)?\b(?!\s+(?:under|below|younger))", False),
    ("minor", r"\b(?:adults? only|only (?:available|offered) to adults?|adult customers|"
     r"be an adult|age of majority|under 18|under-18|too young|minors?)\b", True),
    ("fraud_review", r"\b(?:under|in) (?:a )?(?:fraud|security) review\b|\baccount is under "
     r"review\b|\bflagged for (?:fraud|review)\b", True),
    # "nothing is outstanding, so the full $1,500 is available" to a shopper owing $300.
    ("no_balance", r"\bnothing (?:is )?(?:outstanding|owed|owing|left to pay)\b|\bno "
     r"(?:outstanding )?balance\b|\bzero balance\b|\bbalance is (?:zero|nil|clear|\$?0(?:\.00)?"
     r")\b|\byou (?:don't|do not) owe (?:us )?(?:anything|a thing|a penny|a cent)\b|"
     r"\bowe nothing\b|\bnothing owed\b", True),
)  # fmt: skip
_CLAIMS = [(subj, re.compile(p, re.IGNORECASE), v) for subj, p, v in _CLAIM_PATTERNS]
_HYPOTHETICAL_RE = re.compile(
    r"\b(?:whether|check if|to see if|if you're|if you are|as soon as)\b|(?<!at )\bonce\b|"
    r"\?\s*$",
    re.IGNORECASE,
)

_AMOUNT_ROLE_BEFORE: tuple[tuple[str, str], ...] = (
    ("credit_limit", r"\b(?:credit |spending |total )?limit(?: is| of| stands at|:| was)?(?: now)?"
     r"(?: only| just| still)?\s*(?:of\s+)?$"),
    ("available_credit", r"\b(?:available credit|remaining credit|credit remaining|credit left|"
     r"available|left|remaining)(?: is| of| stands at|:)"
     r"?(?: only| just| still)?\s*$|\byou(?: still)? have(?: only| just| still)?\s+$|"
     r"\byou've got\s+$|\bspend up to\s+$"),
    ("outstanding_balance", r"\b(?:outstanding )?balance(?: is| of| stands at|:)?\s*$|"
     r"\byou(?: currently| still)? owe\s+$|\boutstanding(?: is| of|:)\s*$"),
)  # fmt: skip
_AMOUNT_ROLE_AFTER: tuple[tuple[str, str], ...] = (
    ("credit_limit", r"^\s*(?:credit |spending |total )?limit\b"),
    ("available_credit", r"^\s*(?:of )?(?:available credit|available|left|remaining|to spend)\b|"
     r"^\s*(?:of it\s+)?(?:is|are) (?:still )?(?:available|left)\b|"
     r"^\s*(?:that )?you (?:have|'ve got) (?:available|left)\b"),
    ("outstanding_balance", r"^\s*(?:outstanding|owed|owing|still owed)\b"),
    # "¥72,000 is within your credit limit", "$300 fits your available credit": a price
    # said to fit, true only up to the available credit.
    # "$540 is in your available credit" (seen through the live API, to a shopper with $150).
    ("fits_credit", r"^\s*(?:is\s+|are\s+)?(?:well\s+|comfortably\s+|still\s+)?(?:within|"
     r"inside|under|in)\s+(?:your|the)\b[^.!?]{0,40}?\b(?:credit|limit|budget)|^\s*(?:fits|"
     r"would fit|will fit)\s+(?:within\s+|in\s+|into\s+)?(?:your|the)\b[^.!?]{0,40}?"
     r"\b(?:credit|limit|budget)"),
    # "€1,488.67 is more than your available credit": a price said not to fit, true only
    # above the available credit.
    ("exceeds_credit", r"^\s*(?:is|are|would be)\s+(?:more than|above|over|beyond|greater than|"
     r"higher than)\s+(?:your|the|what you have)\b[^.!?]{0,30}?\b(?:credit|limit|available)"),
)  # fmt: skip
_ROLE_BEFORE = [(role, re.compile(p, re.IGNORECASE)) for role, p in _AMOUNT_ROLE_BEFORE]
_ROLE_AFTER = [(role, re.compile(p, re.IGNORECASE)) for role, p in _AMOUNT_ROLE_AFTER]


def _amount_claims(text: str, amounts: tuple[Amount, ...]) -> list[Claim]:
    claims = []
    for a in amounts:
        # Role words before the number, back to the symbol ("limit is $"), or after it.
        head = words_before(text, a)
        tail = text[a.end : a.end + 40]
        if re.search(r"\b(?:isn't|is not|not|never)\s*$", head, re.IGNORECASE):
            continue  # "your limit isn't $50,000" denies, it does not claim
        if re.search(r"\b(?:need|another|extra|additional|more|short(?: by)?)\s*$", head, re.I):
            continue  # "you'd need another $849 of available credit" is a gap, not a balance
        role = next((r for r, p in _ROLE_BEFORE if p.search(head)), None)
        role = role or next((r for r, p in _ROLE_AFTER if p.search(tail)), None)
        if role:
            claims.append(Claim(role, a.value, text[a.start : a.end], a.tolerance))
    return claims


def extract_claims(text: str, amounts: tuple[Amount, ...] = ()) -> list[Claim]:
    """Statements about the user's state, with the phrase that made each."""
    text = _normalise(text)
    claims: list[Claim] = []
    for sentence in sentences(text):
        hypothetical = bool(_HYPOTHETICAL_RE.search(sentence))
        taken: list[tuple[int, int]] = []
        for subject, pattern, value in _CLAIMS:
            for m in pattern.finditer(sentence):
                if any(s < m.end() and m.start() < e for s, e in taken):
                    continue  # a phrase makes one claim ("not verified" is not also "verified")
                if hypothetical and subject in ("eligible", "verified", "tier", "no_balance"):
                    continue
                if value == "tier":
                    tier = next(g for g in m.groups() if g).lower()
                    claims.append(Claim(subject, tier, m.group(0)))
                else:
                    claims.append(Claim(subject, value, m.group(0)))
                taken.append((m.start(), m.end()))
    claims += _amount_claims(text, amounts)
    return claims


StanceFallback = Callable[[str, Intent | None], Action | None]


def parse_reply(
    text: str, intent: Intent | None = None, *, fallback: StanceFallback | None = None
) -> ParsedReply:
    """Stance, handoff, numbers and state claims of one reply.

    `intent` (the customer's request) only resolves one ambiguity: for informational
    requests (credit info, orders, returns, small talk) an affirmative reply is an answer,
    so a would-be approval is reported as `inform`. `fallback` (e.g. the embedding
    classifier) is asked only when no rule cue fires; None keeps the rules' `inform`.
    """
    text = _normalise(text)
    numbers = extract_numbers(text)
    handoff = detects_handoff(text)
    scores = stance_scores(text)
    stance = decide_stance(scores, handoff)
    if fallback is not None and not handoff and max(scores.values()) < 1.0:
        guess = fallback(text, intent)
        if guess is not None:
            stance, handoff = guess, guess is Action.HANDOFF
    if stance is Action.APPROVE and intent in INFORMATIONAL_INTENTS:
        stance = Action.INFORM
    return ParsedReply(
        text=text,
        stance=stance,
        handoff=handoff,
        amounts=numbers.amounts,
        counts=numbers.counts,
        others=numbers.others,
        claims=tuple(extract_claims(text, numbers.amounts)),
        scores=scores,
    )


# --- decline reasons ------------------------------------------------------------------

_REASON_CUES: dict[DeclineReason, re.Pattern[str]] = {
    DeclineReason.ACCOUNT_STANDING: re.compile(
        r"\b(?:overdue|late|missed|past[- ]due|arrears|behind on|delinquen\w*|suspended|"
        r"standing|payments? (?:up to date|are due|is due)|on hold)\b",
        re.IGNORECASE,
    ),
    DeclineReason.UNVERIFIED: re.compile(r"\b(?:verif\w*|identity|ID|KYC)\b", re.IGNORECASE),
    DeclineReason.REGION: re.compile(
        r"\b(?:region|country|countries|where you live|your area|location|offered in|"
        r"available in)\b",
        re.IGNORECASE,
    ),
    DeclineReason.AGE: re.compile(
        r"\b(?:adults?|under[- ]18|18|age|too young|minors?|grown[- ]ups?)\b", re.IGNORECASE
    ),
    DeclineReason.INSUFFICIENT_CREDIT: re.compile(
        r"\b(?:available credit|credit (?:limit|left|available)|limit|exceed\w*|over|above|"
        r"more than|short(?:fall)?|(?:doesn't|does not|won't|will not) (?:quite )?fit|"
        r"not enough|too (?:much|expensive|high|pricey)|can spend|out of reach|"
        r"balance|owe)\b",
        re.IGNORECASE,
    ),
    DeclineReason.PRIVACY: re.compile(
        r"\b(?:someone else|somebody else|another (?:person|customer|account|shopper)|"
        r"other (?:customers?|people|person|shoppers?|accounts?)|your own|privacy|private|"
        r"their own|anyone else|who owns)\b",
        re.IGNORECASE,
    ),
}


def cited_reasons(text: str) -> frozenset[DeclineReason]:
    """The decline reasons a reply names (by cue words; several may be named)."""
    text = _normalise(text)
    return frozenset(reason for reason, cue in _REASON_CUES.items() if cue.search(text))


# What says that a plan covers the whole price: the words a reply to "I'll pay $300 now
# and the rest monthly" needs, lest the shopper think the payments are on the rest.
says_whole_price = Cue(
    r"\bwhole price\b|\bfull price\b|\bnothing (?:paid )?up ?front\b|\bno (?:down payment|"
    r"deposit)\b|\bcovers? the (?:whole|full)\b"
)
# What says that a plan costs nothing on top of the price: the answer to "is there any
# interest?" and "any fees?".
says_no_interest = Cue(
    r"\binterest[- ]free\b|\bno (?:interest|fees?|extra (?:charges?|fees?|cost))\b|"
    r"\bwithout (?:any )?interest\b|\b(?:0|zero) ?% (?:interest|apr)\b|\bzero interest\b|"
    r"\bno (?:interest|fees?) (?:or|and|nor) (?:fees?|interest)\b"
)
# What tells a shopper with no credit how to get some: a review or a raise of the limit.
says_limit_review = Cue(r"\b(?:review\w*|rais\w+|increas\w+|credit team|apply|application)\b")
# What tells a shopper who asked that they are talking to a machine.
says_assistant = Cue(
    r"\b(?:bot|chatbot|assistant|automated|virtual|ai|not a (?:person|human)|a (?:computer|"
    r"program|machine))\b"
)
# What tells a shopper how owed money frees credit: paying the balance down.
# Nothing owed, said ("You don't owe anything right now.").
says_nothing_owed = Cue(
    r"\b(?:don't|do not|doesn't) owe (?:anything|a thing|us anything)\b|\bowe nothing\b|"
    r"\bnothing (?:owed|outstanding|owing|to pay)\b|\bno (?:outstanding )?balance\b|"
    r"\b(?:owe|balance (?:is|of)|outstanding(?: balance)? (?:is|of)) [$€£¥]?0(?:[.,]00)?(?![\d.,])"
)
says_paying_down = Cue(
    r"\bpay(?:ing|s)?\s+(?:\w+\s+){0,3}?(?:down|off|back)\b|\brepay\w*|"
    r"\b(?:a |each |every )?payment\b[^.!?]{0,40}\bfrees?\b"
)
# The countries where instalments are offered, by name or code (one is enough to answer).
says_regions = Cue(
    r"\b(?:US|USA|UK|GB|United States|United Kingdom|Britain|Germany|France|Spain|Italy|"
    r"(?:the )?Netherlands|Japan)\b"
)
_WAY_FORWARD_CUES: dict[DeclineReason, Cue] = {
    DeclineReason.ACCOUNT_STANDING: Cue(
        # (not "overdue" alone: "... because a payment is overdue" says why, not what to do)
        r"\b(?:up to date|settle\w*|catch(?:ing)? up|bring\w* (?:your )?(?:payments|"
        r"account)|back in good standing|pay\w* (?:what|the) (?:is |'s )?(?:owed|due|late))\b"
    ),
    # Where to verify, not only that it is needed ("Once you've verified your ID, just ask
    # again" to "how do I verify then?", live API).
    DeclineReason.UNVERIFIED: Cue(
        r"\b(?:account settings|settings page|your (?:profile|account) page|complete (?:your )?"
        r"verification (?:in|from|on|via|under)|verify (?:your (?:id|identity) )?(?:in|from|on|"
        r"via|under) your)\b"
    ),
    DeclineReason.INSUFFICIENT_CREDIT: Cue(
        r"\bpay(?:ing|s)?\s+(?:\w+\s+){0,3}?(?:down|off)\b|\bsmaller\b|\bcheaper\b|"
        r"\bfewer\b|\bless expensive\b|\blimit review\b|\bremov\w+\b"
    ),
}

WAY_FORWARD_REASONS = frozenset(_WAY_FORWARD_CUES)


def says_way_forward(text: str, reason: DeclineReason) -> bool:
    """Whether a decline's reply says what the shopper can do about `reason`."""
    cue = _WAY_FORWARD_CUES.get(reason)
    return cue is not None and cue(text)


# That plans are paid monthly, said to a shopper who asked to pay weekly.
says_paid_monthly = Cue(
    r"\b(?:payments?|plans?|instal\w*)\b[^.!?]{0,20}\b(?:are|is|go|run|come|get paid|work)\b"
    r"[^.!?]{0,15}\b(?:monthly|each month|every month|once a month|by the month)\b|"
    r"\b(?:only|just) monthly\b|\bmonthly (?:only|payments only)\b|"
    r"\bno (?:weekly|fortnightly|bi-?weekly|daily|twice-monthly)\b"
)
# No smallest amount for a plan.
says_no_minimum = Cue(r"\bno (?:minimum|min)\b|\bany amount\b|\bisn't a minimum\b")
# The age rule: adults only, from 18.
# What tells a shopper that a fact the account does not hold (a payment date, a credit
# score) cannot be seen here: "when is my next payment due?" got the figures alone.
says_not_known = Cue(
    r"\b(?:can't|cannot|can not|not able to|unable to|don't|do not)\s+(?:see|have|access|"
    r"view|find|tell)\b|\bisn't something i can\b|\bno (?:information|details?|record)\b|"
    r"\bnot (?:something|a detail) (?:i|we) (?:can|have)\b|\bcan't help with (?:that|this)\b"
)
# A farewell in a reply, the answer to "bye".
says_farewell = Cue(
    r"\b(?:bye|goodbye|take care|have a (?:good|great|nice|lovely) (?:day|one|evening|week)|"
    r"see you|thanks for (?:chatting|stopping by|visiting)|happy shopping|enjoy (?:your|the "
    r"rest))\b"
)
_HELPS_WITH = (
    r"\binstal|\binstall|\bpay(?:ing)? later\b|\bpayments?\b",
    r"\bcredit\b",
    r"\border",
    r"\breturn",
)


def says_what_i_help_with(text: str) -> bool:
    """Whether a reply says what the assistant helps with: three of instalments, credit,
    orders and returns ("I can start a payment for you. You have $800 of available credit"
    names two and answers nothing)."""
    return sum(bool(re.search(p, text, re.IGNORECASE)) for p in _HELPS_WITH) >= 3


says_age_rule = Cue(r"\b(?:18|eighteen|adults?|age of majority)\b")
