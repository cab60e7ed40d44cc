"""The top of the hour: N variants due in the same second. How close to a bare client is OmniPost?

    python -m tests.benchmarks.burst --variants 600 [--postgres URL --redis URL] [--json PATH]
                                     [--accounts 60] [--profile DIR]

Starts the loopback sandbox in its own process, every publish answered after ``--answer-delay``
(100 ms, a platform's round trip), then, in the same run:

1. the baseline: a bare httpx client per thread, 16 threads, sending the same N create calls
   (Facebook ``/feed`` forms, LinkedIn ``/rest/posts`` JSON) to the same sandbox;
2. OmniPost: real ``omnipost worker --workers 16`` (embedded SQLite; with ``--postgres`` and
   ``--redis`` also PostgreSQL + Redis with two workers x 8 threads), N variants across
   ``--accounts`` accounts all scheduled for the same second.

Each is timed from the moment the requests are due (the baseline's start, the variants'
``scheduled_at``) until the last one arrives at the sandbox; ``ratio`` is baseline / OmniPost
(1.0: OmniPost costs nothing on top of the requests). Exactly once is checked from both sides:
the sandbox received each variant's text on its account once, and each variant is recorded
``published`` after one attempt with the id the sandbox gave it. Nothing may arrive early.

``--postgres`` is an admin URL (a fresh database is created in it and dropped afterwards);
``--redis`` the queue's URL (a fresh queue name, its keys deleted afterwards). Without them, or
when they are not reachable, only SQLite runs. ``--profile DIR`` attaches py-spy (when installed)
to each worker for the burst and writes the collapsed stacks of the threads holding the GIL
there. Prints a table; the numbers also go to ``--json`` (default ``burst.json`` in the current
directory). Exit 1 when a variant did not arrive exactly once or arrived early.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import queue
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

THREADS = 16
TOKEN = "burst-token-not-secret"
GRAPH_VERSION = "v24.0"


@dataclass
class Run:
    """One measured burst."""

    setup: str
    variants: int
    seconds: float  # due → last arrival
    first_ms: float = 0.0  # due → first arrival
    median_ms: float = 0.0  # due → median arrival
    early: int = 0
    # OmniPost only, from the attempts (median / p90 ms): due → claimed, claimed → sending
    # point, sending point → answer recorded. Where a slow burst spends its time.
    phases_ms: dict[str, list[float]] = field(default_factory=dict)
    # OmniPost only: CPU seconds the worker process(es) used from just before the due second
    # until all were published (Linux /proc; 0 elsewhere). The GIL caps a process at one core.
    worker_cpu_s: float = 0.0
    problems: list[str] = field(default_factory=list)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=600)
    parser.add_argument("--accounts", type=int, default=60, help="half pages, half LinkedIn")
    parser.add_argument("--answer-delay", type=float, default=0.1, help="seconds (default 0.1)")
    parser.add_argument("--postgres", help="admin URL, e.g. postgresql://postgres@127.0.0.1/test")
    parser.add_argument("--redis", help="queue URL, e.g. redis://127.0.0.1:6379/0")
    parser.add_argument("--json", type=Path, default=Path("burst.json"))
    parser.add_argument("--profile", type=Path, help="py-spy output directory")
    parser.add_argument(
        "--lead",
        type=float,
        help="seconds from setting up to the due second (default: 5 + 10 ms per variant)",
    )
    args = parser.parse_args()
    if args.variants < 1 or args.accounts < 2:
        parser.error("--variants must be at least 1 and --accounts at least 2")

    results: list[dict[str, Any]] = []
    failed = False
    setups = [("sqlite", None)]
    if args.postgres or args.redis:
        reason = _services_problem(args.postgres, args.redis)
        if reason:
            print(f"PostgreSQL + Redis skipped: {reason}", file=sys.stderr)
        else:
            setups.append(("postgres+redis", (args.postgres, args.redis)))
    for name, services in setups:
        with _sandbox(args.answer_delay) as url:
            baseline = run_baseline(url, args.variants, args.accounts)
            with _home(name, services) as env:
                burst = run_burst(env, url, args, two_workers=services is not None)
        ratio = baseline.seconds / burst.seconds if burst.seconds else 0.0
        failed |= bool(baseline.problems or burst.problems or burst.early)
        results.append(
            {
                "setup": name,
                "variants": args.variants,
                "accounts": args.accounts,
                "answer_delay_s": args.answer_delay,
                "workers": "2 x 8 threads" if services else f"1 x {THREADS} threads",
                "baseline": asdict(baseline),
                "omnipost": asdict(burst),
                "ratio": round(ratio, 3),
            }
        )
    _print_table(results)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {args.json}")
    return 1 if failed else 0


# --- the sandbox, in a process of its own -------------------------------------------------------


@contextmanager
def _sandbox(answer_delay: float) -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "omnipost_tui.sandbox", "--answer-delay", str(answer_delay)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        if not first.startswith("SANDBOX_URL="):
            raise SystemExit(f"the sandbox did not start: {first!r}")
        threading.Thread(target=proc.stdout.read, daemon=True).start()  # drain the rest
        yield first.removeprefix("SANDBOX_URL=")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)


def _sandbox_posts(url: str, accounts: set[str]) -> list[dict[str, Any]]:
    posts = httpx.get(f"{url}/_sandbox/posts", timeout=60).json()
    return [post for post in posts if post["account"] in accounts]


def _arrivals(posts: list[dict[str, Any]]) -> list[datetime]:
    return sorted(datetime.fromisoformat(post["received_at"]) for post in posts)


def _account_ids(prefix: str, count: int) -> list[tuple[str, str]]:
    """(platform, external id): pages and LinkedIn organizations, alternating."""
    return [
        ("facebook", f"{prefix}-page-{n}")
        if n % 2 == 0
        else ("linkedin", f"urn:li:organization:{prefix}{n}")
        for n in range(count)
    ]


def _post_text(prefix: str, post: int) -> str:
    return f"{prefix} post {post}: the top of the hour"


def _text(prefix: str, n: int, accounts: int) -> str:
    """The text of the ``n``-th request: post ``n // accounts`` on account ``n % accounts``.
    A post goes to every account once, so (account, text) names one variant."""
    return _post_text(prefix, n // accounts)


# --- the baseline: a bare client ----------------------------------------------------------------


def run_baseline(url: str, count: int, account_count: int) -> Run:
    from omnipost_tui.connectors.base import PublishRequest
    from omnipost_tui.connectors.linkedin import posts_payload

    accounts = _account_ids("bare", account_count)
    work: queue.Queue[tuple[str, str, str]] = queue.Queue()
    for n in range(count):
        platform, external = accounts[n % account_count]
        work.put((platform, external, _text("bare", n, account_count)))
    failures: list[str] = []

    def send() -> None:
        with httpx.Client(timeout=30) as client:
            while True:
                try:
                    platform, external, text = work.get_nowait()
                except queue.Empty:
                    return
                if platform == "facebook":
                    response = client.post(
                        f"{url}/{GRAPH_VERSION}/{external}/feed",
                        data={"message": text, "access_token": TOKEN},
                    )
                else:
                    request = PublishRequest(
                        account_external_id=external, access_token=TOKEN, text=text
                    )
                    response = client.post(
                        f"{url}/rest/posts",
                        json=posts_payload(request),
                        headers={
                            "Authorization": f"Bearer {TOKEN}",
                            "LinkedIn-Version": "202610",
                            "X-Restli-Protocol-Version": "2.0.0",
                        },
                    )
                if response.status_code >= 300:
                    failures.append(f"{external}: HTTP {response.status_code}")

    threads = [threading.Thread(target=send) for _ in range(THREADS)]
    started = datetime.now(UTC)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    posts = _sandbox_posts(url, {external for _, external in accounts})
    run = _timed("bare httpx", count, started, _arrivals(posts))
    run.problems += failures[:5]
    if len(posts) != count:
        run.problems.append(f"{len(posts)} of {count} requests arrived")
    return run


def _timed(setup: str, count: int, due: datetime, arrivals: list[datetime]) -> Run:
    if not arrivals:
        return Run(setup, count, 0.0, problems=["nothing arrived"])
    ms = [(at - due).total_seconds() * 1000 for at in arrivals]
    return Run(
        setup,
        count,
        seconds=round(ms[-1] / 1000, 3),
        first_ms=round(ms[0], 1),
        median_ms=round(statistics.median(ms), 1),
        early=sum(value < 0 for value in ms),
    )


# --- OmniPost ------------------------------------------------------------------------------------


def _services_problem(postgres: str | None, redis_url: str | None) -> str | None:
    if not (postgres and redis_url):
        return "give both --postgres and --redis"
    try:
        import psycopg
        import redis
    except ImportError as exc:
        return f"{exc.name} is not installed (pip install -e '.[scale]')"
    try:
        psycopg.connect(postgres, connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"PostgreSQL is not reachable at {postgres}: {str(exc).strip()}"
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        return f"Redis is not reachable at {redis_url}: {exc}"
    return None


@contextmanager
def _home(name: str, services: tuple[str, str] | None) -> Iterator[dict[str, str]]:
    """A fresh OMNIPOST_HOME (and, for services, a fresh database and queue name)."""
    home = tempfile.mkdtemp(prefix=f"omnipost-burst-{name}-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIPOST_")}
    env.update(OMNIPOST_HOME=home, OMNIPOST_QUEUE_NAME=f"burst-{secrets.token_hex(4)}")
    if services is None:
        try:
            yield env
        finally:
            shutil.rmtree(home, ignore_errors=True)
        return
    import psycopg
    import redis

    admin_url, redis_url = services
    database = f"omnipost_burst_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
        base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        env.update(OMNIPOST_DATABASE_URL=f"{base}/{database}", OMNIPOST_QUEUE_URL=redis_url)
        try:
            yield env
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            client = redis.Redis.from_url(redis_url)
            for key in client.scan_iter(f"*{env['OMNIPOST_QUEUE_NAME']}*"):
                client.delete(key)
            shutil.rmtree(home, ignore_errors=True)


class Worker:
    def __init__(self, env: dict[str, str], log: Path, *args: str) -> None:
        self.log = log
        self._out = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "omnipost_tui", "worker", *args],
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )

    def wait_started(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while "worker started" not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"worker did not start:\n{self.log.read_text(errors='replace')}")
            time.sleep(0.1)

    def cpu_seconds(self) -> float:
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        # utime and stime, fields 14 and 15 of stat(5), after the command's parenthesis.
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()


def run_burst(env: dict[str, str], url: str, args: argparse.Namespace, *, two_workers: bool) -> Run:
    env = {
        **env,
        "OMNIPOST_FACEBOOK_GRAPH_URL": url,
        "OMNIPOST_LINKEDIN_API_URL": url,
        "OMNIPOST_FACEBOOK_GRAPH_VERSION": GRAPH_VERSION,
        "PYTHONUNBUFFERED": "1",
    }
    os.environ.update(env)  # this process writes the variants through the services
    from sqlalchemy import func, select

    from omnipost_tui.config import load_settings
    from omnipost_tui.engine.queue import open_queue
    from omnipost_tui.models import PostVariant, PublicationAttempt
    from omnipost_tui.services.accounts import add_account
    from omnipost_tui.services.brands import add_brand
    from omnipost_tui.services.context import open_context
    from omnipost_tui.services.posts import add_post
    from omnipost_tui.services.variants import add_variant

    count, account_count = args.variants, args.accounts
    setup = "SQLite, 1 x 16" if not two_workers else "PostgreSQL+Redis, 2 x 8"
    ctx = open_context(load_settings(), open_queue=open_queue)
    workers: list[Worker] = []
    profilers: list[subprocess.Popen[bytes]] = []
    try:
        brand = add_brand(ctx, "Burst").id
        accounts = _account_ids("burst", account_count)
        account_ids = [
            add_account(
                ctx,
                brand=brand,
                platform=platform,
                external_id=external,
                name=f"Burst {n}",
                access_token=TOKEN,
            ).id
            for n, (platform, external) in enumerate(accounts)
        ]
        posts = [
            add_post(ctx, brand=brand, title=f"Burst {p}", text=_post_text("burst", p)).id
            for p in range(math.ceil(count / account_count))
        ]
        logs = Path(env["OMNIPOST_HOME"])
        if two_workers:
            workers = [
                Worker(env, logs / "worker-0.log", "--workers", "8"),
                Worker(env, logs / "worker-1.log", "--workers", "8", "--no-periodic"),
            ]
        else:
            workers = [Worker(env, logs / "worker-0.log", "--workers", str(THREADS))]
        for worker in workers:
            worker.wait_started()

        lead = args.lead if args.lead is not None else 5 + 0.01 * count
        due = (datetime.now(UTC) + timedelta(seconds=lead)).replace(microsecond=0)
        ids = [
            add_variant(
                ctx, post=posts[n // account_count], account=account_ids[n % account_count], at=due
            ).id
            for n in range(count)
        ]
        if datetime.now(UTC) > due - timedelta(seconds=1):
            raise SystemExit(f"setting up took longer than --lead {lead:g} s; give a longer one")
        if args.profile:
            profilers = _profile(args.profile, setup, workers)
        cpu_before = sum(worker.cpu_seconds() for worker in workers)

        def published() -> int:
            with ctx.db.read() as session:
                return (
                    session.scalar(
                        select(func.count())
                        .select_from(PostVariant)
                        .where(PostVariant.status == "published")
                    )
                    or 0
                )

        deadline = time.monotonic() + lead + 120 + count * 0.1
        while published() < count and time.monotonic() < deadline:
            time.sleep(0.5)
        cpu_used = sum(worker.cpu_seconds() for worker in workers) - cpu_before
        time.sleep(1.0)  # a duplicate, if there were one, would arrive now
    finally:
        for profiler in profilers:
            profiler.send_signal(signal.SIGINT)
        for profiler in profilers:
            profiler.wait(timeout=60)
        for worker in workers:
            worker.stop()

    received = _sandbox_posts(url, {external for _, external in accounts})
    run = _timed(setup, count, due, _arrivals(received))
    run.worker_cpu_s = round(cpu_used, 2)
    by_content = Counter((post["account"], post["text"]) for post in received)
    twice = [key for key, seen in by_content.items() if seen > 1]
    if twice:
        run.problems.append(f"{len(twice)} variant(s) arrived more than once, e.g. {twice[0]}")
    sandbox_ids = {(post["account"], post["text"]): post["external_post_id"] for post in received}
    with ctx.db.read() as session:
        rows = session.execute(
            select(
                PostVariant.id,
                PostVariant.status,
                PostVariant.external_post_id,
                PostVariant.attempts,
            ).where(PostVariant.id.in_(ids))
        ).all()
        attempts = session.scalar(select(func.count()).select_from(PublicationAttempt)) or 0
        times = session.execute(
            select(
                PublicationAttempt.started_at,
                PublicationAttempt.sent_at,
                PublicationAttempt.finished_at,
            )
        ).all()
    run.phases_ms = _phases(due, times)
    by_id = {variant_id: (status, post_id, tries) for variant_id, status, post_id, tries in rows}
    wrong = []
    for n, variant_id in enumerate(ids):
        status, post_id, tries = by_id[variant_id]
        key = (accounts[n % account_count][1], _text("burst", n, account_count))
        if status != "published" or tries != 1 or post_id != sandbox_ids.get(key):
            wrong.append(f"variant {variant_id}: {status}, {tries} attempt(s), id {post_id}")
    if wrong:
        run.problems.append(f"{len(wrong)} variant(s) not published exactly once: {wrong[0]}")
    if len(received) != count:
        run.problems.append(f"the sandbox received {len(received)} posts for {count} variants")
    if attempts != count:
        run.problems.append(f"{attempts} attempts recorded for {count} variants")
    ctx.close()
    for key in env:
        os.environ.pop(key, None)
    return run


def _phases(due: datetime, times: list[Any]) -> dict[str, list[float]]:
    def spread(values: list[float]) -> list[float]:
        values.sort()
        return [round(statistics.median(values), 1), round(values[int(len(values) * 0.9)], 1)]

    def ms(later: datetime | None, earlier: datetime | None) -> float | None:
        if later is None or earlier is None:
            return None
        # SQLite hands back naive UTC datetimes.
        later, earlier = (t if t.tzinfo else t.replace(tzinfo=UTC) for t in (later, earlier))
        return (later - earlier).total_seconds() * 1000

    phases: dict[str, list[float]] = {}
    for name, pick in (
        ("due→claimed", lambda row: ms(row[0], due)),
        ("claimed→sending", lambda row: ms(row[1], row[0])),
        ("sending→recorded", lambda row: ms(row[2], row[1])),
    ):
        values = [v for v in map(pick, times) if v is not None]
        if values:
            phases[name] = spread(values)
    return phases


def _profile(directory: Path, setup: str, workers: list[Worker]) -> list[subprocess.Popen[bytes]]:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        print("--profile: py-spy is not installed; not profiling", file=sys.stderr)
        return []
    directory.mkdir(parents=True, exist_ok=True)
    stem = setup.split(",")[0].lower().replace("+", "-")
    return [
        subprocess.Popen(
            [
                spy,
                "record",
                # What holds the GIL is what costs CPU here (waits on the network, the queue
                # or a lock do not); sampled without pausing the worker.
                "--gil",
                "--nonblocking",
                "--threads",
                "--format",
                "raw",
                "--rate",
                "1000",
                "--pid",
                str(worker.proc.pid),
                "-o",
                str(directory / f"{stem}-worker-{n}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for n, worker in enumerate(workers)
    ]


def _print_table(results: list[dict[str, Any]]) -> None:
    print()
    print(
        f"{'setup':<26} {'variants':>8} {'bare s':>7} {'omnipost s':>10} {'ratio':>6} "
        f"{'first ms':>8} {'median ms':>9} {'early':>5} {'cpu s':>6}  exactly once"
    )
    for result in results:
        bare, ours = result["baseline"], result["omnipost"]
        problems = bare["problems"] + ours["problems"]
        print(
            f"{ours['setup']:<26} {result['variants']:>8} {bare['seconds']:>7.2f} "
            f"{ours['seconds']:>10.2f} {result['ratio']:>6.2f} {ours['first_ms']:>8.0f} "
            f"{ours['median_ms']:>9.0f} {ours['early']:>5} {ours['worker_cpu_s']:>6.1f}  "
            f"{'yes' if not problems else '; '.join(problems)}"
        )
    print(
        "phases, median / p90 ms: "
        + " | ".join(
            f"{result['omnipost']['setup']}: "
            + ", ".join(
                f"{k} {v[0]:.0f}/{v[1]:.0f}" for k, v in result["omnipost"]["phases_ms"].items()
            )
            for result in results
        )
    )


if __name__ == "__main__":
    raise SystemExit(main())
