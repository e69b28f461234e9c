"""User goals in the standard evaluator's terms: constraints, requestables, booking.

Only five requestables count for Success (phone, address, postcode, reference, train
id): the others (entrance fee, car type, ...) are not delexicalised in a checkable way.
A reference is requestable whenever the goal contains a booking.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from training.data.multiwoz.slots import DOMAINS, canonical_slot
from training.data.multiwoz.turn import DomainGoal

REQUESTABLES = ("phone", "address", "postcode", "reference", "trainid")
_REQUESTABLE_ALIASES = {"ref": "reference", "id": "trainid"}


def requestable(slot: str) -> str | None:
    """The Success requestable a canonical slot stands for (None when it is not one)."""
    name = _REQUESTABLE_ALIASES.get(slot, slot)
    return name if name in REQUESTABLES else None


def goal_from_convlab(raw: Mapping[str, Any]) -> dict[str, DomainGoal]:
    """The goal of a 2.1 (ConvLab-2 / original format) dialogue."""
    goal: dict[str, DomainGoal] = {}
    for domain in DOMAINS:
        spec = raw.get(domain) or {}
        if not spec:
            continue
        booking = {
            canonical_slot(k, book=True): str(v)
            for k, v in (spec.get("book") or {}).items()
            if k not in ("invalid", "pre_invalid")
        }
        wanted = [requestable(canonical_slot(s)) for s in spec.get("reqt", [])]
        if domain != "train":  # only a train's id identifies it; "id" of other rows is internal
            wanted = [w for w in wanted if w != "trainid"]
        if booking:
            wanted.append("reference")
        goal[domain] = DomainGoal(
            informable={canonical_slot(k): str(v) for k, v in (spec.get("info") or {}).items()},
            requestable=sorted({w for w in wanted if w}),
            booking=booking,
        )
    return goal


def goal_from_states(
    final_state: Mapping[str, Mapping[str, str]], requested: Iterable[tuple[str, str]]
) -> dict[str, DomainGoal]:
    """A goal reconstructed from annotations, for releases that ship none (2.2).

    Constraints are the last belief state's search slots, requestables every slot the
    user asked for, and a booking is whatever booking slots the state ends with.
    """
    asked: dict[str, set[str]] = {}
    for domain, slot in requested:
        name = requestable(slot)
        if name and (name != "trainid" or domain == "train"):
            asked.setdefault(domain, set()).add(name)
    goal: dict[str, DomainGoal] = {}
    for domain in DOMAINS:
        state = final_state.get(domain, {})
        if not state and domain not in asked:
            continue
        booking = {k: v for k, v in state.items() if k.startswith("book")}
        wanted = set(asked.get(domain, set())) | ({"reference"} if booking else set())
        goal[domain] = DomainGoal(
            informable={k: v for k, v in state.items() if not k.startswith("book")},
            requestable=sorted(wanted),
            booking=booking,
        )
    return goal
