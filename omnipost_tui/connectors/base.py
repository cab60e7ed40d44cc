"""The contract every platform connector fulfils, plus the HTTP plumbing they share."""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Protocol

import httpx

from omnipost_tui.connectors.errors import (
    Permanent,
    PlatformError,
    Transient,
    clip,
    restate,
)
from omnipost_tui.redact import redact_data, redact_text
from omnipost_tui.times import format_seconds


@dataclass(frozen=True)
class ImageUpload:
    """One picture of a post: OmniPost's own copy of the file (named by its content hash)."""

    position: int  # 1-based, the order the platform shows them in
    path: Path
    sha256: str
    size: int  # bytes
    mime: str  # image/jpeg, image/png or image/gif (checked by content when attached)
    alt: str = ""
    name: str = ""  # the file name it was attached from: what messages call it

    @property
    def shown_name(self) -> str:
        return self.name or self.path.name

    def read(self) -> bytes:
        """The file's bytes, checked against the hash it was attached with.

        Raises ``Permanent`` (nothing was sent) when the file is gone or changed: sending some
        other picture, or failing half-way through the uploads, helps nobody.
        """
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise Permanent(
                f"image {self.position} ({self.shown_name}) cannot be read: "
                f"{exc.strerror or type(exc).__name__}; attach it again",
                request_sent=False,
            ) from None
        if hashlib.sha256(data).hexdigest() != self.sha256:
            raise Permanent(
                f"image {self.position} ({self.shown_name}) changed on disk since it was "
                "attached; attach it again",
                request_sent=False,
            )
        return data


@dataclass(frozen=True)
class StagedImage:
    """An image uploaded to the platform but not public yet (a Facebook photo with
    ``published=false``, a LinkedIn image URN): the create call refers to it by ``media_id``."""

    position: int
    sha256: str
    media_id: str
    # For the attempt log: the upload's requests and answers, redacted (never the bytes).
    summary: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class PublishRequest:
    """One post to publish on one account."""

    account_external_id: str  # Facebook page id, or LinkedIn author URN
    # repr=False: a request logged or shown in a traceback must not print the token.
    access_token: str = field(repr=False)
    text: str
    link: str | None = None
    images: tuple[ImageUpload, ...] = ()
    # What ``Connector.stage`` uploaded for this request's images, by position.
    staged: tuple[StagedImage, ...] = ()


@dataclass(frozen=True)
class PublishResult:
    """What the platform answered to a successful publish; everything in it is redacted."""

    external_post_id: str
    http_status: int
    request_summary: dict[str, Any]
    raw_response: str


@dataclass(frozen=True)
class ReadBack:
    """What reading an account's recent posts found: the post we look for, or not.

    ``post_id`` is the post on the account with exactly the text sent, created after ``since``
    (None: not listed); ``listed`` how many posts since then the platform showed.
    """

    post_id: str | None
    listed: int
    created_at: datetime | None = None
    # For the attempt log: the read's requests, redacted.
    summary: dict[str, Any] = field(default_factory=dict, compare=False)


class Connector(Protocol):
    """Publishing is preparation (``stage`` each image ``to_stage`` names; nothing is public
    yet, so any failure there is safe to retry) and then one create call, ``publish``: the
    sending point of DESIGN.md's guarantees."""

    platform: str

    def to_stage(self, request: PublishRequest) -> tuple[ImageUpload, ...]:
        """The images that must be uploaded before ``publish`` (all, some, or none)."""
        ...

    def stage(self, request: PublishRequest, image: ImageUpload) -> StagedImage:
        """Upload one image without making anything public. Raises PlatformError with
        ``request_sent=False`` (never MaybePublished): a lost answer here publishes nothing."""
        ...

    def still_there(self, request: PublishRequest, staged: StagedImage) -> bool:
        """Whether an image staged earlier (by another attempt) can still be used."""
        ...

    def discard(self, request: PublishRequest, staged: StagedImage) -> None:
        """Delete a staged image the post will never use, where the platform allows it.
        Best effort: raises nothing."""
        ...

    def publish(self, request: PublishRequest) -> PublishResult: ...

    def find_post(
        self, request: PublishRequest, since: datetime, exclude: frozenset[str] = frozenset()
    ) -> ReadBack:
        """Read the account's posts created since ``since`` and look for the one ``request``
        would create (its text as this connector sends it), skipping the ids in ``exclude``
        (posts OmniPost already knows as other variants'). Raises PlatformError when the
        platform cannot be asked (no permission, token, an error answer)."""
        ...

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


# How much of an upload's answer the attempt log keeps: enough to see what the platform said.
SHORT_ANSWER = 1_000


# A read-back looks at most this many posts (pages of a listing): an account that posts more than
# that between the sending point and the read is not one a read-back can settle.
READ_BACK_MAX_POSTS = 500


def same_text(listed: str | None, sent: str) -> bool:
    """Whether a listed post's text is the one we sent: platforms may turn CRLF into LF and
    trim the ends, nothing more."""
    if listed is None:
        return False

    def norm(text: str) -> str:
        return text.replace("\r\n", "\n").replace("\r", "\n").strip()

    return norm(listed) == norm(sent)


def image_name(image: ImageUpload) -> str:
    """``image 2 (photo.png)``: how messages name an image, as the user attached it."""
    return f"image {image.position} ({image.shown_name})"


def describe_file(image: ImageUpload) -> str:
    """The file part of an upload as the attempt log shows it: never the bytes."""
    return f"<{image.shown_name}, {image.size} bytes, sha256 {image.sha256[:12]}…>"


def staged_in_order(request: PublishRequest) -> tuple[StagedImage, ...]:
    """The staged counterpart of each of the request's images, in image order.

    A missing one (or one staged from another file) is the caller's mistake, not the
    platform's: publishing without it would post fewer pictures than the user chose.
    """
    by_position = {staged.position: staged for staged in request.staged}
    ordered = []
    for image in sorted(request.images, key=lambda image: image.position):
        staged = by_position.get(image.position)
        if staged is None or staged.sha256 != image.sha256:
            raise ValueError(f"{image_name(image)} was not staged before publish")
        ordered.append(staged)
    return tuple(ordered)


def upload_log(image: ImageUpload) -> dict[str, Any]:
    """The start of a ``StagedImage.summary``: which file; the calls are added as they go."""
    return {
        "image": image.position,
        "file": image.shown_name,
        "size": image.size,
        "sha256": image.sha256,
        "calls": [],
    }


class HttpConnector:
    """Owns (or borrows) an httpx client and turns transport failures into PlatformErrors."""

    platform: str
    label: str

    def __init__(self, timeout: float, client: httpx.Client | None = None) -> None:
        self._timeout = timeout
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(timeout=timeout)

    # Until a platform's connector says otherwise, nothing is staged before the create call.
    def to_stage(self, request: PublishRequest) -> tuple[ImageUpload, ...]:
        return ()

    def stage(self, request: PublishRequest, image: ImageUpload) -> StagedImage:
        raise Permanent(f"{self.label} cannot take images here", request_sent=False)

    def still_there(self, request: PublishRequest, staged: StagedImage) -> bool:
        return False

    def discard(self, request: PublishRequest, staged: StagedImage) -> None:
        return None

    def find_post(
        self, request: PublishRequest, since: datetime, exclude: frozenset[str] = frozenset()
    ) -> ReadBack:
        raise Permanent(f"{self.label} posts cannot be read back", request_sent=False)

    def close(self) -> None:
        # A borrowed client belongs to whoever passed it in; closing it would break them.
        if self._owns_client:
            self._client.close()

    def _upload_call(
        self,
        log: dict[str, Any],
        image: ImageUpload,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        shown_body: Any,
        secrets: tuple[str, ...],
        shown_url: str | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """One request of an image upload, recorded in ``log`` (redacted, without the bytes).

        A transport failure names the image and has ``request_sent=False``: nothing is public
        before the create call, so a lost answer here publishes nothing.
        """
        call = summarize_request(method, shown_url or url, headers, shown_body, secrets)
        log["calls"].append(call)
        try:
            response = self._send(
                method, url, headers=headers, secrets=secrets, request_summary=log, **kwargs
            )
        except PlatformError as exc:
            error = restate(
                exc, f"could not upload {image_name(image)}: {exc.message}", request_sent=False
            )
        else:
            call["http_status"] = response.status_code
            call["answer"] = clip(redact_text(response.text, secrets), SHORT_ANSWER)
            return response
        # Outside the except block, as in _send: nothing of the failed request is chained.
        raise error

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
