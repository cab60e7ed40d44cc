"""`omnipost metrics` and `omnipost worker --metrics-port`: what a monitoring system reads.

The text is parsed strictly as Prometheus exposition 0.0.4 (every line a HELP, a TYPE or a
sample of the family just declared), and its numbers are compared with the state the services
made: variants in several statuses, attempts that succeeded and failed, workers alive and dead.
"""

from __future__ import annotations

import math
import re
import socket
import subprocess
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from omnipost_tui import __version__
from omnipost_tui.services import workers
from omnipost_tui.services.metrics import Family, render
from omnipost_tui.services.publishing import (
    AttemptRecord,
    claim_variant,
    complete_attempt,
    mark_sending,
)
from omnipost_tui.services.retry import Outcome
from omnipost_tui.services.variants import add_variant
from omnipost_tui.states import VARIANT_STATUSES
from tests.conftest import FB_TOKEN, LI_TOKEN, free_port, omnipost_command, wait_for

# --- a strict little parser ----------------------------------------------------------------------

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_VALUE = r'"(?:[^"\\\n]|\\[\\"n])*"'
LABELS = (
    rf"\{{(?:[a-zA-Z_][a-zA-Z0-9_]*={LABEL_VALUE}(?:,[a-zA-Z_][a-zA-Z0-9_]*={LABEL_VALUE})*)?\}}"
)
VALUE = r"[+-]?(?:\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+|Inf|NaN)"
SAMPLE = re.compile(rf"({NAME})({LABELS})? ({VALUE})")
HELP = re.compile(rf"# HELP ({NAME}) (.*)")
TYPE = re.compile(rf"# TYPE ({NAME}) (counter|gauge|summary|histogram|untyped)")
ONE_LABEL = re.compile(rf"([a-zA-Z_][a-zA-Z0-9_]*)=({LABEL_VALUE})")

Samples = dict[str, dict[tuple[tuple[str, str], ...], float]]


def unescape(quoted: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), quoted[1:-1])


def parse(text: str) -> tuple[Samples, dict[str, str]]:
    """{family: {labels: value}} and {family: type}; fails on any line out of format."""
    assert text.endswith("\n"), "the exposition ends with a line feed"
    samples: Samples = {}
    types: dict[str, str] = {}
    current: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if match := HELP.fullmatch(line):
            current = match.group(1)
            assert current not in samples, f"line {number}: {current} declared twice"
            samples[current] = {}
            continue
        if match := TYPE.fullmatch(line):
            assert match.group(1) == current, f"line {number}: TYPE of another family"
            types[current] = match.group(2)
            continue
        match = SAMPLE.fullmatch(line)
        assert match, f"line {number} is not a sample: {line!r}"
        name, labels, value = match.groups()
        assert name == current and current in types, f"line {number}: {name} undeclared"
        key = tuple((k, unescape(v)) for k, v in ONE_LABEL.findall(labels or ""))
        assert key not in samples[name], f"line {number}: a repeated sample"
        samples[name][key] = float(value.replace("Inf", "inf").replace("NaN", "nan"))
    return samples, types


def one(samples: Samples, name: str) -> float:
    [value] = samples[name].values()
    return value


# --- making state through the services ------------------------------------------------------------


def go_out(ctx, variant_id: int, now, *, ok: bool) -> None:
    """What a worker does: claim, mark the sending point, record the platform's answer."""
    claim = claim_variant(ctx, variant_id, now, "w")
    assert claim is not None
    mark_sending(ctx, claim, now)
    if ok:
        record, outcome = (
            AttemptRecord("success", 200, external_post_id="p_1"),
            Outcome("published"),
        )
    else:
        record = AttemptRecord("fail", 400, error_message="Invalid", error_class="permanent")
        outcome = Outcome("failed", last_error="refused")
    complete_attempt(ctx, claim, record, outcome, now)


@pytest.fixture
def state(ctx, world, fake_clock):
    """2 drafts, 3 scheduled, 2 published (sent 12 s and 30 s late), 1 failed; one worker."""
    for _ in range(2):
        add_variant(ctx, post=world.post_id, account=world.facebook_id, draft=True)
    for minutes in (10, 20, 30):
        add_variant(
            ctx,
            post=world.post_id,
            account=world.linkedin_id,
            at=fake_clock.now() + timedelta(minutes=minutes),
        )
    late = []
    for seconds, ok in ((12, True), (30, True), (5, False)):
        planned = fake_clock.now() + timedelta(minutes=1)
        variant = add_variant(ctx, post=world.post_id, account=world.facebook_id, at=planned)
        fake_clock.current = planned + timedelta(seconds=seconds)
        go_out(ctx, variant.id, fake_clock.now(), ok=ok)
        late.append(seconds)
    workers.register_worker(ctx, "host-a:1", periodic=True)
    workers.record_sweep(ctx, "host-a:1")
    return ctx


def test_the_numbers_are_the_state_the_services_made(state, cli, fake_clock):
    fake_clock.advance(7)
    result = cli("metrics")
    assert result.exit_code == 0, result.output
    samples, types = parse(result.stdout)

    assert one(samples, "omnipost_up") == 1
    assert samples["omnipost_build_info"] == {(("version", __version__),): 1}
    assert one(samples, "omnipost_database_up") == 1
    assert one(samples, "omnipost_queue_up") == 1
    variants = {dict(k)["status"]: v for k, v in samples["omnipost_variants"].items()}
    assert variants == {
        **dict.fromkeys(VARIANT_STATUSES, 0),
        "draft": 2,
        "scheduled": 3,
        "published": 2,
        "failed": 1,
    }
    assert samples["omnipost_attempts_total"] == {
        (("result", "success"), ("error_class", "")): 2,
        (("result", "fail"), ("error_class", "permanent")): 1,
    }
    assert types["omnipost_attempts_total"] == "counter"
    accounts = {dict(k)["status"]: v for k, v in samples["omnipost_accounts"].items()}
    assert accounts == {"connected": 2, "expired": 0, "revoked": 0}
    lateness = {
        dict(k)["quantile"]: v for k, v in samples["omnipost_publish_lateness_seconds"].items()
    }
    assert lateness == {"0.5": 12, "0.99": 30, "1": 30}
    assert one(samples, "omnipost_publish_lateness_posts") == 2
    assert one(samples, "omnipost_heartbeat_age_seconds") == 7
    assert one(samples, "omnipost_last_sweep_age_seconds") == 7
    assert one(samples, "omnipost_workers_online") == 1
    assert samples["omnipost_worker_online"] == {(("worker", "host-a:1"),): 1}
    assert set(samples["omnipost_queue_messages"]) == {
        (("state", "pending"),),
        (("state", "scheduled"),),
    }
    for secret in (FB_TOKEN, LI_TOKEN, "Invalid"):
        assert secret not in result.stdout


def test_a_dead_worker_shows_in_its_heartbeat_age(state, cli, fake_clock):
    fake_clock.advance(200)  # it stopped beating without saying so (killed, host gone)
    samples, _ = parse(cli("metrics").stdout)
    assert one(samples, "omnipost_heartbeat_age_seconds") == 200
    assert samples["omnipost_worker_heartbeat_age_seconds"] == {
        (("worker", "host-a:1"), ("periodic", "true")): 200
    }
    assert samples["omnipost_worker_online"] == {(("worker", "host-a:1"),): 0}
    assert one(samples, "omnipost_workers_online") == 0


def test_no_worker_ever_is_an_infinite_age_and_the_lateness_is_not_a_number(ctx, cli):
    samples, _ = parse(cli("metrics").stdout)
    # +Inf: "age > 180" fires for an install whose worker never started.
    assert one(samples, "omnipost_heartbeat_age_seconds") == math.inf
    assert one(samples, "omnipost_last_sweep_age_seconds") == math.inf
    assert all(math.isnan(v) for v in samples["omnipost_publish_lateness_seconds"].values())
    assert samples["omnipost_worker_online"] == {}


def test_an_unreachable_queue_is_a_metric_and_the_rest_is_still_printed(
    state, cli, monkeypatch, fake_clock
):
    monkeypatch.setenv("OMNIPOST_QUEUE_URL", f"redis://127.0.0.1:{free_port()}/0")
    result = cli("metrics")
    assert result.exit_code == 0  # the file is replaced; the alert fires on the value
    samples, _ = parse(result.stdout)
    assert one(samples, "omnipost_queue_up") == 0
    assert "omnipost_queue_messages" not in samples  # not zeros: unknown
    assert one(samples, "omnipost_database_up") == 1
    assert sum(samples["omnipost_variants"].values()) == 8


def test_an_unreadable_database_is_a_metric_not_a_traceback(home, cli, monkeypatch, tmp_path):
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"this is not a database " * 200)
    monkeypatch.setenv("OMNIPOST_DATABASE_URL", f"sqlite:///{broken}")
    monkeypatch.setenv("OMNIPOST_QUEUE_URL", "memory://")
    result = cli("metrics")
    assert result.exit_code == 0
    samples, _ = parse(result.stdout)
    assert one(samples, "omnipost_database_up") == 0
    assert one(samples, "omnipost_queue_up") == 1
    assert "omnipost_variants" not in samples
    assert "Traceback" not in result.output


def test_label_values_and_help_are_escaped_as_the_format_says():
    family = Family("x", "gauge", 'a\\b\n"c"').add(1, worker='h"o\\st\nname')
    text = render([family])
    assert text == '# HELP x a\\\\b\\n"c"\n# TYPE x gauge\nx{worker="h\\"o\\\\st\\nname"} 1\n'
    samples, _ = parse(text)
    assert samples["x"] == {(("worker", 'h"o\\st\nname'),): 1}


# --- the worker's endpoint ------------------------------------------------------------------------


@pytest.mark.slow
def test_the_worker_serves_the_metrics_and_nothing_else(start_worker, process_env):
    port = free_port()
    worker = start_worker("--workers", "1", "--metrics-port", str(port))
    url = f"http://127.0.0.1:{port}"

    def scraped() -> httpx.Response | None:
        assert worker.proc.poll() is None, worker.output()
        try:
            response = httpx.get(f"{url}/metrics", timeout=5)
        except httpx.TransportError:
            return None
        samples, _ = parse(response.text)
        return response if samples["omnipost_workers_online"][()] == 1 else None

    response = wait_for(scraped, timeout=30, what="the worker's metrics")
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples, _ = parse(response.text)
    assert one(samples, "omnipost_heartbeat_age_seconds") < 30
    assert one(samples, "omnipost_queue_up") == 1
    assert httpx.get(f"{url}/", timeout=5).status_code == 404
    assert httpx.get(f"{url}/metrics/../secret", timeout=5).status_code == 404
    # A scrape is not logged per request (it would bury the publishing log).
    assert "GET /metrics" not in worker.output()


@pytest.mark.slow
def test_a_busy_metrics_port_is_one_line_and_a_failed_start(process_env, home: Path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [*omnipost_command(), "worker", "--metrics-port", str(port)],
            env=process_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: --metrics-port {port} on 127.0.0.1 is in use; choose another port or stop "
        "what listens there"
    ]
    assert "Traceback" not in done.stdout + done.stderr


# --- PostgreSQL and Redis -------------------------------------------------------------------------


@pytest.mark.services
def test_the_same_numbers_on_postgresql_and_redis(
    home, monkeypatch, postgres_url, redis_queue, cli, fake_clock
):
    from omnipost_tui.config import load_settings
    from omnipost_tui.engine.queue import open_queue
    from omnipost_tui.services.context import open_context
    from tests.conftest import REDIS_URL, make_world

    monkeypatch.setenv("OMNIPOST_DATABASE_URL", postgres_url)
    monkeypatch.setenv("OMNIPOST_QUEUE_URL", REDIS_URL)
    monkeypatch.setenv("OMNIPOST_QUEUE_NAME", redis_queue)
    ctx = open_context(load_settings(), open_queue=open_queue)
    try:
        world = make_world(ctx)
        add_variant(
            ctx, post=world.post_id, account=world.linkedin_id, at=later(fake_clock, 600)
        )  # scheduled, queued by the sweep later: nothing in Redis yet
        planned = later(fake_clock, 60)
        variant = add_variant(ctx, post=world.post_id, account=world.facebook_id, at=planned)
        fake_clock.current = planned + timedelta(seconds=3)
        go_out(ctx, variant.id, fake_clock.now(), ok=True)
        workers.register_worker(ctx, "host-b:2", periodic=False)
    finally:
        ctx.close()
    result = cli("metrics")
    samples, _ = parse(result.stdout)
    assert one(samples, "omnipost_database_up") == 1
    assert one(samples, "omnipost_queue_up") == 1
    variants = {dict(k)["status"]: v for k, v in samples["omnipost_variants"].items()}
    assert (variants["scheduled"], variants["published"]) == (1, 1)
    assert samples["omnipost_attempts_total"] == {(("result", "success"), ("error_class", "")): 1}
    assert samples["omnipost_publish_lateness_seconds"][(("quantile", "0.5"),)] == 3
    assert one(samples, "omnipost_heartbeat_age_seconds") == 0
    assert one(samples, "omnipost_last_sweep_age_seconds") == math.inf  # --no-periodic only


def later(fake_clock, seconds: int):
    return fake_clock.now() + timedelta(seconds=seconds)


def test_metrics_port_cannot_go_with_once(cli):
    result = cli("worker", "--once", "--metrics-port", "9477")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: --metrics-port needs a running worker; it cannot go with --once"
    )


def test_a_scrape_while_the_database_fails_answers_and_logs_one_line(ctx, monkeypatch, caplog):
    from omnipost_tui.engine.metrics_server import MetricsServer
    from omnipost_tui.errors import DatabaseBusy
    from omnipost_tui.services import metrics

    def locked(*_: object) -> None:
        raise DatabaseBusy("database /x/omnipost.db stayed locked for 30 s; try again")

    server = MetricsServer(ctx, "127.0.0.1", 0)
    server.start()
    try:
        monkeypatch.setattr(metrics, "_database_families", locked)
        with caplog.at_level("WARNING", logger="omnipost"):
            response = httpx.get(server.url, timeout=5)
        assert response.status_code == 200
        samples, _ = parse(response.text)
        assert one(samples, "omnipost_database_up") == 0
        assert one(samples, "omnipost_queue_up") == 1
        assert [r.getMessage() for r in caplog.records] == [
            "metrics: the database could not be read: database /x/omnipost.db stayed locked "
            "for 30 s; try again"
        ]
    finally:
        server.stop()


@pytest.mark.parametrize("host", ["::1", "127.0.0.1"])
def test_the_endpoint_listens_on_ipv4_and_ipv6_and_names_a_bad_host(ctx, host):
    from omnipost_tui.engine.metrics_server import MetricsPortUnavailable, MetricsServer

    try:
        server = MetricsServer(ctx, host, 0)
    except MetricsPortUnavailable:
        pytest.skip(f"{host} is not configured on this machine")
    server.start()
    try:
        assert httpx.get(server.url, timeout=5).status_code == 200
    finally:
        server.stop()
    with pytest.raises(MetricsPortUnavailable, match=r"^cannot listen on no-such\.invalid port"):
        MetricsServer(ctx, "no-such.invalid", 0)
