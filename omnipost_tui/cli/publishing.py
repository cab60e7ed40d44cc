"""Getting variants out and seeing how it went: ``publish``, ``failed``, ``retry``, ``attempts``."""

from __future__ import annotations

import click

from omnipost_tui.cli.base import LIMIT, App, json_option, pass_app
from omnipost_tui.cli.output import echo_json, table
from omnipost_tui.errors import ValidationError
from omnipost_tui.services.views import attempt_json, variant_json
from omnipost_tui.text import visible_line
from omnipost_tui.times import format_duration, format_local

# --- publishing actions ---------------------------------------------------------------------------

NO_WORKER = "no worker is running: it will go out as soon as `omnipost worker` runs"


@click.command()
@click.argument("variant_id")
@json_option
@pass_app
def publish(app: App, variant_id: str, as_json: bool) -> None:
    """Publish a variant now (draft, scheduled, retrying or failed)."""
    from omnipost_tui.services.variants import publish_now

    result = publish_now(app.ctx, variant_id)
    if as_json:
        echo_json(
            {**variant_json(result.variant, app.settings.tz), "worker_online": result.worker_online}
        )
        return
    v = result.variant
    click.echo(
        f"variant {v.id} queued to publish now on {visible_line(v.account_name)} ({v.platform})"
    )
    if not result.worker_online:
        click.echo(NO_WORKER)


@click.command()
@json_option
@pass_app
def failed(app: App, as_json: bool) -> None:
    """Variants waiting for a human: failed and unconfirmed, with their last error."""
    from omnipost_tui.services.variants import needs_attention

    variants = needs_attention(app.ctx)
    if as_json:
        echo_json([variant_json(v, app.settings.tz) for v in variants])
        return
    if not variants:
        click.echo("nothing failed")
        return
    for v in variants:
        click.echo(
            f"#{v.id}  {v.status}  {app.show(v.scheduled_at)}  {v.platform}  "
            f"{visible_line(v.account_name)}  tries {v.attempts}"
        )
        click.echo(f"    {visible_line(v.last_error or '(no error recorded)')}")
    click.echo("")
    click.echo("retry with `omnipost retry ID…` (or `retry all`); after checking the page, ")
    click.echo("`omnipost variant mark-published ID` records an unconfirmed post as published")


@click.command()
@click.argument("targets", nargs=-1, required=True, metavar="all|ID...")
@json_option
@pass_app
def retry(app: App, targets: tuple[str, ...], as_json: bool) -> None:
    """Retry failed variants now with a fresh set of attempts.

    `all` retries every failed variant; unconfirmed variants are retried only by id, once you
    have checked that the post is not on the page.
    """
    from omnipost_tui.services.variants import retry_variants

    if "all" in targets and len(targets) > 1:
        raise ValidationError("give either `all` or variant ids, not both")
    result = retry_variants(app.ctx, None if targets == ("all",) else list(targets))
    if as_json:
        echo_json(
            {
                "retried": [variant_json(v, app.settings.tz) for v in result.retried],
                "skipped": [{"id": i, "reason": why} for i, why in result.skipped],
                "worker_online": result.worker_online,
            }
        )
        return
    for variant_id, why in result.skipped:
        click.echo(f"variant {variant_id} skipped: {visible_line(why)}")
    if not result.retried:
        click.echo("nothing to retry")
        return
    for v in result.retried:
        click.echo(f"variant {v.id} queued again ({v.platform}, {visible_line(v.account_name)})")
    if not result.worker_online:
        click.echo(NO_WORKER)


@click.command()
@click.option("--variant", "variant_id", help="Only this variant's attempts.")
@click.option(
    "--result",
    type=click.Choice(["success", "fail", "interrupted", "pending"]),
    help="Only attempts with this result.",
)
@click.option("--limit", type=LIMIT, default=None, help="At most this many.")
@json_option
@pass_app
def attempts(
    app: App, variant_id: str | None, result: str | None, limit: int | None, as_json: bool
) -> None:
    """Publication attempts, newest first: result, HTTP status, error, external id."""
    from omnipost_tui.services.attempts import list_attempts

    rows = list_attempts(app.ctx, variant=variant_id, result=result, limit=limit)
    if as_json:
        echo_json([attempt_json(a, app.settings.tz) for a in rows])
        return
    if not rows:
        click.echo("no attempts match" if variant_id or result else "no attempts yet")
        return
    click.echo(
        table(
            ["id", "variant", "no", "started", "took", "result", "http", "error", "external id"],
            [
                (
                    a.id,
                    a.variant_id,
                    a.attempt_no,
                    format_local(a.started_at, app.settings.tz, seconds=True),
                    format_duration(a.duration_seconds) if a.duration_seconds is not None else "-",
                    a.result or "pending",
                    a.http_status,
                    a.error_summary or None,
                    a.external_post_id,
                )
                for a in rows
            ],
            max_width=50,
        )
    )
