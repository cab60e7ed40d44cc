"""The retry policy, in one place: where a variant goes after an attempt, and how long it waits.

From the product guide: at most MAX_ATTEMPTS attempts, waiting RETRY_BACKOFF[n-1] after attempt
n (1, 5, 15 minutes); token expired → no retry, account expired; rate limited → retry, with the
platform's own wait when it is longer; transient → retry; permanent → fail at once.
One exception the guide did not know about: when the request left and no answer came back
(a read timeout, a connection dropped mid-way), the post may exist, so it is never re-sent
automatically; the variant becomes ``unconfirmed`` and the platform is read back
(services/readback.py) to learn whether it is there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from omnipost_tui.config import Settings
from omnipost_tui.connectors.errors import MaybePublished, PlatformError, RateLimited, TokenExpired
from omnipost_tui.platforms import LABELS
from omnipost_tui.states import FAILED, PUBLISHED, RETRYING, UNCONFIRMED


@dataclass(frozen=True)
class Outcome:
    """Where a variant goes after an attempt (decided here, written by ``complete_attempt``)."""

    status: str  # published | retrying | failed | unconfirmed
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    expire_account: bool = False


def attempts_used_up(attempt_in_round: int, settings: Settings) -> bool:
    """Attempt ``n`` of this round (counted from the last time a user made it due) was the last
    one allowed."""
    return attempt_in_round >= settings.max_attempts


def backoff_seconds(attempt_in_round: int, settings: Settings) -> int:
    """Wait after attempt ``n`` (1-based); the last configured wait repeats."""
    waits = settings.retry_backoff
    return waits[min(attempt_in_round, len(waits)) - 1]


# What happens next to every variant that becomes unconfirmed (services/readback.py).
READING_BACK = "OmniPost reads the page back to find out"


def unconfirmed_hint(variant_id: int) -> str:
    """What a human does about an unconfirmed variant: the same words wherever one arises."""
    return (
        f"Check the page, then mark it published (omnipost variant mark-published "
        f"{variant_id}) or retry it (omnipost retry {variant_id})"
    )


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
    if attempts_used_up(attempt_in_round, settings):
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
            f"on the page: {READING_BACK}"
        ),
    )


def before_sending(
    reason: str,
    *,
    attempt_in_round: int,
    settings: Settings,
    now: datetime,
    wait: bool = True,
) -> Outcome:
    """Nothing was sent (an error while preparing the request, a worker that stopped before
    sending): nothing was published, so retry if attempts are left, after the usual wait or
    (``wait=False``) at once."""
    if attempts_used_up(attempt_in_round, settings):
        return Outcome(status=FAILED, last_error=f"{reason}; that was the last allowed attempt")
    delay = backoff_seconds(attempt_in_round, settings) if wait else 0
    return Outcome(
        status=RETRYING,
        next_attempt_at=now + timedelta(seconds=delay),
        last_error=f"{reason}; retrying",
    )
