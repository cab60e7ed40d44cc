"""End to end: a real ``omnipost worker`` process, the real SQLite queue, the real connectors,
and a loopback server standing in for Facebook and LinkedIn."""

from __future__ import annotations

import signal
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from omnipost_tui import clock
from omnipost_tui.config import load_settings
from omnipost_tui.engine.queue import open_queue
from omnipost_tui.services.accounts import add_account
from omnipost_tui.services.attempts import list_attempts
from omnipost_tui.services.brands import add_brand
from omnipost_tui.services.context import Context, open_context
from omnipost_tui.services.posts import add_post
from omnipost_tui.services.variants import add_variant, get_variant, publish_now
from tests.conftest import FB_TOKEN, LI_TOKEN, run_cli, wait_for

pytestmark = pytest.mark.slow

TERMINAL = {"published", "failed", "unconfirmed"}


@pytest.fixture
def platform_env(home, sandbox, process_env, monkeypatch):
    """Point this process and the worker at the sandbox; short retry waits."""
    values = {
        "OMNIPOST_FACEBOOK_GRAPH_URL": sandbox.url,
        "OMNIPOST_LINKEDIN_API_URL": sandbox.url,
        "OMNIPOST_RETRY_BACKOFF": "1,1",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    process_env.update(values)
    return process_env


@pytest.fixture
def live(platform_env) -> Context:
    context = open_context(load_settings(), open_queue=open_queue)
    yield context
    context.close()


def connect(ctx: Context, brand: int, platform: str, external_id: str, name: str) -> int:
    token = FB_TOKEN if platform == "facebook" else LI_TOKEN
    return add_account(
        ctx, brand=brand, platform=platform, external_id=external_id, name=name, access_token=token
    ).id


def wait_until_sent(ctx: Context, variant_id: int) -> None:
    """Until the variant's request has left for the platform (its sending point)."""
    wait_for(
        lambda: any(a.sent_at for a in list_attempts(ctx, variant=variant_id)),
        timeout=20,
        what="the request to be on its way",
    )


def settle(ctx: Context, variant_ids: list[int], worker, timeout: float = 30.0) -> dict[int, str]:
    def statuses():
        assert worker.proc.poll() is None, f"the worker exited:\n{worker.output()}"
        current = {v: get_variant(ctx, v).status for v in variant_ids}
        return current if set(current.values()) <= TERMINAL else None

    return wait_for(statuses, timeout=timeout, what="every variant to finish")


def test_worker_publishes_every_variant_exactly_once(live, sandbox, start_worker):
    brand = add_brand(live, "Acme").id
    ok_page = connect(live, brand, "facebook", "page-ok", "Acme Page")
    limited_page = connect(live, brand, "facebook", "page-ratelimit", "Busy Page")
    refused_page = connect(live, brand, "facebook", "page-duplicate", "Strict Page")
    org = connect(live, brand, "linkedin", "urn:li:organization:1001", "Acme LinkedIn")
    expired_org = connect(live, brand, "linkedin", "urn:li:organization:expired", "Old LinkedIn")
    post = add_post(live, brand=brand, title="Launch", text="We launch today (at #10) @ home!").id

    soon = clock.now() + timedelta(seconds=4)
    planned = {
        name: add_variant(live, post=post, account=account, at=soon).id
        for name, account in {
            "ok": ok_page,
            "rate limited": limited_page,
            "refused": refused_page,
            "linkedin": org,
            "expired": expired_org,
        }.items()
    }
    later = add_variant(live, post=post, account=ok_page, draft=True).id

    worker = start_worker()
    publish_now(live, later)
    final = settle(live, [*planned.values(), later], worker)

    assert final == {
        planned["ok"]: "published",
        planned["rate limited"]: "published",
        planned["refused"]: "failed",
        planned["linkedin"]: "published",
        planned["expired"]: "failed",
        later: "published",
    }, worker.output()
    # Exactly one copy of each published post reached the platforms.
    received = Counter(p.account for p in sandbox.posts)
    assert received == {
        "page-ok": 2,
        "page-ratelimit": 1,
        "urn:li:organization:1001": 1,
    }
    # LinkedIn's reserved characters were escaped, so the text arrived whole.
    li_post = next(p for p in sandbox.posts if p.platform == "linkedin")
    assert li_post.text == "We launch today (at #10) @ home!"
    # Never early.
    for name in ("ok", "rate limited", "linkedin"):
        variant = get_variant(live, planned[name])
        assert variant.published_at >= variant.scheduled_at
    limited = get_variant(live, planned["rate limited"])
    assert limited.attempts == 2
    assert [a.result for a in list_attempts(live, variant=limited.id)] == ["success", "fail"]
    expired = get_variant(live, planned["expired"])
    assert "reconnect" in expired.last_error


def test_status_sees_the_worker_while_it_runs(live, start_worker, platform_env):
    import json

    worker = start_worker("--workers", "1")

    def online():
        result = run_cli(platform_env, "status", "--json")
        return json.loads(result.stdout)["worker_online"] if result.returncode == 0 else False

    wait_for(online, timeout=20, what="the worker's heartbeat")
    report = json.loads(run_cli(platform_env, "status", "--json").stdout)
    assert report["heartbeat_age_seconds"] < 30
    worker.signal(signal.SIGTERM)
    assert worker.wait(timeout=20) == 0
    report = json.loads(run_cli(platform_env, "status", "--json").stdout)
    assert report["worker_online"] is False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stopping_the_worker_lets_a_running_publish_finish(live, sandbox, start_worker, signum):
    brand = add_brand(live, "Acme").id
    page = connect(live, brand, "facebook", "page-slow", "Slow Page")  # answers after 1 s
    post = add_post(live, brand=brand, title="Slow", text="Patience").id
    variant = add_variant(live, post=post, account=page, draft=True).id
    worker = start_worker("--workers", "1")
    publish_now(live, variant)

    wait_until_sent(live, variant)
    worker.signal(signum)
    assert worker.wait(timeout=30) == 0, worker.output()
    assert get_variant(live, variant).status == "published"
    assert len(sandbox.posts) == 1
    assert "Shutting down gracefully" in worker.output()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_second_signal_stops_the_worker_at_once(
    live, sandbox, start_worker, platform_env, signum
):
    # The request hangs for the whole publish timeout: only the second signal can end the wait.
    # Timeouts far beyond the test's own waits: on a loaded machine a 20 s read timeout could
    # fire first, and its answer (unconfirmed) land before the second signal ends the worker.
    platform_env["OMNIPOST_PUBLISH_TIMEOUT"] = "300"
    platform_env["OMNIPOST_HTTP_TIMEOUT"] = "90"
    sandbox.hang_seconds = 200
    brand = add_brand(live, "Acme").id
    page = connect(live, brand, "facebook", "page-hang", "Hanging Page")
    post = add_post(live, brand=brand, title="Stuck", text="Waiting").id
    variant = add_variant(live, post=post, account=page, draft=True).id
    worker = start_worker("--workers", "1", env=platform_env)
    publish_now(live, variant)
    wait_until_sent(live, variant)
    worker.signal(signum)
    wait_for(
        lambda: "Shutting down gracefully" in worker.output(),
        timeout=10,
        what="the graceful shutdown to begin",
    )
    assert worker.proc.poll() is None, worker.output()  # still waiting for the publish
    worker.signal(signum)
    assert worker.wait(timeout=10) == 0, worker.output()
    assert "shut down now" in worker.output()
    # Recovery decides, as after a kill.
    assert get_variant(live, variant).status == "publishing", worker.output()


def test_killed_worker_after_sending_is_settled_by_reading_the_page_back(
    live, sandbox, start_worker, platform_env
):
    # The worker is killed while its request hangs: its read timeout must not come first. The
    # platform creates the post anyway, a few seconds later, and lists it.
    platform_env["OMNIPOST_PUBLISH_TIMEOUT"] = "6"
    platform_env["OMNIPOST_HTTP_TIMEOUT"] = "2"
    platform_env["OMNIPOST_READ_BACK_SETTLE"] = "2"
    sandbox.hang_seconds = 4
    brand = add_brand(live, "Acme").id
    page = connect(live, brand, "facebook", "page-hang", "Hanging Page")
    post = add_post(live, brand=brand, title="Lost", text="Did it go out?").id
    variant = add_variant(live, post=post, account=page, draft=True).id
    worker = start_worker("--workers", "1", env=platform_env)
    publish_now(live, variant)
    wait_until_sent(live, variant)
    # The sending point is committed just before the request is built and sent: the kill must
    # come once the platform holds it, not in between (then nothing left, and it is sent again).
    wait_for(lambda: sandbox.in_flight, timeout=20, what="the platform to hold the request")
    worker.proc.kill()  # no chance to finish or record anything
    worker.wait(timeout=10)

    # A second worker recovers it (unconfirmed) and reads the Page back until the post shows.
    second = start_worker("--workers", "1", env=platform_env)

    def settled():
        run_cli(platform_env, "schedule")  # the sweep, now rather than within a minute
        return get_variant(live, variant).status == "published"

    wait_for(settled, timeout=40, interval=1, what="recovery and the read-back")
    [created] = sandbox.posts
    assert get_variant(live, variant).external_post_id == created.external_post_id
    # Never re-sent: one attempt, confirmed by the read.
    [attempt] = list_attempts(live, variant=variant)
    assert attempt.result == "success"
    assert attempt.read_back[-1]["outcome"] == "found"
    assert attempt.read_back[-1]["by"] == "engine"
    assert second.proc.poll() is None
    assert "read back: published" in second.output()


def test_a_request_lost_before_the_platform_made_the_post_is_sent_again_once(
    live, sandbox, start_worker, platform_env
):
    platform_env["OMNIPOST_PUBLISH_TIMEOUT"] = "3"
    platform_env["OMNIPOST_HTTP_TIMEOUT"] = "1"
    platform_env["OMNIPOST_READ_BACK_SETTLE"] = "1"
    brand = add_brand(live, "Acme").id
    member = connect(live, brand, "linkedin", "urn:li:person:lostrequest", "Lost Member")
    post = add_post(live, brand=brand, title="Lost", text="Try again (please) #now").id
    variant = add_variant(live, post=post, account=member, draft=True).id
    worker = start_worker("--workers", "2", env=platform_env)
    publish_now(live, variant)

    def published():
        run_cli(platform_env, "schedule")
        return get_variant(live, variant).status == "published"

    wait_for(published, timeout=40, interval=1, what="read back twice, then sent again")
    [created] = sandbox.posts
    assert created.text == "Try again (please) #now"
    attempts = list_attempts(live, variant=variant)
    assert [a.attempt_no for a in attempts] == [2, 1]
    assert [s["outcome"] for s in attempts[1].read_back][-2:] == ["absent", "absent"]
    assert worker.proc.poll() is None


def test_worker_once_publishes_what_is_due_and_exits(live, sandbox, platform_env):
    brand = add_brand(live, "Acme").id
    page = connect(live, brand, "facebook", "page-ok", "Acme Page")
    post = add_post(live, brand=brand, title="Cron", text="From cron").id
    due_now = add_variant(live, post=post, account=page, draft=True).id
    publish_now(live, due_now)
    tomorrow = add_variant(live, post=post, account=page, at=clock.now() + timedelta(days=1)).id

    result = run_cli(platform_env, "worker", "--once")
    assert result.returncode == 0, result.stderr
    assert get_variant(live, due_now).status == "published"
    assert get_variant(live, tomorrow).status == "scheduled"
    assert len(sandbox.posts) == 1


def test_no_token_leaks_anywhere(live, sandbox, start_worker, platform_env, home: Path):
    """A full cycle with successes, a retry and an expired token; then look everywhere."""
    outputs = []

    def cli(*args: str, input: str | None = None) -> str:
        result = run_cli(platform_env, *args, input=input)
        outputs.extend([result.stdout, result.stderr])
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    brand = cli("brand", "add", "Acme")
    page = cli(
        "account",
        "add",
        "--brand",
        brand,
        "--platform",
        "facebook",
        "--external-id",
        "page-ratelimit",
        "--name",
        "Acme Page",
        "--token-stdin",
        input=FB_TOKEN + "\n",
    )
    org = cli(
        "account",
        "add",
        "--brand",
        brand,
        "--platform",
        "linkedin",
        "--external-id",
        "urn:li:organization:expired",
        "--name",
        "Acme LinkedIn",
        "--token-stdin",
        input=LI_TOKEN + "\n",
    )
    # With pictures too: their uploads carry the token in other places (form, headers).
    pictures = []
    for n in range(2):
        pictures.append(home.parent / f"leak-{n}.png")
        Image.new("RGB", (20 + n, 20), (200, 30 * n, 0)).save(pictures[-1])
    post = cli(
        "post", "add", "--brand", brand, "--title", "T", "--text", "Hello",
        "--image", str(pictures[0]), "--image", str(pictures[1]),
    )  # fmt: skip
    first = cli("variant", "add", "--post", post, "--account", page, "--at", "+3s")
    second = cli("variant", "add", "--post", post, "--account", org, "--at", "+3s")
    platform_env["OMNIPOST_LOG_LEVEL"] = "DEBUG"  # the most detailed log must be clean too
    worker = start_worker(env=platform_env)
    settle(live, [int(first), int(second)], worker)
    for args in (
        ("variant", "list", "--json"),
        ("attempts", "--json"),
        ("account", "list", "--json"),
        ("failed", "--json"),
        ("status", "--json"),
        ("config",),
    ):
        cli(*args)
    worker.stop()
    outputs.append(worker.output())

    assert get_variant(live, int(first)).status == "published"
    assert get_variant(live, int(second)).status == "failed"
    files = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.name == "omnipost.log" for p in files)
    for token in (FB_TOKEN, LI_TOKEN):
        for text in outputs:
            assert token not in text
        for path in files:
            assert token.encode() not in path.read_bytes(), path


def test_a_post_accepted_while_another_program_locks_the_database_is_recorded(
    live, sandbox, start_worker
):
    """The platform answers with an id while another process holds SQLite's write lock for
    longer than the busy timeout: the worker keeps the answer and records it afterwards."""
    import sqlite3

    # The lock must be taken while the request is on its way: a slow page answers after 5 s,
    # time enough for the test to see the request leave and take the lock, even on a busy host.
    sandbox.slow_seconds = 5.0
    brand = add_brand(live, "Acme").id
    page = connect(live, brand, "facebook", "page-slow", "Slow Page")
    post = add_post(live, brand=brand, title="Locked", text="Through the lock").id
    variant = add_variant(live, post=post, account=page, draft=True).id
    worker = start_worker("--workers", "1")
    publish_now(live, variant)
    wait_until_sent(live, variant)
    locker = sqlite3.connect(live.settings.paths.database_file, isolation_level=None)
    try:
        locker.execute("BEGIN IMMEDIATE")  # e.g. a backup script, or sqlite3 in a terminal
        wait_for(
            lambda: "keeping the answer" in worker.output(),
            timeout=40,
            what="the worker to say it keeps the platform's answer",
        )
        assert sandbox.posts, "the platform has the post"
    finally:
        locker.rollback()
        locker.close()

    done = wait_for(
        lambda: (v := get_variant(live, variant)).status != "publishing" and v,
        timeout=30,
        what="the answer to be recorded",
    )
    [received] = sandbox.posts
    assert (done.status, done.external_post_id) == ("published", received.external_post_id)
    [attempt] = list_attempts(live, variant=variant)
    assert (attempt.result, attempt.external_post_id) == ("success", received.external_post_id)
    assert "recorded the answer" in worker.output()
