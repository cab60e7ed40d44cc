"""The periodic sweep (every minute in the worker; ``omnipost schedule`` runs it by hand).

It is the safety net behind exact etas: it recovers variants whose worker died, fails variants
too late to publish, and dispatches everything due within the look-ahead that has no message on
its way. It is idempotent: several sweeps at once only send harmless duplicate messages.

Every sweep (the worker's each minute, ``worker --once``, ``omnipost schedule``) ends with the
heartbeat ping when ``heartbeat_url`` is set: the dead man's switch that notices a worker gone.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from omnipost_tui import clock
from omnipost_tui.engine import alerting, heartbeat_ping, readback, token_watch
from omnipost_tui.engine.queue import engine_queue
from omnipost_tui.services import publishing, staging, workers
from omnipost_tui.services.context import Context
from omnipost_tui.services.dispatch import Dispatched, dispatch, forget_dispatches
from omnipost_tui.services.publishing import Recovered

log = logging.getLogger("omnipost.engine.sweep")


@dataclass
class SweepReport:
    recovered: list[Recovered] = field(default_factory=list)
    missed: list[int] = field(default_factory=list)
    dispatched: list[Dispatched] = field(default_factory=list)
    token_check: bool = False  # this sweep started the daily token check
    staging: list[int] = field(default_factory=list)  # variants whose images go up early
    read_backs: list[int] = field(default_factory=list)  # unconfirmed variants asked about


def _stage_images_ahead(ctx: Context, now: datetime) -> list[int]:
    """Queue the upload of images due within ``stage_media_before`` (so that at the minute
    only the create call is left), and the clean-up of uploads nothing will use."""
    ahead = timedelta(seconds=ctx.settings.stage_media_before)
    variant_ids = staging.due_to_stage(ctx, now, ahead)
    for variant_id in variant_ids:
        engine_queue(ctx).enqueue_stage(variant_id)
    if staging.stale(ctx):
        engine_queue(ctx).enqueue_discard()
    return variant_ids


def sweep(ctx: Context, *, worker_id: str | None = None) -> SweepReport:
    """One sweep, then the heartbeat ping with its outcome (a sweep that raises pings too)."""
    started = time.monotonic()

    def elapsed_ms() -> int:
        return round((time.monotonic() - started) * 1000)

    try:
        report = _sweep(ctx, worker_id)
    except Exception as exc:
        heartbeat_ping.ping(ctx.settings, heartbeat_ping.outcome_of_crash(exc, elapsed_ms()))
        raise
    if ctx.settings.heartbeat_url:  # counting what waits for a human is for the monitor only
        outcome = heartbeat_ping.outcome_of_sweep(
            ctx,
            dispatched=len(report.dispatched),
            recovered=len(report.recovered),
            missed=len(report.missed),
            duration_ms=elapsed_ms(),
        )
        heartbeat_ping.ping(ctx.settings, outcome)
    return report


def _sweep(ctx: Context, worker_id: str | None) -> SweepReport:
    now = clock.now()
    report = SweepReport()
    report.recovered = publishing.recover_stuck(ctx, now)
    for item in report.recovered:
        log.warning(
            "recovered a stuck publish", extra={"variant": item.variant_id, "outcome": item.status}
        )
    if report.recovered:
        # A worker died. Besides its claims it may have held messages it had taken but not
        # claimed yet (one waiting out an early arrival, one per thread): those are gone, and
        # the sweep would send them again only once they look stale, minutes later. Sent again
        # now instead; duplicates are harmless (claims are CAS).
        forget_dispatches(ctx)
    report.missed = publishing.fail_missed(ctx, now)
    for variant_id in report.missed:
        log.warning("missed its window", extra={"variant": variant_id, "outcome": "failed"})
    report.dispatched = dispatch(ctx, publishing.due_for_dispatch(ctx, now), now)
    if report.dispatched:
        log.info("dispatched %d variant(s)", len(report.dispatched))
    report.staging = _stage_images_ahead(ctx, now)
    report.read_backs = readback.queue_due(ctx, now)
    # The safety net: what changed while no worker ran, and webhook POSTs whose message was lost.
    alerting.notice(ctx, resend=True)
    report.token_check = token_watch.start_if_due(ctx, now)
    workers.record_sweep(ctx, worker_id or ctx.worker_id)
    return report
