"""Token upkeep over HTTP: exchange, inspect and refresh platform access tokens.

Facebook's exchange and debug endpoints take every secret in the query string (that is how the
Graph API is specified), so the URL of such a request must never reach a message: errors are
built from our own words plus redacted platform text, and httpx exceptions (whose ``.request``
carries the URL) are never chained.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx

from omnipost_tui import clock
from omnipost_tui.connectors.base import (
    describe_body,
    parse_json,
    redacted_body,
    retry_after_header,
    summarize_request,
    transport_error,
)
from omnipost_tui.connectors.errors import (
    Permanent,
    PlatformError,
    RateLimited,
    TokenExpired,
    Transient,
)
from omnipost_tui.connectors.facebook import classify_facebook_error
from omnipost_tui.redact import redact_text

FACEBOOK_APP_ENV = "OMNIPOST_FACEBOOK_APP_ID / OMNIPOST_FACEBOOK_APP_SECRET"
LINKEDIN_APP_ENV = "OMNIPOST_LINKEDIN_CLIENT_ID / OMNIPOST_LINKEDIN_CLIENT_SECRET"

# Graph error codes that mean "your app id or secret is wrong", not "the user's token is bad".
_FACEBOOK_APP_CODES = frozenset({101, 1000})
# /me/accounts is paged; a person manages a handful of pages, so a few pages of 100 are plenty.
_MAX_ACCOUNT_PAGES = 10

T = TypeVar("T")


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
    expires_at: datetime | None  # None: never expires, or not reported
    scopes: tuple[str, ...] = ()


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
    url = f"{_graph_base(graph_url, version)}/oauth/access_token"
    response = _call(client, timeout, "Facebook", "GET", url, secrets, params=params)
    if not response.is_success:
        raise _facebook_error(response, secrets, token_means_expired=True)
    data = _json_object(response, "Facebook", secrets)
    access_token = _required_str(data, "access_token", "Facebook", response, secrets)
    return TokenGrant(access_token=access_token, expires_at=_expires_in(data.get("expires_in")))


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
    url = f"{_graph_base(graph_url, version)}/debug_token"
    response = _call(client, timeout, "Facebook", "GET", url, secrets, params=params)
    if not response.is_success:
        # Here a token error (190) is about the app access token: an invalid input token is
        # answered with 200 and is_valid=false.
        raise _facebook_error(response, secrets, token_means_expired=False)
    data = _json_object(response, "Facebook", secrets).get("data")
    if not isinstance(data, dict) or not isinstance(data.get("is_valid"), bool):
        raise Permanent(
            f"Facebook answered debug_token without data.is_valid: {_describe(response, secrets)}",
            http_status=response.status_code,
            raw_body=redacted_body(response.text, secrets),
        )
    scopes = data.get("scopes")
    return TokenInfo(
        is_valid=data["is_valid"],
        # expires_at 0 means "never" (page tokens derived from long-lived user tokens).
        expires_at=_epoch(data.get("expires_at")),
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
    url: str | None = f"{_graph_base(graph_url, version)}/me/accounts"
    params: dict[str, str] | None = {
        "access_token": user_token,
        "fields": "id,name,access_token",
        "limit": "100",
    }
    pages: list[PageToken] = []
    for _ in range(_MAX_ACCOUNT_PAGES):
        if url is None:
            break
        response = _call(client, timeout, "Facebook", "GET", url, secrets, params=params)
        if not response.is_success:
            raise _facebook_error(response, secrets, token_means_expired=True)
        data = _json_object(response, "Facebook", secrets)
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


def _graph_base(graph_url: str, version: str) -> str:
    return f"{graph_url.rstrip('/')}/{version.strip().strip('/')}"


def _facebook_error(
    response: httpx.Response, secrets: tuple[str, ...] | list[str], *, token_means_expired: bool
) -> PlatformError:
    error = classify_facebook_error(
        response.status_code, response.text, response.headers, secrets=secrets
    )
    code = int(error.code) if error.code and error.code.isdigit() else None
    message = _facebook_message(response)
    app_problem = (
        code in _FACEBOOK_APP_CODES
        or "client secret" in message
        or (isinstance(error, TokenExpired) and not token_means_expired)
    )
    if app_problem:
        return Permanent(
            f"Facebook rejected the app credentials ({FACEBOOK_APP_ENV}): {error.message}",
            http_status=error.http_status,
            code=error.code,
            raw_body=error.raw_body,
        )
    return error


def _facebook_message(response: httpx.Response) -> str:
    data = parse_json(response.text)
    error = data.get("error") if isinstance(data, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return str(message).lower() if message else ""


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
    response = _call(client, timeout, "LinkedIn", "POST", url, secrets, data=form)
    if not response.is_success:
        raise _linkedin_oauth_error(response, secrets, "refresh token")
    data = _json_object(response, "LinkedIn", secrets)
    access_token = _required_str(data, "access_token", "LinkedIn", response, secrets)
    new_refresh = data.get("refresh_token")
    return TokenGrant(
        access_token=access_token,
        expires_at=_expires_in(data.get("expires_in")),
        refresh_token=new_refresh if isinstance(new_refresh, str) and new_refresh else None,
        refresh_token_expires_at=_expires_in(data.get("refresh_token_expires_in")),
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
    response = _call(client, timeout, "LinkedIn", "POST", url, secrets, data=form)
    if not response.is_success:
        raise _linkedin_oauth_error(response, secrets, "access token")
    data = _json_object(response, "LinkedIn", secrets)
    active = data.get("active")
    if not isinstance(active, bool):
        raise Permanent(
            f"LinkedIn answered introspectToken without 'active': {_describe(response, secrets)}",
            http_status=response.status_code,
            raw_body=redacted_body(response.text, secrets),
        )
    scope = data.get("scope")
    scopes = (
        tuple(s.strip() for s in scope.split(",") if s.strip()) if isinstance(scope, str) else ()
    )
    return TokenInfo(is_valid=active, expires_at=_epoch(data.get("expires_at")), scopes=scopes)


def _linkedin_oauth_error(
    response: httpx.Response, secrets: tuple[str, ...], what: str
) -> PlatformError:
    """LinkedIn's OAuth endpoints answer ``{"error", "error_description"}``, not API errors."""
    status = response.status_code
    data = parse_json(response.text)
    error = data if isinstance(data, dict) else {}
    code = str(error.get("error") or error.get("code") or status)
    raw = str(error.get("error_description") or error.get("message") or "")
    detail = redact_text(raw, secrets) if raw else _describe(response, secrets)
    fields: dict[str, Any] = {
        "http_status": status,
        "code": code,
        "raw_body": redacted_body(response.text, secrets),
    }
    prefix = f"LinkedIn error {status} {code}"
    if status >= 500:
        return Transient(f"{prefix}: server error ({detail})", **fields)
    if status == 429:
        return RateLimited(
            f"{prefix}: rate limit reached ({detail})",
            retry_after=retry_after_header(response.headers),
            **fields,
        )
    if data is None:
        # No OAuth error body: something in between (proxy, gateway) answered.
        return Transient(f"LinkedIn answered HTTP {status} without details: {detail}", **fields)
    if code == "invalid_client" or status == 401:
        return Permanent(
            f"LinkedIn rejected the app credentials ({LINKEDIN_APP_ENV}): {detail}", **fields
        )
    lowered = raw.lower()
    if code == "invalid_grant" or (
        "token" in lowered and any(w in lowered for w in ("expired", "revoked", "invalid"))
    ):
        return TokenExpired(
            f"{prefix}: the {what} is invalid, expired or revoked ({detail})", **fields
        )
    return Permanent(f"{prefix}: {detail}", **fields)


# --- shared plumbing ------------------------------------------------------------------------


@contextmanager
def _client(client: httpx.Client | None, timeout: float) -> Iterator[httpx.Client]:
    if client is not None:
        # Borrowed: whoever passed it in closes it.
        yield client
        return
    with httpx.Client(timeout=timeout) as owned:
        yield owned


def _call(
    client: httpx.Client | None,
    timeout: float,
    label: str,
    method: str,
    url: str,
    secrets: tuple[str, ...] | list[str],
    **kwargs: Any,
) -> httpx.Response:
    """Send one request; transport failures become PlatformErrors with nothing secret in them."""
    error: PlatformError | None = None
    with _client(client, timeout) as http:
        try:
            # Timeout per request so a borrowed client still honours the configured limit.
            response = http.request(method, url, timeout=timeout, **kwargs)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            summary = summarize_request(method, _strip_query(url), {}, None, secrets)
            error = transport_error(label, exc, timeout, secrets, summary)
    if error is not None:
        # Raised outside the except block: the httpx exception's request carries the URL with
        # the secrets in its query string, so it must not ride along as __context__.
        raise error
    return response


def _strip_query(url: str) -> str:
    return url.split("?", 1)[0]


def _json_object(
    response: httpx.Response, label: str, secrets: tuple[str, ...] | list[str]
) -> dict[str, Any]:
    data = parse_json(response.text)
    if not isinstance(data, dict):
        raise Transient(
            f"{label} answered HTTP {response.status_code} with {_describe(response, secrets)}",
            http_status=response.status_code,
            raw_body=redacted_body(response.text, secrets),
        )
    return data


def _required_str(
    data: Mapping[str, Any],
    key: str,
    label: str,
    response: httpx.Response,
    secrets: tuple[str, ...] | list[str],
) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise Permanent(
            f"{label} answered without an {key.replace('_', ' ')}",
            http_status=response.status_code,
            raw_body=redacted_body(response.text, secrets),
        )
    return value.strip()


def _describe(response: httpx.Response, secrets: tuple[str, ...] | list[str]) -> str:
    return redact_text(describe_body(response.text), secrets) or "an empty response"


def _number(value: Any, convert: Callable[[float], T]) -> T | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    if number <= 0 or number != number or number in (float("inf"), float("-inf")):
        return None
    try:
        return convert(number)
    except (OverflowError, OSError, ValueError):
        return None


def _expires_in(value: Any) -> datetime | None:
    """``expires_in`` seconds from now; None when absent or 0 (the platform's "never")."""
    return _number(value, lambda seconds: clock.now() + timedelta(seconds=seconds))


def _epoch(value: Any) -> datetime | None:
    """An ``expires_at`` epoch second; None when absent or 0."""
    return _number(value, lambda seconds: datetime.fromtimestamp(seconds, UTC))
