"""Store what the reply guard saw and did with each assistant turn.

On assistant rows of `messages`: the inferred intent of the shopper's message (NULL when
the classifier abstained), whether the policy's own reply passed every check
(`guard_passed`), the intervention (`none`, `resample`, `fallback`; NULL when the guard
was off), the policy's own reply when it was replaced (`raw_reply`, the rejected side of
a retraining pair) and the raw verdict per check as JSON (`guard`).
The A/B report reads them per variant: raw constraint satisfaction and intervention rate.

Revision ID: 0004_reply_guard
Revises: 0003_turn_context_snapshot
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_reply_guard"
down_revision: str | None = "0003_turn_context_snapshot"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("intent", sa.String(32), nullable=True))
        batch.add_column(sa.Column("guard_passed", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("intervention", sa.String(16), nullable=True))
        batch.add_column(sa.Column("raw_reply", sa.Text(), nullable=True))
        batch.add_column(sa.Column("guard", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("guard")
        batch.drop_column("raw_reply")
        batch.drop_column("intervention")
        batch.drop_column("guard_passed")
        batch.drop_column("intent")
