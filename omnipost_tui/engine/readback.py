"""The read-back task: settle an unconfirmed variant by asking the platform (services/readback.py
has the rules), then queue what follows — the next read, or the publish that sends it again."""

from __future__ import annotations

import logging
from datetime import datetime

from omnipost_tui import clock
from omnipost_tui.engine import alerting
from omnipost_tui.engine.queue import engine_queue
from omnipost_tui.errors import InvalidTransition, NotFound
from omnipost_tui.services import readback
from omnipost_tui.services.context import Context
from omnipost_tui.services.dispatch import ARRIVE_EARLY, LOOKAHEAD
from omnipost_tui.states import FAILED, UNCONFIRMED

log = logging.getLogger("omnipost.engine.read_back")

# A message this early is for a check_at that moved (a read in between): the new one has its
# own message, or the sweep sends it.
MAX_EARLY_S = 5.0


def read_back(ctx: Context, variant_id: int) -> readback.Verdict | None:
    """Run the read-back the engine planned for ``variant_id``, if it is still due."""
    try:
        target = readback.load_target(ctx, variant_id)
    except (NotFound, InvalidTransition):
        return None  # settled meanwhile (a late answer, a user, another read)
    early = (target.check_at - clock.now()).total_seconds() if target.check_at else None
    if early is None or early > MAX_EARLY_S:
        return None
    if early > 0:
        clock.sleep(early)  # messages are asked for a second early (ARRIVE_EARLY)
    verdict = readback.check(ctx, variant_id, by="engine")
    fields = {"variant": variant_id, "outcome": verdict.status}
    level = logging.INFO if verdict.status not in (UNCONFIRMED, FAILED) else logging.WARNING
    if verdict.check_at is not None:
        level = logging.INFO  # still being settled: nothing for a human yet
    log.log(level, "read back: %s", verdict.message, extra=fields)
    if verdict.check_at is not None:
        queue_next(ctx, variant_id, verdict.check_at, clock.now())
    elif verdict.status in (UNCONFIRMED, FAILED):
        alerting.notice(ctx)  # left for a human
    return verdict


def queue_next(ctx: Context, variant_id: int, check_at: datetime, now: datetime) -> bool:
    """Queue the read-back planned for ``check_at`` if it falls within the look-ahead (the sweep
    queues later ones). True when a message went out."""
    if check_at > now + LOOKAHEAD:
        return False
    eta = check_at - ARRIVE_EARLY if check_at - ARRIVE_EARLY > now else None
    try:
        engine_queue(ctx).enqueue_read_back(variant_id, eta)
    except Exception as exc:  # the sweep sends it
        log.warning("could not queue the read-back; the sweep will: %s", exc)
        return False
    readback.mark_dispatched(ctx, variant_id, check_at, now)
    return True


def queue_due(ctx: Context, now: datetime) -> list[int]:
    """The sweep's part: queue every read-back due within the look-ahead."""
    horizon = now + LOOKAHEAD
    queued = []
    for variant_id, check_at in readback.due_checks(ctx, now, horizon):
        if queue_next(ctx, variant_id, check_at, now):
            queued.append(variant_id)
    return queued
