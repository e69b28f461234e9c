"""The admin audit trail: every admin or operator change is recorded with who made it,
in the same transaction as the change (so a rolled-back change leaves no entry)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.logging import request_id_var
from app.core.security import Principal
from app.store import audit as repo


async def record_change(
    db: AsyncSession,
    *,
    principal: Principal,
    action: str,
    storefront_id: str | None,
    target: str | None,
    before: Any = None,
    after: Any = None,
) -> None:
    """Add one audit entry to the caller's transaction.

    Args:
        principal: who made the change (its key name is recorded).
        action: a dotted verb, e.g. `profile.put`, `policy.promote`, `apikey.rotate`.
        storefront_id: the storefront the change concerns; None for global changes.
        target: what was changed (a user id, experiment name, policy version, key name).
        before: the state before as JSON-ready data (None: it did not exist).
        after: the state after (None: it no longer exists). Never a secret.
    """
    await repo.add_entry(
        db,
        entry=repo.AuditEntry(
            storefront_id=storefront_id,
            actor=principal.key_name,
            action=action,
            target=target,
            request_id=request_id_var.get(),
            before=before,
            after=after,
        ),
    )
