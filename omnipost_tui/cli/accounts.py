"""``omnipost brand …`` and ``omnipost account …``: brands, the accounts connected to them, their
tokens (connect, reconnect, refresh, check) and their removal.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import click

from omnipost_tui.cli.base import (
    MAX_TOKEN_INPUT_BYTES,
    NEEDS_ACTION,
    App,
    json_option,
    pass_app,
    read_stdin,
)
from omnipost_tui.cli.output import dumps, echo_json, table
from omnipost_tui.errors import ValidationError
from omnipost_tui.files import FileTooLarge, NotAFile, read_limited
from omnipost_tui.services.views import AccountView, account_json, brand_json
from omnipost_tui.text import visible_line
from omnipost_tui.times import WHEN_HELP, format_relative

# --- brands ---------------------------------------------------------------------------------------


@click.group()
def brand() -> None:
    """Brands own accounts and posts."""


@brand.command("add")
@click.argument("name")
@json_option
@pass_app
def brand_add(app: App, name: str, as_json: bool) -> None:
    """Create a brand; prints its id."""
    from omnipost_tui.services.brands import add_brand

    created = add_brand(app.ctx, name)
    click.echo(dumps(brand_json(created, app.settings.tz)) if as_json else created.id)


@brand.command("list")
@json_option
@pass_app
def brand_list(app: App, as_json: bool) -> None:
    """List brands."""
    from omnipost_tui.services.brands import list_brands

    brands = list_brands(app.ctx)
    if as_json:
        echo_json([brand_json(b, app.settings.tz) for b in brands])
        return
    if not brands:
        click.echo("no brands yet; add one with: omnipost brand add NAME")
        return
    click.echo(table(["id", "name", "accounts"], [(b.id, b.name, b.account_count) for b in brands]))


# --- accounts -------------------------------------------------------------------------------------


@click.group()
def account() -> None:
    """Connected Facebook Pages and LinkedIn members/organizations."""


def read_token(token_stdin: bool, what: str = "Access token") -> str:
    """Tokens never come from argv (shell history, ps); stdin or a hidden prompt."""
    if token_stdin:
        token = read_stdin(what.lower(), MAX_TOKEN_INPUT_BYTES).strip()
        if not token:
            raise ValidationError(f"{what.lower()} on stdin is empty")
        return token
    if not sys.stdin.isatty():
        raise ValidationError(
            f"no {what.lower()}: pipe it in with --token-stdin, or run in a terminal to be prompted"
        )
    return click.prompt(what, hide_input=True).strip()


REFRESH_TOKEN_HELP = (
    "Read a LinkedIn refresh token from this file (e.g. <(pass show li-refresh)); "
    "it lets `omnipost account refresh` renew the access token."
)


def read_refresh_token(path: str | None, platform: str) -> str | None:
    """A second secret cannot share stdin with the access token, and never comes from argv."""
    if path is None:
        return None
    if platform != "linkedin":
        raise ValidationError(
            "only LinkedIn accounts have refresh tokens; leave out --refresh-token-file"
        )
    if path == "-":
        raise ValidationError(
            "--refresh-token-file needs a file (stdin is for the access token); e.g. <(pass show …)"
        )
    try:
        # A pipe is what <(pass show …) gives; a device (/dev/zero) is no token file.
        token = read_limited(path, MAX_TOKEN_INPUT_BYTES, pipes=True).decode("utf-8").strip()
    except NotAFile as exc:
        raise ValidationError(f"the refresh token file {path} is {exc.kind}, not a file") from None
    except FileTooLarge:
        raise ValidationError(
            f"the refresh token file {path} holds more than {MAX_TOKEN_INPUT_BYTES:,} bytes; "
            "a refresh token is far shorter"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not a UTF-8 text file"
        raise ValidationError(f"cannot read the refresh token file {path}: {reason}") from None
    if not token:
        raise ValidationError(f"the refresh token file {path} is empty")
    return token


def token_expiry(app: App, expires_at: str | None) -> datetime | None:
    """``--expires-at`` as typed: a time, or None when it was left out."""
    if not expires_at:
        return None
    from omnipost_tui.services.accounts import check_token_expiry

    when = app.when(expires_at)
    check_token_expiry(when, app.now())
    return when


@account.command("add")
@click.option("--brand", "brand_ref", required=True, help="Brand id or name.")
@click.option(
    "--platform", required=True, type=click.Choice(["facebook", "linkedin"], case_sensitive=False)
)
@click.option(
    "--external-id",
    required=True,
    help="Facebook page id, or LinkedIn author URN (urn:li:organization:ID / urn:li:person:ID).",
)
@click.option("--name", required=True, help="Display name, e.g. the page name.")
@click.option("--expires-at", help=f"When the token expires: {WHEN_HELP}.")
@click.option("--token-stdin", is_flag=True, help="Read the access token from stdin.")
@click.option("--refresh-token-file", metavar="PATH", help=REFRESH_TOKEN_HELP)
@json_option
@pass_app
def account_add(
    app: App,
    brand_ref: str,
    platform: str,
    external_id: str,
    name: str,
    expires_at: str | None,
    token_stdin: bool,
    refresh_token_file: str | None,
    as_json: bool,
) -> None:
    """Connect an account; prints its id. The token is read from stdin or a hidden prompt."""
    from omnipost_tui.services.accounts import add_account

    expiry = token_expiry(app, expires_at)
    refresh_token = read_refresh_token(refresh_token_file, platform.lower())
    token = read_token(token_stdin)
    created = add_account(
        app.ctx,
        brand=brand_ref,
        platform=platform,
        external_id=external_id,
        name=name,
        access_token=token,
        refresh_token=refresh_token,
        token_expires_at=expiry,
    )
    click.echo(dumps(account_json(created, app.settings.tz)) if as_json else created.id)


@account.command("list")
@click.option("--brand", "brand_ref", help="Only this brand (id or name).")
@click.option("--all", "include_removed", is_flag=True, help="Include removed accounts.")
@json_option
@pass_app
def account_list(app: App, brand_ref: str | None, include_removed: bool, as_json: bool) -> None:
    """List connected accounts with token expiry and scheduled variants."""
    from omnipost_tui.services.accounts import list_accounts

    accounts = list_accounts(app.ctx, brand=brand_ref, include_removed=include_removed)
    if as_json:
        echo_json([account_json(a, app.settings.tz) for a in accounts])
        return
    if not accounts:
        click.echo("no accounts yet; connect one with: omnipost account add --help")
        return
    now = app.now()
    rows = []
    for a in accounts:
        expiry = "never" if a.token_never_expires else app.show(a.token_expires_at)
        if a.token_expires_at is not None:
            expiry += f" ({format_relative(a.token_expires_at, now)})"
        rows.append(
            (
                a.id,
                a.brand_name,
                a.platform,
                a.name,
                a.external_id,
                a.status,
                expiry,
                a.scheduled_count,
            )
        )
    click.echo(
        table(
            ["id", "brand", "platform", "name", "external id", "status", "token expires", "due"],
            rows,
        )
    )


@account.command("remove")
@click.argument("account_ref")
@click.option("--unschedule", is_flag=True, help="Move its scheduled variants back to draft first.")
@json_option
@pass_app
def account_remove(app: App, account_ref: str, unschedule: bool, as_json: bool) -> None:
    """Disconnect an account: its tokens are erased, its history stays."""
    from omnipost_tui.services.accounts import remove_account

    removed = remove_account(app.ctx, account_ref, unschedule=unschedule)
    if as_json:
        echo_json(account_json(removed, app.settings.tz))
    else:
        click.echo(
            f"account {removed.id} ({visible_line(removed.name)}) removed; its tokens were erased"
        )


# --- accounts: token refresh and check ------------------------------------------------------------


def expiry_text(app: App, view: AccountView) -> str:
    """``never expires``, ``expires … (in 59d)`` or ``expiry not known``."""
    if view.token_never_expires:
        return "never expires"
    if view.token_expires_at is None:
        return "expiry not known"
    relative = format_relative(view.token_expires_at, app.now())
    return f"expires {app.show(view.token_expires_at)} ({relative})"


def _outcomes_report(app: App, outcomes: list[tuple[int, Any]], verb: str, as_json: bool) -> None:
    """Print a batch (refresh --expiring, check --all); exit 2 when any account needs you."""
    failed = [o for _, o in outcomes if not o.ok]
    if as_json:
        echo_json(
            [
                {**account_json(o.account, app.settings.tz), "ok": o.ok, "error": o.error}
                for _, o in outcomes
            ]
        )
    else:
        for _, o in outcomes:
            # The error can quote what the platform answered: shown, never obeyed.
            name = visible_line(o.account_name)
            if o.ok:
                expiry = expiry_text(app, o.account)
                click.echo(f"account {o.account_id} ({name}): {verb}, token {expiry}")
            else:
                error = visible_line(o.error or "")
                click.echo(f"account {o.account_id} ({name}): FAILED: {error}")
    if failed:
        raise ValidationError(f"{len(failed)} of {len(outcomes)} account(s) need attention")


@account.command("refresh")
@click.argument("account_ref", required=False, metavar="[ID]")
@click.option(
    "--expiring",
    is_flag=True,
    help="Refresh every account whose token expires within --within (or already has).",
)
@click.option(
    "--within",
    metavar="DURATION",
    help="With --expiring: how far ahead to look (default 7d; 30m, 12h, 2w).",
)
@json_option
@pass_app
def account_refresh(
    app: App, account_ref: str | None, expiring: bool, within: str | None, as_json: bool
) -> None:
    """Get a fresh token from the platform and store it with its new expiry.

    Facebook: the stored token is exchanged for a long-lived one (and the page's own token is
    taken from the pages its user manages). LinkedIn: the stored refresh token is used.
    Needs your app's credentials: OMNIPOST_FACEBOOK_APP_ID and OMNIPOST_FACEBOOK_APP_SECRET,
    OMNIPOST_LINKEDIN_CLIENT_ID and OMNIPOST_LINKEDIN_CLIENT_SECRET. A token the platform
    refuses marks the account expired: reconnect it then. For cron:
    `omnipost account refresh --expiring --within 7d` (exits 2 when any account failed).
    """
    from omnipost_tui.services.tokens import parse_within, refresh_account, refresh_expiring

    if expiring == (account_ref is not None):
        both = " (not both)" if expiring else ""
        raise ValidationError(f"give an account id or --expiring{both}")
    if within is not None and not expiring:
        raise ValidationError("--within goes with --expiring")
    if expiring:
        span = parse_within(within or "7d")
        outcomes = refresh_expiring(app.ctx, span)
        if not outcomes and not as_json:
            click.echo(f"no account's token expires within {(within or '7d').strip()}")
            return
        _outcomes_report(app, outcomes, "refreshed", as_json)
        return
    assert account_ref is not None
    view = refresh_account(app.ctx, account_ref)
    if as_json:
        echo_json(account_json(view, app.settings.tz))
    else:
        expiry = expiry_text(app, view)
        click.echo(f"account {view.id} ({visible_line(view.name)}): new token stored, {expiry}")


@account.command("watch-expiry")
@click.option(
    "--within",
    metavar="DURATION",
    default="7d",
    show_default=True,
    help="How far ahead to look (30m, 12h, 7d, 2w).",
)
@click.option(
    "--refresh",
    is_flag=True,
    help="Renew what can be renewed (the same as `account refresh --expiring`).",
)
@json_option
@pass_app
def account_watch_expiry(app: App, within: str, refresh: bool, as_json: bool) -> None:
    """List accounts whose token expires within DURATION, has expired, or has an expiry
    nobody knows; with --refresh, renew what can be renewed.

    For cron or monitoring: without --refresh it exits 1 when any account is listed; with
    --refresh, 2 when any could not be renewed (and says what to do). The worker runs the
    same check once a day by itself (at token_check_hour).
    """
    from omnipost_tui.services.tokens import (
        expiring_accounts,
        parse_within,
        refresh_expiring,
        renewable,
    )

    span = parse_within(within)
    if refresh:
        outcomes = refresh_expiring(app.ctx, span)
        if not outcomes and not as_json:
            click.echo(f"no account's token expires within {within.strip()}")
            return
        _outcomes_report(app, outcomes, "renewed", as_json)
        return
    accounts = expiring_accounts(app.ctx, span)
    if as_json:
        echo_json(
            [
                {**account_json(a, app.settings.tz), "renewable": renewable(app.ctx, a)}
                for a in accounts
            ]
        )
    elif not accounts:
        click.echo(f"no account's token expires within {within.strip()}")
    else:
        rows = [
            (
                a.id,
                visible_line(a.name),
                a.platform,
                a.status,
                expiry_text(app, a),
                "yes" if renewable(app.ctx, a) else f"no: omnipost account reconnect {a.id}",
            )
            for a in accounts
        ]
        click.echo(table(["id", "name", "platform", "status", "token", "renewable"], rows))
    if accounts:
        raise click.exceptions.Exit(NEEDS_ACTION)


@account.command("check")
@click.argument("account_ref", required=False, metavar="[ID]")
@click.option("--all", "check_every", is_flag=True, help="Check every account not removed.")
@json_option
@pass_app
def account_check(app: App, account_ref: str | None, check_every: bool, as_json: bool) -> None:
    """Ask the platform whether an account's token is valid, and record when it expires.

    Facebook: /debug_token. LinkedIn: the OAuth token introspection endpoint. Both need your
    app's credentials (see `omnipost account refresh --help`). An invalid token marks the
    account expired; the command then exits 2 and says how to reconnect.
    """
    from omnipost_tui.services.tokens import check_account, check_all, token_problem

    if check_every == (account_ref is not None):
        both = " (not both)" if check_every else ""
        raise ValidationError(f"give an account id or --all{both}")
    if check_every:
        outcomes = check_all(app.ctx)
        if not outcomes and not as_json:
            click.echo("no accounts yet; connect one with: omnipost account add --help")
            return
        _outcomes_report(app, outcomes, "valid", as_json)
        return
    assert account_ref is not None
    view = check_account(app.ctx, account_ref)
    problem = token_problem(view)
    if as_json:
        echo_json({**account_json(view, app.settings.tz), "ok": problem is None, "error": problem})
    elif problem is None:
        expiry = expiry_text(app, view)
        click.echo(f"account {view.id} ({visible_line(view.name)}): token valid, {expiry}")
    if problem is not None:
        raise ValidationError(problem)
