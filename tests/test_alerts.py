"""Alerts: repeated failures and expired accounts are logged and POSTed to a webhook.

The webhook is a real loopback HTTP server; the platforms are faked with respx.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import respx

from omnipost_tui.config import load_settings
from omnipost_tui.engine.queue import open_queue
from omnipost_tui.models import AlertRecord
from omnipost_tui.services.context import Context, open_context
from omnipost_tui.services.variants import add_variant
from tests.conftest import GRAPH, make_world
from tests.test_engine import Worker, fb_error

FEED = f"{GRAPH}/v24.0/104200/feed"


class Hook:
    """A webhook receiver on 127.0.0.1 that answers with the statuses it is told to."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.statuses: list[int] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook.received.append(json.loads(body))
                self.send_response(hook.statuses.pop(0) if hook.statuses else 200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T000/B000/s3cr3t"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Hook:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    with Hook() as receiver:
        yield receiver


@pytest.fixture
def alert_ctx(home, monkeypatch, hook) -> Iterator[Context]:
    monkeypatch.setenv("OMNIPOST_QUEUE_URL", "memory://")
    monkeypatch.setenv("OMNIPOST_ALERT_WEBHOOK", hook.url)
    context = open_context(load_settings(), open_queue=open_queue)
    yield context
    context.close()


@pytest.fixture
def http():
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="127.0.0.1").pass_through()  # the webhook is real
        yield mock


def fail_n(ctx: Context, world, worker: Worker, fake_clock, n: int) -> None:
    for _ in range(n):
        add_variant(
            ctx,
            post=world.post_id,
            account=world.facebook_id,
            at=fake_clock.now() + timedelta(seconds=2),
        )
        worker.run_for(4)


def test_repeated_failures_are_posted_once_per_window(alert_ctx, hook, fake_clock, http):
    http.post(FEED).mock(return_value=fb_error(506, "Duplicate status message"))
    world = make_world(alert_ctx)
    worker = Worker(alert_ctx, fake_clock)
    fail_n(alert_ctx, world, worker, fake_clock, 4)
    assert hook.received == []  # four is not "repeated" yet (threshold 5)
    fail_n(alert_ctx, world, worker, fake_clock, 1)
    assert hook.received == [{"text": "OmniPost: 5 failed attempts in the last 1h"}]
    fail_n(alert_ctx, world, worker, fake_clock, 2)
    assert len(hook.received) == 1  # the same burst is not reported again
    log = alert_ctx.settings.paths.log_file
    if log.exists():
        assert hook.url not in log.read_text()


def test_an_account_that_expires_is_posted_with_what_to_do(alert_ctx, hook, fake_clock, http):
    http.post(FEED).mock(return_value=fb_error(190, "Error validating access token"))
    world = make_world(alert_ctx)
    worker = Worker(alert_ctx, fake_clock)
    fail_n(alert_ctx, world, worker, fake_clock, 1)
    assert len(hook.received) == 1
    text = hook.received[0]["text"]
    assert "Acme Page expired" in text and "reconnect" in text


def test_a_webhook_that_is_down_is_retried_later_without_holding_up_publishing(
    alert_ctx, hook, fake_clock, http
):
    http.post(FEED).mock(return_value=fb_error(190, "Error validating access token"))
    hook.statuses = [500, 502]
    world = make_world(alert_ctx)
    worker = Worker(alert_ctx, fake_clock)
    fail_n(alert_ctx, world, worker, fake_clock, 1)
    assert len(hook.received) == 1  # tried once, refused
    with alert_ctx.db.read() as session:
        record = session.query(AlertRecord).one()
        assert record.delivered_at is None and record.delivery_attempts == 1
        assert "HTTP 500" in record.last_error
    worker.run_for(60)  # the retries come on their own, 10 s then 30 s later
    assert len(hook.received) == 3
    with alert_ctx.db.read() as session:
        record = session.query(AlertRecord).one()
        assert record.delivered_at is not None and record.delivery_attempts == 3


def test_without_a_webhook_alerts_are_still_logged(ctx, fake_clock, http, caplog):
    import logging

    http.post(FEED).mock(return_value=fb_error(190, "Error validating access token"))
    world = make_world(ctx)
    worker = Worker(ctx, fake_clock)
    with caplog.at_level(logging.WARNING, logger="omnipost.alerts"):
        logging.getLogger("omnipost").propagate = True
        try:
            fail_n(ctx, world, worker, fake_clock, 1)
        finally:
            logging.getLogger("omnipost").propagate = False
    assert any(
        "ALERT: Facebook account Acme Page expired" in r.getMessage() for r in caplog.records
    )
    assert ctx.queue.huey.pending_count() == 0  # nothing queued for a webhook that is not there


def test_an_unreachable_webhook_never_reveals_its_url(alert_ctx, fake_clock):
    from omnipost_tui.services.accounts import mark_account_expired
    from omnipost_tui.services.alerts import deliver_alert, raise_alerts

    world = make_world(alert_ctx)
    mark_account_expired(alert_ctx, world.facebook_id)
    [alert] = raise_alerts(alert_ctx)
    refused = httpx.Client(
        transport=httpx.MockTransport(
            lambda r: (_ for _ in ()).throw(httpx.ConnectError("refused", request=r))
        )
    )
    result = deliver_alert(alert_ctx, alert.key, client=refused)
    assert not result.delivered and result.retry_in == 10
    assert "s3cr3t" not in (result.error or "")


def test_the_same_burst_is_not_reported_again_in_the_next_window(alert_ctx, hook, fake_clock, http):
    http.post(FEED).mock(return_value=fb_error(506, "Duplicate status message"))
    world = make_world(alert_ctx)
    worker = Worker(alert_ctx, fake_clock)
    fake_clock.advance(50 * 60)  # 08:50: the burst straddles the 09:00 window boundary
    fail_n(alert_ctx, world, worker, fake_clock, 5)
    assert len(hook.received) == 1
    worker.run_for(15 * 60)  # past 09:00, the five failures still within the last hour
    assert len(hook.received) == 1


def test_an_expired_account_is_reported_once_whatever_else_changes_on_it(
    alert_ctx, hook, fake_clock, http
):
    from sqlalchemy import update

    from omnipost_tui.models import ConnectedSocialAccount

    http.post(FEED).mock(return_value=fb_error(190, "Error validating access token"))
    world = make_world(alert_ctx)
    worker = Worker(alert_ctx, fake_clock)
    fail_n(alert_ctx, world, worker, fake_clock, 1)
    assert len(hook.received) == 1
    with alert_ctx.db.write() as session:  # e.g. a token check or a rename touched the row
        session.execute(
            update(ConnectedSocialAccount)
            .where(ConnectedSocialAccount.id == world.facebook_id)
            .values(updated_at=fake_clock.advance(600))
        )
    worker.run_for(120)
    assert len(hook.received) == 1


def test_an_alert_the_queue_could_not_take_is_sent_by_the_next_sweep(
    alert_ctx, hook, fake_clock, http, monkeypatch
):
    from omnipost_tui.errors import QueueUnavailable

    http.post(FEED).mock(return_value=fb_error(190, "Error validating access token"))
    world = make_world(alert_ctx)
    worker = Worker(alert_ctx, fake_clock)
    real = alert_ctx.queue.enqueue_alert
    calls = []

    def flaky(key, eta=None):
        calls.append(key)
        if len(calls) == 1:
            raise QueueUnavailable("queue redis://… is unreachable: connection refused")
        real(key, eta)

    monkeypatch.setattr(alert_ctx.queue, "enqueue_alert", flaky)
    fail_n(alert_ctx, world, worker, fake_clock, 1)
    assert hook.received == []  # the queue was down when it was raised
    worker.run_for(65)  # the next sweep finds it due and queues it
    assert len(hook.received) == 1
