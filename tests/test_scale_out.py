"""Scale-out on the real services: PostgreSQL for data, Redis for the queue, several workers.

Skipped (with the reason) when PostgreSQL or Redis is not reachable, unless
OMNIPOST_REQUIRE_SERVICES=1 (CI), which turns a missing service into a failure.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest

from omnipost_tui import clock
from omnipost_tui.config import load_settings
from omnipost_tui.engine.queue import open_queue
from omnipost_tui.services import publishing
from omnipost_tui.services.accounts import add_account
from omnipost_tui.services.attempts import list_attempts
from omnipost_tui.services.brands import add_brand
from omnipost_tui.services.context import open_context
from omnipost_tui.services.posts import add_post
from omnipost_tui.services.variants import VariantFilter, add_variant, list_variants
from tests.conftest import FB_TOKEN, REDIS_URL, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow]


@pytest.fixture
def scaled(home, monkeypatch, postgres_url, redis_queue, sandbox, process_env):
    values = {
        "OMNIPOST_DATABASE_URL": postgres_url,
        "OMNIPOST_QUEUE_URL": REDIS_URL,
        "OMNIPOST_QUEUE_NAME": redis_queue,
        "OMNIPOST_FACEBOOK_GRAPH_URL": sandbox.url,
        "OMNIPOST_LINKEDIN_API_URL": sandbox.url,
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    process_env.update(values)
    context = open_context(load_settings(), open_queue=open_queue)
    yield context
    context.close()


def test_three_workers_publish_each_variant_exactly_once(scaled, sandbox, start_worker):
    ctx = scaled
    brand = add_brand(ctx, "Acme").id
    pages = [
        add_account(
            ctx,
            brand=brand,
            platform="facebook",
            external_id=f"page-{n}",
            name=f"Page {n}",
            access_token=FB_TOKEN,
        ).id
        for n in range(3)
    ]
    post = add_post(ctx, brand=brand, title="Scale", text="Hello from many workers").id
    start = clock.now() + timedelta(seconds=5)
    variants = [
        add_variant(
            ctx, post=post, account=pages[n % 3], at=start + timedelta(milliseconds=50 * n)
        ).id
        for n in range(60)
    ]
    # Stray duplicates of every message: a second sweep, a double click on "publish now"...
    for variant_id in variants:
        ctx.queue.enqueue_publish(variant_id, start)
        ctx.queue.enqueue_publish(variant_id)

    workers = [
        start_worker("--workers", "4"),
        start_worker("--workers", "4", "--no-periodic"),
        start_worker("--workers", "4", "--no-periodic"),
    ]

    def all_published():
        for worker in workers:
            assert worker.proc.poll() is None, worker.output()
        rows = list_variants(ctx, VariantFilter(statuses=("published",)))
        return len(rows) == len(variants)

    wait_for(all_published, timeout=60, interval=0.2, what="60 variants to be published")
    assert len(sandbox.posts) == 60
    assert Counter(p.account for p in sandbox.posts) == {"page-0": 20, "page-1": 20, "page-2": 20}
    published = list_variants(ctx, VariantFilter(statuses=("published",)))
    assert len({v.external_post_id for v in published}) == 60
    assert all(v.attempts == 1 for v in published)
    assert all(v.published_at >= v.scheduled_at for v in published)
    attempts = list_attempts(ctx)
    assert len(attempts) == 60
    assert len({a.worker for a in attempts}) > 1  # the work really was shared


def test_concurrent_claims_on_postgres_have_one_winner(scaled, fake_clock):
    ctx = scaled
    brand = add_brand(ctx, "Acme").id
    page = add_account(
        ctx, brand=brand, platform="facebook", external_id="page-x", name="P", access_token=FB_TOKEN
    ).id
    post = add_post(ctx, brand=brand, title="Race", text="Only once").id
    variant = add_variant(
        ctx, post=post, account=page, at=fake_clock.now() + timedelta(seconds=1)
    ).id
    fake_clock.advance(2)
    barrier = threading.Barrier(12)
    claims = []

    def claim(n: int) -> None:
        barrier.wait()
        claims.append(publishing.claim_variant(ctx, variant, fake_clock.now(), f"racer-{n}"))

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [c for c in claims if c is not None]
    assert len(winners) == 1
    assert [a.attempt_no for a in list_attempts(ctx, variant=variant)] == [1]
