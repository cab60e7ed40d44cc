"""Publish to LinkedIn through the Posts API (``/rest/posts``) or the legacy ``/v2/ugcPosts``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

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
from omnipost_tui.connectors.little_text import escape_little_text, plain_with_mentions
from omnipost_tui.platforms import LINKEDIN
from omnipost_tui.redact import redact_text

LABEL = "LinkedIn"
RESTLI_PROTOCOL = "2.0.0"
VERSION_ENV = "OMNIPOST_LINKEDIN_VERSION"

# LinkedIn shows the article title as the link card headline; it rejects very long ones.
_MAX_TITLE = 200


def classify_linkedin_error(
    http_status: int,
    body_text: str | None,
    headers: Mapping[str, str],
    *,
    secrets: Iterable[str | None] = (),
    request_summary: dict[str, Any] | None = None,
) -> PlatformError:
    """Map a failed LinkedIn answer (classified by HTTP status) to a PlatformError."""
    secrets = tuple(secrets)
    data = parse_json(body_text)
    error = data if isinstance(data, dict) else {}
    li_code = str(error["code"]) if error.get("code") else None
    platform_message = error.get("message")
    detail = redact_text(str(platform_message), secrets) if platform_message else None
    fields: dict[str, Any] = {
        "http_status": http_status,
        "code": li_code or str(http_status),
        "raw_body": redacted_body(body_text, secrets),
        "request_summary": request_summary,
    }
    detail = detail or describe_body(body_text)
    prefix = f"LinkedIn error {http_status}" + (f" {li_code}" if li_code else "")

    if http_status == 401:
        return TokenExpired(
            f"{prefix}: the access token expired or was revoked; reconnect the account ({detail})",
            **fields,
        )
    if http_status == 403:
        return PermissionDenied(f"{prefix}: permission denied ({detail})", **fields)
    if http_status == 426:
        return Permanent(_version_retired_message(prefix, detail, request_summary), **fields)
    if http_status == 429:
        return RateLimited(
            f"{prefix}: rate limit reached ({detail})",
            retry_after=retry_after_header(headers),
            **fields,
        )
    if http_status >= 500:
        return Transient(f"{prefix}: server error ({detail})", **fields)
    if http_status in (400, 422) or data is not None:
        return Permanent(f"{prefix}: {detail}", **fields)
    # Anything else without a JSON error body came from something in between (proxy, gateway),
    # not from LinkedIn's API itself: worth another try.
    return Transient(f"{prefix}: {detail}", **fields)


def _version_retired_message(
    prefix: str, detail: str, request_summary: dict[str, Any] | None
) -> str:
    headers = (request_summary or {}).get("headers") or {}
    version = headers.get("LinkedIn-Version")
    which = f"LinkedIn-Version {version}" if version else "the LinkedIn-Version"
    return f"{prefix}: {which} is retired; set {VERSION_ENV} to a current YYYYMM version ({detail})"


def _article_title(link: str) -> str:
    """A readable card title from the link itself (LinkedIn requires one for articles)."""
    title = re.sub(r"^[a-z][a-z0-9+.-]*://(www\.)?", "", link.strip(), flags=re.IGNORECASE)
    title = title.rstrip("/") or link
    return title if len(title) <= _MAX_TITLE else f"{title[: _MAX_TITLE - 1]}…"


def posts_payload(request: PublishRequest) -> dict[str, Any]:
    """Body for ``POST /rest/posts`` (the versioned Posts API)."""
    payload: dict[str, Any] = {
        "author": request.account_external_id,
        "commentary": escape_little_text(request.text),
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    if request.link:
        payload["content"] = {
            "article": {"source": request.link, "title": _article_title(request.link)}
        }
    return payload


def ugc_payload(request: PublishRequest) -> dict[str, Any]:
    """Body for the legacy ``POST /v2/ugcPosts``.

    Its shareCommentary is plain text (nothing to escape; hashtags and URLs as written), and a
    mention is the name in the text plus an attribute that points at the URN.
    """
    text, attributes = plain_with_mentions(request.text)
    commentary: dict[str, Any] = {"text": text}
    if attributes:
        commentary["attributes"] = attributes
    share: dict[str, Any] = {"shareCommentary": commentary, "shareMediaCategory": "NONE"}
    if request.link:
        share["shareMediaCategory"] = "ARTICLE"
        share["media"] = [{"status": "READY", "originalUrl": request.link}]
    return {
        "author": request.account_external_id,
        "lifecycleState": "PUBLISHED",
        "specificContent": {"com.linkedin.ugc.ShareContent": share},
        "visibility": {"com.linkedin.ugc.MemberNetworkVisibility": "PUBLIC"},
    }


class LinkedInConnector(HttpConnector):
    """Posts text (and an optional link) as a LinkedIn member or organization."""

    platform = LINKEDIN
    label = LABEL

    def __init__(
        self,
        api_url: str,
        api_version: str,
        timeout: float,
        api: str = "rest",
        client: httpx.Client | None = None,
    ) -> None:
        if api not in ("rest", "ugc"):
            raise ValueError(f"LinkedIn api must be 'rest' or 'ugc', not {api!r}")
        super().__init__(timeout, client)
        self._api_url = api_url.rstrip("/")
        self._api_version = api_version.strip()
        self._api = api

    def _endpoint(self, request: PublishRequest) -> tuple[str, dict[str, str], dict[str, Any]]:
        """URL, non-secret headers and JSON body for the configured API flavour."""
        headers = {"X-Restli-Protocol-Version": RESTLI_PROTOCOL}
        if self._api == "ugc":
            return f"{self._api_url}/v2/ugcPosts", headers, ugc_payload(request)
        headers["LinkedIn-Version"] = self._api_version
        return f"{self._api_url}/rest/posts", headers, posts_payload(request)

    def publish(self, request: PublishRequest) -> PublishResult:
        secrets = (request.access_token,)
        url, headers, payload = self._endpoint(request)
        headers["Authorization"] = f"Bearer {request.access_token}"
        headers["Content-Type"] = "application/json"
        summary = summarize_request("POST", url, headers, payload, secrets)
        response = self._send(
            "POST", url, json=payload, headers=headers, secrets=secrets, request_summary=summary
        )
        return self._result(response, secrets, summary)

    def _result(
        self,
        response: httpx.Response,
        secrets: tuple[str, ...],
        summary: dict[str, Any],
    ) -> PublishResult:
        body = response.text
        if not response.is_success:
            raise classify_linkedin_error(
                response.status_code,
                body,
                response.headers,
                secrets=secrets,
                request_summary=summary,
            )
        post_id = _post_id(response)
        if not post_id:
            # LinkedIn accepted the call, so the post may exist: never re-sent blindly.
            raise MaybePublished(
                f"LinkedIn accepted the request (HTTP {response.status_code}) but returned no"
                " post id; the post may have been published — check the profile or page before"
                " publishing again",
                http_status=response.status_code,
                code=str(response.status_code),
                raw_body=redacted_body(body, secrets),
                request_summary=summary,
            )
        return PublishResult(
            external_post_id=post_id,
            http_status=response.status_code,
            request_summary=summary,
            raw_response=redacted_body(body, secrets),
        )


def _post_id(response: httpx.Response) -> str | None:
    """The new post's URN: the ``x-restli-id`` header, else ``x-linkedin-id``, else body ``id``."""
    for header in ("x-restli-id", "x-linkedin-id"):
        value: str = response.headers.get(header, "").strip()
        if value:
            return value
    data = parse_json(response.text)
    post_id = data.get("id") if isinstance(data, dict) else None
    return str(post_id) if post_id else None
