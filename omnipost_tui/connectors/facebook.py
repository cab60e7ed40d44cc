"""Publish to a Facebook Page through the Graph API ``/{page_id}/feed`` edge."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from omnipost_tui.connectors.base import (
    HttpConnector,
    PublishRequest,
    PublishResult,
    describe_body,
    parse_json,
    redacted_body,
    retry_after_header,
    summarize_request,
)
from omnipost_tui.connectors.errors import (
    MaybePublished,
    Permanent,
    PermissionDenied,
    PlatformError,
    RateLimited,
    TokenExpired,
    Transient,
)
from omnipost_tui.platforms import FACEBOOK
from omnipost_tui.redact import redact_text

LABEL = "Facebook"

# Graph API error codes; Facebook's HTTP status is too coarse (most errors are a plain 400).
TOKEN_CODES = frozenset({102, 190})
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, *range(80000, 80015)})
PERMANENT_CODES = frozenset({100, 368, 506, 1609005})
PERMISSION_CODES = frozenset({10, *range(200, 300)})
TRANSIENT_CODES = frozenset({1, 2})


def classify_facebook_error(
    http_status: int,
    body_text: str | None,
    headers: Mapping[str, str],
    *,
    secrets: Iterable[str | None] = (),
    request_summary: dict[str, Any] | None = None,
) -> PlatformError:
    """Map a failed Graph API answer to the PlatformError the engine should act on."""
    secrets = tuple(secrets)
    fields: dict[str, Any] = {
        "http_status": http_status,
        "raw_body": redacted_body(body_text, secrets),
        "request_summary": request_summary,
    }
    error = _error_object(body_text)
    if error is None:
        return _classify_by_status(http_status, body_text, headers, fields)

    code = _as_int(error.get("code"))
    text = redact_text(str(error.get("message") or "no message given"), secrets)
    if code is None:
        # An error object without a code: the status is all we have to go on.
        return _classify_by_status(http_status, body_text, headers, fields, detail=text)

    message = f"Facebook error {code}: {text}"
    fields["code"] = str(code)
    if code in RATE_LIMIT_CODES:
        return RateLimited(message, retry_after=facebook_retry_after(headers), **fields)
    return _class_for_code(code, error.get("is_transient") is True)(message, **fields)


def _class_for_code(code: int, is_transient: bool) -> type[PlatformError]:
    if code in TOKEN_CODES:
        return TokenExpired
    # Known permanent and permission codes win over is_transient: re-sending a duplicate or a
    # policy-blocked post can never succeed, whatever the flag says.
    if code in PERMANENT_CODES:
        return Permanent
    if code in PERMISSION_CODES:
        return PermissionDenied
    if code in TRANSIENT_CODES or is_transient:
        return Transient
    return Permanent


def _classify_by_status(
    http_status: int,
    body_text: str | None,
    headers: Mapping[str, str],
    fields: dict[str, Any],
    detail: str | None = None,
) -> PlatformError:
    """No usable Graph error code: fall back to the HTTP status, which is then the code too
    (as LinkedIn's errors record it), so attempts can be grouped by what went wrong."""
    detail = detail or describe_body(body_text)
    fields = {**fields, "code": str(http_status)}
    if http_status >= 500:
        return Transient(f"Facebook server error (HTTP {http_status}): {detail}", **fields)
    if http_status == 429:
        return RateLimited(
            f"Facebook rate limit (HTTP 429): {detail}",
            retry_after=facebook_retry_after(headers),
            **fields,
        )
    if parse_json(body_text) is None:
        # An HTML or empty error page comes from something in front of the Graph API (a proxy,
        # a load balancer), not from Facebook's judgement of the post: worth another try.
        return Transient(
            f"Facebook answered HTTP {http_status} without details: {detail}", **fields
        )
    return Permanent(f"Facebook answered HTTP {http_status}: {detail}", **fields)


def _error_object(body_text: str | None) -> dict[str, Any] | None:
    data = parse_json(body_text)
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else None


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def facebook_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds until Facebook lets us post again, from its usage header or ``Retry-After``."""
    minutes = _business_use_case_minutes(httpx.Headers(headers).get("x-business-use-case-usage"))
    if minutes:
        return minutes * 60.0
    return retry_after_header(headers)


def _business_use_case_minutes(value: str | None) -> float | None:
    """Largest ``estimated_time_to_regain_access`` (minutes) in the header; None when 0/absent.

    Shape: ``{"<business id>": [{"type": "pages", "estimated_time_to_regain_access": 5, …}]}``.
    """
    try:
        usage = json.loads(value) if value else None
    except ValueError:
        return None
    if not isinstance(usage, dict):
        return None
    waits = [
        float(entry["estimated_time_to_regain_access"])
        for entries in usage.values()
        if isinstance(entries, list)
        for entry in entries
        if isinstance(entry, dict)
        and isinstance(entry.get("estimated_time_to_regain_access"), int | float)
    ]
    longest = max((w for w in waits if math.isfinite(w)), default=0.0)
    return longest if longest > 0 else None


class FacebookConnector(HttpConnector):
    """Posts text (and an optional link) to a Facebook Page with a page access token."""

    platform = FACEBOOK
    label = LABEL

    def __init__(
        self,
        graph_url: str,
        graph_version: str,
        timeout: float,
        client: httpx.Client | None = None,
    ) -> None:
        super().__init__(timeout, client)
        self._graph_url = graph_url.rstrip("/")
        # Accept "24.0" as well as "v24.0": the Graph API only understands the latter.
        version = graph_version.strip().strip("/")
        self._graph_version = version if version.startswith("v") else f"v{version}"

    def feed_url(self, page_id: str) -> str:
        return f"{self._graph_url}/{self._graph_version}/{quote(page_id, safe='')}/feed"

    def publish(self, request: PublishRequest) -> PublishResult:
        secrets = (request.access_token,)
        url = self.feed_url(request.account_external_id)
        form = {"message": request.text}
        if request.link:
            form["link"] = request.link
        # The token goes in the form body, never the URL: httpx puts the URL in its exception
        # messages, and proxies and server logs record URLs.
        form["access_token"] = request.access_token
        summary = summarize_request("POST", url, {}, form, secrets)
        response = self._send("POST", url, data=form, secrets=secrets, request_summary=summary)
        return self._result(response, secrets, summary)

    def _result(
        self,
        response: httpx.Response,
        secrets: tuple[str, ...],
        summary: dict[str, Any],
    ) -> PublishResult:
        body = response.text
        if not response.is_success or _error_object(body) is not None:
            raise classify_facebook_error(
                response.status_code,
                body,
                response.headers,
                secrets=secrets,
                request_summary=summary,
            )
        data = parse_json(body)
        post_id = data.get("id") if isinstance(data, dict) else None
        if not post_id:
            # Facebook accepted the call, so the post may exist: never re-sent blindly.
            raise MaybePublished(
                "Facebook accepted the request but returned no post id; the post may have been"
                " published — check the Page before publishing again",
                http_status=response.status_code,
                raw_body=redacted_body(body, secrets),
                request_summary=summary,
            )
        return PublishResult(
            external_post_id=str(post_id),
            http_status=response.status_code,
            request_summary=summary,
            raw_response=redacted_body(body, secrets),
        )
