"""``omnipost``: the command line. Each command parses, calls a service, prints; nothing else.

Errors a user can cause print ``error: <message>`` on stderr and exit 2; anything unexpected is
logged with its traceback and reported as one line pointing at the log.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Any, NoReturn

import click

from omnipost_tui import __version__, clock
from omnipost_tui.config import Settings, load_settings
from omnipost_tui.errors import OmniPostError, ValidationError
from omnipost_tui.files import make_private_dir
from omnipost_tui.render import dumps, table
from omnipost_tui.services.context import Context, open_context
from omnipost_tui.services.views import (
    account_json,
    attempt_json,
    brand_json,
    post_json,
    variant_json,
)
from omnipost_tui.text import visible, visible_line
from omnipost_tui.times import (
    WHEN_HELP,
    format_duration,
    format_local,
    format_relative,
    iso_local,
    parse_until,
    parse_when,
)

log = logging.getLogger("omnipost.cli")

OK = 0
USER_ERROR = 2
UNEXPECTED = 1


class App:
    """Per-invocation state: settings and the service context, opened on first use."""

    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose
        self._settings: Settings | None = None
        self._ctx: Context | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    @property
    def ctx(self) -> Context:
        if self._ctx is None:
            self._ctx = open_context(self.settings)
        return self._ctx

    def now(self) -> datetime:
        return clock.now()

    def when(self, text: str) -> datetime:
        return parse_when(text, self.settings.tz, self.now())

    def show(self, value: datetime | None) -> str:
        return format_local(value, self.settings.tz)

    def iso(self, value: datetime | None) -> str | None:
        return iso_local(value, self.settings.tz)

    def close(self) -> None:
        if self._ctx is not None:
            self._ctx.close()


PROG = "omnipost"


class OmniPostGroup(click.Group):
    """Turns errors into one line and an exit status; never a traceback.

    Bad input looks the same whoever finds it: our services or click's own parsing (an
    unknown option, a value out of range, a missing argument) all print one ``error: …``
    line and exit 2.
    """

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        # The top level's own options and arguments are parsed here, before invoke.
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            _usage_error(exc)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OmniPostError as exc:
            click.echo(f"error: {visible_line(exc.message)}", err=True)
            ctx.exit(exc.exit_code)
        except click.UsageError as exc:
            _usage_error(exc)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except BrokenPipeError:
            # `omnipost … | head`: the reader has what it wanted. Point stdout at /dev/null so
            # the interpreter's final flush does not complain either.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(0)
        except Exception:
            log.exception("unexpected error in %s", " ".join(sys.argv[1:]) or "omnipost")
            app: App | None = ctx.find_object(App)
            where = _log_location(app)
            click.echo(f"error: something went wrong; see the log at {where}", err=True)
            ctx.exit(UNEXPECTED)


def _usage_error(exc: click.UsageError) -> NoReturn:
    """Print click's complaint as our one line, with where to read about the command."""
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):
        raise exc  # `omnipost variant` alone: the group's help is the answer
    message = " ".join(exc.format_message().split()).removesuffix(".")
    # "No such option '--limt'. (Did you mean one of: …?)" → "…; did you mean one of: …?"
    message = re.sub(r"\. \(?Did you mean (.*?)\)?$", r"; did you mean \1", message)
    if message[:1].isupper() and not message[1:2].isupper():
        message = message[0].lower() + message[1:]
    where = [PROG]
    if exc.ctx is not None:
        # The root's own name is however we were started (python -m, a test runner): say ours.
        where += [c.info_name or "" for c in _context_chain(exc.ctx)][1:]
    click.echo(f"error: {visible_line(message)} (see {' '.join(where)} --help)", err=True)
    raise click.exceptions.Exit(exc.exit_code)


def _context_chain(ctx: click.Context) -> list[click.Context]:
    chain = [ctx]
    while chain[0].parent is not None:
        chain.insert(0, chain[0].parent)
    return chain


def _log_location(app: App | None) -> str:
    try:
        return str((app.settings if app else load_settings()).paths.log_file)
    except OmniPostError:
        return "the omnipost log directory"


def json_option(func: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)


def pass_app(func: Callable) -> Callable:
    @click.pass_obj
    @wraps(func)
    def wrapper(app: App, *args: Any, **kwargs: Any) -> Any:
        return func(app, *args, **kwargs)

    return wrapper


def echo_json(data: Any) -> None:
    click.echo(dumps(data))


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


# --- brands -------------------------------------------------------------------------------------


@cli.group()
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


# --- accounts -----------------------------------------------------------------------------------


@cli.group()
def account() -> None:
    """Connected Facebook Pages and LinkedIn members/organizations."""


def _read_token(token_stdin: bool, what: str = "Access token") -> str:
    """Tokens never come from argv (shell history, ps); stdin or a hidden prompt."""
    if token_stdin:
        token = _read_stdin(what.lower()).strip()
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


def _read_refresh_token(path: str | None, platform: str) -> str | None:
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
        with open(path, encoding="utf-8") as handle:
            token = handle.read(65_536).strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not a text file"
        raise ValidationError(f"cannot read the refresh token file {path}: {reason}") from None
    if not token:
        raise ValidationError(f"the refresh token file {path} is empty")
    return token


def _expiry(app: App, expires_at: str | None) -> datetime | None:
    return app.when(expires_at) if expires_at else None


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

    expiry = _expiry(app, expires_at)
    refresh_token = _read_refresh_token(refresh_token_file, platform.lower())
    token = _read_token(token_stdin)
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


@account.command("reconnect")
@click.argument("account_ref")
@click.option("--expires-at", help=f"When the new token expires: {WHEN_HELP}.")
@click.option("--token-stdin", is_flag=True, help="Read the new access token from stdin.")
@click.option("--refresh-token-file", metavar="PATH", help=REFRESH_TOKEN_HELP)
@json_option
@pass_app
def account_reconnect(
    app: App,
    account_ref: str,
    expires_at: str | None,
    token_stdin: bool,
    refresh_token_file: str | None,
    as_json: bool,
) -> None:
    """Replace the token of an account (an expired one, typically) and mark it connected."""
    from omnipost_tui.services.accounts import get_account, reconnect_account

    expiry = _expiry(app, expires_at)
    refresh_token = None
    if refresh_token_file is not None:
        platform = get_account(app.ctx, account_ref).platform
        refresh_token = _read_refresh_token(refresh_token_file, platform)
    token = _read_token(token_stdin, "New access token")
    updated = reconnect_account(
        app.ctx,
        account_ref,
        access_token=token,
        refresh_token=refresh_token,
        token_expires_at=expiry,
    )
    if as_json:
        echo_json(account_json(updated, app.settings.tz))
    else:
        click.echo(f"account {updated.id} ({visible_line(updated.name)}) is connected again")


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
        expiry = app.show(a.token_expires_at)
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


# --- posts --------------------------------------------------------------------------------------


@cli.group()
def post() -> None:
    """Posts: a title, a text and an optional link shared by their variants."""


def _text_arg(text: str) -> str:
    """``-`` reads stdin; the newline that ends every piped file is not part of the post."""
    return _read_stdin("text").rstrip("\r\n") if text == "-" else text


def _read_stdin(what: str) -> str:
    """All of stdin as UTF-8 text, whatever the locale says; other bytes are refused."""
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"the {what} on stdin is not valid UTF-8 (byte 0x{data[exc.start]:02X} at offset "
            f"{exc.start}); save it as UTF-8 and try again"
        ) from None


@post.command("add")
@click.option("--brand", "brand_ref", required=True, help="Brand id or name.")
@click.option("--title", required=True)
@click.option("--text", required=True, help="The post text, or - to read it from stdin.")
@click.option("--link", help="Optional http(s) link.")
@json_option
@pass_app
def post_add(
    app: App, brand_ref: str, title: str, text: str, link: str | None, as_json: bool
) -> None:
    """Create a post; prints its id."""
    from omnipost_tui.services.posts import add_post

    created = add_post(app.ctx, brand=brand_ref, title=title, text=_text_arg(text), link=link)
    click.echo(dumps(post_json(created, app.settings.tz)) if as_json else created.id)


@post.command("edit")
@click.argument("post_id")
@click.option("--title")
@click.option("--text", help="New text, or - to read it from stdin.")
@click.option("--link", help="New link ('' removes it).")
@json_option
@pass_app
def post_edit(
    app: App,
    post_id: str,
    title: str | None,
    text: str | None,
    link: str | None,
    as_json: bool,
) -> None:
    """Change a post's title, text or link."""
    from omnipost_tui.services.posts import UNSET, update_post

    changes: dict[str, Any] = {}
    if title is not None:
        changes["title"] = title
    if text is not None:
        changes["text"] = _text_arg(text)
    if link is not None:
        changes["link"] = link
    if not changes:
        raise ValidationError("nothing to change; give --title, --text or --link")
    updated = update_post(app.ctx, post_id, **{k: changes.get(k, UNSET) for k in changes})
    click.echo(
        dumps(post_json(updated, app.settings.tz)) if as_json else f"post {updated.id} saved"
    )


@post.command("list")
@click.option("--brand", "brand_ref", help="Only this brand (id or name).")
@json_option
@pass_app
def post_list(app: App, brand_ref: str | None, as_json: bool) -> None:
    """List posts."""
    from omnipost_tui.services.posts import list_posts

    posts = list_posts(app.ctx, brand=brand_ref)
    if as_json:
        echo_json([post_json(p, app.settings.tz) for p in posts])
        return
    if not posts:
        click.echo("no posts yet; write one with: omnipost post add --help")
        return
    rows = [
        (
            p.id,
            p.brand_name,
            p.title,
            p.status_summary,
            p.variant_count,
            p.base_text.strip().splitlines()[0],
        )
        for p in posts
    ]
    click.echo(table(["id", "brand", "title", "status", "variants", "text"], rows, max_width=40))


# --- variants -----------------------------------------------------------------------------------


@cli.group()
def variant() -> None:
    """Variants: one post on one account at one time."""


@variant.command("add")
@click.option("--post", "post_id", required=True, help="Post id.")
@click.option("--account", "account_ref", required=True, help="Account id or name.")
@click.option("--platform", help="Optional check that the account is on this platform.")
@click.option(
    "--text", help="Custom text for this platform (default: the post's text; - reads stdin)."
)
@click.option("--at", "at", help=f"When to publish: {WHEN_HELP}.")
@click.option("--draft", is_flag=True, help="Keep it as a draft (not scheduled).")
@json_option
@pass_app
def variant_add(
    app: App,
    post_id: str,
    account_ref: str,
    platform: str | None,
    text: str | None,
    at: str | None,
    draft: bool,
    as_json: bool,
) -> None:
    """Schedule a post on an account; prints the variant id."""
    from omnipost_tui.services.variants import add_variant

    when = app.when(at) if at else None
    custom = _text_arg(text) if text is not None else None
    if custom is not None and not custom.strip():
        raise ValidationError("--text is empty; leave it out to publish the post's own text")
    created = add_variant(
        app.ctx,
        post=post_id,
        account=account_ref,
        platform=platform,
        custom_text=custom,
        at=when,
        draft=draft,
    )
    click.echo(dumps(variant_json(created, app.settings.tz)) if as_json else created.id)


def _variant_rows(app: App, variants: list) -> list[tuple]:
    now = app.now()
    rows = []
    for v in variants:
        status = v.status
        if v.status == "retrying" and v.next_attempt_at is not None:
            status = f"retrying {format_relative(v.next_attempt_at, now)}"
        rows.append(
            (
                v.id,
                app.show(v.scheduled_at),
                v.platform,
                v.account_name,
                status,
                v.attempts,
                v.first_line,
            )
        )
    return rows


VARIANT_HEADERS = ["id", "when", "platform", "account", "status", "tries", "text"]


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.strip().lower() for item in values for v in item.split(",") if v.strip())


@variant.command("list")
@click.option("--status", multiple=True, help="Filter by status (repeat or comma-separate).")
@click.option("--platform", multiple=True, help="Filter by platform.")
@click.option("--brand", "brand_ref", help="Brand id or name.")
@click.option("--account", "account_ref", help="Account id or name.")
@click.option("--post", "post_id", type=int, help="Post id.")
@click.option("--from", "date_from", help=f"From this time on (inclusive): {WHEN_HELP}.")
@click.option("--to", "date_to", help="Before this time; a bare date includes that whole day.")
@click.option("--search", help="Text to look for in the title or text.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many rows.")
@json_option
@pass_app
def variant_list(
    app: App,
    status: tuple[str, ...],
    platform: tuple[str, ...],
    brand_ref: str | None,
    account_ref: str | None,
    post_id: int | None,
    date_from: str | None,
    date_to: str | None,
    search: str | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """List variants in time order."""
    from omnipost_tui.services.variants import VariantFilter, list_variants

    now = app.now()
    flt = VariantFilter(
        statuses=_split(status),
        platforms=_split(platform),
        brand=brand_ref,
        account=account_ref,
        post=post_id,
        date_from=parse_when(date_from, app.settings.tz, now) if date_from else None,
        date_to=parse_until(date_to, app.settings.tz, now) if date_to else None,
        search=search,
    )
    variants = list_variants(app.ctx, flt, limit=limit)
    if as_json:
        echo_json([variant_json(v, app.settings.tz) for v in variants])
        return
    if not variants:
        click.echo("no variants match")
        return
    click.echo(table(VARIANT_HEADERS, _variant_rows(app, variants), max_width=40))


@variant.command("show")
@click.argument("variant_id")
@json_option
@pass_app
def variant_show(app: App, variant_id: str, as_json: bool) -> None:
    """Everything about one variant."""
    from omnipost_tui.services.variants import get_variant

    v = get_variant(app.ctx, variant_id)
    if as_json:
        echo_json(variant_json(v, app.settings.tz))
        return
    fields = [
        ("variant", v.id),
        ("post", f"{v.post_id} {v.post_title}"),
        ("brand", v.brand_name),
        ("account", f"{v.account_name} ({v.platform} #{v.account_id})"),
        ("status", v.status),
        ("planned", app.show(v.scheduled_at)),
        ("attempts", v.attempts),
        ("next attempt", app.show(v.next_attempt_at)),
        ("published", app.show(v.published_at)),
        ("external id", v.external_post_id or "-"),
        ("last error", v.last_error or "-"),
        ("link", v.link or "-"),
    ]
    width = max(len(k) for k, _ in fields)
    for key, value in fields:
        click.echo(f"{key.ljust(width)}  {visible_line(str(value))}")
    click.echo("")
    # Stored text may predate the rule on control characters: never print them raw.
    click.echo(visible(v.text))


@variant.command("edit")
@click.argument("variant_id")
@click.option("--text", help="New custom text ('' goes back to the post's text; - reads stdin).")
@click.option("--account", "account_ref", help="Publish through another account of the brand.")
@json_option
@pass_app
def variant_edit(
    app: App, variant_id: str, text: str | None, account_ref: str | None, as_json: bool
) -> None:
    """Change a variant's text or account (before it goes out)."""
    from omnipost_tui.services.variants import UNSET, update_variant

    if text is None and account_ref is None:
        raise ValidationError("nothing to change; give --text or --account")
    updated = update_variant(
        app.ctx,
        variant_id,
        custom_text=_text_arg(text) if text is not None else UNSET,
        account=account_ref if account_ref is not None else UNSET,
    )
    if as_json:
        echo_json(variant_json(updated, app.settings.tz))
    else:
        click.echo(f"variant {updated.id} saved")


@variant.command("reschedule")
@click.argument("variant_id")
@click.argument("when")
@json_option
@pass_app
def variant_reschedule(app: App, variant_id: str, when: str, as_json: bool) -> None:
    """Schedule a variant (draft, scheduled, retrying or failed) for WHEN."""
    from omnipost_tui.services.variants import schedule_variant

    updated = schedule_variant(app.ctx, variant_id, app.when(when))
    if as_json:
        echo_json(variant_json(updated, app.settings.tz))
    else:
        click.echo(f"variant {updated.id} scheduled for {app.show(updated.scheduled_at)}")


@variant.command("unschedule")
@click.argument("variant_id")
@json_option
@pass_app
def variant_unschedule(app: App, variant_id: str, as_json: bool) -> None:
    """Move a variant back to draft (it keeps its planned time)."""
    from omnipost_tui.services.variants import unschedule_variant

    updated = unschedule_variant(app.ctx, variant_id)
    if as_json:
        echo_json(variant_json(updated, app.settings.tz))
    else:
        click.echo(f"variant {updated.id} is a draft again")


@variant.command("mark-published")
@click.argument("variant_id")
@click.option("--external-id", help="The platform's post id, if you have it.")
@json_option
@pass_app
def variant_mark_published(
    app: App, variant_id: str, external_id: str | None, as_json: bool
) -> None:
    """You checked the page and the post is there: record it as published."""
    from omnipost_tui.services.variants import mark_published

    updated = mark_published(app.ctx, variant_id, external_id)
    if as_json:
        echo_json(variant_json(updated, app.settings.tz))
    else:
        click.echo(f"variant {updated.id} marked published")


# --- publishing actions -------------------------------------------------------------------------

NO_WORKER = "no worker is running: it will go out as soon as `omnipost worker` runs"


@cli.command()
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


@cli.command()
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


@cli.command()
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


@cli.command()
@click.option("--variant", "variant_id", help="Only this variant's attempts.")
@click.option(
    "--result",
    type=click.Choice(["success", "fail", "interrupted", "pending"]),
    help="Only attempts with this result.",
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many.")
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
        click.echo("no attempts yet")
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


@cli.command()
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


@cli.command()
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


@cli.command()
@click.option(
    "--workers",
    "threads",
    type=click.IntRange(1, 64),
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
@pass_app
def worker(app: App, threads: int, no_periodic: bool, once: bool) -> None:
    """Run the publishing worker (huey consumer) until SIGINT or SIGTERM."""
    from omnipost_tui.engine.worker import run_once, run_worker

    if once:
        report = run_once(app.ctx)
        click.echo(
            f"swept: {len(report.sweep.dispatched)} queued, {len(report.sweep.recovered)} "
            f"recovered, {len(report.sweep.missed)} missed; {report.processed} message(s) handled"
        )
        return
    run_worker(app.ctx, threads=threads, periodic=not no_periodic)


# --- maintenance --------------------------------------------------------------------------------


@cli.group()
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


@cli.command("config")
@json_option
@pass_app
def config_cmd(app: App, as_json: bool) -> None:
    """Show the effective configuration and where each value came from (secrets masked)."""
    settings = app.settings
    rows = settings.describe()
    paths = settings.paths
    files = [
        ("config file", str(paths.config_file)),
        ("data dir", str(paths.data_dir)),
        ("log file", str(paths.log_file)),
        ("key file", str(paths.key_file)),
    ]
    if as_json:
        echo_json(
            {
                "settings": {k: {"value": v, "source": s} for k, v, s in rows},
                "paths": dict(files),
            }
        )
        return
    click.echo(table(["setting", "value", "from"], rows, max_width=70))
    click.echo("")
    for name, value in files:
        click.echo(f"{name.ljust(12)} {value}")
    click.echo("")
    click.echo("every setting can be overridden with OMNIPOST_<SETTING> (e.g. OMNIPOST_TIMEZONE)")


# --- operations: doctor ------------------------------------------------------------------------


def _keymap_problems(settings: Settings) -> list:
    """``[keymap]`` ids the app does not have: only the app knows its ids (the services,
    doctor included, never import it), and it refuses to start with one it does not know."""
    if not settings.keymap:
        return []
    from omnipost_tui.config import ConfigProblem
    from omnipost_tui.tui.keymap import check_keymap

    try:
        check_keymap(settings.keymap, settings.paths.config_file)
    except OmniPostError as exc:
        return [ConfigProblem(exc.message, f"correct [keymap] in {settings.paths.config_file}")]
    return []


# Monitoring convention: 0 all well, 1 something needs action (usage errors stay 2).
NEEDS_ACTION = 1


@cli.command()
@json_option
@pass_app
def doctor(app: App, as_json: bool) -> None:
    """Check that this install can publish, one line per check with the fix.

    Configuration, database, queue, worker heartbeat, periodic sweep, data and log directories,
    file permissions, brands and accounts, expiring tokens, app credentials for token refresh,
    variants waiting for you, failure alerts. A config.toml that cannot be read is a failed
    check: the others run with the defaults and say so. Exits 1 when something needs action,
    0 when all is well (for monitoring).
    """
    from omnipost_tui.config import read_settings
    from omnipost_tui.logs import setup_logging
    from omnipost_tui.services.doctor import run_checks

    # Not app.settings nor app.ctx: those stop at a broken config.toml, or migrate the database
    # or fail on a broken one, and reporting what is broken is the point. The service opens what
    # each check needs.
    settings, problems = read_settings()
    if problems:
        setup_logging(settings, verbose=app.verbose)  # the group could not, with that config
    problems = [*problems, *_keymap_problems(settings)]
    checks = run_checks(settings, problems)
    failing = [c.name for c in checks if not c.ok]
    if as_json:
        echo_json(
            {
                "ok": not failing,
                "checks": [
                    {"name": c.name, "ok": c.ok, "detail": c.detail, "fix": c.fix} for c in checks
                ],
            }
        )
    else:
        width = max(len(c.name) for c in checks)
        for c in checks:
            mark = click.style("✓", fg="green") if c.ok else click.style("✗", fg="red")
            fix = f" — {c.fix}" if not c.ok and c.fix else ""
            # The detail may name a stored account or quote a platform: never raw.
            click.echo(f"{mark} {c.name.ljust(width)}  {visible(f'{c.detail}{fix}')}")
        if failing:
            click.echo(f"{len(failing)} of {len(checks)} checks need action: {', '.join(failing)}")
        else:
            click.echo(f"all {len(checks)} checks passed")
    if failing:
        raise click.exceptions.Exit(NEEDS_ACTION)


# --- operations: logs and backup ---------------------------------------------------------------

NO_LOG_YET = "no log yet at {path}; it is written by omnipost worker and every command"


@cli.command("logs")
@click.option(
    "-n",
    "--lines",
    type=click.IntRange(min=0),
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
        click.echo(dumps(entry.as_json()) if as_json else visible(entry.text))

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


@cli.command("backup")
@click.argument("target", required=False)
@click.option("--force", is_flag=True, help="Replace TARGET if it is an existing file.")
@json_option
@pass_app
def backup_cmd(app: App, target: str | None, force: bool, as_json: bool) -> None:
    """Copy the SQLite database to TARGET; prints the path written.

    Safe while a worker runs (SQLite's online backup: one consistent snapshot). Without TARGET,
    or with a directory, the copy is named omnipost-YYYYmmdd-HHMMSS.db (UTC), by default in the
    `backups` directory beside the database. Keep secret.key too: without it the stored tokens
    cannot be decrypted. PostgreSQL: use pg_dump.
    """
    from omnipost_tui.services.backup import make_backup

    destination = None
    if target:
        destination = Path(target)
        if target.endswith(os.sep):
            # "DIR/": a directory, even one that does not exist yet.
            make_private_dir(destination.expanduser())
    made = make_backup(app.settings, destination, replace=force)
    if as_json:
        echo_json(
            {"path": str(made.path), "database": str(made.database), "bytes": made.size_bytes}
        )
    else:
        click.echo(str(made.path))


# --- accounts: token refresh and check ---------------------------------------------------------


def _token_expiry_text(app: App, expires_at: datetime | None) -> str:
    if expires_at is None:
        return "no expiry recorded"
    return f"expires {app.show(expires_at)} ({format_relative(expires_at, app.now())})"


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
                expiry = _token_expiry_text(app, o.account.token_expires_at)
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
        expiry = _token_expiry_text(app, view.token_expires_at)
        click.echo(f"account {view.id} ({visible_line(view.name)}): new token stored, {expiry}")


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
        expiry = _token_expiry_text(app, view.token_expires_at)
        click.echo(f"account {view.id} ({visible_line(view.name)}): token valid, {expiry}")
    if problem is not None:
        raise ValidationError(problem)


# --- first run: demo ---------------------------------------------------------------------------


@cli.command()
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


def main() -> None:
    cli(prog_name=PROG)
