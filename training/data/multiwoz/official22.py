"""Loader for the official MultiWOZ 2.2 layout.

    <root>/schema.json
    <root>/dialog_acts.json
    <root>/{train,dev,test}/dialogues_NNN.json
    <root>/../db/*.json  (or <root>/db, or MORE_MULTIWOZ_DB_DIR)

User turns carry the state (`slot_values`: lists of acceptable values, the first is
used) and `requested_slots`; system turns' acts and character spans come from
`dialog_acts.json` (exclusive end), falling back to the frames' `slots` spans.
2.2 ships no user goals: `goal_from_states` rebuilds one, or pass `goals` (for the
test split, the 2.1 goals from `convlab21_goals` cover the same dialogue ids).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from tqdm import tqdm

from training.data.multiwoz.build import RawTurn, build_dialogue
from training.data.multiwoz.convlab21 import read_split
from training.data.multiwoz.db import VenueDB, load_db
from training.data.multiwoz.goal import goal_from_convlab, goal_from_states
from training.data.multiwoz.paths import MultiWozDataMissingError, db_dir, multiwoz22_dir
from training.data.multiwoz.slots import DOMAINS, canonical_slot
from training.data.multiwoz.turn import DialogueAct, DomainGoal, MultiWozTurn, Span

SPLITS = ("train", "dev", "test")


def read_schema(root: Path) -> dict[str, set[str]]:
    """Service -> its slot names (`restaurant-area`, ...) from `schema.json`."""
    path = root / "schema.json"
    if not path.exists():
        raise MultiWozDataMissingError(f"{path} missing: is this a MultiWOZ 2.2 root?")
    return {
        s["service_name"]: {x["name"] for x in s["slots"]} for s in json.loads(path.read_text())
    }


def read_dialogues(root: Path, split: str) -> list[dict[str, Any]]:
    """All dialogues of a split, files in name order."""
    files = sorted((root / split).glob("dialogues_*.json"))
    if not files:
        raise MultiWozDataMissingError(f"no {split}/dialogues_*.json under {root}")
    return [d for f in files for d in json.loads(f.read_text())]


def read_dialog_acts(root: Path) -> dict[str, Any]:
    path = root / "dialog_acts.json"
    if not path.exists():
        raise MultiWozDataMissingError(f"{path} missing")
    return json.loads(path.read_text())


def _state(turn: dict[str, Any], schema: Mapping[str, set[str]]) -> dict[str, dict[str, str]]:
    state: dict[str, dict[str, str]] = {}
    for frame in turn.get("frames", []):
        service = frame["service"]
        values = (frame.get("state") or {}).get("slot_values") or {}
        slots = {
            canonical_slot(name): str(vals[0])
            for name, vals in values.items()
            if vals and name in schema.get(service, {name})
        }
        if slots and service in DOMAINS:
            state[service] = slots
    return state


def _requested(turn: dict[str, Any]) -> dict[str, list[str]]:
    requested: dict[str, list[str]] = {}
    for frame in turn.get("frames", []):
        for name in (frame.get("state") or {}).get("requested_slots") or []:
            domain = name.split("-")[0]
            if domain in DOMAINS:
                requested.setdefault(domain, []).append(canonical_slot(name))
    return requested


def _acts(entry: Mapping[str, Any]) -> list[DialogueAct]:
    acts = []
    for name, pairs in (entry.get("dialog_act") or {}).items():
        domain, _, act = name.lower().partition("-")
        for slot, value in pairs:
            acts.append(
                DialogueAct(domain=domain, act=act, slot=canonical_slot(slot), value=str(value))
            )
    return acts


def _spans(entry: Mapping[str, Any], turn: dict[str, Any]) -> list[Span]:
    if entry.get("span_info"):
        return [
            Span(
                domain=act.split("-")[0].lower(),
                slot=canonical_slot(slot),
                value=str(value),
                start=int(start),
                end=int(end),
            )
            for act, slot, value, start, end in entry["span_info"]
        ]
    return [
        Span(
            domain=frame["service"],
            slot=canonical_slot(s["slot"]),
            value=str(s.get("value", "")),
            start=int(s["start"]),
            end=int(s["exclusive_end"]),
        )
        for frame in turn.get("frames", [])
        for s in frame.get("slots", [])
        if "start" in s
    ]


def _booked_domain(
    acts: list[DialogueAct], user_turn: dict[str, Any], state: dict[str, Any]
) -> list[str]:
    """Domains a booking was made for at this system turn (acts carry a reference)."""
    booked = {a.domain for a in acts if a.act == "offerbooked" and a.domain in DOMAINS}
    if any(a.domain == "booking" and a.act == "book" for a in acts):
        intents = [
            f["state"]["active_intent"].removeprefix("book_")
            for f in user_turn.get("frames", [])
            if (f.get("state") or {}).get("active_intent", "").startswith("book_")
        ]
        candidates = intents or [
            d for d, slots in state.items() if any(k.startswith("book") for k in slots)
        ]
        booked.update(candidates[:1])
    return sorted(booked)


def parse_dialogue(
    dialogue: dict[str, Any], acts: Mapping[str, Any], schema: Mapping[str, set[str]]
) -> list[RawTurn]:
    turns = dialogue["turns"]
    out: list[RawTurn] = []
    booked: list[str] = []
    for user, system in zip(turns[0::2], turns[1::2], strict=False):
        entry = acts.get(system["turn_id"], {})
        state = _state(user, schema)
        system_acts = _acts(entry)
        new = _booked_domain(system_acts, user, state)
        refs = [a.value for a in system_acts if a.slot == "ref"]
        booked = sorted(set(booked) | set(new))
        out.append(
            RawTurn(
                user=user["utterance"],
                system=system["utterance"],
                state=state,
                requested=_requested(user),
                acts=system_acts,
                spans=_spans(entry, system),
                booked_domains=booked,
                new_bookings={d: ({"ref": refs[0]} if refs else {}) for d in new},
            )
        )
    return out


def convlab21_goals(split: str, root: str | Path | None = None) -> dict[str, dict[str, DomainGoal]]:
    """The 2.1 user goals by dialogue id (2.2 re-annotated the same dialogues)."""
    return {
        k.lower().removesuffix(".json"): goal_from_convlab(v.get("goal") or {})
        for k, v in read_split(split, root).items()
    }


def iter_turns(
    split: str,
    root: str | Path | None = None,
    *,
    db: VenueDB | None = None,
    goals: Mapping[str, dict[str, DomainGoal]] | None = None,
    limit: int | None = None,
    progress: bool = False,
) -> Iterator[MultiWozTurn]:
    """Every system turn of an official 2.2 split (`train`, `dev`, `test`)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    base = multiwoz22_dir(root)
    schema = read_schema(base)
    all_acts = read_dialog_acts(base)
    db = db or load_db(str(db_dir(data_root=base)))
    dialogues = read_dialogues(base, split)[:limit]
    for dialogue in tqdm(dialogues, desc=f"multiwoz22 {split}", disable=not progress):
        raw_turns = parse_dialogue(dialogue, all_acts.get(dialogue["dialogue_id"], {}), schema)
        dialogue_id = dialogue["dialogue_id"].lower().removesuffix(".json")
        goal = (goals or {}).get(dialogue_id)
        if goal is None:
            asked = [(d, s) for t in raw_turns for d, slots in t.requested.items() for s in slots]
            final = raw_turns[-1].state if raw_turns else {}
            goal = goal_from_states(final, asked)
        yield from build_dialogue(
            dialogue_id=dialogue_id,
            split=split,
            source="multiwoz22",
            raw_turns=raw_turns,
            goal=goal,
            db=db,
        )
