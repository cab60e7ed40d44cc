# ruff: noqa: F811  (the fixtures imported from test_worker_e2e are parameters here)
"""End to end with pictures: a real ``omnipost worker``, the real connectors and the sandbox
standing in for Facebook and LinkedIn over loopback HTTP. Each test checks what arrived, by
SHA-256 and in order, and that nothing was published twice or left staged on the platform."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from omnipost_tui import clock
from omnipost_tui.sandbox import SandboxServer
from omnipost_tui.services.attempts import list_attempts
from omnipost_tui.services.brands import add_brand
from omnipost_tui.services.context import Context
from omnipost_tui.services.media import ImageInput
from omnipost_tui.services.posts import add_post
from omnipost_tui.services.variants import add_variant, get_variant, publish_now, unschedule_variant
from tests.conftest import FB_TOKEN, LI_TOKEN, run_cli, wait_for
from tests.test_worker_e2e import (  # noqa: F401  (fixtures)
    connect,
    live,
    platform_env,
    settle,
    wait_until_sent,
)

pytestmark = pytest.mark.slow


def pictures(folder: Path, count: int, tag: str = "") -> list[Path]:
    """``count`` small PNGs, each different (so each has its own SHA-256)."""
    paths = []
    for n in range(count):
        path = folder / f"{tag}picture-{n + 1}.png"
        Image.new("RGB", (40 + n, 30), ((n * 23) % 256, (n * 71) % 256, len(tag) * 9)).save(path)
        paths.append(path)
    return paths


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def post_with(ctx: Context, brand: int, paths: list[Path], text: str = "Look at these") -> int:
    images = [ImageInput(str(p), f"alt of {p.name}") for p in paths]
    return add_post(ctx, brand=brand, title=text, text=text, images=images).id


def arrived(sandbox: SandboxServer, account: str) -> list:
    return [p for p in sandbox.posts if p.account == account]


def staged_left(sandbox: SandboxServer) -> list:
    """Facebook photos uploaded unpublished and never used or deleted: leaked."""
    return [m for m in sandbox.media() if m.state == "staged"]


def attempts_in_order(ctx: Context, variant_id: int) -> list:
    return sorted(list_attempts(ctx, variant=variant_id), key=lambda a: a.attempt_no)


def uploads_of(ctx: Context, variant_id: int) -> list[list[dict]]:
    """Per attempt, the upload steps its log shows."""
    steps = []
    for attempt in attempts_in_order(ctx, variant_id):
        summary = json.loads(attempt.request_summary) if attempt.request_summary else {}
        steps.append(summary.get("uploads", []))
    return steps


@pytest.mark.parametrize(
    ("platform", "account", "count"),
    [
        ("facebook", "page-one", 1),
        ("facebook", "page-three", 3),
        ("facebook", "page-ten", 10),
        ("linkedin", "urn:li:organization:7001", 1),
        ("linkedin", "urn:li:organization:7005", 5),
    ],
)
def test_the_pictures_arrive_once_in_order_with_their_alt_text(
    live, sandbox, start_worker, tmp_path, platform, account, count
):
    brand = add_brand(live, "Acme").id
    account_id = connect(live, brand, platform, account, "Acme")
    paths = pictures(tmp_path, count)
    post = post_with(live, brand, paths)
    variant = add_variant(
        live, post=post, account=account_id, at=clock.now() + timedelta(seconds=3)
    ).id
    for path in paths:
        path.unlink()  # OmniPost publishes its own copies

    worker = start_worker()
    assert settle(live, [variant], worker) == {variant: "published"}

    [received] = arrived(sandbox, account)
    expected = [sha(p) for p in pictures(tmp_path, count)]  # the same pictures, made again
    assert [image.sha256 for image in received.images] == expected
    assert [image.alt for image in received.images] == [f"alt of {p.name}" for p in paths]
    assert received.text == "Look at these"
    assert get_variant(live, variant).external_post_id == received.external_post_id
    assert staged_left(sandbox) == []
    attempts = attempts_in_order(live, variant)
    assert len(attempts) == 1, [(a.result, a.error_class, a.error_message) for a in attempts]
    [steps] = uploads_of(live, variant)
    if platform == "facebook" and count == 1:
        assert steps == []  # one picture travels with its post in a single call
    else:
        assert [s["step"] for s in steps] == [f"upload {n} of {count}" for n in range(1, count + 1)]
        assert [s["sha256"] for s in steps] == expected
        assert all(s.get("media_id") for s in steps)


@pytest.mark.parametrize(
    ("platform", "account"),
    [("facebook", "page-uploadflaky"), ("linkedin", "urn:li:organization:uploadflaky")],
)
def test_an_upload_that_fails_once_is_retried_and_published_once(
    live, sandbox, start_worker, tmp_path, platform, account
):
    brand = add_brand(live, "Acme").id
    account_id = connect(live, brand, platform, account, "Flaky")
    paths = pictures(tmp_path, 3)
    post = post_with(live, brand, paths)
    variant = add_variant(live, post=post, account=account_id, draft=True).id
    worker = start_worker()
    publish_now(live, variant)

    assert settle(live, [variant], worker) == {variant: "published"}
    assert len(arrived(sandbox, account)) == 1
    assert [i.sha256 for i in arrived(sandbox, account)[0].images] == [sha(p) for p in paths]
    attempts = attempts_in_order(live, variant)
    assert [a.result for a in attempts] == ["fail", "success"]
    assert attempts[0].sent_at is None  # the failed upload sent no post
    assert attempts[0].error_class == "transient"
    assert staged_left(sandbox) == []


def test_photos_staged_for_a_post_that_fails_for_good_are_deleted(
    live, sandbox, start_worker, tmp_path
):
    brand = add_brand(live, "Acme").id
    # The photos upload fine; the post itself is refused as a duplicate (for good).
    page = connect(live, brand, "facebook", "page-duplicate", "Strict Page")
    post = post_with(live, brand, pictures(tmp_path, 3))
    variant = add_variant(live, post=post, account=page, draft=True).id
    worker = start_worker()
    publish_now(live, variant)

    assert settle(live, [variant], worker) == {variant: "failed"}
    photos = [m for m in sandbox.media() if m.account == "page-duplicate"]
    wait_for(
        lambda: (
            [m.state for m in sandbox.media() if m.account == "page-duplicate"] == ["deleted"] * 3
        ),
        timeout=10,
        what="the staged photos to be deleted",
    )
    assert len(photos) == 3 and arrived(sandbox, "page-duplicate") == []


def test_a_refused_picture_fails_the_variant_naming_it(live, sandbox, start_worker, tmp_path):
    brand = add_brand(live, "Acme").id
    org = connect(live, brand, "linkedin", "urn:li:organization:imagerefused", "Picky")
    post = post_with(live, brand, pictures(tmp_path, 2))
    variant = add_variant(live, post=post, account=org, draft=True).id
    worker = start_worker()
    publish_now(live, variant)

    assert settle(live, [variant], worker) == {variant: "failed"}
    error = get_variant(live, variant).last_error
    assert "LinkedIn" in error and "image 1 (picture-1.png)" in error
    assert sandbox.posts == []
    [attempt] = list_attempts(live, variant=variant)
    assert attempt.sent_at is None


def test_a_worker_killed_during_the_uploads_is_retried_and_publishes_once(
    live, start_worker, platform_env, tmp_path
):
    # LinkedIn takes 4 s to process each image: the worker is killed while it waits.
    with SandboxServer(image_processing_seconds=4.0) as slow:
        for key in ("OMNIPOST_FACEBOOK_GRAPH_URL", "OMNIPOST_LINKEDIN_API_URL"):
            platform_env[key] = slow.url
        platform_env["OMNIPOST_PUBLISH_TIMEOUT"] = "6"
        platform_env["OMNIPOST_HTTP_TIMEOUT"] = "2"
        brand = add_brand(live, "Acme").id
        org = connect(live, brand, "linkedin", "urn:li:organization:7100", "Acme")
        paths = pictures(tmp_path, 2)
        post = post_with(live, brand, paths)
        variant = add_variant(live, post=post, account=org, draft=True).id
        worker = start_worker("--workers", "1", env=platform_env)
        publish_now(live, variant)
        wait_for(
            lambda: any(r.get("path", "").startswith("/_upload/") for r in slow.requests),
            timeout=20,
            what="the first image upload",
        )
        worker.proc.kill()  # mid-upload: nothing is public yet
        worker.wait(timeout=10)

        second = start_worker("--workers", "1", env=platform_env)

        def recovered_and_done() -> bool:
            run_cli(platform_env, "schedule")  # recovery once the lease is over
            return get_variant(live, variant).status in ("published", "failed", "unconfirmed")

        wait_for(recovered_and_done, timeout=60, interval=1.0, what="the retry")
        assert get_variant(live, variant).status == "published", second.output()
        [received] = [p for p in slow.posts if p.account == "urn:li:organization:7100"]
        assert [i.sha256 for i in received.images] == [sha(p) for p in paths]
        attempts = attempts_in_order(live, variant)
        assert [a.result for a in attempts][-1] == "success"
        assert attempts[0].sent_at is None  # the killed one never reached the sending point
        # What the killed worker uploaded before it died is used again, not uploaded twice.
        last_steps = uploads_of(live, variant)[-1]
        assert any(step.get("reused") for step in last_steps), last_steps


def test_a_worker_killed_after_the_create_call_left_leaves_it_unconfirmed(
    live, sandbox, start_worker, platform_env, tmp_path
):
    platform_env["OMNIPOST_PUBLISH_TIMEOUT"] = "6"
    platform_env["OMNIPOST_HTTP_TIMEOUT"] = "2"
    brand = add_brand(live, "Acme").id
    # Uploads answer at once; the create call (/feed) hangs.
    page = connect(live, brand, "facebook", "page-hang", "Hanging Page")
    post = post_with(live, brand, pictures(tmp_path, 3))
    variant = add_variant(live, post=post, account=page, draft=True).id
    worker = start_worker("--workers", "1", env=platform_env)
    publish_now(live, variant)
    wait_until_sent(live, variant)
    worker.proc.kill()
    worker.wait(timeout=10)

    def recovered() -> bool:
        run_cli(platform_env, "schedule")
        return get_variant(live, variant).status == "unconfirmed"

    wait_for(recovered, timeout=20, interval=0.5, what="recovery after the lease")
    second = start_worker("--workers", "1", env=platform_env)
    wait_for(lambda: "worker started" in second.output(), timeout=20, what="second worker")
    run_cli(platform_env, "schedule")
    assert get_variant(live, variant).status == "unconfirmed"
    assert len(list_attempts(live, variant=variant)) == 1  # never re-sent on its own


def test_pictures_go_up_ahead_of_time_and_only_the_post_is_left_at_the_minute(
    live, sandbox, start_worker, platform_env, tmp_path, home: Path
):
    platform_env["OMNIPOST_STAGE_MEDIA_BEFORE"] = "120"
    brand = add_brand(live, "Acme").id
    page = connect(live, brand, "facebook", "page-early", "Early Page")
    org = connect(live, brand, "linkedin", "urn:li:organization:7200", "Early Org")
    paths = pictures(tmp_path, 3)
    post = post_with(live, brand, paths)
    other = post_with(live, brand, pictures(tmp_path, 2, "x"))
    worker = start_worker(env=platform_env)
    wait_for(lambda: "worker started" in worker.output(), timeout=30, what="the worker")
    due = clock.now() + timedelta(seconds=30)
    fb = add_variant(live, post=post, account=page, at=due).id
    li = add_variant(live, post=post, account=org, at=due).id
    # Unscheduled after its pictures went up: they are deleted from the Page.
    dropped = add_variant(live, post=other, account=page, at=due).id
    run_cli(platform_env, "schedule")  # the sweep, as the worker runs it every minute

    def staged_early() -> bool:
        fb_photos = [m for m in sandbox.media() if m.account == "page-early"]
        li_images = [m for m in sandbox.media() if m.account == "urn:li:organization:7200"]
        return len(fb_photos) == 5 and len(li_images) == 3

    wait_for(staged_early, timeout=20, what="the pictures to go up ahead of time")
    assert sandbox.posts == [] and clock.now() < due

    unschedule_variant(live, dropped)
    run_cli(platform_env, "schedule")
    x_sums = {sha(p) for p in pictures(tmp_path, 2, "x")}
    wait_for(
        lambda: sorted(m.state for m in sandbox.media() if m.sha256 in x_sums) == ["deleted"] * 2,
        timeout=15,
        what="the unscheduled variant's photos to be deleted",
    )

    assert settle(live, [fb, li], worker, timeout=60) == {fb: "published", li: "published"}
    for variant in (fb, li):
        [steps] = uploads_of(live, variant)
        assert [s.get("reused") for s in steps] == [True] * 3, steps
    assert staged_left(sandbox) == []
    for account in ("page-early", "urn:li:organization:7200"):
        [received] = arrived(sandbox, account)
        assert [i.sha256 for i in received.images] == [sha(p) for p in paths]
        assert received.received_at >= due
    # No token in what the uploads left behind, and no image bytes in the database.
    database = next(home.rglob("omnipost.db")).read_bytes()
    for token in (FB_TOKEN, LI_TOKEN):
        assert token.encode() not in database
        assert token not in worker.output()
    assert paths[0].read_bytes()[:64] not in database
