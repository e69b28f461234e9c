"""Storefront tenancy, key rotation, event idempotency by payload, and the admin audit.

* `storefronts` (id, name, created_at) with one row, `default`, that every existing row
  and key is attached to (the server default of each new `storefront_id` column).
* `storefront_id` on api_keys, profiles (the primary key becomes (storefront_id,
  user_id); sessions reference it), sessions, events, experiments, experiment
  assignments and idempotency records; their uniqueness constraints include it.
* api_keys: `scope` holds space-separated scopes (existing admin keys become
  `admin operator`, keeping the registry rights they had); the previous hash of a rotated
  key and when it expires.
* events: `origin` (`client` | `server`: server-made ids such as `takeover:<session>`
  live in their own namespace; existing rows with those prefixes are marked `server`)
  and `request_hash` (the same client id with another body is a conflict; NULL for
  rows stored before, which then replay as duplicates).
* `admin_audit`: who changed what, when, before and after.
* an index on messages.created_at for the retention purge.

SQLite runs with foreign keys off during migrations (migrations/env.py): batch mode
rebuilds tables, and dropping a parent table with enforcement on would cascade.

Downgrade refuses while rows of another storefront exist (their user ids may collide).

Revision ID: 0005_storefronts
Revises: 0004_reply_guard
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_storefronts"
down_revision: str | None = "0004_reply_guard"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT = "default"
BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Tables that gain a plain `storefront_id` foreign key to storefronts.
_OWNED = ("api_keys", "events", "experiments", "experiment_assignments", "idempotency_records")
_SERVER_ID_PREFIXES = ("policy-handoff:", "takeover:")


def _storefront_column() -> sa.Column:
    return sa.Column("storefront_id", sa.String(64), nullable=False, server_default=DEFAULT)


def upgrade() -> None:
    storefronts = op.create_table(
        "storefronts",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_storefronts"),
    )
    op.bulk_insert(storefronts, [{"id": DEFAULT, "name": "Default storefront"}])

    for table in _OWNED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(_storefront_column())
            batch.create_foreign_key(
                f"fk_{table}_storefront_id_storefronts", "storefronts", ["storefront_id"], ["id"]
            )

    with op.batch_alter_table("api_keys") as batch:
        batch.alter_column("scope", type_=sa.String(64), existing_nullable=False)
        batch.add_column(sa.Column("previous_key_hash", sa.String(64), nullable=True))
        batch.add_column(
            sa.Column("previous_key_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_api_keys_previous_key_hash", ["previous_key_hash"])
    # Admin keys managed the registry before it needed the operator scope: keep that.
    op.execute("UPDATE api_keys SET scope = 'admin operator' WHERE scope = 'admin'")

    # The profiles key becomes (storefront_id, user_id): drop the sessions' reference to
    # the old key first, then re-point it at the new one.
    with op.batch_alter_table("sessions") as batch:
        batch.drop_constraint("fk_sessions_user_id_profiles", type_="foreignkey")
        batch.drop_index("ix_sessions_user_id")
    with op.batch_alter_table("profiles") as batch:
        batch.add_column(_storefront_column())
        batch.drop_constraint("pk_profiles", type_="primary")
        batch.create_primary_key("pk_profiles", ["storefront_id", "user_id"])
        batch.create_foreign_key(
            "fk_profiles_storefront_id_storefronts", "storefronts", ["storefront_id"], ["id"]
        )
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(_storefront_column())
        batch.create_index("ix_sessions_storefront_id_user_id", ["storefront_id", "user_id"])
        batch.create_foreign_key(
            "fk_sessions_storefront_id_profiles",
            "profiles",
            ["storefront_id", "user_id"],
            ["storefront_id", "user_id"],
        )

    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("origin", sa.String(8), nullable=False, server_default="client"))
        batch.add_column(sa.Column("request_hash", sa.String(64), nullable=True))
        batch.drop_constraint("uq_events_client_event_id", type_="unique")
        batch.create_unique_constraint(
            "uq_events_storefront_origin_id", ["storefront_id", "origin", "client_event_id"]
        )
        batch.drop_index("ix_events_user_id")
        batch.create_index("ix_events_storefront_id_user_id", ["storefront_id", "user_id"])
    for prefix in _SERVER_ID_PREFIXES:
        op.execute(
            sa.text("UPDATE events SET origin = 'server' WHERE client_event_id LIKE :p").bindparams(
                p=prefix + "%"
            )
        )

    with op.batch_alter_table("experiments") as batch:
        batch.drop_constraint("uq_experiments_name", type_="unique")
        batch.create_unique_constraint("uq_experiments_storefront_name", ["storefront_id", "name"])
    with op.batch_alter_table("experiment_assignments") as batch:
        batch.drop_constraint("uq_experiment_assignments_experiment_user", type_="unique")
        batch.create_unique_constraint(
            "uq_experiment_assignments_storefront_user_experiment",
            ["storefront_id", "user_id", "experiment_id"],
        )
        batch.create_index("ix_experiment_assignments_experiment_id", ["experiment_id"])
    with op.batch_alter_table("idempotency_records") as batch:
        batch.drop_constraint("uq_idempotency_records_owner_key", type_="unique")
        batch.create_unique_constraint(
            "uq_idempotency_records_storefront_owner_key", ["storefront_id", "owner", "key"]
        )

    op.create_index("ix_messages_created_at", "messages", ["created_at"])

    op.create_table(
        "admin_audit",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("storefront_id", sa.String(64), nullable=True),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(256), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["storefront_id"], ["storefronts.id"], name="fk_admin_audit_storefront_id_storefronts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_admin_audit"),
    )
    op.create_index("ix_admin_audit_created_at", "admin_audit", ["created_at"])
    op.create_index(
        "ix_admin_audit_storefront_id_target", "admin_audit", ["storefront_id", "target"]
    )


def downgrade() -> None:
    bind = op.get_bind()
    for table in ("api_keys", "profiles", "experiments"):
        others = bind.execute(
            sa.text(f"SELECT count(*) FROM {table} WHERE storefront_id <> :d"), {"d": DEFAULT}
        ).scalar()
        if others:
            raise RuntimeError(
                f"cannot downgrade below 0005_storefronts: {table} holds rows of storefronts "
                "other than 'default' (their ids may collide without the storefront); erase "
                "or move them first"
            )

    op.drop_index("ix_admin_audit_storefront_id_target", table_name="admin_audit")
    op.drop_index("ix_admin_audit_created_at", table_name="admin_audit")
    op.drop_table("admin_audit")
    op.drop_index("ix_messages_created_at", table_name="messages")

    with op.batch_alter_table("idempotency_records") as batch:
        batch.drop_constraint("uq_idempotency_records_storefront_owner_key", type_="unique")
        batch.create_unique_constraint("uq_idempotency_records_owner_key", ["owner", "key"])
    with op.batch_alter_table("experiment_assignments") as batch:
        batch.drop_index("ix_experiment_assignments_experiment_id")
        batch.drop_constraint(
            "uq_experiment_assignments_storefront_user_experiment", type_="unique"
        )
        batch.create_unique_constraint(
            "uq_experiment_assignments_experiment_user", ["experiment_id", "user_id"]
        )
    with op.batch_alter_table("experiments") as batch:
        batch.drop_constraint("uq_experiments_storefront_name", type_="unique")
        batch.create_unique_constraint("uq_experiments_name", ["name"])

    # Two events may now share a client id (one per origin or storefront): keep the first.
    op.execute(
        "DELETE FROM events WHERE id NOT IN (SELECT min(id) FROM events GROUP BY client_event_id)"
    )
    with op.batch_alter_table("events") as batch:
        batch.drop_index("ix_events_storefront_id_user_id")
        batch.create_index("ix_events_user_id", ["user_id"])
        batch.drop_constraint("uq_events_storefront_origin_id", type_="unique")
        batch.create_unique_constraint("uq_events_client_event_id", ["client_event_id"])
        batch.drop_column("request_hash")
        batch.drop_column("origin")

    with op.batch_alter_table("sessions") as batch:
        batch.drop_constraint("fk_sessions_storefront_id_profiles", type_="foreignkey")
        batch.drop_index("ix_sessions_storefront_id_user_id")
        batch.drop_column("storefront_id")
    with op.batch_alter_table("profiles") as batch:
        batch.drop_constraint("fk_profiles_storefront_id_storefronts", type_="foreignkey")
        batch.drop_constraint("pk_profiles", type_="primary")
        batch.create_primary_key("pk_profiles", ["user_id"])
        batch.drop_column("storefront_id")
    with op.batch_alter_table("sessions") as batch:
        batch.create_index("ix_sessions_user_id", ["user_id"])
        batch.create_foreign_key(
            "fk_sessions_user_id_profiles", "profiles", ["user_id"], ["user_id"]
        )

    op.execute(
        "UPDATE api_keys SET scope = CASE WHEN scope LIKE '%admin%' OR scope LIKE '%operator%' "
        "THEN 'admin' ELSE 'storefront' END"
    )
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_index("ix_api_keys_previous_key_hash")
        batch.drop_column("rotated_at")
        batch.drop_column("previous_key_expires_at")
        batch.drop_column("previous_key_hash")
        batch.alter_column("scope", type_=sa.String(16), existing_nullable=False)

    for table in _OWNED:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"fk_{table}_storefront_id_storefronts", type_="foreignkey")
            batch.drop_column("storefront_id")
    op.drop_table("storefronts")
