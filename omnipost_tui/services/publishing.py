"""State changes made by the publishing engine: claim, sending point, completion, recovery.

DESIGN.md, "Publishing guarantees": a claim is an atomic compare-and-set with a lease; the
attempt row is committed before the request and marked at the sending point; completion writes
the attempt and the variant's new status in one transaction, guarded by the claim token.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    bindparam,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from omnipost_tui.db import rows_matched
from omnipost_tui.image_modes import IMAGES_INHERIT, IMAGES_NONE, IMAGES_OWN
from omnipost_tui.models import (
    ACCOUNTS,
    ATTEMPTS,
    CONNECTED,
    EXPIRED,
    INTERRUPTED,
    MEDIA_FILES,
    POST_IMAGES,
    POSTS,
    VARIANT_IMAGES,
    VARIANTS,
    ConnectedSocialAccount,
    PostVariant,
    PublicationAttempt,
    UTCDateTime,
)
from omnipost_tui.platforms import LABELS
from omnipost_tui.services import retry
from omnipost_tui.services.context import Context
from omnipost_tui.services.dispatch import LOOKAHEAD, STALE_DISPATCH
from omnipost_tui.services.retry import Outcome
from omnipost_tui.services.transitions import PreparedMove, move_each_still_due, move_variants
from omnipost_tui.services.views import ImageView, text_to_publish
from omnipost_tui.states import (
    FAILED,
    PUBLISHED,
    PUBLISHING,
    UNCONFIRMED,
    WAITING,
    due_by,
    due_time,
    still_due_at,
)
from omnipost_tui.text import storable
from omnipost_tui.times import format_local


@dataclass(frozen=True)
class DueState:
    """What the engine needs to know about a variant before claiming it."""

    variant_id: int
    status: str
    scheduled_at: datetime | None
    due_at: datetime | None
    account_id: int
    account_name: str
    account_status: str
    token_expires_at: datetime | None
    # As read: marking the account expired for it must not hit a token renewed meanwhile.
    access_token_encrypted: str = field(default="", repr=False)


# The publish path's statements run on the session's connection as Core statements over the
# tables (models.VARIANTS…): the ORM's loading, unit of work and bulk-update machinery were
# most of a publish's CPU (tests/benchmarks/publish_cost.py), CPU a burst does not have.


def _due_state_statement() -> Select[Any]:
    v, a = VARIANTS.c, ACCOUNTS.c
    return (
        select(
            v.status,
            v.scheduled_at,
            v.next_attempt_at,
            v.account_id,
            a.name,
            a.status.label("account_status"),
            a.token_expires_at,
            a.access_token_encrypted,
        )
        .join_from(VARIANTS, ACCOUNTS, v.account_id == a.id)
        .where(v.id == bindparam("variant"))
    )


_DUE_STATE = _due_state_statement()


def load_due_state(ctx: Context, variant_id: int) -> DueState | None:
    with ctx.db.read() as session:
        row = session.connection().execute(_DUE_STATE, {"variant": variant_id}).first()
        if row is None:
            return None
        return DueState(
            variant_id=variant_id,
            status=row.status,
            scheduled_at=row.scheduled_at,
            due_at=due_time(row.status, row.scheduled_at, row.next_attempt_at),
            account_id=row.account_id,
            account_name=row.name,
            account_status=row.account_status,
            token_expires_at=row.token_expires_at,
            access_token_encrypted=row.access_token_encrypted,
        )


def fail_before_claim(
    ctx: Context,
    variant_id: int,
    expected_status: str,
    due_at: datetime | None,
    message: str,
    now: datetime,
) -> bool:
    """Fail a due variant without any HTTP call (missed window, unusable account).

    Only if it is still in the status and due at the time the decision was made about: a user
    who rescheduled it a moment ago must not find it failed.
    """
    with ctx.db.write() as session:
        return _fail_due(session, variant_id, expected_status, due_at, message, now)


def _fail_due(
    session: Session,
    variant_id: int,
    expected_status: str,
    due_at: datetime | None,
    message: str,
    now: datetime,
) -> bool:
    moved = move_variants(
        session,
        PostVariant.id == variant_id,
        *still_due_at(expected_status, due_at),
        sources=(expected_status,),
        target=FAILED,
        last_error=message,
        next_attempt_at=None,
        dispatched_at=None,
        updated_at=now,
    )
    return moved == 1


@dataclass(frozen=True)
class Claim:
    variant_id: int
    attempt_id: int
    attempt_no: int
    attempt_in_round: int  # counts from 1 again after a manual retry
    token: str
    platform: str
    account_id: int
    account_name: str
    account_external_id: str
    access_token_encrypted: str
    text: str
    link: str | None
    images: tuple[ImageView, ...] = ()
    # The sending point was committed with the claim (``send_at_once``): mark_sending is done.
    sending: bool = False


_CLAIM_NOW = bindparam("claim_now", type_=UTCDateTime)
_CLAIM = PreparedMove(
    VARIANTS.c.id == bindparam("claim_variant"),
    due_by(_CLAIM_NOW),
    sources=WAITING,
    target=PUBLISHING,
    attempts=VARIANTS.c.attempts + 1,
    claim_token=bindparam("claim_new_token"),
    lease_expires_at=bindparam("claim_lease", type_=UTCDateTime),
    sending_since=None,
    dispatched_at=None,
    updated_at=_CLAIM_NOW,
)


def _claimed_statement() -> Select[Any]:
    v, a, p = VARIANTS.c, ACCOUNTS.c, POSTS.c
    return (
        select(
            v.attempts,
            v.attempts_before_retry,
            v.platform,
            v.account_id,
            v.custom_text,
            v.images_mode,
            v.post_id,
            a.name.label("account_name"),
            a.external_id.label("account_external_id"),
            a.access_token_encrypted,
            p.base_text,
            p.link,
        )
        .join_from(VARIANTS, ACCOUNTS, v.account_id == a.id)
        .join(POSTS, v.post_id == p.id)
        .where(v.id == bindparam("variant"))
    )


# What the claim reads and writes after the move, each statement built once (PreparedMove).
_CLAIMED = _claimed_statement()
_SENDING_SINCE = (
    update(VARIANTS)
    .where(VARIANTS.c.id == bindparam("variant"))
    .values(sending_since=bindparam("since", type_=UTCDateTime))
)
_OPEN_ATTEMPT = insert(ATTEMPTS).returning(ATTEMPTS.c.id)


def claim_variant(
    ctx: Context,
    variant_id: int,
    now: datetime,
    worker_id: str | None,
    *,
    send_at_once: bool = False,
) -> Claim | None:
    """Atomically take a due variant (scheduled|retrying → publishing) and open its attempt.

    Returns None when the variant is not due or someone else claimed it: the caller does nothing.

    ``send_at_once``: when the post has no images to upload first, the sending point
    (``mark_sending``) is committed in the same transaction, one write fewer per publish (at
    the top of the hour the writes queue for SQLite's single writer). Between this commit and
    the request there is then nothing that waits on anything: building the request from what
    was just read. If that fails, the attempt is completed with ``nothing_sent``; a worker
    killed in those microseconds leaves the variant unconfirmed, which the read-back settles.
    """
    token = secrets.token_hex(16)
    lease = now + timedelta(seconds=ctx.settings.publish_timeout)
    with ctx.db.write() as session:
        claimed = _CLAIM(session, claim_variant=variant_id, claim_now=now, claim_new_token=token,
                         claim_lease=lease)  # fmt: skip
        if claimed != 1:
            return None
        connection = session.connection()
        variant = connection.execute(_CLAIMED, {"variant": variant_id}).one()
        images = images_to_publish(connection, variant_id, variant.post_id, variant.images_mode)
        sending = send_at_once and not images
        if sending:
            connection.execute(_SENDING_SINCE, {"variant": variant_id, "since": now})
        attempt_id = connection.execute(
            _OPEN_ATTEMPT,
            {
                "variant_id": variant_id,
                "attempt_no": variant.attempts,
                "started_at": now,
                "worker": worker_id,
                "sent_at": now if sending else None,
            },
        ).scalar_one()
        return Claim(
            variant_id=variant_id,
            attempt_id=attempt_id,
            attempt_no=variant.attempts,
            attempt_in_round=variant.attempts - variant.attempts_before_retry,
            token=token,
            platform=variant.platform,
            account_id=variant.account_id,
            account_name=variant.account_name,
            account_external_id=variant.account_external_id,
            access_token_encrypted=variant.access_token_encrypted,
            text=text_to_publish(variant.custom_text, variant.base_text),
            link=variant.link,
            images=images,
            sending=sending,
        )


def _images_statement(rows: Table, owner: ColumnElement[bool]) -> Select[Any]:
    m = MEDIA_FILES.c
    return (
        select(
            rows.c.position,
            rows.c.original_name,
            rows.c.alt_text,
            rows.c.sha256,
            m.format,
            m.width,
            m.height,
            m.size_bytes,
        )
        .join(MEDIA_FILES, rows.c.sha256 == m.sha256)
        .where(owner)
        .order_by(rows.c.position)
    )


_IMAGES = {
    IMAGES_OWN: _images_statement(
        VARIANT_IMAGES, VARIANT_IMAGES.c.variant_id == bindparam("variant")
    ),
    IMAGES_INHERIT: _images_statement(POST_IMAGES, POST_IMAGES.c.post_id == bindparam("post")),
}


def images_to_publish(
    connection: Connection, variant_id: int, post_id: int, mode: str
) -> tuple[ImageView, ...]:
    """``views.images_of`` in one statement: the post's images, the variant's own, or none."""
    if mode == IMAGES_NONE:
        return ()
    return tuple(
        ImageView(
            position=row.position,
            name=row.original_name,
            format=row.format,
            width=row.width,
            height=row.height,
            size=row.size_bytes,
            alt=row.alt_text,
            sha256=row.sha256,
        )
        for row in connection.execute(_IMAGES[mode], {"variant": variant_id, "post": post_id})
    )


def mark_sending(ctx: Context, claim: Claim, now: datetime) -> bool:
    """The sending point: from here on the post may exist on the platform.

    Only while our claim still holds (a worker that stalled past its lease may have been
    recovered meanwhile: then it must not send). The lease restarts here, so recovery gives the
    request itself the whole publish timeout. False: the claim is gone, send nothing.
    """
    lease = now + timedelta(seconds=ctx.settings.publish_timeout)
    with ctx.db.write() as session:
        held = rows_matched(
            session.execute(
                update(PostVariant)
                .where(
                    PostVariant.id == claim.variant_id,
                    PostVariant.status == PUBLISHING,
                    PostVariant.claim_token == claim.token,
                )
                .values(sending_since=now, lease_expires_at=lease)
            )
        )
        if held != 1:
            return False
        session.execute(
            update(PublicationAttempt)
            .where(PublicationAttempt.id == claim.attempt_id)
            .values(sent_at=now)
        )
        return True


@dataclass(frozen=True)
class AttemptRecord:
    result: str  # success | fail | interrupted
    http_status: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    error_class: str | None = None
    external_post_id: str | None = None
    request_summary: str | None = None
    raw_response: str | None = None
    # The claim committed the sending point, but the request never left (it could not be
    # built): the attempt must not say it was sent.
    nothing_sent: bool = False


_ANSWER_COLUMNS = (
    "finished_at",
    "result",
    "http_status",
    "error_code",
    "error_message",
    "error_class",
    "external_post_id",
    "request_summary",
    "raw_response",
)
_finish_attempt = update(ATTEMPTS).where(ATTEMPTS.c.id == bindparam("done_attempt"))
_finish_attempt = _finish_attempt.values(
    {name: bindparam(f"done_{name}", type_=ATTEMPTS.c[name].type) for name in _ANSWER_COLUMNS}
)
# By ``nothing_sent``: an attempt whose request never left does not say it was sent.
_FINISH_ATTEMPT = {False: _finish_attempt, True: _finish_attempt.values(sent_at=None)}
_COMPLETIONS: dict[tuple[str, tuple[str, ...]], PreparedMove] = {}


def _completion(target: str, names: tuple[str, ...]) -> PreparedMove:
    """The completion's move to ``target`` setting the columns ``names``: a handful of shapes,
    each prepared the first time it is needed (two threads may both prepare one: harmless)."""
    move = _COMPLETIONS.get((target, names))
    if move is None:
        move = _COMPLETIONS[target, names] = PreparedMove(
            VARIANTS.c.id == bindparam("done_variant"),
            VARIANTS.c.claim_token == bindparam("done_token"),
            sources=(PUBLISHING, UNCONFIRMED),
            target=target,
            **{name: bindparam(f"done_{name}", type_=VARIANTS.c[name].type) for name in names},
        )
    return move


def complete_attempt(
    ctx: Context,
    claim: Claim,
    record: AttemptRecord,
    outcome: Outcome,
    now: datetime,
    *,
    written_at: datetime | None = None,
) -> bool:
    """Write the attempt's result and the variant's status together.

    ``now`` is when the platform answered (the attempt's end, the variant's ``published_at``);
    ``written_at`` when this write happens, if later (a locked database delayed it).

    The variant is only changed while our claim still holds (also when recovery already called
    it unconfirmed: we now know the truth). False when the user acted on it in between; the
    attempt is recorded either way.
    """
    with ctx.db.write() as session:
        session.connection().execute(
            _FINISH_ATTEMPT[record.nothing_sent],
            {
                "done_attempt": claim.attempt_id,
                "done_finished_at": now,
                "done_result": record.result,
                "done_http_status": record.http_status,
                "done_error_code": storable(record.error_code),
                "done_error_message": storable(record.error_message),
                "done_error_class": record.error_class,
                "done_external_post_id": storable(record.external_post_id),
                "done_request_summary": storable(record.request_summary),
                "done_raw_response": storable(record.raw_response),
            },
        )
        values: dict[str, object] = {
            "next_attempt_at": outcome.next_attempt_at,
            "last_error": storable(outcome.last_error),
            "lease_expires_at": None,
            "sending_since": None,
            "dispatched_at": None,
            "updated_at": written_at or now,
        }
        if outcome.status == PUBLISHED:
            values.update(external_post_id=storable(record.external_post_id), published_at=now)
        if outcome.status != UNCONFIRMED:
            values["claim_token"] = None
        else:
            values["check_at"] = written_at or now  # read the platform back at once
        complete = _completion(outcome.status, tuple(values))
        changed = complete(
            session,
            done_variant=claim.variant_id,
            done_token=claim.token,
            **{f"done_{name}": value for name, value in values.items()},
        )
        if outcome.expire_account:
            session.execute(
                update(ConnectedSocialAccount)
                .where(
                    ConnectedSocialAccount.id == claim.account_id,
                    ConnectedSocialAccount.status == CONNECTED,
                    # Not a token the user pasted while this request was on its way.
                    ConnectedSocialAccount.access_token_encrypted == claim.access_token_encrypted,
                )
                .values(status=EXPIRED, expired_at=now, updated_at=written_at or now)
            )
        return changed == 1


# --- the sweep's work ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Recovered:
    variant_id: int
    status: str  # retrying | failed | unconfirmed


def recover_stuck(ctx: Context, now: datetime) -> list[Recovered]:
    """Publishing rows whose lease ran out: their worker died (DESIGN.md, guarantee 3).

    Whether the request may have left is read from the variant row (``sending_since``) inside
    the UPDATE itself, together with the lease: a slow worker that reaches its sending point
    first renews the lease and this UPDATE matches nothing; one that comes later finds its
    claim gone and sends nothing.
    """
    recovered: list[Recovered] = []
    with ctx.db.write() as session:
        stuck = session.execute(
            select(
                PostVariant.id,
                PostVariant.claim_token,
                PostVariant.attempts,
                PostVariant.attempts_before_retry,
                PostVariant.platform,
                ConnectedSocialAccount.name,
            )
            .join(ConnectedSocialAccount, ConnectedSocialAccount.id == PostVariant.account_id)
            .where(PostVariant.status == PUBLISHING, PostVariant.lease_expires_at < now)
        ).all()
        for variant_id, token, attempts, before_retry, platform, account in stuck:
            held = (
                PostVariant.id == variant_id,
                PostVariant.claim_token == token,
                PostVariant.lease_expires_at < now,
            )
            label = LABELS.get(platform, platform)
            sent = move_variants(
                session,
                *held,
                PostVariant.sending_since.is_not(None),
                sources=(PUBLISHING,),
                target=UNCONFIRMED,
                # Its worker died, or is alive but could not write the answer (a lock held
                # longer than the lease): the late answer then replaces this text. The claim
                # token stays, so that late answer still counts.
                last_error=(
                    f"no answer was recorded for the request sent to {label} (its worker "
                    f"stopped, or could not write to the database); the post may or may "
                    f"not be on {account}: {retry.READING_BACK}"
                ),
                next_attempt_at=None,
                check_at=now,
                lease_expires_at=None,
                dispatched_at=None,
                updated_at=now,
            )
            if sent:
                status = UNCONFIRMED
            else:
                # The request never left: nothing was published, retry at once if allowed.
                outcome = retry.before_sending(
                    "the worker stopped before sending the request",
                    attempt_in_round=attempts - before_retry,
                    settings=ctx.settings,
                    now=now,
                    wait=False,
                )
                status = outcome.status
                changed = move_variants(
                    session,
                    *held,
                    PostVariant.sending_since.is_(None),
                    sources=(PUBLISHING,),
                    target=status,
                    last_error=outcome.last_error,
                    next_attempt_at=outcome.next_attempt_at,
                    claim_token=None,
                    lease_expires_at=None,
                    dispatched_at=None,
                    updated_at=now,
                )
                if not changed:
                    continue  # its worker came back to life in time
            session.execute(
                update(PublicationAttempt)
                .where(
                    PublicationAttempt.variant_id == variant_id,
                    PublicationAttempt.attempt_no == attempts,
                    PublicationAttempt.result.is_(None),
                )
                .values(
                    result=INTERRUPTED,
                    finished_at=now,
                    error_class="interrupted",
                    error_message=(
                        "no answer recorded after sending" if sent else "stopped before sending"
                    ),
                )
            )
            recovered.append(Recovered(variant_id, status))
    return recovered


MISSED_PER_TRANSACTION = 500


def missed_cutoff(ctx: Context, now: datetime) -> datetime:
    return now - timedelta(seconds=ctx.settings.max_lateness)


def fail_missed(ctx: Context, now: datetime) -> list[int]:
    """Variants too late to publish (worker down too long) fail instead of going out days late."""
    cutoff = missed_cutoff(ctx, now)
    with ctx.db.read() as session:
        late = session.execute(
            select(
                PostVariant.id,
                PostVariant.status,
                PostVariant.scheduled_at,
                PostVariant.next_attempt_at,
            ).where(due_by(cutoff, strictly_before=True))
        ).all()
    rows = [
        (variant_id, status, due)
        for variant_id, status, scheduled_at, next_attempt_at in late
        if (due := due_time(status, scheduled_at, next_attempt_at)) is not None
    ]
    missed: list[int] = []
    # Several per transaction (after a long outage there are thousands), a chunk at a time so
    # that each hold of the write lock stays short.
    for start in range(0, len(rows), MISSED_PER_TRANSACTION):
        with ctx.db.write() as session:
            missed += move_each_still_due(
                session,
                rows[start : start + MISSED_PER_TRANSACTION],
                target=FAILED,
                row_values=lambda _id, _status, due: {"last_error": missed_message(ctx, due)},
                next_attempt_at=None,
                dispatched_at=None,
                updated_at=now,
            )
    return missed


def missed_message(ctx: Context, due_at: datetime | None) -> str:
    hours = ctx.settings.max_lateness / 3600
    return (
        f"missed: it was due at {format_local(due_at, ctx.settings.tz)}, more than "
        f"{hours:g} h before a worker could publish it; reschedule or retry it if still wanted"
    )


def due_for_dispatch(ctx: Context, now: datetime) -> list[tuple[int, str, datetime]]:
    """Variants due within the look-ahead that have no message on its way."""
    horizon = now + LOOKAHEAD
    stale = now - STALE_DISPATCH
    with ctx.db.read() as session:
        rows = session.execute(
            select(
                PostVariant.id,
                PostVariant.status,
                PostVariant.scheduled_at,
                PostVariant.next_attempt_at,
            )
            .where(
                due_by(horizon),
                or_(PostVariant.dispatched_at.is_(None), PostVariant.dispatched_at < stale),
            )
            .order_by(PostVariant.scheduled_at, PostVariant.id)
        ).all()
    items = []
    for variant_id, status, scheduled_at, next_attempt_at in rows:
        due = due_time(status, scheduled_at, next_attempt_at)
        if due is not None:
            items.append((variant_id, status, due))
    return items
