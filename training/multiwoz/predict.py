"""Generate MultiWOZ replies, write them in the evaluator's format and score them.

One path for `more multiwoz baseline` (a prompted base model), `more multiwoz predict` (a
base model with a trained adapter) and the evaluation at the end of `more multiwoz train`.
Replies are plain text, so they are scored in the evaluator's `lex` mode (delexicalised
from free text), the mode the SFT targets (lexicalised gold replies) are meant for.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from training.data.multiwoz.db import VenueDB
from training.data.multiwoz.turn import MultiWozTurn
from training.multiwoz.evaluator import EvaluationResult, PredictedTurn, evaluate, group_dialogues


def predict_and_score(
    turns: Sequence[MultiWozTurn],
    db: VenueDB,
    *,
    label: str,
    out: Path,
    result: Path | None = None,
    model: str = "bundled",
    adapter: str | Path | None = None,
    max_new_tokens: int = 48,
    batch_size: int = 8,
) -> EvaluationResult:
    """Greedy replies for `turns` -> `out` (predictions JSON), scored -> `result` (JSON).

    Args:
        turns: the system turns of whole dialogues (the evaluator scores dialogues).
        db: the venue DB the evaluator searches.
        label: names the data in the result file ("MultiWOZ 2.1, ConvLab-2 copy test").
        out: predictions file, `{dialogue_id: [{"response": ...}, ...]}`, which
            `more multiwoz eval --mode lex` reads back.
        result: where to write the scores as JSON (None: not written).
        model: base model folder, or `bundled`.
        adapter: PEFT LoRA folder applied to `model`; None is the prompted base model.
        max_new_tokens: reply budget in tokens.
        batch_size: prompts per `generate` call.
    """
    from training.multiwoz.baseline import generate_predictions

    predictions = generate_predictions(
        turns,
        model=model,
        adapter=adapter,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(predictions, indent=1) + "\n")
    parsed = {k: [PredictedTurn(response=r["response"]) for r in v] for k, v in predictions.items()}
    references = group_dialogues(turns)
    scored = evaluate(parsed, references, db, mode="lex")
    if result is not None:
        source = {"model": model} | ({"adapter": str(adapter)} if adapter is not None else {})
        constraints = constraint_means(references, predictions, db)
        result.parent.mkdir(parents=True, exist_ok=True)
        result.write_text(
            json.dumps(
                {"data": label, **source, **scored.model_dump(), "constraints": constraints},
                indent=2,
            )
            + "\n"
        )
    return scored


def constraint_means(
    references: dict[str, list[MultiWozTurn]],
    predictions: dict[str, list[dict[str, str]]],
    db: VenueDB,
) -> dict[str, dict[str, float | int | None]]:
    """Each MultiWOZ reasoning function's mean over the turns it applies to, and that count.

    The constraints MORE trains against, measured on the evaluated replies, beside the
    corpus metrics (which do not see invented phone numbers or false booking claims).
    """
    from training.multiwoz.rewards import MultiWozReasoning

    reasoning = MultiWozReasoning(db)
    scorers = {
        "offered_entities": reasoning.offered_entities,
        "requested_attributes": reasoning.requested_attributes,
        "no_invention": reasoning.no_invention,
        "booking_claim": reasoning.booking_claim,
    }
    values: dict[str, list[float]] = {name: [] for name in scorers}
    for dialogue_id, turns in references.items():
        for turn, predicted in zip(turns, predictions[dialogue_id], strict=True):
            for name, scorer in scorers.items():
                score = scorer(turn, predicted["response"])
                if score is not None:
                    values[name].append(score.value)
    return {
        name: {"mean": sum(v) / len(v) if v else None, "turns": len(v)}
        for name, v in values.items()
    }
