"""Things a human must hear about: repeated failures, expired accounts, tokens about to expire.

Computed from the database on demand, so the TUI, ``status``/``doctor`` and the worker's
notifications all agree. Each alert has a stable ``key``: a screen can remember which ones the
user has looked at, and a new failure makes a new key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import func, select, update

from omnipost_tui import clock
from omnipost_tui.db import rows_matched
from omnipost_tui.errors import ConflictError
from omnipost_tui.models import (
    CONNECTED,
    EXPIRED,
    FAIL,
    AlertRecord,
    ConnectedSocialAccount,
    PublicationAttempt,
)
from omnipost_tui.platforms import LABELS
from omnipost_tui.services.context import Context
from omnipost_tui.times import format_duration

EXPIRY_WARNING = timedelta(days=7)

REPEATED_FAILURES = "repeated_failures"
ACCOUNT_EXPIRED = "account_expired"
TOKEN_EXPIRING = "token_expiring"


@dataclass(frozen=True)
class Alert:
    key: str
    kind: str
    message: str
    account_id: int | None = None


def current_alerts(ctx: Context, now: datetime | None = None) -> list[Alert]:
    now = now or clock.now()
    settings = ctx.settings
    alerts: list[Alert] = []
    since = now - timedelta(seconds=settings.alert_window)
    with ctx.db.read() as session:
        # The result is a FILTER, not a WHERE: the attempts of the window are found on the
        # finished_at index; offered the result in the WHERE, SQLite walks every failure
        # there ever was instead (84 ms on 300,000 attempts, every few seconds in the TUI).
        failed = PublicationAttempt.result == FAIL
        failures, latest = session.execute(
            select(
                func.count(PublicationAttempt.id).filter(failed),
                func.max(PublicationAttempt.id).filter(failed),
            ).where(PublicationAttempt.finished_at >= since)
        ).one()
        accounts = session.scalars(
            select(ConnectedSocialAccount)
            .where(ConnectedSocialAccount.status.in_((CONNECTED, EXPIRED)))
            .order_by(ConnectedSocialAccount.id)
        ).all()
        if failures >= settings.alert_failures:
            alerts.append(
                Alert(
                    key=f"{REPEATED_FAILURES}:{latest}",
                    kind=REPEATED_FAILURES,
                    message=(
                        f"{failures} failed attempts in the last "
                        f"{format_duration(settings.alert_window)}"
                    ),
                )
            )
        for account in accounts:
            label = f"{LABELS.get(account.platform, account.platform)} account {account.name}"
            if account.status == EXPIRED:
                alerts.append(
                    Alert(
                        key=f"{ACCOUNT_EXPIRED}:{account.id}:{_expiry_moment(account)}",
                        kind=ACCOUNT_EXPIRED,
                        message=f"{label} expired; reconnect it to keep publishing",
                        account_id=account.id,
                    )
                )
            elif (
                account.token_expires_at is not None
                and account.token_expires_at - now <= EXPIRY_WARNING
            ):
                left = account.token_expires_at - now
                when = (
                    "has expired"
                    if left.total_seconds() <= 0
                    else f"expires in {format_duration(left.total_seconds())}"
                )
                alerts.append(
                    Alert(
                        key=f"{TOKEN_EXPIRING}:{account.id}:{account.token_expires_at.isoformat()}",
                        kind=TOKEN_EXPIRING,
                        message=f"{label}: token {when}",
                        account_id=account.id,
                    )
                )
    # Most urgent first: something is failing or cannot publish, before a warning about soon.
    severity = {REPEATED_FAILURES: 0, ACCOUNT_EXPIRED: 1, TOKEN_EXPIRING: 2}
    return sorted(alerts, key=lambda alert: severity[alert.kind])


def _expiry_moment(account: ConnectedSocialAccount) -> str:
    """When it expired (one alert per expiry); renames and token checks leave this alone."""
    moment = account.expired_at or account.updated_at
    return moment.isoformat()


# --- raising and delivering (the worker) ---------------------------------------------------------

# Worth telling someone right away; a token that expires next week is for the TUI and doctor.
RAISED_KINDS = (REPEATED_FAILURES, ACCOUNT_EXPIRED)
DELIVERY_WAITS = (10, 30, 90, 300, 900)  # seconds before each retry of a failed webhook POST


# A delivery in flight holds the alert this long, so a second worker does not POST it too.
DELIVERY_LEASE = timedelta(seconds=60)


def raise_alerts(ctx: Context, now: datetime | None = None) -> list[Alert]:
    """Record the alerts not raised before and return them (each is raised once).

    Repeated failures: at most one alert per alert window, however the failures fall across
    it. An expired account: one alert per expiry.
    """
    now = now or clock.now()
    fresh = []
    for alert in current_alerts(ctx, now):
        if alert.kind not in RAISED_KINDS:
            continue
        key = alert.key
        if alert.kind == REPEATED_FAILURES:
            # The window's number: two workers noticing at the same moment pick the same key.
            key = f"{REPEATED_FAILURES}:{int(now.timestamp() // ctx.settings.alert_window)}"
        if _record(ctx, key, alert, now):
            fresh.append(Alert(key, alert.kind, alert.message, alert.account_id))
    return fresh


def _record(ctx: Context, key: str, alert: Alert, now: datetime) -> bool:
    try:
        with ctx.db.write() as session:
            if session.get(AlertRecord, key) is not None:
                return False
            if alert.kind == REPEATED_FAILURES:
                since = now - timedelta(seconds=ctx.settings.alert_window)
                recent = session.scalar(
                    select(func.count(AlertRecord.key)).where(
                        AlertRecord.kind == REPEATED_FAILURES, AlertRecord.raised_at > since
                    )
                )
                if recent:
                    return False  # the same burst, already reported
            session.add(
                AlertRecord(
                    key=key,
                    kind=alert.kind,
                    message=alert.message,
                    raised_at=now,
                    delivery_attempts=0,
                    next_attempt_at=now,
                )
            )
    except ConflictError:
        return False  # another worker recorded it a moment ago
    return True


def alerts_to_deliver(ctx: Context, now: datetime | None = None) -> list[str]:
    """Keys of alerts whose next webhook POST is due (a lost queue message is caught here)."""
    if not ctx.settings.alert_webhook:
        return []
    now = now or clock.now()
    with ctx.db.read() as session:
        return list(
            session.scalars(
                select(AlertRecord.key).where(
                    AlertRecord.delivered_at.is_(None),
                    AlertRecord.next_attempt_at.is_not(None),
                    AlertRecord.next_attempt_at <= now,
                )
            ).all()
        )


@dataclass(frozen=True)
class Delivery:
    delivered: bool
    retry_in: float | None  # seconds until the next try; None: no further try
    error: str | None = None


def deliver_alert(ctx: Context, key: str, *, client: httpx.Client | None = None) -> Delivery:
    """POST one alert to the webhook as Slack-compatible JSON ``{"text": …}``.

    Only when it is due and nobody else is sending it (a short lease in the database); the
    caller (a queue task) schedules the retry; attempts are counted in the database.
    """
    url = ctx.settings.alert_webhook
    now = clock.now()
    if not url or not _take(ctx, key, now):
        return Delivery(delivered=False, retry_in=None)
    with ctx.db.read() as session:
        record = session.get(AlertRecord, key)
        assert record is not None  # _take just leased it, and alerts are never deleted
        message, attempts = record.message, record.delivery_attempts
    error = None
    try:
        http = client or httpx.Client(timeout=min(ctx.settings.http_timeout, 10.0))
        try:
            response = http.post(url, json={"text": f"OmniPost: {message}"})
        finally:
            if client is None:
                http.close()
        if not response.is_success:
            error = f"the webhook answered HTTP {response.status_code}"
    except httpx.HTTPError as exc:
        # The URL is a credential: say what went wrong, never where.
        error = f"could not reach the webhook ({type(exc).__name__})"
    now = clock.now()
    attempts += 1
    retry_in = None
    if error is not None and attempts <= len(DELIVERY_WAITS):
        retry_in = DELIVERY_WAITS[attempts - 1]
    with ctx.db.write() as session:
        record = session.get(AlertRecord, key)
        assert record is not None  # still there: alerts are never deleted
        record.delivery_attempts = attempts
        record.last_error = error
        if error is None:
            record.delivered_at = now
            record.next_attempt_at = None
        else:
            record.next_attempt_at = now + timedelta(seconds=retry_in) if retry_in else None
    if error is None:
        return Delivery(delivered=True, retry_in=None)
    return Delivery(delivered=False, retry_in=retry_in, error=error)


def _take(ctx: Context, key: str, now: datetime) -> bool:
    """Compare-and-set a lease on a due, undelivered alert; False: not due, or already taken."""
    with ctx.db.write() as session:
        taken = rows_matched(
            session.execute(
                update(AlertRecord)
                .where(
                    AlertRecord.key == key,
                    AlertRecord.delivered_at.is_(None),
                    AlertRecord.next_attempt_at.is_not(None),
                    AlertRecord.next_attempt_at <= now,
                )
                .values(next_attempt_at=now + DELIVERY_LEASE)
            )
        )
    return taken == 1
