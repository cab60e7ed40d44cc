"""Storage faults under a burst of a few hundred posts, on SQLite + SqliteHuey and on
PostgreSQL + Redis, each checked by comparing the sandbox's log of what it received with the
database: nothing sent twice, nothing lost, everything ``published`` with the id the platform
issued, nothing left ``scheduled`` or ``publishing``, the worker alive, each error one log line.

The same faults at full length, with their numbers: python -m tests.benchmarks.faults_storage
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from omnipost_tui import clock
from omnipost_tui.config import load_settings
from omnipost_tui.engine.queue import open_queue
from omnipost_tui.services.attempts import list_attempts
from omnipost_tui.services.context import Context, open_context
from tests.benchmarks.faults_storage import (
    POSTGRES,
    SQLITE,
    Burst,
    Tally,
    cut_worker_connections,
    multi_line_entries,
    schedule_burst,
    spread_over,
    tally,
    unpublished,
    worker_database_url,
    write_locked,
)
from tests.conftest import REDIS_URL, WorkerProcess, wait_for

pytestmark = pytest.mark.slow

VARIANTS = 200


@dataclass
class Stack:
    setup: str
    ctx: Context
    env: dict[str, str]  # the worker's

    @property
    def database_url(self) -> str:
        return self.ctx.settings.database_url


def open_stack(request, setup: str, sandbox, process_env, monkeypatch) -> Stack:
    values = {
        "OMNIPOST_FACEBOOK_GRAPH_URL": sandbox.url,
        "OMNIPOST_LINKEDIN_API_URL": sandbox.url,
    }
    if setup == POSTGRES:
        values.update(
            OMNIPOST_DATABASE_URL=request.getfixturevalue("postgres_url"),
            OMNIPOST_QUEUE_URL=REDIS_URL,
            OMNIPOST_QUEUE_NAME=request.getfixturevalue("redis_queue"),
        )
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    process_env.update(values)
    context = open_context(load_settings(), open_queue=open_queue)
    process_env["OMNIPOST_DATABASE_URL"] = worker_database_url(context.settings.database_url)
    return Stack(setup, context, process_env)


@pytest.fixture(params=[SQLITE, pytest.param(POSTGRES, marks=pytest.mark.services)])
def stack(request, home, sandbox, process_env, monkeypatch) -> Iterator[Stack]:
    opened = open_stack(request, request.param, sandbox, process_env, monkeypatch)
    yield opened
    opened.ctx.close()


@pytest.fixture(params=[pytest.param(POSTGRES, marks=pytest.mark.services)])
def postgres_stack(request, home, sandbox, process_env, monkeypatch) -> Iterator[Stack]:
    opened = open_stack(request, request.param, sandbox, process_env, monkeypatch)
    yield opened
    opened.ctx.close()


def started(start_worker, *args: str) -> WorkerProcess:
    worker = start_worker(*args)
    wait_for(lambda: "worker started" in worker.output(), timeout=30, what="the worker to start")
    return worker


def settled(stack: Stack, burst: Burst, worker: WorkerProcess, timeout: float) -> None:
    def all_published() -> bool:
        assert worker.proc.poll() is None, f"the worker exited:\n{worker.output()}"
        return not unpublished(stack.ctx, burst)

    wait_for(all_published, timeout=timeout, interval=0.25, what="every variant to be published")


def assert_each_exactly_once(result: Tally) -> None:
    assert result.sent_twice == [], "the platforms received these twice"
    assert result.lost == [], "never received"
    assert result.not_published == {}, "not published"
    assert result.wrong_id == [], "published without the id the platform issued"
    assert result.early == [], "sent before their time"


def assert_errors_one_line_each(worker: WorkerProcess, log_file: Path) -> None:
    for text in (worker.output(), log_file.read_text(encoding="utf-8", errors="replace")):
        assert multi_line_entries(text) == [], "every entry is one line (no tracebacks)"


def test_an_answer_that_comes_back_into_a_locked_database_is_recorded(
    stack: Stack, sandbox, start_worker
):
    """Fault 1: another program takes the write lock while requests are on their way and holds
    it as their answers arrive (SQLite: past its busy timeout). Each answer is recorded with
    its post id once the lock is gone, never turned into ``unconfirmed``."""
    sandbox.slow_seconds = 3.0
    worker = started(start_worker, "--workers", "8")
    due = spread_over(clock.now() + timedelta(seconds=5), timedelta(seconds=4), VARIANTS)
    burst = schedule_burst(stack.ctx, "lock1", due, slow=8)
    wait_for(lambda: sandbox.in_flight, timeout=20, what="slow requests on their way")
    with write_locked(stack.database_url):
        slow_answered = len(sandbox.posts)
        if stack.setup == SQLITE:
            wait_for(
                lambda: "keeping the answer" in worker.output(),
                timeout=40,
                what="the worker to say it keeps the platform's answer",
            )
        else:
            wait_for(lambda: len(sandbox.posts) > slow_answered, timeout=10, what="an answer")
            wait_for(lambda: not sandbox.in_flight, timeout=10, what="every answer to be back")
        assert sandbox.posts, "the platforms answered while the lock was held"
    settled(stack, burst, worker, timeout=40)

    result = tally(stack.ctx, sandbox, burst)
    assert_each_exactly_once(result)
    attempts = [a for a in list_attempts(stack.ctx) if a.variant_id in burst.texts]
    sent = [a for a in attempts if a.sent_at is not None]
    assert sorted(a.variant_id for a in sent) == sorted(burst.texts), "each sent once"
    assert {a.result for a in sent} == {"success"}, "each answer recorded as it was"
    # A claim the lock stopped short of its sending point sent nothing and was tried again.
    assert {a.error_class for a in attempts if a.sent_at is None} <= {"database_busy"}
    assert "recovered a stuck publish" not in worker.output()
    if stack.setup == SQLITE:
        assert "recorded the answer" in worker.output()
    assert worker.proc.poll() is None
    assert_errors_one_line_each(worker, stack.ctx.settings.paths.log_file)


def test_variants_due_while_the_database_is_locked_go_out_once_it_is_released(
    stack: Stack, sandbox, start_worker
):
    """Fault 3: half the variants fall due while another program holds the write lock, the
    other half in the seconds after. They go out as soon as it is released, not when the sweep
    sends their messages again (two minutes later). SQLite's lock lasts past its busy timeout
    (15 s), so that the first claims give up while it is held; PostgreSQL has no such timeout,
    its claims simply wait. (45 s on both in the benchmark.)"""
    lock_seconds = 18 if stack.setup == SQLITE else 10
    worker = started(start_worker)
    # The lock is taken as soon as they are scheduled, before the first falls due; the lead
    # leaves time to schedule them on a busy machine.
    lock_at = clock.now() + timedelta(seconds=15)
    release_at = lock_at + timedelta(seconds=lock_seconds)
    half = VARIANTS // 2
    due = [
        *spread_over(lock_at + timedelta(seconds=1), timedelta(seconds=lock_seconds - 3), half),
        *spread_over(release_at + timedelta(seconds=1), timedelta(seconds=3), VARIANTS - half),
    ]
    burst = schedule_burst(stack.ctx, "due3", due)
    with write_locked(stack.database_url):
        assert clock.now() < due[0], "scheduling took longer than the lead: make it longer"
        held_for = (release_at - clock.now()).total_seconds()
        wait_for(lambda: clock.now() >= release_at, timeout=held_for + 5, what="the lock")
        assert not sandbox.posts, "nothing can be claimed while the lock is held"
    released = clock.now()
    settled(stack, burst, worker, timeout=40)

    result = tally(stack.ctx, sandbox, burst, released)
    assert_each_exactly_once(result)
    p50, worst = result.lateness_summary()
    assert worst <= 15, f"out {worst:.1f} s after the lock was released (p50 {p50:.1f} s)"
    assert worker.proc.poll() is None
    assert_errors_one_line_each(worker, stack.ctx.settings.paths.log_file)


def test_connections_cut_in_the_middle_of_a_burst_lose_nothing(
    postgres_stack: Stack, sandbox, start_worker
):
    """Fault 4: PostgreSQL terminates the worker's sessions (only those, on this test's own
    database) five times while the burst goes out."""
    stack = postgres_stack
    worker = started(start_worker)
    due = spread_over(clock.now() + timedelta(seconds=5), timedelta(seconds=6), VARIANTS)
    burst = schedule_burst(stack.ctx, "cut4", due)
    wait_for(lambda: len(sandbox.posts) >= 20, timeout=30, what="the burst to be under way")
    cuts = 0
    for n in range(1, 6):
        cuts += cut_worker_connections(stack.database_url)
        # The next cut once a few more posts went out: each one lands mid-burst.
        target = 20 + 15 * n
        wait_for(lambda t=target: len(sandbox.posts) >= t, timeout=30, what=f"{target} posts")
    assert cuts, "the worker's sessions were cut"
    settled(stack, burst, worker, timeout=40)

    result = tally(stack.ctx, sandbox, burst)
    assert_each_exactly_once(result)
    assert worker.proc.poll() is None
    assert_errors_one_line_each(worker, stack.ctx.settings.paths.log_file)
