"""Storage faults under a burst of posts: what the platforms received against what the database
says. Prints a table and writes it as JSON.

    python -m tests.benchmarks.faults_storage [--variants 200] [--lock-seconds 45]
        [--json faults_storage.json] [--only sqlite|postgres+redis]

Runs a real ``omnipost worker`` process against the loopback sandbox (which logs every request)
on two set-ups, SQLite + SqliteHuey and PostgreSQL + Redis (``OMNIPOST_TEST_POSTGRES``,
``OMNIPOST_TEST_REDIS``; a private database and queue name per run), and three faults:

1. another program holds a write lock across the moment the platforms answer,
3. another program write-locks the variants while they fall due (``--lock-seconds``),
4. PostgreSQL cuts the worker's connections in the middle of the burst (PostgreSQL only).

For each: variants, texts received twice, variants lost (never received, or not ``published``
with the id the sandbox issued), and how late they went out after the lock was released.

Its helpers are shared with tests/test_faults_storage.py, the same faults on fewer variants
and shorter locks, which assert the outcome and leave the figures to this script.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from omnipost_tui.services.accounts import add_account
from omnipost_tui.services.brands import add_brand
from omnipost_tui.services.context import Context
from omnipost_tui.services.posts import add_post
from omnipost_tui.services.variants import VariantFilter, add_variant, list_variants
from omnipost_tui.states import PUBLISHED

SQLITE = "sqlite"
POSTGRES = "postgres+redis"
# The worker's sessions carry this name, so that cutting connections hits the worker's only
# (the test's own connections to the same database are left alone).
WORKER_APPLICATION = "omnipost-fault-worker"
# Plain fast accounts, and accounts whose answer takes the sandbox's ``slow_seconds``.
FAST_ACCOUNTS = (
    ("facebook", "page-1"),
    ("facebook", "page-2"),
    ("facebook", "page-3"),
    ("linkedin", "urn:li:organization:301"),
    ("linkedin", "urn:li:organization:302"),
)
SLOW_ACCOUNTS = (("facebook", "page-slow-1"), ("linkedin", "urn:li:organization:slow-2"))
# What a connection cut says in the worker's log, for a reader who wants to see it was noticed.
ENTRY_START = (
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[+-]\d{2}:\d{2}|Z) "
    r"(?:DEBUG|INFO|WARNING|ERROR|CRITICAL) "
)


# --- the burst ------------------------------------------------------------------------------


@dataclass
class Burst:
    brand_id: int
    texts: dict[int, str]  # variant id → the text it publishes (unique per variant)


def spread_over(first: datetime, spread: timedelta, count: int) -> list[datetime]:
    """``count`` due times evenly from ``first`` to ``first + spread``."""
    return [first + spread * (n / max(count - 1, 1)) for n in range(count)]


def schedule_burst(ctx: Context, label: str, due: list[datetime], *, slow: int = 0) -> Burst:
    """One variant per due time, round robin over the fast accounts; the first ``slow`` of them
    on the slow accounts."""
    brand = add_brand(ctx, f"Faults {label} {secrets.token_hex(2)}").id

    def connect(platform: str, external_id: str) -> int:
        return add_account(
            ctx,
            brand=brand,
            platform=platform,
            external_id=external_id,
            name=f"{label} {external_id}",
            access_token=f"{platform}-fault-token-not-secret",
        ).id

    fast = [connect(*account) for account in FAST_ACCOUNTS]
    slow_ones = [connect(*account) for account in SLOW_ACCOUNTS] if slow else []
    post = add_post(ctx, brand=brand, title=label, text=f"{label} base text").id
    texts = {}
    for n, at in enumerate(due):
        account = slow_ones[n % len(slow_ones)] if n < slow else fast[n % len(fast)]
        text = f"{label} variant {n:03d}"
        variant = add_variant(ctx, post=post, account=account, custom_text=text, at=at)
        texts[variant.id] = text
    return Burst(brand, texts)


def unpublished(ctx: Context, burst: Burst) -> int:
    """How many variants of the burst are not ``published`` yet."""
    rows = list_variants(ctx, VariantFilter(brand=burst.brand_id, statuses=(PUBLISHED,)))
    return len(burst.texts) - len(rows)


def wait_until_settled(ctx: Context, burst: Burst, timeout: float) -> bool:
    """Until every variant of the burst is published (True), or ``timeout`` (False)."""
    deadline = time.monotonic() + timeout
    while unpublished(ctx, burst):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.25)
    return True


# --- the faults -----------------------------------------------------------------------------


def plain_postgres_url(url: str) -> str:
    """A SQLAlchemy ``postgresql+psycopg://`` URL as psycopg takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1).split("?", 1)[0]


def worker_database_url(url: str) -> str:
    """The worker's database URL: PostgreSQL sessions named, so that they can be told apart."""
    if url.startswith("postgresql"):
        return f"{url}?application_name={WORKER_APPLICATION}"
    return url


@contextmanager
def write_locked(database_url: str) -> Iterator[None]:
    """Another program holds the write lock on the variants while the block runs.

    SQLite: ``BEGIN IMMEDIATE`` on the file (a backup script, sqlite3 in a terminal): no other
    connection can write anything. PostgreSQL: ``LOCK TABLE post_variants IN EXCLUSIVE MODE``
    (plain reads go on; every claim, sending point and answer waits)."""
    if database_url.startswith("sqlite"):
        path = database_url.removeprefix("sqlite:///")
        locker = sqlite3.connect(path, isolation_level=None, timeout=30)
        try:
            locker.execute("BEGIN IMMEDIATE")
            yield
            locker.execute("ROLLBACK")
        finally:
            locker.close()
        return
    import psycopg

    with psycopg.connect(plain_postgres_url(database_url), connect_timeout=5) as conn:
        conn.execute("SET lock_timeout = '30s'")
        conn.execute("LOCK TABLE post_variants IN EXCLUSIVE MODE")
        yield
        conn.rollback()


def cut_worker_connections(database_url: str) -> int:
    """Terminate the worker's sessions on this database (and no one else's); how many."""
    import psycopg

    with psycopg.connect(plain_postgres_url(database_url), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND application_name = %s",
            (WORKER_APPLICATION,),
        ).fetchall()
    return sum(1 for (done,) in rows if done)


# --- what happened ----------------------------------------------------------------------------


@dataclass
class Tally:
    """The sandbox's log against the database, for one burst."""

    variants: int
    sent_twice: list[str] = field(default_factory=list)  # texts the platforms received twice
    lost: list[int] = field(default_factory=list)  # never received
    not_published: dict[int, str] = field(default_factory=dict)  # variant → its status
    wrong_id: list[int] = field(default_factory=list)  # published, not with the id issued
    early: list[int] = field(default_factory=list)  # received before its time
    lateness: list[float] = field(default_factory=list)  # s after max(due, lock released)

    @property
    def clean(self) -> bool:
        return not (
            self.sent_twice or self.lost or self.not_published or self.wrong_id or self.early
        )

    def lateness_summary(self) -> tuple[float, float]:
        """(p50, max) lateness in seconds; (nan, nan) when nothing went out."""
        if not self.lateness:
            return float("nan"), float("nan")
        return statistics.median(self.lateness), max(self.lateness)


def tally(ctx: Context, sandbox: Any, burst: Burst, released_at: datetime | None = None) -> Tally:
    received = Counter(p.text for p in sandbox.posts)
    first = {}
    for post in sandbox.posts:
        first.setdefault(post.text, post)
    result = Tally(variants=len(burst.texts))
    ours = set(burst.texts.values())
    result.sent_twice = sorted(text for text, n in received.items() if n > 1 and text in ours)
    views = {v.id: v for v in list_variants(ctx, VariantFilter(brand=burst.brand_id))}
    for variant_id, text in sorted(burst.texts.items()):
        view = views[variant_id]
        post = first.get(text)
        if view.status != PUBLISHED:
            result.not_published[variant_id] = view.status
        if post is None:
            result.lost.append(variant_id)
            continue
        if view.status == PUBLISHED and view.external_post_id != post.external_post_id:
            result.wrong_id.append(variant_id)
        assert view.scheduled_at is not None
        if post.received_at < view.scheduled_at:
            result.early.append(variant_id)
        start = max(view.scheduled_at, released_at) if released_at else view.scheduled_at
        result.lateness.append((post.received_at - start).total_seconds())
    return result


def multi_line_entries(log_text: str) -> list[str]:
    """Lines of a log that are not entries of their own (a traceback, a message cut in two)."""
    import re

    start = re.compile(ENTRY_START)
    return [line for line in log_text.splitlines() if line.strip() and not start.match(line)]


# --- the benchmark ----------------------------------------------------------------------------


@dataclass
class Row:
    fault: str
    setup: str
    variants: int
    sent_twice: int
    lost: int
    not_published: int
    first_out_s: float  # the first to go out, after the lock was released
    lateness_p50_s: float
    lateness_max_s: float
    cuts: int = 0
    note: str = ""


class Stack:
    """One set-up for one fault: a fresh home (and database, and queue name), the sandbox, a
    context in this process and a worker process."""

    def __init__(self, setup: str, label: str, slow_seconds: float) -> None:
        from omnipost_tui.sandbox import SandboxServer

        self.setup = setup
        self.label = label
        self.home = tempfile.mkdtemp(prefix="omnipost-faults-")
        self.sandbox = SandboxServer(slow_seconds=slow_seconds).start()
        self.env = {
            "OMNIPOST_HOME": self.home,
            "OMNIPOST_FACEBOOK_GRAPH_URL": self.sandbox.url,
            "OMNIPOST_LINKEDIN_API_URL": self.sandbox.url,
        }
        self.database: str | None = None
        if setup == POSTGRES:
            self.database = create_postgres_database()
            self.env.update(
                OMNIPOST_DATABASE_URL=self.database,
                OMNIPOST_QUEUE_URL=os.environ.get(
                    "OMNIPOST_TEST_REDIS", "redis://127.0.0.1:6379/0"
                ),
                OMNIPOST_QUEUE_NAME=f"omnipost-faults-{secrets.token_hex(4)}",
            )
        os.environ.update(self.env)
        from omnipost_tui.config import load_settings
        from omnipost_tui.engine.queue import open_queue
        from omnipost_tui.services.context import open_context

        self.ctx = open_context(load_settings(), open_queue=open_queue)
        self.database_url = self.ctx.settings.database_url
        self.worker: Any = None

    def start_worker(self, *args: str) -> Any:
        from tests.conftest import WorkerProcess

        env = {**os.environ, **self.env}
        env["OMNIPOST_DATABASE_URL"] = worker_database_url(self.database_url)
        self.worker = WorkerProcess(env, Path(self.home) / "worker.log", *args)
        deadline = time.monotonic() + 30
        while "worker started" not in self.worker.output() and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.worker

    def close(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            if KEEP_LOGS:
                Path(KEEP_LOGS).mkdir(parents=True, exist_ok=True)
                name = f"{self.setup}-{self.label}.log"
                (Path(KEEP_LOGS) / name).write_text(self.worker.output())
        self.ctx.close()
        self.sandbox.stop()
        if self.database is not None:
            drop_postgres_database(self.database)
        for key in self.env:
            os.environ.pop(key, None)


KEEP_LOGS: str | None = None

POSTGRES_ADMIN_URL = os.environ.get(
    "OMNIPOST_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)


def create_postgres_database() -> str:
    import psycopg

    name = f"omnipost_bench_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"


def drop_postgres_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def now() -> datetime:
    return datetime.now(UTC)


def lock_across_answers(setup: str, count: int) -> Row:
    """Fault 1: the lock is taken while slow requests are on their way and held past SQLite's
    busy timeout (PostgreSQL: a few seconds), so their answers come back into a locked database."""
    stack = Stack(setup, "lock1", slow_seconds=3.0)
    try:
        worker = stack.start_worker("--workers", "8")
        due = spread_over(now() + timedelta(seconds=4), timedelta(seconds=4), count)
        burst = schedule_burst(stack.ctx, "lock1", due, slow=8)
        while stack.sandbox.in_flight == 0:
            time.sleep(0.02)
        with write_locked(stack.database_url):
            if setup == SQLITE:
                while "keeping the answer" not in worker.output():
                    time.sleep(0.1)
            else:
                time.sleep(5)
        released = now()
        wait_until_settled(stack.ctx, burst, timeout=120)
        result = tally(stack.ctx, stack.sandbox, burst, released)
        return row("1 lock across answers", setup, result)
    finally:
        stack.close()


def lock_while_due(setup: str, count: int, lock_seconds: float) -> Row:
    """Fault 3: the variants fall due while another program holds the write lock."""
    stack = Stack(setup, "due3", slow_seconds=1.0)
    try:
        stack.start_worker()
        spread = timedelta(seconds=max(lock_seconds - 4, 1))
        start = now() + timedelta(seconds=6)
        burst = schedule_burst(stack.ctx, "due3", spread_over(start, spread, count))
        wait = (start - now()).total_seconds() - 2
        if wait > 0:
            time.sleep(wait)
        with write_locked(stack.database_url):
            time.sleep(lock_seconds)
        released = now()
        wait_until_settled(stack.ctx, burst, timeout=120 + lock_seconds)
        result = tally(stack.ctx, stack.sandbox, burst, released)
        return row(f"3 locked {lock_seconds:g} s while due", setup, result)
    finally:
        stack.close()


def connections_cut(setup: str, count: int) -> Row:
    """Fault 4: PostgreSQL terminates the worker's sessions five times during the burst."""
    if setup != POSTGRES:
        nan = float("nan")
        return Row("4 connections cut", setup, 0, 0, 0, 0, nan, nan, nan, note="PostgreSQL only")
    stack = Stack(setup, "cut4", slow_seconds=1.0)
    try:
        stack.start_worker()
        due = spread_over(now() + timedelta(seconds=4), timedelta(seconds=6), count)
        burst = schedule_burst(stack.ctx, "cut4", due)
        while len(stack.sandbox.posts) < count // 10:
            time.sleep(0.02)
        cuts = 0
        for _ in range(5):
            cuts += cut_worker_connections(stack.database_url)
            time.sleep(0.7)
        wait_until_settled(stack.ctx, burst, timeout=180)
        result = tally(stack.ctx, stack.sandbox, burst)
        return row("4 connections cut", setup, result, cuts=cuts)
    finally:
        stack.close()


def row(fault: str, setup: str, result: Tally, cuts: int = 0) -> Row:
    p50, worst = result.lateness_summary()
    return Row(
        fault=fault,
        setup=setup,
        variants=result.variants,
        sent_twice=len(result.sent_twice),
        lost=len(result.lost),
        not_published=len(result.not_published),
        first_out_s=round(min(result.lateness, default=float("nan")), 2),
        lateness_p50_s=round(p50, 2),
        lateness_max_s=round(worst, 2),
        cuts=cuts,
        note=""
        if result.clean
        else f"early: {len(result.early)}, wrong id: {len(result.wrong_id)}",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=200)
    parser.add_argument("--lock-seconds", type=float, default=45.0)
    parser.add_argument("--json", default="faults_storage.json", help="where to write the rows")
    parser.add_argument("--only", choices=(SQLITE, POSTGRES), help="one set-up only")
    parser.add_argument(
        "--fault", type=int, choices=(1, 3, 4), action="append", help="default: all three"
    )
    parser.add_argument("--keep-logs", help="copy each worker's log into this directory")
    args = parser.parse_args()
    setups = [args.only] if args.only else [SQLITE, POSTGRES]
    faults = args.fault or [1, 3, 4]
    runs = {
        1: lambda setup: lock_across_answers(setup, args.variants),
        3: lambda setup: lock_while_due(setup, args.variants, args.lock_seconds),
        4: lambda setup: connections_cut(setup, args.variants),
    }
    global KEEP_LOGS
    KEEP_LOGS = args.keep_logs
    rows = [runs[fault](setup) for setup in setups for fault in faults]
    header = (
        f"{'fault':<26} {'set-up':<15} {'variants':>8} {'sent twice':>10} {'lost':>5} "
        f"{'unpublished':>11} {'first s':>7} {'late p50 s':>10} {'late max s':>10}  note"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r.fault:<26} {r.setup:<15} {r.variants:>8} {r.sent_twice:>10} {r.lost:>5} "
            f"{r.not_published:>11} {r.first_out_s:>7.2f} {r.lateness_p50_s:>10.2f} "
            f"{r.lateness_max_s:>10.2f}  "
            f"{r.note}{f' ({r.cuts} sessions cut)' if r.cuts else ''}"
        )
    Path(args.json).write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n")
    print(f"written to {args.json}", file=sys.stderr)
    clean = all(r.sent_twice == r.lost == r.not_published == 0 for r in rows)
    return 0 if clean else 1


if __name__ == "__main__":
    raise SystemExit(main())
