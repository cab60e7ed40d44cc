"""What does one publish cost OmniPost itself, without the platform? CPU per publish.

    python -m tests.benchmarks.publish_cost [--variants 2000] [--postgres URL] [--json PATH]

At the top of the hour the machine's cores, not the platforms, limit a burst (see the README's
Performance section): whatever a worker spends per publish on its own database work is CPU the
other workers, PostgreSQL and the sandbox do not get. This runs the database side of a publish
for ``--variants`` due variants, one after the other in one thread, exactly as a worker does it
(``load_due_state``, ``claim_variant`` with the sending point, ``complete_attempt``), and prints
the CPU and wall time per publish. SQLite always; PostgreSQL too with ``--postgres`` (an admin
URL: a fresh database is created in it and dropped afterwards).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import select


@contextmanager
def _database(postgres: str | None) -> Iterator[str | None]:
    """None for the SQLite file in OMNIPOST_HOME, else a fresh PostgreSQL database's URL."""
    if postgres is None:
        yield None
        return
    import psycopg

    name = f"omnipost_cost_{secrets.token_hex(4)}"
    with psycopg.connect(postgres, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        base = postgres.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        try:
            yield f"{base}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def measure(variants: int, database_url: str | None) -> dict[str, Any]:
    from omnipost_tui import clock
    from omnipost_tui.models import PostVariant
    from omnipost_tui.services import publishing
    from omnipost_tui.services.publishing import AttemptRecord
    from omnipost_tui.services.retry import Outcome
    from tests.benchmarks.seeding import scratch_context, seed_many

    ctx = scratch_context("cost", database_url)
    try:
        now = clock.now()
        seed_many(ctx, variants, start=now - timedelta(minutes=5 * variants + 1))
        with ctx.db.read() as session:
            ids = session.scalars(
                select(PostVariant.id).where(PostVariant.status == "scheduled")
            ).all()
        cpu, wall = time.process_time(), time.perf_counter()
        published = 0
        for variant_id in ids:
            state = publishing.load_due_state(ctx, variant_id)
            assert state is not None and state.due_at is not None
            claim = publishing.claim_variant(
                ctx, variant_id, clock.now(), "bench", send_at_once=True
            )
            assert claim is not None and claim.sending
            record = AttemptRecord(
                result="success", http_status=200, external_post_id=f"p{variant_id}"
            )
            publishing.complete_attempt(
                ctx, claim, record, Outcome(status="published"), clock.now()
            )
            published += 1
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        ctx.close()
    return {
        "database": "PostgreSQL" if database_url else "SQLite",
        "publishes": published,
        "cpu_ms_per_publish": cpu / published * 1000,
        "wall_ms_per_publish": wall / published * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=2000, help="seeded; a seventh fall due")
    parser.add_argument("--postgres", help="admin URL, e.g. postgresql://postgres@127.0.0.1/test")
    parser.add_argument("--json", default="publish_cost.json", help="where to write the figures")
    args = parser.parse_args()
    rows = []
    for postgres in (None, args.postgres) if args.postgres else (None,):
        with _database(postgres) as url:
            rows.append(measure(args.variants, url))
    print(f"{'database':<12} publishes  CPU ms each  wall ms each")
    for row in rows:
        print(
            f"{row['database']:<12} {row['publishes']:>9}  {row['cpu_ms_per_publish']:11.2f}"
            f"  {row['wall_ms_per_publish']:12.2f}"
        )
    with open(args.json, "w", encoding="utf-8") as out:
        json.dump({"cpus": os.cpu_count(), "rows": rows}, out, indent=2)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
