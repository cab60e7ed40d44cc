"""The sending point on the variant row, so recovery and a slow worker cannot both act.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("post_variants") as batch:
        batch.add_column(sa.Column("sending_since", sa.DateTime(timezone=True)))
    # A publish in flight during the upgrade: if its attempt reached the sending point, say so.
    op.execute(
        "UPDATE post_variants SET sending_since = ("
        " SELECT a.sent_at FROM publication_attempts a"
        " WHERE a.variant_id = post_variants.id AND a.attempt_no = post_variants.attempts)"
        " WHERE status = 'publishing'"
    )


def downgrade() -> None:
    with op.batch_alter_table("post_variants") as batch:
        batch.drop_column("sending_since")
