"""Connected social accounts: a Facebook Page or a LinkedIn member/organization, with its token."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, joinedload

from omnipost_tui import clock
from omnipost_tui.db import rows_matched
from omnipost_tui.errors import NotFound, ValidationError
from omnipost_tui.models import (
    CONNECTED,
    EXPIRED,
    REVOKED,
    Brand,
    ConnectedSocialAccount,
    PostVariant,
)
from omnipost_tui.platforms import FACEBOOK, LINKEDIN, PLATFORMS
from omnipost_tui.services.context import Context
from omnipost_tui.services.lookup import account_by_ref, brand_by_ref
from omnipost_tui.services.transitions import move_variants
from omnipost_tui.services.views import AccountView
from omnipost_tui.states import DRAFT, PUBLISHING, WAITING
from omnipost_tui.text import check_line

_FACEBOOK_PAGE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")
_LINKEDIN_AUTHOR = re.compile(r"^urn:li:(person|organization):[A-Za-z0-9_-]{1,100}$")
PENDING = (*WAITING, PUBLISHING)  # still to go out through the account


class AccountHasScheduledVariants(ValidationError):
    """Removing the account would strand variants still due to go out through it."""

    def __init__(self, message: str, variant_ids: list[int]) -> None:
        super().__init__(message)
        self.variant_ids = variant_ids


def validate_platform(platform: str) -> str:
    value = (platform or "").strip().lower()
    if value not in PLATFORMS:
        raise ValidationError(f"platform must be one of {', '.join(PLATFORMS)}, got {platform!r}")
    return value


def validate_external_id(platform: str, external_id: str) -> str:
    value = (external_id or "").strip()
    if platform == FACEBOOK and not _FACEBOOK_PAGE_ID.match(value):
        raise ValidationError(f"Facebook page id {external_id!r} is not valid (e.g. 104123456789)")
    if platform == LINKEDIN and not _LINKEDIN_AUTHOR.match(value):
        raise ValidationError(
            f"LinkedIn author {external_id!r} is not valid; use urn:li:organization:ID "
            "or urn:li:person:ID"
        )
    return value


def validate_token(token: str | None, what: str = "access token") -> str:
    value = (token or "").strip()
    if not value:
        raise ValidationError(f"{what} must not be empty")
    if any(ch.isspace() for ch in value):
        raise ValidationError(f"{what} must not contain spaces or line breaks")
    # No token holds ESC, DEL or NUL: one that does was pasted with a terminal's escape codes
    # (or is binary), and would only fail at the platform. The message names the character
    # and its column, never the token.
    check_line(value, what)
    return value


def check_token_expiry(expires_at: datetime, now: datetime) -> None:
    """A token a user pastes expires in the future: a time already past is a typo (the year,
    the month), or a token that can no longer publish anything."""
    if expires_at <= now:
        raise ValidationError(
            "that expiry time has passed; give when the token will expire (e.g. +60d), make a "
            "new token if this one has expired, or leave the expiry out if you do not know it"
        )


@dataclass(frozen=True)
class StoredToken:
    """A token as an account keeps it: the secrets (encrypted when written) and what the
    platform said about how long they last."""

    access_token: str = field(repr=False)
    expires_at: datetime | None = None  # None: not known, unless never_expires
    never_expires: bool = False
    refresh_token: str | None = field(default=None, repr=False)
    refresh_token_expires_at: datetime | None = None


def add_account(
    ctx: Context,
    *,
    brand: str | int,
    platform: str,
    external_id: str,
    name: str,
    access_token: str,
    refresh_token: str | None = None,
    token_expires_at: datetime | None = None,
) -> AccountView:
    """Connect an account with a token the user made elsewhere (pasted)."""
    token = StoredToken(
        validate_token(access_token),
        token_expires_at,
        refresh_token=validate_token(refresh_token, "refresh token") if refresh_token else None,
    )
    with ctx.db.write() as session:
        brand_row = brand_by_ref(session, brand)
        return write_new_account(ctx, session, brand_row, platform, external_id, name, token)


def write_new_account(
    ctx: Context,
    session: Session,
    brand: Brand,
    platform: str,
    external_id: str,
    name: str,
    token: StoredToken,
) -> AccountView:
    """Add an account (or bring a removed one back, with its history) inside the caller's
    transaction; refused if it is connected already."""
    platform = validate_platform(platform)
    external_id = validate_external_id(platform, external_id)
    name = check_line((name or "").strip(), "account name")
    if not name:
        raise ValidationError("account name must not be empty")
    if name.isdigit():
        raise ValidationError("account name must not be a bare number (it would look like an id)")
    now = clock.now()
    existing = session.scalar(
        select(ConnectedSocialAccount).where(
            ConnectedSocialAccount.platform == platform,
            ConnectedSocialAccount.external_id == external_id,
        )
    )
    if existing is not None and existing.status != REVOKED:
        raise ValidationError(
            f"{platform} {external_id} is already connected as account {existing.id} "
            f"({existing.name}); replace its token with: "
            f"omnipost account reconnect {existing.id}"
        )
    if existing is not None:
        # A removed account comes back with its history instead of a second row.
        account = existing
        account.brand_id = brand.id
        account.name = name
    else:
        account = ConnectedSocialAccount(
            brand_id=brand.id,
            platform=platform,
            external_id=external_id,
            name=name,
            created_at=now,
        )
        session.add(account)
    _write_token(ctx, account, token, keep_refresh=False)
    account.status = CONNECTED
    account.updated_at = now
    session.flush()
    session.refresh(account, ["brand"])
    return AccountView.of(account)


def _write_token(
    ctx: Context, account: ConnectedSocialAccount, token: StoredToken, *, keep_refresh: bool
) -> None:
    """``keep_refresh``: a refresh token the platform did not replace stays."""
    account.access_token_encrypted = ctx.cipher.encrypt(token.access_token)
    account.token_expires_at = None if token.never_expires else token.expires_at
    account.token_never_expires = token.never_expires
    if token.refresh_token:
        account.refresh_token_encrypted = ctx.cipher.encrypt(token.refresh_token)
        account.refresh_token_expires_at = token.refresh_token_expires_at
    elif not keep_refresh:
        account.refresh_token_encrypted = None
        account.refresh_token_expires_at = None


def list_accounts(
    ctx: Context, *, brand: str | int | None = None, include_removed: bool = False
) -> list[AccountView]:
    with ctx.db.read() as session:
        query = select(ConnectedSocialAccount).options(joinedload(ConnectedSocialAccount.brand))
        if brand is not None:
            query = query.where(ConnectedSocialAccount.brand_id == brand_by_ref(session, brand).id)
        if not include_removed:
            query = query.where(ConnectedSocialAccount.status != REVOKED)
        accounts = session.scalars(query.order_by(ConnectedSocialAccount.id)).all()
        counts = dict(
            session.execute(
                select(PostVariant.account_id, func.count())
                .where(PostVariant.status.in_(PENDING))
                .group_by(PostVariant.account_id)
            ).all()
        )
        return [AccountView.of(a, counts.get(a.id, 0)) for a in accounts]


def get_account(ctx: Context, ref: str | int) -> AccountView:
    with ctx.db.read() as session:
        account = account_by_ref(session, ref)
        count = session.scalar(
            select(func.count())
            .select_from(PostVariant)
            .where(PostVariant.account_id == account.id, PostVariant.status.in_(PENDING))
        )
        return AccountView.of(account, count or 0)


def reconnect_account(
    ctx: Context,
    ref: str | int,
    *,
    access_token: str,
    refresh_token: str | None = None,
    token_expires_at: datetime | None = None,
) -> AccountView:
    """Replace the token of an account (typically an expired one) with one the user pasted,
    and mark it connected."""
    token = StoredToken(
        validate_token(access_token),
        token_expires_at,
        refresh_token=validate_token(refresh_token, "refresh token") if refresh_token else None,
    )
    with ctx.db.write() as session:
        return write_reconnected(ctx, session, account_by_ref(session, ref), token)


def write_reconnected(
    ctx: Context, session: Session, account: ConnectedSocialAccount, token: StoredToken
) -> AccountView:
    """Store a new token on ``account`` inside the caller's transaction: connected again,
    keeping a refresh token the platform did not replace."""
    _write_token(ctx, account, token, keep_refresh=True)
    account.status = CONNECTED
    account.updated_at = clock.now()
    session.flush()
    return AccountView.of(account)


def remove_account(ctx: Context, ref: str | int, *, unschedule: bool = False) -> AccountView:
    """Disconnect an account: erase its tokens and keep its history (variants, attempts).

    Refuses while variants are still due to be published through it, unless ``unschedule``
    moves them back to draft first.
    """
    now = clock.now()
    with ctx.db.write() as session:
        account = account_by_ref(session, ref)
        if account.status == REVOKED:
            raise NotFound(f"account {account.id} ({account.name}) was already removed")
        # Locked (PostgreSQL): no worker may claim one of these between this check and the end.
        pending_rows = session.execute(
            select(PostVariant.id, PostVariant.status)
            .where(PostVariant.account_id == account.id, PostVariant.status.in_(PENDING))
            .with_for_update()
        ).all()
        if any(status == PUBLISHING for _, status in pending_rows):
            raise ValidationError(
                f"account {account.id} is publishing right now; try again in a minute"
            )
        pending = [variant_id for variant_id, _ in pending_rows]
        if pending and not unschedule:
            ids = ", ".join(str(i) for i in pending[:10])
            more = "…" if len(pending) > 10 else ""
            raise AccountHasScheduledVariants(
                f"account {account.id} ({account.name}) still has {len(pending)} scheduled "
                f"variant(s) ({ids}{more}); unschedule them first or pass --unschedule",
                pending,
            )
        if pending:
            move_variants(
                session,
                PostVariant.id.in_(pending),
                sources=WAITING,
                target=DRAFT,
                next_attempt_at=None,
                dispatched_at=None,
                updated_at=now,
            )
        account.status = REVOKED
        # Nothing can be published through a removed account, so its tokens have no business here.
        account.access_token_encrypted = ""
        account.refresh_token_encrypted = None
        account.token_expires_at = None  # no token, no expiry: lists show none
        account.token_never_expires = False
        account.updated_at = now
        session.flush()
        return AccountView.of(account)


def mark_account_expired(
    ctx: Context, account_id: int, *, refused_token: str | None = None
) -> bool:
    """CAS connected → expired; True when this call changed it.

    ``refused_token`` (the encrypted token the platform refused) keeps a token the user
    pasted a moment ago from being marked expired because of the old one's answer.
    """
    now = clock.now()
    conditions = [
        ConnectedSocialAccount.id == account_id,
        ConnectedSocialAccount.status == CONNECTED,
    ]
    if refused_token is not None:
        conditions.append(ConnectedSocialAccount.access_token_encrypted == refused_token)
    with ctx.db.write() as session:
        result = session.execute(
            update(ConnectedSocialAccount)
            .where(*conditions)
            .values(status=EXPIRED, expired_at=now, updated_at=now)
        )
        return rows_matched(result) == 1
