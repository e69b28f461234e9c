"""MORE: constrained GRPO with Lagrange multipliers and adaptive linguistic weights.

Small modules, each testable without a model (`multipliers`, `normalisation`,
`weighting`, `combine`, `scaffold`); `trainer` wires them into TRL's `GRPOTrainer`.
Heavy imports (torch, trl) stay inside the modules that need them.
"""
