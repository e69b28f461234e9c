"""Infer the customer's intent of a logged message: nearest neighbours on MiniLM.

The service does not know the intent of a turn (the policy replies directly), but the
gold decision needs it. Prototypes are the task generator's own customer messages
(every template of `training.data.ecommerce.customer` and the hard scenarios, filled by
the seeded generator), each labelled with the intent that produced it; a message gets
the vote of its `k` nearest prototypes on the bundled all-MiniLM-L6-v2, each weighted by
exp((similarity - 1) / temperature), so a near-exact template match outvotes several
loose ones (purchase questions come in many filled variants and would otherwise
swamp a close eligibility template). One rule runs first because embeddings miss it: a
message naming another account id, or asking about a relative's or friend's account, is
`other_user_data`. Below `min_similarity` (nothing close) it abstains and the export
skips the turn rather than train on a guessed label. See docs/retraining.md for the
measured accuracy.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from app.domain.rules import Intent

if TYPE_CHECKING:
    import numpy as np


# Another shopper's account: an account id in the message, or a relative's/friend's account.
_ACCOUNT_ID = re.compile(r"\b(?:u|user|acct|account)[- #]?\d{3,}\b", re.IGNORECASE)
_RELATIVE = r"(?:husband|wife|sister|brother|friend|partner|parent|mum|mom|dad|son|daughter)"
_THIRD_PARTY = re.compile(
    rf"\b{_RELATIVE}(?:'s (?:account|balance|limit|credit)"
    r"|(?:\s+[A-Z][a-z]+)?\s+(?:wants to know|asked me|has (?:left|available)))"
    r"|\b(?:his|her|their) (?:account|balance|limit)\b|\b[A-Z][a-z]+'s account\b",
    re.IGNORECASE,
)


def names_other_account(message: str, own_user_id: str | None) -> bool:
    """Whether the message asks about another shopper's account (the customer's own id,
    when given, does not count)."""
    ids = {m.group(0).lower() for m in _ACCOUNT_ID.finditer(message)}
    if own_user_id:
        ids.discard(own_user_id.lower())
    return bool(ids) or bool(_THIRD_PARTY.search(message))


@dataclass(frozen=True)
class IntentGuess:
    """The inferred intent (None: abstained), the voters' mean similarity, the vote share."""

    intent: Intent | None
    similarity: float
    confidence: float


def prototype_messages(n_examples: int = 1200, seed: int = 0) -> list[tuple[str, Intent]]:
    """Generated customer messages with their intent (train and hard splits, deduplicated).

    Seeded, so the classifier is deterministic; seed 0 is the generator's default, and the
    evaluation in the tests draws its messages with other seeds.
    """
    from training.data.ecommerce.generator import generate_split
    from training.data.schema import Split

    pairs: dict[str, Intent] = {}
    for split, n in ((Split.TRAIN, n_examples), (Split.HARD, n_examples // 4)):
        for ex in generate_split(split, n, seed=seed, n_refs=1):
            pairs.setdefault(ex.message, ex.intent)
    return sorted(pairs.items())


@lru_cache(maxsize=1)
def _encoder() -> Any:
    from sentence_transformers import SentenceTransformer

    from training.rewards.reasoning.embedding import minilm_dir

    return SentenceTransformer(str(minilm_dir()), device="cpu")


class IntentClassifier:
    """k-NN intent vote over embedded generator messages.

    Args:
        k: neighbours that vote.
        temperature: vote weight exp((similarity - 1) / temperature); small = nearest wins.
        min_similarity: abstain when the voters' mean similarity is below this.
        prototypes: (message, intent) pairs; default `prototype_messages()`.
    """

    def __init__(
        self,
        *,
        k: int = 5,
        temperature: float = 0.05,
        min_similarity: float = 0.35,
        prototypes: Sequence[tuple[str, Intent]] | None = None,
    ) -> None:
        self.k = k
        self.temperature = temperature
        self.min_similarity = min_similarity
        pairs = list(prototypes) if prototypes is not None else prototype_messages()
        self._texts = [t for t, _ in pairs]
        self._labels = [i for _, i in pairs]
        self._matrix = self._embed(self._texts)  # (P, 384), unit rows

    @staticmethod
    def _embed(texts: Sequence[str]) -> np.ndarray:
        return _encoder().encode(
            list(texts), batch_size=64, normalize_embeddings=True, show_progress_bar=False
        )

    def classify_many(
        self, messages: Sequence[str], user_ids: Sequence[str | None] | None = None
    ) -> list[IntentGuess]:
        """One guess per message (one encoder pass for all of them); `user_ids` (the
        customers' own ids) keep a customer's own id from reading as another account."""
        if not messages:
            return []
        sims = self._embed(messages) @ self._matrix.T  # (N, P) cosine similarities
        owners = list(user_ids) if user_ids is not None else [None] * len(messages)
        return [
            self._vote(message, owner, row, self._labels)
            for message, owner, row in zip(messages, owners, sims, strict=True)
        ]

    def _vote(
        self, message: str, owner: str | None, row: np.ndarray, labels: Sequence[Intent]
    ) -> IntentGuess:
        """The rule, then the weighted vote of the k most similar prototypes
        (`row`: (P,) similarities to prototypes labelled `labels`)."""
        import numpy as np

        k = min(self.k, row.shape[0])
        idx = np.argpartition(-row, k - 1)[:k]
        mean_sim = float(row[idx].mean())
        if names_other_account(message, owner):
            return IntentGuess(Intent.OTHER_USER_DATA, mean_sim, 1.0)
        votes: dict[Intent, float] = defaultdict(float)
        for j in idx:
            votes[labels[j]] += math.exp((float(row[j]) - 1.0) / self.temperature)
        best = max(votes, key=lambda i: (votes[i], i.value))
        share = votes[best] / (sum(votes.values()) or 1.0)
        if mean_sim < self.min_similarity:
            return IntentGuess(None, mean_sim, share)
        return IntentGuess(best, mean_sim, share)

    def classify(self, message: str, user_id: str | None = None) -> IntentGuess:
        return self.classify_many([message], [user_id])[0]


@lru_cache(maxsize=1)
def default_classifier() -> IntentClassifier:
    """One shared classifier (building it embeds ~1,500 prototypes: a few seconds)."""
    return IntentClassifier()


def accuracy(
    classifier: IntentClassifier, labelled: Sequence[tuple[str, Intent]]
) -> tuple[float, float]:
    """(accuracy over all messages, counting abstentions as wrong; abstention rate)."""
    guesses = classifier.classify_many([m for m, _ in labelled])
    right = sum(g.intent == gold for g, (_, gold) in zip(guesses, labelled, strict=True))
    abstained = sum(g.intent is None for g in guesses)
    n = max(len(labelled), 1)
    return right / n, abstained / n


def template_holdout_accuracy(classifier: IntentClassifier) -> tuple[float, list[str]]:
    """Accuracy when each customer-message template is classified by prototypes from the
    OTHER templates only (a filled template never sees its own fillings): how the
    classifier does on phrasings it has not seen. Returns (accuracy, misses)."""
    import numpy as np

    from training.data.ecommerce.customer import FOLLOW_UPS, MESSAGES

    fill = {"title": "wireless headphones", "price": "$129.00", "order_id": "ord-5521"}
    fill["other_id"] = "u-8812"
    rows: list[tuple[str, Intent, re.Pattern[str]]] = []
    for table in (MESSAGES, FOLLOW_UPS):
        for intent, templates in table.items():
            for template in templates:
                parts = re.split(r"\{[a-z_]+\}", template)
                pattern = re.compile("^" + ".*".join(re.escape(p) for p in parts) + "$")
                rows.append((template.format(**fill), intent, pattern))
    sims = classifier._embed([r[0] for r in rows]) @ classifier._matrix.T
    right, misses = 0, []
    for (message, gold, pattern), row in zip(rows, sims, strict=True):
        keep = np.array([not pattern.match(t) for t in classifier._texts])
        labels = [lab for lab, k in zip(classifier._labels, keep, strict=True) if k]
        guess = classifier._vote(message, None, row[keep], labels)
        right += guess.intent == gold
        if guess.intent != gold:
            misses.append(f"{message!r}: {guess.intent} (gold {gold.value})")
    return right / len(rows), misses


def main() -> None:
    """`python -m training.retrain.intent`: the accuracy figures of docs/retraining.md."""
    from training.data.ecommerce.generator import generate_split
    from training.data.schema import Split

    classifier = default_classifier()
    for split in (Split.TEST, Split.HARD):
        examples = generate_split(split, 400, seed=7, n_refs=1)
        acc, abstained = accuracy(classifier, [(e.message, e.intent) for e in examples])
        print(
            f"generated {split.value} (seed 7, 400): accuracy {acc:.3f}, abstained {abstained:.3f}"
        )
    acc, misses = template_holdout_accuracy(classifier)
    print(f"template hold-out: accuracy {acc:.3f} ({len(misses)} misses)")
    for miss in misses:
        print("  ", miss)


if __name__ == "__main__":
    main()
