"""Published variants by when they went out: the calendar places them on that day.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_variants_status_published", "post_variants", ["status", "published_at"])


def downgrade() -> None:
    op.drop_index("ix_variants_status_published", table_name="post_variants")
