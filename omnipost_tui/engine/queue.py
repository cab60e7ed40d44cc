"""The huey queue. It only carries "look at variant N now"; the database holds the truth.

Tasks are registered on the huey instance when it is made, so the producer (CLI/TUI) and the
consumer (``omnipost worker``) always agree on task names. Task bodies import the engine lazily:
enqueuing must stay cheap for the CLI.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from omnipost_tui.engine.huey_loader import (
    Huey,
    MemoryHuey,
    RedisHuey,
    SqliteHuey,
    TaskWrapper,
    crontab,
    redis_for_huey,
)
from omnipost_tui.errors import QueueUnavailable
from omnipost_tui.files import create_private_file, expand_user
from omnipost_tui.redact import mask_url_password
from omnipost_tui.times import ensure_utc

if TYPE_CHECKING:
    from omnipost_tui.config import Settings
    from omnipost_tui.services.context import Context

PUBLISH_TASK = "omnipost.publish_variant"
SWEEP_TASK = "omnipost.sweep"
ALERT_TASK = "omnipost.deliver_alert"
TOKEN_CHECK_TASK = "omnipost.check_tokens"
STAGE_TASK = "omnipost.stage_media"
DISCARD_TASK = "omnipost.discard_staged_media"
READ_BACK_TASK = "omnipost.read_back"
# How long a SQLite queue waits for another process's write lock (a worker holds it for
# milliseconds); the same patience as the database's.
SQLITE_QUEUE_BUSY_TIMEOUT_S = 15


def make_huey(queue_url: str, name: str) -> Huey:
    if queue_url.startswith(("redis://", "rediss://")):
        redis = redis_for_huey()
        # A host that silently drops packets must not hang a command for minutes.
        pool = redis.ConnectionPool.from_url(queue_url, socket_connect_timeout=5)
        # results=False: nobody reads task results, and storing them would grow the queue.
        return RedisHuey(name, connection_pool=pool, results=False)
    if queue_url.startswith("memory://"):
        return MemoryHuey(name, results=False)
    if not queue_url.startswith("sqlite:///"):
        raise QueueUnavailable(f"queue URL {queue_url!r} must look like sqlite:///PATH")
    # Same convention as SQLAlchemy: sqlite:///relative/path, sqlite:////absolute/path.
    path = expand_user(queue_url.removeprefix("sqlite:///"), "OMNIPOST_QUEUE_URL").resolve()
    create_private_file(path)
    try:
        # The first argument is the queue name, not the file (DESIGN.md, huey facts). Opening
        # it creates huey's tables in a write transaction, which waits for another writer.
        return SqliteHuey(
            name, filename=str(path), results=False, timeout=SQLITE_QUEUE_BUSY_TIMEOUT_S
        )
    except sqlite3.Error as exc:
        raise QueueUnavailable(_sqlite_queue_problem(path, exc)) from exc


def _sqlite_queue_problem(path: Path, exc: BaseException) -> str:
    reason = _first_line(exc)
    if "locked" in reason or "busy" in reason:
        return (
            f"queue file {path} stayed locked for {SQLITE_QUEUE_BUSY_TIMEOUT_S} s (another "
            "process holds a write lock on it); try again"
        )
    return f"cannot use the queue file {path}: {reason}"


def describe_queue(queue_url: str) -> str:
    return mask_url_password(queue_url)  # redis://:password@host must not be printed


def open_queue(settings: Settings, context: Callable[[], Context] | None) -> Queue:
    """The ``WorkQueue`` the services send through (``services.context.QueueOpener``)."""
    return Queue(settings.queue_url, settings.queue_name, context)


def engine_queue(ctx: Context) -> Queue:
    """A context's queue as the engine's own (the worker side: its huey, its own tasks)."""
    queue = ctx.queue
    if not isinstance(queue, Queue):
        raise TypeError(f"a worker needs the engine's queue, not {type(queue).__name__}")
    return queue


def huey_of(ctx: Context) -> Huey:
    """The huey instance behind a context's queue, for the consumer that runs its tasks."""
    return engine_queue(ctx).huey


class Queue:
    """The huey instance plus its tasks, with errors turned into QueueUnavailable: the engine's
    ``WorkQueue``."""

    def __init__(self, queue_url: str, name: str, context: Callable[[], Context] | None) -> None:
        self.url = queue_url
        self.huey = make_huey(queue_url, name)
        tasks = _register_tasks(self.huey, context)
        self._publish, self._sweep, self._alert, self._token_check = tasks[:4]
        self._stage, self._discard, self._read_back = tasks[4:]

    def ping(self) -> None:
        """Fail fast, before anything is written, when the queue cannot be reached."""
        storage = self.huey.storage
        try:
            conn = getattr(storage, "conn", None)
            if isinstance(self.huey, RedisHuey) and conn is not None:
                conn.ping()
            elif isinstance(self.huey, SqliteHuey):
                # Reading goes past another process's write lock (WAL); queuing would not.
                # Take the write lock and let it go: nothing is written.
                with storage.db(commit=True):
                    pass
            else:
                storage.queue_size()
        except sqlite3.Error as exc:
            raise QueueUnavailable(_sqlite_queue_problem(Path(storage.filename), exc)) from exc
        except Exception as exc:
            raise QueueUnavailable(
                f"queue {describe_queue(self.url)} is unreachable: {_first_line(exc)}"
            ) from exc

    def enqueue_publish(self, variant_id: int, eta: datetime | None = None) -> None:
        """Ask a worker to look at ``variant_id`` (at ``eta``, an aware datetime, if given)."""
        try:
            if eta is None:
                self._publish(variant_id)
            else:
                # Aware UTC: huey treats naive datetimes as local time.
                self._publish.schedule((variant_id,), eta=ensure_utc(eta))
        except Exception as exc:
            raise QueueUnavailable(
                f"could not queue variant {variant_id} on {describe_queue(self.url)}: "
                f"{_first_line(exc)}"
            ) from exc

    def enqueue_alert(self, key: str, eta: datetime | None = None) -> None:
        """Ask a worker to POST alert ``key`` to the webhook (at ``eta``, if given)."""
        try:
            if eta is None:
                self._alert(key)
            else:
                self._alert.schedule((key,), eta=ensure_utc(eta))
        except Exception as exc:
            raise QueueUnavailable(
                f"could not queue an alert on {describe_queue(self.url)}: {_first_line(exc)}"
            ) from exc

    def enqueue_token_check(self) -> None:
        """Ask a worker to run the daily token check now."""
        try:
            self._token_check()
        except Exception as exc:
            raise QueueUnavailable(
                f"could not queue the token check on {describe_queue(self.url)}: {_first_line(exc)}"
            ) from exc

    def enqueue_stage(self, variant_id: int) -> None:
        """Ask a worker to upload ``variant_id``'s images now, ahead of its time."""
        self._send(self._stage, (variant_id,), f"the images of variant {variant_id}")

    def enqueue_discard(self) -> None:
        """Ask a worker to delete uploads that no post will use."""
        self._send(self._discard, (), "the clean-up of unused uploads")

    def enqueue_read_back(self, variant_id: int, eta: datetime | None = None) -> None:
        """Ask a worker to read the platform back for unconfirmed ``variant_id`` (at ``eta``)."""
        self._send(self._read_back, (variant_id,), f"the read-back of variant {variant_id}", eta)

    def _send(
        self,
        task: TaskWrapper,
        args: tuple[object, ...],
        what: str,
        eta: datetime | None = None,
    ) -> None:
        try:
            if eta is None:
                task(*args)
            else:
                task.schedule(args, eta=ensure_utc(eta))
        except Exception as exc:
            raise QueueUnavailable(
                f"could not queue {what} on {describe_queue(self.url)}: {_first_line(exc)}"
            ) from exc

    def counts(self) -> tuple[int, int]:
        """(pending, scheduled) messages in the queue."""
        try:
            return self.huey.pending_count(), self.huey.scheduled_count()
        except Exception as exc:
            raise QueueUnavailable(
                f"queue {describe_queue(self.url)} is unreachable: {_first_line(exc)}"
            ) from exc

    @property
    def sweep_task(self) -> TaskWrapper:
        return self._sweep

    def close(self) -> None:
        storage = self.huey.storage
        close = getattr(storage, "close", None)
        if callable(close):
            close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _register_tasks(
    huey: Huey, context_or_none: Callable[[], Context] | None
) -> tuple[TaskWrapper, ...]:
    def context() -> Context:
        if context_or_none is None:
            raise RuntimeError("this queue only sends; it runs no tasks")
        return context_or_none()

    @huey.task(name=PUBLISH_TASK)  # type: ignore[untyped-decorator]  # huey ships no types
    def publish_variant(variant_id: int) -> None:
        from omnipost_tui.engine.publisher import publish_variant as run

        run(context(), variant_id)

    # Every minute from consumer start (huey's periodic clock), not at :00.
    @huey.periodic_task(crontab(minute="*"), name=SWEEP_TASK)  # type: ignore[untyped-decorator]  # huey ships no types
    def sweep() -> None:
        from omnipost_tui.engine.sweep import sweep as run

        run(context())

    @huey.task(name=ALERT_TASK)  # type: ignore[untyped-decorator]  # huey ships no types
    def deliver_alert(key: str) -> None:
        from omnipost_tui.engine.alerting import deliver

        deliver(context(), key)

    @huey.task(name=TOKEN_CHECK_TASK)  # type: ignore[untyped-decorator]  # huey ships no types
    def check_tokens() -> None:
        from omnipost_tui.engine.token_watch import check_tokens as run

        run(context())

    @huey.task(name=STAGE_TASK)  # type: ignore[untyped-decorator]  # huey ships no types
    def stage_media(variant_id: int) -> None:
        from omnipost_tui.engine.staging import stage_ahead

        stage_ahead(context(), variant_id)

    @huey.task(name=DISCARD_TASK)  # type: ignore[untyped-decorator]  # huey ships no types
    def discard_staged_media() -> None:
        from omnipost_tui.engine.staging import discard_stale

        discard_stale(context())

    @huey.task(name=READ_BACK_TASK)  # type: ignore[untyped-decorator]  # huey ships no types
    def read_back(variant_id: int) -> None:
        from omnipost_tui.engine.readback import read_back as run

        run(context(), variant_id)

    return (
        publish_variant,
        sweep,
        deliver_alert,
        check_tokens,
        stage_media,
        discard_staged_media,
        read_back,
    )
