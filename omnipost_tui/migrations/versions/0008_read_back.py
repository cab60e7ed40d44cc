"""Reading an unconfirmed post back from the platform: when the engine asks next, and what
each read found.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("post_variants") as batch:
        # Unconfirmed only: when the engine next asks the platform whether the post is there
        # (NULL: it does not; a human decides).
        batch.add_column(sa.Column("check_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("publication_attempts") as batch:
        # JSON list of the reads that looked for this attempt's post: when, by whom, what they
        # found (the steps the Attempts screen shows).
        batch.add_column(sa.Column("read_back", sa.Text, nullable=True))
    op.create_index("ix_variants_status_check", "post_variants", ["status", "check_at"])


def downgrade() -> None:
    op.drop_index("ix_variants_status_check", table_name="post_variants")
    with op.batch_alter_table("publication_attempts") as batch:
        batch.drop_column("read_back")
    with op.batch_alter_table("post_variants") as batch:
        batch.drop_column("check_at")
