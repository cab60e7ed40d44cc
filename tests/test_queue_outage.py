"""A queue that goes away and comes back: two lines in the log, not a traceback per poll, and
what came due meanwhile is still published.

The Redis case runs a real ``omnipost worker`` against a private ``redis-server`` that the test
stops and starts again (skipped with the reason when ``redis-server`` is not installed, unless
OMNIPOST_REQUIRE_SERVICES=1). The SQLite case drives huey's own worker loop in-process against
a real queue file that another connection holds locked.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest
from huey import SqliteHuey

from omnipost_tui import clock
from omnipost_tui.config import load_settings
from omnipost_tui.engine.queue import open_queue
from omnipost_tui.engine.worker import GracefulConsumer, QueueOutage
from omnipost_tui.services.accounts import add_account
from omnipost_tui.services.brands import add_brand
from omnipost_tui.services.context import open_context
from omnipost_tui.services.posts import add_post
from omnipost_tui.services.variants import add_variant, get_variant
from tests.conftest import FB_TOKEN, RedisServer, wait_for

UNREACHABLE = "unreachable:"
BACK = "reachable again after"


def log_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8", errors="replace").splitlines()


# --- Redis: a real worker, a real redis-server stopped and started ----------------------------
# (the redis_server fixture is in conftest.py)


@pytest.mark.slow
def test_a_redis_restart_is_two_lines_in_the_log_and_nothing_is_lost(
    home, sandbox, redis_server: RedisServer, process_env, monkeypatch, start_worker
):
    values = {
        "OMNIPOST_QUEUE_URL": redis_server.url,
        "OMNIPOST_FACEBOOK_GRAPH_URL": sandbox.url,
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    process_env.update(values)
    ctx = open_context(load_settings(), open_queue=open_queue)
    log_file = ctx.settings.paths.log_file
    try:
        brand = add_brand(ctx, "Acme").id
        page = add_account(
            ctx,
            brand=brand,
            platform="facebook",
            external_id="104200",
            name="Acme Page",
            access_token=FB_TOKEN,
        ).id
        post = add_post(ctx, brand=brand, title="Launch", text="Out while Redis restarts").id
        worker = start_worker()
        wait_for(
            lambda: "worker started" in worker.output(), timeout=30, what="the worker to start"
        )

        due = clock.now() + timedelta(seconds=3)
        variant = add_variant(ctx, post=post, account=page, at=due).id
        redis_server.stop()
        wait_for(lambda: UNREACHABLE in worker.output(), timeout=10, what="the worker to notice")
        # The variant comes due while the queue is gone, and more polls fail meanwhile.
        wait_for(lambda: clock.now() > due + timedelta(seconds=2), timeout=10, what="its time")
        assert get_variant(ctx, variant).status == "scheduled"
        assert worker.proc.poll() is None, worker.output()

        redis_server.start()
        wait_for(
            lambda: get_variant(ctx, variant).status == "published",
            timeout=30,
            what="the variant to be published once Redis is back",
        )
        wait_for(lambda: BACK in worker.output(), timeout=10, what="the worker to say so")
    finally:
        ctx.close()

    assert [p.account for p in sandbox.posts] == ["104200"]
    for lines in (log_lines(log_file), worker.output().splitlines()):
        gone = [line for line in lines if UNREACHABLE in line]
        back = [line for line in lines if BACK in line]
        assert len(gone) == 1 and len(back) == 1, "\n".join(lines)
        assert f"queue {redis_server.url} unreachable: " in gone[0]
        assert "; retrying" in gone[0]
        assert "failed reads)" in back[0]
        assert not [line for line in lines if "Traceback" in line or "Error reading" in line]


# --- SQLite: huey's worker loop against a locked queue file ---------------------------------


class Recorder(logging.Handler):
    """Every record that reaches the handlers of the given loggers (the app's loggers do not
    propagate to the root, so pytest's caplog would not see them)."""

    def __init__(self, *names: str) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.loggers = [logging.getLogger(name) for name in names]

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __enter__(self) -> Recorder:
        for logger in self.loggers:
            logger.addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        for logger in self.loggers:
            logger.removeHandler(self)


def test_a_locked_sqlite_queue_is_reported_once_and_counted(tmp_path: Path):
    queue_file = tmp_path / "queue.db"
    # A short busy timeout so that each poll gives up at once (the worker waits 15 s).
    huey = SqliteHuey("outage-test", filename=str(queue_file), results=False, timeout=0.05)
    ran = threading.Event()

    @huey.task()
    def job() -> None:
        ran.set()

    job()  # one message waiting, so a poll has to take the write lock to dequeue it
    outage = QueueOutage(f"sqlite:///{queue_file}", "test-worker")
    consumer = GracefulConsumer(
        huey, outage=outage, workers=1, initial_delay=0.001, max_delay=0.001
    )
    worker = consumer.worker_threads[0][0]
    locker = sqlite3.connect(queue_file, isolation_level=None)

    with Recorder("omnipost", "huey") as recorded, outage.watching(), closing(locker):
        locker.execute("BEGIN EXCLUSIVE")  # another process holds the queue's write lock
        for _ in range(5):
            worker.loop()
        assert not ran.is_set()
        locker.execute("ROLLBACK")
        worker.loop()

    assert ran.is_set(), "the waiting message ran once the lock was gone"
    said = [r.getMessage() for r in recorded.records if r.levelno >= logging.WARNING]
    assert said == [
        f"queue sqlite:///{queue_file} unreachable: database is locked; retrying",
        f"queue sqlite:///{queue_file} reachable again after 0s (5 failed reads)",
    ]
    assert not [r for r in recorded.records if r.exc_info and r.levelno > logging.DEBUG]


def test_slow_failing_reads_do_not_announce_the_queue_back_until_a_read_works():
    """A read that fails slowly (a Redis that times out, a locked file) makes huey's scheduler
    fall behind and skip its next round without reading; that round must not count as the
    queue being back. (huey's scheduler ticks at least once a second, hence a 2 s read.)"""
    import time as real_time

    from huey import MemoryHuey

    from omnipost_tui.engine.worker import OutageAwareScheduler

    huey = MemoryHuey("outage-slow", results=False)
    down = threading.Event()
    down.set()
    read_schedule = huey.storage.read_schedule

    def slow_then_fail(timestamp):
        if down.is_set():
            real_time.sleep(2.1)
            raise ConnectionError("Timeout reading from socket")
        return read_schedule(timestamp)

    huey.storage.read_schedule = slow_then_fail
    outage = QueueOutage("redis://queue:6379/0", "test-worker")
    scheduler = OutageAwareScheduler(
        huey=huey, stop_flag=threading.Event(), interval=1, periodic=False, outage=outage
    )
    with Recorder("omnipost", "huey") as recorded, outage.watching():
        for _ in range(4):  # fail, skip, fail, skip
            scheduler.loop()
        assert [r.getMessage() for r in recorded.records if r.levelno >= logging.WARNING] == [
            "queue redis://queue:6379/0 unreachable: Timeout reading from socket; retrying"
        ]
        down.clear()
        scheduler.loop()

    said = [r.getMessage() for r in recorded.records if r.levelno >= logging.WARNING]
    assert len(said) == 2 and said[1].startswith("queue redis://queue:6379/0 reachable again")
