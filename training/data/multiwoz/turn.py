"""The one record both MultiWOZ loaders produce: a system turn with everything around it.

Stored as JSON in the `example` column of training datasets, so rewards and the
evaluator can rebuild the prompt and score a reply without the raw release.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Source = Literal["multiwoz22", "multiwoz21-convlab2", "fixture"]


class Utterance(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: Literal["user", "system"]
    text: str


class DialogueAct(BaseModel):
    """One act item: `Restaurant-Inform(name=x)` is ("restaurant", "inform", "name", "x")."""

    model_config = ConfigDict(frozen=True)

    domain: str  # lowercase: restaurant, ..., "booking" or "general"
    act: str  # lowercase: inform, request, recommend, book, offerbooked, nobook, ...
    slot: str  # canonical slot name (see slots.canonical_slot); "none" when the act has none
    value: str


class Span(BaseModel):
    """A character span of the reply that carries a slot value: [start, end)."""

    model_config = ConfigDict(frozen=True)

    domain: str
    slot: str
    value: str
    start: int
    end: int


class DbResult(BaseModel):
    """What a DB search with the turn's belief state returned for one domain."""

    model_config = ConfigDict(frozen=True)

    count: int
    entities: list[dict[str, str]] = Field(default_factory=list)  # the first few rows


class DomainGoal(BaseModel):
    """The user's goal in one domain, in the standard evaluator's terms."""

    model_config = ConfigDict(frozen=True)

    informable: dict[str, str] = Field(default_factory=dict)  # search constraints
    requestable: list[str] = Field(default_factory=list)  # subset of REQUESTABLES
    booking: dict[str, str] = Field(default_factory=dict)  # booking slots, empty: no booking


class MultiWozTurn(BaseModel):
    """One system turn: the context it answers, the gold reply and the annotations."""

    model_config = ConfigDict(frozen=True)

    dialogue_id: str  # lowercase without ".json", e.g. "pmul0698" (the evaluator's key)
    turn_index: int  # 0-based index among the dialogue's system turns
    split: str
    source: Source
    context: list[Utterance]  # every utterance before the reply; the last one is the user's
    belief_state: dict[str, dict[str, str]]  # domain -> canonical slot -> value (after the user)
    active_domains: list[str]  # estimate of the domain the reply is about (evaluator rule)
    requested: dict[str, list[str]] = Field(default_factory=dict)  # domain -> slots the user asked
    booked_domains: list[str] = Field(default_factory=list)  # domains booked at or before this turn
    new_bookings: dict[str, dict[str, str]] = Field(default_factory=dict)  # booked at this turn
    db_results: dict[str, DbResult] = Field(default_factory=dict)
    reply: str
    delex_reply: str
    acts: list[DialogueAct] = Field(default_factory=list)
    spans: list[Span] = Field(default_factory=list)
    goal: dict[str, DomainGoal] = Field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.dialogue_id}/{self.turn_index}"

    @property
    def user_utterance(self) -> str:
        return self.context[-1].text if self.context else ""
