"""Logged sessions -> TaskExamples with gold labels and outcome labels.

Reads sessions, messages and outcome events straight from the service's database (the
app's SQLAlchemy models over the same URL; default: the service's `Settings`). Each user
message logged with its storefront context and profile snapshot (migration 0003) becomes
one `TaskExample`:

* intent: inferred from the customer's message by the service's own classifier
  (`app.engine.intent`), read in the page's context (`app.domain.intents.in_context`);
* gold decision and reasoning: `app.domain.rules.decide` on the logged snapshot + context;
* references: the generator's reference templates for that decision, plus the logged reply
  when its session ended well AND the reply passes every reasoning function (see below);
* history: the session's earlier messages, as the prompt saw them.

Guard interventions (the service replaced a failing policy reply, revision 0004) are also
written as preference pairs, `interventions.jsonl`: the prompt, the sent reply as
`chosen`, the policy's own reply as `rejected` (`intervention_pairs`).

Outcomes (per session: offer shown, converted, handed off, satisfaction) are attached as
`OutcomeLabels` and as `outcome:*` tags. How they are used (docs/retraining.md):
a *filter* deciding which logged replies become extra references (only replies that both
led to a good outcome and are correct by the rules; an approval that converts but states a
wrong limit must never be reinforced), and a *sampling weight* (turns of sessions that
went badly are repeated in the training mix: that is where the policy failed customers).
They are deliberately not a reward on the new samples: an outcome was observed for the
logged reply only, so crediting it to a different sampled reply would be guesswork.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from app.domain.intents import earlier_requests, in_context, intent_text
from app.domain.profile import Profile, StorefrontContext
from app.domain.rules import Action, Intent, decide
from training.data.schema import GoldDecision, Split, TaskExample

SIMULATOR_SOURCE = "simulator"
POSITIVE_SATISFACTION = 4  # a score at or above this is a good outcome
NEGATIVE_SATISFACTION = 2  # at or below: a bad one


@dataclass(frozen=True)
class OutcomeLabels:
    """What happened in a session after the bot replied (from the events table)."""

    offer_shown: bool = False
    converted: bool = False
    handed_off: bool = False  # handoff event, a reply flagged as handoff, or a human took over
    satisfaction: int | None = None  # the latest 1-5 score
    simulated: bool = False  # some event came from the customer simulator

    @property
    def positive(self) -> bool:
        """Converted, or satisfied, and not handed off."""
        happy = self.satisfaction is not None and self.satisfaction >= POSITIVE_SATISFACTION
        return (self.converted or happy) and not self.handed_off

    @property
    def negative(self) -> bool:
        unhappy = self.satisfaction is not None and self.satisfaction <= NEGATIVE_SATISFACTION
        return unhappy or (self.handed_off and not self.converted)

    def tags(self) -> list[str]:
        flags = {
            "outcome:offer_shown": self.offer_shown,
            "outcome:converted": self.converted,
            "outcome:handed_off": self.handed_off,
        }
        tags = [tag for tag, on in flags.items() if on]
        if self.satisfaction is not None:
            tags.append(f"satisfaction:{self.satisfaction}")
        if self.positive:
            tags.append("outcome:positive")
        if self.negative:
            tags.append("outcome:negative")
        return tags


@dataclass(frozen=True)
class LoggedTurn:
    """One user message and the reply it got, as stored."""

    session_id: str
    turn_no: int
    user_id: str
    message: str
    reply: str
    reply_handoff: bool
    context: dict[str, Any] | None
    profile: dict[str, Any] | None
    history: list[dict[str, str]]
    policy_version: str
    variant: str
    created_at: datetime | None
    # The reply guard's record of the assistant row (revision 0004): what it inferred and
    # did, and the policy's own reply when it replaced it.
    intent: str | None = None
    intervention: str | None = None
    raw_reply: str | None = None


@dataclass(frozen=True)
class ExportedExample:
    """A logged turn as a training example, with where it came from and how it went."""

    example: TaskExample
    outcome: OutcomeLabels
    session_id: str
    policy_version: str
    logged_reply: str
    logged_reply_correct: bool  # the logged reply passed every reasoning function
    intent_similarity: float

    def record(self) -> dict[str, Any]:
        """The JSON line of `logged.jsonl` (the example plus its provenance)."""
        return {
            "example": self.example.model_dump(mode="json"),
            "outcome": {**self.outcome.__dict__},
            "session_id": self.session_id,
            "policy_version": self.policy_version,
            "logged_reply": self.logged_reply,
            "logged_reply_correct": self.logged_reply_correct,
            "intent_similarity": round(self.intent_similarity, 4),
        }


@dataclass
class ExportStats:
    sessions: int = 0
    user_turns: int = 0
    exported: int = 0
    skipped: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    by_split: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    by_intent: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    positive_sessions: int = 0
    negative_sessions: int = 0
    logged_references: int = 0  # logged replies promoted to references
    interventions: int = 0  # guard replacements exported as preference pairs

    def as_dict(self) -> dict[str, Any]:
        return {
            "sessions": self.sessions,
            "user_turns": self.user_turns,
            "exported": self.exported,
            "skipped": dict(self.skipped),
            "by_split": dict(self.by_split),
            "by_intent": dict(sorted(self.by_intent.items())),
            "positive_sessions": self.positive_sessions,
            "negative_sessions": self.negative_sessions,
            "logged_references": self.logged_references,
            "interventions": self.interventions,
        }


# --- reading the database ---------------------------------------------------------------


async def read_logs(
    database_url: str,
    *,
    since: datetime | None = None,
    max_sessions: int | None = None,
    history_max_messages: int = 16,
    exclude_simulated: bool = False,
    on_session: Callable[[], None] | None = None,
) -> tuple[list[LoggedTurn], dict[str, OutcomeLabels]]:
    """Every logged user turn (oldest session first) and the outcome of each session.

    `history_max_messages` mirrors serving's prompt window (2 x MORE_HISTORY_MAX_TURNS);
    `exclude_simulated` drops sessions with any simulator-sourced event.
    """
    from sqlalchemy import select

    from app.store.db import create_db_engine
    from app.store.models import EventRow, MessageRow, SessionRow, SessionStatus

    engine = create_db_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            query = select(
                SessionRow.id,
                SessionRow.user_id,
                SessionRow.variant,
                SessionRow.policy_version,
                SessionRow.status,
            ).order_by(SessionRow.created_at, SessionRow.id)
            if since is not None:
                query = query.where(SessionRow.updated_at >= since)
            if max_sessions is not None:
                query = query.limit(max_sessions)
            sessions = (await conn.execute(query)).all()
            ids = [s.id for s in sessions]
            messages: dict[str, list[Any]] = defaultdict(list)
            events: dict[str, list[Any]] = defaultdict(list)
            for chunk in _chunks(ids, 500):  # bounded IN lists
                rows = await conn.execute(
                    select(MessageRow)
                    .where(MessageRow.session_id.in_(chunk))
                    .order_by(MessageRow.id)
                )
                for row in rows:
                    messages[row.session_id].append(row)
                rows = await conn.execute(
                    select(EventRow.session_id, EventRow.type, EventRow.payload, EventRow.id)
                    .where(EventRow.session_id.in_(chunk))
                    .order_by(EventRow.occurred_at, EventRow.id)
                )
                for row in rows:
                    events[row.session_id].append(row)
    finally:
        await engine.dispose()

    turns: list[LoggedTurn] = []
    outcomes: dict[str, OutcomeLabels] = {}
    for session in sessions:
        rows = messages.get(session.id, [])
        outcome = _outcome(
            events.get(session.id, []),
            human=session.status == SessionStatus.HUMAN,
            flagged=any(r.role == "assistant" and r.handoff for r in rows),
        )
        if on_session is not None:
            on_session()
        if exclude_simulated and outcome.simulated:
            continue
        outcomes[session.id] = outcome
        turns.extend(_turns(session, rows, history_max_messages))
    return turns, outcomes


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _outcome(events: Sequence[Any], *, human: bool, flagged: bool) -> OutcomeLabels:
    kinds = {e.type for e in events}
    scores = [int((e.payload or {}).get("score", 0)) for e in events if e.type == "satisfaction"]
    scores = [s for s in scores if 1 <= s <= 5]
    return OutcomeLabels(
        offer_shown="offer_shown" in kinds or "conversion" in kinds,
        converted="conversion" in kinds,
        handed_off=human or flagged or "handoff" in kinds,
        satisfaction=scores[-1] if scores else None,
        simulated=any((e.payload or {}).get("source") == SIMULATOR_SOURCE for e in events),
    )


def _turns(session: Any, rows: Sequence[Any], history_max: int) -> list[LoggedTurn]:
    """Pair each user message with the assistant reply stored right after it."""
    turns: list[LoggedTurn] = []
    history: list[dict[str, str]] = []
    turn_no = 0
    for i, row in enumerate(rows):
        if row.role != "user":
            continue
        reply = rows[i + 1] if i + 1 < len(rows) and rows[i + 1].role == "assistant" else None
        if reply is not None:
            turns.append(
                LoggedTurn(
                    session_id=session.id,
                    turn_no=turn_no,
                    user_id=session.user_id,
                    message=row.content,
                    reply=reply.content,
                    reply_handoff=bool(reply.handoff),
                    context=row.context,
                    profile=row.profile_snapshot,
                    history=history[-history_max:] if history_max else [],
                    policy_version=session.policy_version,
                    variant=session.variant,
                    created_at=row.created_at,
                    intent=reply.intent,
                    intervention=reply.intervention,
                    raw_reply=reply.raw_reply,
                )
            )
            turn_no += 1
        history = [*history, {"role": "user", "content": row.content}]
        if reply is not None:
            history.append({"role": "assistant", "content": reply.content})
    return turns


# --- labelling ------------------------------------------------------------------------


def split_of(session_id: str, dev_fraction: float) -> Split:
    """A stable split by session (a session never straddles train and dev)."""
    bucket = int(hashlib.sha256(session_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return Split.DEV if bucket < dev_fraction else Split.TRAIN


def reply_is_correct(example: TaskExample, reply: str, threshold: float = 1.0) -> bool:
    """Whether `reply` satisfies every reasoning function for `example`."""
    from training.rewards.reasoning import SCORERS

    return all(scorer(example, reply).value >= threshold for scorer in SCORERS.values())


def build_examples(
    turns: Sequence[LoggedTurn],
    outcomes: dict[str, OutcomeLabels],
    *,
    classify: Callable[[Sequence[str], Sequence[str]], Sequence[Any]] | None = None,
    dev_fraction: float = 0.1,
    n_refs: int = 4,
    seed: int = 0,
    stats: ExportStats | None = None,
) -> list[ExportedExample]:
    """Label logged turns. `classify(messages, user_ids)` returns `IntentGuess`es
    (default: the MiniLM nearest-neighbour classifier)."""
    from app.domain.references import Turn, reference_replies

    if classify is None:
        from app.engine.intent import default_intent_classifier

        classify = default_intent_classifier().classify_many
    stats = stats if stats is not None else ExportStats()
    stats.sessions = len(outcomes)
    stats.user_turns = len(turns)
    stats.positive_sessions = sum(o.positive for o in outcomes.values())
    stats.negative_sessions = sum(o.negative for o in outcomes.values())

    usable: list[tuple[LoggedTurn, Profile, StorefrontContext]] = []
    for turn in turns:
        if turn.profile is None or turn.context is None:
            stats.skipped["no_snapshot"] += 1  # logged before migration 0003
            continue
        try:
            profile = Profile.model_validate(turn.profile)
            context = StorefrontContext.model_validate(turn.context)
        except ValidationError:
            stats.skipped["invalid_snapshot"] += 1
            continue
        usable.append((turn, profile, context))

    # Read as serving read them: the titles in view said as "item".
    guesses = list(
        classify(
            [intent_text(t.message, context) for t, _, context in usable],
            [t.user_id for t, _, _ in usable],
        )
    )
    # As serving does (`ChatService._intent`): a follow-up the classifier cannot place on
    # its own ("why not?") continues the latest earlier request of the session it can.
    retry = [
        (i, earlier)
        for i, ((turn, _, _), guess) in enumerate(zip(usable, guesses, strict=True))
        if guess.intent is None
        for earlier in earlier_requests(turn.history)
    ]
    if retry:
        again = classify(
            [intent_text(earlier, usable[i][2]) for i, earlier in retry],
            [usable[i][0].user_id for i, _ in retry],
        )
        for (i, _), guess in zip(retry, again, strict=True):
            if guesses[i].intent is None and guess.intent is not None:
                guesses[i] = guess
    out: list[ExportedExample] = []
    for (turn, profile, context), guess in zip(usable, guesses, strict=True):
        if guess.intent is None:
            stats.skipped["intent_unclear"] += 1
            continue
        intent = in_context(guess.intent, context)
        assert intent is not None
        outcome = outcomes.get(turn.session_id, OutcomeLabels())
        decision = decide(profile, context, intent)
        # Seeded per turn: the same logs always give the same references.
        rng = random.Random(f"more-retrain/{seed}/{turn.session_id}/{turn.turn_no}")
        references = reference_replies(
            Turn(intent, profile, context, decision, (), turn.message), rng, k=n_refs
        )
        split = split_of(turn.session_id, dev_fraction)
        base = TaskExample(
            id=f"{split.value}-log.{turn.session_id}-{turn.turn_no}",
            split=split,
            intent=intent,
            profile=profile,
            context=context,
            history=list(turn.history),
            message=turn.message,
            decision=GoldDecision.from_decision(decision),
            reasoning=list(decision.reasoning),
            references=references,
            tags=["logged", *outcome.tags(), *(["multi_turn"] if turn.history else [])],
        )
        correct = bool(turn.reply.strip()) and reply_is_correct(base, turn.reply)
        example = base
        # The outcome filter: only a reply that ended well AND is right joins the references.
        # Never in dev, where references measure the policy rather than teach it.
        if split is Split.TRAIN and outcome.positive and correct and turn.reply not in references:
            example = base.model_copy(
                update={
                    "references": [turn.reply, *references],
                    "tags": [*base.tags, "logged_reference"],
                }
            )
            stats.logged_references += 1
        out.append(
            ExportedExample(
                example=example,
                outcome=outcome,
                session_id=turn.session_id,
                policy_version=turn.policy_version,
                logged_reply=turn.reply,
                logged_reply_correct=correct,
                intent_similarity=guess.similarity,
            )
        )
        stats.exported += 1
        stats.by_split[split.value] += 1
        stats.by_intent[intent.value] += 1
    return out


def intervention_pairs(
    turns: Sequence[LoggedTurn], exported: Sequence[ExportedExample]
) -> list[dict[str, Any]]:
    """Each guard intervention as a preference pair (TRL's prompt/chosen/rejected format):
    the prompt as the policy saw it, the reply the guard sent (chosen) and the policy's
    own failing reply (rejected). A correction the service already made is exactly what
    the next policy should learn to write itself."""
    by_turn = {(e.session_id, e.example.id.rsplit("-", 1)[-1]): e for e in exported}
    pairs = []
    for turn in turns:
        if turn.intervention in (None, "none") or not turn.raw_reply:
            continue
        item = by_turn.get((turn.session_id, str(turn.turn_no)))
        if item is None:  # the turn could not be labelled (no snapshot, intent unclear)
            continue
        example = item.example
        served = Intent(turn.intent) if turn.intent else None
        prompt = example.messages(verdict=served is not None, intent=served)
        pairs.append(
            {
                "prompt": prompt,
                "chosen": [{"role": "assistant", "content": turn.reply}],
                "rejected": [{"role": "assistant", "content": turn.raw_reply}],
                "intervention": turn.intervention,
                "session_id": turn.session_id,
                "example_id": example.id,
                "policy_version": turn.policy_version,
            }
        )
    return pairs


def training_rows(
    exported: Sequence[ExportedExample], negative_repeat: int = 2
) -> list[TaskExample]:
    """The train-split examples, each turn of a badly-ended session repeated
    `negative_repeat` times (the sampling weight; 1 = no reweighting)."""
    rows: list[TaskExample] = []
    for item in exported:
        if item.example.split is not Split.TRAIN:
            continue
        repeat = negative_repeat if item.outcome.negative else 1
        rows.extend([item.example] * max(repeat, 1))
    return rows


def gold_action_counts(exported: Sequence[ExportedExample]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for item in exported:
        counts[item.example.decision.action.value] += 1
    return {a.value: counts[a.value] for a in Action if counts[a.value]}


# --- the export job ---------------------------------------------------------------------


@dataclass
class ExportResult:
    examples: list[ExportedExample]
    stats: ExportStats
    paths: dict[str, Path]


async def export_logs(
    database_url: str,
    out_dir: str | Path,
    *,
    since: datetime | None = None,
    max_sessions: int | None = None,
    exclude_simulated: bool = False,
    dev_fraction: float = 0.1,
    n_refs: int = 4,
    seed: int = 0,
    classify: Callable[[Sequence[str], Sequence[str]], Sequence[Any]] | None = None,
    progress: bool = True,
) -> ExportResult:
    """Read the logs, label them and write `logged.jsonl` (examples + provenance +
    outcomes), `logged_train.jsonl` and `logged_dev.jsonl` (plain TaskExamples)."""
    import asyncio

    from tqdm.auto import tqdm

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tqdm(desc="export: sessions", unit="session", disable=not progress) as bar:
        turns, outcomes = await read_logs(
            database_url,
            since=since,
            max_sessions=max_sessions,
            exclude_simulated=exclude_simulated,
            on_session=bar.update,
        )
    stats = ExportStats()
    # Labelling embeds every message (CPU-bound): keep it off the event loop.
    examples = await asyncio.to_thread(
        build_examples,
        turns,
        outcomes,
        classify=classify,
        dev_fraction=dev_fraction,
        n_refs=n_refs,
        seed=seed,
        stats=stats,
    )
    paths = {
        "logged": out / "logged.jsonl",
        "train": out / "logged_train.jsonl",
        "dev": out / "logged_dev.jsonl",
        "interventions": out / "interventions.jsonl",
    }
    import json

    pairs = intervention_pairs(turns, examples)
    stats.interventions = len(pairs)
    with paths["interventions"].open("w", encoding="utf-8") as f:
        for pair in pairs:
            f.write(json.dumps(pair) + "\n")

    with paths["logged"].open("w", encoding="utf-8") as f:
        for item in examples:
            f.write(json.dumps(item.record(), default=str) + "\n")
    for split in (Split.TRAIN, Split.DEV):
        with paths[split.value].open("w", encoding="utf-8") as f:
            for item in examples:
                if item.example.split is split:
                    f.write(item.example.model_dump_json() + "\n")
    return ExportResult(examples, stats, paths)
