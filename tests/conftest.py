"""Shared fixtures. Every test gets its own OMNIPOST_HOME; none touches the real home."""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import settings as hypothesis_settings

from omnipost_tui import clock
from omnipost_tui.config import load_settings
from omnipost_tui.engine.queue import open_queue
from omnipost_tui.services.accounts import add_account
from omnipost_tui.services.brands import add_brand
from omnipost_tui.services.context import Context, open_context
from omnipost_tui.services.posts import add_post
from tests.scenes import DEMO_NOW, settle  # tests import settle from here too

# Property tests (hypothesis): a modest number of examples by default, so that the suite stays
# fast on a shared machine; HYPOTHESIS_PROFILE=thorough looks much harder (before a release,
# after touching text or time handling). A test's own @settings(max_examples=…) wins over both.
# deadline=None: one slow example on a loaded machine is no defect.
hypothesis_settings.register_profile("fast", max_examples=40, deadline=None)
hypothesis_settings.register_profile(
    "thorough",
    parent=hypothesis_settings.get_profile("fast"),
    max_examples=1_000,
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))

GRAPH = "https://graph.test"
LINKEDIN_API = "https://api.linkedin.test"
FB_TOKEN = "EAAB-test-SECRET-fb-token-0123456789"
LI_TOKEN = "AQV-test-SECRET-li-token-9876543210"
# Wednesday 2 December 2026, 09:00 in Berlin (08:00 UTC): a fixed "now" for tests.
T0 = datetime(2026, 12, 2, 8, 0, 0, tzinfo=UTC)


def wait_for(
    condition: Callable[[], object], timeout: float = 10.0, interval: float = 0.05, what: str = ""
):
    """Poll ``condition`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what or condition}")
        time.sleep(interval)


# What a platform's answer, or text stored before the rule on what text holds, may contain:
# BEL, ESC starting a screen clear, NUL, DEL, a C1 CSI, and brackets that read as markup.
HOSTILE_ANSWER = "bad\x07 \x1b[2Jinput\x00 \x7f \x9b [/] end"
# How the app shows it: every control as a symbol, the brackets as they are.
HOSTILE_SHOWN = "bad␇ ␛[2Jinput␀ ␡ \\x9b [/] end"
# Everything a terminal would act on: C0 but LF, DEL, C1.
TERMINAL_CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def assert_harmless(shown: str) -> None:
    """Nothing in ``shown`` that the terminal would act on."""
    found = TERMINAL_CONTROLS.search(shown)
    assert found is None, f"raw {found.group()!r} in {shown!r}"


def screen_text(app) -> str:
    """What the terminal shows right now, as plain text (every visible widget, overlays too)."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True)
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text()


async def wait_in_app(pilot, condition: Callable[[], object], what: str, timeout: float = 5.0):
    """Let the app's own poll notice a change (no key pressed); fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        await pilot.pause(0.05)
    return value


class HeldLoads:
    """Hold a screen's loader (``module.name``, called in a worker thread) until ``release``: a
    test can press keys while the new rows are certainly still on their way, as on a slow
    machine, instead of hoping the keys arrive first."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> None:
        self.started = threading.Event()
        self._go = threading.Event()
        real = getattr(module, name)

        def held(*args, **kwargs):
            self.started.set()
            self._go.wait(timeout=30)  # never forever: a failed test must not hang the run
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, held)

    def release(self) -> None:
        self._go.set()


def messages(app) -> list[str]:
    """The toasts the app has shown (and not yet dismissed)."""
    return [str(n.message) for n in app._notifications]


async def publish_before_the_filtered_rows_land(pilot, loads: HeldLoads) -> None:
    """Filter to nothing and press p while ``loads`` holds the new rows back: p must act on no
    row from before (no publish dialog; "no variant selected")."""
    from omnipost_tui.tui.screens.confirm import ConfirmScreen

    app = pilot.app
    try:
        await pilot.press("slash", *"nothing like this", "enter", "p")
        await wait_in_app(
            pilot,
            lambda: isinstance(app.screen, ConfirmScreen) or messages(app),
            "an answer to p",
        )
        assert loads.started.is_set()  # the filtered rows were still on their way
        assert not isinstance(app.screen, ConfirmScreen), screen_text(app)
        assert "no variant selected" in messages(app)
    finally:
        loads.release()


async def search_palette(pilot, typed: str) -> list[str]:
    """Open the command palette (Ctrl+P), type ``typed``: the entries it finds, best first,
    each as its title and help line. The palette stays open; Enter runs the first."""
    from textual.command import CommandList

    await pilot.press("ctrl+p")
    await settle(pilot)
    await pilot.press(*typed)
    await settle(pilot)
    found = pilot.app.screen.query_one(CommandList)
    return [str(found.get_option_at_index(i).prompt) for i in range(found.option_count)]


@dataclass
class FakeClock:
    """A controllable clock: ``sleep`` advances it instead of waiting."""

    current: datetime = T0
    slept: list[float] = field(default_factory=list)

    def now(self) -> datetime:
        return self.current

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.current += timedelta(seconds=seconds)

    def advance(self, seconds: float) -> datetime:
        self.current += timedelta(seconds=seconds)
        return self.current


@pytest.fixture(autouse=True, scope="session")
def interruptible_children() -> None:
    """Processes the tests start get Ctrl-C (SIGINT) as a user's would, however the test run
    was started. A shell starts a background job (`pytest … &`, a CI step run that way) with
    SIGINT ignored, every child inherits "ignored" through exec, and Python then never turns
    SIGINT into KeyboardInterrupt: `omnipost logs -f` or a worker stopped with SIGINT would
    hang. A handled signal, unlike an ignored one, is reset to the default by exec."""
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def isolated_logging() -> Iterator[None]:
    """Each test starts with the logging it found: ``setup_logging`` configures a process once,
    so an in-process CLI test would otherwise leave its log file (in its own temporary home) and
    ``propagate = False`` on the ``omnipost`` logger for every later test in the process."""
    from omnipost_tui import logs

    saved = [
        (logger, list(logger.handlers), logger.level, logger.propagate)
        for logger in (logging.getLogger("omnipost"), logging.getLogger("huey"))
    ]
    configured = set(logs._configured)
    yield
    for logger, handlers, level, propagate in saved:
        for handler in [h for h in logger.handlers if h not in handlers]:
            logger.removeHandler(handler)
            handler.close()
        logger.setLevel(level)
        logger.propagate = propagate
    logs._configured.clear()
    logs._configured.update(configured)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated OMNIPOST_HOME with deterministic settings (Berlin time, test URLs)."""
    for key in list(os.environ):
        if key.startswith("OMNIPOST_") and key != "OMNIPOST_REQUIRE_SERVICES":
            monkeypatch.delenv(key)
    root = tmp_path / "omnipost-home"
    monkeypatch.setenv("OMNIPOST_HOME", str(root))
    monkeypatch.setenv("OMNIPOST_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("OMNIPOST_FACEBOOK_GRAPH_URL", GRAPH)
    monkeypatch.setenv("OMNIPOST_LINKEDIN_API_URL", LINKEDIN_API)
    return root


@pytest.fixture
def fake_clock() -> Iterator[FakeClock]:
    fake = FakeClock()
    clock.install(fake)
    yield fake
    clock.install(None)


@pytest.fixture
def ctx(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Context]:
    """A service context on a fresh SQLite database and an in-memory huey queue."""
    monkeypatch.setenv("OMNIPOST_QUEUE_URL", "memory://")
    context = open_context(load_settings(), open_queue=open_queue)
    yield context
    context.close()


@dataclass
class World:
    """A brand with one Facebook page and one LinkedIn organization, and a post."""

    brand_id: int
    facebook_id: int
    linkedin_id: int
    post_id: int


def make_world(
    context: Context, *, page: str = "104200", org: str = "urn:li:organization:42"
) -> World:
    brand = add_brand(context, "Acme")
    fb = add_account(
        context,
        brand=brand.id,
        platform="facebook",
        external_id=page,
        name="Acme Page",
        access_token=FB_TOKEN,
    )
    li = add_account(
        context,
        brand=brand.id,
        platform="linkedin",
        external_id=org,
        name="Acme LinkedIn",
        access_token=LI_TOKEN,
    )
    post = add_post(context, brand=brand.id, title="Launch", text="We launch today (really)!")
    return World(brand.id, fb.id, li.id, post.id)


@pytest.fixture
def world(ctx: Context) -> World:
    return make_world(ctx)


# --- the command line -----------------------------------------------------------------------


@pytest.fixture
def cli(home: Path) -> Callable[..., Result]:
    """Run ``omnipost ARGS…`` in-process; returns click's Result (exit_code, stdout, stderr)."""
    from omnipost_tui.cli import cli as command

    def run(*args: str, input: str | None = None) -> Result:
        runner = CliRunner()
        return runner.invoke(command, list(args), input=input, catch_exceptions=False)

    return run


# --- real processes -------------------------------------------------------------------------


@pytest.fixture
def process_env(home: Path) -> dict[str, str]:
    """Environment for subprocesses: the test's OMNIPOST_* settings, the venv's scripts."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def omnipost_command() -> list[str]:
    return [sys.executable, "-m", "omnipost_tui"]


def run_cli(
    env: dict[str, str], *args: str, input: str | None = None
) -> subprocess.CompletedProcess:
    """``omnipost ARGS`` as a real process with ``env``; its output captured as text."""
    return subprocess.run(
        [*omnipost_command(), *args],
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
    )


class WorkerProcess:
    """A real ``omnipost worker`` subprocess; stopped (and reaped) at teardown."""

    def __init__(self, env: dict[str, str], log_path: Path, *args: str) -> None:
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            [*omnipost_command(), "worker", *args],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, signum: int) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signum)

    def wait(self, timeout: float = 30) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()


@pytest.fixture
def start_worker(
    process_env: dict[str, str], tmp_path: Path
) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> WorkerProcess:
        worker = WorkerProcess(env or process_env, tmp_path / f"worker-{len(started)}.log", *args)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def sandbox():
    from omnipost_tui.sandbox import SandboxServer

    with SandboxServer(slow_seconds=1.0, hang_seconds=30.0) as server:
        yield server


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The screens' tests are marked by their file, so that a run can leave them out by name
    # (.ci/run does on its second interpreter: they drive Textual, which is the same code there).
    for item in items:
        if item.path.name.startswith("test_tui_"):
            item.add_marker(pytest.mark.tui)


def require_services() -> bool:
    return os.environ.get("OMNIPOST_REQUIRE_SERVICES") == "1"


def service_unavailable(reason: str) -> None:
    """Skip a test that needs PostgreSQL or Redis (fail instead under OMNIPOST_REQUIRE_SERVICES)."""
    if require_services():
        pytest.fail(f"OMNIPOST_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


POSTGRES_ADMIN_URL = os.environ.get(
    "OMNIPOST_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test (dropped afterwards)."""
    try:
        import psycopg
    except ImportError:
        service_unavailable("psycopg is not installed (pip install -e '.[scale]')")
    name = f"omnipost_test_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        service_unavailable(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
        yield f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


REDIS_URL = os.environ.get("OMNIPOST_TEST_REDIS", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_queue() -> Iterator[str]:
    """A private queue name on the shared Redis (its keys deleted afterwards)."""
    try:
        import redis
    except ImportError:
        service_unavailable("redis is not installed (pip install -e '.[scale]')")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        service_unavailable(f"Redis is not reachable at {REDIS_URL}: {exc}")
    name = f"omnipost-test-{secrets.token_hex(4)}"
    yield name
    for key in client.scan_iter(f"*{name}*"):
        client.delete(key)


# --- the TUI ----------------------------------------------------------------------------------

# The demo data is seen from Wednesday 9 December 2026, 10:30 in Berlin: fixed, so snapshots
# and calendar positions never depend on the day the tests run.
T_DEMO = DEMO_NOW


@dataclass
class Demo:
    ctx: Context
    data: object
    clock: FakeClock


@pytest.fixture
def demo(ctx: Context) -> Iterator[Demo]:
    """The demo data set on a fresh database, with the clock stopped at T_DEMO."""
    from omnipost_tui.demo.data import seed_demo

    fake = FakeClock(current=T_DEMO)
    clock.install(fake)
    data = seed_demo(ctx, T_DEMO)
    yield Demo(ctx, data, fake)
    clock.install(None)


# --- a private redis-server ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A private redis-server on a spare port. With ``keep_data`` its data is in ``directory``,
    so that a restart finds the schedule it had (as a Redis with persistence would); without,
    a restart comes back empty (as a cache-only Redis, or one that lost its disk, does)."""

    def __init__(self, directory: Path, *, keep_data: bool = True) -> None:
        self.directory = directory
        self.keep_data = keep_data
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redis

        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--save",
                "3600 1" if self.keep_data else "",  # written on shutdown, read back on start
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)

        def answers() -> bool:
            assert self.proc is not None and self.proc.poll() is None, "redis-server exited"
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_for(answers, timeout=10, what="redis-server to answer")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: Redis saves its data (if it keeps any) and exits
            self.proc.wait(timeout=10)
        self.proc = None

    def kill(self) -> None:
        """SIGKILL: gone at once, nothing saved."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None


def private_redis(tmp_path: Path, *, keep_data: bool) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        if require_services():
            pytest.fail("OMNIPOST_REQUIRE_SERVICES=1 but redis-server is not installed")
        pytest.skip("redis-server is not installed")
    try:
        import redis  # noqa: F401
    except ImportError:
        if require_services():
            pytest.fail("OMNIPOST_REQUIRE_SERVICES=1 but the redis client is not installed")
        pytest.skip("the redis client is not installed (pip install -e '.[scale]')")
    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisServer(directory, keep_data=keep_data)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server that keeps its data across a restart."""
    yield from private_redis(tmp_path, keep_data=True)


@pytest.fixture
def empty_redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server that comes back empty from a restart."""
    yield from private_redis(tmp_path, keep_data=False)
