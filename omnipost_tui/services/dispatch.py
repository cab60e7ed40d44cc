"""Sending "look at variant N" messages to the queue, with an exact eta when due soon.

Whoever makes a variant due within the look-ahead window dispatches it (DESIGN.md, guarantee 4);
the sweep catches the rest. ``dispatched_at`` records that a message is on its way for the
current due time, so the sweep does not send another every minute.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update

from omnipost_tui import clock
from omnipost_tui.db import rows_matched
from omnipost_tui.errors import QueueUnavailable
from omnipost_tui.models import PostVariant
from omnipost_tui.services.context import Context
from omnipost_tui.states import WAITING, still_due_at_bound

log = logging.getLogger("omnipost.dispatch")

# A little over the sweep interval, so every variant is dispatched by at least one sweep before
# it is due, with its exact time as the eta.
LOOKAHEAD = timedelta(seconds=90)
# A message sent this long ago whose variant is still not claimed was lost (queue flushed,
# consumer killed mid-task); the sweep sends another. Duplicates are harmless (claims are CAS).
STALE_DISPATCH = timedelta(seconds=120)
# huey's scheduler looks at its schedule once a second, so a message with eta T arrives anywhere
# in [T, T+1s]. Asking for it a second early and letting the task wait out the rest (it never
# publishes before its time) puts the post out within a few milliseconds of its minute.
ARRIVE_EARLY = timedelta(seconds=1)


@dataclass(frozen=True)
class Dispatched:
    variant_id: int
    due_at: datetime
    eta: datetime | None  # when the message is delivered; None: at once


def dispatch(
    ctx: Context, items: list[tuple[int, str, datetime]], now: datetime | None = None
) -> list[Dispatched]:
    """Queue every (variant id, status, due time) due within the look-ahead; skip the rest."""
    now = now or clock.now()
    sent: list[tuple[Dispatched, str]] = []
    try:
        for variant_id, status, due_at in items:
            if due_at > now + LOOKAHEAD:
                continue
            eta = due_at - ARRIVE_EARLY if due_at - ARRIVE_EARLY > now else None
            ctx.queue.enqueue_publish(variant_id, eta)
            sent.append((Dispatched(variant_id, due_at, eta), status))
    finally:
        # What was queued is recorded even when the queue failed part-way, all in one write (a
        # write each made the sweep's dispatch of 100 variants take 80 to 120 ms).
        _record_dispatches(ctx, sent, now)
    return [dispatched for dispatched, _ in sent]


def dispatch_saved(
    ctx: Context, items: list[tuple[int, str, datetime]], now: datetime | None = None
) -> None:
    """``dispatch`` after a user's change was committed: best effort.

    The change is saved whatever happens here, and the sweep dispatches anything a lost message
    leaves behind. Failing the command now would invite the user to run it again, scheduling
    the post twice.
    """
    try:
        dispatch(ctx, items, now)
    except QueueUnavailable as exc:
        log.warning("saved, but not queued (the sweep will): %s", exc.message)


def _record_dispatches(ctx: Context, sent: list[tuple[Dispatched, str]], now: datetime) -> None:
    if not sent:
        return
    # Each only if the due time is still the one we sent for: a reschedule in between resets
    # dispatched_at, and must not be hidden by our stale write.
    statement = update(PostVariant).where(*still_due_at_bound()).values(dispatched_at=now)
    with ctx.db.write() as session:
        connection = session.connection()
        for dispatched, status in sent:
            params = {"row_id": dispatched.variant_id, "row_status": status}
            connection.execute(statement, {**params, "row_due": dispatched.due_at})


def forget_dispatches(ctx: Context) -> int:
    """The queue may have lost every message (a Redis restarted empty): mark each variant's
    message as not sent, so that the next sweep sends them all again at once instead of after
    ``STALE_DISPATCH``. How many were marked. Duplicates are harmless (claims are CAS)."""
    with ctx.db.write() as session:
        result = session.execute(
            update(PostVariant)
            # Only waiting variants carry a message (a claim or an answer clears it); their
            # status keeps this to the index instead of a scan of the whole history.
            .where(PostVariant.status.in_(WAITING), PostVariant.dispatched_at.is_not(None))
            .values(dispatched_at=None)
        )
    return rows_matched(result)
