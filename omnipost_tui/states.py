"""The variant state machine, in one place (DESIGN.md, "Variant states").

Its statuses; the moves between them and who makes each (a user's action or the engine); which
user action each status allows, and the one sentence that says why not; and when a waiting
variant is due, once as a Python function and once as the SQL the queries use. Everything else
asks here: the services before they write, the screens and commands before they offer a key.

    draft ──schedule──> scheduled ──due, claimed──> publishing ──ok──> published
                                                        ├──retryable, attempts left──> retrying
                                                        ├──permanent / attempts used──> failed
                                                        └──answer lost after sending──> unconfirmed
    unconfirmed ──read back: found──> published
    unconfirmed ──read back: absent twice──> retrying
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from sqlalchemy import BindParameter, ColumnElement, SQLColumnExpression

# The SQL forms at the end import SQLAlchemy and the models when a query is built: the statuses
# and rules are also read by commands (`omnipost --help`, TAB completion) that never touch the
# database.

DRAFT = "draft"
SCHEDULED = "scheduled"
PUBLISHING = "publishing"
PUBLISHED = "published"
RETRYING = "retrying"
FAILED = "failed"
UNCONFIRMED = "unconfirmed"
# In the order a variant usually goes through them (lists and counts follow it).
VARIANT_STATUSES = (DRAFT, SCHEDULED, PUBLISHING, RETRYING, PUBLISHED, FAILED, UNCONFIRMED)

# Due at some moment (``due_time``): the engine claims them when it comes.
WAITING = (SCHEDULED, RETRYING)
# Not yet out and not on their way: a user may still change them.
CHANGEABLE = (DRAFT, SCHEDULED, RETRYING, FAILED)


# --- moves -------------------------------------------------------------------------------------

Mover = Literal["user", "engine"]


@dataclass(frozen=True)
class Move:
    source: str
    target: str
    by: Mover
    why: str


def _moves(by: Mover, why: str, sources: Iterable[str], target: str) -> list[Move]:
    return [Move(source, target, by, why) for source in sources]


MOVES: tuple[Move, ...] = (
    # A user's actions (see ACTIONS for which status allows which).
    *_moves("user", "schedule, publish now or save with a time", CHANGEABLE, SCHEDULED),
    *_moves("user", "retry", (UNCONFIRMED,), SCHEDULED),
    *_moves("user", "unschedule, or save without a time", (SCHEDULED, RETRYING, FAILED), DRAFT),
    *_moves(
        "user", "mark published: the user found it on the page", (FAILED, UNCONFIRMED), PUBLISHED
    ),
    # The engine's.
    *_moves("engine", "claimed when due", WAITING, PUBLISHING),
    *_moves("engine", "missed its window, or its account cannot publish", WAITING, FAILED),
    Move(PUBLISHING, PUBLISHED, "engine", "the platform accepted it"),
    Move(PUBLISHING, RETRYING, "engine", "refused for a moment, attempts left; or never sent"),
    Move(PUBLISHING, FAILED, "engine", "refused for good, token expired, or attempts used up"),
    Move(PUBLISHING, UNCONFIRMED, "engine", "the answer was lost after the request may have left"),
    # Now the truth is known: a late answer to a request recovery already called unconfirmed,
    # or the platform read back (the post is listed; or absent on two reads a settle delay
    # apart, so sending again cannot duplicate it).
    Move(UNCONFIRMED, PUBLISHED, "engine", "a late answer, or read back: the post is there"),
    Move(
        UNCONFIRMED, RETRYING, "engine", "a late answer: refused for a moment; or read back: absent"
    ),
    Move(UNCONFIRMED, FAILED, "engine", "a late answer: refused; or absent and no attempts left"),
)
_EDGES = frozenset((move.source, move.target) for move in MOVES)


def can_move(source: str, target: str) -> bool:
    """Whether the diagram has an edge from ``source`` to ``target`` (staying put is none)."""
    return (source, target) in _EDGES


def require_moves(sources: Iterable[str], target: str) -> None:
    """Guard for code that writes a status: every move it may make must be in the diagram.

    A programming error, not a user's: it fails loudly instead of writing a state the rest of
    OmniPost does not expect.
    """
    wrong = [source for source in sources if source != target and not can_move(source, target)]
    if wrong:
        raise AssertionError(f"no move from {', '.join(wrong)} to {target} in the state machine")


# --- what a user may do ------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """A user's action on one variant: which statuses allow it, and what it leads to."""

    name: str
    done: str  # completes "only failed or unconfirmed variants can be …"
    allowed: tuple[str, ...]
    leads_to: str | None  # None: the status stays as it is

    def allows(self, status: str) -> bool:
        return status in self.allowed

    def refusal(self, variant_id: int, status: str) -> str | None:
        """Why the variant cannot have this done to it now, or None when it can."""
        if self.allows(status):
            return None
        allowed = _or(self.allowed)
        return f"variant {variant_id} is {status}; only {allowed} variants can be {self.done}"


def _or(words: tuple[str, ...]) -> str:
    """``draft, scheduled or failed``."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


PUBLISH_NOW = Action("publish_now", "published now", CHANGEABLE, SCHEDULED)
# Unconfirmed ones only when named: the user has checked the page and knows it is not there.
RETRY = Action("retry", "retried", (FAILED, UNCONFIRMED), SCHEDULED)
EDIT = Action("edit", "edited", CHANGEABLE, None)
RESCHEDULE = Action("reschedule", "rescheduled", CHANGEABLE, SCHEDULED)
UNSCHEDULE = Action("unschedule", "unscheduled", (SCHEDULED, RETRYING, FAILED), DRAFT)
MARK_PUBLISHED = Action("mark_published", "marked published", (UNCONFIRMED, FAILED), PUBLISHED)
# Read the platform back now: is the post there? (The engine does it too, by itself.)
CHECK = Action("check", "checked on the platform", (UNCONFIRMED,), None)
# On the calendar: another day, the same time (a draft gets scheduled).
MOVE_ON_CALENDAR = Action("move", "moved", CHANGEABLE, SCHEDULED)

ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        PUBLISH_NOW,
        RETRY,
        EDIT,
        RESCHEDULE,
        UNSCHEDULE,
        MARK_PUBLISHED,
        CHECK,
        MOVE_ON_CALENDAR,
    )
}


def allows(action: str, status: str) -> bool:
    return ACTIONS[action].allows(status)


@dataclass(frozen=True)
class Saved:
    """What saving a variant in the editor does to its status."""

    status: str
    made_due: bool  # a fresh start: due at its (new) time, with a new budget of attempts


def on_save(current: str | None, *, planned: bool, same_plan: bool) -> Saved:
    """The status a variant (``current``; None: a new one) has after the editor saves it.

    Without a time it is a draft. Saved with the time and account it already had, a scheduled,
    retrying or failed variant stays as it is (saving its text is not a retry). Otherwise it
    becomes due at its time.
    """
    if not planned:
        return Saved(DRAFT, False)
    if current in (SCHEDULED, RETRYING, FAILED) and same_plan:
        return Saved(current, False)
    return Saved(SCHEDULED, True)


# --- "due at", once in Python and once in SQL --------------------------------------------------
# A scheduled variant is due at its planned time (``scheduled_at``) unless something made it due
# at another moment without changing the plan: publish now, a manual retry, a retry's wait. That
# moment is ``next_attempt_at``; a retrying variant always has one.


def due_time(
    status: str, scheduled_at: datetime | None, next_attempt_at: datetime | None
) -> datetime | None:
    """When a variant in ``status`` should be looked at next, or None."""
    if status not in WAITING:
        return None
    return next_attempt_at if next_attempt_at is not None else scheduled_at


def due_by(
    moment: datetime | BindParameter[datetime], *, strictly_before: bool = False
) -> ColumnElement[bool]:
    """``due_time`` at ``moment`` (a time, or a parameter bound to one) or earlier, as two
    range searches on the (status, scheduled_at) and (status, next_attempt_at) indexes."""
    from sqlalchemy import and_, or_

    from omnipost_tui.models import PostVariant

    def reached(column: SQLColumnExpression[datetime | None]) -> ColumnElement[bool]:
        return column < moment if strictly_before else column <= moment

    return or_(
        and_(
            PostVariant.status == SCHEDULED,
            PostVariant.next_attempt_at.is_(None),
            reached(PostVariant.scheduled_at),
        ),
        and_(PostVariant.status.in_(WAITING), reached(PostVariant.next_attempt_at)),
    )


def still_due_at(status: str, due_at: datetime | None) -> tuple[ColumnElement[bool], ...]:
    """The row is still in ``status`` and due at ``due_at``: nobody moved it since it was read."""
    from sqlalchemy import func

    from omnipost_tui.models import PostVariant

    # The due time of this one row (no index behind it: fine for a single-row condition), on
    # the left so the comparison types as SQL.
    due_at_now = func.coalesce(PostVariant.next_attempt_at, PostVariant.scheduled_at)
    same_time = due_at_now.is_(None) if due_at is None else due_at_now == due_at
    return (PostVariant.status == status, same_time)


def still_due_at_bound() -> tuple[ColumnElement[bool], ...]:
    """``still_due_at`` for many rows with one statement: the row's id, the status and the due
    time it was read with are the bound parameters ``row_id``, ``row_status`` and ``row_due``.
    Executed once per row, the statement is compiled once (building one per row cost 1 to 2 ms
    each: seconds for the thousands a sweep meets after an outage)."""
    from sqlalchemy import bindparam, func

    from omnipost_tui.models import PostVariant

    due_at_now = func.coalesce(PostVariant.next_attempt_at, PostVariant.scheduled_at)
    return (
        PostVariant.id == bindparam("row_id"),
        PostVariant.status == bindparam("row_status"),
        due_at_now == bindparam("row_due", type_=PostVariant.scheduled_at.type),
    )
