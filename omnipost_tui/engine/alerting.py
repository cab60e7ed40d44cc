"""Telling a human: every raised alert is a log line, and a webhook POST when one is configured.

Raising is a quick database check done after failed attempts and by the sweep; the POST is a
queue task of its own, so a slow or broken webhook never holds up publishing.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from omnipost_tui import clock
from omnipost_tui.services import alerts
from omnipost_tui.services.context import Context

log = logging.getLogger("omnipost.alerts")


def notice(ctx: Context, *, resend: bool = False) -> None:
    """Raise whatever alert is due now, and (``resend``: the sweep) queue any webhook POST that
    is due but has no message on its way. Never raises: alerting must not break publishing."""
    try:
        raised = alerts.raise_alerts(ctx)
    except Exception:
        log.exception("could not check alerts")
        return
    for alert in raised:
        log.warning("ALERT: %s", alert.message, extra={"outcome": alert.kind})
    keys = [a.key for a in raised] if ctx.settings.alert_webhook else []
    if resend:
        try:
            keys = sorted(set(keys) | set(alerts.alerts_to_deliver(ctx)))
        except Exception:
            log.exception("could not look for alerts to send")
    for key in keys:
        try:
            ctx.queue.enqueue_alert(key)
        except Exception:
            # Recorded as due in the database: the next sweep queues it again.
            log.warning("could not queue alert %s; the sweep will", key)


def deliver(ctx: Context, key: str) -> None:
    """The queue task: POST one alert; on failure, queue the next try (counted in the database)."""
    result = alerts.deliver_alert(ctx, key)
    if result.delivered or result.error is None:
        return  # sent, or not due / being sent by another worker
    if result.retry_in is None:
        log.error("gave up sending alert %s to the webhook: %s", key, result.error)
        return
    log.warning("alert %s not sent (%s); trying again in %ds", key, result.error, result.retry_in)
    ctx.queue.enqueue_alert(key, clock.now() + timedelta(seconds=result.retry_in))
