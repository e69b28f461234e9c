"""`MoreTrainer`: TRL's `GRPOTrainer` with MORE's advantages, multipliers and weights.

Only three override points of `trl==1.16.0` are used; generation, the clipped surrogate
loss, the KL term, accelerate/DeepSpeed and checkpointing stay TRL's:

* `_calculate_rewards`: unchanged, but the (B, F) matrix of every reward and reasoning
  score (gathered over processes) is kept for the step.
* `_generate_and_score_completions`: after TRL has generated and scored, the advantages are
  replaced by the MORE signal (group-normalise each column, combine with w and λ); then λ
  takes its dual step and, every M steps, w is updated from per-reward policy gradients.
  The reference log-probs are recomputed conditioned on the gold reasoning (scaffold.py).
* `_save_checkpoint` / `_load_optimizer_and_scheduler`: λ and w travel with checkpoints.

Column order is fixed by `MoreConfig.reward_names`: constraints first, then linguistic.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from accelerate.utils import is_peft_model
from trl import GRPOTrainer
from trl.trainer.utils import use_adapter

from app.domain.prompt import strip_reasoning
from training.more.combine import combine_advantages
from training.more.config import MoreConfig
from training.more.multipliers import ConstraintMultiplier, Multipliers
from training.more.normalisation import group_normalise, nan_mean
from training.more.scaffold import build_conditioned_inputs, reasoning_prefix
from training.more.weighting import AdaptiveWeights
from training.rewards.base import as_example

STATE_FILE = "more_state.json"


def served_completion(completion: Any) -> Any:
    """The completion with any reasoning block removed, in the same (plain/chat) shape."""
    if isinstance(completion, str):
        return strip_reasoning(completion)
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        last = {
            **completion[-1],
            "content": strip_reasoning(str(completion[-1].get("content", ""))),
        }
        return [*completion[:-1], last]
    return completion


class MoreTrainer(GRPOTrainer):
    """GRPO whose advantages are MORE's constrained, adaptively weighted signal.

    Args:
        model: a model path, a `PreTrainedModel`, or a `PeftModel` (e.g. the stage-1
            scaffold loaded trainable; TRL then keeps a frozen "ref" copy as reference).
        reward_funcs: callables in `args.reward_names` order (constraints, then linguistic).
        args: a `MoreConfig`.
        **kwargs: passed to `GRPOTrainer` (train_dataset, processing_class, peft_config, ...).
    """

    def __init__(
        self, model: Any, reward_funcs: list[Any], args: MoreConfig, **kwargs: Any
    ) -> None:
        if not isinstance(args, MoreConfig):
            raise TypeError("MoreTrainer needs a MoreConfig (training.more.config)")
        if len(reward_funcs) != len(args.reward_names):
            raise ValueError(
                f"{len(reward_funcs)} reward functions for {len(args.reward_names)} names "
                "in the config "
                "(constraint_rewards then linguistic_rewards)"
            )
        super().__init__(model=model, reward_funcs=reward_funcs, args=args, **kwargs)
        self.more_args = args
        self.n_constraints = len(args.constraint_rewards)
        self.constraint_names = self.reward_func_names[: self.n_constraints]
        self.linguistic_names = self.reward_func_names[self.n_constraints :]
        self.multipliers = Multipliers(
            [
                ConstraintMultiplier(
                    name,
                    target=tau,
                    lr=args.lambda_lr,
                    init=args.lambda_init,
                    max_value=args.lambda_max,
                    min_value=args.lambda_min,
                    warmup_steps=args.lambda_warmup_steps,
                    window=args.lambda_window,
                )
                for name, tau in zip(self.constraint_names, args.targets, strict=True)
            ]
        )
        self.weights = (
            AdaptiveWeights(
                self.linguistic_names,
                rule=args.weighting if args.adaptive else "fixed",  # type: ignore[arg-type]
                lr=args.weight_lr,
                floor=args.weight_floor,
                init=args.initial_weights,
            )
            if self.linguistic_names
            else None
        )
        self._rewards_per_func: torch.Tensor | None = None
        self._prefix_cache: dict[tuple[str, ...], list[int]] = {}
        self._more_updates = 0

    # -- rewards --------------------------------------------------------------------------

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):  # type: ignore[no-untyped-def]
        if self.more_args.score_served_reply:
            # Score what serving would show: a reasoning block is stripped, one that never
            # closes leaves an empty reply. So reasoning only costs budget, never earns.
            completions = [served_completion(c) for c in completions]
        rewards = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        self._rewards_per_func = rewards  # (B_all, F), gathered over processes
        return rewards

    def more_advantages(self, rewards: torch.Tensor, group_size: int) -> torch.Tensor:
        """(B, F) raw scores -> (B,) MORE advantages under the current λ and w."""
        normed = group_normalise(rewards, group_size)
        constraints = normed[:, : self.n_constraints]
        linguistic = normed[:, self.n_constraints :]
        w = self.weights.weights if self.weights is not None else torch.zeros(0)
        if self.more_args.mode == "no_constraints":
            coefs = torch.full((self.n_constraints,), self.more_args.reasoning_coef)
            return combine_advantages(linguistic, w, constraints, coefs, scale_by_multipliers=False)
        lam = torch.tensor(self.multipliers.values, dtype=torch.float32)
        advantages = combine_advantages(linguistic, w, constraints, lam)
        if self.more_args.restandardise:
            # Every column was normalised, but their weighted sum is not: at λ ≈ 3 its
            # spread shrinks and the decision constraint is pushed about half as hard as
            # in the mixed baseline. Unit spread per batch keeps the step size comparable.
            advantages = advantages / advantages.std().clamp(min=1e-4)
        return advantages

    # -- the step -------------------------------------------------------------------------

    def _generate_and_score_completions(self, inputs):  # type: ignore[no-untyped-def]
        mode = "train" if self.model.training else "eval"
        conditioned = (
            self.beta != 0.0 and self.more_args.reference_conditioning and "example" in inputs[0]
        )
        beta = self.beta
        if conditioned:
            # TRL would score the reference on the bare prompt; skip that pass and do ours.
            self.beta = 0.0
        try:
            output = super()._generate_and_score_completions(inputs)
        finally:
            self.beta = beta
        if conditioned:
            output["ref_per_token_logps"] = self._conditioned_reference_logps(inputs, output)

        rewards = self._rewards_per_func
        assert rewards is not None  # set by _calculate_rewards during the super() call
        group_size = self.num_generations if mode == "train" else self.num_generations_eval
        metrics = self._metrics[mode]
        constraint_means = nan_mean(rewards[:, : self.n_constraints]).tolist()
        for name, value in zip(self.constraint_names, constraint_means, strict=True):
            metrics[f"constraints/{name}/mean"].append(value)
        if constraint_means:
            metrics["constraints/overall/mean"].append(
                float(torch.tensor(constraint_means).nanmean())
            )

        if self.more_args.mode != "mixed":
            advantages = self.more_advantages(rewards, group_size).to(output["advantages"].device)
            local = slice(
                self.accelerator.process_index * len(inputs),
                (self.accelerator.process_index + 1) * len(inputs),
            )
            output["advantages"] = advantages[local]
            metrics["more/advantage_std"].append(advantages.std().item())

        if mode == "train":
            if self.more_args.mode in ("more", "no_adaptive"):
                self.multipliers.update(constraint_means)
            if (
                self.weights is not None
                and self.more_args.mode != "mixed"
                and self.more_args.adaptive
                and self._more_updates % self.more_args.weight_update_interval == 0
            ):
                grads = self._per_reward_gradients(output, rewards, group_size, inputs)
                self.weights.update(grads)
            self._more_updates += 1
        if self.more_args.mode in ("more", "no_adaptive"):
            for key, value in self.multipliers.metrics().items():
                metrics[key].append(value)
        if self.weights is not None and self.more_args.mode != "mixed":
            for key, value in self.weights.metrics().items():
                metrics[key].append(value)
        return output

    # -- adaptive weights: per-reward policy gradients ---------------------------------------

    def _per_reward_gradients(
        self, output: dict[str, Any], rewards: torch.Tensor, group_size: int, inputs: list[Any]
    ) -> torch.Tensor:
        """(J, P) gradients of each linguistic reward's surrogate over the trainable parameters.

        Surrogate for reward j at the sampling policy (ratio 1, so the clip is inactive):
        L_j = mean_i A_ij * mean_t log π(y_it), with A_ij that reward's group-normalised score.
        Per chunk of rows, one forward with gradients and J backward passes through
        `torch.autograd.grad`, summed over chunks (the parameters' `.grad` stays untouched,
        so the optimiser step is unaffected).
        """
        local = slice(
            self.accelerator.process_index * len(inputs),
            (self.accelerator.process_index + 1) * len(inputs),
        )
        adv = group_normalise(rewards, group_size)[local, self.n_constraints :]  # (B, J)
        params = [p for p in self.model.parameters() if p.requires_grad]
        ids = torch.cat([output["prompt_ids"], output["completion_ids"]], dim=1)
        mask = torch.cat([output["prompt_mask"], output["completion_mask"]], dim=1)
        completion_mask = output["completion_mask"].float()
        model = self.accelerator.unwrap_model(self.model)
        completion_ids = output["completion_ids"]
        width = completion_ids.size(1)
        total = max(ids.size(0), 1)
        chunk = max(self.args.per_device_train_batch_size, 1)
        flat = [None] * adv.shape[1]
        # Row chunks of one micro-batch: a forward with gradients over the whole generation
        # batch (32 completions x ~180 tokens) peaks near 18 GB on this CPU.
        for lo in range(0, ids.size(0), chunk):
            rows = slice(lo, lo + chunk)
            with torch.enable_grad():
                # A plain forward that projects only the completion positions through the
                # LM head: cheaper to differentiate J times than TRL's chunked kernel.
                logits = model(
                    input_ids=ids[rows], attention_mask=mask[rows], logits_to_keep=width + 1
                ).logits
                logits = logits[:, :-1, :] / self.temperature  # (b, C, V): t predicts t+1
                logps = torch.log_softmax(logits.float(), dim=-1)
                logps = logps.gather(-1, completion_ids[rows].unsqueeze(-1)).squeeze(-1)  # (b, C)
                cmask = completion_mask[rows]
                seq_logp = (logps * cmask).sum(1) / cmask.sum(1).clamp(min=1.0)  # (b,)
                for j in range(adv.shape[1]):
                    # Sum over chunks of the batch mean: each chunk adds its rows / total.
                    surrogate = (adv[rows, j].to(seq_logp.device) * seq_logp).sum() / total
                    grads = torch.autograd.grad(
                        surrogate, params, retain_graph=j < adv.shape[1] - 1, allow_unused=True
                    )
                    part = torch.cat(
                        [
                            (g if g is not None else torch.zeros_like(p)).reshape(-1)
                            for g, p in zip(grads, params, strict=True)
                        ]
                    ).detach()
                    flat[j] = part if flat[j] is None else flat[j] + part  # type: ignore[operator]
        stacked = torch.stack(flat).detach()  # (J, P)
        # Every process scored different prompts: average so all ranks apply the same update.
        return self.accelerator.reduce(stacked, reduction="mean").cpu()

    # -- scaffold reference ------------------------------------------------------------------

    def _prefix_ids(self, reasoning: list[str]) -> list[int]:
        key = tuple(reasoning)
        if key not in self._prefix_cache:
            text = reasoning_prefix(reasoning)
            self._prefix_cache[key] = self._tokenizer(text, add_special_tokens=False)["input_ids"]
        return self._prefix_cache[key]

    @torch.no_grad()
    def _conditioned_reference_logps(
        self, inputs: list[Any], output: dict[str, Any]
    ) -> torch.Tensor:
        """Reference per-token log-probs of each reply given the prompt and its gold reasoning."""
        examples = [as_example(x["example"]) for x in inputs]
        prefixes = [self._prefix_ids(ex.reasoning) for ex in examples]
        # The scaffold learned to reason under the marker prompt: condition it the same way.
        prompt_ids, prompt_mask = self._marker_prompts(examples, output["prompt_ids"])
        ids, mask = build_conditioned_inputs(
            prompt_ids,
            prompt_mask,
            prefixes,
            output["completion_ids"],
            output["completion_mask"],
            self._tokenizer.pad_token_id,
        )
        keep = output["completion_ids"].size(1)
        batch_size = self.args.per_device_train_batch_size
        if self.ref_model is not None:
            logps, _, _ = self._get_per_token_logps_and_entropies(
                self.ref_model, ids, mask, keep, batch_size=batch_size
            )
            return logps
        model = self.accelerator.unwrap_model(self.model)
        adapter = "ref" if is_peft_model(model) and "ref" in model.peft_config else None
        with use_adapter(model, adapter_name=adapter):
            logps, _, _ = self._get_per_token_logps_and_entropies(
                self.model, ids, mask, keep, batch_size=batch_size
            )
        return logps

    def _marker_prompts(
        self, examples: list[Any], like: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, P) left-padded ids and mask of each example's scaffold prompt (the served
        prompt plus `REASONING_MARKER`), on the device and dtype of `like`."""
        rows = [
            self._tokenizer.apply_chat_template(
                ex.messages(reasoning=True), tokenize=True, add_generation_prompt=True
            )
            for ex in examples
        ]
        rows = [r["input_ids"] if isinstance(r, dict) or hasattr(r, "keys") else r for r in rows]
        width = max(len(r) for r in rows)
        pad = self._tokenizer.pad_token_id
        ids = torch.full((len(rows), width), pad, dtype=like.dtype, device=like.device)
        mask = torch.zeros((len(rows), width), dtype=torch.long, device=like.device)
        for i, r in enumerate(rows):
            ids[i, width - len(r) :] = torch.tensor(r, dtype=like.dtype, device=like.device)
            mask[i, width - len(r) :] = 1
        return ids, mask

    # -- checkpoints ------------------------------------------------------------------------

    def more_state(self) -> dict[str, Any]:
        return {
            "multipliers": self.multipliers.state_dict(),
            "weights": self.weights.state_dict() if self.weights is not None else None,
            "updates": self._more_updates,
        }

    def _save_checkpoint(self, model, trial):  # type: ignore[no-untyped-def]
        super()._save_checkpoint(model, trial)
        if self.args.should_save:
            folder = (
                Path(self._get_output_dir(trial=trial)) / f"checkpoint-{self.state.global_step}"
            )
            folder.mkdir(parents=True, exist_ok=True)
            (folder / STATE_FILE).write_text(json.dumps(self.more_state(), indent=2))

    def _load_optimizer_and_scheduler(self, checkpoint):  # type: ignore[no-untyped-def]
        super()._load_optimizer_and_scheduler(checkpoint)
        if checkpoint is not None and (Path(checkpoint) / STATE_FILE).exists():
            state = json.loads((Path(checkpoint) / STATE_FILE).read_text())
            self.multipliers.load_state_dict(state["multipliers"])
            if self.weights is not None and state.get("weights"):
                self.weights.load_state_dict(state["weights"])
            self._more_updates = int(state.get("updates", 0))
