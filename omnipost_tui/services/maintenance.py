"""Jobs the periodic sweep starts once a day (the token check), run by exactly one worker.

``claim_daily`` is a compare-and-set on ``maintenance_runs``: the first worker whose sweep sees
the day's hour come records the run and gets True; every other sweep that day gets False.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import or_, select, update

from omnipost_tui.db import rows_matched
from omnipost_tui.errors import ConflictError
from omnipost_tui.models import MaintenanceRun
from omnipost_tui.services.context import Context

TOKEN_CHECK = "token_check"


def daily_slot(now: datetime, hour: int, ctx: Context) -> datetime:
    """Today's ``hour`` o'clock in the configured zone, as UTC (on a day the clocks skip that
    hour, the moment after the gap)."""
    local = now.astimezone(ctx.settings.tz)
    return datetime(local.year, local.month, local.day, hour, tzinfo=ctx.settings.tz).astimezone(
        UTC
    )


def claim_daily(ctx: Context, name: str, hour: int, now: datetime) -> bool:
    """True for exactly one caller a day, from ``hour`` (local) on."""
    slot = daily_slot(now, hour, ctx)
    if now < slot:
        return False
    try:
        with ctx.db.write() as session:
            if (
                session.scalar(select(MaintenanceRun.name).where(MaintenanceRun.name == name))
                is None
            ):
                session.add(MaintenanceRun(name=name, last_run_at=None))
                session.flush()
            claimed = session.execute(
                update(MaintenanceRun)
                .where(
                    MaintenanceRun.name == name,
                    or_(MaintenanceRun.last_run_at.is_(None), MaintenanceRun.last_run_at < slot),
                )
                .values(last_run_at=now)
            )
            return rows_matched(claimed) == 1
    except ConflictError:
        return False  # another worker created the row at the same moment, and runs the job


def last_run(ctx: Context, name: str) -> datetime | None:
    with ctx.db.read() as session:
        return session.scalar(select(MaintenanceRun.last_run_at).where(MaintenanceRun.name == name))
