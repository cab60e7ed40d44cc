"""Connecting and reconnecting accounts with OAuth, in three steps any front end can drive:

1. ``begin_connect``: the URL the user opens (in any browser, on any machine) and the attempt's
   random ``state``;
2. ``receive_consent``: what the browser was sent to (pasted, or caught by the loopback
   listener) becomes the Pages or authors the platform lets the user connect, each with its own
   token; nothing is stored yet;
3. ``save_consent`` (connect the chosen ones) or ``save_reconnect`` (the same Page or author
   as an existing account), in one transaction.

Nothing partial is ever written: every failure before step 3 changes nothing, and step 3 writes
all the chosen accounts or none. No secret (code, app secret, token) reaches a message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import or_, select

from omnipost_tui.connectors.errors import PermissionDenied, PlatformError, TokenExpired
from omnipost_tui.connectors.oauth import (
    Authorization,
    authorization,
    code_from_redirect,
    facebook_authorize_url,
    facebook_exchange_code,
    linkedin_authorize_url,
    linkedin_exchange_code,
    linkedin_member,
    linkedin_organizations,
)
from omnipost_tui.connectors.tokens import (
    TokenGrant,
    facebook_debug_token,
    facebook_exchange_token,
    facebook_page_tokens,
)
from omnipost_tui.errors import ValidationError
from omnipost_tui.models import EXPIRED, REVOKED, ConnectedSocialAccount, PostVariant
from omnipost_tui.platforms import FACEBOOK, LABELS
from omnipost_tui.redact import redact_text
from omnipost_tui.services.accounts import (
    StoredToken,
    validate_platform,
    write_new_account,
    write_reconnected,
)
from omnipost_tui.services.context import Context
from omnipost_tui.services.lookup import account_by_ref, brand_by_ref
from omnipost_tui.services.tokens import TokenCallFailed, app_credentials
from omnipost_tui.services.views import AccountView
from omnipost_tui.states import FAILED

log = logging.getLogger("omnipost.connect")

T = TypeVar("T")

PAGE = "page"
MEMBER = "member"
ORGANIZATION = "organization"
# A variant that failed this close to its account's expiry failed because of it.
_EXPIRY_MARGIN = timedelta(minutes=1)


@dataclass(frozen=True)
class ConnectAttempt:
    """Step 1's result: what to open, and which account (if any) is being reconnected."""

    authorization: Authorization
    reconnecting: AccountView | None = None

    @property
    def platform(self) -> str:
        return self.authorization.platform

    @property
    def url(self) -> str:
        return self.authorization.url

    @property
    def redirect_uri(self) -> str:
        return self.authorization.redirect_uri


@dataclass(frozen=True)
class Offer:
    """A Page or an author the platform lets the user connect, with the token to store."""

    external_id: str
    name: str
    kind: str  # page | member | organization
    token: StoredToken = field(repr=False)
    connected_as: int | None = None  # the account that is this one already (not removed)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.kind} {self.external_id})"


@dataclass(frozen=True)
class Consent:
    """Step 2's result: everything the user may now connect (nothing is stored yet)."""

    platform: str
    offers: tuple[Offer, ...]
    reconnecting: AccountView | None = None
    notes: tuple[str, ...] = ()  # what the user should know (e.g. organizations not listed)

    def offer(self, external_id: str) -> Offer | None:
        return next((o for o in self.offers if o.external_id == external_id), None)


def begin_connect(
    ctx: Context,
    platform: str,
    *,
    port: int | None = None,
    reconnect: int | str | None = None,
) -> ConnectAttempt:
    """The authorize URL with a fresh ``state``. ``port``: listen there instead of the
    redirect URI's own port (the URI registered in the app must say so too)."""
    reconnecting = None
    if reconnect is not None:
        with ctx.db.read() as session:
            reconnecting = AccountView.of(account_by_ref(session, reconnect))
        if reconnecting.status == REVOKED:
            raise ValidationError(
                f"account {reconnecting.id} ({reconnecting.name}) was removed; connect it again "
                f"with: omnipost account connect {reconnecting.platform} "
                f"--brand {reconnecting.brand_id}"
            )
        platform = reconnecting.platform
    platform = validate_platform(platform)
    settings = ctx.settings
    client_id, _ = app_credentials(ctx, platform, "connect")
    redirect_uri = _with_port(settings.oauth_redirect_uri, port)
    if platform == FACEBOOK:
        url = facebook_authorize_url(settings.facebook_oauth_url, settings.facebook_graph_version)
        scopes = settings.facebook_scopes
    else:
        url = linkedin_authorize_url(settings.linkedin_oauth_url)
        scopes = settings.linkedin_scopes
    return ConnectAttempt(
        authorization(
            platform,
            authorize_url=url,
            client_id=client_id,
            redirect_uri=redirect_uri,
            scopes=scopes,
        ),
        reconnecting,
    )


def _with_port(redirect_uri: str, port: int | None) -> str:
    if port is None:
        return redirect_uri
    if not 1 <= port <= 65535:
        raise ValidationError(f"port must be from 1 to 65535, got {port}")
    parts = urlsplit(redirect_uri)
    host = parts.hostname or "localhost"
    return urlunsplit((parts.scheme, f"{host}:{port}", parts.path, parts.query, ""))


def receive_consent(ctx: Context, attempt: ConnectAttempt, pasted: str) -> Consent:
    """Turn what the browser was sent to into what the user may connect; stores nothing."""
    code = code_from_redirect(pasted, attempt.authorization)
    platform = attempt.platform
    client_id, client_secret = app_credentials(ctx, platform, "connect")
    secrets = (code, client_secret)
    with httpx.Client(timeout=ctx.settings.http_timeout) as http:
        if platform == FACEBOOK:
            offers, notes = _ask(
                platform,
                secrets,
                lambda: _facebook_offers(ctx, attempt, code, client_id, client_secret, http),
            )
        else:
            offers, notes = _ask(
                platform,
                secrets,
                lambda: _linkedin_offers(ctx, attempt, code, client_id, client_secret, http),
            )
    if not offers:
        raise ValidationError(_no_offers_message(platform))
    with ctx.db.read() as session:
        taken = dict(
            session.execute(
                select(ConnectedSocialAccount.external_id, ConnectedSocialAccount.id).where(
                    ConnectedSocialAccount.platform == platform,
                    ConnectedSocialAccount.external_id.in_([o.external_id for o in offers]),
                    ConnectedSocialAccount.status != REVOKED,
                )
            ).all()
        )
    offers = [
        Offer(o.external_id, o.name, o.kind, o.token, taken.get(o.external_id)) for o in offers
    ]
    log.info(
        "consent received: %d to choose from",
        len(offers),
        extra={"platform": platform, "outcome": "consent"},
    )
    return Consent(platform, tuple(offers), attempt.reconnecting, tuple(notes))


def _no_offers_message(platform: str) -> str:
    if platform == FACEBOOK:
        return (
            "Facebook granted no Page to OmniPost; nothing was connected. Try again and, on the "
            "consent page, choose the Pages OmniPost may publish to (Edit access / "
            "Choose what you allow)"
        )
    return "LinkedIn granted no author to OmniPost; nothing was connected"


def _ask(platform: str, secrets: tuple[str, ...], call: Callable[[], T]) -> T:
    """A platform call of the consent step, its failures as one line that says what to do."""
    label = LABELS[platform]
    try:
        return call()
    except PlatformError as exc:
        detail = redact_text(exc.message, secrets)
        if isinstance(exc, TokenExpired):
            detail = f"{detail}; the code may have been used already or expired"
        later = "try again in a moment" if exc.retryable else "try again"
        raise TokenCallFailed(
            f"could not connect with {label}: {detail}; nothing was connected, {later}"
        ) from None


def _facebook_offers(
    ctx: Context,
    attempt: ConnectAttempt,
    code: str,
    app_id: str,
    app_secret: str,
    http: httpx.Client,
) -> tuple[list[Offer], list[str]]:
    settings = ctx.settings
    graph, version, timeout = (
        settings.facebook_graph_url,
        settings.facebook_graph_version,
        settings.http_timeout,
    )
    short = facebook_exchange_code(
        graph, version, app_id, app_secret, attempt.redirect_uri, code, timeout, http
    )
    long = facebook_exchange_token(
        graph, version, app_id, app_secret, short.access_token, timeout, http
    )
    offers = []
    for page in facebook_page_tokens(graph, version, long.access_token, timeout, http):
        expires_at, never = _page_token_expiry(
            ctx, page.access_token, long, app_id, app_secret, http
        )
        token = StoredToken(page.access_token, expires_at, never_expires=never)
        offers.append(Offer(page.page_id, page.name or page.page_id, PAGE, token))
    return offers, []


def _page_token_expiry(
    ctx: Context,
    token: str,
    user_grant: TokenGrant,
    app_id: str,
    app_secret: str,
    http: httpx.Client,
) -> tuple[datetime | None, bool]:
    """When a page token expires, as ``debug_token`` says (usually never, for a page token
    made from a long-lived user token). Not fatal when Facebook cannot say: the expiry is then
    recorded as not known, and ``account check`` asks again later."""
    settings = ctx.settings
    try:
        info = facebook_debug_token(
            settings.facebook_graph_url,
            settings.facebook_graph_version,
            app_id,
            app_secret,
            token,
            settings.http_timeout,
            http,
        )
    except PlatformError as exc:
        log.warning(
            "Facebook did not say when a page token expires (%s); recorded as not known",
            redact_text(exc.message, (token, app_secret, user_grant.access_token)),
        )
        return None, False
    return info.expires_at, info.never_expires


def _linkedin_offers(
    ctx: Context,
    attempt: ConnectAttempt,
    code: str,
    client_id: str,
    client_secret: str,
    http: httpx.Client,
) -> tuple[list[Offer], list[str]]:
    settings = ctx.settings
    grant = linkedin_exchange_code(
        settings.linkedin_oauth_url,
        client_id,
        client_secret,
        attempt.redirect_uri,
        code,
        settings.http_timeout,
        http,
    )
    token = StoredToken(
        grant.access_token,
        grant.expires_at,
        refresh_token=grant.refresh_token,
        refresh_token_expires_at=grant.refresh_token_expires_at,
    )
    member = linkedin_member(
        settings.linkedin_api_url, grant.access_token, settings.http_timeout, http
    )
    offers = [Offer(member.urn, member.name, MEMBER, token)]
    notes: list[str] = []
    try:
        organizations = linkedin_organizations(
            settings.linkedin_api_url,
            settings.linkedin_version,
            grant.access_token,
            settings.http_timeout,
            http,
        )
    except PermissionDenied as exc:
        # Posting as the member still works: the member is offered, and the user is told why
        # no organization is.
        notes.append(redact_text(exc.message, (grant.access_token,)) or "")
        organizations = []
    offers += [Offer(org.urn, org.name, ORGANIZATION, token) for org in organizations]
    return offers, notes


# --- step 3 -----------------------------------------------------------------------------------


def save_consent(
    ctx: Context, consent: Consent, *, brand: int | str, chosen: Sequence[str]
) -> list[AccountView]:
    """Connect the chosen Pages or authors to ``brand``: all of them, or (on any problem) none."""
    label = LABELS[consent.platform]
    picked: list[Offer] = []
    for external_id in dict.fromkeys(c.strip() for c in chosen if c.strip()):
        offer = consent.offer(external_id)
        if offer is None:
            known = ", ".join(o.external_id for o in consent.offers)
            raise ValidationError(
                f"{external_id} is not among what {label} granted ({known}); nothing was connected"
            )
        picked.append(offer)
    if not picked:
        what = "Page" if consent.platform == FACEBOOK else "author"
        raise ValidationError(f"no {what} was chosen; nothing was connected")
    with ctx.db.write() as session:
        brand_row = brand_by_ref(session, brand)
        views = [
            write_new_account(
                ctx, session, brand_row, consent.platform, o.external_id, o.name, o.token
            )
            for o in picked
        ]
    for view in views:
        log.info(
            "account connected",
            extra={"account": view.id, "platform": view.platform, "outcome": "connected"},
        )
    return views


def save_reconnect(ctx: Context, consent: Consent, account: int | str) -> AccountView:
    """Store the new token of the same Page or author as ``account``: connected again."""
    with ctx.db.write() as session:
        row = account_by_ref(session, account)
        offer = consent.offer(row.external_id)
        if offer is None:
            names = [o.label for o in consent.offers]
            granted = "; ".join(names[:3]) + (
                f" and {len(names) - 3} more" if len(names) > 3 else ""
            )
            raise ValidationError(
                f"account {row.id} is {row.name} ({row.external_id}), but {LABELS[row.platform]} "
                f"granted {granted or 'nothing'}; nothing was changed. Approve as someone who "
                f"manages {row.name} (and allow it), or connect the others as new accounts"
            )
        view = write_reconnected(ctx, session, row, offer.token)
    log.info(
        "account reconnected",
        extra={"account": view.id, "platform": view.platform, "outcome": "connected"},
    )
    return view


def failed_by_expiry(ctx: Context, account: int | str) -> list[int]:
    """The variants of ``account`` that failed because its token had expired: while it is
    expired, those failed since it was marked so whose error says it was the token (nothing
    else fails on an account that cannot publish, but a failure from before stays out)."""
    with ctx.db.read() as session:
        row = account_by_ref(session, account)
        if row.status != EXPIRED or row.expired_at is None:
            return []
        return list(
            session.scalars(
                select(PostVariant.id)
                .where(
                    PostVariant.account_id == row.id,
                    PostVariant.status == FAILED,
                    PostVariant.updated_at >= row.expired_at - _EXPIRY_MARGIN,
                    or_(
                        PostVariant.last_error.contains("expired"),
                        PostVariant.last_error.contains("revoked"),
                    ),
                )
                .order_by(PostVariant.id)
            ).all()
        )
