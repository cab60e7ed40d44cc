"""Things a human must hear about: repeated failures, expired accounts, tokens about to expire.

Computed from the database on demand, so the TUI, ``status``/``doctor`` and the worker's
notifications all agree. Each alert has a stable ``key``: a screen can remember which ones the
user has looked at, and a new failure makes a new key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from omnipost_tui import clock
from omnipost_tui.models import CONNECTED, EXPIRED, FAIL, ConnectedSocialAccount, PublicationAttempt
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
        failures, latest = session.execute(
            select(func.count(PublicationAttempt.id), func.max(PublicationAttempt.id)).where(
                PublicationAttempt.result == FAIL, PublicationAttempt.finished_at >= since
            )
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
                        key=f"{ACCOUNT_EXPIRED}:{account.id}:{account.updated_at.isoformat()}",
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
