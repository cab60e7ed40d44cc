"""``omnipost``: the command line. Each command parses, calls a service, prints; nothing else.

The commands are grouped by what the user is doing: ``accounts`` (brands and accounts),
``posts`` (posts and variants), ``publishing`` (publish, failed, retry, attempts),
``operations`` (worker, schedule, status, metrics, doctor, logs, backup, config, db), ``keys`` (the
secret keys) and ``demo``.
What they share (the group that turns errors into one line, ``--json``, stdin) is in ``base``;
how they print, in ``output``.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import sys
import threading
from typing import NamedTuple

import click

from omnipost_tui import __version__
from omnipost_tui.cli.base import PROG, App, OmniPostGroup
from omnipost_tui.errors import OmniPostError


class Entry(NamedTuple):
    """Where a top-level command lives, and the sentence ``omnipost --help`` shows for it."""

    module: str  # under omnipost_tui.cli
    attribute: str
    summary: str  # the command's own first sentence (tests/test_cli_startup.py keeps them equal)


# Each command lives in the module named for what the user is doing. A command's module (and
# with it SQLAlchemy, the models, httpx) is imported only when that command runs, so
# `omnipost --help` and a TAB completion answer at once.
COMMANDS: dict[str, Entry] = {
    # brands and accounts
    "brand": Entry("accounts", "brand", "Brands own accounts and posts."),
    "account": Entry(
        "connect", "account", "Connected Facebook Pages and LinkedIn members/organizations."
    ),
    # posts and variants
    "post": Entry(
        "posts",
        "post",
        "Posts: a title, a text and an optional link shared by their variants.",
    ),
    "variant": Entry("posts", "variant", "Variants: one post on one account at one time."),
    # publishing
    "publish": Entry(
        "publishing", "publish", "Publish a variant now (draft, scheduled, retrying or failed)."
    ),
    "failed": Entry(
        "publishing",
        "failed",
        "Variants waiting for a human: failed and unconfirmed, with their last error.",
    ),
    "retry": Entry(
        "publishing", "retry", "Retry failed variants now with a fresh set of attempts."
    ),
    "attempts": Entry(
        "publishing",
        "attempts",
        "Publication attempts, newest first: result, HTTP status, error, external id.",
    ),
    # operations
    "worker": Entry(
        "operations",
        "worker",
        "Run the publishing worker (huey consumer) until SIGINT or SIGTERM.",
    ),
    "schedule": Entry(
        "operations",
        "schedule",
        "Run the sweep once now: recover stuck publishes, fail missed ones, queue what is due.",
    ),
    "status": Entry(
        "operations",
        "status",
        "Counts per status, what is due next, the worker's heartbeat and the queue.",
    ),
    "metrics": Entry(
        "operations",
        "metrics_cmd",
        "Print Prometheus metrics: variants per status, attempts, lateness, heartbeats, queue.",
    ),
    "doctor": Entry(
        "operations",
        "doctor",
        "Check that this install can publish, one line per check with the fix.",
    ),
    "logs": Entry(
        "operations",
        "logs_cmd",
        "Show the log: what the worker published, retried and refused, and every command's errors.",
    ),
    "backup": Entry(
        "operations",
        "backup_cmd",
        "Copy the SQLite database to TARGET; prints the path written.",
    ),
    "config": Entry(
        "operations",
        "config_cmd",
        "Show the effective configuration and where each value came from (secrets masked).",
    ),
    "db": Entry("operations", "db", "Database maintenance."),
    "key": Entry("keys", "key", "Keys that encrypt stored tokens: generate one, rotate to it."),
    # first run
    "demo": Entry(
        "demo",
        "demo",
        "See it work: demo data, a local stand-in for Facebook and LinkedIn, a real worker.",
    ),
}


class TopLevel(OmniPostGroup):
    """The ``omnipost`` group: its commands are imported when they are used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(f"omnipost_tui.cli.{entry.module}")
        command: click.Command = getattr(module, entry.attribute)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # click's own layout and shortening, from the summaries: no command module is imported.
        limit = formatter.width - 6 - max(map(len, COMMANDS))
        rows = [
            (name, click.Command(name, help=COMMANDS[name].summary).get_short_help_str(limit))
            for name in self.list_commands(ctx)
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=TopLevel, invoke_without_command=True)
@click.option("-v", "--verbose", is_flag=True, help="More detail in the log (DEBUG).")
@click.version_option(__version__, prog_name="omnipost")
@click.pass_context
def cli(click_ctx: click.Context, verbose: bool) -> None:
    """Schedule posts to Facebook Pages and LinkedIn; a worker publishes them on time.

    Without a command, opens the full-screen app (calendar, variants, attempts, accounts).
    Run `omnipost worker` in the background (or under systemd), then plan posts here.
    Times are read and shown in the configured timezone (see `omnipost config`).
    """
    app = App(verbose)
    click_ctx.obj = app
    click_ctx.call_on_close(app.close)
    if click_ctx.invoked_subcommand != "demo":  # the demo logs into its own home
        _setup_logging(app, stderr=click_ctx.invoked_subcommand == "worker")
    if click_ctx.invoked_subcommand is None:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            # Piped or scripted: a full-screen app would be no use, the commands are.
            click.echo(click_ctx.get_help())
            return
        _run_tui(app)


def _run_tui(app: App) -> None:
    from omnipost_tui.tui.app import OmniPostApp

    OmniPostApp(app.ctx).run()


def _setup_logging(app: App, *, stderr: bool) -> None:
    from omnipost_tui.logs import setup_logging

    # A broken configuration is reported by the command itself, as one line.
    with contextlib.suppress(OmniPostError):
        setup_logging(app.settings, stderr=stderr, verbose=app.verbose)


def main() -> None:
    _collect_garbage_after_start_up()
    # On its way out the interpreter collects once more, over every object the command made,
    # only to free memory the system takes back anyway: some 65 ms, a fifth of `omnipost
    # status`. Frozen objects are left out of that pass. What must be written is written by
    # then: transactions are committed, files closed by their `with`, and logging's own exit
    # handler (registered before this one, so it runs after it) flushes the log.
    atexit.register(gc.freeze)
    cli(prog_name=PROG)


# How long a command runs before the garbage collector runs again: longer than a one-shot
# command takes, short enough that nothing piles up in the app or the worker.
START_UP_SECONDS = 1.0


def _collect_garbage_after_start_up() -> None:
    """Pause the garbage collector while a command starts.

    Importing SQLAlchemy and the models makes some 50,000 objects that live as long as
    the process; the collector's passes over them while they are made free nothing and
    cost ~40 ms of every command (a tenth of `omnipost variant add`). A one-shot command ends
    before collection resumes; the app, the worker and any long command get it back after
    ``START_UP_SECONDS``.
    """
    gc.disable()
    resume = threading.Timer(START_UP_SECONDS, gc.enable)
    resume.daemon = True  # never keeps a finished command waiting
    resume.start()
