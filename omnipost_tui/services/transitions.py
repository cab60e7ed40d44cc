"""The one way a variant's status changes: a compare-and-set along an edge of the state machine.

``UPDATE post_variants SET status = :target … WHERE status IN (:sources) AND …``: the rowcount
says whether the rows were still where the caller believed them to be. A worker and a user
racing for the same variant both ask the database, so exactly one of them wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from omnipost_tui import clock
from omnipost_tui.db import rows_matched
from omnipost_tui.errors import InvalidTransition
from omnipost_tui.models import PostVariant
from omnipost_tui.states import UNCONFIRMED, require_moves


def move_variants(
    session: Session,
    *where: ColumnElement[bool],
    sources: Iterable[str],
    target: str,
    **values: Any,
) -> int:
    """Move the variants matching ``where`` that are in one of ``sources`` to ``target``,
    setting ``values`` too; returns how many moved."""
    sources = tuple(sources)
    require_moves(sources, target)
    if target != UNCONFIRMED:
        # The next read-back belongs to unconfirmed alone: whatever moves a variant out of it
        # (a late answer, the read-back itself, a user) ends the asking.
        values.setdefault("check_at", None)
    return rows_matched(
        session.execute(
            update(PostVariant)
            .where(PostVariant.status.in_(sources), *where)
            .values(status=target, **values)
            .execution_options(synchronize_session=False)
        )
    )


def change_variant(session: Session, variant: PostVariant, **values: Any) -> None:
    """A user's change to a variant they just read: applied only if it is still in the status
    it was read in (a worker may have claimed it since); refused with InvalidTransition
    otherwise. ``values`` may set a new status, or leave it as it is."""
    values.setdefault("updated_at", clock.now())
    target = values.pop("status", variant.status)
    moved = move_variants(
        session, PostVariant.id == variant.id, sources=(variant.status,), target=target, **values
    )
    if moved != 1:
        current = session.scalar(select(PostVariant.status).where(PostVariant.id == variant.id))
        raise InvalidTransition(
            f"variant {variant.id} changed to {current} while you were working on it; try again"
        )
    session.expire(variant)
