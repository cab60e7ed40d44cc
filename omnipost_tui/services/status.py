"""The at-a-glance picture: counts per status, what is due, workers, and the queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from omnipost_tui import clock
from omnipost_tui.errors import QueueUnavailable
from omnipost_tui.models import PostVariant
from omnipost_tui.services import workers
from omnipost_tui.services.context import Context
from omnipost_tui.services.workers import WorkerView
from omnipost_tui.states import SCHEDULED, VARIANT_STATUSES, due_by


@dataclass(frozen=True)
class StatusReport:
    now: datetime
    counts: dict[str, int]
    due_now: int
    next_due_at: datetime | None
    next_due_variant: int | None
    workers: list[WorkerView]
    queue_pending: int | None
    queue_scheduled: int | None
    queue_error: str | None

    @property
    def online_workers(self) -> list[WorkerView]:
        return [w for w in self.workers if w.online(self.now)]

    @property
    def heartbeat_age(self) -> float | None:
        """Seconds since the freshest heartbeat of any worker, stopped ones (cron's
        ``worker --once``) included; None when no worker ever ran."""
        if not self.workers:
            return None
        return min(w.age(self.now) for w in self.workers)

    @property
    def last_sweep_at(self) -> datetime | None:
        sweeps = [w.last_sweep_at for w in self.workers if w.last_sweep_at is not None]
        return max(sweeps) if sweeps else None


def variant_counts(session: Session, now: datetime) -> tuple[dict[str, int], int]:
    """Variants per status (every status, 0 included) and how many are due and unclaimed."""
    counts = dict.fromkeys(VARIANT_STATUSES, 0)
    counts.update(
        session.execute(select(PostVariant.status, func.count()).group_by(PostVariant.status)).all()
    )
    due_now = session.scalar(select(func.count()).select_from(PostVariant).where(due_by(now)))
    return counts, int(due_now or 0)


def status_report(ctx: Context, *, with_queue: bool = True) -> StatusReport:
    now = clock.now()
    with ctx.db.read() as session:
        counts, due_now = variant_counts(session, now)
        next_row = session.execute(
            select(PostVariant.id, PostVariant.scheduled_at)
            .where(
                PostVariant.status == SCHEDULED,
                PostVariant.next_attempt_at.is_(None),  # not already due by other means
                PostVariant.scheduled_at > now,
            )
            .order_by(PostVariant.scheduled_at, PostVariant.id)
            .limit(1)
        ).first()
    pending = scheduled = None
    queue_error = None
    if with_queue:
        try:
            pending, scheduled = ctx.queue.counts()
        except QueueUnavailable as exc:
            queue_error = str(exc.__cause__ or exc).strip().splitlines()[0]  # just the reason
    return StatusReport(
        now=now,
        counts=counts,
        due_now=due_now,
        next_due_at=next_row[1] if next_row else None,
        next_due_variant=next_row[0] if next_row else None,
        workers=workers.list_workers(ctx),
        queue_pending=pending,
        queue_scheduled=scheduled,
        queue_error=queue_error,
    )
