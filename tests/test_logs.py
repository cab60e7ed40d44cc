"""``omnipost logs``: what the worker wrote, per variant, followed live; never a token."""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx

from omnipost_tui import logs as logs_module
from omnipost_tui.config import load_settings
from omnipost_tui.engine.queue import open_queue
from omnipost_tui.logs import KeyValueFormatter, follow_log, read_log_lines, setup_logging
from omnipost_tui.services.accounts import add_account
from omnipost_tui.services.brands import add_brand
from omnipost_tui.services.context import Context, open_context
from omnipost_tui.services.posts import add_post
from omnipost_tui.services.variants import add_variant, get_variant, publish_now
from tests.conftest import (
    FB_TOKEN,
    GRAPH,
    LI_TOKEN,
    LINKEDIN_API,
    FakeClock,
    World,
    omnipost_command,
    wait_for,
)

STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00 ")


@pytest.fixture
def log_file(home: Path) -> Iterator[Path]:
    """Send this process's ``omnipost`` log to the test's home.

    ``setup_logging`` configures a process once, and this test process has usually been set up
    by an earlier test (every in-process ``omnipost`` command does it); start afresh and put the
    earlier set-up back afterwards.
    """
    logger = logging.getLogger("omnipost")
    saved = (list(logger.handlers), logger.level, set(logs_module._configured))
    logger.handlers.clear()
    logs_module._configured.clear()
    path = setup_logging(load_settings())
    yield path
    for handler in logger.handlers:
        handler.close()
    handlers, level, configured = saved
    logger.handlers[:] = handlers
    logger.setLevel(level)
    logs_module._configured.clear()
    logs_module._configured.update(configured)


def record(message: str, level: int = logging.INFO, exc: bool = False, **fields) -> str:
    """One line exactly as the log's formatter writes it."""
    exc_info = None
    if exc:
        try:
            raise RuntimeError("boom inside the connector")
        except RuntimeError:
            exc_info = sys.exc_info()
    rec = logging.LogRecord("omnipost.engine.publish", level, __file__, 1, message, (), exc_info)
    for key, value in fields.items():
        setattr(rec, key, value)
    return KeyValueFormatter().format(rec) + "\n"


def append(path: Path, *lines: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("".join(lines))


# --- a real publish, then `omnipost logs --variant` ----------------------------------------


def deliver(ctx: Context, clock: FakeClock) -> None:
    """Play the worker: run every queue message that is due (see tests/test_engine.py)."""
    huey = ctx.queue.huey
    for task in huey.read_schedule(clock.now().replace(tzinfo=None)):
        huey.enqueue(task)
    while (task := huey.dequeue()) is not None:
        huey.execute(task, timestamp=clock.now().replace(tzinfo=None))


def test_a_publish_is_logged_with_its_fields_and_logs_shows_that_variant_only(
    ctx: Context, world: World, fake_clock: FakeClock, log_file: Path, cli
):
    with respx.mock(assert_all_called=True) as http:
        http.post(f"{GRAPH}/v24.0/104200/feed").mock(
            return_value=httpx.Response(200, json={"id": "104200_9"})
        )
        http.post(f"{LINKEDIN_API}/rest/posts").mock(
            return_value=httpx.Response(503, json={"status": 503, "message": "busy"})
        )
        published = add_variant(ctx, post=world.post_id, account=world.facebook_id, draft=True)
        retrying = add_variant(ctx, post=world.post_id, account=world.linkedin_id, draft=True)
        publish_now(ctx, published.id)
        publish_now(ctx, retrying.id)
        deliver(ctx, fake_clock)
    assert get_variant(ctx, published.id).status == "published"
    assert get_variant(ctx, retrying.id).status == "retrying"

    result = cli("logs", "--variant", str(published.id))

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines, "no entries for the published variant"
    assert all(f"variant={published.id}" in line.split() for line in lines), lines
    outcome = [line for line in lines if "outcome=published" in line]
    assert len(outcome) == 1, lines
    line = outcome[0]
    assert STAMP.match(line), line
    assert line.split()[1] == "INFO"
    for field in ("platform=facebook", "attempt=1", "http_status=200"):
        assert field in line.split(), line
    # The other variant's retry is in the log, just not in this view.
    other = cli("logs", "--variant", str(retrying.id)).stdout
    assert f"variant={retrying.id}" in other and "outcome=retrying" in other
    assert "platform=linkedin" in other
    for text in (result.stdout, other, log_file.read_text()):
        assert FB_TOKEN not in text and LI_TOKEN not in text


@pytest.mark.slow
def test_a_real_worker_logs_its_publish_to_the_file_and_to_stderr(
    home, sandbox, process_env, monkeypatch, start_worker
):
    monkeypatch.setenv("OMNIPOST_FACEBOOK_GRAPH_URL", sandbox.url)
    process_env["OMNIPOST_FACEBOOK_GRAPH_URL"] = sandbox.url
    ctx = open_context(load_settings(), open_queue=open_queue)
    try:
        brand = add_brand(ctx, "Acme").id
        page = add_account(
            ctx,
            brand=brand,
            platform="facebook",
            external_id="page-ok",
            name="Acme Page",
            access_token=FB_TOKEN,
        ).id
        post = add_post(ctx, brand=brand, title="Launch", text="Hello").id
        variant = add_variant(ctx, post=post, account=page, draft=True).id
        worker = start_worker("--workers", "1")
        publish_now(ctx, variant)
        wait_for(lambda: get_variant(ctx, variant).status == "published", timeout=30)
    finally:
        ctx.close()

    def logged() -> str | None:
        shown = subprocess.run(
            [*omnipost_command(), "logs", "--variant", str(variant)],
            env=process_env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert shown.returncode == 0, shown.stderr
        return shown.stdout if "outcome=published" in shown.stdout else None

    shown = wait_for(logged, timeout=15, what="the worker's publish in the log")
    line = next(x for x in shown.splitlines() if "outcome=published" in x)
    assert STAMP.match(line)
    for field in (f"variant={variant}", "platform=facebook", "attempt=1"):
        assert field in line.split()
    assert FB_TOKEN not in shown
    # The same entry went to the worker's stderr (journald, supervisor's log).
    wait_for(lambda: f"variant={variant}" in worker.output(), timeout=10)
    assert "outcome=published" in worker.output()
    assert FB_TOKEN not in worker.output()


# --- filtering and rotation ----------------------------------------------------------------


def test_variant_filter_matches_the_id_exactly_and_keeps_tracebacks(home: Path, cli):
    path = load_settings().paths.log_file
    append(
        path,
        record("sending", variant=1, platform="facebook", attempt=1),
        record("sending", variant=12, platform="linkedin", attempt=1),
        record(
            "unexpected error while publishing",
            logging.ERROR,
            exc=True,
            variant=1,
            platform="facebook",
            attempt=1,
        ),
        record("claim lost for variant=1 elsewhere", variant=21),
        record("published", variant=1, platform="facebook", attempt=2, outcome="published"),
    )

    result = cli("logs", "--variant", "1")

    assert result.exit_code == 0
    out = result.stdout
    assert "variant=12" not in out and "variant=21" not in out
    assert out.count("variant=1 ") + out.count("variant=1\n") == 3
    # The traceback is shown with the entry that logged it.
    assert "RuntimeError: boom inside the connector" in out
    assert out.index("Traceback") > out.index("unexpected error")
    assert out.rstrip().endswith("outcome=published")


def test_level_filter_and_json(home: Path, cli):
    path = load_settings().paths.log_file
    append(
        path,
        record("sending", variant=3, platform="facebook", attempt=1),
        record("rate limited", logging.WARNING, variant=3, attempt=1, outcome="retrying"),
        record("worker stopped", worker="host-1"),
    )

    warnings = cli("logs", "--level", "warning")
    assert warnings.exit_code == 0
    assert warnings.stdout.splitlines() == [
        line for line in path.read_text().splitlines() if " WARNING " in line
    ]

    as_json = cli("logs", "--json", "--variant", "3")
    entries = json.loads(as_json.stdout)
    assert [e["message"] for e in entries] == ["sending", "rate limited"]
    assert entries[1]["level"] == "WARNING"
    assert entries[1]["outcome"] == "retrying"
    assert entries[0]["platform"] == "facebook"
    assert entries[0]["variant"] == "3"


def test_rotated_files_are_read_oldest_first(home: Path, cli):
    path = load_settings().paths.log_file
    for suffix, numbers in ((".2", (1, 2, 3)), (".1", (4, 5, 6)), ("", (7, 8, 9))):
        append(path.with_name(path.name + suffix), *(record(f"entry-{n}") for n in numbers))

    def shown(*args: str) -> list[int]:
        result = cli("logs", *args)
        assert result.exit_code == 0
        return [int(n) for n in re.findall(r"entry-(\d)", result.stdout)]

    assert shown() == list(range(1, 10))
    assert shown("-n", "5") == [5, 6, 7, 8, 9]
    assert [line.split()[-1] for line in read_log_lines(path, lines=2)] == ["entry-8", "entry-9"]


def test_no_log_yet_says_where_it_will_be(home: Path, cli, process_env):
    path = load_settings().paths.log_file
    expected = f"no log yet at {path}; it is written by omnipost worker and every command"

    result = cli("logs")
    assert result.exit_code == 0
    assert expected in result.stdout

    # A real process creates the (empty) file on start; still nothing to show.
    real = subprocess.run(
        [*omnipost_command(), "logs"], env=process_env, capture_output=True, text=True, timeout=30
    )
    assert real.returncode == 0, real.stderr
    assert expected in real.stdout


def test_filters_that_match_nothing_say_so(home: Path, cli):
    append(load_settings().paths.log_file, record("sending", variant=4))
    result = cli("logs", "--variant", "5")
    assert result.exit_code == 0
    assert "no log entries for variant 5" in result.stdout


@pytest.mark.parametrize("bad", ["abc", "0", "-3"])
def test_a_bad_variant_id_is_one_line_and_exit_2(home: Path, cli, bad: str):
    result = cli("logs", "--variant", bad)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: variant id must be")
    assert "Traceback" not in result.output


# --- following ---------------------------------------------------------------------------


def test_follow_log_sees_new_entries_across_rotation_and_stops(home: Path):
    path = load_settings().paths.log_file
    append(path, record("old-1"), record("old-2"))
    stop = threading.Event()
    seen: queue.Queue[str] = queue.Queue()

    def run() -> None:
        for entry in follow_log(path, lines=1, stop=stop, poll_interval=0.02):
            seen.put(entry.text.split()[-1])

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert seen.get(timeout=10) == "old-2"
        append(path, record("new-1"))
        assert seen.get(timeout=10) == "new-1"
        # Rotation as RotatingFileHandler does it: the last lines land in the old file just
        # before it is renamed; a new file takes its place.
        append(path, record("before-rotation"))
        path.rename(path.with_name(path.name + ".1"))
        append(path, record("after-rotation"))
        assert seen.get(timeout=10) == "before-rotation"
        assert seen.get(timeout=10) == "after-rotation"
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert seen.empty()


def test_logs_follow_in_a_real_process_prints_new_entries_and_exits_0_on_ctrl_c(
    home: Path, process_env
):
    path = load_settings().paths.log_file
    append(path, record("already there", variant=7))
    proc = subprocess.Popen(
        [*omnipost_command(), "logs", "-f", "--variant", "7"],
        env=process_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True)
    reader.start()

    def next_line() -> str:
        try:
            return lines.get(timeout=15)
        except queue.Empty:
            proc.kill()
            pytest.fail(f"no output from omnipost logs -f; stderr: {proc.stderr.read()}")

    try:
        assert "already there" in next_line()
        # Written the way every omnipost process writes it: through the logging set-up.
        append(path, record("another variant", variant=77))
        logger = logging.getLogger("test.follow")
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setFormatter(KeyValueFormatter())
        logger.addHandler(handler)
        try:
            logger.warning("published", extra={"variant": 7, "outcome": "published"})
        finally:
            logger.removeHandler(handler)
            handler.close()
        line = next_line()
        assert "outcome=published" in line and "variant=7" in line
        assert STAMP.match(line)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    stderr = proc.stderr.read()
    assert code == 0, stderr
    assert "Traceback" not in stderr


def test_logs_follow_json_prints_one_object_per_line(home: Path, process_env):
    path = load_settings().paths.log_file
    append(path, record("already there", variant=7))
    append(path, record("and another", variant=8))
    proc = subprocess.Popen(
        [*omnipost_command(), "logs", "-f", "--json"],
        env=process_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True)
    reader.start()
    try:
        # A reader that takes a line at a time (jq -c, a log shipper) gets whole objects.
        first, second = (json.loads(lines.get(timeout=15)) for _ in range(2))
    except queue.Empty:
        proc.kill()
        pytest.fail(f"no output from omnipost logs -f --json; stderr: {proc.stderr.read()}")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
    assert (first["message"], first["variant"]) == ("already there", "7")
    assert (second["message"], second["variant"]) == ("and another", "8")


def test_setup_logging_makes_the_log_dirs_private(tmp_path: Path, monkeypatch):
    home = tmp_path / "fresh" / "omnipost"
    monkeypatch.setenv("OMNIPOST_HOME", str(home))
    logger = logging.getLogger("omnipost")
    saved = (list(logger.handlers), set(logs_module._configured))
    logger.handlers.clear()
    logs_module._configured.clear()
    old_umask = os.umask(0o022)
    try:
        path = setup_logging(load_settings())
    finally:
        os.umask(old_umask)
        for handler in logger.handlers:
            handler.close()
        logger.handlers[:] = saved[0]
        logs_module._configured.clear()
        logs_module._configured.update(saved[1])
    for directory in (path.parent, home):
        assert directory.stat().st_mode & 0o777 == 0o700, directory
    assert path.stat().st_mode & 0o777 == 0o600


def test_follow_waits_for_a_log_that_does_not_exist_yet(home: Path):
    path = load_settings().paths.log_file
    stop = threading.Event()
    seen: queue.Queue[str] = queue.Queue()

    def run() -> None:
        for entry in follow_log(path, lines=10, stop=stop, poll_interval=0.02):
            seen.put(entry.text.split()[-1])

    thread = threading.Thread(target=run)
    thread.start()
    try:
        wait_for(lambda: thread.is_alive(), timeout=5)
        append(path, record("first-ever"))
        assert seen.get(timeout=10) == "first-ever"
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_several_processes_share_the_rotating_log_without_losing_lines(tmp_path):
    """The worker, the app and the commands all append to one file and rotate it."""
    import subprocess
    import sys

    log = tmp_path / "shared.log"
    writer = (
        "import logging, sys, time\n"
        "from omnipost_tui.logs import SharedRotatingFileHandler\n"
        "h = SharedRotatingFileHandler(sys.argv[1], maxBytes=4000, backupCount=200)\n"
        "h.setFormatter(logging.Formatter('%(message)s'))\n"
        "lg = logging.getLogger('w'); lg.addHandler(h); lg.setLevel(logging.INFO)\n"
        # Interleaved on purpose: each process writes, then lets the other in.
        "for n in range(1000):\n"
        "    lg.info('%s-%04d', sys.argv[2], n); time.sleep(0.0005)\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", writer, str(log), name]) for name in ("a", "b")
    ]
    for proc in procs:
        assert proc.wait(timeout=60) == 0
    lines = []
    for path in tmp_path.glob("shared.log*"):
        if not path.name.endswith(".lock"):
            lines += path.read_text().split()
    for name in ("a", "b"):
        mine = sorted(line for line in lines if line.startswith(f"{name}-"))
        assert mine == [f"{name}-{n:04d}" for n in range(1000)]


def test_control_characters_never_reach_the_terminal_through_the_log(home: Path, cli):
    """A platform's message may hold ESC or BEL: the log writes them as symbols, and
    ``omnipost logs`` shows an entry written before that rule as symbols too."""
    written = record("Facebook error 100: bad\x1b[2Jinput\x07", variant=3)
    assert "bad␛[2Jinput␇" in written
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f]", written)

    path = load_settings().paths.log_file
    older = (
        "2026-12-02T08:00:00.000+00:00 WARNING omnipost.engine.publish old\x1b]0;pwned\x07 "
        "variant=3\n"
    )
    append(path, older)
    for args in (("logs",), ("logs", "--variant", "3"), ("logs", "--json")):
        result = cli(*args)
        assert result.exit_code == 0, result.output
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f]", result.stdout), (args, result.stdout)
    assert "old␛]0;pwned␇" in cli("logs").stdout
