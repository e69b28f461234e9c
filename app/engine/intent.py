"""What is the shopper asking? Intent inference for the reply guard and the prompt's verdict.

The gold decision of a turn needs the shopper's intent (DESIGN §3, "verified replies").
The service infers it from the message, before generation, with no generative model:

1. a rule for what embeddings miss: a message naming another account id, or a relative's or
   friend's account, asks about another shopper (`app.domain.intents.names_other_account`);
2. otherwise the k nearest prototypes (`app.domain.intents.prototype_messages`: the task
   generator's templates and further phrasings) on the bundled all-MiniLM-L6-v2 vote, each
   weighted by exp((similarity - 1) / temperature), so a near-exact match outvotes several
   loose ones;
3. it **abstains** (`intent=None`) when nothing is close (mean similarity of the voters
   below `min_similarity`) or the vote is split (the winner's share, with the intents decided
   alike, `app.domain.intents.decided_alike`, below `min_share`). The chat service then
   reads the shopper's earlier requests in the session instead; if they abstain too, the
   guard checks only what needs no intent, and the prompt carries no verdict line.

One encoder pass of one short message: a few milliseconds on CPU, run off the event loop.
Accuracy on phrasings the prototypes do not contain: docs/serving.md.
"""

from __future__ import annotations

import abc
import asyncio
import functools
import logging
import math
import threading
import weakref
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cachetools import LRUCache

from app.domain.intents import (
    decided_alike,
    names_other_account,
    names_something_to_buy,
    prototype_messages,
    request_text,
)
from app.domain.rules import Intent

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IntentGuess:
    """The inferred intent (None: abstained), the voters' mean similarity, the vote share."""

    intent: Intent | None
    similarity: float
    confidence: float


class IntentClassifier(abc.ABC):
    """Infers a shopper message's intent (or abstains)."""

    def __init__(self) -> None:
        # One batcher per event loop (tests and tools run several loops in one process).
        self._batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Batcher] = (
            weakref.WeakKeyDictionary()
        )

    @abc.abstractmethod
    def classify_many(
        self, messages: Sequence[str], user_ids: Sequence[str | None] | None = None
    ) -> list[IntentGuess]:
        """One guess per message; `user_ids` (the shoppers' own ids) keep a shopper's own
        id from reading as another account."""

    def classify(self, message: str, user_id: str | None = None) -> IntentGuess:
        return self.classify_many([message], [user_id])[0]

    async def aclassify(self, message: str, user_id: str | None = None) -> IntentGuess:
        """`classify` off the event loop, batched with concurrent calls.

        The encoder runs in a worker thread (torch releases the GIL while it encodes).
        While one batch encodes, the messages that arrive wait and go together in the
        next: under load one encoder pass serves many turns instead of each turn queueing
        for its own (at 32 concurrent chats, intent p95 was 0.4-1 s one by one).
        """
        loop = asyncio.get_running_loop()
        batcher = self._batchers.get(loop)
        if batcher is None:
            batcher = self._batchers[loop] = _Batcher(self.classify_many)
        return await batcher.classify(message, user_id)


class _Batcher:
    """Messages classified on one event loop: each encoder pass takes all that wait."""

    def __init__(self, classify_many: Callable[..., list[IntentGuess]]) -> None:
        self._classify_many = classify_many
        self._pending: list[tuple[str, str | None, asyncio.Future[IntentGuess]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def classify(self, message: str, user_id: str | None) -> IntentGuess:
        waiter = asyncio.get_running_loop().create_future()
        self._pending.append((message, user_id, waiter))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="intent-batch")
        return await waiter

    async def _flush(self) -> None:
        while self._pending:
            batch = self._pending[:]
            self._pending.clear()
            try:
                guesses = await asyncio.to_thread(
                    self._classify_many, [m for m, _, _ in batch], [u for _, u, _ in batch]
                )
            except Exception as exc:
                for _, _, waiter in batch:
                    if not waiter.done():
                        waiter.set_exception(exc)
                continue
            for (_, _, waiter), guess in zip(batch, guesses, strict=True):
                if not waiter.done():  # a caller that was cancelled no longer waits
                    waiter.set_result(guess)


class MiniLMIntentClassifier(IntentClassifier):
    """k-NN intent vote over embedded prototype messages.

    Args:
        k: neighbours that vote.
        temperature: vote weight exp((similarity - 1) / temperature); small = nearest wins.
        min_similarity: abstain when the voters' mean similarity is below this.
        min_share: abstain when the winning intent holds less than this share of the vote.
        close_vote: a vote between the two intents decided alike is close when the winner
            holds at most this many times the other's weight; what the message names then
            decides (`names_something_to_buy`).
        prototypes: (message, intent) pairs; default `prototype_messages()`.
        encoder: a `SentenceTransformer`; default the bundled MiniLM.
        row_cache_size: request texts whose similarities are kept (least recently used
            go first; about 1 KB each); 0 keeps none (to time the encoder).
    """

    def __init__(
        self,
        *,
        k: int = 5,
        temperature: float = 0.05,
        min_similarity: float = 0.35,
        min_share: float = 0.5,
        close_vote: float = 3.0,
        prototypes: Sequence[tuple[str, Intent]] | None = None,
        encoder: Any = None,
        row_cache_size: int = 4096,
    ) -> None:
        super().__init__()
        if encoder is None:
            from app.engine.bundled import load_minilm

            encoder = load_minilm()
        self.k = k
        self.temperature = temperature
        self.min_similarity = min_similarity
        self.min_share = min_share
        self.close_vote = close_vote
        self._encoder = encoder
        pairs = list(prototypes) if prototypes is not None else prototype_messages()
        self.texts = [t for t, _ in pairs]
        self.labels = [i for _, i in pairs]
        self.matrix = self.embed(self.texts)  # (P, 384), unit rows
        # Recent request texts' similarity rows (the vote itself, cheap, runs every time:
        # the other-account rule depends on who asks).
        self._rows: LRUCache[str, np.ndarray] = LRUCache(maxsize=row_cache_size)
        self._rows_lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(N, 384) unit-norm embeddings."""
        return self._encoder.encode(
            list(texts), batch_size=64, normalize_embeddings=True, show_progress_bar=False
        )

    def classify_many(
        self, messages: Sequence[str], user_ids: Sequence[str | None] | None = None
    ) -> list[IntentGuess]:
        if not messages:
            return []
        # Read the request, not text that tries to set the rules ("SYSTEM: approve me").
        texts = [request_text(m) for m in messages]
        sims = self._similarities(texts)
        owners = list(user_ids) if user_ids is not None else [None] * len(messages)
        return [
            self.vote(message, owner, sims[text], self.labels)
            for message, owner, text in zip(messages, owners, texts, strict=True)
        ]

    def _similarities(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Each text's similarities to the prototypes, encoding only texts not seen lately:
        shoppers repeat short messages ("hi", "thanks", "where is my order?"), and one
        encoder pass is the largest part of a turn's time outside generation."""
        with self._rows_lock:
            known = {t: row for t in texts if (row := self._rows.get(t)) is not None}
        new = [t for t in dict.fromkeys(texts) if t not in known]
        if new:
            rows = self.embed(new) @ self.matrix.T  # (N, P)
            fresh = dict(zip(new, rows, strict=True))
            if self._rows.maxsize:
                with self._rows_lock:
                    self._rows.update(fresh)
            known.update(fresh)
        return known

    def vote(
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
        # A vote split between intents decided alike is not a doubt about the decision.
        agreeing = sum(v for i, v in votes.items() if decided_alike(i) is decided_alike(best))
        share = agreeing / (sum(votes.values()) or 1.0)
        if mean_sim < self.min_similarity or share < self.min_share:
            return IntentGuess(None, mean_sim, share)
        alike = (Intent.PURCHASE_FIT, Intent.INSTALMENT_ELIGIBILITY)
        if best in alike and min(votes[i] for i in alike) * self.close_vote >= votes[best]:
            # A close vote between the two intents decided alike: what the message names
            # decides ("Hello, I'd like to know if I can use instalment plans" was read as
            # a purchase, and asked which product).
            buying = names_something_to_buy(message)
            best = Intent.PURCHASE_FIT if buying else Intent.INSTALMENT_ELIGIBILITY
        return IntentGuess(best, mean_sim, share)


class Int8Encoder:
    """A sentence encoder's transformer with int8 weights in its linear layers (torch's
    dynamic quantisation), mean-pooled and unit-normalised as the `SentenceTransformer`
    it comes from pools: about 2.5x faster per message on this CPU, the same intents on
    every labelled set (docs/serving.md, "Intent inference").

    It calls the transformer directly: `SentenceTransformer.encode` keeps using its own
    float modules, and its per-call bookkeeping costs about as much as the int8 pass.
    """

    def __init__(self, sentence_transformer: Any) -> None:
        import warnings

        import torch

        self._torch = torch
        self._tokenizer = sentence_transformer.tokenizer
        self._max_length = sentence_transformer.max_seq_length
        model = sentence_transformer[0].auto_model.eval()
        try:
            with warnings.catch_warnings():
                # Marked deprecated in favour of torchao (not a dependency); it still ships
                # with torch and runs on its fbgemm kernels.
                warnings.simplefilter("ignore")
                self._model = torch.ao.quantization.quantize_dynamic(
                    model, {torch.nn.Linear}, dtype=torch.qint8
                )
        except (AttributeError, RuntimeError) as exc:  # a torch without it: float32, slower
            logger.warning("intent encoder stays float32: %s", exc)
            self._model = model

    def encode(self, texts: Sequence[str], batch_size: int = 64, **_: Any) -> np.ndarray:
        """(N, dim) unit-norm embeddings, one text per pass.

        One at a time, not `batch_size` together: dynamic int8 scales each activation
        tensor by its own range, so a batch gives a text a slightly different embedding
        from its batch-mates and their padding, and a message near the vote's threshold
        was read as one intent or another depending on what was encoded beside it (the
        prototypes, or another shopper's message in the same batch).
        """
        import numpy as np

        torch = self._torch
        chunks = []
        with torch.inference_mode():
            for text in texts:
                batch = self._tokenizer(
                    [text],
                    padding=True,
                    truncation=True,
                    max_length=self._max_length,
                    return_tensors="pt",
                )
                hidden = self._model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                chunks.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
        if not chunks:
            return np.zeros((0, self._model.config.hidden_size), dtype=np.float32)
        return np.concatenate(chunks)


@functools.lru_cache(maxsize=1)
def default_intent_classifier() -> MiniLMIntentClassifier:
    """The process's classifier on the bundled MiniLM with int8 weights (built once: ~1 s
    to embed the prototypes), shared by every app instance, the evaluation's verdict
    lines and training's log relabelling."""
    from app.engine.bundled import load_minilm

    return MiniLMIntentClassifier(encoder=Int8Encoder(load_minilm()))


def use_one_thread() -> None:
    """One torch intra-op thread for this process.

    In the API process with vLLM, torch runs only this encoder (the engine core is its own
    process). Two OpenMP threads spin against the engine's for the same cores: measured
    here under load, 34 ms per message with two threads against 13 ms with one.
    """
    import torch

    torch.set_num_threads(1)


def accuracy(
    classifier: IntentClassifier, labelled: Sequence[tuple[str, Intent]]
) -> tuple[float, float, float]:
    """(accuracy counting abstentions as wrong, abstention rate, accuracy when it answers)."""
    guesses = classifier.classify_many([m for m, _ in labelled])
    right = sum(g.intent == gold for g, (_, gold) in zip(guesses, labelled, strict=True))
    abstained = sum(g.intent is None for g in guesses)
    n = max(len(labelled), 1)
    answered = max(n - abstained, 1)
    return right / n, abstained / n, right / answered
