"""Keep account tokens alive: refresh them before they expire, and ask the platforms about them.

Facebook: the stored token is exchanged for a long-lived one (``fb_exchange_token``); when that
is a user token, the page's own token is taken from ``/me/accounts`` (posting on a page needs
the page token). ``/debug_token`` says whether a token is valid and until when.
LinkedIn: the stored refresh token buys a new access token; ``/oauth/v2/introspectToken`` says
whether the access token is active and until when.
Every call needs the app's credentials, from settings.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import TypeVar

from sqlalchemy import or_, select, update

from omnipost_tui import clock
from omnipost_tui.connectors.errors import Permanent, PlatformError, TokenExpired
from omnipost_tui.connectors.tokens import (
    TokenGrant,
    TokenInfo,
    facebook_debug_token,
    facebook_exchange_token,
    facebook_page_tokens,
    linkedin_introspect,
    linkedin_refresh,
)
from omnipost_tui.db import rows_matched
from omnipost_tui.errors import ConflictError, OmniPostError, ValidationError
from omnipost_tui.models import CONNECTED, EXPIRED, REVOKED, ConnectedSocialAccount
from omnipost_tui.platforms import APP_CREDENTIAL_SETTINGS, FACEBOOK, LABELS, LINKEDIN
from omnipost_tui.redact import redact_text
from omnipost_tui.services.accounts import get_account, mark_account_expired
from omnipost_tui.services.context import Context
from omnipost_tui.services.lookup import account_by_ref
from omnipost_tui.services.views import AccountView
from omnipost_tui.times import parse_duration

log = logging.getLogger("omnipost.tokens")

T = TypeVar("T")

# How far ahead ``refresh --expiring`` and ``watch-expiry`` may look.
_LONGEST_WITHIN = timedelta(days=3650)


class TokenCallFailed(OmniPostError):
    """The platform could not be reached, or refused for a reason other than the token itself
    (wrong app credentials, an outage); nothing was changed."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable  # an outage or a rate limit: later may work


@dataclass(frozen=True)
class TokenOutcome:
    """What happened to one account in a batch (``refresh --expiring``, ``check --all``)."""

    account_id: int
    account_name: str
    platform: str
    ok: bool  # refreshed / checked and valid
    account: AccountView  # the account as it is now
    error: str | None = None
    retryable: bool = False  # the platform could not be asked; later may work


@dataclass(frozen=True)
class _Stored:
    """The account and its decrypted secrets, read in one short session."""

    id: int
    name: str
    platform: str
    external_id: str
    encrypted_token: str
    access_token: str
    refresh_token: str | None

    @property
    def label(self) -> str:
        return f"account {self.id} ({self.name})"

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.access_token, self.refresh_token) if s)


def parse_within(text: str) -> timedelta:
    """``7d`` → 7 days; how far ahead ``refresh --expiring`` looks."""
    return parse_duration(text, longest=_LONGEST_WITHIN)


# --- one account ----------------------------------------------------------------------------


def refresh_account(ctx: Context, ref: str | int) -> AccountView:
    """Get a fresh token from the platform and store it (encrypted) with its new expiry.

    A token the platform refuses marks the account expired and raises a ValidationError that
    says how to reconnect; any other failure changes nothing.
    """
    stored = _load(ctx, ref)
    if stored.platform == LINKEDIN and not stored.refresh_token:
        raise ValidationError(
            f"{stored.label} has no refresh token, so its LinkedIn token cannot be refreshed; "
            f"reconnect it: omnipost account reconnect {stored.id} "
            "(add --refresh-token-file PATH if your LinkedIn app issues refresh tokens)"
        )
    app_id, app_secret = app_credentials(ctx, stored.platform, "refresh")
    secrets = (*stored.secrets, app_secret)
    if stored.platform == FACEBOOK:
        grant = _ask(
            ctx,
            stored,
            "refresh",
            secrets,
            lambda: _exchange_facebook(ctx, stored, app_id, app_secret),
        )
    else:
        assert stored.refresh_token is not None
        refresh_token = stored.refresh_token
        grant = _ask(
            ctx,
            stored,
            "refresh",
            secrets,
            lambda: linkedin_refresh(
                ctx.settings.linkedin_oauth_url,
                app_id,
                app_secret,
                refresh_token,
                ctx.settings.http_timeout,
            ),
        )
    _store_grant(ctx, stored, grant)
    log.info(
        "token refreshed",
        extra={"account": stored.id, "platform": stored.platform, "outcome": "refreshed"},
    )
    return get_account(ctx, stored.id)


def check_account(ctx: Context, ref: str | int) -> AccountView:
    """Ask the platform whether the stored token is valid; record its expiry and status.

    An invalid token marks the account expired (the returned view says so); a failure to ask
    raises and changes nothing.
    """
    stored = _load(ctx, ref)
    app_id, app_secret = app_credentials(ctx, stored.platform, "check")
    secrets = (*stored.secrets, app_secret)
    settings = ctx.settings
    if stored.platform == FACEBOOK:

        def ask() -> TokenInfo:
            return facebook_debug_token(
                settings.facebook_graph_url,
                settings.facebook_graph_version,
                app_id,
                app_secret,
                stored.access_token,
                settings.http_timeout,
            )
    else:

        def ask() -> TokenInfo:
            return linkedin_introspect(
                settings.linkedin_oauth_url,
                app_id,
                app_secret,
                stored.access_token,
                settings.http_timeout,
            )

    try:
        info = _ask(ctx, stored, "check", secrets, ask)
    except _Refused:
        info = TokenInfo(is_valid=False, expires_at=None)
    _record_check(ctx, stored, info)
    log.info(
        "token checked",
        extra={
            "account": stored.id,
            "platform": stored.platform,
            "outcome": "valid" if info.is_valid else "invalid",
        },
    )
    return get_account(ctx, stored.id)


# --- batches --------------------------------------------------------------------------------


def refresh_expiring(ctx: Context, within: timedelta) -> list[tuple[int, TokenOutcome]]:
    """Refresh every account whose token expires within ``within`` from now (or already has,
    or whose expiry nobody knows: refreshing is how to learn it).

    One account failing does not stop the others; each outcome says what happened.
    """
    ids = [view.id for view in expiring_accounts(ctx, within)]
    return [(account_id, _outcome(ctx, account_id, refresh_account)) for account_id in ids]


def refresh_one(
    ctx: Context, account_id: int, *, expected_expiry: datetime | object | None = ...
) -> TokenOutcome:
    """``refresh_account`` as an outcome (a batch goes on after a failure), one renewal per
    account at a time in this process. ``expected_expiry``: the expiry that made the caller
    renew; if the token changed meanwhile (renewed elsewhere), that counts as renewed."""
    with _renewing(account_id):
        if expected_expiry is not ...:
            now = get_account(ctx, account_id)
            if now.token_expires_at != expected_expiry and now.status == CONNECTED:
                return _outcome_of(now, None)
        try:
            view = refresh_account(ctx, account_id)
        except ConflictError:
            # Renewed, reconnected (or removed) by someone else while we asked: theirs stands.
            current = get_account(ctx, account_id)
            return _outcome_of(current, token_problem(current))
        except TokenCallFailed as exc:
            current = get_account(ctx, account_id)
            return _outcome_of(current, exc.message, retryable=exc.retryable)
        except OmniPostError as exc:
            return _outcome_of(get_account(ctx, account_id), exc.message)
    return _outcome_of(view, token_problem(view))


def _outcome_of(view: AccountView, error: str | None, *, retryable: bool = False) -> TokenOutcome:
    return TokenOutcome(view.id, view.name, view.platform, error is None, view, error, retryable)


def expiring_accounts(ctx: Context, within: timedelta) -> list[AccountView]:
    """Accounts whose token expires within ``within`` from now, has expired, or has an expiry
    nobody knows; soonest first (not known last). A token that never expires is not listed."""
    cutoff = clock.now() + within
    with ctx.db.read() as session:
        ids = session.scalars(
            select(ConnectedSocialAccount.id)
            .where(
                ConnectedSocialAccount.status.in_((CONNECTED, EXPIRED)),
                ConnectedSocialAccount.token_never_expires.is_(False),
                or_(
                    ConnectedSocialAccount.token_expires_at.is_(None),
                    ConnectedSocialAccount.token_expires_at <= cutoff,
                ),
            )
            .order_by(
                ConnectedSocialAccount.token_expires_at.is_(None),
                ConnectedSocialAccount.token_expires_at,
                ConnectedSocialAccount.id,
            )
        ).all()
    return [get_account(ctx, account_id) for account_id in ids]


def renewable(ctx: Context, view: AccountView) -> bool:
    """Whether OmniPost can renew the token by itself: the app's credentials are set, and a
    LinkedIn account has a refresh token."""
    if not has_app_credentials(ctx, view.platform):
        return False
    return view.platform == FACEBOOK or view.has_refresh_token


class Renewal(Enum):
    """What ``renew_before_publishing`` did."""

    NOT_NEEDED = "not needed"  # far from expiry, never expires, or OmniPost cannot renew it
    RENEWED = "renewed"  # a new token is stored (by this call or, meanwhile, another)
    REFUSED = "refused"  # the platform refused: the account is marked expired, or needs you
    NOT_NOW = "not now"  # the platform could not be asked (down, overloaded): try again later


def renew_before_publishing(ctx: Context, account_id: int) -> Renewal:
    """Renew a token that has expired or will within ``token_renew_before``, where it can be
    (before a publish, so the post does not fail on a token that could have been renewed).
    Never raises for the platform's answer."""
    view = get_account(ctx, account_id)
    soon = clock.now() + timedelta(seconds=ctx.settings.token_renew_before)
    due = view.token_expires_at is not None and view.token_expires_at <= soon
    if view.status != CONNECTED or view.token_never_expires or not due or not renewable(ctx, view):
        return Renewal.NOT_NEEDED
    outcome = refresh_one(ctx, account_id, expected_expiry=view.token_expires_at)
    if outcome.ok:
        return Renewal.RENEWED
    log.warning(
        "could not renew the token before publishing: %s",
        outcome.error,
        extra={"account": account_id, "platform": view.platform, "outcome": "not renewed"},
    )
    return Renewal.NOT_NOW if outcome.retryable else Renewal.REFUSED


_RENEWING: dict[int, threading.Lock] = {}
_RENEWING_GUARD = threading.Lock()


@contextmanager
def _renewing(account_id: int) -> Iterator[None]:
    """One renewal per account at a time in this process (several variants of one account fall
    due together, and the daily check may run meanwhile). Across processes the compare-and-set
    on the stored token decides; LinkedIn's refresh tokens do not change when used, so a second
    renewal elsewhere only gives another valid token."""
    with _RENEWING_GUARD:
        lock = _RENEWING.setdefault(account_id, threading.Lock())
    with lock:
        yield


def check_all(ctx: Context) -> list[tuple[int, TokenOutcome]]:
    """Check the token of every account that is not removed."""
    with ctx.db.read() as session:
        ids = session.scalars(
            select(ConnectedSocialAccount.id)
            .where(ConnectedSocialAccount.status != REVOKED)
            .order_by(ConnectedSocialAccount.id)
        ).all()
    return [(account_id, _outcome(ctx, account_id, check_account)) for account_id in ids]


def _outcome(
    ctx: Context, account_id: int, action: Callable[[Context, int], AccountView]
) -> TokenOutcome:
    try:
        view = action(ctx, account_id)
    except OmniPostError as exc:
        view = get_account(ctx, account_id)
        return TokenOutcome(view.id, view.name, view.platform, False, view, exc.message)
    problem = token_problem(view)
    return TokenOutcome(view.id, view.name, view.platform, problem is None, view, problem)


def token_problem(view: AccountView) -> str | None:
    """What to tell the user about an account that ``check_account`` found unusable, or None."""
    if view.status == CONNECTED:
        return None
    platform = LABELS.get(view.platform, view.platform)
    return (
        f"{platform} says the token of account {view.id} ({view.name}) is expired or revoked; "
        f"the account is marked expired; reconnect it: omnipost account reconnect {view.id}"
    )


# --- steps ----------------------------------------------------------------------------------


class _Refused(Exception):
    """The platform refused the token itself (internal: check_account records it as invalid)."""


def _load(ctx: Context, ref: str | int) -> _Stored:
    with ctx.db.read() as session:
        account = account_by_ref(session, ref)
        if account.status == REVOKED or not account.access_token_encrypted:
            raise ValidationError(
                f"account {account.id} ({account.name}) was removed and has no token; "
                "connect it again with: omnipost account add"
            )
        label = f"account {account.id} ({account.name})"
        encrypted_refresh = account.refresh_token_encrypted
        return _Stored(
            id=account.id,
            name=account.name,
            platform=account.platform,
            external_id=account.external_id,
            encrypted_token=account.access_token_encrypted,
            access_token=ctx.cipher.decrypt(account.access_token_encrypted, account_label=label),
            refresh_token=(
                ctx.cipher.decrypt(encrypted_refresh, account_label=label)
                if encrypted_refresh
                else None
            ),
        )


def has_app_credentials(ctx: Context, platform: str) -> bool:
    return all(getattr(ctx.settings, key) for key in APP_CREDENTIAL_SETTINGS[platform])


def app_credentials(ctx: Context, platform: str, verb: str) -> tuple[str, str]:
    """The app id and secret for ``platform``; ValidationError naming the settings to set."""
    id_key, secret_key = APP_CREDENTIAL_SETTINGS[platform]
    app_id = getattr(ctx.settings, id_key)
    app_secret = getattr(ctx.settings, secret_key)
    if not app_id or not app_secret:
        missing = [
            f"OMNIPOST_{key.upper()}"
            for key, value in ((id_key, app_id), (secret_key, app_secret))
            if not value
        ]
        what = "accounts" if verb == "connect" else "tokens"
        message = (
            f"to {verb} {LABELS[platform]} {what}, set {' and '.join(missing)} "
            f"(your app's credentials; or {id_key} / {secret_key} in config.toml)"
        )
        if verb == "connect":
            message += "; or paste a token made elsewhere (--token-stdin; a, then p in the app)"
        raise ValidationError(message)
    return app_id, app_secret


def _ask(
    ctx: Context,
    stored: _Stored,
    verb: str,
    secrets: tuple[str, ...],
    call: Callable[[], T],
) -> T:
    """Run one platform call, turning its errors into what the user should do next."""
    platform = LABELS[stored.platform]
    try:
        return call()
    except TokenExpired as exc:
        detail = redact_text(exc.message, secrets)
        if verb == "check":
            # For a check, a refused token is the finding itself, not a failure to report.
            raise _Refused(detail) from None
        if stored.platform == LINKEDIN:
            # What LinkedIn refused is the refresh token; the access token may well still work
            # until its expiry, so publishing goes on meanwhile.
            raise ValidationError(
                f"LinkedIn refused the refresh token of {stored.label} ({detail}); the access "
                "token keeps working until it expires: reconnect the account before then "
                f"(omnipost account reconnect {stored.id} --refresh-token-file PATH)"
            ) from None
        mark_account_expired(ctx, stored.id, refused_token=stored.encrypted_token)
        log.warning(
            "token refused: %s",
            detail,
            extra={"account": stored.id, "platform": stored.platform, "outcome": "expired"},
        )
        raise ValidationError(
            f"{platform} refused the token of {stored.label} ({detail}); the account is marked "
            f"expired; reconnect it: omnipost account reconnect {stored.id}"
        ) from None
    except PlatformError as exc:
        detail = redact_text(exc.message, secrets)
        later = "; try again later" if exc.retryable else ""
        raise TokenCallFailed(
            f"could not {verb} the token of {stored.label}: {detail}; nothing was changed{later}",
            retryable=exc.retryable,
        ) from None


def _exchange_facebook(ctx: Context, stored: _Stored, app_id: str, app_secret: str) -> TokenGrant:
    settings = ctx.settings
    grant = facebook_exchange_token(
        settings.facebook_graph_url,
        settings.facebook_graph_version,
        app_id,
        app_secret,
        stored.access_token,
        settings.http_timeout,
    )
    try:
        pages = facebook_page_tokens(
            settings.facebook_graph_url,
            settings.facebook_graph_version,
            grant.access_token,
            settings.http_timeout,
        )
    except TokenExpired as exc:
        # The exchange just worked, so the stored token is fine: never mark the account expired
        # for this. Re-raised as a plain failure: nothing is stored.
        raise Permanent(
            f"Facebook refused the exchanged token while listing pages: {exc.message}",
            http_status=exc.http_status,
            code=exc.code,
        ) from None
    except PlatformError as exc:
        if exc.retryable:
            raise
        # Without the page list we cannot tell the page's token from its user's: storing the
        # user token would make every later post fail, so nothing is stored.
        raise ValidationError(
            f"Facebook would not list the pages of the user behind {stored.label} "
            f"({exc.message}); nothing was changed. Reconnect the account with a user token "
            f"that manages the page: omnipost account reconnect {stored.id}"
        ) from None
    for page in pages:
        if page.page_id == stored.external_id:
            # A page token made from a long-lived user token lives at least as long as that
            # user token; recording the user token's expiry brings the refresh back in time.
            return TokenGrant(access_token=page.access_token, expires_at=grant.expires_at)
    raise ValidationError(
        f"the token of {stored.label} belongs to a Facebook user who does not manage page "
        f"{stored.external_id} (it is not among their pages); nothing was changed; reconnect "
        f"the account with a token of that page: omnipost account reconnect {stored.id}"
    )


def _store_grant(ctx: Context, stored: _Stored, grant: TokenGrant) -> None:
    values: dict[str, object] = {
        "access_token_encrypted": ctx.cipher.encrypt(grant.access_token),
        "token_expires_at": grant.expires_at,
        "token_never_expires": False,
        "status": CONNECTED,
        "updated_at": clock.now(),
    }
    if grant.refresh_token:
        values["refresh_token_encrypted"] = ctx.cipher.encrypt(grant.refresh_token)
        values["refresh_token_expires_at"] = grant.refresh_token_expires_at
    _update_if_unchanged(ctx, stored, values)


def _record_check(ctx: Context, stored: _Stored, info: TokenInfo) -> None:
    values: dict[str, object] = {"updated_at": clock.now()}
    if info.is_valid:
        # The platform's word wins, including "never expires".
        values["token_expires_at"] = None if info.never_expires else info.expires_at
        values["token_never_expires"] = info.never_expires
        values["status"] = CONNECTED
    elif info.expires_at is not None:
        values["token_expires_at"] = info.expires_at
    _update_if_unchanged(ctx, stored, values)
    if not info.is_valid:
        mark_account_expired(ctx, stored.id, refused_token=stored.encrypted_token)


def _update_if_unchanged(ctx: Context, stored: _Stored, values: dict[str, object]) -> None:
    """Compare-and-set on the stored (encrypted) token: a reconnect or removal that happened
    while we were talking to the platform wins, and we write nothing."""
    with ctx.db.write() as session:
        result = session.execute(
            update(ConnectedSocialAccount)
            .where(
                ConnectedSocialAccount.id == stored.id,
                ConnectedSocialAccount.access_token_encrypted == stored.encrypted_token,
                ConnectedSocialAccount.status != REVOKED,
            )
            .values(**values)
        )
    if rows_matched(result) != 1:
        raise ConflictError(
            f"{stored.label} was reconnected or removed meanwhile; nothing was stored; "
            "run the command again"
        )
