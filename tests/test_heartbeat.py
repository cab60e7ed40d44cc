"""The heartbeat ping: after each sweep, the monitor outside hears that one ran and how it went.

Unit tests fake the monitor at the transport with respx and run the real sweep on a service
context; one test runs ``omnipost worker --once`` as a process against a loopback HTTP server,
the way cron runs it. What is asserted is what an operator sees: the request the monitor gets,
and, when it cannot be reached, one warning line in the log without the URL's secret part,
with the sweep's own work done all the same.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from omnipost_tui.config import load_settings
from omnipost_tui.engine import heartbeat_ping
from omnipost_tui.engine.queue import open_queue
from omnipost_tui.engine.sweep import sweep
from omnipost_tui.errors import DatabaseUnavailable
from omnipost_tui.services import publishing, workers
from omnipost_tui.services.context import Context, open_context
from omnipost_tui.services.variants import add_variant
from tests.conftest import T0, FakeClock, make_world, run_cli, wait_for

UUID = "5f0c9e7a-1b2c-4d3e-8f90-123456789abc"
HEALTHCHECKS = f"https://hc-ping.com/{UUID}"
PUSH_TOKEN = "Xq7PushT0ken"
KUMA = f"https://kuma.example.net/api/push/{PUSH_TOKEN}?status=up&msg=OK&ping="
WORKER_ID = "host-a:4242"


@pytest.fixture
def heartbeat(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Context]]:
    """Open a service context (in-memory queue) whose heartbeat URL and style are given."""
    opened: list[Context] = []

    def open_with(url: str, style: str | None = None) -> Context:
        monkeypatch.setenv("OMNIPOST_QUEUE_URL", "memory://")
        monkeypatch.setenv("OMNIPOST_HEARTBEAT_URL", url)
        if style:
            monkeypatch.setenv("OMNIPOST_HEARTBEAT_STYLE", style)
        context = open_context(load_settings(), open_queue=open_queue)
        workers.register_worker(context, WORKER_ID, periodic=True)
        opened.append(context)
        return context

    yield open_with
    for context in opened:
        context.close()


def last_sweep_at(ctx: Context):
    [worker] = [w for w in workers.list_workers(ctx) if w.id == WORKER_ID]
    return worker.last_sweep_at


def heartbeat_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "omnipost.engine.heartbeat"]


def assert_one_clean_warning(caplog: pytest.LogCaptureFixture, *needles: str) -> str:
    """Exactly one warning, no traceback, and nothing of the URL but where it leads."""
    [record] = [r for r in heartbeat_lines(caplog) if r.levelno >= logging.WARNING]
    message = record.getMessage()
    assert record.exc_info is None and "Traceback" not in caplog.text
    assert "\n" not in message
    for secret in (UUID, PUSH_TOKEN):
        assert secret not in caplog.text
    for needle in needles:
        assert needle in message, message
    return message


# --- what each style sends ----------------------------------------------------------------------


@respx.mock
def test_healthchecks_gets_a_post_with_the_summary_on_success(heartbeat) -> None:
    ctx = heartbeat(HEALTHCHECKS)
    route = respx.post(HEALTHCHECKS).respond(200, text="OK")

    sweep(ctx, worker_id=WORKER_ID)

    assert route.call_count == 1
    request = route.calls.last.request
    assert request.content == b"sweep ok: 0 queued, 0 recovered, 0 missed"
    assert request.headers["content-type"].startswith("text/plain")


@respx.mock
def test_healthchecks_gets_url_fail_when_a_variant_waits_for_a_human(
    heartbeat, fake_clock: FakeClock
) -> None:
    """A variant nobody published for 25 h fails as missed in this very sweep: page someone."""
    ctx = heartbeat(HEALTHCHECKS + "/")  # a trailing slash as copied from the dashboard
    world = make_world(ctx)
    add_variant(ctx, post=world.post_id, account=world.facebook_id, at=T0 + timedelta(hours=1))
    fake_clock.advance(26 * 3600)
    ok = respx.post(HEALTHCHECKS).respond(200)
    fail = respx.post(f"{HEALTHCHECKS}/fail").respond(200)

    report = sweep(ctx, worker_id=WORKER_ID)

    assert len(report.missed) == 1
    assert ok.call_count == 0 and fail.call_count == 1
    assert fail.calls.last.request.content == (
        b"1 failed, 0 unconfirmed variant(s) wait for a human (omnipost failed); "
        b"sweep: 0 queued, 0 recovered, 1 missed"
    )


@respx.mock
def test_uptime_kuma_gets_status_msg_and_ping_in_place_of_the_push_urls_own(heartbeat) -> None:
    ctx = heartbeat(KUMA, "uptime-kuma")
    route = respx.get(url__startswith=f"https://kuma.example.net/api/push/{PUSH_TOKEN}").respond(
        200, json={"ok": True}
    )

    sweep(ctx, worker_id=WORKER_ID)

    request = route.calls.last.request
    query = parse_qs(urlsplit(str(request.url)).query, keep_blank_values=True)
    assert query["status"] == ["up"]
    assert query["msg"] == ["sweep ok: 0 queued, 0 recovered, 0 missed"]
    [ping] = query["ping"]
    assert ping.isdigit()  # the sweep's duration in milliseconds
    assert set(query) == {"status", "msg", "ping"}  # the URL's own status=up&msg=OK replaced


@respx.mock
def test_uptime_kuma_gets_down_when_the_sweep_cannot_run(heartbeat, monkeypatch) -> None:
    ctx = heartbeat(KUMA, "uptime-kuma")
    route = respx.get(url__startswith="https://kuma.example.net/").respond(200, json={"ok": True})

    def locked(*args: object) -> None:
        raise DatabaseUnavailable("the database stayed locked for 15 s; try again")

    monkeypatch.setattr(publishing, "recover_stuck", locked)

    with pytest.raises(DatabaseUnavailable):  # the sweep's error is still the worker's to log
        sweep(ctx, worker_id=WORKER_ID)

    query = parse_qs(urlsplit(str(route.calls.last.request.url)).query)
    assert query["status"] == ["down"]
    assert query["msg"] == ["sweep could not run: the database stayed locked for 15 s; try again"]


@respx.mock
def test_an_unexpected_crash_is_named_by_its_type_only(heartbeat, monkeypatch) -> None:
    """An error we did not write may quote a connection string with its password."""
    ctx = heartbeat(HEALTHCHECKS)
    fail = respx.post(f"{HEALTHCHECKS}/fail").respond(200)

    def crash(*args: object) -> None:
        raise RuntimeError("could not connect to postgresql://omnipost:hunter2@db/omnipost")

    monkeypatch.setattr(publishing, "recover_stuck", crash)
    with pytest.raises(RuntimeError):
        sweep(ctx, worker_id=WORKER_ID)

    assert fail.calls.last.request.content == (
        b"sweep could not run: RuntimeError (see the worker's log)"
    )


@respx.mock
def test_plain_gets_the_summary_with_the_outcome_first(heartbeat, monkeypatch) -> None:
    ctx = heartbeat("https://cron.example.net/hook?key=abcd1234", "plain")
    route = respx.post("https://cron.example.net/hook?key=abcd1234").respond(204)
    sweep(ctx, worker_id=WORKER_ID)
    assert route.calls.last.request.content == b"ok: sweep ok: 0 queued, 0 recovered, 0 missed"

    def locked(*args: object) -> None:
        raise DatabaseUnavailable("the database is locked")

    monkeypatch.setattr(publishing, "recover_stuck", locked)
    with pytest.raises(DatabaseUnavailable):
        sweep(ctx, worker_id=WORKER_ID)

    assert route.calls.last.request.content == b"fail: sweep could not run: the database is locked"


def test_no_heartbeat_url_sends_nothing(ctx: Context) -> None:
    with respx.mock(assert_all_called=False) as mock:
        anything = mock.route().respond(200)
        sweep(ctx)
    assert not anything.called


# --- a monitor that does not answer -------------------------------------------------------------


@respx.mock
@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (httpx.ConnectTimeout("timed out"), "no answer within 5 s"),
        (httpx.ReadTimeout("timed out"), "no answer within 5 s"),
        (httpx.Response(500, text="Internal Server Error"), "HTTP 500 (Internal Server Error)"),
        (
            httpx.ConnectError("[Errno -2] Name or service not known"),
            "ConnectError: [Errno -2] Name or service not known",
        ),
    ],
    ids=["connect timeout", "read timeout", "500", "DNS failure"],
)
def test_a_failed_ping_is_one_warning_line_and_the_sweep_completes(
    heartbeat, caplog, answer, said: str
) -> None:
    ctx = heartbeat(HEALTHCHECKS)
    route = respx.post(HEALTHCHECKS)
    if isinstance(answer, httpx.Response):
        route.mock(return_value=answer)
    else:
        route.mock(side_effect=answer)
    caplog.set_level(logging.DEBUG, logger="omnipost")

    sweep(ctx, worker_id=WORKER_ID)

    assert last_sweep_at(ctx) is not None  # the sweep's own work is recorded
    assert route.call_count == 1
    message = assert_one_clean_warning(caplog, "https://hc-ping.com/…", said)
    assert message == f"heartbeat ping to https://hc-ping.com/… failed: {said}"


@respx.mock
def test_an_error_that_quotes_the_url_is_logged_without_it(heartbeat, caplog) -> None:
    ctx = heartbeat(KUMA, "uptime-kuma")
    respx.get(url__startswith="https://kuma.example.net/").mock(
        side_effect=httpx.ConnectError(f"cannot reach /api/push/{PUSH_TOKEN}?status=up")
    )

    sweep(ctx, worker_id=WORKER_ID)

    assert_one_clean_warning(caplog, "https://kuma.example.net/…", "ConnectError: cannot reach")


@respx.mock
def test_uptime_kuma_refusing_a_paused_monitor_is_said(heartbeat, caplog) -> None:
    ctx = heartbeat(KUMA, "uptime-kuma")
    respx.get(url__startswith="https://kuma.example.net/").respond(
        404, json={"ok": False, "msg": "Monitor not found or not active."}
    )

    sweep(ctx, worker_id=WORKER_ID)

    assert_one_clean_warning(caplog, "HTTP 404 (Monitor not found or not active.)")


@respx.mock
def test_a_monitor_that_hangs_holds_the_sweep_no_longer_than_the_timeout(
    heartbeat, caplog, monkeypatch
) -> None:
    """httpx's timeouts do not cover name resolution; the ping's own deadline does."""
    monkeypatch.setattr(heartbeat_ping, "PING_TIMEOUT", 0.3)
    ctx = heartbeat(HEALTHCHECKS)
    released = threading.Event()

    def hang(request: httpx.Request) -> httpx.Response:
        released.wait(30)  # a resolver that never answers
        return httpx.Response(200)

    respx.post(HEALTHCHECKS).mock(side_effect=hang)
    try:
        sweep(ctx, worker_id=WORKER_ID)
        assert last_sweep_at(ctx) is not None
        assert_one_clean_warning(caplog, "failed: no answer within 0.3 s")
    finally:
        released.set()


# --- a real worker, a real monitor --------------------------------------------------------------


@dataclass
class Received:
    method: str
    path: str
    body: str


class Monitor(ThreadingHTTPServer):
    """A loopback stand-in for healthchecks.io: records every request and answers OK."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        super().__init__(("127.0.0.1", 0), _MonitorHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _MonitorHandler(BaseHTTPRequestHandler):
    server: Monitor

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        self.server.received.append(Received(self.command, self.path, body))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"OK")

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass  # the test reads what was received, not the server's chatter


@pytest.fixture
def monitor() -> Iterator[Monitor]:
    server = Monitor()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_worker_once_from_cron_pings_a_real_monitor(
    monitor: Monitor, process_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**process_env, "OMNIPOST_HEARTBEAT_URL": f"{monitor.url}/{UUID}"}

    result = run_cli(env, "worker", "--once")

    assert result.returncode == 0, result.stderr
    [ping] = wait_for(lambda: monitor.received, what="the heartbeat ping")
    assert (ping.method, ping.path) == ("POST", f"/{UUID}")
    assert ping.body == "sweep ok: 0 queued, 0 recovered, 0 missed"
    # doctor says where the pings go, never the UUID.
    doctor = run_cli(env, "doctor", "--only", "worker,sweep,heartbeat_url", "--json")
    assert doctor.returncode == 0, doctor.stdout
    assert UUID not in doctor.stdout
    checks = {c["name"]: c for c in json.loads(doctor.stdout)["checks"]}
    assert checks["heartbeat_url"]["detail"] == (
        f"healthchecks pings to {monitor.url}/… after every sweep"
    )


def test_a_monitor_that_is_down_leaves_one_line_in_the_workers_log(
    process_env: dict[str, str], home: Path
) -> None:
    """Nothing listens on the port: the worker logs one line and exits 0 all the same."""
    port = free_port()
    env = {**process_env, "OMNIPOST_HEARTBEAT_URL": f"http://127.0.0.1:{port}/{UUID}"}

    result = run_cli(env, "worker", "--once")

    assert result.returncode == 0, result.stderr
    log = (home / "logs" / "omnipost.log").read_text()
    [line] = [line for line in log.splitlines() if "heartbeat ping" in line]
    assert f"heartbeat ping to http://127.0.0.1:{port}/… failed: ConnectError" in line
    assert UUID not in log and "Traceback" not in log


def free_port() -> int:
    """A local port the OS just handed out, where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
