"""Running and looking after the install: ``worker``, ``schedule``, ``status``, ``metrics``,
``doctor``, ``logs``, ``backup``, ``config`` and ``db upgrade``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from omnipost_tui.cli.base import (
    CHECK_FAIL,
    CHECK_OK,
    CHECK_WARN,
    MOST_ROWS,
    App,
    MonitoringCommand,
    WholeNumber,
    json_option,
    pass_app,
)
from omnipost_tui.cli.output import dumps, echo_json, table
from omnipost_tui.config import ConfigProblem, Settings
from omnipost_tui.errors import OmniPostError, ValidationError
from omnipost_tui.files import expand_user, make_private_dir
from omnipost_tui.text import visible
from omnipost_tui.times import format_duration, format_relative

if TYPE_CHECKING:
    from omnipost_tui.services.doctor import Check
    from omnipost_tui.services.keys import KeyInfo

# --- status, sweep, worker ------------------------------------------------------------------------


@click.command()
@json_option
@pass_app
def status(app: App, as_json: bool) -> None:
    """Counts per status, what is due next, the worker's heartbeat and the queue."""
    from omnipost_tui.engine.queue import describe_queue
    from omnipost_tui.services.status import status_report

    report = status_report(app.ctx)
    online = report.online_workers
    age = report.heartbeat_age
    if as_json:
        echo_json(
            {
                "counts": report.counts,
                "due_now": report.due_now,
                "next_due_at": app.iso(report.next_due_at),
                "next_due_variant": report.next_due_variant,
                "worker_online": bool(online),
                "heartbeat_age_seconds": round(age, 1) if age is not None else None,
                "last_sweep_at": app.iso(report.last_sweep_at),
                "workers": [
                    {
                        "id": w.id,
                        "online": w.online(report.now),
                        "periodic": w.periodic,
                        "heartbeat_age_seconds": round(w.age(report.now), 1),
                        "started_at": app.iso(w.started_at),
                        "stopped_at": app.iso(w.stopped_at),
                    }
                    for w in report.workers
                ],
                "queue": {
                    "url": describe_queue(app.settings.queue_url),
                    "pending": report.queue_pending,
                    "scheduled": report.queue_scheduled,
                    "error": report.queue_error,
                },
                "timezone": app.settings.timezone,
            }
        )
        return
    counts = "  ".join(f"{k} {v}" for k, v in report.counts.items())
    click.echo(f"variants   {counts}")
    click.echo(f"due now    {report.due_now}")
    if report.next_due_at is not None:
        click.echo(
            f"next due   #{report.next_due_variant} at {app.show(report.next_due_at)} "
            f"({format_relative(report.next_due_at, report.now)})"
        )
    else:
        click.echo("next due   nothing scheduled")
    if online:
        names = ", ".join(w.id for w in online)
        sweep = report.last_sweep_at
        swept = f", last sweep {format_relative(sweep, report.now)}" if sweep else ""
        click.echo(f"worker     online ({names}; heartbeat {format_duration(age or 0)} ago{swept})")
    elif age is not None:
        click.echo(
            f"worker     OFFLINE (last heartbeat {format_duration(age)} ago); "
            "start it with: omnipost worker"
        )
    else:
        click.echo("worker     OFFLINE (never seen); start it with: omnipost worker")
    if report.queue_error:
        queue = describe_queue(app.settings.queue_url)
        click.echo(f"queue      {queue} UNREACHABLE ({report.queue_error})")
    else:
        click.echo(
            f"queue      {describe_queue(app.settings.queue_url)}: "
            f"{report.queue_pending} pending, {report.queue_scheduled} scheduled"
        )
    click.echo(f"timezone   {app.settings.timezone}")


@click.command()
@json_option
@pass_app
def schedule(app: App, as_json: bool) -> None:
    """Run the sweep once now: recover stuck publishes, fail missed ones, queue what is due."""
    from omnipost_tui.engine.worker import sweep_now

    report = sweep_now(app.ctx)
    if as_json:
        echo_json(
            {
                "dispatched": [
                    {"variant_id": d.variant_id, "due_at": app.iso(d.due_at), "eta": app.iso(d.eta)}
                    for d in report.dispatched
                ],
                "recovered": [
                    {"variant_id": r.variant_id, "status": r.status} for r in report.recovered
                ],
                "missed": report.missed,
            }
        )
        return
    for r in report.recovered:
        click.echo(f"variant {r.variant_id}: its publish was interrupted; now {r.status}")
    for variant_id in report.missed:
        click.echo(f"variant {variant_id}: missed its window; failed")
    for d in report.dispatched:
        when = f"for {app.show(d.eta)}" if d.eta else "now"
        click.echo(f"variant {d.variant_id}: queued {when} (due {app.show(d.due_at)})")
    total = len(report.dispatched)
    click.echo(f"dispatched {total} variant{'s' if total != 1 else ''}")


@click.command()
@click.option(
    "--workers",
    "threads",
    type=WholeNumber(1, 64),
    default=4,
    show_default=True,
    help="Publishing threads.",
)
@click.option(
    "--no-periodic",
    is_flag=True,
    help="Do not run the minutely sweep (for extra workers when scaling out).",
)
@click.option(
    "--once",
    is_flag=True,
    help="Sweep, publish what is due now, then exit (for cron-only installs).",
)
@click.option(
    "--metrics-port",
    type=WholeNumber(1, 65535),
    metavar="PORT",
    help="Serve Prometheus metrics at http://HOST:PORT/metrics (the text of omnipost metrics).",
)
@click.option(
    "--metrics-host",
    default="127.0.0.1",
    show_default=True,
    metavar="HOST",
    help="The address --metrics-port listens on (0.0.0.0: every interface).",
)
@pass_app
def worker(
    app: App,
    threads: int,
    no_periodic: bool,
    once: bool,
    metrics_port: int | None,
    metrics_host: str,
) -> None:
    """Run the publishing worker (huey consumer) until SIGINT or SIGTERM."""
    from omnipost_tui.engine.worker import run_once, run_worker

    if once and metrics_port is not None:
        raise ValidationError("--metrics-port needs a running worker; it cannot go with --once")
    if once and no_periodic:
        # --once is a sweep and what it queued; without the sweep it would do nothing.
        raise ValidationError(
            "--once runs the sweep, then publishes what is due; --no-periodic (no minutely "
            "sweep) is for a worker that keeps running: give one of them"
        )
    if once:
        report = run_once(app.ctx)
        click.echo(
            f"swept: {len(report.sweep.dispatched)} queued, {len(report.sweep.recovered)} "
            f"recovered, {len(report.sweep.missed)} missed; {report.processed} message(s) handled"
        )
        return
    run_worker(
        app.ctx,
        threads=threads,
        periodic=not no_periodic,
        metrics_port=metrics_port,
        metrics_host=metrics_host,
    )


@click.command("metrics")
@pass_app
def metrics_cmd(app: App) -> None:
    """Print Prometheus metrics: variants per status, attempts, lateness, heartbeats, queue.

    Text exposition format 0.0.4, for node_exporter's textfile collector (run from cron) or a
    look by hand. A database or queue that cannot be read is reported in the metrics
    (omnipost_database_up 0, omnipost_queue_up 0) and the rest is still printed; the exit
    status is then 0 too, so that the file is replaced and the alert fires on the value, not on
    a file that silently went stale. Tokens and URLs are never in it.
    """
    from omnipost_tui.engine.queue import open_queue
    from omnipost_tui.services.metrics import metrics_text_for

    settings = app.settings  # a broken configuration is one line and exit 2, as everywhere
    text, _ = metrics_text_for(settings, lambda: app.ctx, open_queue)
    click.echo(text, nl=False)


# --- configuration and database -------------------------------------------------------------------


@click.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@pass_app
def db_upgrade(app: App) -> None:
    """Apply schema migrations (also done automatically on start)."""
    from omnipost_tui.db import Database

    database = Database(app.settings.database_url)
    try:
        before = database.current_revision()
        backup = database.upgrade()
        after = database.current_revision()
    finally:
        database.dispose()
    if before == after:
        click.echo(f"database already at the latest revision ({after})")
    else:
        click.echo(f"database upgraded from {before or 'empty'} to {after}")
    if backup is not None:
        click.echo(f"the database before the upgrade was copied to {backup}")


@click.command("config")
@json_option
@pass_app
def config_cmd(app: App, as_json: bool) -> None:
    """Show the effective configuration and where each value came from (secrets masked)."""
    from omnipost_tui.services.keys import key_info

    settings = app.settings
    rows = settings.describe()
    paths = settings.paths
    files = [
        ("config file", str(paths.config_file)),
        ("data dir", str(paths.data_dir)),
        ("log file", str(paths.log_file)),
        ("key file", str(paths.key_file)),
    ]
    keys = key_info(settings)  # where the keys come from, never a key
    if as_json:
        echo_json(
            {
                "settings": {k: {"value": v, "source": s} for k, v, s in rows},
                "paths": dict(files),
                "keys": {"source": keys.source, "count": keys.keys, "problem": keys.problem},
            }
        )
        return
    click.echo(table(["setting", "value", "from"], rows, max_width=70))
    click.echo("")
    for name, value in files:
        click.echo(f"{name.ljust(12)} {value}")
    click.echo(f"{'keys'.ljust(12)} {_keys_line(keys)}")
    click.echo("")
    click.echo("every setting can be overridden with OMNIPOST_<SETTING> (e.g. OMNIPOST_TIMEZONE)")


def _keys_line(keys: KeyInfo) -> str:
    if keys.keys is None:
        return f"{keys.source} ({keys.problem})"
    if keys.keys == 1:
        return f"1 key from {keys.source}"
    return f"{keys.keys} keys from {keys.source} (the first encrypts, every one decrypts)"


# --- doctor ---------------------------------------------------------------------------------------


def _keymap_problems(settings: Settings) -> list[ConfigProblem]:
    """``[keymap]`` ids the app does not have: only the app knows its ids (the services,
    doctor included, never import it), and it refuses to start with one it does not know."""
    if not settings.keymap:
        return []
    from omnipost_tui.tui.keymap import check_keymap

    try:
        check_keymap(settings.keymap, settings.paths.config_file)
    except OmniPostError as exc:
        return [ConfigProblem(exc.message, f"correct [keymap] in {settings.paths.config_file}")]
    return []


@click.command(cls=MonitoringCommand)
@click.option(
    "--only",
    metavar="NAME,…",
    help="Run only these checks (comma-separated names, as --json lists them), e.g. "
    "worker,sweep,attention.",
)
@json_option
@pass_app
def doctor(app: App, only: str | None, as_json: bool) -> None:
    """Check that this install can publish, one line per check with the fix.

    Configuration, database, queue, worker heartbeat, periodic sweep, data and log directories,
    file permissions, brands and accounts, expiring tokens, app credentials for token refresh,
    variants waiting for you, failure alerts, the heartbeat URL. A config.toml that cannot be
    read is a failed check: the others run with the defaults and say so.

    Each check is ok (✓), a warning (!: publishing works, something needs a look) or a failure
    (✗: posts will not go out, or nobody would know). Exit status, as monitoring plugins use
    it: 0 all ok, 1 a warning, 2 a failure, 3 doctor could not tell (a bad option, an
    unknown --only name, a crash).
    """
    from omnipost_tui.config import read_settings
    from omnipost_tui.engine.queue import open_queue
    from omnipost_tui.logs import setup_logging
    from omnipost_tui.services.doctor import FAIL, OK, WARN, parse_only, run_checks, worst

    names = parse_only(only) if only is not None else None
    # Not app.settings nor app.ctx: those stop at a broken config.toml, or migrate the database
    # or fail on a broken one, and reporting what is broken is the point. The service opens what
    # each check needs.
    settings, problems = read_settings()
    if problems:
        setup_logging(settings, verbose=app.verbose)  # the group could not, with that config
    problems = [*problems, *_keymap_problems(settings)]
    checks = run_checks(settings, open_queue, problems, names)
    level = worst(checks)
    if as_json:
        echo_json(
            {
                "level": level,
                "ok": level == OK,
                "checks": [
                    {
                        "name": c.name,
                        "level": c.level,
                        "ok": c.ok,
                        "detail": c.detail,
                        "fix": c.fix,
                    }
                    for c in checks
                ],
            }
        )
    else:
        marks = {
            OK: click.style("✓", fg="green"),
            WARN: click.style("!", fg="yellow"),
            FAIL: click.style("✗", fg="red"),
        }
        width = max(len(c.name) for c in checks)
        for c in checks:
            fix = f" — {c.fix}" if not c.ok and c.fix else ""
            # The detail may name a stored account or quote a platform: never raw.
            click.echo(f"{marks[c.level]} {c.name.ljust(width)}  {visible(f'{c.detail}{fix}')}")
        click.echo(_doctor_summary(checks))
    raise click.exceptions.Exit({OK: CHECK_OK, WARN: CHECK_WARN, FAIL: CHECK_FAIL}[level])


def _doctor_summary(checks: list[Check]) -> str:
    from omnipost_tui.services.doctor import FAIL, WARN

    failed = [c.name for c in checks if c.level == FAIL]
    warned = [c.name for c in checks if c.level == WARN]
    if not failed and not warned:
        return f"all {len(checks)} checks passed"
    parts = [
        f"{len(names)} {label}: {', '.join(names)}"
        for label, names in (("failed", failed), ("to look at", warned))
        if names
    ]
    return f"of {len(checks)} checks, " + "; ".join(parts)


# --- logs and backup ------------------------------------------------------------------------------

NO_LOG_YET = "no log yet at {path}; it is written by omnipost worker and every command"


@click.command("logs")
@click.option(
    "-n",
    "--lines",
    type=WholeNumber(0, MOST_ROWS),
    default=50,
    show_default=True,
    help="How many of the last entries to show (a traceback belongs to its entry).",
)
@click.option(
    "-f",
    "--follow",
    is_flag=True,
    help="Keep printing new entries until Ctrl-C (with --json: one object per line).",
)
@click.option("--variant", "variant_id", metavar="ID", help="Only entries about this variant.")
@click.option(
    "--level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    help="Only entries at this level or above.",
)
@json_option
@pass_app
def logs_cmd(
    app: App, lines: int, follow: bool, variant_id: str | None, level: str | None, as_json: bool
) -> None:
    """Show the log: what the worker published, retried and refused, and every command's errors.

    Entries carry a UTC timestamp, the level, and variant, platform, attempt and outcome where
    they apply; never a token. `omnipost -v …` or OMNIPOST_LOG_LEVEL=DEBUG adds detail.
    """

    from omnipost_tui.logs import LogEntry, follow_log, read_log_entries
    from omnipost_tui.services.lookup import parse_id

    variant = parse_id(variant_id, "variant") if variant_id is not None else None
    path = app.settings.paths.log_file

    def show(entry: LogEntry) -> None:
        # Followed entries go out one JSON object per line, as they come.
        # The entry may predate the formatter's escaping: never print it raw.
        click.echo(dumps(entry.as_json(), one_line=True) if as_json else visible(entry.text))

    try:
        if not follow:
            entries = read_log_entries(path, variant=variant, level=level, lines=lines)
            if as_json:
                echo_json([entry.as_json() for entry in entries])
                return
            for entry in entries:
                show(entry)
            if not entries and lines > 0:
                click.echo(_no_log_entries(path, variant, level))
            return
        if not _has_log(path):
            click.echo(NO_LOG_YET.format(path=path) + "; waiting for it", err=True)
        for entry in follow_log(path, variant=variant, level=level, lines=lines):
            show(entry)
    except KeyboardInterrupt:
        return  # Ctrl-C is how -f ends: not an error
    except BrokenPipeError:
        _silence_stdout()  # `omnipost logs | head`: the reader has what it wanted


def _has_log(path: Any) -> bool:
    from omnipost_tui.logs import log_files

    return any(p.stat().st_size > 0 for p in log_files(path))


def _no_log_entries(path: Any, variant: int | None, level: str | None) -> str:
    if not _has_log(path):
        return NO_LOG_YET.format(path=path)
    wanted = [f"variant {variant}"] if variant else []
    wanted += [f"level {level.upper()} and above"] if level else []
    which = f" for {' and '.join(wanted)}" if wanted else ""
    return f"no log entries{which} in {path} (or its rotated files)"


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    import os

    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


@click.command("backup")
@click.argument("target", required=False)
@click.option("--force", is_flag=True, help="Replace TARGET if it is an existing file.")
@json_option
@pass_app
def backup_cmd(app: App, target: str | None, force: bool, as_json: bool) -> None:
    """Copy the SQLite database to TARGET; prints the path written.

    Safe while a worker runs (SQLite's online backup: one consistent snapshot). Without TARGET,
    or with a directory, the copy is named omnipost-YYYYmmdd-HHMMSS.db (UTC), by default in the
    `backups` directory beside the database. Attached images are copied into `media/` beside
    the copy (only the new ones each time). Keep secret.key too: without it the stored tokens
    cannot be decrypted. PostgreSQL: use pg_dump.
    """
    from omnipost_tui.services.backup import make_backup

    destination = None
    if target:
        destination = Path(target)
        if target.endswith(os.sep):
            # "DIR/": a directory, even one that does not exist yet.
            make_private_dir(expand_user(destination, "backup path"))
    made = make_backup(app.settings, destination, replace=force)
    if as_json:
        echo_json(
            {
                "path": str(made.path),
                "database": str(made.database),
                "bytes": made.size_bytes,
                "media_dir": str(made.media_dir) if made.media_dir else None,
                "media_copied": made.media_copied,
            }
        )
    else:
        click.echo(str(made.path))
        if made.media_dir is not None:
            click.echo(f"images: {made.media_dir} ({made.media_copied} new)", err=True)
