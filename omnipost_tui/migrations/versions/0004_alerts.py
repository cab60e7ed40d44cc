"""Alerts raised (so each is sent once), when an account expired, attempts by variant.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("raised_at", TS, nullable=False),
        sa.Column("delivered_at", TS),
        sa.Column("delivery_attempts", sa.Integer, nullable=False, server_default="0"),
        # When the next POST may happen (also a short lease while one is in flight).
        sa.Column("next_attempt_at", TS),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("ix_alerts_kind_raised", "alerts", ["kind", "raised_at"])
    with op.batch_alter_table("publication_attempts") as batch:
        batch.create_index("ix_attempts_variant_id", ["variant_id", "id"])
    with op.batch_alter_table("connected_social_accounts") as batch:
        batch.add_column(sa.Column("expired_at", TS))
    op.execute(
        "UPDATE connected_social_accounts SET expired_at = updated_at WHERE status = 'expired'"
    )


def downgrade() -> None:
    with op.batch_alter_table("connected_social_accounts") as batch:
        batch.drop_column("expired_at")
    with op.batch_alter_table("publication_attempts") as batch:
        batch.drop_index("ix_attempts_variant_id")
    op.drop_index("ix_alerts_kind_raised", table_name="alerts")
    op.drop_table("alerts")
