"""Worker heartbeats: how the TUI, ``status`` and ``doctor`` know a worker is alive."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from omnipost_tui import clock
from omnipost_tui.models import WorkerHeartbeat
from omnipost_tui.services.context import Context

HEARTBEAT_INTERVAL = timedelta(seconds=5)
# A worker whose last beat is older than this is considered gone.
ONLINE_WITHIN = timedelta(seconds=30)
# Rows of workers that stopped long ago are pruned so the table stays small.
FORGET_AFTER = timedelta(days=7)


@dataclass(frozen=True)
class WorkerView:
    id: str
    hostname: str
    pid: int
    started_at: datetime
    beat_at: datetime
    periodic: bool
    last_sweep_at: datetime | None
    stopped_at: datetime | None

    def age(self, now: datetime) -> float:
        return (now - self.beat_at).total_seconds()

    def online(self, now: datetime) -> bool:
        return self.stopped_at is None and now - self.beat_at <= ONLINE_WITHIN


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# Cron installs run one-shot processes every minute: one heartbeat row per host and kind
# (`worker --once`, `schedule`), not one per process.
ONCE = "once"
SCHEDULE = "schedule"


def one_shot_identity(kind: str) -> str:
    return f"{socket.gethostname()}:{kind}"


def is_one_shot(worker_id: str, kind: str) -> bool:
    return worker_id.endswith(f":{kind}")


def register_worker(ctx: Context, worker_id: str, *, periodic: bool) -> None:
    now = clock.now()
    with ctx.db.write() as session:
        session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.beat_at < now - FORGET_AFTER))
        row = session.get(WorkerHeartbeat, worker_id)
        if row is None:
            row = WorkerHeartbeat(id=worker_id, hostname=socket.gethostname(), pid=os.getpid())
            session.add(row)
        row.started_at = now
        row.beat_at = now
        row.periodic = periodic
        row.stopped_at = None


def beat(ctx: Context, worker_id: str, *, swept: bool = False) -> None:
    now = clock.now()
    values: dict[str, object] = {"beat_at": now}
    if swept:
        values["last_sweep_at"] = now
    with ctx.db.write() as session:
        session.execute(
            update(WorkerHeartbeat).where(WorkerHeartbeat.id == worker_id).values(**values)
        )


def record_sweep(ctx: Context, worker_id: str | None) -> None:
    if worker_id is not None:
        beat(ctx, worker_id, swept=True)


def unregister_worker(ctx: Context, worker_id: str) -> None:
    now = clock.now()
    with ctx.db.write() as session:
        session.execute(
            update(WorkerHeartbeat)
            .where(WorkerHeartbeat.id == worker_id)
            .values(stopped_at=now, beat_at=now)
        )


def list_workers(ctx: Context) -> list[WorkerView]:
    with ctx.db.read() as session:
        rows = session.scalars(
            select(WorkerHeartbeat).order_by(WorkerHeartbeat.beat_at.desc())
        ).all()
        return [
            WorkerView(
                r.id,
                r.hostname,
                r.pid,
                r.started_at,
                r.beat_at,
                r.periodic,
                r.last_sweep_at,
                r.stopped_at,
            )
            for r in rows
        ]


def worker_online(ctx: Context, now: datetime | None = None) -> bool:
    now = now or clock.now()
    return any(w.online(now) for w in list_workers(ctx))
