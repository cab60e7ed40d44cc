"""``omnipost``: the command line. Each command parses, calls a service, prints; nothing else.

The commands are grouped by what the user is doing: ``accounts`` (brands and accounts),
``posts`` (posts and variants), ``publishing`` (publish, failed, retry, attempts),
``operations`` (worker, schedule, status, doctor, logs, backup, config, db) and ``demo``.
What they share (the group that turns errors into one line, ``--json``, stdin) is in ``base``;
how they print, in ``output``.
"""

from __future__ import annotations

import contextlib
import sys

import click

from omnipost_tui import __version__
from omnipost_tui.cli import accounts, connect, demo, operations, posts, publishing
from omnipost_tui.cli.base import PROG, App, OmniPostGroup
from omnipost_tui.errors import OmniPostError


@click.group(cls=OmniPostGroup, invoke_without_command=True)
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


# Each command lives in the module named for what the user is doing; ``omnipost --help`` lists
# them alphabetically.
accounts.account.add_command(connect.connect)
accounts.account.add_command(connect.reconnect)
for command in (
    # brands and accounts
    accounts.brand,
    accounts.account,
    # posts and variants
    posts.post,
    posts.variant,
    # publishing
    publishing.publish,
    publishing.failed,
    publishing.retry,
    publishing.attempts,
    # operations
    operations.worker,
    operations.schedule,
    operations.status,
    operations.doctor,
    operations.logs_cmd,
    operations.backup_cmd,
    operations.config_cmd,
    operations.db,
    # first run
    demo.demo,
):
    cli.add_command(command)


def main() -> None:
    cli(prog_name=PROG)
