"""Tokens connected with OAuth: "never expires" apart from "unknown", the refresh token's own
expiry, and the daily token check's last run.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("connected_social_accounts") as table:
        # A Facebook page token made from a long-lived user token does not expire: that is a
        # fact the platform told us, not a missing expiry (token_expires_at NULL).
        table.add_column(
            sa.Column("token_never_expires", sa.Boolean, nullable=False, server_default=sa.false())
        )
        table.add_column(sa.Column("refresh_token_expires_at", TS))
    # Jobs the periodic sweep runs once in a while (the daily token check): when each last ran,
    # claimed by a compare-and-set so that several workers run it once.
    op.create_table(
        "maintenance_runs",
        sa.Column("name", sa.String(50), primary_key=True),
        sa.Column("last_run_at", TS),
    )


def downgrade() -> None:
    op.drop_table("maintenance_runs")
    with op.batch_alter_table("connected_social_accounts") as table:
        table.drop_column("refresh_token_expires_at")
        table.drop_column("token_never_expires")
