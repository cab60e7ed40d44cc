"""One request to a platform outside publishing (tokens, accounts, OAuth), with every secret kept
out of what can be shown, and the platforms' error answers turned into typed errors.

Facebook's token endpoints take their secrets in the query string (that is how the Graph API
is specified), so the URL of such a request must never reach a message: errors are built from
our own words plus redacted platform text, and httpx exceptions (whose ``.request`` carries the
URL) are never chained.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
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

T = TypeVar("T")


def graph_base(graph_url: str, version: str) -> str:
    return f"{graph_url.rstrip('/')}/{version.strip().strip('/')}"


def facebook_error(
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


def linkedin_oauth_error(
    response: httpx.Response, secrets: tuple[str, ...], what: str
) -> PlatformError:
    """LinkedIn's OAuth endpoints answer ``{"error", "error_description"}``, not API errors."""
    status = response.status_code
    data = parse_json(response.text)
    error = data if isinstance(data, dict) else {}
    code = str(error.get("error") or error.get("code") or status)
    raw = str(error.get("error_description") or error.get("message") or "")
    detail = redact_text(raw, secrets) if raw else describe(response, secrets)
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


def call(
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


def json_object(
    response: httpx.Response, label: str, secrets: tuple[str, ...] | list[str]
) -> dict[str, Any]:
    data = parse_json(response.text)
    if not isinstance(data, dict):
        raise Transient(
            f"{label} answered HTTP {response.status_code} with {describe(response, secrets)}",
            http_status=response.status_code,
            raw_body=redacted_body(response.text, secrets),
        )
    return data


def required_str(
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


def describe(response: httpx.Response, secrets: tuple[str, ...] | list[str]) -> str:
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


def expires_in(value: Any) -> datetime | None:
    """``expires_in`` seconds from now; None when absent or 0 (the platform's "never")."""
    return _number(value, lambda seconds: clock.now() + timedelta(seconds=seconds))


def epoch(value: Any) -> datetime | None:
    """An ``expires_at`` epoch second; None when absent or 0."""
    return _number(value, lambda seconds: datetime.fromtimestamp(seconds, UTC))
