"""Big databases for the benchmarks (and the tests that keep small versions of them).

Bulk inserts of real rows, shaped as the services write them, straight through SQLAlchemy:
a million variants go in within a minute, which the services (one row, its checks and its
audit at a time) would take hours over.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from omnipost_tui import clock
from omnipost_tui.models import Brand, ConnectedSocialAccount, Post, PostVariant, PublicationAttempt
from omnipost_tui.services.context import Context
from omnipost_tui.states import VARIANT_STATUSES

START = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
BATCH = 5000
# Every kind of outcome the metrics and the attempts screen tell apart.
RESULTS = (("success", None), ("fail", "transient"), ("fail", "permanent"), ("fail", "rate_limit"))


@dataclass(frozen=True)
class SeededBrand:
    """A brand with a Facebook Page and a LinkedIn organization, and its posts."""

    id: int
    facebook: int  # account ids
    linkedin: int
    posts: Sequence[int]

    def account(self, n: int) -> tuple[str, int]:
        """The platform and account of the ``n``-th variant: the two in turn."""
        return ("facebook", self.facebook) if n % 2 == 0 else ("linkedin", self.linkedin)


def scratch_context(prefix: str, database_url: str | None = None) -> Context:
    """A context on a fresh OMNIPOST_HOME in a temporary directory (its SQLite database, or
    ``database_url``), with the queue in memory: what the in-process benchmarks measure on."""
    from omnipost_tui.engine.queue import open_queue
    from omnipost_tui.services.context import open_context

    os.environ["OMNIPOST_HOME"] = tempfile.mkdtemp(prefix=f"omnipost-bench-{prefix}-")
    os.environ["OMNIPOST_QUEUE_URL"] = "memory://"
    if database_url:
        os.environ["OMNIPOST_DATABASE_URL"] = database_url
    else:
        os.environ.pop("OMNIPOST_DATABASE_URL", None)
    return open_context(open_queue=open_queue)


def seed_brand(ctx: Context, session: Session, name: str, now: datetime, posts: int) -> SeededBrand:
    brand_id = session.execute(
        insert(Brand).values(name=name, created_at=now).returning(Brand.id)
    ).scalar_one()
    accounts = [
        session.execute(
            insert(ConnectedSocialAccount)
            .values(
                brand_id=brand_id,
                platform=platform,
                external_id=external,
                name=f"{name} {platform}",
                access_token_encrypted=ctx.cipher.encrypt(f"{name.lower()}-token-not-secret"),
                status="connected",
                created_at=now,
                updated_at=now,
            )
            .returning(ConnectedSocialAccount.id)
        ).scalar_one()
        for platform, external in (("facebook", "page-1"), ("linkedin", "urn:li:organization:9"))
    ]
    post_ids = [
        session.execute(
            insert(Post)
            .values(
                brand_id=brand_id,
                title=f"{name} post {n}",
                base_text=f"{name} post number {n}: something worth reading.",
                status="draft",
                created_at=now,
                updated_at=now,
            )
            .returning(Post.id)
        ).scalar_one()
        for n in range(posts)
    ]
    return SeededBrand(brand_id, accounts[0], accounts[1], post_ids)


def insert_in_batches(session: Session, model: type, rows: Iterable[dict[str, Any]]) -> None:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            session.execute(insert(model), batch)
            batch = []
    if batch:
        session.execute(insert(model), batch)


def seed_many(ctx: Context, count: int, *, start: datetime = START) -> None:
    """``count`` variants five minutes apart from ``start``, every status in turn, on the two
    accounts of one brand."""
    with ctx.db.write() as session:
        brand = seed_brand(ctx, session, "Bulk", start, posts=100)

        def rows() -> Iterable[dict[str, Any]]:
            for n in range(count):
                platform, account = brand.account(n)
                yield {
                    "post_id": brand.posts[n % len(brand.posts)],
                    "platform": platform,
                    "account_id": account,
                    "scheduled_at": start + timedelta(minutes=5 * n),
                    "status": VARIANT_STATUSES[n % len(VARIANT_STATUSES)],
                    "attempts": 0,
                    "attempts_before_retry": 0,
                    "created_at": start,
                    "updated_at": start,
                }

        insert_in_batches(session, PostVariant, rows())


def seed_attempts(ctx: Context, count: int) -> None:
    """``count`` attempts spread over the variants there are; the last hour holds 1,000 first
    attempts that succeeded (for the lateness figures)."""
    now = clock.now()
    with ctx.db.write() as session:
        ids = session.scalars(select(PostVariant.id).order_by(PostVariant.id)).all()

        def rows() -> Iterable[dict[str, Any]]:
            for n in range(count):
                result, error_class = RESULTS[n % len(RESULTS)]
                recent = n < 1000
                finished = now - timedelta(minutes=n % 60 if recent else 120 + n)
                yield {
                    "variant_id": ids[n % len(ids)],
                    "attempt_no": n // len(ids) + 1,
                    "started_at": finished,
                    "sent_at": finished,
                    "finished_at": finished,
                    "result": "success" if recent else result,
                    "error_class": None if recent else error_class,
                    "http_status": 200 if recent or result == "success" else 400,
                }

        insert_in_batches(session, PublicationAttempt, rows())
