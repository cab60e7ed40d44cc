"""Initial schema: the product guide's brands, accounts, posts, variants and attempts.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "brands",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "connected_social_accounts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "brand_id", sa.Integer, sa.ForeignKey("brands.id", ondelete="RESTRICT"), nullable=False
        ),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("access_token_encrypted", sa.Text, nullable=False),
        sa.Column("refresh_token_encrypted", sa.Text),
        sa.Column("token_expires_at", TS),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("platform", "external_id", name="uq_account_platform_external"),
    )
    op.create_index(
        "ix_connected_social_accounts_brand_id", "connected_social_accounts", ["brand_id"]
    )
    op.create_table(
        "posts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "brand_id", sa.Integer, sa.ForeignKey("brands.id", ondelete="RESTRICT"), nullable=False
        ),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("base_text", sa.Text, nullable=False),
        sa.Column("link", sa.Text),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_posts_brand_id", "posts", ["brand_id"])
    op.create_table(
        "post_variants",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "post_id", sa.Integer, sa.ForeignKey("posts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column(
            "account_id",
            sa.Integer,
            sa.ForeignKey("connected_social_accounts.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("custom_text", sa.Text),
        sa.Column("scheduled_at", TS),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS),
        sa.Column("external_post_id", sa.String(300)),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_post_variants_post_id", "post_variants", ["post_id"])
    op.create_index("ix_post_variants_account_id", "post_variants", ["account_id"])
    op.create_index("ix_variants_status_scheduled", "post_variants", ["status", "scheduled_at"])
    op.create_table(
        "publication_attempts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "variant_id",
            sa.Integer,
            sa.ForeignKey("post_variants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("attempt_no", sa.Integer, nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS),
        sa.Column("result", sa.String(20)),
        sa.Column("http_status", sa.Integer),
        sa.Column("error_code", sa.String(100)),
        sa.Column("error_message", sa.Text),
        sa.Column("error_class", sa.String(50)),
        sa.Column("external_post_id", sa.String(300)),
        sa.Column("request_summary", sa.Text),
        sa.Column("raw_response", sa.Text),
        sa.UniqueConstraint("variant_id", "attempt_no", name="uq_attempt_variant_no"),
    )


def downgrade() -> None:
    op.drop_table("publication_attempts")
    op.drop_table("post_variants")
    op.drop_table("posts")
    op.drop_table("connected_social_accounts")
    op.drop_table("brands")
