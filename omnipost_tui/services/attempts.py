"""Publication attempts: the evidence of every try, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeVarTuple

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, joinedload

from omnipost_tui.errors import ValidationError
from omnipost_tui.models import INTERRUPTED, PostVariant, PublicationAttempt
from omnipost_tui.services.context import Context
from omnipost_tui.services.lookup import variant_by_id
from omnipost_tui.services.views import AttemptView

RESULTS = ("success", "fail", INTERRUPTED, "pending")
# The columns of a query that _filtered narrows (it only adds conditions).
_Row = TypeVarTuple("_Row")


@dataclass(frozen=True)
class AttemptFilter:
    """What the attempts screen narrows its list to."""

    variant: int | None = None
    result: str | None = None  # one of RESULTS


def _filtered(
    session: Session, query: Select[*_Row], variant: int | str | None, result: str | None
) -> Select[*_Row]:
    if result is not None and result not in RESULTS:
        raise ValidationError(f"unknown result {result!r}; use one of {', '.join(RESULTS)}")
    if variant is not None:
        query = query.where(PublicationAttempt.variant_id == variant_by_id(session, variant).id)
    if result == "pending":
        query = query.where(PublicationAttempt.result.is_(None))
    elif result is not None:
        query = query.where(PublicationAttempt.result == result)
    return query


def list_attempts(
    ctx: Context,
    *,
    variant: int | str | None = None,
    result: str | None = None,
    before_id: int | None = None,
    after_id: int | None = None,
    limit: int | None = None,
) -> list[AttemptView]:
    """Attempts newest first, paged by keyset on id.

    ``before_id`` gives the (up to ``limit``) newest attempts older than that id; ``after_id``
    the oldest ones newer than it (still returned newest first): the page before a row.
    """
    if before_id is not None and after_id is not None:
        raise ValueError("page before a row or after it, not both")
    with ctx.db.read() as session:
        query = _filtered(session, select(PublicationAttempt), variant, result).options(
            joinedload(PublicationAttempt.variant).joinedload(PostVariant.account)
        )
        if before_id is not None:
            query = query.where(PublicationAttempt.id < before_id)
        if after_id is not None:
            query = query.where(PublicationAttempt.id > after_id)
        ascending = after_id is not None
        query = query.order_by(
            PublicationAttempt.id.asc() if ascending else PublicationAttempt.id.desc()
        )
        if limit is not None:
            query = query.limit(limit)
        rows = [AttemptView.of(a) for a in session.scalars(query).unique().all()]
        return rows[::-1] if ascending else rows


def count_attempts(
    ctx: Context,
    *,
    variant: int | str | None = None,
    result: str | None = None,
    newer_than: int | None = None,
) -> int:
    """How many attempts match (and, with ``newer_than``, how many of them have a larger id)."""
    with ctx.db.read() as session:
        query = _filtered(session, select(func.count(PublicationAttempt.id)), variant, result)
        if newer_than is not None:
            query = query.where(PublicationAttempt.id > newer_than)
        return session.scalar(query) or 0


def attempts_finished_since(ctx: Context, since: datetime) -> list[AttemptView]:
    """Attempts that finished (any result) at or after ``since``, oldest first.

    Callers remember the ids they have seen: two workers can commit out of order, so they
    should ask again from a little before the last ``finished_at`` they saw.
    """
    with ctx.db.read() as session:
        query = (
            select(PublicationAttempt)
            .where(PublicationAttempt.finished_at >= since)
            .options(joinedload(PublicationAttempt.variant).joinedload(PostVariant.account))
            .order_by(PublicationAttempt.finished_at, PublicationAttempt.id)
            .limit(500)
        )
        return [AttemptView.of(a) for a in session.scalars(query).unique()]
