"""One sweep on a big database: how long does the safety net take, and what of it grows with
the history?

    python -m tests.benchmarks.sweep [--sizes 10000,100000,1000000] [--due 100]
                                     [--missed 7000] [--json sweep.json]

For each size, a fresh SQLite database in a temporary OMNIPOST_HOME holds that many variants
the way a long-used install does (most published in the past, some failed, a few weeks
scheduled ahead) and ``--due`` variants due now. One sweep (``engine.sweep``, the queue in
memory) is timed five times, the due variants made undispatched again before each, with
each step of the sweep timed on its own. Then ``--missed`` variants are left scheduled two
days in the past (a worker that was down for the weekend) and the one sweep that fails them
is timed. Prints a table; the numbers also go to ``--json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, update

from tests.benchmarks.seeding import insert_in_batches, scratch_context, seed_brand

RUNS = 5


def seed(ctx: Any, total: int, due: int, now: datetime) -> list[int]:
    """``total`` variants, ``due`` of them due now; the ids of the due ones."""
    from omnipost_tui.models import PostVariant

    with ctx.db.write() as session:
        brand = seed_brand(ctx, session, "History", now, posts=200)
        ahead = max(total // 50, 1)  # 2 % scheduled in the coming weeks

        def history() -> Iterator[dict[str, Any]]:
            for n in range(total - due):
                platform, account = brand.account(n)
                row: dict[str, Any] = {
                    "post_id": brand.posts[n % len(brand.posts)],
                    "platform": platform,
                    "account_id": account,
                    "attempts": 1,
                    "attempts_before_retry": 0,
                    "created_at": now,
                    "updated_at": now,
                }
                if n < ahead:
                    row.update(
                        status="scheduled",
                        scheduled_at=now + timedelta(days=1, minutes=n),
                        attempts=0,
                    )
                else:
                    past = now - timedelta(minutes=n)
                    failed = n % 40 == 0
                    row.update(
                        status="failed" if failed else "published",
                        scheduled_at=past,
                        published_at=None if failed else past,
                        external_post_id=None if failed else f"post-{n}",
                        last_error="refused" if failed else None,
                    )
                yield row

        insert_in_batches(session, PostVariant, history())
        due_ids = [
            session.execute(
                insert(PostVariant)
                .values(
                    post_id=brand.posts[n % len(brand.posts)],
                    platform="facebook",
                    account_id=brand.facebook,
                    scheduled_at=now + timedelta(seconds=n % 60),
                    status="scheduled",
                    attempts=0,
                    attempts_before_retry=0,
                    created_at=now,
                    updated_at=now,
                )
                .returning(PostVariant.id)
            ).scalar_one()
            for n in range(due)
        ]
    with ctx.db.engine.connect() as conn:  # fresh statistics, as after any ANALYZE
        conn.exec_driver_sql("ANALYZE")
    return due_ids


def undispatch(ctx: Any, ids: list[int]) -> None:
    from omnipost_tui.models import PostVariant

    with ctx.db.write() as session:
        session.execute(
            update(PostVariant).where(PostVariant.id.in_(ids)).values(dispatched_at=None)
        )


def steps(ctx: Any) -> dict[str, Callable[[datetime], object]]:
    """The sweep's steps, in its order, each callable on its own (engine/sweep.py)."""
    from omnipost_tui.engine import alerting, readback, sweep, token_watch
    from omnipost_tui.services import publishing, workers
    from omnipost_tui.services.dispatch import dispatch

    return {
        "recover stuck": lambda now: publishing.recover_stuck(ctx, now),
        "fail missed": lambda now: publishing.fail_missed(ctx, now),
        "dispatch due": lambda now: dispatch(ctx, publishing.due_for_dispatch(ctx, now), now),
        "stage images": lambda now: sweep._stage_images_ahead(ctx, now),
        "read backs": lambda now: readback.queue_due(ctx, now),
        "alerts": lambda now: alerting.notice(ctx, resend=True),
        "token check": lambda now: token_watch.start_if_due(ctx, now),
        "record": lambda now: workers.record_sweep(ctx, "bench"),
    }


def measure(total: int, due: int, missed: int) -> dict[str, Any]:
    from omnipost_tui import clock
    from omnipost_tui.engine.sweep import sweep

    ctx = scratch_context("sweep")
    from omnipost_tui.logs import setup_logging

    setup_logging(ctx.settings)  # the log file, as in the worker: each missed one is a line
    now = clock.now()
    started = time.perf_counter()
    due_ids = seed(ctx, total, due, now)
    seeded = time.perf_counter() - started
    sweep(ctx, worker_id="bench")  # warm: the first sweep also starts the daily token check
    whole: list[float] = []
    per_step: dict[str, list[float]] = {name: [] for name in steps(ctx)}
    for _ in range(RUNS):
        undispatch(ctx, due_ids)
        t0 = time.perf_counter()
        report = sweep(ctx, worker_id="bench")
        whole.append((time.perf_counter() - t0) * 1000)
        assert len(report.dispatched) == due, (len(report.dispatched), due)
        undispatch(ctx, due_ids)
        for name, step in steps(ctx).items():
            t0 = time.perf_counter()
            step(clock.now())
            per_step[name].append((time.perf_counter() - t0) * 1000)

    # A weekend without a worker: ``missed`` variants two days late, past max_lateness (1 day).
    from omnipost_tui.models import PostVariant

    with ctx.db.write() as session:
        ids = session.scalars(
            PostVariant.__table__.select()
            .with_only_columns(PostVariant.id)
            .where(PostVariant.status == "published")
            .limit(missed)
        ).all()
        session.execute(
            update(PostVariant)
            .where(PostVariant.id.in_(ids))
            .values(
                status="scheduled",
                scheduled_at=now - timedelta(days=2),
                published_at=None,
                external_post_id=None,
            )
        )
    t0 = time.perf_counter()
    report = sweep(ctx, worker_id="bench")
    missed_ms = (time.perf_counter() - t0) * 1000
    assert len(report.missed) == missed, (len(report.missed), missed)
    ctx.close()
    return {
        "variants": total,
        "due": due,
        "seeded_s": round(seeded, 1),
        "sweep_ms_median": round(statistics.median(whole), 1),
        "sweep_ms_max": round(max(whole), 1),
        "steps_ms_median": {k: round(statistics.median(v), 2) for k, v in per_step.items()},
        "missed": missed,
        "missed_sweep_ms": round(missed_ms, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--due", type=int, default=100)
    parser.add_argument("--missed", type=int, default=7000)
    parser.add_argument("--json", type=Path, default=Path("sweep.json"))
    args = parser.parse_args()
    results = [measure(int(size), args.due, args.missed) for size in args.sizes.split(",") if size]
    print(
        f"{'variants':>10} {'due':>5} {'sweep ms (median)':>18} {'max':>7} {'missed':>7} "
        f"{'that sweep ms':>14}"
    )
    for r in results:
        print(
            f"{r['variants']:>10,} {r['due']:>5} {r['sweep_ms_median']:>18} "
            f"{r['sweep_ms_max']:>7} {r['missed']:>7} {r['missed_sweep_ms']:>14}"
        )
    for r in results:
        slow = sorted(r["steps_ms_median"].items(), key=lambda kv: -kv[1])
        print(f"{r['variants']:,}: " + ", ".join(f"{k} {v} ms" for k, v in slow))
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
