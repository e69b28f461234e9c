"""Release-independent assembly of `MultiWozTurn`s: DB results, domain estimates, bookings.

Each loader parses its own format into `RawTurn`s (one per system turn) and a goal;
`build_dialogue` adds what both releases derive the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from training.data.multiwoz.db import VenueDB, entity_key
from training.data.multiwoz.delex import delexicalise
from training.data.multiwoz.slots import DOMAINS
from training.data.multiwoz.turn import (
    DbResult,
    DialogueAct,
    DomainGoal,
    MultiWozTurn,
    Source,
    Span,
    Utterance,
)

MAX_DB_ENTITIES = 3  # rows shown per domain: enough to offer alternatives, short prompts
_ENTITY_FIELDS = (
    "name", "trainid", "type", "area", "pricerange", "food", "stars", "parking", "internet",
    "address", "postcode", "phone", "entrancefee", "departure", "destination", "day",
    "leaveat", "arriveby", "duration", "price", "department",
)  # fmt: skip


@dataclass
class RawTurn:
    """One system turn as a loader parsed it (spans already in characters of `system`)."""

    user: str
    system: str
    state: dict[str, dict[str, str]]
    requested: dict[str, list[str]] = field(default_factory=dict)
    acts: list[DialogueAct] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    booked_domains: list[str] = field(default_factory=list)
    new_bookings: dict[str, dict[str, str]] = field(default_factory=dict)


def estimate_active_domains(states: Sequence[dict[str, dict[str, str]]]) -> list[list[str]]:
    """Which domain each turn is about, judged from how the belief state changes.

    The rule of the standard evaluator, in our words: the current domain becomes the
    domain whose state just changed (the one with most filled slots if several did, but
    the current one stays if it is among them); when nothing changed it stays, except
    that after a turn that changed two domains the other one takes over. Before any
    change there is no domain.
    """
    current: str | None = None
    previous: dict[str, dict[str, str]] = {}
    previous_changed: list[str] = []
    out: list[list[str]] = []
    for state in states:
        changed = [d for d in state if set(state[d].items()) - set(previous.get(d, {}).items())]
        if not changed:
            if current is None:
                out.append([])
                continue
            others = [d for d in previous_changed if d in state and d != current]
            if len(previous_changed) > 1 and others:
                current = others[0]
        elif current not in changed:
            current = max(changed, key=lambda d: len(state[d]))
        previous, previous_changed = state, changed
        out.append([current] if current else [])
    return out


def search(
    db: VenueDB, state: dict[str, dict[str, str]], gold_keys: set[str]
) -> dict[str, DbResult]:
    """DB results per searchable domain of the state; rows the gold reply names come first."""
    results: dict[str, DbResult] = {}
    for domain, constraints in state.items():
        if domain not in db.rows or domain == "police":
            continue
        rows = db.query(domain, constraints)
        rows = sorted(rows, key=lambda r: entity_key(domain, r).lower() not in gold_keys)
        entities = [
            {k: str(r[k]) for k in _ENTITY_FIELDS if k in r and str(r[k]) not in ("", "?")}
            for r in rows[:MAX_DB_ENTITIES]
        ]
        results[domain] = DbResult(count=len(rows), entities=entities)
    return results


def build_dialogue(
    *,
    dialogue_id: str,
    split: str,
    source: Source,
    raw_turns: Sequence[RawTurn],
    goal: dict[str, DomainGoal],
    db: VenueDB,
) -> list[MultiWozTurn]:
    """The dialogue's `MultiWozTurn`s, one per system turn."""
    domains = estimate_active_domains([t.state for t in raw_turns])
    turns: list[MultiWozTurn] = []
    context: list[Utterance] = []
    for index, (raw, active) in enumerate(zip(raw_turns, domains, strict=True)):
        context = [*context, Utterance(role="user", text=raw.user)]
        # Booking acts name no domain: their spans talk about the booked or active domain.
        fallback = [*raw.new_bookings, *active]
        spans = [
            s
            if s.domain in DOMAINS
            else s.model_copy(update={"domain": fallback[0] if fallback else s.domain})
            for s in raw.spans
        ]
        gold_keys = {s.value.strip().lower() for s in spans if s.slot in ("name", "trainid")}
        turns.append(
            MultiWozTurn(
                dialogue_id=dialogue_id,
                turn_index=index,
                split=split,
                source=source,
                context=context,
                belief_state=raw.state,
                active_domains=active,
                requested=raw.requested,
                booked_domains=raw.booked_domains,
                new_bookings=raw.new_bookings,
                db_results=search(db, raw.state, gold_keys),
                reply=raw.system,
                delex_reply=delexicalise(raw.system, spans),
                acts=raw.acts,
                spans=spans,
                goal=goal,
            )
        )
        context = [*context, Utterance(role="system", text=raw.system)]
    return turns
