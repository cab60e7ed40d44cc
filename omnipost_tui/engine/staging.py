"""Uploading a post's images before its create call, and discarding what will never be used.

Nothing here is public: a Facebook photo uploaded with ``published=false`` and a LinkedIn image
appear only once the create call names them. So any failure while staging is safe to retry, and
staging runs a few minutes ahead of the due time (``stage_media_before``, from the sweep), so
that at the minute only the create call is left. What an earlier attempt (or the early run)
staged is reused when the platform still has it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

from omnipost_tui import clock
from omnipost_tui.connectors import Connector, PlatformError, PublishRequest, StagedImage
from omnipost_tui.connectors.factory import connector_for
from omnipost_tui.crypto import TokenUnreadable
from omnipost_tui.services import staging
from omnipost_tui.services.context import Context
from omnipost_tui.services.media import missing_file, uploads_of
from omnipost_tui.services.staging import StagedRow, StagingJob

log = logging.getLogger("omnipost.engine.staging")


class StagingFailed(Exception):
    """An upload failed (``error``); ``steps`` is the attempt log up to and including it."""

    def __init__(self, error: PlatformError, steps: list[dict[str, Any]]) -> None:
        super().__init__(error.message)
        self.error = error
        self.steps = steps


@dataclass
class Staged:
    request: PublishRequest  # with ``staged`` filled in
    steps: list[dict[str, Any]] = field(default_factory=list)  # for the attempt log


def stage_images(
    ctx: Context, connector: Connector, request: PublishRequest, variant_id: int, account_id: int
) -> Staged:
    """Upload (or reuse) every image the connector needs before the create call.

    Raises StagingFailed with the steps so far; nothing was made public either way.
    """
    try:
        wanted = connector.to_stage(request)
    except PlatformError as error:  # e.g. images on LinkedIn's legacy API: refused, not retried
        raise StagingFailed(error, []) from None
    if not wanted:
        return Staged(request)
    known = staging.staged_for(ctx, variant_id, account_id)
    total = len(request.images)
    steps: list[dict[str, Any]] = []
    staged: list[StagedImage] = []
    for image in wanted:
        step: dict[str, Any] = {
            "step": f"upload {image.position} of {total}",
            "file": image.shown_name,
            "size": image.size,
            "sha256": image.sha256,
        }
        earlier = known.get(image.sha256)
        if earlier is not None:
            candidate = StagedImage(image.position, image.sha256, earlier.media_id)
            if earlier.alt == image.alt and connector.still_there(request, candidate):
                staged.append(candidate)
                steps.append({**step, "media_id": earlier.media_id, "reused": True})
                continue
            if earlier.alt != image.alt:
                connector.discard(request, candidate)  # uploaded with the old alt text
            staging.forget(ctx, variant_id, {earlier.media_id})
        try:
            uploaded = connector.stage(request, image)
        except PlatformError as error:
            steps.append({**step, "error": error.message, "http_status": error.http_status})
            raise StagingFailed(error, steps) from None
        kept = staging.record_staged(
            ctx, variant_id, account_id, image.sha256, uploaded.media_id, image.alt, clock.now()
        )
        if kept != uploaded.media_id:
            # Another process staged the same picture meanwhile: use theirs, drop ours.
            connector.discard(request, uploaded)
            uploaded = StagedImage(image.position, image.sha256, kept)
        staged.append(uploaded)
        steps.append({**step, "media_id": uploaded.media_id, "calls": uploaded.summary})
    return Staged(replace(request, staged=tuple(staged)), steps)


def discard_all(
    ctx: Context, connector: Connector, request: PublishRequest, variant_id: int
) -> None:
    """The variant failed for good: delete what was staged for it (best effort)."""
    _discard(connector, request, staging.take_all(ctx, variant_id))


def _discard(connector: Connector, request: PublishRequest, rows: list[StagedRow]) -> None:
    for row in rows:
        connector.discard(request, StagedImage(0, row.sha256, row.media_id))


def stage_ahead(ctx: Context, variant_id: int) -> int:
    """The early run (a task the sweep queues ``stage_media_before`` ahead): upload the images
    of a variant that will go out soon. Returns how many are staged. Failures are only logged:
    the publish at the minute stages again and handles them like any attempt."""
    job = staging.staging_job(ctx, variant_id)
    if job is None or not job.images:
        return 0
    if missing_file(ctx.settings.paths, job.images) is not None:
        return 0  # the publish fails it with the message; nothing to upload
    connector, request = _prepare(ctx, job)
    if connector is None or request is None:
        return 0
    try:
        staged = stage_images(ctx, connector, request, job.variant_id, job.account_id)
    except StagingFailed as exc:
        log.info(
            "could not upload the images ahead of time (%s); the publish tries again",
            exc.error.message,
            extra={"variant": variant_id},
        )
        return 0
    finally:
        connector.close()
    if staged.steps:
        log.info(
            "uploaded %d image(s) ahead of time", len(staged.steps), extra={"variant": variant_id}
        )
    return len(staged.request.staged)


def discard_stale(ctx: Context) -> int:
    """Delete what was staged for variants that will not use it; returns how many uploads."""
    count = 0
    for unused in staging.stale(ctx):
        by_account: dict[int, list[StagedRow]] = {}
        for row in unused.rows:
            by_account.setdefault(row.account_id, []).append(row)
        for account_id, rows in by_account.items():
            job = (
                staging.discard_job(ctx, unused.variant_id, account_id) if unused.discard else None
            )
            connector, request = _prepare(ctx, job) if job is not None else (None, None)
            if connector is not None and request is not None:
                try:
                    _discard(connector, request, rows)
                finally:
                    connector.close()
            staging.forget(ctx, unused.variant_id, {row.media_id for row in rows})
            count += len(rows)
    if count:
        log.info("discarded %d image upload(s) no post will use", count)
    return count


def _prepare(ctx: Context, job: StagingJob) -> tuple[Connector | None, PublishRequest | None]:
    try:
        token = ctx.cipher.decrypt(job.access_token_encrypted, account_label=job.account_name)
    except TokenUnreadable as exc:
        log.warning(
            "cannot stage or discard images: %s", exc.message, extra={"variant": job.variant_id}
        )
        return None, None
    request = PublishRequest(
        account_external_id=job.account_external_id,
        access_token=token,
        text=job.text,
        link=job.link,
        images=uploads_of(ctx.settings.paths, job.images),
    )
    return connector_for(job.platform, ctx.settings), request
