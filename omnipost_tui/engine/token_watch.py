"""The daily token check: once a day, at ``token_check_hour`` (local), one worker renews every
token that expires within the warning window and says what needs a human.

The sweep starts it (``start_if_due``, a compare-and-set in the database, so several workers
run it once); it runs as a queue task of its own, since it waits on the platforms.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from omnipost_tui.engine import alerting
from omnipost_tui.engine.queue import engine_queue
from omnipost_tui.services import maintenance, tokens
from omnipost_tui.services.alerts import EXPIRY_WARNING
from omnipost_tui.services.context import Context
from omnipost_tui.services.views import AccountView
from omnipost_tui.times import format_duration

log = logging.getLogger("omnipost.engine.tokens")


def start_if_due(ctx: Context, now: datetime) -> bool:
    """Queue today's token check if its hour has come, no worker ran it yet today, and there is
    something OmniPost can renew by itself (else nothing is sent anywhere)."""
    hour = ctx.settings.token_check_hour
    if not maintenance.claim_daily(ctx, maintenance.TOKEN_CHECK, hour, now):
        return False
    if not _renewable_soon(ctx):
        log.debug("daily token check: nothing OmniPost can renew expires within the window")
        return False
    try:
        engine_queue(ctx).enqueue_token_check()
    except Exception:
        # Claimed but not queued: today's check is skipped (tomorrow's comes); said once.
        log.warning("could not queue today's token check; it runs again tomorrow")
        return False
    return True


# Renewed this far ahead: before the "expiring" warning (EXPIRY_WARNING) would ask a human about
# a token OmniPost renews by itself (the check runs once a day, so a day more, and one spare).
RENEW_WITHIN = EXPIRY_WARNING + timedelta(days=2)


def _renewable_soon(ctx: Context) -> list[AccountView]:
    return [v for v in tokens.expiring_accounts(ctx, RENEW_WITHIN) if tokens.renewable(ctx, v)]


def check_tokens(ctx: Context) -> list[tokens.TokenOutcome]:
    """Renew what expires within RENEW_WITHIN and can be renewed; log each account's
    outcome; raise the usual alerts for what needs a human (an expired account, a token about
    to run out that cannot be renewed)."""
    window = format_duration(RENEW_WITHIN.total_seconds())
    outcomes = []
    for view in _renewable_soon(ctx):
        outcome = tokens.refresh_one(ctx, view.id)
        outcomes.append(outcome)
        extra = {"account": outcome.account_id, "platform": outcome.platform}
        if outcome.ok:
            log.info("daily token check: renewed", extra={**extra, "outcome": "renewed"})
        else:
            log.warning(
                "daily token check: %s", outcome.error, extra={**extra, "outcome": "needs you"}
            )
    log.info(
        "daily token check: %d renewable token(s) expiring within %s, %d renewed",
        len(outcomes),
        window,
        sum(o.ok for o in outcomes),
    )
    alerting.notice(ctx)
    return outcomes
