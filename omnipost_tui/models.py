"""Typed SQLAlchemy 2.0 models. The schema itself is owned by the Alembic migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from omnipost_tui.image_modes import IMAGES_INHERIT


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python; UTC in the database whatever the backend.

    SQLite has no zone support, so values are stored as naive UTC text there (which also keeps
    string comparison in WHERE clauses correct); PostgreSQL gets ``timestamptz``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime written to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


# Variant statuses live with the rest of the state machine, in states.py.

# Account statuses.
# A platform's post id ("123_456", "urn:li:share:…"): stored on the attempt and the variant.
EXTERNAL_POST_ID_LENGTH = 300

CONNECTED = "connected"
EXPIRED = "expired"
REVOKED = "revoked"
ACCOUNT_STATUSES = (CONNECTED, EXPIRED, REVOKED)

POST_STATUSES = ("draft", "approved", "archived")

# Attempt results; NULL while the attempt is in flight.
SUCCESS = "success"
FAIL = "fail"
INTERRUPTED = "interrupted"


class Brand(Base):
    __tablename__ = "brands"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    accounts: Mapped[list[ConnectedSocialAccount]] = relationship(back_populates="brand")


class ConnectedSocialAccount(Base):
    __tablename__ = "connected_social_accounts"
    __table_args__ = (
        UniqueConstraint("platform", "external_id", name="uq_account_platform_external"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id", ondelete="RESTRICT"), index=True)
    platform: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    access_token_encrypted: Mapped[str] = mapped_column(Text)
    refresh_token_encrypted: Mapped[str | None] = mapped_column(Text)
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The platform said the token does not expire (token_expires_at NULL means "not known").
    token_never_expires: Mapped[bool] = mapped_column(Boolean, default=False)
    refresh_token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default=CONNECTED)
    # When it last went from connected to expired: one alert per expiry, whatever else changes.
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    brand: Mapped[Brand] = relationship(back_populates="accounts")


class Post(Base):
    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id", ondelete="RESTRICT"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    base_text: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    brand: Mapped[Brand] = relationship()
    variants: Mapped[list[PostVariant]] = relationship(back_populates="post")
    images: Mapped[list[PostImage]] = relationship(
        order_by="PostImage.position", cascade="all, delete-orphan"
    )


class MediaFile(Base):
    """A file in the media directory, named by the SHA-256 of its content."""

    __tablename__ = "media_files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    format: Mapped[str] = mapped_column(String(10))  # JPEG | PNG | GIF, read from the content
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PostImage(Base):
    __tablename__ = "post_images"
    __table_args__ = (Index("ix_post_images_post_position", "post_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # 1-based
    sha256: Mapped[str] = mapped_column(
        ForeignKey("media_files.sha256", ondelete="RESTRICT"), index=True
    )
    alt_text: Mapped[str] = mapped_column(Text, default="")
    original_name: Mapped[str] = mapped_column(String(300))

    media: Mapped[MediaFile] = relationship(lazy="joined")


class VariantImage(Base):
    __tablename__ = "variant_images"
    __table_args__ = (Index("ix_variant_images_variant_position", "variant_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("post_variants.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(
        ForeignKey("media_files.sha256", ondelete="RESTRICT"), index=True
    )
    alt_text: Mapped[str] = mapped_column(Text, default="")
    original_name: Mapped[str] = mapped_column(String(300))

    media: Mapped[MediaFile] = relationship(lazy="joined")


class StagedMedia(Base):
    """An image uploaded for a variant ahead of its create call (nothing public yet)."""

    __tablename__ = "staged_media"
    __table_args__ = (
        UniqueConstraint("variant_id", "account_id", "sha256", name="uq_staged_media"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("post_variants.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    media_id: Mapped[str] = mapped_column(String(300))
    alt_text: Mapped[str] = mapped_column(Text, default="")  # as uploaded (Facebook keeps it)
    staged_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PostVariant(Base):
    __tablename__ = "post_variants"
    __table_args__ = (
        Index("ix_variants_status_scheduled", "status", "scheduled_at"),
        Index("ix_variants_status_next_attempt", "status", "next_attempt_at"),
        Index("ix_variants_scheduled_id", "scheduled_at", "id"),
        Index("ix_variants_updated_at", "updated_at"),
        Index("ix_variants_status_published", "status", "published_at"),
        Index("ix_variants_status_check", "status", "check_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(20))
    account_id: Mapped[int] = mapped_column(
        ForeignKey("connected_social_accounts.id", ondelete="RESTRICT"), index=True
    )
    custom_text: Mapped[str | None] = mapped_column(Text)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20))  # states.py: its values and moves
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A manual retry gives a fresh budget of MAX_ATTEMPTS without renumbering past attempts.
    attempts_before_retry: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    external_post_id: Mapped[str | None] = mapped_column(String(EXTERNAL_POST_ID_LENGTH))
    last_error: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Claim of the worker currently publishing (DESIGN.md, guarantee 1 and 3).
    claim_token: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set, under the claim, at the sending point: recovery decides "may it exist?" from this row
    # in the same UPDATE that moves the variant, so it cannot race the worker it recovers from.
    sending_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When a queue message was last sent for the current due time (NULL: none yet). Reset whenever
    # the due time changes; lets the sweep skip variants already on their way.
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Unconfirmed only: when the engine next reads the platform back to learn whether the post
    # is there (NULL: it will not; a human decides). Cleared by every move out of unconfirmed.
    check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    images_mode: Mapped[str] = mapped_column(String(10), default=IMAGES_INHERIT)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    post: Mapped[Post] = relationship(back_populates="variants")
    own_images: Mapped[list[VariantImage]] = relationship(
        order_by="VariantImage.position", cascade="all, delete-orphan"
    )
    account: Mapped[ConnectedSocialAccount] = relationship()
    publication_attempts: Mapped[list[PublicationAttempt]] = relationship(
        back_populates="variant", order_by="PublicationAttempt.attempt_no"
    )


class PublicationAttempt(Base):
    __tablename__ = "publication_attempts"
    __table_args__ = (
        UniqueConstraint("variant_id", "attempt_no", name="uq_attempt_variant_no"),
        Index("ix_attempts_variant_id", "variant_id", "id"),
        # `omnipost metrics`: attempts by result and error class, counted on the index alone.
        Index("ix_attempts_result_class", "result", "error_class"),
        # The attempts of one result, newest first (the attempts screen's filter), a page at a
        # time instead of all of them sorted.
        Index("ix_attempts_result_id", "result", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("post_variants.id", ondelete="CASCADE"))
    attempt_no: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set and committed just before the HTTP request: after it, the post may exist.
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    result: Mapped[str | None] = mapped_column(String(20))
    http_status: Mapped[int | None] = mapped_column(Integer)
    error_code: Mapped[str | None] = mapped_column(String(100))
    error_message: Mapped[str | None] = mapped_column(Text)
    error_class: Mapped[str | None] = mapped_column(String(50))
    external_post_id: Mapped[str | None] = mapped_column(String(EXTERNAL_POST_ID_LENGTH))
    request_summary: Mapped[str | None] = mapped_column(Text)
    raw_response: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(200))
    # JSON list of the reads that looked for this attempt's post on the platform (read-back of
    # an unconfirmed variant): when, by whom, what each found.
    read_back: Mapped[str | None] = mapped_column(Text)

    variant: Mapped[PostVariant] = relationship(back_populates="publication_attempts")


class WorkerHeartbeat(Base):
    """One row per running (or last run) worker process; the TUI and ``status`` read it."""

    __tablename__ = "worker_heartbeats"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    periodic: Mapped[bool] = mapped_column(Boolean, default=True)
    last_sweep_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AlertRecord(Base):
    """An alert that was raised: sent once (log line, webhook), whatever reruns the check."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_kind_raised", "kind", "raised_at"),)

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    message: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class MaintenanceRun(Base):
    """When a job that runs once in a while (the daily token check) last ran."""

    __tablename__ = "maintenance_runs"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# The tables themselves, for Core statements where the ORM's machinery would cost more than the
# statement (the publish path: services/publishing.py).
VARIANTS = cast(Table, PostVariant.__table__)
ACCOUNTS = cast(Table, ConnectedSocialAccount.__table__)
ATTEMPTS = cast(Table, PublicationAttempt.__table__)
POSTS = cast(Table, Post.__table__)
POST_IMAGES = cast(Table, PostImage.__table__)
VARIANT_IMAGES = cast(Table, VariantImage.__table__)
MEDIA_FILES = cast(Table, MediaFile.__table__)
