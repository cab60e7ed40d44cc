"""The retry policy, in one place: what happens to a variant after a failed attempt.

From the product guide: at most MAX_ATTEMPTS attempts, waiting RETRY_BACKOFF[n-1] after attempt
n (1, 5, 15 minutes); token expired → no retry, account expired; rate limited → retry, with the
platform's own wait when it is longer; transient → retry; permanent → fail at once.
One exception the guide did not know about: when the request left and no answer came back
(a read timeout, a connection dropped mid-way), the post may exist, so it is never re-sent
automatically; the variant becomes ``unconfirmed`` for a human to check.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from omnipost_tui.config import Settings
from omnipost_tui.connectors.errors import MaybePublished, PlatformError, RateLimited, TokenExpired
from omnipost_tui.models import FAILED, PUBLISHED, RETRYING, UNCONFIRMED
from omnipost_tui.platforms import LABELS
from omnipost_tui.services.publishing import Outcome, unconfirmed_hint


def backoff_seconds(attempt_in_round: int, settings: Settings) -> int:
    """Wait after attempt ``n`` (1-based); the last configured wait repeats."""
    waits = settings.retry_backoff
    return waits[min(attempt_in_round, len(waits)) - 1]


def success() -> Outcome:
    return Outcome(status=PUBLISHED)


def after_error(
    error: PlatformError,
    *,
    attempt_in_round: int,
    settings: Settings,
    now: datetime,
    platform: str,
    variant_id: int,
    account_id: int,
    account_name: str,
) -> Outcome:
    label = LABELS.get(platform, platform)
    if isinstance(error, TokenExpired):
        return Outcome(
            status=FAILED,
            # The platform's own words stay in the attempt row; this says what to do.
            last_error=(
                f"{label} says the token of {account_name} expired or was revoked: reconnect "
                f"it (omnipost account reconnect {account_id}), then retry"
            ),
            expire_account=True,
        )
    if isinstance(error, MaybePublished):
        return maybe_published(error.message, label, variant_id)
    if not error.retryable:
        return Outcome(status=FAILED, last_error=f"{label} refused the post: {error.message}")
    if error.request_sent and error.http_status is None:
        return maybe_published(error.message, label, variant_id)
    if attempt_in_round >= settings.max_attempts:
        return Outcome(
            status=FAILED,
            last_error=f"gave up after {attempt_in_round} attempts; last error: {error.message}",
        )
    wait = float(backoff_seconds(attempt_in_round, settings))
    hint = error.retry_after if isinstance(error, RateLimited) else None
    if hint is not None and math.isfinite(hint) and hint > wait:
        # A platform's own wait wins, but never past the point where the post would be missed.
        wait = min(hint, float(settings.max_lateness))
    return Outcome(
        status=RETRYING,
        next_attempt_at=now + timedelta(seconds=wait),
        last_error=error.message,
    )


def maybe_published(reason: str, label: str, variant_id: int) -> Outcome:
    return Outcome(
        status=UNCONFIRMED,
        last_error=(
            f"the request reached {label} but no answer came back ({reason}); the post may be "
            f"on the page. {unconfirmed_hint(variant_id)}"
        ),
    )


def before_sending(
    reason: str, *, attempt_in_round: int, settings: Settings, now: datetime
) -> Outcome:
    """An unexpected error before the request left: nothing was published, retry if allowed."""
    if attempt_in_round >= settings.max_attempts:
        return Outcome(status=FAILED, last_error=reason)
    wait = backoff_seconds(attempt_in_round, settings)
    return Outcome(
        status=RETRYING, next_attempt_at=now + timedelta(seconds=wait), last_error=reason
    )
