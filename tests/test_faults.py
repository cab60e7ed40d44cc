"""Faults under a burst of posts, on SQLite + SqliteHuey and on PostgreSQL + Redis, each checked
by comparing the sandbox's log of what it received with the database: nothing sent twice,
nothing lost, everything ``published`` with the id the platform issued, nothing left
``scheduled`` or ``publishing``, the worker alive, each error one log line.

Storage (1, 3, 4): a write lock held across the platforms' answers, the database locked while
variants fall due, PostgreSQL cutting the worker's sessions. At run time (2, 5, 6, 7): a worker
killed mid-request, the queue's Redis restarted empty, the platforms down for a while, the
worker stopped by SIGTERM or SIGINT in the middle of a burst.

The storage faults at full length, with their numbers: python -m tests.benchmarks.faults_storage
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from omnipost_tui import clock
from omnipost_tui.config import load_settings
from omnipost_tui.engine.queue import open_queue
from omnipost_tui.engine.worker import sweep_now
from omnipost_tui.services.attempts import list_attempts
from omnipost_tui.services.context import Context, open_context
from omnipost_tui.services.variants import VariantFilter, list_variants
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
from tests.conftest import REDIS_URL, RedisServer, WorkerProcess, wait_for

pytestmark = pytest.mark.slow

VARIANTS = 200
SETUPS = [SQLITE, pytest.param(POSTGRES, marks=pytest.mark.services)]


@dataclass
class Stack:
    setup: str
    ctx: Context
    env: dict[str, str]  # the worker's

    @property
    def database_url(self) -> str:
        return self.ctx.settings.database_url


def open_stack(
    request,
    setup: str,
    sandbox,
    process_env,
    monkeypatch,
    queue_url: str | None = None,
    **settings: str,
) -> Stack:
    """The set-up's database and queue (``queue_url``: this Redis instead), for the test and
    its workers; ``settings``: more OMNIPOST_* values, by name without the prefix."""
    values = {
        "OMNIPOST_FACEBOOK_GRAPH_URL": sandbox.url,
        "OMNIPOST_LINKEDIN_API_URL": sandbox.url,
        **{f"OMNIPOST_{name.upper()}": value for name, value in settings.items()},
    }
    if setup == POSTGRES:
        values.update(OMNIPOST_DATABASE_URL=request.getfixturevalue("postgres_url"))
    if queue_url is not None:
        values.update(OMNIPOST_QUEUE_URL=queue_url)
    elif setup == POSTGRES:
        values.update(
            OMNIPOST_QUEUE_URL=REDIS_URL,
            OMNIPOST_QUEUE_NAME=request.getfixturevalue("redis_queue"),
        )
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    process_env.update(values)
    context = open_context(load_settings(), open_queue=open_queue)
    process_env["OMNIPOST_DATABASE_URL"] = worker_database_url(context.settings.database_url)
    return Stack(setup, context, process_env)


@pytest.fixture(params=SETUPS)
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


# --- faults at run time -----------------------------------------------------------------------


@pytest.fixture
def make_stack(request, home, sandbox, process_env, monkeypatch):
    """``make_stack(setup, queue_url=None, **settings)``: a stack opened inside the test."""
    opened: list[Stack] = []

    def make(setup: str, queue_url: str | None = None, **settings: str) -> Stack:
        stack = open_stack(request, setup, sandbox, process_env, monkeypatch, queue_url, **settings)
        opened.append(stack)
        return stack

    yield make
    for stack in opened:
        stack.ctx.close()


def statuses(stack: Stack, burst: Burst) -> dict[int, str]:
    rows = list_variants(stack.ctx, VariantFilter(brand=burst.brand_id))
    return {row.id: row.status for row in rows}


@pytest.mark.parametrize("setup", SETUPS)
def test_a_worker_killed_mid_request_is_finished_by_the_survivor_and_the_read_back(
    setup: str, make_stack, sandbox, start_worker
):
    """Fault 2: a worker is SIGKILLed while its requests are held open by the platform (which
    still makes the posts). A second worker recovers them at the next sweep, reads the pages
    back and finds them: published once each, none sent again."""
    stack = make_stack(setup, publish_timeout="6", http_timeout="2", read_back_settle="2")
    sandbox.answer_delay_seconds = 1.5
    victim = started(start_worker, "--workers", "8")
    due = spread_over(clock.now() + timedelta(seconds=4), timedelta(seconds=3), 60)
    burst = schedule_burst(stack.ctx, "kill2", due)
    wait_for(lambda: sandbox.in_flight >= 4, timeout=30, what="requests held open")
    # The survivor first, so that nothing waits on a worker that is not there yet.
    survivor = started(start_worker, "--workers", "8")
    victim.proc.kill()
    victim.wait(timeout=10)

    def all_published() -> bool:
        assert survivor.proc.poll() is None, f"the survivor exited:\n{survivor.output()}"
        sweep_now(stack.ctx)  # the next sweep, now rather than within a minute
        return not unpublished(stack.ctx, burst)

    wait_for(all_published, timeout=90, interval=1, what="every variant to be published")
    result = tally(stack.ctx, sandbox, burst)
    assert_each_exactly_once(result)
    confirmed = [
        a
        for a in list_attempts(stack.ctx)
        if a.variant_id in burst.texts and a.read_back and a.result == "success"
    ]
    assert confirmed, "the killed worker's requests were settled by reading the pages back"
    assert "read back: published" in survivor.output()
    assert_errors_one_line_each(survivor, stack.ctx.settings.paths.log_file)


@pytest.mark.services
@pytest.mark.parametrize("setup", SETUPS)
def test_a_queue_restarted_empty_is_caught_up_at_once(
    setup: str, make_stack, empty_redis_server: RedisServer, sandbox, start_worker
):
    """Fault 5: the queue's Redis is killed and comes back empty, losing every message on its
    way. The worker sends them again as soon as the queue answers (it used to wait for the
    sweep to find them stale: up to two and a half minutes late)."""
    stack = make_stack(setup, queue_url=empty_redis_server.url)
    worker = started(start_worker, "--workers", "8")
    start = clock.now()
    due = spread_over(start + timedelta(seconds=5), timedelta(seconds=15), 100)
    burst = schedule_burst(stack.ctx, "queue5", due)
    wait_for(lambda: sandbox.posts, timeout=30, what="the first posts to go out")
    empty_redis_server.kill()
    wait_for(lambda: "unreachable" in worker.output(), timeout=10, what="the outage noticed")
    wait_for(lambda: clock.now() >= start + timedelta(seconds=14), timeout=20, what="the outage")
    assert len(sandbox.posts) < len(burst.texts), "some variants fell due during the outage"
    empty_redis_server.start()
    back = clock.now()
    settled(stack, burst, worker, timeout=40)

    result = tally(stack.ctx, sandbox, burst, back)
    assert_each_exactly_once(result)
    p50, worst = result.lateness_summary()
    assert worst <= 15, f"out {worst:.1f} s after the queue came back (p50 {p50:.1f} s)"
    assert "caught up after the queue outage" in worker.output()
    assert worker.proc.poll() is None
    assert_errors_one_line_each(worker, stack.ctx.settings.paths.log_file)


@pytest.mark.parametrize("setup", SETUPS)
def test_platforms_down_for_a_while_then_back_publish_everything_once(
    setup: str, make_stack, sandbox, start_worker
):
    """Fault 6: both platforms answer 500s, HTML error pages, resets and timeouts for a while
    (two minutes in life, 12 s here with every wait scaled down), then recover. Failures are
    retried, answers that never came are read back, and everything goes out once."""
    stack = make_stack(
        setup,
        http_timeout="1",
        publish_timeout="3",
        read_back_settle="3",
        retry_backoff="1,2",
        max_attempts="30",
    )
    worker = started(start_worker, "--workers", "8")
    outage_at = clock.now() + timedelta(seconds=5)
    due = spread_over(outage_at, timedelta(seconds=6), 60)
    burst = schedule_burst(stack.ctx, "down6", due)
    wait_for(lambda: clock.now() >= outage_at, timeout=10, what="the outage")
    sandbox.start_outage(12)
    settled(stack, burst, worker, timeout=90)

    result = tally(stack.ctx, sandbox, burst)
    assert_each_exactly_once(result)
    attempts = [a for a in list_attempts(stack.ctx) if a.variant_id in burst.texts]
    failed = {a.result for a in attempts if a.result != "success"}
    assert failed, "the outage was met"
    assert len(sandbox.requests) > len(burst.texts), "retried"
    assert worker.proc.poll() is None
    assert_errors_one_line_each(worker, stack.ctx.settings.paths.log_file)


@pytest.mark.parametrize(
    ("setup", "signum"),
    [
        (SQLITE, signal.SIGTERM),
        (SQLITE, signal.SIGINT),
        pytest.param(POSTGRES, signal.SIGTERM, marks=pytest.mark.services),
    ],
)
def test_a_worker_stopped_in_the_middle_of_a_burst_finishes_what_it_sent(
    setup: str, signum: signal.Signals, make_stack, sandbox, start_worker
):
    """Fault 7: SIGTERM (systemd, kill) or SIGINT (Ctrl-C) while publishes are in flight: they
    finish and are recorded, the worker exits 0, nothing is left ``publishing``; the next
    worker publishes the rest, each once."""
    stack = make_stack(setup)
    sandbox.answer_delay_seconds = 1.0
    worker = started(start_worker, "--workers", "8")
    due = spread_over(clock.now() + timedelta(seconds=4), timedelta(seconds=3), 60)
    burst = schedule_burst(stack.ctx, "stop7", due)
    wait_for(lambda: sandbox.in_flight >= 4, timeout=30, what="publishes in flight")
    worker.signal(signum)
    assert worker.wait(timeout=30) == 0, worker.output()

    after_stop = statuses(stack, burst)
    assert "publishing" not in after_stop.values(), "an in-flight publish was cut"
    assert "unconfirmed" not in after_stop.values()
    received = {post.text for post in sandbox.posts}
    assert received, "the in-flight publishes reached the platforms"
    for variant_id, text in burst.texts.items():
        if text in received:
            assert after_stop[variant_id] == "published", "each answer recorded before exiting"

    successor = started(start_worker, "--workers", "8")
    settled(stack, burst, successor, timeout=40)
    assert_each_exactly_once(tally(stack.ctx, sandbox, burst))
    assert_errors_one_line_each(successor, stack.ctx.settings.paths.log_file)
