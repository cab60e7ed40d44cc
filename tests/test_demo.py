"""`omnipost demo`: the whole thing, headless and in a terminal (real worker, real sandbox)."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from omnipost_tui.config import load_settings
from omnipost_tui.engine.queue import open_queue
from omnipost_tui.services.accounts import list_accounts
from omnipost_tui.services.attempts import list_attempts
from omnipost_tui.services.context import open_context
from omnipost_tui.services.variants import list_variants

pytestmark = pytest.mark.slow


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIPOST_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_demo(
    *args: str, timeout: float = 150, timezone: str | None = None
) -> subprocess.CompletedProcess:
    env = clean_env()
    if timezone is not None:
        env["OMNIPOST_TIMEZONE"] = timezone
    return subprocess.run(
        [sys.executable, "-m", "omnipost_tui", "demo", "--no-tui", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def retried_then_published(stdout: str) -> bool:
    """Whether the demo's lines show a variant that went through `retrying` and ended
    `published` (its `publishing` in between is seen or not, depending on when the demo looked)."""
    seen: dict[str, list[str]] = {}
    for variant, status in re.findall(r"#(\d+) .*?→ (\w+)", stdout):
        seen.setdefault(variant, []).append(status)
    return any("retrying" in states and states[-1] == "published" for states in seen.values())


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_the_demo_publishes_retries_and_fails_what_it_should(tmp_path: Path, monkeypatch):
    home = tmp_path / "demo"
    # The live variants are due 6–18 s after start; the rate-limited one is retried 5 s later.
    # Waits for that (not a fixed time): a loaded machine may start the worker slowly.
    result = run_demo("--home", str(home), "--for", "100", "--until-settled")
    assert result.returncode == 0, result.stdout + result.stderr
    pid = int(re.search(r"worker +pid (\d+)", result.stdout).group(1))
    assert gone(pid), "the worker outlived the demo"
    # The worker's output is a log like the others: for the user's eyes only.
    assert stat.S_IMODE((home / "logs" / "demo-worker.out").stat().st_mode) == 0o600
    assert retried_then_published(result.stdout), result.stdout

    for key in [k for k in os.environ if k.startswith("OMNIPOST_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("OMNIPOST_HOME", str(home))
    ctx = open_context(load_settings(), open_queue=open_queue)
    try:
        by_text = {}
        for variant in list_variants(ctx):
            by_text.setdefault((variant.account_name, variant.post_title), []).append(variant)
        flash_fb = by_text[("Acme Coffee", "Flash sale")][0]
        flash_li = by_text[("Acme Coffee Co.", "Flash sale")][0]
        storm_fb = by_text[("Northwind Outdoors", "Storm warning")][0]
        storm_li = by_text[("Northwind Careers", "Storm warning")][0]
        refused = by_text[("Acme Events", "Flash sale")][0]
        assert flash_fb.status == flash_li.status == "published"
        assert storm_fb.status == "published" and storm_fb.attempts == 2
        assert [a.error_class for a in list_attempts(ctx, variant=storm_fb.id)] == [
            None,
            "rate_limited",
        ]
        assert storm_li.status == "failed" and "reconnect" in storm_li.last_error
        assert refused.status == "failed" and "Duplicate status message" in refused.last_error
        # The post with three pictures, on both platforms: each upload in the attempt log.
        for account in ("Acme Coffee", "Acme Coffee Co."):
            [photos] = by_text[(account, "Roastery open day")]
            assert photos.status == "published" and len(photos.images) == 3
            [attempt] = list_attempts(ctx, variant=photos.id)
            steps = json.loads(attempt.request_summary)["uploads"]
            assert [step["step"] for step in steps] == [f"upload {n} of 3" for n in (1, 2, 3)]
        accounts = {a.name: a.status for a in list_accounts(ctx)}
        assert accounts["Northwind Careers"] == "expired"
    finally:
        ctx.close()

    # The README: running it again with the same --home adds a new live batch.
    again = run_demo("--home", str(home), "--for", "100", "--until-settled")
    assert again.returncode == 0, again.stdout + again.stderr
    assert retried_then_published(again.stdout), again.stdout
    assert again.stdout.count("→ failed") == 2


def test_a_throw_away_demo_leaves_nothing_behind():
    result = run_demo("--for", "2", timezone="Asia/Tokyo")
    assert result.returncode == 0, result.stdout + result.stderr
    # The one setting of the user's that the demo keeps: the zone they read times in.
    assert re.search(r"^times in +Asia/Tokyo$", result.stdout, re.MULTILINE), result.stdout
    home = Path(re.search(r"demo home +(\S+)", result.stdout).group(1))
    pid = int(re.search(r"worker +pid (\d+)", result.stdout).group(1))
    assert not home.exists()
    assert gone(pid)


def start_demo(*args: str) -> tuple[subprocess.Popen, dict[str, str]]:
    """A headless demo in the background; returns it once its worker is up, with what it said."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "omnipost_tui", "demo", "--no-tui", *args],
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    said: dict[str, str] = {}
    for line in proc.stdout:  # the demo prints these before it starts watching
        for key in ("demo home", "worker"):
            if line.startswith(key):
                said[key] = line
        if line.startswith("watching"):
            break
    return proc, said


@pytest.mark.parametrize("signum", ["SIGTERM", "SIGHUP"])
def test_a_terminated_demo_still_cleans_up(signum):
    import signal

    proc, said = start_demo("--for", "120")
    home = Path(re.search(r"demo home +(\S+)", said["demo home"]).group(1))
    pid = int(re.search(r"pid (\d+)", said["worker"]).group(1))
    proc.send_signal(getattr(signal, signum))  # a closed terminal, a dropped SSH session
    proc.wait(timeout=60)
    assert gone(pid)
    assert not home.exists()


def test_the_demo_worker_stops_when_the_demo_is_killed_outright():
    from tests.conftest import wait_for

    proc, said = start_demo("--for", "120", "--keep")
    home = Path(re.search(r"demo home +(\S+)", said["demo home"]).group(1))
    pid = int(re.search(r"pid (\d+)", said["worker"]).group(1))
    proc.kill()  # no chance to clean up
    proc.wait(timeout=10)
    try:
        wait_for(lambda: gone(pid), timeout=30, what="the orphaned worker to stop by itself")
    finally:
        import shutil

        shutil.rmtree(home, ignore_errors=True)


def test_quitting_the_demo_app_stops_everything(tmp_path: Path, monkeypatch):
    """The real thing a new user runs: the app in a terminal, a variant published live while it
    is open, `q`, and nothing left running."""
    import fcntl
    import pty
    import struct
    import termios
    import threading

    from tests.conftest import wait_for

    home = tmp_path / "demo"
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 110, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "omnipost_tui", "demo", "--home", str(home)],
        env={**clean_env(), "TERM": "xterm-256color"},
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
    )
    os.close(slave)
    screen = bytearray()

    def drain() -> None:  # the app blocks if nobody reads its terminal
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            screen.extend(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        match = wait_for(
            lambda: re.search(rb"worker +pid (\d+)", screen), timeout=60, what="the worker to start"
        )
        worker_pid = int(match.group(1))
        wait_for(lambda: b"demo" in screen and b"Calendar" in screen, timeout=60, what="the app")

        for key in [k for k in os.environ if k.startswith("OMNIPOST_")]:
            monkeypatch.delenv(key)
        monkeypatch.setenv("OMNIPOST_HOME", str(home))
        ctx = open_context(load_settings(), open_queue=open_queue)
        try:

            def flash_sale_published() -> bool:
                return any(
                    v.post_title == "Flash sale" and v.status == "published"
                    for v in list_variants(ctx)
                )

            wait_for(flash_sale_published, timeout=90, what="a live variant to be published")
        finally:
            ctx.close()
        assert proc.poll() is None, "the demo quit by itself"

        os.write(master, b"q")
        assert proc.wait(timeout=60) == 0
        assert gone(worker_pid), "the worker outlived the demo"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
