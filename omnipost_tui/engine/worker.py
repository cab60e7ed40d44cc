"""``omnipost worker``: the huey consumer, a heartbeat, and graceful shutdown on INT and TERM."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

from huey.api import Huey
from huey.consumer import Consumer, Scheduler, Worker

from omnipost_tui.engine.metrics_server import MetricsServer
from omnipost_tui.engine.publisher import close_clients, prepare_clients
from omnipost_tui.engine.queue import describe_queue, huey_of
from omnipost_tui.engine.sweep import SweepReport, sweep
from omnipost_tui.errors import OmniPostError
from omnipost_tui.services import dispatch, workers
from omnipost_tui.services.context import Context
from omnipost_tui.services.workers import HEARTBEAT_INTERVAL
from omnipost_tui.times import format_duration

log = logging.getLogger("omnipost.engine.worker")


class QueueOutage(logging.Filter):
    """A queue that stops answering, told in two lines instead of a traceback per poll.

    huey's worker threads poll the queue several times a second and its scheduler once a second,
    and every failed poll logs a full traceback: a 20 s Redis restart wrote 671 of them (2 MB of
    log, enough to rotate the history away within minutes). As a filter on huey's consumer
    loggers this drops those records; the first one logs "queue … unreachable: reason;
    retrying", the others are counted, and the first read that works again logs how long the
    queue was gone and how many reads failed. Nothing else changes: huey keeps polling (with
    its backoff) and the sweep catches up on anything the outage delayed.
    """

    # What huey 3.5's Worker and Scheduler log, with the traceback, when a poll of the queue
    # fails (a task that fails is another message, and stays).
    POLL_ERRORS = frozenset(
        {
            "Error reading from queue",
            "Error reading schedule.",
            "Error enqueueing %s.",
            "Error enqueueing periodic task %s.",
        }
    )
    # What it logs when the queue fails it around a task that ran (huey deletes the task's
    # revoke key afterwards): the queue's trouble too, when the exception is the queue's.
    AROUND_A_TASK = "Unhandled error during execution of task %s."
    LOGGERS = tuple(f"huey.consumer.{cls.process_name}" for cls in (Worker, Scheduler))

    def __init__(
        self,
        queue_url: str,
        worker_id: str | None = None,
        on_back: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self.shown = describe_queue(queue_url)
        self.worker_id = worker_id
        self.on_back = on_back  # called (in the reading thread) once per outage, when it ends
        self.failures = 0  # failed polls since the worker started; only ever grows
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._failures_at_start = 0

    @contextmanager
    def watching(self) -> Iterator[None]:
        """Filter huey's consumer loggers while the block runs."""
        loggers = [logging.getLogger(name) for name in self.LOGGERS]
        for logger in loggers:
            logger.addFilter(self)
        try:
            yield
        finally:
            for logger in loggers:
                logger.removeFilter(self)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg not in self.POLL_ERRORS and not (
            record.msg == self.AROUND_A_TASK and _from_the_queue(record)
        ):
            return True
        with self._lock:
            self.failures += 1
            first = self._down_since is None
            if first:
                self._down_since = time.monotonic()
                self._failures_at_start = self.failures - 1
        if first:
            exc = record.exc_info[1] if record.exc_info else None
            reason = (str(exc).strip() or type(exc).__name__) if exc else record.getMessage()
            log.warning(
                "queue %s unreachable: %s; retrying",
                self.shown,
                reason.splitlines()[0].rstrip("."),
                extra={"worker": self.worker_id},
            )
            # The traceback once, for whoever runs with -v.
            log.debug("the failed queue read", exc_info=record.exc_info)
        return False

    def read_worked(self) -> None:
        """A read of the queue just returned: if the queue was gone, it is back."""
        if self._down_since is None:  # the usual case, decided without the lock
            return
        with self._lock:
            if self._down_since is None:
                return
            lasted = time.monotonic() - self._down_since
            failed = self.failures - self._failures_at_start
            self._down_since = None
        log.warning(
            "queue %s reachable again after %s (%d failed reads)",
            self.shown,
            format_duration(lasted),
            failed,
            extra={"worker": self.worker_id},
        )
        if self.on_back is not None:
            self.on_back()


def _from_the_queue(record: logging.LogRecord) -> bool:
    """The record's exception came from the queue's storage (Redis or SQLite), not a bug."""
    exc = record.exc_info[1] if record.exc_info else None
    if exc is None:
        return False
    return isinstance(exc, sqlite3.Error | OSError) or type(exc).__module__.startswith("redis.")


class _ReadsWatched:
    """huey as one consumer thread sees it, telling the outage about every read that worked.

    Only a read that returned proves the queue is back: a poll can also end without reading
    (huey's scheduler skips a round when it has fallen behind, which a slow failing read makes
    it do), and must not count as one.
    """

    def __init__(self, huey: Huey, outage: QueueOutage) -> None:
        self._huey = huey
        self._outage = outage

    def __getattr__(self, name: str) -> Any:
        return getattr(self._huey, name)

    def dequeue(self) -> Any:
        task = self._huey.dequeue()
        self._outage.read_worked()
        return task

    def read_schedule(self, *args: Any, **kwargs: Any) -> Any:
        tasks = self._huey.read_schedule(*args, **kwargs)
        self._outage.read_worked()
        return tasks


class OutageAwareWorker(Worker):  # type: ignore[misc]  # huey ships no types
    def __init__(self, huey: Huey, *args: Any, outage: QueueOutage, **kwargs: Any) -> None:
        super().__init__(_ReadsWatched(huey, outage), *args, **kwargs)


class OutageAwareScheduler(Scheduler):  # type: ignore[misc]  # huey ships no types
    def __init__(self, huey: Huey, *args: Any, outage: QueueOutage, **kwargs: Any) -> None:
        super().__init__(_ReadsWatched(huey, outage), *args, **kwargs)


class GracefulConsumer(Consumer):  # type: ignore[misc]  # huey ships no types
    """huey's consumer, with SIGTERM as graceful as SIGINT, and queue outages told briefly.

    systemd, supervisor and ``kill`` send TERM; by default huey treats it as "stop now", which
    would cut a publish in the middle (recovery would then have to call it unconfirmed). Here
    both signals let running publishes finish; a second signal stops at once.

    huey's public ``graceful_signal="TERM"`` (``huey_consumer -g TERM``) makes TERM the graceful
    one, and with it INT the immediate one; so once huey has set its handlers, INT goes back to
    Python's own, a KeyboardInterrupt, which huey's main loop takes as "shut down gracefully"
    and, while it waits for the workers, as "now".
    """

    def __init__(self, *args: Any, outage: QueueOutage, **kwargs: Any) -> None:
        self.outage = outage
        # huey's own extension point for its worker and scheduler (it calls these with keywords).
        self.worker_class = partial(OutageAwareWorker, outage=outage)
        self.scheduler_class = partial(OutageAwareScheduler, outage=outage)
        super().__init__(*args, graceful_signal="TERM", **kwargs)

    def start(self) -> None:
        super().start()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def publishing_cut_short(self) -> bool:
        """After ``run``: a worker thread is still running its task (a second signal stopped the
        consumer without waiting for it)."""
        return any(thread.is_alive() for _, thread in self.worker_threads)

    def run(self) -> None:
        with self.outage.watching(), TaskErrorsInOneLine().watching():
            super().run()


class TaskErrorsInOneLine(logging.Filter):
    """A task that fails with an error written for users (a database locked by another program
    past its busy timeout, a cut connection) is one line in the log: "task … failed: message".

    huey logs every failing task with its traceback, which says nothing more about such an
    error and, under a lock held for a minute, buries the log. Bugs keep their traceback."""

    UNHANDLED = "Unhandled exception in task %s."  # what huey 3.5 logs, on the "huey" logger

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if record.msg == self.UNHANDLED and isinstance(exc, OmniPostError):
            record.msg = "task %s failed: %s"
            record.args = (*(record.args or ()), exc.message)
            record.exc_info = None
            record.exc_text = None
        return True

    @contextmanager
    def watching(self) -> Iterator[None]:
        logger = logging.getLogger("huey")
        logger.addFilter(self)
        try:
            yield
        finally:
            logger.removeFilter(self)


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
            except OmniPostError as exc:  # a locked database for a moment must not kill it
                log.warning("could not write the heartbeat: %s", exc.message)
            except Exception:
                log.warning("could not write the heartbeat", exc_info=True)

    def stop(self) -> None:
        self.stopped.set()


def catch_up_after_outage(ctx: Context, worker_id: str) -> None:
    """Send again, at once, every message the queue may have lost while it was gone.

    A Redis restarted without its data has lost every scheduled message; left to itself the
    sweep would send them again only once they look stale (two minutes after they were sent),
    so a 20 s outage made posts up to two and a half minutes late. Run in its own thread: the
    huey thread that noticed the queue is back goes on reading it.
    """

    def run() -> None:
        try:
            dispatch.forget_dispatches(ctx)
            report = sweep(ctx, worker_id=worker_id)
        except OmniPostError as exc:
            log.warning("could not catch up after the queue outage: %s", exc.message)
            return
        except Exception:
            log.warning("could not catch up after the queue outage", exc_info=True)
            return
        log.info(
            "caught up after the queue outage: %d variant(s) dispatched again",
            len(report.dispatched),
            extra={"worker": worker_id},
        )

    threading.Thread(target=run, name="omnipost-catch-up", daemon=True).start()


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


def run_worker(
    ctx: Context,
    *,
    threads: int,
    periodic: bool,
    metrics_port: int | None = None,
    metrics_host: str = "127.0.0.1",
) -> None:
    worker_id = workers.worker_identity()
    ctx.worker_id = worker_id
    ctx.queue.ping()
    # A key list that cannot be read stops the worker here, as one line, instead of failing
    # every publish; the log says where the keys came from (never a key), which is how to tell
    # that a unit's LoadCredential= took effect.
    cipher = ctx.cipher
    prepare_clients()
    consumer = GracefulConsumer(
        huey_of(ctx),
        outage=QueueOutage(
            ctx.settings.queue_url,
            worker_id,
            on_back=partial(catch_up_after_outage, ctx, worker_id),
        ),
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
    # Bound before anything is registered: a port in use stops the start as one line.
    metrics = MetricsServer(ctx, metrics_host, metrics_port) if metrics_port is not None else None
    workers.register_worker(ctx, worker_id, periodic=periodic)
    heartbeat = Heartbeat(ctx, worker_id)
    heartbeat.start()
    parent = os.environ.get("OMNIPOST_WORKER_PARENT", "")
    if parent.isdigit():
        watch_parent(int(parent))
    log.info(
        "worker started (%d thread(s), sweep %s, %d key(s) from %s)",
        threads,
        "every minute" if periodic else "off",
        cipher.key_count,
        cipher.source,
        extra={"worker": worker_id},
    )
    if metrics is not None:
        metrics.start()
        log.info("metrics at %s", metrics.url, extra={"worker": worker_id})
    try:
        consumer.run()
    finally:
        if metrics is not None:
            metrics.stop()
        if not consumer.publishing_cut_short():
            # Not while a publish stopped at once is still waiting on its request: closing its
            # client would end the wait in an error, which it would record as the platform's
            # answer. The process ends and recovery decides, as after a kill.
            close_clients()
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
    # A key list that cannot be read stops the run here, as one line, not every publish.
    _ = ctx.cipher
    workers.register_worker(ctx, worker_id, periodic=True)
    try:
        report = sweep(ctx, worker_id=worker_id)
        huey = huey_of(ctx)
        for task in huey.read_schedule():
            huey.enqueue(task)
        processed = 0
        while (task := huey.dequeue()) is not None:
            # Tasks whose eta is still ahead go back to the schedule for the next run.
            huey.execute(task)
            processed += 1
        return OnceReport(report, processed)
    finally:
        close_clients()
        workers.unregister_worker(ctx, worker_id)
