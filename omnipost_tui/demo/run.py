"""What ``omnipost demo`` runs, set up and torn down together.

A throw-away home, the demo data (a month of history and variants due in the next minutes), the
loopback sandbox standing in for Facebook and LinkedIn, and a real ``omnipost worker``
subprocess publishing through the real connectors and retry policy. The TUI (or, headless, a
line per status change) shows it happen. Leaving stops the worker and the sandbox.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from omnipost_tui import clock
from omnipost_tui.config import load_settings
from omnipost_tui.demo.data import schedule_live, seed_demo
from omnipost_tui.engine.queue import open_queue
from omnipost_tui.errors import OmniPostError
from omnipost_tui.files import expand_user, make_private_dir, open_private
from omnipost_tui.sandbox import SandboxServer, omnipost_settings
from omnipost_tui.services.context import Context, open_context
from omnipost_tui.services.variants import list_variants
from omnipost_tui.services.views import VariantView
from omnipost_tui.states import FAILED, PUBLISHED, RETRYING, UNCONFIRMED
from omnipost_tui.times import format_seconds

# Short waits so a retry is visible within seconds (the product default is 1, 5, 15 minutes).
DEMO_BACKOFF = "5,10,20"
STATUS_NOTE = f"demo · retries wait {format_seconds(5)}"
WORKER_STOP_TIMEOUT = 20.0
SLOW_PAGES = {"acme-coffee-page": "slow", "urn:li:organization:2001": "slow"}


@dataclass
class DemoRun:
    home: Path
    ctx: Context
    sandbox: SandboxServer
    worker: subprocess.Popen
    worker_log: Path


TIMEZONE_SETTING = "OMNIPOST_TIMEZONE"


def demo_environment(home: Path, sandbox_url: str) -> dict[str, str]:
    """Settings that point everything at the home and the sandbox."""
    return {
        "OMNIPOST_HOME": str(home),
        # Both platforms, and app credentials: token refresh works in the demo too.
        **omnipost_settings(sandbox_url),
        "OMNIPOST_RETRY_BACKOFF": DEMO_BACKOFF,
    }


@contextmanager
def running_demo(home: Path | None, *, keep: bool = False) -> Iterator[DemoRun]:
    """Set the demo up, yield it, and tear everything down whatever happens (also on SIGTERM
    and SIGHUP: a closed terminal or a dropped SSH session)."""
    throwaway = home is None
    home = expand_user(home or tempfile.mkdtemp(prefix="omnipost-demo-"), "--home").resolve()
    sandbox = None
    worker = None
    ctx = None
    saved_env = dict(os.environ)
    saved_signals = _stop_on_hangup()
    try:
        # The pages that publish fine answer after a moment, so "publishing" is visible.
        sandbox = SandboxServer(behaviours=SLOW_PAGES, slow_seconds=2.0).start()
        # Nothing of the user's own settings reaches the demo: not their database, not their
        # alert webhook, not their retry policy. Only the timezone they read times in: it
        # changes how the demo looks, never where anything goes.
        timezone = os.environ.get(TIMEZONE_SETTING)
        for name in [n for n in os.environ if n.startswith("OMNIPOST_")]:
            del os.environ[name]
        os.environ.update(demo_environment(home, sandbox.url))
        if timezone:
            os.environ[TIMEZONE_SETTING] = timezone
        ctx = open_context(load_settings(), open_queue=open_queue)
        _seed(ctx)
        worker_log = ctx.settings.paths.log_dir / "demo-worker.out"
        make_private_dir(worker_log.parent)
        with os.fdopen(open_private(worker_log), "ab") as out:
            worker = subprocess.Popen(
                [sys.executable, "-m", "omnipost_tui", "worker"],
                # The worker stops by itself if this process dies without stopping it.
                env={**os.environ, "OMNIPOST_WORKER_PARENT": str(os.getpid())},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C in the terminal is ours to pass on, gracefully
            )
        yield DemoRun(home, ctx, sandbox, worker, worker_log)
    finally:
        # A second Ctrl-C must not cut the clean-up short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            if worker is not None:
                stop_process(worker)
            if ctx is not None:
                ctx.close()
            if sandbox is not None:
                sandbox.stop()
            os.environ.clear()
            os.environ.update(saved_env)
            if throwaway and not keep:
                shutil.rmtree(home, ignore_errors=True)
        finally:
            _restore_signals(saved_signals)


# What signal.getsignal returns and signal.signal takes (SIG_DFL and SIG_IGN are ints).
SignalHandler = Callable[[int, FrameType | None], Any] | int | None


# Set by SIGTERM / SIGHUP. The handler also raises KeyboardInterrupt, but Python ignores an
# exception raised while a garbage-collection callback runs (SQLAlchemy registers some), so a
# signal landing there would be lost: the headless watch loop looks at this flag too.
STOP_REQUESTED = threading.Event()


def _stop_on_hangup() -> dict[signal.Signals, SignalHandler]:
    """SIGTERM and SIGHUP end the demo like Ctrl-C does, so the clean-up runs."""
    STOP_REQUESTED.clear()

    def interrupt(signum: int, frame: FrameType | None) -> None:
        STOP_REQUESTED.set()
        raise KeyboardInterrupt

    saved: dict[signal.Signals, SignalHandler] = {signal.SIGINT: signal.getsignal(signal.SIGINT)}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        saved[signum] = signal.getsignal(signum)
        signal.signal(signum, interrupt)
    return saved


def _restore_signals(saved: dict[signal.Signals, SignalHandler]) -> None:
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def _seed(ctx: Context) -> None:
    from omnipost_tui.demo.data import DEMO_TOKEN, DemoData
    from omnipost_tui.services.accounts import list_accounts, reconnect_account
    from omnipost_tui.services.brands import list_brands
    from omnipost_tui.services.posts import list_posts

    brands = list_brands(ctx)
    if not brands:
        seed_demo(ctx, clock.now(), live=True)
        return
    # An existing demo home (--home): schedule a fresh live batch so there is something to watch,
    # on accounts reconnected first (the last run left one expired on purpose).
    accounts = list_accounts(ctx)
    for account in accounts:
        if account.status == "expired":
            reconnect_account(
                ctx,
                account.id,
                access_token=DEMO_TOKEN,
                token_expires_at=clock.now() + timedelta(days=55),
            )
    data = DemoData(
        brands={b.name: b.id for b in brands},
        accounts=_demo_account_keys(accounts),
        posts=_demo_post_keys(list_posts(ctx)),
    )
    try:
        schedule_live(ctx, data, clock.now())
    except (KeyError, OmniPostError) as exc:
        raise OmniPostError(
            f"{ctx.settings.paths.data_dir} holds data that is not the demo's ({exc}); "
            "use an empty directory for --home"
        ) from None


def _demo_account_keys(accounts) -> dict[str, int]:
    from omnipost_tui.demo.data import ACCOUNTS, LIVE_ACCOUNT

    by_external = {a.external_id: a.id for a in accounts}
    keys = {}
    for key, _, _, external, _ in (*ACCOUNTS, LIVE_ACCOUNT):
        if external in by_external:
            keys[key] = by_external[external]
    return keys


def _demo_post_keys(posts) -> dict[str, int]:
    from omnipost_tui.demo.data import POSTS

    by_title = {p.title: p.id for p in posts}
    return {key: by_title[title] for key, _, title, _, _ in POSTS if title in by_title}


def stop_process(proc: subprocess.Popen, timeout: float = WORKER_STOP_TIMEOUT) -> int:
    """Graceful first (SIGINT: running publishes finish), then firm."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait(timeout=10)


FINAL = (PUBLISHED, FAILED, UNCONFIRMED)
# The live batch is due within this many seconds of the start (omnipost_tui.demo.data.LIVE).
LIVE_BATCH = 30


def watch(
    ctx: Context,
    seconds: float,
    emit: Callable[[str], None],
    worker: subprocess.Popen,
    *,
    until_settled: bool = False,
    interval: float = 0.5,
) -> dict[int, str]:
    """Headless: report every status change for ``seconds`` (or, ``until_settled``, until the
    live batch has all gone out or failed); returns the final statuses."""
    tz = ctx.settings.tz
    start = clock.now()
    seen: dict[int, str] = {v.id: v.status for v in list_variants(ctx)}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if STOP_REQUESTED.is_set():
            raise KeyboardInterrupt  # the signal's own raise was swallowed (see STOP_REQUESTED)
        if worker.poll() is not None:
            raise OmniPostError(f"the demo worker stopped (exit status {worker.returncode})")
        variants = list_variants(ctx)
        for variant in variants:
            before = seen.get(variant.id)
            if before != variant.status:
                emit(_describe_change(variant, before, tz))
                seen[variant.id] = variant.status
        if until_settled and _live_batch_settled(variants, start):
            break
        STOP_REQUESTED.wait(interval)
    return seen


def _live_batch_settled(variants: list[VariantView], start) -> bool:
    horizon = start + timedelta(seconds=LIVE_BATCH)
    batch = [v for v in variants if v.scheduled_at and start <= v.scheduled_at <= horizon]
    return bool(batch) and all(v.status in FINAL for v in batch)


def _describe_change(variant: VariantView, before: str | None, tz) -> str:
    stamp = clock.now().astimezone(tz).strftime("%H:%M:%S")
    arrow = f"{before} → {variant.status}" if before else variant.status
    line = f"{stamp}  #{variant.id:<3} {variant.platform:<8} {variant.account_name:<20} {arrow}"
    if variant.status in (FAILED, RETRYING, UNCONFIRMED) and variant.last_error:
        line += f"  ({variant.last_error})"
    return line
