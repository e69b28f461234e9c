"""MultiWOZ reasoning functions as TRL-style rewards (the MORE constraints for this domain).

Same signature as `training.rewards.base.RewardFunc`, but the `example` column holds a
serialised `MultiWozTurn`. Each function reads a *plain* reply (placeholders are
understood too) and returns a value in [0, 1], or None when it does not apply:

* `offered_entities_reward`: every venue or train the reply names exists in the DB and
  matches the turn's belief state (a placeholder offer needs at least one DB match);
* `requested_attributes_reward`: share of the attributes the user asked for this turn
  that the reply gives (None when nothing was asked);
* `no_invention_reward`: every train id, phone number, postcode and booking reference in
  the reply is real: in the DB, in the booking made this turn, or earlier in the dialogue;
* `booking_claim_reward`: the reply claims a booking only at a turn where one was made.

The task environment's linguistic rewards, adapted to these rows (`for_linguistic`), are
here under their own names too (`fluency_reward`, `naturalness_reward`, `concision_reward`),
so a MultiWOZ run config names every reward by dotted path.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from cachetools import LRUCache

from training.data.multiwoz.db import VenueDB, load_db
from training.data.multiwoz.paths import ENV_DB
from training.data.multiwoz.slots import coarsen
from training.data.multiwoz.turn import MultiWozTurn
from training.rewards import linguistic
from training.rewards.base import RewardFunc, Score, completion_text

# GRPO scores G completions of one prompt: each JSON is parsed once, the latest kept.
_TURN_CACHE: LRUCache[str, MultiWozTurn] = LRUCache(maxsize=4096)
_NAMED = ("restaurant", "hotel", "attraction")


def as_turn(value: MultiWozTurn | str | dict[str, Any]) -> MultiWozTurn:
    """Accept a turn, its JSON or its dict (how `datasets` hands columns over)."""
    if isinstance(value, MultiWozTurn):
        return value
    if isinstance(value, dict):
        return MultiWozTurn.model_validate(value)
    cached = _TURN_CACHE.get(value)
    if cached is None:
        cached = _TURN_CACHE[value] = MultiWozTurn.model_validate_json(value)
    return cached


def _mentions(pattern: re.Pattern[str], text: str) -> set[str]:
    return {m.group(0).lower().replace(" ", "") for m in pattern.finditer(text)}


_TRAIN_ID = re.compile(r"\bTR\d{4}\b", re.IGNORECASE)
_PHONE = re.compile(r"\b\d{11}\b")
_POSTCODE = re.compile(r"\bcb\s?\d{1,2}\s?\d[a-z]{2}\b", re.IGNORECASE)
_REFERENCE = re.compile(r"\b(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{8}\b")
_BOOKING_CLAIM = re.compile(
    r"\b(?:i(?:'ve| have)? (?:booked|reserved)|(?:is|are|been|was|all) (?:booked|reserved)|"
    r"booking (?:is|was) (?:successful|complete|confirmed)|reference (?:number|code)|"
    r"ref(?:erence)?\s*[:#])",
    re.IGNORECASE,
)


# Attributes whose wording varies ("17.90 GBP" vs "17.90 pounds", "9:29" vs "09:29"):
# a value of the right shape counts as given.
_TIME_SHAPE = re.compile(r"\b\d{1,2}:\d{2}\b")
_SHAPES = {
    "leaveat": _TIME_SHAPE,
    "arriveby": _TIME_SHAPE,
    "price": re.compile(r"\d+(?:\.\d+)?\s*(?:pounds?|gbp)|£\s*\d|\bfree\b", re.IGNORECASE),
    "entrancefee": re.compile(r"\d+(?:\.\d+)?\s*(?:pounds?|gbp)|£\s*\d|\bfree\b", re.IGNORECASE),
    "duration": re.compile(r"\b\d+\s*(?:minutes?|mins?|hours?)\b", re.IGNORECASE),
    "parking": re.compile(r"\bparking\b", re.IGNORECASE),
    "internet": re.compile(r"\b(?:internet|wifi|wi-fi)\b", re.IGNORECASE),
    "stars": re.compile(r"\b\d\s*-?\s*stars?\b", re.IGNORECASE),
}


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


class MultiWozReasoning:
    """The four reasoning functions over one venue DB (scorers: turn, reply -> Score)."""

    def __init__(self, db: VenueDB) -> None:
        self.db = db
        self._name_patterns = {
            d: re.compile(
                r"\b(?:"
                + "|".join(re.escape(n) for n in sorted(db.names[d], key=len, reverse=True))
                + r")\b",
                re.IGNORECASE,
            )
            for d in _NAMED
        }
        self._phones = {str(r.get("phone", "")) for rows in db.rows.values() for r in rows}
        self._postcodes = {
            str(r.get("postcode", "")).replace(" ", "") for rows in db.rows.values() for r in rows
        }
        self._train_ids = {str(r["trainid"]).lower() for r in db.rows["train"]}

    def _matches(self, turn: MultiWozTurn, domain: str) -> set[str]:
        return {k.lower() for k in self.db.keys(domain, turn.belief_state.get(domain, {}))}

    def offered_entities(self, turn: MultiWozTurn, reply: str) -> Score:
        named = {
            d: {m.group(0).lower() for m in p.finditer(reply)}
            for d, p in self._name_patterns.items()
        }
        named["train"] = {m.lower() for m in _mentions(_TRAIN_ID, reply)}
        context = " ".join(u.text for u in turn.context).lower()
        bad: list[str] = []
        total = 0
        for domain, names in named.items():
            # A venue the user named themselves may be discussed even if it does not match.
            names = {n for n in names if n not in context}
            if not names:
                continue
            allowed = self._matches(turn, domain)  # no constraints yet: any venue of the DB
            total += len(names)
            bad += sorted(n for n in names if n not in allowed)
        coarse = coarsen(reply.lower())
        for domain in (*_NAMED, "train"):
            token = "[trainid]" if domain == "train" else "[name]"
            if f"[{domain}_" in reply.lower() and token in coarse:
                total += 1
                if not self._matches(turn, domain):
                    bad.append(f"[{domain} placeholder, no DB match]")
        if not total:
            return Score(1.0, "no venue offered")
        return Score(1.0 - len(bad) / total, f"not matching the state: {bad}" if bad else "ok")

    def requested_attributes(self, turn: MultiWozTurn, reply: str) -> Score | None:
        wanted = [(d, s) for d, slots in turn.requested.items() for s in slots]
        if not wanted:
            return None
        text = _squash(reply)  # "unit g6 , clifton road" and "unit g6, clifton road" compare equal
        coarse = coarsen(reply.lower())
        given = []
        for domain, slot in wanted:
            field = {"ref": "ref", "id": "trainid"}.get(slot, slot)
            rows = self.db.query(domain, turn.belief_state.get(domain, {}))[:50]
            values = {_squash(str(r.get(field, ""))) for r in rows} - {""}
            values |= {
                _squash(v) for k, v in turn.new_bookings.get(domain, {}).items() if k == field
            }
            values = {v for v in values if len(v) >= 3}  # "no", "4": too short to be evidence
            token = coarsen(f"[x_{field}]")  # "[x_phone]" -> "[phone]": any domain's placeholder
            shape = _SHAPES.get(field)
            if (
                any(v in text for v in values)
                or token in coarse
                or (shape is not None and shape.search(reply))
            ):
                given.append(f"{domain}-{slot}")
        missing = [f"{d}-{s}" for d, s in wanted if f"{d}-{s}" not in given]
        return Score(len(given) / len(wanted), f"missing {missing}" if missing else "all given")

    def no_invention(self, turn: MultiWozTurn, reply: str) -> Score:
        context = " ".join(u.text for u in turn.context).lower().replace(" ", "")
        booked = {
            v.lower().replace(" ", "") for b in turn.new_bookings.values() for v in b.values()
        }
        invented = [i for i in _mentions(_TRAIN_ID, reply) if i not in self._train_ids]
        invented += [p for p in _mentions(_PHONE, reply) if p not in self._phones | booked]
        invented += [p for p in _mentions(_POSTCODE, reply) if p not in self._postcodes]
        invented += [
            r for r in _mentions(_REFERENCE, reply)
            if r not in booked and r not in context and r not in self._train_ids
        ]  # fmt: skip
        return Score(0.0 if invented else 1.0, f"invented {invented}" if invented else "ok")

    def booking_claim(self, turn: MultiWozTurn, reply: str) -> Score:
        claims = bool(_BOOKING_CLAIM.search(reply)) or "_reference]" in reply.lower()
        if claims and not turn.new_bookings:
            return Score(0.0, "claims a booking that was not made")
        return Score(1.0, "ok")


def _lift(name: str, scorer: Callable[[MultiWozTurn, str], Score | None]) -> RewardFunc:
    def reward(
        prompts: Sequence[Any] | None, completions: Sequence[Any], **kwargs: Any
    ) -> list[float | None]:
        out: list[float | None] = []
        for example, completion in zip(kwargs["example"], completions, strict=True):
            score = scorer(as_turn(example), completion_text(completion))
            out.append(None if score is None else score.value)
        return out

    reward.__name__ = reward.__qualname__ = name
    return reward


def get_multiwoz_reasoning_functions(db_path: str | None = None) -> dict[str, RewardFunc]:
    """The four reasoning functions, by name, over the DB at `db_path` (default: configured DB).

    >>> fns = get_multiwoz_reasoning_functions()
    >>> sorted(fns)[:2]
    ['booking_claim_reward', 'no_invention_reward']
    """
    reasoning = MultiWozReasoning(load_db(db_path))
    return {
        "offered_entities_reward": _lift("offered_entities_reward", reasoning.offered_entities),
        "requested_attributes_reward": _lift(
            "requested_attributes_reward", reasoning.requested_attributes
        ),
        "no_invention_reward": _lift("no_invention_reward", reasoning.no_invention),
        "booking_claim_reward": _lift("booking_claim_reward", reasoning.booking_claim),
    }


def for_linguistic(reward: RewardFunc) -> RewardFunc:
    """Adapt a task-environment linguistic reward to MultiWOZ rows.

    Those rewards read a `TaskExample` from `example` when the column exists; here they
    get the turn's prompt and gold reply (`prompts`, `references`) instead.
    """

    def adapted(
        prompts: Sequence[Any] | None, completions: Sequence[Any], **kwargs: Any
    ) -> list[float | None]:
        from training.multiwoz.prompt import build_messages

        turns = [as_turn(e) for e in kwargs.pop("example")]
        kwargs["references"] = [[t.reply] for t in turns]
        return reward([build_messages(t) for t in turns], completions, **kwargs)

    adapted.__name__ = adapted.__qualname__ = reward.__name__
    return adapted


@cache
def _default_reasoning() -> MultiWozReasoning:
    # Keyed by the env value, so a changed MORE_MULTIWOZ_DB_DIR is not served a cached DB.
    return MultiWozReasoning(load_db(os.environ.get(ENV_DB)))


# Module-level rewards over the configured DB (MORE_MULTIWOZ_DB_DIR or the shared copy), so
# a run config can name them by dotted path: "training.multiwoz.rewards:no_invention_reward".
offered_entities_reward = _lift(
    "offered_entities_reward", lambda t, r: _default_reasoning().offered_entities(t, r)
)
requested_attributes_reward = _lift(
    "requested_attributes_reward", lambda t, r: _default_reasoning().requested_attributes(t, r)
)
no_invention_reward = _lift(
    "no_invention_reward", lambda t, r: _default_reasoning().no_invention(t, r)
)
booking_claim_reward = _lift(
    "booking_claim_reward", lambda t, r: _default_reasoning().booking_claim(t, r)
)

# The linguistic rewards on MultiWOZ rows ("training.multiwoz.rewards:fluency_reward"):
# same scorers and defaults, fed the turn's prompt and gold reply; models load on first call.
fluency_reward = for_linguistic(linguistic.fluency_reward)
naturalness_reward = for_linguistic(linguistic.naturalness_reward)
concision_reward = for_linguistic(linguistic.concision_reward)
