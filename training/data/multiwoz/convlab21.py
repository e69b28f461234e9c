"""Loader for MultiWOZ 2.1 as ConvLab-2 ships it: `{val,test,train}.json.zip`.

Format (see ../shared/data/multiwoz21-convlab2/README.md): a dict keyed by dialogue id;
`log` alternates user and system turns; the belief state sits in the system turn's
`metadata` (`semi` search slots, `book` booking slots with a `booked` list); spans are
`[act, slot, value, first_word, last_word]` over whitespace tokens, last index inclusive.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tqdm import tqdm

from training.data.multiwoz.build import RawTurn, build_dialogue
from training.data.multiwoz.db import VenueDB, load_db
from training.data.multiwoz.delex import word_span_to_chars
from training.data.multiwoz.goal import goal_from_convlab
from training.data.multiwoz.paths import MultiWozDataMissingError, multiwoz21_dir
from training.data.multiwoz.slots import DOMAINS, canonical_slot
from training.data.multiwoz.turn import DialogueAct, MultiWozTurn, Span

SPLIT_FILES = {"train": "train", "dev": "val", "val": "val", "test": "test"}
_UNSET = ("", "not mentioned", "none")


def read_split(split: str, root: str | Path | None = None) -> dict[str, Any]:
    """The raw dialogues of one split (`train`, `dev`/`val`, `test`)."""
    stem = SPLIT_FILES[split]
    folder = multiwoz21_dir(root)
    for path in (folder / f"{stem}.json.zip", folder / f"{stem}.json"):
        if path.suffix == ".zip" and path.exists():
            with zipfile.ZipFile(path) as archive:
                return json.loads(archive.read(f"{stem}.json"))
        if path.exists():
            return json.loads(path.read_text())
    raise MultiWozDataMissingError(f"no {stem}.json(.zip) in {folder}")


def parse_state(metadata: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Canonical belief state from a system turn's `metadata` (unset slots dropped)."""
    state: dict[str, dict[str, str]] = {}
    for domain in DOMAINS:
        section = metadata.get(domain) or {}
        slots = {
            canonical_slot(k): str(v)
            for k, v in (section.get("semi") or {}).items()
            if str(v).strip().lower() not in _UNSET
        }
        slots |= {
            canonical_slot(k, book=True): str(v)
            for k, v in (section.get("book") or {}).items()
            if k != "booked" and str(v).strip().lower() not in _UNSET
        }
        if slots:
            state[domain] = slots
    return state


def _acts(turn: dict[str, Any]) -> list[DialogueAct]:
    acts = []
    for name, pairs in (turn.get("dialog_act") or {}).items():
        domain, _, act = name.lower().partition("-")
        for slot, value in pairs:
            acts.append(
                DialogueAct(
                    domain=domain,
                    act=act,
                    slot=canonical_slot(slot, act21=True, domain=domain),
                    value=str(value),
                )
            )
    return acts


def _spans(turn: dict[str, Any]) -> list[Span]:
    spans = []
    for act, slot, value, first, last in turn.get("span_info") or []:
        chars = word_span_to_chars(turn["text"], int(first), int(last))
        if chars:
            domain = act.split("-")[0].lower()
            spans.append(
                Span(
                    domain=domain,
                    slot=canonical_slot(slot, act21=True, domain=domain),
                    value=str(value),
                    start=chars[0],
                    end=chars[1],
                )
            )
    return spans


def _booking(entry: dict[str, Any]) -> dict[str, str]:
    return {canonical_slot(k): str(v) for k, v in entry.items()}


def parse_dialogue(raw: dict[str, Any]) -> list[RawTurn]:
    """The `RawTurn`s of one dialogue (user turn i pairs with system turn i)."""
    log = raw["log"]
    turns: list[RawTurn] = []
    booked_before: dict[str, int] = {}
    for user, system in zip(log[0::2], log[1::2], strict=False):
        metadata = system.get("metadata") or {}
        booked_now = {
            d: len((metadata.get(d) or {}).get("book", {}).get("booked") or []) for d in DOMAINS
        }
        new = {
            d: _booking(metadata[d]["book"]["booked"][-1])
            for d, n in booked_now.items()
            if n > booked_before.get(d, 0)
        }
        booked_before = booked_now
        requested: dict[str, list[str]] = {}
        for act in _acts(user):
            if act.act == "request" and act.domain in DOMAINS:
                requested.setdefault(act.domain, []).append(act.slot)
        turns.append(
            RawTurn(
                user=user["text"],
                system=system["text"],
                state=parse_state(metadata),
                requested=requested,
                acts=_acts(system),
                spans=_spans(system),
                booked_domains=[d for d, n in booked_now.items() if n],
                new_bookings=new,
            )
        )
    return turns


def iter_turns(
    split: str,
    root: str | Path | None = None,
    *,
    db: VenueDB | None = None,
    limit: int | None = None,
    progress: bool = False,
) -> Iterator[MultiWozTurn]:
    """Every system turn of a ConvLab-2 2.1 split, dialogues in file order."""
    data = read_split(split, root)
    db = db or load_db()
    items = list(data.items())[:limit]
    for dialogue_id, raw in tqdm(items, desc=f"multiwoz21 {split}", disable=not progress):
        yield from build_dialogue(
            dialogue_id=dialogue_id.lower().removesuffix(".json"),
            split="dev" if split == "val" else split,
            source="multiwoz21-convlab2",
            raw_turns=parse_dialogue(raw),
            goal=goal_from_convlab(raw.get("goal") or {}),
            db=db,
        )
