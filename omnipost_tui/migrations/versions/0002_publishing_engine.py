"""Publishing engine: claims and leases, the sending point, dispatch tracking, worker heartbeats.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("post_variants") as batch:
        batch.add_column(
            sa.Column("attempts_before_retry", sa.Integer, nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("published_at", TS))
        batch.add_column(sa.Column("claim_token", sa.String(64)))
        batch.add_column(sa.Column("lease_expires_at", TS))
        batch.add_column(sa.Column("dispatched_at", TS))
        batch.create_index("ix_variants_status_next_attempt", ["status", "next_attempt_at"])
        batch.create_index("ix_variants_scheduled_id", ["scheduled_at", "id"])
        batch.create_index("ix_variants_updated_at", ["updated_at"])
    with op.batch_alter_table("publication_attempts") as batch:
        batch.add_column(sa.Column("sent_at", TS))
        batch.add_column(sa.Column("worker", sa.String(200)))
        batch.create_index("ix_publication_attempts_finished_at", ["finished_at"])
    # Attempts that finished before this revision certainly left the machine.
    op.execute("UPDATE publication_attempts SET sent_at = started_at WHERE sent_at IS NULL")
    op.execute(
        "UPDATE post_variants SET published_at = updated_at "
        "WHERE status = 'published' AND published_at IS NULL"
    )
    op.create_table(
        "worker_heartbeats",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("hostname", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("beat_at", TS, nullable=False),
        sa.Column("periodic", sa.Boolean, nullable=False),
        sa.Column("last_sweep_at", TS),
        sa.Column("stopped_at", TS),
    )


def downgrade() -> None:
    op.drop_table("worker_heartbeats")
    with op.batch_alter_table("publication_attempts") as batch:
        batch.drop_index("ix_publication_attempts_finished_at")
        batch.drop_column("worker")
        batch.drop_column("sent_at")
    with op.batch_alter_table("post_variants") as batch:
        batch.drop_index("ix_variants_updated_at")
        batch.drop_index("ix_variants_scheduled_id")
        batch.drop_index("ix_variants_status_next_attempt")
        batch.drop_column("dispatched_at")
        batch.drop_column("lease_expires_at")
        batch.drop_column("claim_token")
        batch.drop_column("published_at")
        batch.drop_column("attempts_before_retry")
