"""What a monitoring system needs to notice a dead worker: Prometheus text exposition 0.0.4.

``omnipost metrics`` prints it (for node_exporter's textfile collector) and
``omnipost worker --metrics-port`` serves it. Everything here only reads, with one GROUP BY per
table on the indexes, so a scrape every 15 s costs a few milliseconds on 100,000 variants.

A source that cannot be read is a metric (``omnipost_database_up 0``, ``omnipost_queue_up 0``),
not an error: the rest is still written, and an alert rule can fire on it. Families that come
from a source that is down are left out rather than written as zeros, which would be a lie.
Nothing secret is ever in the text: no token, no URL (it may carry a password), no error text.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from omnipost_tui import __version__, clock
from omnipost_tui.config import Settings
from omnipost_tui.errors import OmniPostError
from omnipost_tui.models import (
    ACCOUNT_STATUSES,
    ConnectedSocialAccount,
    PostVariant,
    PublicationAttempt,
)
from omnipost_tui.services import workers
from omnipost_tui.services.context import Context, QueueOpener, WorkQueue
from omnipost_tui.services.status import variant_counts

log = logging.getLogger("omnipost.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Lateness is a recent picture: the posts that went out within this window.
LATENESS_WINDOW = timedelta(hours=1)
# An attempt with no result yet is on its way (or its worker died and the sweep will settle it).
IN_FLIGHT = "in_flight"

Labels = tuple[tuple[str, str], ...]


@dataclass
class Family:
    """One metric family: its name, type, help and samples (labels, value)."""

    name: str
    kind: str  # gauge | counter
    help: str
    samples: list[tuple[Labels, float]] = field(default_factory=list)

    def add(self, value: float, **labels: str) -> Family:
        self.samples.append((tuple(labels.items()), value))
        return self


def gauge(name: str, help: str, value: float | None = None) -> Family:
    family = Family(name, "gauge", help)
    if value is not None:
        family.add(value)
    return family


# --- the text format ----------------------------------------------------------------------------


def escape_label(value: str) -> str:
    """Label values escape backslash, double quote and line feed (exposition format 0.0.4)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(text: str) -> str:
    """HELP text escapes backslash and line feed (quotes stay as they are)."""
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def render(families: Iterable[Family]) -> str:
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {escape_help(family.help)}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for labels, value in family.samples:
            shown = ",".join(f'{key}="{escape_label(val)}"' for key, val in labels)
            name = f"{family.name}{{{shown}}}" if labels else family.name
            lines.append(f"{name} {format_value(value)}")
    return "\n".join(lines) + "\n"


# --- collecting ---------------------------------------------------------------------------------


def nearest_rank(sorted_values: list[float], q: float) -> float:
    """The q-quantile by nearest rank: a value that was really seen, never an interpolation."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


def _database_families(ctx: Context, now: datetime) -> list[Family]:
    """Everything that comes from the database, in one read session."""
    with ctx.db.read() as session:
        by_status, due = variant_counts(session, now)
        accounts = dict.fromkeys(ACCOUNT_STATUSES, 0)
        accounts.update(
            session.execute(
                select(ConnectedSocialAccount.status, func.count()).group_by(
                    ConnectedSocialAccount.status
                )
            ).all()
        )
        attempts = session.execute(
            select(PublicationAttempt.result, PublicationAttempt.error_class, func.count())
            .group_by(PublicationAttempt.result, PublicationAttempt.error_class)
            .order_by(PublicationAttempt.result, PublicationAttempt.error_class)
        ).all()
        attempt_rows = [(r or IN_FLIGHT, c or "", n) for r, c, n in attempts]
        # First attempts only: a retry is late on purpose. On the finished_at index.
        sent = session.execute(
            select(PublicationAttempt.sent_at, PostVariant.scheduled_at)
            .join(PostVariant, PostVariant.id == PublicationAttempt.variant_id)
            .where(
                PublicationAttempt.finished_at >= now - LATENESS_WINDOW,
                PublicationAttempt.result == "success",
                PublicationAttempt.attempt_no == 1,
                PublicationAttempt.sent_at.is_not(None),
                PostVariant.scheduled_at.is_not(None),
            )
        ).all()
        lateness = sorted(
            (sent_at - planned).total_seconds()
            for sent_at, planned in sent
            if sent_at is not None and planned is not None and sent_at >= planned
        )
    families = [
        Family("omnipost_variants", "gauge", "Variants per status (every status, 0 included)."),
        gauge(
            "omnipost_variants_due",
            "Variants due now that no worker has claimed yet (stays above 0: no worker).",
            due or 0,
        ),
        Family("omnipost_accounts", "gauge", "Connected accounts per status."),
        Family(
            "omnipost_attempts_total",
            "counter",
            "Publication attempts by result (success, fail, interrupted, in_flight) and "
            "error class.",
        ),
    ]
    for status, count in by_status.items():
        families[0].add(count, status=status)
    for status, count in accounts.items():
        families[2].add(count, status=status)
    for result, error_class, count in attempt_rows:
        families[3].add(count, result=result, error_class=error_class)
    window = int(LATENESS_WINDOW.total_seconds())
    families.append(
        Family(
            "omnipost_publish_lateness_seconds",
            "gauge",
            f"Seconds from the planned time to the sending point of first attempts that "
            f"succeeded within the last {window} s (NaN when none; publish-now ahead of the "
            "plan left out).",
        )
        .add(nearest_rank(lateness, 0.5), quantile="0.5")
        .add(nearest_rank(lateness, 0.99), quantile="0.99")
        .add(lateness[-1] if lateness else math.nan, quantile="1")
    )
    families.append(
        gauge(
            "omnipost_publish_lateness_posts",
            f"How many posts the lateness quantiles are taken from (last {window} s).",
            len(lateness),
        )
    )
    families.extend(_worker_families(ctx, now))
    return families


def _worker_families(ctx: Context, now: datetime) -> list[Family]:
    seen = workers.list_workers(ctx)
    per_worker = Family(
        "omnipost_worker_heartbeat_age_seconds",
        "gauge",
        "Seconds since each worker's last heartbeat (it beats every 5 s; rows of workers "
        "stopped over 7 days ago are dropped).",
    )
    online = Family("omnipost_worker_online", "gauge", "1 while the worker beats, 0 once not.")
    for w in seen:
        periodic = "true" if w.periodic else "false"
        per_worker.add(round(w.age(now), 3), worker=w.id, periodic=periodic)
        online.add(1 if w.online(now) else 0, worker=w.id)
    freshest = min((w.age(now) for w in seen), default=math.inf)
    sweeps = [w.last_sweep_at for w in seen if w.last_sweep_at is not None]
    sweep_age = (now - max(sweeps)).total_seconds() if sweeps else math.inf
    return [
        gauge(
            "omnipost_heartbeat_age_seconds",
            "Seconds since the freshest heartbeat of any worker (+Inf: no worker ever ran).",
            round(freshest, 3),
        ),
        gauge(
            "omnipost_last_sweep_age_seconds",
            "Seconds since the last sweep of any worker (it runs every minute; +Inf: never).",
            round(sweep_age, 3),
        ),
        gauge(
            "omnipost_workers_online",
            "Workers whose heartbeat is at most 30 s old.",
            sum(1 for w in seen if w.online(now)),
        ),
        per_worker,
        online,
    ]


def _queue_families(queue: WorkQueue) -> list[Family]:
    pending, scheduled = queue.counts()
    return [
        Family("omnipost_queue_messages", "gauge", "Messages in the queue, by state.")
        .add(pending, state="pending")
        .add(scheduled, state="scheduled")
    ]


def _reason(exc: BaseException) -> str:
    # Our errors are written for users and hold no secret (URLs are masked); anything else is
    # named by its type only, as a driver's message may quote a connection string.
    return exc.message if isinstance(exc, OmniPostError) else type(exc).__name__


def _debug_traceback(exc: BaseException) -> None:
    # A bug rather than an outage keeps its traceback, for whoever runs with -v.
    if not isinstance(exc, OmniPostError):
        log.debug("metrics: the failure", exc_info=exc)


def collect(
    ctx: Context | None,
    settings: Settings,
    open_queue: QueueOpener | None = None,
    *,
    database_error: str | None = None,
) -> list[Family]:
    """Every family, from the context's database and queue.

    ``ctx`` None: the database could not be opened (``database_error`` says why, for the log);
    the queue is then reached through ``open_queue``. Never raises for a source that is down.
    """
    started = time.perf_counter()
    now = clock.now()
    families = [
        gauge("omnipost_up", "1: this exposition was produced.", 1),
        Family("omnipost_build_info", "gauge", "The OmniPost version, as a label.").add(
            1, version=__version__
        ),
    ]
    db_families: list[Family] = []
    db_up = 0
    if ctx is not None:
        try:
            db_families = _database_families(ctx, now)
            db_up = 1
        except Exception as exc:  # a scrape reports; it never takes its process down
            database_error = _reason(exc)
            _debug_traceback(exc)
    if database_error:
        log.warning("metrics: the database could not be read: %s", database_error)
    queue_families: list[Family] = []
    queue_up = 0
    try:
        queue = _queue_of(ctx, settings, open_queue)
        try:
            queue_families = _queue_families(queue)
            queue_up = 1
        finally:
            if ctx is None:
                queue.close()
    except Exception as exc:
        log.warning("metrics: the queue could not be read: %s", _reason(exc))
        _debug_traceback(exc)
    families += [
        gauge("omnipost_database_up", "1 when the database could be read, else 0.", db_up),
        gauge("omnipost_queue_up", "1 when the queue could be read, else 0.", queue_up),
        *db_families,
        *queue_families,
    ]
    families.append(
        gauge(
            "omnipost_metrics_duration_seconds",
            "How long collecting these metrics took.",
            round(time.perf_counter() - started, 6),
        )
    )
    return families


def _queue_of(ctx: Context | None, settings: Settings, open_queue: QueueOpener | None) -> WorkQueue:
    if ctx is not None:
        return ctx.queue
    if open_queue is None:
        raise RuntimeError("no way to open the queue")
    return open_queue(settings, None)


def metrics_text(ctx: Context) -> str:
    """The exposition for a process that has its context open (the worker's endpoint)."""
    return render(collect(ctx, ctx.settings))


def metrics_text_for(
    settings: Settings, open_context: Callable[[], Context], open_queue: QueueOpener
) -> tuple[str, Context | None]:
    """The exposition for ``omnipost metrics``: a database that cannot be opened is
    ``omnipost_database_up 0``, not an error. Returns the context it opened (to close)."""
    try:
        ctx: Context | None = open_context()
        error = None
    except OmniPostError as exc:
        ctx, error = None, exc.message
    return render(collect(ctx, settings, open_queue, database_error=error)), ctx
