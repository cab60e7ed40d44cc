"""What was uploaded to a platform for a variant ahead of its create call (``staged_media``).

Uploads are preparation: a staged Facebook photo (``published=false``) or LinkedIn image is not
public. Recording each one lets the publish at the minute, and any retry, reuse it instead of
uploading it again; what a variant will no longer use is found here and discarded by the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import joinedload, selectinload

from omnipost_tui.errors import ConflictError
from omnipost_tui.models import CONNECTED, ConnectedSocialAccount, Post, PostVariant, StagedMedia
from omnipost_tui.services.context import Context
from omnipost_tui.services.views import ImageView, effective_text, images_of
from omnipost_tui.states import PUBLISHED, PUBLISHING, SCHEDULED, UNCONFIRMED, WAITING

# Kept while the variant may still go out with them: waiting, being published, or unconfirmed
# (a human may retry it, and the retry reuses them).
KEEP_FOR = (*WAITING, PUBLISHING, UNCONFIRMED)


@dataclass(frozen=True)
class StagedRow:
    id: int
    variant_id: int
    account_id: int
    sha256: str
    media_id: str
    alt: str = ""


@dataclass(frozen=True)
class StagingJob:
    """A variant whose images may be uploaded now: what the connector needs to do it."""

    variant_id: int
    platform: str
    account_id: int
    account_name: str
    account_external_id: str
    access_token_encrypted: str
    text: str
    link: str | None
    images: tuple[ImageView, ...]


def staged_for(ctx: Context, variant_id: int, account_id: int) -> dict[str, StagedRow]:
    """sha256 → what is staged for this variant on this account."""
    with ctx.db.read() as session:
        rows = session.scalars(
            select(StagedMedia).where(
                StagedMedia.variant_id == variant_id, StagedMedia.account_id == account_id
            )
        )
        return {row.sha256: _row(row) for row in rows}


def record_staged(
    ctx: Context,
    variant_id: int,
    account_id: int,
    sha256: str,
    media_id: str,
    alt: str,
    now: datetime,
) -> str:
    """Remember an upload; returns the media id that is now on record. When another process
    staged the same image meanwhile, its id wins and the caller discards its own."""
    try:
        with ctx.db.write() as session:
            session.add(
                StagedMedia(
                    variant_id=variant_id,
                    account_id=account_id,
                    sha256=sha256,
                    media_id=media_id,
                    alt_text=alt,
                    staged_at=now,
                )
            )
        return media_id
    except ConflictError:  # the unique constraint: staged meanwhile by the early run
        kept = staged_for(ctx, variant_id, account_id).get(sha256)
        return kept.media_id if kept is not None else media_id


def forget(ctx: Context, variant_id: int, media_ids: set[str] | None = None) -> None:
    """Drop the records (all of the variant's, or those ``media_ids``): used by the post, or
    discarded."""
    with ctx.db.write() as session:
        query = delete(StagedMedia).where(StagedMedia.variant_id == variant_id)
        if media_ids is not None:
            query = query.where(StagedMedia.media_id.in_(media_ids))
        session.execute(query)


def take_all(ctx: Context, variant_id: int) -> list[StagedRow]:
    """The variant's staged uploads, removed from the record (to be discarded)."""
    with ctx.db.write() as session:
        rows = session.scalars(select(StagedMedia).where(StagedMedia.variant_id == variant_id))
        taken = [_row(row) for row in rows]
        session.execute(delete(StagedMedia).where(StagedMedia.variant_id == variant_id))
        return taken


def due_to_stage(ctx: Context, now: datetime, ahead: timedelta) -> list[int]:
    """Scheduled variants with images, due within ``ahead``, with nothing staged yet."""
    with ctx.db.read() as session:
        nothing_staged = ~exists().where(StagedMedia.variant_id == PostVariant.id)
        candidates = session.scalars(
            select(PostVariant)
            .where(
                PostVariant.status == SCHEDULED,
                PostVariant.scheduled_at > now,
                PostVariant.scheduled_at <= now + ahead,
                nothing_staged,
            )
            .options(selectinload(PostVariant.post).selectinload(Post.images))
        ).all()
        return [v.id for v in candidates if images_of(v)]


@dataclass(frozen=True)
class Unused:
    """Uploads of one variant that it will not use. ``discard`` False: the variant was
    published with them (recorded by hand, say), so they are the live post's pictures and
    only the record goes; never deleted."""

    variant_id: int
    rows: list[StagedRow]
    discard: bool


def stale(ctx: Context) -> list[Unused]:
    """Staged uploads a variant will never use: it went out, failed or became a draft, or its
    images or account changed."""
    with ctx.db.read() as session:
        rows = session.scalars(select(StagedMedia).order_by(StagedMedia.variant_id)).all()
        by_variant: dict[int, list[StagedRow]] = {}
        for row in rows:
            by_variant.setdefault(row.variant_id, []).append(_row(row))
        found = []
        for variant_id, staged in by_variant.items():
            variant = session.get(PostVariant, variant_id)
            if variant is not None and variant.status == PUBLISHED:
                found.append(Unused(variant_id, staged, discard=False))
                continue
            if variant is None or variant.status not in KEEP_FOR:
                found.append(Unused(variant_id, staged, discard=True))
                continue
            wanted = {(image.sha256, image.alt) for image in images_of(variant)}
            unused = [
                r
                for r in staged
                if (r.sha256, r.alt) not in wanted or r.account_id != variant.account_id
            ]
            if unused:
                found.append(Unused(variant_id, unused, discard=True))
        return found


def staging_job(ctx: Context, variant_id: int) -> StagingJob | None:
    """What uploading ``variant_id``'s images needs, or None when it cannot go out now (not
    waiting, account not connected)."""
    with ctx.db.read() as session:
        variant = session.get(
            PostVariant,
            variant_id,
            options=[joinedload(PostVariant.account), joinedload(PostVariant.post)],
        )
        if variant is None or variant.status not in WAITING:
            return None
        if variant.account.status != CONNECTED:
            return None
        return _job(variant, variant.account)


def discard_job(ctx: Context, variant_id: int, account_id: int) -> StagingJob | None:
    """What discarding uploads made for ``variant_id`` on ``account_id`` needs (the account's
    token), or None when that account is gone."""
    with ctx.db.read() as session:
        variant = session.get(PostVariant, variant_id, options=[joinedload(PostVariant.post)])
        account = session.get(ConnectedSocialAccount, account_id)
        if account is None:
            return None
        if variant is None:
            return StagingJob(
                variant_id,
                account.platform,
                account.id,
                account.name,
                account.external_id,
                account.access_token_encrypted,
                "",
                None,
                (),
            )
        return _job(variant, account)


def _job(variant: PostVariant, account: ConnectedSocialAccount) -> StagingJob:
    return StagingJob(
        variant_id=variant.id,
        platform=account.platform,
        account_id=account.id,
        account_name=account.name,
        account_external_id=account.external_id,
        access_token_encrypted=account.access_token_encrypted,
        text=effective_text(variant),
        link=variant.post.link,
        images=images_of(variant),
    )


def _row(row: StagedMedia) -> StagedRow:
    return StagedRow(row.id, row.variant_id, row.account_id, row.sha256, row.media_id, row.alt_text)
