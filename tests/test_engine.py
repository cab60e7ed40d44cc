"""The publishing engine on huey's MemoryHuey, driven by hand with a controllable clock.

These tests play the worker: they advance the fake clock, run the sweep every minute of fake
time, and execute whatever huey would deliver by then. HTTP is faked with respx.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from itertools import pairwise

import httpx
import pytest
import respx
from huey import signals as S

from omnipost_tui import clock
from omnipost_tui.engine.queue import open_queue
from omnipost_tui.engine.sweep import sweep
from omnipost_tui.models import CONNECTED, EXPIRED
from omnipost_tui.services import publishing
from omnipost_tui.services.accounts import get_account, mark_account_expired
from omnipost_tui.services.attempts import list_attempts
from omnipost_tui.services.context import Context
from omnipost_tui.services.dispatch import dispatch
from omnipost_tui.services.variants import (
    add_variant,
    get_variant,
    publish_now,
    retry_variants,
    schedule_variant,
)
from tests.conftest import FB_TOKEN, GRAPH, LI_TOKEN, LINKEDIN_API, FakeClock, World

FEED = f"{GRAPH}/v24.0/104200/feed"
POSTS = f"{LINKEDIN_API}/rest/posts"
PAGE_POSTS = f"{GRAPH}/v24.0/104200/posts"


def fb_ok(post_id: str = "104200_1") -> httpx.Response:
    return httpx.Response(200, json={"id": post_id})


def fb_listing(*posts: tuple[str, str]) -> httpx.Response:
    """A ``/{page}/posts`` answer listing (id, message) posts, created a moment ago."""
    created = clock.now().strftime("%Y-%m-%dT%H:%M:%S+0000")
    data = [{"id": i, "message": m, "created_time": created} for i, m in posts]
    return httpx.Response(200, json={"data": data, "paging": {}})


def fb_error(code: int, message: str = "boom", status: int = 400, **extra) -> httpx.Response:
    error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "X"}
    error.update(extra)
    return httpx.Response(status, json={"error": error})


class Worker:
    """What ``omnipost worker`` does, in fake time: deliver due messages, sweep every minute."""

    def __init__(self, ctx: Context, clock: FakeClock) -> None:
        self.ctx = ctx
        self.clock = clock
        self.huey = ctx.queue.huey
        self.errors: list[BaseException] = []
        self.last_sweep = None

        @self.huey.signal(S.SIGNAL_ERROR)
        def _record(signal, task, exc=None):  # huey swallows task errors; tests must not
            self.errors.append(exc)

    def deliver(self) -> int:
        """Run every message whose eta has passed (huey's scheduler + workers, one round)."""
        naive = self.clock.now().replace(tzinfo=None)
        for task in self.huey.read_schedule(naive):
            self.huey.enqueue(task)
        ran = 0
        while (task := self.huey.dequeue()) is not None:
            self.huey.execute(task, timestamp=self.clock.now().replace(tzinfo=None))
            ran += 1
        assert not self.errors, self.errors
        return ran

    def queued(self) -> int:
        return self.huey.pending_count() + self.huey.scheduled_count()

    def sweep(self):
        self.last_sweep = self.clock.now()
        return sweep(self.ctx)

    def run_for(self, seconds: float, step: float = 1.0) -> None:
        """Advance fake time second by second, sweeping each minute, delivering each second."""
        end = self.clock.now() + timedelta(seconds=seconds)
        while self.clock.now() < end:
            if self.last_sweep is None or self.clock.now() - self.last_sweep >= timedelta(
                minutes=1
            ):
                self.sweep()
            self.deliver()
            self.clock.advance(step)


@pytest.fixture
def worker(ctx: Context, fake_clock: FakeClock) -> Worker:
    return Worker(ctx, fake_clock)


@pytest.fixture
def http():
    with respx.mock(assert_all_called=False) as mock:
        yield mock


def schedule(ctx: Context, world: World, clock: FakeClock, in_seconds: float, account=None):
    return add_variant(
        ctx,
        post=world.post_id,
        account=account or world.facebook_id,
        at=clock.now() + timedelta(seconds=in_seconds),
    )


# --- on time, and only once ----------------------------------------------------------------------


def test_published_at_its_time_not_before(ctx, world, worker, fake_clock, http):
    route = http.post(FEED).mock(return_value=fb_ok("104200_77"))
    due = fake_clock.now() + timedelta(seconds=30)
    variant = schedule(ctx, world, fake_clock, 30)

    # Scheduling something due soon queued it with an exact eta: nothing runs before then.
    assert worker.queued() == 1
    worker.run_for(28)
    assert route.call_count == 0
    assert get_variant(ctx, variant.id).status == "scheduled"

    worker.run_for(5)
    assert route.call_count == 1
    done = get_variant(ctx, variant.id)
    assert done.status == "published"
    assert done.external_post_id == "104200_77"
    # The message arrived a second early and waited: the post went out exactly on time.
    assert done.published_at == due
    request = route.calls[0].request
    assert FB_TOKEN not in str(request.url)
    form = dict(httpx.QueryParams(request.content.decode()))
    assert form["message"] == "We launch today (really)!"
    assert form["access_token"] == FB_TOKEN


def test_far_future_variant_is_dispatched_by_the_sweep_in_time(
    ctx, world, worker, fake_clock, http
):
    route = http.post(FEED).mock(return_value=fb_ok())
    variant = schedule(ctx, world, fake_clock, 3600)
    assert worker.queued() == 0  # not queued an hour ahead

    worker.run_for(3600 - 100)
    assert route.call_count == 0
    worker.run_for(110)
    done = get_variant(ctx, variant.id)
    assert done.status == "published"
    assert done.published_at == variant.scheduled_at
    assert route.call_count == 1


def test_duplicate_messages_publish_once(ctx, world, worker, fake_clock, http):
    route = http.post(FEED).mock(return_value=fb_ok())
    variant = schedule(ctx, world, fake_clock, 5)
    for _ in range(4):
        ctx.queue.enqueue_publish(variant.id)  # stray duplicates, e.g. from several sweeps
    worker.run_for(10)
    worker.sweep()
    worker.deliver()
    assert route.call_count == 1
    assert get_variant(ctx, variant.id).attempts == 1
    assert len(list_attempts(ctx, variant=variant.id)) == 1


def test_publish_now_goes_out_immediately_even_if_planned_later(
    ctx, world, worker, fake_clock, http
):
    route = http.post(FEED).mock(return_value=fb_ok())
    variant = schedule(ctx, world, fake_clock, 7 * 86400)
    result = publish_now(ctx, variant.id)
    assert result.worker_online is False  # no heartbeat in this test: the CLI says so
    worker.deliver()
    assert route.call_count == 1
    assert get_variant(ctx, variant.id).status == "published"


def test_a_message_far_too_early_is_ignored_and_the_new_time_is_kept(
    ctx, world, worker, fake_clock, http
):
    route = http.post(FEED).mock(return_value=fb_ok())
    variant = schedule(ctx, world, fake_clock, 30)
    # Moved to later after its message was queued: the old message must not publish it early.
    schedule_variant(ctx, variant.id, fake_clock.now() + timedelta(minutes=10))
    worker.run_for(60)
    assert route.call_count == 0
    worker.run_for(10 * 60)
    assert route.call_count == 1
    done = get_variant(ctx, variant.id)
    assert done.published_at == variant.scheduled_at - timedelta(seconds=30) + timedelta(minutes=10)


# --- the retry policy ----------------------------------------------------------------------------


def test_transient_errors_back_off_1_5_15_minutes_then_fail(
    ctx, world, worker, fake_clock, http, monkeypatch
):
    import dataclasses

    ctx.settings = dataclasses.replace(ctx.settings, max_attempts=4)
    route = http.post(FEED).mock(return_value=httpx.Response(503, text="<html>down</html>"))
    variant = schedule(ctx, world, fake_clock, 2)
    worker.run_for(5)

    waits = []
    for _ in range(3):
        current = get_variant(ctx, variant.id)
        assert current.status == "retrying"
        attempt = list_attempts(ctx, variant=variant.id, limit=1)[0]
        waits.append((current.next_attempt_at - attempt.finished_at).total_seconds())
        worker.run_for((current.next_attempt_at - fake_clock.now()).total_seconds() + 2)
    assert waits == [60, 300, 900]
    final = get_variant(ctx, variant.id)
    assert final.status == "failed"
    assert final.attempts == 4
    assert "gave up after 4 attempts" in final.last_error
    assert route.call_count == 4
    # Each retry went out on its minute, not at the next sweep.
    attempts = sorted(list_attempts(ctx, variant=variant.id), key=lambda a: a.attempt_no)
    gaps = [(b.started_at - a.finished_at).total_seconds() for a, b in pairwise(attempts)]
    assert gaps == [60, 300, 900]


def test_default_policy_is_three_attempts(ctx, world, worker, fake_clock, http):
    route = http.post(FEED).mock(return_value=httpx.Response(500, text=""))
    variant = schedule(ctx, world, fake_clock, 2)
    worker.run_for(20 * 60)
    assert route.call_count == 3
    assert get_variant(ctx, variant.id).status == "failed"


def test_rate_limit_honours_the_platforms_longer_wait(ctx, world, worker, fake_clock, http):
    usage = json.dumps({"104200": [{"type": "pages", "estimated_time_to_regain_access": 10}]})
    route = http.post(FEED).mock(
        side_effect=[
            httpx.Response(
                400,
                json={"error": {"message": "(#32) Page request limit reached", "code": 32}},
                headers={"X-Business-Use-Case-Usage": usage},
            ),
            fb_ok(),
        ]
    )
    variant = schedule(ctx, world, fake_clock, 2)
    worker.run_for(5)
    current = get_variant(ctx, variant.id)
    assert current.status == "retrying"
    attempt = list_attempts(ctx, variant=variant.id)[0]
    assert attempt.error_class == "rate_limited"
    # Facebook said 10 minutes; that beats the 1-minute backoff.
    assert (current.next_attempt_at - attempt.finished_at).total_seconds() == 600
    worker.run_for(9 * 60)
    assert route.call_count == 1
    worker.run_for(70)
    assert route.call_count == 2
    assert get_variant(ctx, variant.id).status == "published"


def test_linkedin_rate_limit_uses_backoff_when_longer_than_hint(
    ctx, world, worker, fake_clock, http
):
    route = http.post(POSTS).mock(
        side_effect=[
            httpx.Response(
                429, json={"status": 429, "message": "slow down"}, headers={"Retry-After": "5"}
            ),
            httpx.Response(201, headers={"x-restli-id": "urn:li:share:9"}),
        ]
    )
    variant = schedule(ctx, world, fake_clock, 2, account=world.linkedin_id)
    worker.run_for(5)
    current = get_variant(ctx, variant.id)
    attempt = list_attempts(ctx, variant=variant.id)[0]
    assert (current.next_attempt_at - attempt.finished_at).total_seconds() == 60
    worker.run_for(65)
    assert route.call_count == 2
    done = get_variant(ctx, variant.id)
    assert done.status == "published"
    assert done.external_post_id == "urn:li:share:9"
    assert route.calls[1].request.headers["Authorization"] == f"Bearer {LI_TOKEN}"


def test_expired_token_fails_without_retry_and_expires_the_account(
    ctx, world, worker, fake_clock, http
):
    route = http.post(FEED).mock(
        return_value=fb_error(190, "Error validating access token: Session has expired")
    )
    first = schedule(ctx, world, fake_clock, 2)
    later = schedule(ctx, world, fake_clock, 600)
    worker.run_for(5)
    failed = get_variant(ctx, first.id)
    assert failed.status == "failed"
    assert f"omnipost account reconnect {world.facebook_id}" in failed.last_error
    assert get_account(ctx, world.facebook_id).status == EXPIRED
    # The next variant on that account fails at its time without calling Facebook.
    worker.run_for(700)
    assert route.call_count == 1
    skipped = get_variant(ctx, later.id)
    assert skipped.status == "failed"
    assert "nothing was sent" in skipped.last_error
    assert skipped.attempts == 0


def test_variant_on_an_already_expired_account_fails_at_due_time_without_http(
    ctx, world, worker, fake_clock, http
):
    route = http.post(FEED).mock(return_value=fb_ok())
    variant = schedule(ctx, world, fake_clock, 120)
    assert mark_account_expired(ctx, world.facebook_id)
    worker.run_for(100)
    assert get_variant(ctx, variant.id).status == "scheduled"  # not failed early
    worker.run_for(30)
    assert get_variant(ctx, variant.id).status == "failed"
    assert route.call_count == 0


@pytest.mark.parametrize(
    ("code", "kind"),
    [(506, "permanent"), (100, "permanent"), (368, "permanent"), (200, "permission_denied")],
)
def test_permanent_errors_fail_at_once(ctx, world, worker, fake_clock, http, code, kind):
    route = http.post(FEED).mock(return_value=fb_error(code, "Duplicate status message"))
    variant = schedule(ctx, world, fake_clock, 2)
    worker.run_for(20 * 60)
    assert route.call_count == 1
    failed = get_variant(ctx, variant.id)
    assert failed.status == "failed"
    assert "Duplicate status message" in failed.last_error
    assert list_attempts(ctx, variant=variant.id)[0].error_class == kind
    assert get_account(ctx, world.facebook_id).status == CONNECTED


def test_no_answer_after_sending_is_unconfirmed_then_read_back(
    ctx, world, worker, fake_clock, http
):
    route = http.post(FEED).mock(side_effect=httpx.ReadTimeout("timed out"))
    # The platform made the post although the answer never came back: the Page lists it.
    listed = http.get(url__startswith=PAGE_POSTS).mock(
        side_effect=lambda request: fb_listing(("104200_9", "We launch today (really)!"))
    )
    variant = schedule(ctx, world, fake_clock, 2)
    worker.run_for(30 * 60)
    assert route.call_count == 1  # never re-sent
    assert listed.call_count == 1
    current = get_variant(ctx, variant.id)
    assert current.status == "published"
    assert current.external_post_id == "104200_9"


def test_connection_refused_is_retried(ctx, world, worker, fake_clock, http):
    route = http.post(FEED).mock(side_effect=[httpx.ConnectError("refused"), fb_ok()])
    variant = schedule(ctx, world, fake_clock, 2)
    worker.run_for(70)
    assert route.call_count == 2
    assert get_variant(ctx, variant.id).status == "published"


def test_manual_retry_gives_a_fresh_attempt_budget(ctx, world, worker, fake_clock, http):
    route = http.post(FEED).mock(return_value=httpx.Response(500, text=""))
    variant = schedule(ctx, world, fake_clock, 2)
    worker.run_for(20 * 60)
    assert get_variant(ctx, variant.id).status == "failed"
    route.mock(return_value=fb_ok("104200_5"))
    retried = retry_variants(ctx, [variant.id])
    assert [v.status for v in retried.retried] == ["scheduled"]
    worker.deliver()
    done = get_variant(ctx, variant.id)
    assert done.status == "published"
    assert done.attempts == 4
    assert [a.attempt_no for a in list_attempts(ctx, variant=variant.id)] == [4, 3, 2, 1]


# --- missed windows and crashes -----------------------------------------------------------------


def test_missed_window_fails_instead_of_publishing_days_late(ctx, world, worker, fake_clock, http):
    route = http.post(FEED).mock(return_value=fb_ok())
    variant = schedule(ctx, world, fake_clock, 600)
    worker.huey.flush()  # the worker was down: its queue is gone too
    fake_clock.advance(2 * 86400)
    report = worker.sweep()
    worker.deliver()
    assert report.missed == [variant.id]
    assert route.call_count == 0
    failed = get_variant(ctx, variant.id)
    assert failed.status == "failed"
    assert failed.last_error.startswith("missed")


def test_a_weekend_of_missed_variants_fails_them_all_in_batches_and_nothing_else(
    ctx, world, worker, fake_clock, http, monkeypatch
):
    monkeypatch.setattr(publishing, "MISSED_PER_TRANSACTION", 3)  # 7 make three batches
    route = http.post(FEED).mock(return_value=fb_ok())
    missed = [schedule(ctx, world, fake_clock, 600 + n).id for n in range(7)]
    worker.huey.flush()
    fake_clock.advance(2 * 86400)
    later = schedule(ctx, world, fake_clock, 3600).id  # planned after the outage: untouched
    report = worker.sweep()
    assert sorted(report.missed) == sorted(missed)
    for variant_id in missed:
        failed = get_variant(ctx, variant_id)
        assert failed.status == "failed"
        assert failed.last_error.startswith("missed: it was due at")
    assert get_variant(ctx, later).status == "scheduled"
    worker.deliver()
    assert route.call_count == 0


def test_a_dead_workers_unclaimed_messages_are_sent_again_when_its_claims_are_recovered(
    ctx, world, worker, fake_clock, http
):
    """The worker that died held a claim (stuck in publishing) and a message it had taken but
    not claimed yet (gone with it). Recovering the claim sends the other again at once, not
    when it looks stale two minutes after it was sent."""
    route = http.post(FEED).mock(return_value=fb_ok())
    stuck = schedule(ctx, world, fake_clock, 1)
    held = schedule(ctx, world, fake_clock, 2)
    fake_clock.advance(3)
    assert publishing.claim_variant(ctx, stuck.id, fake_clock.now(), "dead-worker")
    fake_clock.advance(ctx.settings.publish_timeout + 1)  # its lease runs out
    # The last message for the other went out a moment ago (not stale), and the dead worker
    # had taken it.
    dispatch(ctx, [(held.id, "scheduled", held.scheduled_at)], fake_clock.now())
    worker.huey.flush()
    report = worker.sweep()
    assert [item.variant_id for item in report.recovered] == [stuck.id]
    assert held.id in [item.variant_id for item in report.dispatched]
    worker.deliver()
    assert get_variant(ctx, held.id).status == "published"
    assert route.call_count == 2  # and the recovered one (nothing was sent) went out once


def test_late_but_within_the_window_is_caught_up_by_the_sweep(ctx, world, worker, fake_clock, http):
    route = http.post(FEED).mock(return_value=fb_ok())
    variant = schedule(ctx, world, fake_clock, 600)
    worker.huey.flush()
    fake_clock.advance(3 * 3600)
    worker.run_for(5)
    assert route.call_count == 1
    assert get_variant(ctx, variant.id).status == "published"


def test_worker_died_before_sending_is_retried_after_the_lease(
    ctx, world, worker, fake_clock, http
):
    route = http.post(FEED).mock(return_value=fb_ok())
    variant = schedule(ctx, world, fake_clock, 1)
    worker.huey.flush()
    fake_clock.advance(2)
    # A worker claimed it and died before the request left.
    claim = publishing.claim_variant(ctx, variant.id, fake_clock.now(), "dead-worker")
    assert claim is not None
    worker.run_for(60)
    assert get_variant(ctx, variant.id).status == "publishing"  # lease still running
    worker.run_for(ctx.settings.publish_timeout + 60)
    done = get_variant(ctx, variant.id)
    assert done.status == "published"
    assert route.call_count == 1
    results = {a.attempt_no: a.result for a in list_attempts(ctx, variant=variant.id)}
    assert results == {1: "interrupted", 2: "success"}


def test_worker_died_after_sending_and_the_page_cannot_be_read_waits_for_a_human(
    ctx, world, worker, fake_clock, http
):
    route = http.post(FEED).mock(return_value=fb_ok())
    http.get(url__startswith=PAGE_POSTS).mock(
        return_value=fb_error(10, "Requires pages_read_engagement", 403)
    )
    variant = schedule(ctx, world, fake_clock, 1)
    worker.huey.flush()
    fake_clock.advance(2)
    claim = publishing.claim_variant(ctx, variant.id, fake_clock.now(), "dead-worker")
    publishing.mark_sending(ctx, claim, fake_clock.now())
    worker.run_for(ctx.settings.publish_timeout + 3600)
    current = get_variant(ctx, variant.id)
    assert current.status == "unconfirmed"
    assert "could not be asked" in current.last_error
    assert "Facebook error 10" in current.last_error
    assert f"omnipost variant mark-published {variant.id}" in current.last_error
    assert route.call_count == 0
    # The user checked the page: not there. Retrying publishes it.
    retry_variants(ctx, [variant.id])
    worker.deliver()
    assert get_variant(ctx, variant.id).status == "published"
    assert route.call_count == 1


def test_worker_died_after_sending_and_nothing_listed_twice_is_sent_again_once(
    ctx, world, worker, fake_clock, http
):
    route = http.post(FEED).mock(return_value=fb_ok("104200_3"))
    # Another post of the Page with other text does not count.
    reads = http.get(url__startswith=PAGE_POSTS).mock(
        side_effect=lambda request: fb_listing(("104200_2", "something else"))
    )
    variant = schedule(ctx, world, fake_clock, 1)
    worker.huey.flush()
    fake_clock.advance(2)
    claim = publishing.claim_variant(ctx, variant.id, fake_clock.now(), "dead-worker")
    sent_at = fake_clock.now()
    publishing.mark_sending(ctx, claim, sent_at)
    worker.run_for(ctx.settings.publish_timeout + 600)
    current = get_variant(ctx, variant.id)
    assert current.status == "published"
    assert current.external_post_id == "104200_3"
    assert route.call_count == 1
    assert reads.call_count == 2
    attempts = list_attempts(ctx, variant=variant.id)
    lost = next(a for a in attempts if a.attempt_no == 1)
    assert [step["outcome"] for step in lost.read_back] == ["absent", "absent"]
    first, second = (datetime.fromisoformat(step["at"]) for step in lost.read_back)
    # A settle delay apart, and only once no request of ours could still be on its way.
    assert second - first >= timedelta(seconds=ctx.settings.read_back_settle)
    assert second - sent_at >= timedelta(seconds=ctx.settings.publish_timeout)


def test_a_slow_worker_finishing_after_recovery_records_the_truth(
    ctx, world, worker, fake_clock, http
):
    variant = schedule(ctx, world, fake_clock, 1)
    worker.huey.flush()
    fake_clock.advance(2)
    claim = publishing.claim_variant(ctx, variant.id, fake_clock.now(), "slow-worker")
    publishing.mark_sending(ctx, claim, fake_clock.now())
    fake_clock.advance(ctx.settings.publish_timeout + 1)
    worker.sweep()
    assert get_variant(ctx, variant.id).status == "unconfirmed"
    record = publishing.AttemptRecord(result="success", http_status=200, external_post_id="p_1")
    applied = publishing.complete_attempt(
        ctx, claim, record, publishing.Outcome(status="published"), fake_clock.now()
    )
    assert applied
    done = get_variant(ctx, variant.id)
    assert done.status == "published"
    assert done.external_post_id == "p_1"


def test_two_claims_for_one_variant_only_one_wins(ctx, world, fake_clock):
    variant = schedule(ctx, world, fake_clock, 1)
    fake_clock.advance(2)
    first = publishing.claim_variant(ctx, variant.id, fake_clock.now(), "a")
    second = publishing.claim_variant(ctx, variant.id, fake_clock.now(), "b")
    assert first is not None
    assert second is None


# --- races and edge cases found in review -------------------------------------------------------


def test_a_worker_that_stalls_past_its_lease_sends_nothing_after_recovery(
    ctx, world, worker, fake_clock, http
):
    from omnipost_tui.engine.publisher import _attempt

    route = http.post(FEED).mock(return_value=fb_ok())
    variant = schedule(ctx, world, fake_clock, 1)
    worker.huey.flush()
    fake_clock.advance(2)
    stalled = publishing.claim_variant(ctx, variant.id, fake_clock.now(), "stalled-worker")
    fake_clock.advance(ctx.settings.publish_timeout + 1)  # laptop lid closed, VM paused…
    worker.sweep()
    assert get_variant(ctx, variant.id).status == "retrying"
    # The stalled worker wakes up and carries on: its claim is gone, so nothing is sent.
    assert _attempt(ctx, stalled) is None
    assert route.call_count == 0
    worker.deliver()
    assert route.call_count == 1
    assert get_variant(ctx, variant.id).status == "published"


def test_recovery_leaves_a_worker_alone_once_it_reached_its_sending_point(
    ctx, world, worker, fake_clock
):
    variant = schedule(ctx, world, fake_clock, 1)
    worker.huey.flush()
    fake_clock.advance(2)
    claim = publishing.claim_variant(ctx, variant.id, fake_clock.now(), "slow")
    fake_clock.advance(ctx.settings.publish_timeout - 1)
    assert publishing.mark_sending(ctx, claim, fake_clock.now())  # renews the lease
    fake_clock.advance(5)
    assert worker.sweep().recovered == []
    assert get_variant(ctx, variant.id).status == "publishing"


def test_accepted_without_a_post_id_is_unconfirmed_and_retry_all_leaves_it(
    ctx, world, worker, fake_clock, http
):
    route = http.post(FEED).mock(return_value=httpx.Response(200, json={"success": True}))
    # The Page cannot be read back: only a human can settle it.
    http.get(url__startswith=PAGE_POSTS).mock(return_value=fb_error(10, "no read", 403))
    variant = schedule(ctx, world, fake_clock, 2)
    worker.run_for(5)
    assert get_variant(ctx, variant.id).status == "unconfirmed"
    assert retry_variants(ctx, None).retried == []
    worker.run_for(30 * 60)
    assert route.call_count == 1


def test_a_retry_overdue_past_the_window_fails_as_missed(ctx, world, worker, fake_clock, http):
    route = http.post(FEED).mock(side_effect=[httpx.Response(503, text=""), fb_ok()])
    variant = schedule(ctx, world, fake_clock, 2)
    worker.run_for(5)
    assert get_variant(ctx, variant.id).status == "retrying"
    fake_clock.advance(3 * 86400)  # the worker was down; its queued retry arrives first
    worker.deliver()
    assert route.call_count == 1
    failed = get_variant(ctx, variant.id)
    assert failed.status == "failed"
    assert failed.last_error.startswith("missed")


def test_an_absurd_wait_hint_is_capped_not_crashing(ctx, world, worker, fake_clock, http):
    http.post(FEED).mock(
        return_value=httpx.Response(429, text="slow down", headers={"Retry-After": "1e13"})
    )
    variant = schedule(ctx, world, fake_clock, 2)
    worker.run_for(5)
    current = get_variant(ctx, variant.id)
    assert current.status == "retrying"
    wait = (current.next_attempt_at - fake_clock.now()).total_seconds()
    assert 0 < wait <= ctx.settings.max_lateness


def test_a_token_known_to_be_expired_is_not_sent(ctx, world, worker, fake_clock, http):
    from omnipost_tui.services.accounts import reconnect_account

    route = http.post(FEED).mock(return_value=fb_ok())
    reconnect_account(
        ctx,
        world.facebook_id,
        access_token=FB_TOKEN,
        token_expires_at=fake_clock.now() + timedelta(seconds=30),
    )
    variant = schedule(ctx, world, fake_clock, 60)
    worker.run_for(70)
    assert route.call_count == 0
    assert get_variant(ctx, variant.id).status == "failed"
    assert get_account(ctx, world.facebook_id).status == EXPIRED


def test_a_queue_lost_after_saving_does_not_fail_the_command(ctx, world, fake_clock, monkeypatch):
    from omnipost_tui.errors import QueueUnavailable

    def gone(*args, **kwargs):
        raise QueueUnavailable("queue redis://… is unreachable: connection refused")

    monkeypatch.setattr(ctx.queue, "enqueue_publish", gone)  # Redis went away after the ping
    variant = schedule(ctx, world, fake_clock, 10)
    assert get_variant(ctx, variant.id).status == "scheduled"  # saved; the sweep will queue it


# --- an answer is never lost on our side (DESIGN.md, guarantee 7) -----------------------------


class LockReleasingClock(FakeClock):
    """Fake time whose ``sleep`` lets another program's write lock go after a few waits.

    Each wait also skips ``extra`` seconds of fake time, for tests about long outages.
    """

    def __init__(self, locker, waits_before_release: int | None, extra: float = 0) -> None:
        super().__init__()
        self.locker = locker
        self.waits_before_release = waits_before_release
        self.extra = extra

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        self.advance(self.extra)
        if len(self.slept) == self.waits_before_release and self.locker.in_transaction:
            self.locker.commit()


@pytest.fixture
def locked_after_sending(home, monkeypatch, http):
    """A due variant whose request Facebook accepts as post 104200_4242 while another program
    takes the database's write lock (the real SQLite lock; SQLite gives up after 0.2 s, not
    15 s). Yields (ctx, variant, install_clock)."""
    import sqlite3

    from omnipost_tui import clock, db
    from omnipost_tui.config import load_settings
    from omnipost_tui.services.context import open_context
    from tests.conftest import make_world

    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_S", 0.2)
    monkeypatch.setenv("OMNIPOST_QUEUE_URL", "memory://")
    ctx = open_context(load_settings(), open_queue=open_queue)
    locker = sqlite3.connect(ctx.settings.paths.database_file, isolation_level=None)

    def lock_and_accept(request):
        locker.execute("BEGIN IMMEDIATE")
        return fb_ok("104200_4242")

    http.post(FEED).mock(side_effect=lock_and_accept)

    def install_clock(waits_before_release: int | None, extra: float = 0) -> LockReleasingClock:
        fake = LockReleasingClock(locker, waits_before_release, extra)
        clock.install(fake)
        return fake

    fake = install_clock(None)
    world = make_world(ctx)
    variant = add_variant(ctx, post=world.post_id, account=world.facebook_id, at=fake.now())
    try:
        yield ctx, variant, install_clock
    finally:
        clock.install(None)
        if locker.in_transaction:
            locker.rollback()
        locker.close()
        ctx.close()


def test_a_post_accepted_while_the_database_is_locked_is_recorded_once_the_lock_goes(
    locked_after_sending, caplog
):
    from omnipost_tui.engine.publisher import publish_variant

    ctx, variant, install_clock = locked_after_sending
    fake = install_clock(waits_before_release=3)
    with caplog.at_level("INFO", logger="omnipost.engine.publish"):
        assert publish_variant(ctx, variant.id) == "published"

    done = get_variant(ctx, variant.id)
    assert (done.status, done.external_post_id, done.last_error) == (
        "published",
        "104200_4242",
        None,
    )
    [attempt] = list_attempts(ctx, variant=variant.id)
    assert (attempt.result, attempt.external_post_id) == ("success", "104200_4242")
    # It waited for the lock (three failed writes), saying what it was doing.
    assert len(fake.slept) == 3
    messages = [r.getMessage() for r in caplog.records]
    # The post id is in the log before the first write is tried: a kill -9 while waiting for
    # the lock cannot take it away.
    accepted = messages.index(
        f"Facebook accepted variant {variant.id} as post 104200_4242; recording it"
    )
    assert "keeping the answer" in messages[accepted + 1], messages
    assert any("recorded the answer" in m for m in messages), messages


def test_an_answer_the_database_never_takes_is_logged_with_the_command_to_record_it(
    locked_after_sending, caplog
):
    from omnipost_tui.engine.publisher import publish_variant
    from omnipost_tui.errors import DatabaseUnavailable

    ctx, variant, install_clock = locked_after_sending
    fake = install_clock(waits_before_release=None, extra=600)
    started = fake.now()
    with (
        caplog.at_level("INFO", logger="omnipost.engine.publish"),
        pytest.raises(DatabaseUnavailable),
    ):
        publish_variant(ctx, variant.id)
    # It kept trying for an hour (of fake time), then left the answer in the log.
    assert fake.now() - started >= timedelta(hours=1)
    last = caplog.records[-1]
    assert last.levelname == "ERROR"
    assert (
        f"omnipost variant mark-published {variant.id} --external-id 104200_4242"
        in last.getMessage()
    )


def test_a_platform_answer_holding_nul_is_recorded_as_evidence(
    ctx, world, worker, fake_clock, http
):
    body = '{"error": {"message": "bad\\u0000input", "type": "OAuthException", "code": 100}}'
    http.post(FEED).mock(return_value=httpx.Response(400, text=body))
    variant = schedule(ctx, world, fake_clock, 1)
    worker.run_for(3)
    failed = get_variant(ctx, variant.id)
    assert failed.status == "failed"
    [attempt] = list_attempts(ctx, variant=variant.id)
    assert "bad\u2400input" in attempt.error_message  # ␀: kept, in a form every database stores
    assert "\x00" not in (attempt.raw_response or "") + attempt.error_message + failed.last_error


@pytest.fixture
def on_postgresql(home, monkeypatch, postgres_url):
    """A service context on a fresh PostgreSQL database (in-memory queue) and a Facebook
    variant made due now; yields (ctx, variant id)."""
    from omnipost_tui.config import load_settings
    from omnipost_tui.services.context import open_context
    from tests.conftest import make_world

    monkeypatch.setenv("OMNIPOST_DATABASE_URL", postgres_url)
    monkeypatch.setenv("OMNIPOST_QUEUE_URL", "memory://")
    context = open_context(load_settings(), open_queue=open_queue)
    try:
        world = make_world(context)
        variant = add_variant(context, post=world.post_id, account=world.facebook_id, draft=True)
        publish_now(context, variant.id)
        yield context, variant.id
    finally:
        context.close()


@pytest.mark.services
def test_postgresql_records_a_platform_answer_holding_nul(on_postgresql, http):
    from omnipost_tui.engine.publisher import publish_variant

    context, variant = on_postgresql
    body = '{"error": {"message": "bad\\u0000input", "type": "OAuthException", "code": 100}}'
    http.post(FEED).mock(return_value=httpx.Response(400, text=body))
    assert publish_variant(context, variant) == "failed"
    [attempt] = list_attempts(context, variant=variant)
    assert "bad\u2400input" in attempt.error_message


@pytest.mark.services
def test_an_answer_the_database_refuses_for_good_is_logged_at_once_not_retried(
    fake_clock, on_postgresql, http, caplog
):
    """PostgreSQL refuses a post id longer than its column: waiting cannot cure that, so the
    answer goes to the log with the command that records it, without an hour of retries."""
    from omnipost_tui.engine.publisher import publish_variant
    from omnipost_tui.errors import DatabaseUnavailable

    context, variant = on_postgresql
    long_id = "104200_" + "9" * 400
    http.post(FEED).mock(return_value=fb_ok(long_id))
    with (
        caplog.at_level("INFO", logger="omnipost.engine.publish"),
        pytest.raises(DatabaseUnavailable),
    ):
        publish_variant(context, variant)
    assert fake_clock.slept == []
    last = caplog.records[-1]
    assert last.levelname == "ERROR"
    assert f"mark-published {variant} --external-id {long_id}" in last.getMessage()


def test_the_sending_point_is_committed_with_the_claim_before_the_request_leaves(
    ctx, world, worker, fake_clock, http
):
    """A post without pictures: one write takes it and marks it sent. The platform, when it
    receives the request, would find it recorded as on its way (sending_since, sent_at)."""
    seen = {}

    def answer(request):
        [attempt] = list_attempts(ctx, variant=variant.id)
        seen["sent_at"] = attempt.sent_at
        seen["status"] = get_variant(ctx, variant.id).status
        return fb_ok()

    http.post(FEED).mock(side_effect=answer)
    variant = schedule(ctx, world, fake_clock, 2)
    worker.run_for(5)
    assert seen["status"] == "publishing"
    assert seen["sent_at"] is not None
    assert get_variant(ctx, variant.id).status == "published"


def test_a_request_that_cannot_be_built_is_not_recorded_as_sent(
    ctx, world, worker, fake_clock, http
):
    """The claim marked it sent, then the token could not be decrypted (another key): nothing
    left, so the attempt says so and the variant fails with the reason, never unconfirmed."""
    from sqlalchemy import update

    from omnipost_tui.models import ConnectedSocialAccount

    route = http.post(FEED).mock(return_value=fb_ok())
    variant = schedule(ctx, world, fake_clock, 2)
    with ctx.db.write() as session:
        session.execute(
            update(ConnectedSocialAccount)
            .where(ConnectedSocialAccount.id == world.facebook_id)
            .values(access_token_encrypted="gAAAAA-sealed-with-another-key")
        )
    worker.run_for(5)
    assert route.call_count == 0
    current = get_variant(ctx, variant.id)
    assert current.status == "failed"
    assert "cannot be decrypted" in current.last_error
    [attempt] = list_attempts(ctx, variant=variant.id)
    assert attempt.error_class == "token_unreadable"
    assert attempt.sent_at is None
