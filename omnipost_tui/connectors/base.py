"""The contract every platform connector fulfils, plus the HTTP plumbing they share."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

from omnipost_tui.connectors.errors import (
    Permanent,
    PlatformError,
    Transient,
    clip,
)
from omnipost_tui.redact import redact_data, redact_text
from omnipost_tui.times import format_seconds


@dataclass(frozen=True)
class PublishRequest:
    """One post to publish on one account."""

    account_external_id: str  # Facebook page id, or LinkedIn author URN
    # repr=False: a request logged or shown in a traceback must not print the token.
    access_token: str = field(repr=False)
    text: str
    link: str | None = None


@dataclass(frozen=True)
class PublishResult:
    """What the platform answered to a successful publish; everything in it is redacted."""

    external_post_id: str
    http_status: int
    request_summary: dict[str, Any]
    raw_response: str


class Connector(Protocol):
    platform: str

    def publish(self, request: PublishRequest) -> PublishResult: ...

    def close(self) -> None: ...


def summarize_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: Any,
    secrets: Iterable[str | None],
) -> dict[str, Any]:
    """Describe a request for the attempt log with every secret masked."""
    secrets = tuple(secrets)
    return {
        "method": method,
        "url": redact_text(url, secrets),
        "headers": redact_data(dict(headers), secrets),
        "body": redact_data(body, secrets),
    }


def redacted_body(text: str | None, secrets: Iterable[str | None]) -> str:
    """A response body as we may store it: token masked, cut to about 10 kB."""
    return clip(redact_text(text or "", secrets))


def parse_json(text: str | None) -> Any | None:
    """The decoded body, or None when it is empty or not JSON (HTML error pages, proxies)."""
    if not text or not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def describe_body(text: str | None) -> str:
    """A few words about a body we could not understand, for the end of an error message."""
    stripped = (text or "").strip()
    if not stripped:
        return "empty response"
    if stripped.startswith("<"):
        # An HTML error page from a proxy or load balancer: its markup helps nobody.
        return "non-JSON (HTML) response"
    snippet = " ".join(stripped.split())
    return f"unexpected response: {snippet[:200]}"


def retry_after_header(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), else None."""
    value = httpx.Headers(headers).get("retry-after", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    if not math.isfinite(seconds):
        return None  # "inf" or "nan" is no hint
    return max(seconds, 0.0)


def transport_error(
    label: str,
    exc: Exception,
    timeout: float,
    secrets: Iterable[str | None],
    request_summary: dict[str, Any],
) -> PlatformError:
    """Turn an httpx failure into a PlatformError, recording whether the request could have left.

    Only failures before the first byte was written (connect, pool, bad URL) are known not to
    have reached the platform; everything later may have created the post.
    """
    reason = redact_text(str(exc) or type(exc).__name__, secrets) or type(exc).__name__
    within = format_seconds(timeout)
    fields: dict[str, Any] = {"request_summary": request_summary}
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        # A misconfigured API URL: retrying cannot help, and nothing was sent.
        return Permanent(f"invalid {label} API URL: {reason}", request_sent=False, **fields)
    if isinstance(exc, httpx.ConnectTimeout):
        return Transient(f"could not reach {label} within {within}", request_sent=False, **fields)
    if isinstance(exc, httpx.PoolTimeout):
        return Transient(
            f"no free connection to {label} within {within}", request_sent=False, **fields
        )
    if isinstance(exc, httpx.TimeoutException):
        return Transient(f"{label} did not answer within {within}", request_sent=True, **fields)
    if isinstance(exc, httpx.ConnectError | httpx.ProxyError):
        return Transient(f"could not reach {label}: {reason}", request_sent=False, **fields)
    return Transient(
        f"connection to {label} failed before it answered: {reason}", request_sent=True, **fields
    )


class HttpConnector:
    """Owns (or borrows) an httpx client and turns transport failures into PlatformErrors."""

    platform: str
    label: str

    def __init__(self, timeout: float, client: httpx.Client | None = None) -> None:
        self._timeout = timeout
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(timeout=timeout)

    def close(self) -> None:
        # A borrowed client belongs to whoever passed it in; closing it would break them.
        if self._owns_client:
            self._client.close()

    def _send(
        self,
        method: str,
        url: str,
        *,
        secrets: Iterable[str | None],
        request_summary: dict[str, Any],
        **kwargs: Any,
    ) -> httpx.Response:
        try:
            # Timeout per request so a borrowed client still honours our configured limit.
            return self._client.request(method, url, timeout=self._timeout, **kwargs)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            error = transport_error(self.label, exc, self._timeout, secrets, request_summary)
        # Raised outside the except block so the httpx exception (whose .request carries the
        # token in headers or body) is not chained as __context__ and cannot leak via tracebacks.
        raise error
