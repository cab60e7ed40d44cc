"""``omnipost account connect`` and ``omnipost account reconnect``: sign in with Facebook or
LinkedIn from a terminal, over SSH too, and store the Pages or authors chosen.

The user opens the printed link in any browser, approves, and pastes back the address the
browser was sent to (the default: nothing to forward), or ``--listen`` waits for it on
127.0.0.1. What is pasted is never echoed (it holds a one-time code). Scripts answer the two
questions on stdin: the address on the first line, the choice (numbers or ``all``) on the next,
or pass ``--page``/``--author``/``--all``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from omnipost_tui.cli.accounts import (
    account,
    expiry_text,
    read_refresh_token,
    read_token,
    token_expiry,
)
from omnipost_tui.cli.base import MAX_TOKEN_INPUT_BYTES, App, WholeNumber, json_option, pass_app
from omnipost_tui.cli.output import echo_json, table
from omnipost_tui.errors import OmniPostError, ValidationError
from omnipost_tui.platforms import FACEBOOK, LABELS, PLATFORMS
from omnipost_tui.services.views import AccountView, account_json
from omnipost_tui.text import visible_line

if TYPE_CHECKING:
    from omnipost_tui.services.connect import ConnectAttempt, Consent

F = TypeVar("F", bound=Callable[..., Any])

LISTEN_HELP = (
    "Wait on 127.0.0.1 for the browser instead of pasting (the redirect URI's port, or PORT; "
    "over SSH: ssh -L PORT:127.0.0.1:PORT first)."
)
# How long --listen waits for the browser by default.
LISTEN_TIMEOUT_S = 300.0


class Cancelled(OmniPostError):
    """Ctrl-C at a prompt (Ctrl-D too, at a terminal's): nothing was stored. Stdin that ends
    before the answer is not a cancel but a script's mistake: a ValidationError, exit 2."""

    exit_code = 130


def listen_option(func: F) -> F:
    func = click.option(
        "--timeout",
        type=click.FloatRange(min=1),
        default=LISTEN_TIMEOUT_S,
        show_default=True,
        help="With --listen: seconds to wait for the browser.",
    )(func)
    return click.option(
        "--listen",
        "listen",
        type=WholeNumber(0, 65535),
        is_flag=False,
        flag_value=0,
        default=None,
        metavar="[PORT]",
        help=LISTEN_HELP,
    )(func)


@click.command("connect")
@click.argument("platform", type=click.Choice(PLATFORMS, case_sensitive=False))
@click.option("--brand", "brand_ref", required=True, help="Brand id or name.")
@listen_option
@click.option("--page", "pages", multiple=True, metavar="ID", help="Facebook: connect this Page.")
@click.option(
    "--author", "authors", multiple=True, metavar="URN", help="LinkedIn: connect this author."
)
@click.option(
    "--all",
    "--all-pages",
    "everything",
    is_flag=True,
    help="Connect every Page (or author) granted.",
)
@json_option
@pass_app
def connect(
    app: App,
    platform: str,
    brand_ref: str,
    listen: int | None,
    timeout: float,
    pages: tuple[str, ...],
    authors: tuple[str, ...],
    everything: bool,
    as_json: bool,
) -> None:
    """Connect Facebook Pages or LinkedIn authors by signing in (OAuth).

    Prints a link to open in any browser; after you approve, paste the address the browser was
    sent to (a page saying it cannot connect is expected), or just its code. Then choose which
    Pages (Facebook) or which of you and your organizations (LinkedIn) to connect. Needs your
    app's credentials and its redirect URI (see the README, "Connect your accounts").
    """
    from omnipost_tui.services.connect import begin_connect, save_consent
    from omnipost_tui.services.lookup import brand_by_ref

    platform = platform.lower()
    chosen = pages if platform == FACEBOOK else authors
    other = authors if platform == FACEBOOK else pages
    if other:
        flag = "--author" if platform == FACEBOOK else "--page"
        raise ValidationError(f"{flag} is for {LABELS[_other(platform)]}; leave it out")
    if chosen and everything:
        raise ValidationError("give --all or the ones to connect, not both")
    with app.ctx.db.read() as session:
        brand_by_ref(session, brand_ref)  # a wrong brand is said before the browser dance
    attempt = begin_connect(app.ctx, platform, port=listen or None)
    consent = _consent(app, attempt, listen, timeout)
    picked = _choose(consent, chosen, everything)
    views = save_consent(app.ctx, consent, brand=brand_ref, chosen=picked)
    if as_json:
        echo_json([account_json(v, app.settings.tz) for v in views])
        return
    for view in views:
        click.echo(f"connected: account {view.id} ({_describe(app, view)})")


@click.command("reconnect")
@click.argument("account_ref", metavar="ID")
@listen_option
@click.option(
    "--retry-failed",
    is_flag=True,
    help="Afterwards, retry the variants that failed while the account was expired.",
)
@click.option(
    "--token-stdin",
    is_flag=True,
    help="Instead of signing in, read a new access token from stdin (made elsewhere).",
)
@click.option("--expires-at", help="With --token-stdin: when the new token expires.")
@click.option(
    "--refresh-token-file",
    metavar="PATH",
    help="With --token-stdin: a LinkedIn refresh token from this file.",
)
@json_option
@pass_app
def reconnect(
    app: App,
    account_ref: str,
    listen: int | None,
    timeout: float,
    retry_failed: bool,
    token_stdin: bool,
    expires_at: str | None,
    refresh_token_file: str | None,
    as_json: bool,
) -> None:
    """Sign in again for an account (an expired one, typically) and mark it connected.

    The same steps as `account connect`; the Page or author you approve must be this account's.
    A refresh token the platform does not replace is kept. With --token-stdin, a token made
    elsewhere is stored instead. Then offers to retry what failed while it was expired.
    """
    from omnipost_tui.services.accounts import get_account, reconnect_account
    from omnipost_tui.services.connect import begin_connect, failed_by_expiry, save_reconnect

    account = get_account(app.ctx, account_ref)
    failed = failed_by_expiry(app.ctx, account.id)
    if token_stdin or expires_at or refresh_token_file:
        if listen is not None:
            raise ValidationError("--listen signs in; --token-stdin pastes a token: pick one")
        refresh = read_refresh_token(refresh_token_file, account.platform)
        expiry = token_expiry(app, expires_at)
        updated = reconnect_account(
            app.ctx,
            account.id,
            access_token=read_token(token_stdin, "New access token"),
            refresh_token=refresh,
            token_expires_at=expiry,
        )
    else:
        attempt = begin_connect(
            app.ctx, account.platform, port=listen or None, reconnect=account.id
        )
        consent = _consent(app, attempt, listen, timeout)
        updated = save_reconnect(app.ctx, consent, account.id)
    retried = _retry_failed(app, failed, retry_failed, quiet=as_json)
    if as_json:
        echo_json({**account_json(updated, app.settings.tz), "retried": retried})
        return
    click.echo(f"account {updated.id} ({visible_line(updated.name)}) is connected again")


# --- the steps ----------------------------------------------------------------------------------


def _consent(app: App, attempt: ConnectAttempt, listen: int | None, timeout: float) -> Consent:
    """Show the link, get the redirect back (pasted or listened for), and turn it into what
    the user may connect."""
    from omnipost_tui.connectors.redirect_listener import RedirectListener
    from omnipost_tui.services.connect import receive_consent

    label = LABELS[attempt.platform]
    # The steps go to stderr like the prompts; stdout is only what was connected (or JSON).
    say = _stderr
    if listen is not None:
        # Listening first: a busy port is said before the user goes to the browser.
        with RedirectListener(attempt.redirect_uri, attempt.authorization.state) as wait:
            say(f"Open this link in a browser, sign in to {label} and approve:\n")
            say(f"  {attempt.url}\n")
            say(
                f"Waiting on {wait.address} for your browser to come back (up to "
                f"{timeout:g}s; from another machine first run: ssh -L {wait.port}:127.0.0.1:"
                f"{wait.port} THIS-HOST). Ctrl-C cancels."
            )
            try:
                pasted = wait.wait(timeout)
            except KeyboardInterrupt:
                raise Cancelled("cancelled; nothing was connected") from None
    else:
        say(f"Open this link in a browser (on any machine), sign in to {label} and approve:\n")
        say(f"  {attempt.url}\n")
        say(
            f"The browser is then sent to {attempt.redirect_uri}?code=…; a page saying it "
            "cannot be reached is expected. Copy the whole address from the address bar and "
            "paste it here (it is not shown), or just the code. Ctrl-C cancels."
        )
        pasted = _read_secret_line("Address (or code)")
    consent = receive_consent(app.ctx, attempt, pasted)
    for note in consent.notes:
        say(f"note: {visible_line(note)}")
    return consent


def _choose(consent: Consent, chosen: Sequence[str], everything: bool) -> list[str]:
    """The external ids to connect: named, all, or picked from a numbered list."""
    if everything:
        return _all_new(consent)
    if chosen:
        return list(chosen)
    offers = consent.offers
    label = LABELS[consent.platform]
    rows = []
    for number, offer in enumerate(offers, 1):
        taken = f"connected: account {offer.connected_as}" if offer.connected_as else "new"
        rows.append((number, visible_line(offer.name), offer.kind, offer.external_id, taken))
    _stderr(f"{label} lets OmniPost publish as:")
    _stderr(table(["#", "name", "kind", "id", "here"], rows))
    answer = _read_line('Connect which? (numbers separated by commas, or "all")')
    return _picked(answer, consent)


def _all_new(consent: Consent) -> list[str]:
    new = [o.external_id for o in consent.offers if o.connected_as is None]
    if not new:
        accounts = ", ".join(str(o.connected_as) for o in consent.offers)
        raise ValidationError(
            f"every one {LABELS[consent.platform]} granted is connected already (account "
            f"{accounts}); to renew a token: omnipost account reconnect ID"
        )
    return new


def _picked(answer: str, consent: Consent) -> list[str]:
    offers = consent.offers
    text = answer.strip().lower()
    if text == "all":
        return _all_new(consent)
    picked = []
    for part in text.replace(" ", ",").split(","):
        if not part:
            continue
        if not part.isdigit() or not 1 <= int(part) <= len(offers):
            raise ValidationError(
                f"{part!r} is not one of the numbers 1 to {len(offers)}; nothing was connected"
            )
        picked.append(offers[int(part) - 1].external_id)
    if not picked:
        raise ValidationError("no number was given; nothing was connected")
    return picked


def _retry_failed(app: App, failed: list[int], asked: bool, *, quiet: bool) -> list[int]:
    """Retry what failed while the account was expired: asked for, or confirmed at a prompt."""
    from omnipost_tui.services.variants import retry_variants

    if not failed:
        return []
    ids = " ".join(str(i) for i in failed)
    if not asked:
        if quiet or not sys.stdin.isatty():
            if not quiet:
                click.echo(
                    f"{len(failed)} variant(s) failed while it was expired: retry them "
                    f"with: omnipost retry {ids} (or pass --retry-failed)"
                )
            return []
        if not click.confirm(
            f"Retry the {len(failed)} variant(s) that failed while it was expired ({ids})?",
            default=True,
            err=True,
        ):
            return []
    result = retry_variants(app.ctx, failed)
    for variant_id, why in result.skipped:
        _stderr(f"variant {variant_id} not retried: {visible_line(why)}")
    if result.retried and not quiet:
        click.echo(f"queued again: {' '.join(str(v.id) for v in result.retried)}")
    return [v.id for v in result.retried]


def _describe(app: App, view: AccountView) -> str:
    name = visible_line(view.name)
    return f"{name}, {view.platform} {view.external_id}; token {expiry_text(app, view)}"


def _other(platform: str) -> str:
    return next(p for p in PLATFORMS if p != platform)


def _stderr(text: str) -> None:
    click.echo(text, err=True)


def _read_secret_line(prompt: str) -> str:
    """One line, not echoed: a terminal's hidden prompt, or the next line of stdin."""
    if sys.stdin.isatty():
        try:
            return str(click.prompt(prompt, hide_input=True, err=True))
        except click.Abort:
            raise Cancelled("cancelled; nothing was connected") from None
    return _next_stdin_line(prompt)


def _read_line(prompt: str) -> str:
    if sys.stdin.isatty():
        try:
            return str(click.prompt(prompt, err=True))
        except click.Abort:
            raise Cancelled("cancelled; nothing was connected") from None
    return _next_stdin_line(prompt)


def _next_stdin_line(prompt: str) -> str:
    # An address with its code is a few hundred bytes: a "line" of /dev/zero is refused.
    raw = sys.stdin.buffer.readline(MAX_TOKEN_INPUT_BYTES + 1)
    if len(raw) > MAX_TOKEN_INPUT_BYTES:
        raise ValidationError(
            f"the answer on stdin is longer than {MAX_TOKEN_INPUT_BYTES:,} bytes; "
            "nothing was connected"
        )
    if not raw:
        raise ValidationError(
            f"no answer on stdin ({prompt.lower()}); nothing was connected. Scripts give the "
            "address on the first line and the choice on the next, or use --page/--author/--all"
        )
    try:
        return raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ValidationError(
            "the answer on stdin is not valid UTF-8; nothing was connected"
        ) from None


# `omnipost account connect|reconnect`: the account group, with the commands that sign in.
account.add_command(connect)
account.add_command(reconnect)
