"""Store each user turn's storefront context and profile snapshot (for retraining).

Both columns are nullable JSON on `messages`, set on user rows only: what the storefront
showed (items, prices, order) and the profile the reply reasoned over, so a logged turn
can be relabelled with `app.domain.rules.decide` later (`more retrain`). Rows written
before this revision keep NULL and are skipped by the export.

Revision ID: 0003_turn_context_snapshot
Revises: 0002_experiment_assignments
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_turn_context_snapshot"
down_revision: str | None = "0002_experiment_assignments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("context", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("profile_snapshot", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("profile_snapshot")
        batch.drop_column("context")
