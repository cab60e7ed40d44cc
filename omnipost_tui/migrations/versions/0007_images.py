"""Images: files OmniPost keeps (by content hash), the pictures of each post in order, a
variant's own pictures (or none), and what was uploaded to a platform ahead of the create call.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _picture_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column(
            "sha256",
            sa.String(64),
            sa.ForeignKey("media_files.sha256", ondelete="RESTRICT"),
            nullable=False,
            index=True,
        ),
        sa.Column("alt_text", sa.Text, nullable=False, server_default=""),
        sa.Column("original_name", sa.String(300), nullable=False),
    ]


def upgrade() -> None:
    # One row per file in the media directory, named <sha256>.<ext>; the facts Pillow read
    # from its content when it was attached (the checks need no second look at the file).
    op.create_table(
        "media_files",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("format", sa.String(10), nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "post_images",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "post_id",
            sa.Integer,
            sa.ForeignKey("posts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        *_picture_columns(),
    )
    op.create_index("ix_post_images_post_position", "post_images", ["post_id", "position"])
    op.create_table(
        "variant_images",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "variant_id",
            sa.Integer,
            sa.ForeignKey("post_variants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        *_picture_columns(),
    )
    op.create_index(
        "ix_variant_images_variant_position", "variant_images", ["variant_id", "position"]
    )
    with op.batch_alter_table("post_variants") as table:
        # inherit: the post's images; none: text only; own: the variant's variant_images.
        table.add_column(
            sa.Column("images_mode", sa.String(10), nullable=False, server_default="inherit")
        )
    # An image uploaded for a variant before its create call (not public yet), so that a
    # retry, or the publish at the minute, reuses it instead of uploading it again.
    op.create_table(
        "staged_media",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "variant_id",
            sa.Integer,
            sa.ForeignKey("post_variants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("media_id", sa.String(300), nullable=False),
        # Facebook takes the alt text with the upload: another alt text is another upload.
        sa.Column("alt_text", sa.Text, nullable=False, server_default=""),
        sa.Column("staged_at", TS, nullable=False),
        sa.UniqueConstraint("variant_id", "account_id", "sha256", name="uq_staged_media"),
    )


def downgrade() -> None:
    op.drop_table("staged_media")
    with op.batch_alter_table("post_variants") as table:
        table.drop_column("images_mode")
    op.drop_index("ix_variant_images_variant_position", table_name="variant_images")
    op.drop_table("variant_images")
    op.drop_index("ix_post_images_post_position", table_name="post_images")
    op.drop_table("post_images")
    op.drop_table("media_files")
