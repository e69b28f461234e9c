"""Corpus BLEU, Inform, Success and Combined for MultiWOZ response generation.

The definitions follow the standard evaluator (mwzeval; Nekvinda & Dušek, 2021); each
rule is written out in docs/multiwoz.md. In short, per dialogue:

* a system turn *offers* a venue of domain d when d is the turn's active domain and the
  reply holds a `[name]` (restaurant, hotel, attraction) or `[trainid]` (train)
  placeholder; the offered set is then the DB search with the turn's belief state
  (it is replaced only when the new search adds a venue not offered before);
* *Inform* holds when, for every goal domain, the offered set is non-empty and inside
  the DB search with the goal's constraints (automatic for taxi/police/hospital, for a
  goal that names its venue, and for a train whose id was not requested and none was
  offered);
* *Success* holds when Inform holds and every requestable of the goal (phone, address,
  postcode, reference, train id) appeared as a placeholder in a turn whose active
  domain is that domain; a reference counts only once the domain has been booked.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from training.data.multiwoz.build import estimate_active_domains
from training.data.multiwoz.db import VenueDB
from training.data.multiwoz.delex import delexicalise_free_text
from training.data.multiwoz.goal import REQUESTABLES
from training.data.multiwoz.slots import PLACEHOLDER_RE, canonical_slot, coarsen
from training.data.multiwoz.turn import DomainGoal, MultiWozTurn

Mode = Literal["auto", "delex", "lex"]
_NAMED_VENUES = ("restaurant", "hotel", "attraction")
_NO_DB_DOMAINS = ("taxi", "police", "hospital")


class PredictedTurn(BaseModel):
    """One prediction in the standard evaluator's input format."""

    response: str
    state: dict[str, dict[str, str]] | None = None  # predicted belief state; gold if absent
    active_domains: list[str] | None = None  # predicted domain; estimated from states if absent


class DialogueOutcome(BaseModel):
    dialogue_id: str
    inform: bool
    success: bool
    inform_by_domain: dict[str, bool]
    success_by_domain: dict[str, bool]


class EvaluationResult(BaseModel):
    bleu: float
    inform: float  # % of dialogues
    success: float  # % of dialogues
    combined: float  # 0.5 * (inform + success) + bleu
    dialogues: int
    turns: int
    inform_by_domain: dict[str, float] = Field(default_factory=dict)
    success_by_domain: dict[str, float] = Field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"BLEU {self.bleu:.2f}  Inform {self.inform:.1f}  Success {self.success:.1f}  "
            f"Combined {self.combined:.2f}  ({self.dialogues} dialogues, {self.turns} turns)"
        )


@cache
def _moses() -> tuple[Any, Any]:
    from sacremoses import MosesDetokenizer, MosesTokenizer

    return MosesTokenizer(lang="en"), MosesDetokenizer(lang="en")


def normalise_reply(text: str) -> str:
    """Lowercase, coarse placeholders, Moses tokenise + detokenise (undoes 2.1's tokenisation)."""
    tokenizer, detokenizer = _moses()
    coarse = coarsen(text.lower())
    return detokenizer.detokenize(tokenizer.tokenize(coarse, escape=False))


def delexicalised_prediction(response: str, turn: MultiWozTurn, db: VenueDB, mode: Mode) -> str:
    """The prediction as delexicalised text (`auto`: delexicalise unless it has placeholders)."""
    if mode == "delex" or (mode == "auto" and PLACEHOLDER_RE.search(response)):
        return response
    return delexicalise_free_text(response, turn, db)


def detect_mode(predictions: Mapping[str, Sequence[PredictedTurn]]) -> Mode:
    """A file with any placeholder is a delexicalised system's output: every reply is kept as is.

    Deciding per file, not per reply, keeps a delexicalised reply that happens to hold no
    placeholder (and an un-annotated venue name) from being delexicalised a second time.
    """
    for turns in predictions.values():
        if any(PLACEHOLDER_RE.search(t.response) for t in turns):
            return "delex"
    return "lex"


def dialogue_success(
    *,
    goal: Mapping[str, DomainGoal],
    replies: Sequence[str],
    states: Sequence[Mapping[str, Mapping[str, str]]],
    domains: Sequence[Sequence[str]],
    booked: Sequence[Sequence[str]],
    db: VenueDB,
) -> DialogueOutcome:
    """Inform and Success of one dialogue; `replies` are normalised (coarse placeholders)."""
    offered: dict[str, list[str]] = {d: [] for d in goal}
    provided: dict[str, set[str]] = {d: set() for d in goal}
    for reply, state, active, booked_now in zip(replies, states, domains, booked, strict=True):
        for domain in goal:
            if domain not in active:
                continue
            names_venue = ("[name]" in reply and domain in _NAMED_VENUES) or (
                "[trainid]" in reply and domain == "train"
            )
            if names_venue:
                venues = db.keys(domain, dict(state.get(domain, {})))
                # Only the last offer counts; a repeated offer of the same set keeps it.
                if not offered[domain] or any(v not in venues for v in offered[domain]):
                    offered[domain] = venues
            for slot in REQUESTABLES:
                if f"[{slot}]" in reply and (slot != "reference" or domain in booked_now):
                    provided[domain].add(slot)

    inform_by_domain: dict[str, bool] = {}
    for domain, spec in goal.items():
        automatic = (
            "name" in spec.informable
            or domain in _NO_DB_DOMAINS
            or (domain == "train" and not offered[domain] and "trainid" not in spec.requestable)
        )
        if automatic:
            inform_by_domain[domain] = True
        elif offered[domain]:
            goal_venues = set(db.keys(domain, spec.informable))
            inform_by_domain[domain] = set(offered[domain]) <= goal_venues
        else:
            inform_by_domain[domain] = False
    inform = all(inform_by_domain.values())
    success_by_domain = {
        d: inform and set(spec.requestable) <= provided[d] for d, spec in goal.items()
    }
    return DialogueOutcome(
        dialogue_id="",
        inform=inform,
        success=inform and all(success_by_domain.values()),
        inform_by_domain=inform_by_domain,
        success_by_domain=success_by_domain,
    )


def group_dialogues(turns: Iterable[MultiWozTurn]) -> dict[str, list[MultiWozTurn]]:
    dialogues: dict[str, list[MultiWozTurn]] = defaultdict(list)
    for turn in turns:
        dialogues[turn.dialogue_id].append(turn)
    return {k: sorted(v, key=lambda t: t.turn_index) for k, v in dialogues.items()}


def evaluate(
    predictions: Mapping[str, Sequence[PredictedTurn]],
    references: Mapping[str, Sequence[MultiWozTurn]],
    db: VenueDB,
    *,
    mode: Mode = "auto",
) -> EvaluationResult:
    """Score `predictions` (dialogue id -> one prediction per system turn) against the data."""
    import sacrebleu

    if mode == "auto":
        mode = detect_mode(predictions)
    hyps: list[str] = []
    refs: list[str] = []
    outcomes: list[DialogueOutcome] = []
    for raw_id, predicted in predictions.items():
        dialogue_id = raw_id.lower().removesuffix(".json")
        gold = references.get(dialogue_id)
        if gold is None:
            raise KeyError(f"prediction for unknown dialogue {raw_id!r}")
        if len(predicted) != len(gold):
            raise ValueError(
                f"{raw_id}: {len(predicted)} predicted turns for {len(gold)} system turns"
            )
        replies = [
            normalise_reply(delexicalised_prediction(p.response, t, db, mode))
            for p, t in zip(predicted, gold, strict=True)
        ]
        hyps += replies
        refs += [normalise_reply(t.delex_reply) for t in gold]
        states = [
            _canonical_state(p.state) if p.state is not None else t.belief_state
            for p, t in zip(predicted, gold, strict=True)
        ]
        if all(p.active_domains is not None for p in predicted):
            domains: list[list[str]] = [list(p.active_domains or []) for p in predicted]
        elif all(p.state is None for p in predicted):
            domains = [t.active_domains for t in gold]
        else:
            domains = estimate_active_domains(states)
        outcome = dialogue_success(
            goal=gold[0].goal,
            replies=replies,
            states=states,
            domains=domains,
            booked=[t.booked_domains for t in gold],
            db=db,
        )
        outcomes.append(outcome.model_copy(update={"dialogue_id": dialogue_id}))
    if not outcomes:
        raise ValueError("no predictions to evaluate")

    bleu = sacrebleu.corpus_bleu(hyps, [refs]).score
    inform = 100.0 * sum(o.inform for o in outcomes) / len(outcomes)
    success = 100.0 * sum(o.success for o in outcomes) / len(outcomes)
    return EvaluationResult(
        bleu=bleu,
        inform=inform,
        success=success,
        combined=0.5 * (inform + success) + bleu,
        dialogues=len(outcomes),
        turns=len(hyps),
        inform_by_domain=_rates(o.inform_by_domain for o in outcomes),
        success_by_domain=_rates(o.success_by_domain for o in outcomes),
    )


def _canonical_state(state: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """A predicted state with our slot names ("leave" -> "leaveat", "train-day" -> "day")."""
    return {d.lower(): {canonical_slot(k): str(v) for k, v in s.items()} for d, s in state.items()}


def _rates(per_dialogue: Iterable[Mapping[str, bool]]) -> dict[str, float]:
    hits: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for outcome in per_dialogue:
        for domain, ok in outcome.items():
            totals[domain] += 1
            hits[domain] += ok
    return {d: round(100.0 * hits[d] / totals[d], 1) for d in sorted(totals)}


def read_predictions(path: str | Path) -> dict[str, list[PredictedTurn]]:
    """Predictions in the standard evaluator's JSON: {dialogue_id: [{"response": ...}, ...]}."""
    raw = json.loads(Path(path).read_text())
    return {k: [PredictedTurn.model_validate(t) for t in v] for k, v in raw.items()}


def reference_predictions(
    references: Mapping[str, Sequence[MultiWozTurn]],
) -> dict[str, list[PredictedTurn]]:
    """The gold delexicalised replies as predictions (the identity check)."""
    return {k: [PredictedTurn(response=t.delex_reply) for t in v] for k, v in references.items()}
