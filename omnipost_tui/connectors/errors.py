"""What can go wrong when publishing, sorted by what the engine should do about it.

The engine only looks at ``kind`` (stored as the attempt's error class), ``retryable`` and, for
rate limits, ``retry_after``; the message is shown to the user as is.
"""

from __future__ import annotations

from typing import Any, ClassVar

from omnipost_tui.redact import redact_data, redact_text

# Raw bodies are kept for diagnosis only; an HTML error page or a huge echo must not bloat the DB.
MAX_RAW_CHARS = 10_000


def clip(text: str | None, limit: int = MAX_RAW_CHARS) -> str:
    """Cut ``text`` to ``limit`` characters, saying how much was dropped."""
    if not text:
        return ""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…[{len(text) - limit} more characters cut]"


class PlatformError(Exception):
    """A publish attempt failed; ``str(err)`` is a readable one-line message for the user."""

    kind: ClassVar[str] = "platform_error"
    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        code: str | None = None,
        raw_body: str | None = None,
        request_summary: dict[str, Any] | None = None,
        request_sent: bool = True,
    ) -> None:
        # Callers redact with the known token already; this generic pass (key=value, Bearer …)
        # is a second net so that no construction path can leak a credential into logs or the DB.
        message = redact_text(message) or ""
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.code = code
        self.raw_body = clip(redact_text(raw_body)) if raw_body is not None else None
        self.request_summary = redact_data(request_summary) if request_summary else None
        # True whenever the request may have reached the platform (read timeout, broken
        # connection after sending, any HTTP answer): the post may exist even though we failed.
        self.request_sent = request_sent

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, http_status={self.http_status!r}, "
            f"code={self.code!r}, request_sent={self.request_sent!r})"
        )


class TokenExpired(PlatformError):
    """The access token expired or was revoked: the account must be reconnected."""

    kind = "token_expired"
    retryable = False


class RateLimited(PlatformError):
    """The platform asked us to slow down; ``retry_after`` is its own wait hint in seconds."""

    kind = "rate_limited"
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]}, retry_after={self.retry_after!r})"


class Transient(PlatformError):
    """A hiccup (server error, timeout, dropped connection) that may succeed when retried."""

    kind = "transient"
    retryable = True


class Permanent(PlatformError):
    """The platform refused this post; sending it again unchanged will fail the same way."""

    kind = "permanent"
    retryable = False


class MaybePublished(PlatformError):
    """The platform accepted the request but its answer is unusable (no post id): the post may
    exist. Never retried automatically; the variant becomes unconfirmed for a human to check."""

    kind = "maybe_published"
    retryable = False


class PermissionDenied(Permanent):
    """The token works but lacks the permission (or role) to post for this account."""

    kind = "permission_denied"


def restate(error: PlatformError, message: str, *, request_sent: bool) -> PlatformError:
    """``error`` (same kind, same details) with a new message and ``request_sent``.

    ``request_sent=False`` is for the preparation before the create call (image uploads):
    whatever happened to such a request, nothing is public yet, so the engine may retry or give
    up but never has to ask a human whether the post exists. A MaybePublished there can only
    be a Transient.
    """
    fields: dict[str, Any] = {
        "http_status": error.http_status,
        "code": error.code,
        "raw_body": error.raw_body,
        "request_summary": error.request_summary,
        "request_sent": request_sent,
    }
    if isinstance(error, RateLimited):
        return RateLimited(message, retry_after=error.retry_after, **fields)
    if isinstance(error, MaybePublished) and not request_sent:
        return Transient(message, **fields)
    return type(error)(message, **fields)
