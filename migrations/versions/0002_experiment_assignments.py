"""Experiment allocations (versioned slot ranges) and sticky per-user assignments; indexes
for experiment reports.

Revision ID: 0002_experiment_assignments
Revises: 0001_initial
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_experiment_assignments"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "experiment_allocations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("weights", sa.JSON(), nullable=False),
        sa.Column("ranges", sa.JSON(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name="fk_experiment_allocations_experiment_id_experiments",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_experiment_allocations"),
        sa.UniqueConstraint(
            "experiment_id", "version", name="uq_experiment_allocations_experiment_version"
        ),
    )
    op.create_table(
        "experiment_assignments",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("variant", sa.String(64), nullable=False),
        sa.Column("allocation_version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name="fk_experiment_assignments_experiment_id_experiments",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_experiment_assignments"),
        sa.UniqueConstraint(
            "experiment_id", "user_id", name="uq_experiment_assignments_experiment_user"
        ),
    )
    op.create_index("ix_sessions_experiment", "sessions", ["experiment"])
    op.create_index("ix_events_experiment", "events", ["experiment"])


def downgrade() -> None:
    op.drop_index("ix_events_experiment", table_name="events")
    op.drop_index("ix_sessions_experiment", table_name="sessions")
    op.drop_table("experiment_assignments")
    op.drop_table("experiment_allocations")
