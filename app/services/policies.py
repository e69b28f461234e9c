"""Which policy (variant, version, adapter) answers a turn.

The default: the configured adapter on the base model, or the base model alone, for
every storefront. A/B experiments plug in here by implementing `PolicyResolver` (per
storefront, sticky by user; a session keeps the policy it started with).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, replace
from pathlib import Path

from app.engine.base import Adapter

DEFAULT_VARIANT = "default"


@dataclass(frozen=True)
class Policy:
    """A servable policy: what the reply reports and which adapter generates it."""

    variant: str  # experiment arm ("default" outside experiments); a bounded metric label
    version: str  # policy version name, e.g. "base" or "more-v1"
    adapter: Adapter | None  # None: the base model
    experiment: str | None = None


class PolicyResolver(abc.ABC):
    """Chooses the policy for a user's turn."""

    @abc.abstractmethod
    async def resolve(
        self,
        *,
        storefront_id: str,
        user_id: str,
        session_variant: str | None = None,
        session_policy_version: str | None = None,
    ) -> Policy:
        """The policy for this turn of a storefront's shopper; an existing session passes
        the policy it started with."""

    async def adapters(self) -> list[Adapter]:
        """Adapters the engine must have loaded before serving."""
        return []


class DefaultPolicyResolver(PolicyResolver):
    """One policy for everyone: the configured adapter, or the base model."""

    def __init__(self, *, version: str, adapter_path: str | None) -> None:
        adapter = None
        if adapter_path:
            # Absolute, as the registry stores versions: the embedded A/B serves this same
            # folder as a variant, and a relative path made it look like another one.
            adapter = Adapter(name=version, path=str(Path(adapter_path).expanduser().resolve()))
        self.policy = Policy(variant=DEFAULT_VARIANT, version=version, adapter=adapter)

    async def resolve(
        self,
        *,
        storefront_id: str,
        user_id: str,
        session_variant: str | None = None,
        session_policy_version: str | None = None,
    ) -> Policy:
        return self.policy

    async def adapters(self) -> list[Adapter]:
        return [self.policy.adapter] if self.policy.adapter else []

    def serve_merged(self) -> None:
        """The engine's weights already hold this policy's adapter: request none."""
        self.policy = replace(self.policy, adapter=None)
