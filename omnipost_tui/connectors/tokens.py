"""Token upkeep over HTTP: exchange, inspect and refresh platform access tokens (each request
goes through ``calls.call``, which keeps the secrets out of every message)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import httpx

from omnipost_tui.connectors.base import redacted_body
from omnipost_tui.connectors.calls import (
    call,
    describe,
    epoch,
    expires_in,
    facebook_error,
    graph_base,
    json_object,
    linkedin_oauth_error,
    required_str,
)
from omnipost_tui.connectors.errors import (
    Permanent,
)

# /me/accounts is paged; a person manages a handful of pages, so a few pages of 100 are plenty.
_MAX_ACCOUNT_PAGES = 10


@dataclass(frozen=True)
class TokenGrant:
    """A new access token (and, for LinkedIn, the refresh token to use next time)."""

    access_token: str = field(repr=False)
    expires_at: datetime | None  # None: the platform gave no expiry (it does not expire)
    refresh_token: str | None = field(default=None, repr=False)
    refresh_token_expires_at: datetime | None = None


@dataclass(frozen=True)
class TokenInfo:
    """What the platform says about a token it was asked to inspect."""

    is_valid: bool
    expires_at: datetime | None  # None: never expires (never_expires), or not reported
    scopes: tuple[str, ...] = ()
    never_expires: bool = False  # the platform said so (Facebook: expires_at 0)


@dataclass(frozen=True)
class PageToken:
    """One Facebook Page the token's user manages, with that page's own token."""

    page_id: str
    name: str
    access_token: str = field(repr=False)


# --- Facebook -------------------------------------------------------------------------------


def facebook_exchange_token(
    graph_url: str,
    version: str,
    app_id: str,
    app_secret: str,
    token: str,
    timeout: float,
    client: httpx.Client | None = None,
) -> TokenGrant:
    """Exchange ``token`` for a long-lived one (``grant_type=fb_exchange_token``)."""
    secrets = (token, app_secret)
    params = {
        "grant_type": "fb_exchange_token",
        "client_id": app_id,
        "client_secret": app_secret,
        "fb_exchange_token": token,
    }
    url = f"{graph_base(graph_url, version)}/oauth/access_token"
    response = call(client, timeout, "Facebook", "GET", url, secrets, params=params)
    if not response.is_success:
        raise facebook_error(response, secrets, token_means_expired=True)
    data = json_object(response, "Facebook", secrets)
    access_token = required_str(data, "access_token", "Facebook", response, secrets)
    return TokenGrant(access_token=access_token, expires_at=expires_in(data.get("expires_in")))


def facebook_debug_token(
    graph_url: str,
    version: str,
    app_id: str,
    app_secret: str,
    token: str,
    timeout: float,
    client: httpx.Client | None = None,
) -> TokenInfo:
    """Ask ``/debug_token`` whether ``token`` is valid and when it expires."""
    secrets = (token, app_secret, f"{app_id}|{app_secret}")
    # The app access token "{app-id}|{app-secret}" authenticates the question, not the answer.
    params = {"input_token": token, "access_token": f"{app_id}|{app_secret}"}
    url = f"{graph_base(graph_url, version)}/debug_token"
    response = call(client, timeout, "Facebook", "GET", url, secrets, params=params)
    if not response.is_success:
        # Here a token error (190) is about the app access token: an invalid input token is
        # answered with 200 and is_valid=false.
        raise facebook_error(response, secrets, token_means_expired=False)
    data = json_object(response, "Facebook", secrets).get("data")
    if not isinstance(data, dict) or not isinstance(data.get("is_valid"), bool):
        raise Permanent(
            f"Facebook answered debug_token without data.is_valid: {describe(response, secrets)}",
            http_status=response.status_code,
            raw_body=redacted_body(response.text, secrets),
        )
    scopes = data.get("scopes")
    return TokenInfo(
        is_valid=data["is_valid"],
        # expires_at 0 means "never" (page tokens derived from long-lived user tokens).
        expires_at=epoch(data.get("expires_at")),
        never_expires=type(data.get("expires_at")) is int and data["expires_at"] == 0,
        scopes=tuple(str(s) for s in scopes) if isinstance(scopes, list) else (),
    )


def facebook_page_tokens(
    graph_url: str,
    version: str,
    user_token: str,
    timeout: float,
    client: httpx.Client | None = None,
) -> list[PageToken]:
    """The pages the token's user manages (``/me/accounts``), each with its page token."""
    secrets: list[str] = [user_token]
    url: str | None = f"{graph_base(graph_url, version)}/me/accounts"
    params: dict[str, str] | None = {
        "access_token": user_token,
        "fields": "id,name,access_token",
        "limit": "100",
    }
    pages: list[PageToken] = []
    for _ in range(_MAX_ACCOUNT_PAGES):
        if url is None:
            break
        response = call(client, timeout, "Facebook", "GET", url, secrets, params=params)
        if not response.is_success:
            raise facebook_error(response, secrets, token_means_expired=True)
        data = json_object(response, "Facebook", secrets)
        for entry in data.get("data") or []:
            if isinstance(entry, dict) and entry.get("id") and entry.get("access_token"):
                page = PageToken(
                    str(entry["id"]), str(entry.get("name") or ""), entry["access_token"]
                )
                secrets.append(page.access_token)
                pages.append(page)
        paging = data.get("paging")
        following = paging.get("next") if isinstance(paging, dict) else None
        # Graph's "next" link is complete (it carries the token); nothing to add to it.
        url, params = (
            (following, None) if isinstance(following, str) and following else (None, None)
        )
    return pages


# --- LinkedIn -------------------------------------------------------------------------------


def linkedin_refresh(
    oauth_url: str,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    timeout: float,
    client: httpx.Client | None = None,
) -> TokenGrant:
    """A new access token from ``refresh_token`` (``POST /oauth/v2/accessToken``)."""
    secrets = (refresh_token, client_secret)
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": client_id,
        "client_secret": client_secret,
    }
    url = f"{oauth_url.rstrip('/')}/oauth/v2/accessToken"
    response = call(client, timeout, "LinkedIn", "POST", url, secrets, data=form)
    return linkedin_grant(response, secrets, "refresh token")


def linkedin_grant(response: httpx.Response, secrets: tuple[str, ...], what: str) -> TokenGrant:
    """What LinkedIn's token endpoint answered (for a code or a refresh token): the access
    token, the refresh token where the app has them, and both expiries."""
    if not response.is_success:
        raise linkedin_oauth_error(response, secrets, what)
    data = json_object(response, "LinkedIn", secrets)
    access_token = required_str(data, "access_token", "LinkedIn", response, secrets)
    refresh = data.get("refresh_token")
    return TokenGrant(
        access_token=access_token,
        expires_at=expires_in(data.get("expires_in")),
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        refresh_token_expires_at=expires_in(data.get("refresh_token_expires_in")),
    )


def linkedin_introspect(
    oauth_url: str,
    client_id: str,
    client_secret: str,
    token: str,
    timeout: float,
    client: httpx.Client | None = None,
) -> TokenInfo:
    """Ask ``POST /oauth/v2/introspectToken`` whether ``token`` is active and until when."""
    secrets = (token, client_secret)
    form = {"client_id": client_id, "client_secret": client_secret, "token": token}
    url = f"{oauth_url.rstrip('/')}/oauth/v2/introspectToken"
    response = call(client, timeout, "LinkedIn", "POST", url, secrets, data=form)
    if not response.is_success:
        raise linkedin_oauth_error(response, secrets, "access token")
    data = json_object(response, "LinkedIn", secrets)
    active = data.get("active")
    if not isinstance(active, bool):
        raise Permanent(
            f"LinkedIn answered introspectToken without 'active': {describe(response, secrets)}",
            http_status=response.status_code,
            raw_body=redacted_body(response.text, secrets),
        )
    scope = data.get("scope")
    scopes = (
        tuple(s.strip() for s in scope.split(",") if s.strip()) if isinstance(scope, str) else ()
    )
    return TokenInfo(is_valid=active, expires_at=epoch(data.get("expires_at")), scopes=scopes)
