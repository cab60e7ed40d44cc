"""Publication attempts: the evidence of every try, newest first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from omnipost_tui.errors import ValidationError
from omnipost_tui.models import INTERRUPTED, PostVariant, PublicationAttempt
from omnipost_tui.services.context import Context
from omnipost_tui.services.lookup import variant_by_id
from omnipost_tui.services.views import AttemptView

RESULTS = ("success", "fail", INTERRUPTED, "pending")


def list_attempts(
    ctx: Context,
    *,
    variant: int | str | None = None,
    result: str | None = None,
    before_id: int | None = None,
    limit: int | None = None,
) -> list[AttemptView]:
    """Attempts newest first; ``before_id`` pages backwards (keyset on id)."""
    if result is not None and result not in RESULTS:
        raise ValidationError(f"unknown result {result!r}; use one of {', '.join(RESULTS)}")
    with ctx.db.read() as session:
        query = select(PublicationAttempt).options(
            joinedload(PublicationAttempt.variant).joinedload(PostVariant.account)
        )
        if variant is not None:
            query = query.where(PublicationAttempt.variant_id == variant_by_id(session, variant).id)
        if result == "pending":
            query = query.where(PublicationAttempt.result.is_(None))
        elif result is not None:
            query = query.where(PublicationAttempt.result == result)
        if before_id is not None:
            query = query.where(PublicationAttempt.id < before_id)
        query = query.order_by(PublicationAttempt.id.desc())
        if limit is not None:
            query = query.limit(limit)
        return [AttemptView.of(a) for a in session.scalars(query).unique().all()]


def failures_finished_since(ctx: Context, since: datetime | None) -> list[AttemptView]:
    """Failed attempts that finished at or after ``since`` (None: the newest one), oldest first.

    Callers remember the ids they have seen: two workers can commit out of order, so they
    should ask again from a little before the last ``finished_at`` they saw.
    """
    with ctx.db.read() as session:
        query = (
            select(PublicationAttempt)
            .where(PublicationAttempt.result == "fail")
            .options(joinedload(PublicationAttempt.variant).joinedload(PostVariant.account))
        )
        if since is None:
            query = query.order_by(PublicationAttempt.finished_at.desc()).limit(1)
        else:
            query = (
                query.where(PublicationAttempt.finished_at >= since)
                .order_by(PublicationAttempt.finished_at, PublicationAttempt.id)
                .limit(100)
            )
        return [AttemptView.of(a) for a in session.scalars(query).unique()]
