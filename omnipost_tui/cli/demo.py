"""``omnipost demo``: the command that starts the demo (``omnipost_tui.demo``) and shows it."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import click

from omnipost_tui.cli.base import App, pass_app


@click.command()
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the demo in this directory (reused next time) instead of a throw-away one.",
)
@click.option("--no-tui", is_flag=True, help="Print each status change instead of opening the app.")
@click.option(
    "--until-settled",
    is_flag=True,
    help="Without the app: stop once the live batch has gone out or failed (at most --for).",
)
@click.option(
    "--for",
    "duration",
    type=click.FloatRange(min=1),
    help="Stop after this many seconds (without the app: default 60).",
)
@click.option(
    "--keep", is_flag=True, help="Keep the throw-away home afterwards (its path is shown)."
)
@pass_app
def demo(
    app: App,
    home: Path | None,
    no_tui: bool,
    until_settled: bool,
    duration: float | None,
    keep: bool,
) -> None:
    """See it work: demo data, a local stand-in for Facebook and LinkedIn, a real worker.

    Nothing is sent anywhere: the sandbox runs on 127.0.0.1. Variants due in the next minute
    go out live (one is rate limited and retried, one account's token turns out expired, one
    post is refused). Quitting stops the worker and the sandbox.
    """
    from omnipost_tui.demo.run import STATUS_NOTE, running_demo, watch
    from omnipost_tui.logs import setup_logging

    if not no_tui and not (sys.stdin.isatty() and sys.stdout.isatty()):
        # No terminal to draw the app in (piped, CI): show the same thing as lines.
        no_tui = True
        click.echo("no terminal for the app here: printing status changes instead")

    with running_demo(home, keep=keep) as run:
        setup_logging(run.ctx.settings)
        click.echo(f"demo home   {run.home}{'' if home or keep else '  (deleted afterwards)'}")
        click.echo(f"sandbox     {run.sandbox.url}  (stands in for Facebook and LinkedIn)")
        click.echo(f"worker      pid {run.worker.pid}, output in {run.worker_log}")
        click.echo(f"times in    {run.ctx.settings.timezone}")
        if no_tui:
            click.echo(f"watching for {duration or 60:g} s; Ctrl-C stops")
            final = watch(
                run.ctx, duration or 60, click.echo, run.worker, until_settled=until_settled
            )
            counts = Counter(final.values())
            click.echo(
                "done: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
            )
            return
        from omnipost_tui.tui.app import OmniPostApp

        tui = OmniPostApp(run.ctx, status_note=STATUS_NOTE)
        if duration:
            tui.call_later(lambda: tui.set_timer(duration, tui.exit))
        tui.run()
