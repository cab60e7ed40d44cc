"""The one way a variant's status changes: a compare-and-set along an edge of the state machine.

``UPDATE post_variants SET status = :target … WHERE status IN (:sources) AND …``: the rowcount
says whether the rows were still where the caller believed them to be. A worker and a user
racing for the same variant both ask the database, so exactly one of them wins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, select, update
from sqlalchemy.orm import Session

from omnipost_tui import clock
from omnipost_tui.db import rows_matched
from omnipost_tui.errors import InvalidTransition
from omnipost_tui.models import VARIANTS, PostVariant
from omnipost_tui.states import UNCONFIRMED, require_moves, still_due_at_bound


def move_variants(
    session: Session,
    *where: ColumnElement[bool],
    sources: Iterable[str],
    target: str,
    **values: Any,
) -> int:
    """Move the variants matching ``where`` that are in one of ``sources`` to ``target``,
    setting ``values`` too; returns how many moved."""
    return PreparedMove(*where, sources=sources, target=target, **values)(session)


class PreparedMove:
    """A move as a statement: ``move_variants`` makes one per call; the moves every publish
    makes (the claim, the completion) are made once with bound parameters, as building the
    statement and its cache key anew each time was a fifth of a claim's CPU. Called with the
    parameters' values; returns how many rows moved."""

    def __init__(
        self, *where: ColumnElement[bool], sources: Iterable[str], target: str, **values: Any
    ) -> None:
        sources = tuple(sources)
        require_moves(sources, target)
        if target != UNCONFIRMED:
            # The next read-back belongs to unconfirmed alone: whatever moves a variant out of
            # it (a late answer, the read-back itself, a user) ends the asking.
            values.setdefault("check_at", None)
        self.statement = (
            update(VARIANTS)
            .where(VARIANTS.c.status.in_(sources), *where)
            .values(status=target, **values)
        )

    def __call__(self, session: Session, **params: Any) -> int:
        # Core on the session's connection: the ORM's bulk-update path would only add CPU (there
        # is nothing in the session to synchronise; callers read what they need after the move).
        return rows_matched(session.connection().execute(self.statement, params))


def move_each_still_due(
    session: Session,
    rows: Sequence[tuple[int, str, datetime]],
    *,
    target: str,
    row_values: Callable[[int, str, datetime], dict[str, Any]] | None = None,
    **values: Any,
) -> list[int]:
    """Move each (variant id, status, due time) read a moment ago to ``target``, if it is still
    in that status and due at that time (``still_due_at``); ``values`` are set on every row,
    ``row_values(id, status, due)`` per row. Returns the ids that moved.

    For the sweep's batches (thousands of missed variants after an outage): one statement,
    compiled once and executed per row (``still_due_at_bound``).
    """
    if not rows:
        return []
    per_row = sorted(row_values(*rows[0])) if row_values is not None else []
    move = PreparedMove(
        *still_due_at_bound(),
        sources={status for _, status, _ in rows},
        target=target,
        **values,
        **{name: bindparam(f"row_{name}") for name in per_row},
    )
    moved = []
    for variant_id, status, due in rows:
        params = {"row_id": variant_id, "row_status": status, "row_due": due}
        if row_values is not None:
            params.update({f"row_{k}": v for k, v in row_values(variant_id, status, due).items()})
        if move(session, **params) == 1:
            moved.append(variant_id)
    return moved


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
