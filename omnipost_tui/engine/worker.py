"""``omnipost worker``: the huey consumer, a heartbeat, and graceful shutdown on INT and TERM."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass

from huey.consumer import Consumer

from omnipost_tui.engine.sweep import SweepReport, sweep
from omnipost_tui.services import workers
from omnipost_tui.services.context import Context
from omnipost_tui.services.workers import HEARTBEAT_INTERVAL

log = logging.getLogger("omnipost.engine.worker")


class GracefulConsumer(Consumer):
    """huey's consumer, with SIGTERM as graceful as SIGINT.

    systemd, supervisor and ``kill`` send TERM; huey treats it as "stop now", which would cut a
    publish in the middle (recovery would then have to call it unconfirmed). Here both signals
    let running publishes finish; a second signal stops at once.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._signal_actions[signal.SIGINT] = (False, True)
        self._signal_actions[signal.SIGTERM] = (False, True)


class Heartbeat(threading.Thread):
    def __init__(self, ctx: Context, worker_id: str) -> None:
        super().__init__(name="omnipost-heartbeat", daemon=True)
        self.ctx = ctx
        self.worker_id = worker_id
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(HEARTBEAT_INTERVAL.total_seconds()):
            try:
                workers.beat(self.ctx, self.worker_id)
            except Exception:  # a locked database for a moment must not kill the heartbeat
                log.warning("could not write the heartbeat", exc_info=True)

    def stop(self) -> None:
        self.stopped.set()


def watch_parent(parent: int) -> threading.Thread:
    """Stop gracefully (SIGTERM to ourselves) once ``parent`` is gone.

    For workers started by another process (``omnipost demo``): if that process is killed
    without stopping us, we must not keep running on our own.
    """

    def run() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        log.warning("the process that started this worker is gone; stopping")
        os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=run, name="omnipost-parent-watch", daemon=True)
    thread.start()
    return thread


def run_worker(ctx: Context, *, threads: int, periodic: bool) -> None:
    worker_id = workers.worker_identity()
    ctx.worker_id = worker_id
    ctx.queue.ping()
    consumer = GracefulConsumer(
        ctx.queue.huey,
        workers=threads,
        worker_type="thread",
        periodic=periodic,
        scheduler_interval=1,
        # An idle SqliteHuey worker polls with backoff up to max_delay; the default (10 s) would
        # make a post up to 10 s late. Polling four times a second costs a trivial query.
        initial_delay=0.05,
        max_delay=0.25,
        check_worker_health=True,
        # A publish holds its claim at most this long; waiting longer cannot help.
        shutdown_timeout=ctx.settings.publish_timeout,
    )
    workers.register_worker(ctx, worker_id, periodic=periodic)
    heartbeat = Heartbeat(ctx, worker_id)
    heartbeat.start()
    parent = os.environ.get("OMNIPOST_WORKER_PARENT", "")
    if parent.isdigit():
        watch_parent(int(parent))
    log.info(
        "worker started (%d thread(s), sweep %s)",
        threads,
        "every minute" if periodic else "off",
        extra={"worker": worker_id},
    )
    try:
        consumer.run()
    finally:
        heartbeat.stop()
        workers.unregister_worker(ctx, worker_id)
        log.info("worker stopped", extra={"worker": worker_id})


@dataclass
class OnceReport:
    sweep: SweepReport
    processed: int  # queue messages handled (published, skipped as duplicates, or re-parked)


def sweep_now(ctx: Context) -> SweepReport:
    """``omnipost schedule``: one sweep, recorded like a worker's so status and doctor see it."""
    worker_id = workers.one_shot_identity(workers.SCHEDULE)
    workers.register_worker(ctx, worker_id, periodic=True)
    try:
        return sweep(ctx, worker_id=worker_id)
    finally:
        workers.unregister_worker(ctx, worker_id)


def run_once(ctx: Context) -> OnceReport:
    """Sweep, then run every queued task that is due now, in this process; for cron installs."""
    worker_id = workers.one_shot_identity(workers.ONCE)
    ctx.worker_id = worker_id
    ctx.queue.ping()
    workers.register_worker(ctx, worker_id, periodic=True)
    try:
        report = sweep(ctx, worker_id=worker_id)
        huey = ctx.queue.huey
        for task in huey.read_schedule():
            huey.enqueue(task)
        processed = 0
        while (task := huey.dequeue()) is not None:
            # Tasks whose eta is still ahead go back to the schedule for the next run.
            huey.execute(task)
            processed += 1
        return OnceReport(report, processed)
    finally:
        workers.unregister_worker(ctx, worker_id)
