"""The publish task: one variant, at most once (DESIGN.md, "Publishing guarantees").

look → (wait out an early arrival) → fail without HTTP if missed or the account is unusable →
claim → open attempt → sending point → platform call → record result and new status together.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any, TypedDict

from omnipost_tui import clock
from omnipost_tui.connectors import Connector, PlatformError, PublishRequest, connector_for
from omnipost_tui.connectors.pool import ClientPool
from omnipost_tui.crypto import TokenUnreadable
from omnipost_tui.engine import alerting, readback
from omnipost_tui.engine.staging import Staged, StagingFailed, discard_all, stage_images
from omnipost_tui.errors import DatabaseBusy, OmniPostError, QueueUnavailable
from omnipost_tui.models import CONNECTED, FAIL, SUCCESS
from omnipost_tui.platforms import LABELS
from omnipost_tui.services import publishing, retry, tokens
from omnipost_tui.services import staging as publishing_staging
from omnipost_tui.services.accounts import mark_account_expired
from omnipost_tui.services.context import Context
from omnipost_tui.services.dispatch import dispatch
from omnipost_tui.services.media import missing_file, missing_message, uploads_of
from omnipost_tui.services.publishing import AttemptRecord, Claim, DueState
from omnipost_tui.services.retry import Outcome
from omnipost_tui.states import FAILED, RETRYING, UNCONFIRMED
from omnipost_tui.times import format_duration

log = logging.getLogger("omnipost.engine.publish")

# huey drops an eta's microseconds and polls its schedule once a second, so a task can arrive up
# to a second or two early. It waits that out; a task far too early is a stale message (the
# variant was moved later, and the move sent a message of its own).
MAX_EARLY_WAIT_S = 5.0

# A platform's answer is written again and again while the database is locked or away (a
# backup, another program, a PostgreSQL restart): first after half a second, then less often.
RECORD_RETRY_FIRST_S = 0.5
RECORD_RETRY_MAX_S = 10.0
# Longer than any lock or restart worth waiting for; after that the log holds the answer.
RECORD_ANSWER_FOR = timedelta(hours=1)
# A message the database would not let us claim comes back this soon (SQLite has already
# waited out its busy timeout; a cut PostgreSQL connection is replaced at once).
BUSY_LOOK_AGAIN_S = 1.0
# _refusal's answer when the account changed while it looked (a token renewed meanwhile).
ACCOUNT_CHANGED = "account changed meanwhile"

# The HTTP clients publishes go out on: one per worker thread and platform, kept between posts
# (connectors/pool.py); the worker prepares them before it takes work (prepare_clients) and
# closes them when it stops (close_clients).
CLIENTS = ClientPool()


def prepare_clients() -> None:
    CLIENTS.prepare()


def close_clients() -> None:
    CLIENTS.close()


class AttemptFields(TypedDict):
    """The structured fields of every log line about one attempt (``extra=``)."""

    variant: int
    platform: str
    attempt: int


def publish_variant(ctx: Context, variant_id: int, *, worker_id: str | None = None) -> str | None:
    """Publish ``variant_id`` if it is due and nobody else has it. Returns the new status."""
    try:
        claimed = _claim_when_due(ctx, variant_id, worker_id)
    except DatabaseBusy as exc:
        _look_again_soon(ctx, variant_id, exc)
        return None
    if not isinstance(claimed, Claim):
        return claimed
    return _attempt(ctx, claimed)


def _look_again_soon(ctx: Context, variant_id: int, exc: DatabaseBusy) -> None:
    """The database would not let us claim (another program holds its write lock, a connection
    was cut): nothing was sent, so the message goes back to the queue. Dropped, it would wait
    for the sweep, which sends another only ``STALE_DISPATCH`` after the last: minutes late."""
    try:
        ctx.queue.enqueue_publish(variant_id, clock.now() + timedelta(seconds=BUSY_LOOK_AGAIN_S))
    except QueueUnavailable as queue_exc:
        log.warning(
            "not claimed (%s); could not queue it again either (%s): the sweep will",
            exc.message,
            queue_exc.message,
            extra={"variant": variant_id},
        )
        return
    log.warning(
        "not claimed (%s); looking again in %g s",
        exc.message,
        BUSY_LOOK_AGAIN_S,
        extra={"variant": variant_id},
    )


def _claim_when_due(ctx: Context, variant_id: int, worker_id: str | None) -> Claim | str | None:
    """The variant claimed for this attempt; else the status it ended in without a request
    (failed, retrying), or None when there is nothing to do."""
    state = publishing.load_due_state(ctx, variant_id)
    if state is None or state.due_at is None:
        log.debug("nothing to do", extra={"variant": variant_id})
        return None
    now = clock.now()
    early = (state.due_at - now).total_seconds()
    if early > MAX_EARLY_WAIT_S:
        log.debug("message arrived %.0f s early; ignored", early, extra={"variant": variant_id})
        return None
    if early > 0:
        clock.sleep(early)
        now = clock.now()

    renewal = tokens.Renewal.NOT_NEEDED
    if _renewal_due(ctx, state, now):
        renewal = tokens.renew_before_publishing(ctx, state.account_id)
        # Whatever happened, decide on the account as it is now (renewed here or elsewhere).
        reloaded = publishing.load_due_state(ctx, variant_id)
        if reloaded is None or reloaded.due_at is None:
            return None
        state = reloaded
    if renewal is tokens.Renewal.NOT_NOW and _token_expired(state, now):
        # The token ran out and the platform could not renew it just now: that is an outage,
        # not the account's end. Counted as an attempt that sent nothing, retried later.
        return _retry_renewal_later(ctx, variant_id, now, worker_id)
    refusal = _refusal(ctx, state, now)
    if refusal is ACCOUNT_CHANGED:
        again = publishing.load_due_state(ctx, variant_id)
        if again is None or again.due_at is None:
            return None
        state = again
        refusal = _refusal(ctx, state, now)
        if refusal is ACCOUNT_CHANGED:
            return None  # still moving under us: the sweep looks again
    if refusal is not None:
        if publishing.fail_before_claim(ctx, variant_id, state.status, state.due_at, refusal, now):
            log.warning(refusal, extra={"variant": variant_id, "outcome": FAILED})
            alerting.notice(ctx)
            return FAILED
        return None

    claim = publishing.claim_variant(
        ctx, variant_id, now, worker_id or ctx.worker_id, send_at_once=True
    )
    if claim is None:
        log.debug(
            "not claimed (not due, or taken by another worker)", extra={"variant": variant_id}
        )
    return claim


def _renewal_due(ctx: Context, state: DueState, now: datetime) -> bool:
    """The token expires within ``token_renew_before`` (or has): renew it first if it can be."""
    expires = state.token_expires_at
    soon = now + timedelta(seconds=ctx.settings.token_renew_before)
    return state.account_status == CONNECTED and expires is not None and expires <= soon


def _token_expired(state: DueState, now: datetime) -> bool:
    return state.token_expires_at is not None and state.token_expires_at <= now


def _retry_renewal_later(
    ctx: Context, variant_id: int, now: datetime, worker_id: str | None
) -> str | None:
    claim = publishing.claim_variant(ctx, variant_id, now, worker_id or ctx.worker_id)
    if claim is None:
        return None
    fields: AttemptFields = {
        "variant": claim.variant_id,
        "platform": claim.platform,
        "attempt": claim.attempt_no,
    }
    reason = "the token ran out and could not be renewed just now; nothing was sent"
    record = AttemptRecord(result=FAIL, error_class="token_renewal", error_message=reason)
    outcome = retry.before_sending(
        reason, attempt_in_round=claim.attempt_in_round, settings=ctx.settings, now=now
    )
    return _finish(ctx, claim, record, outcome, fields)


def _refusal(ctx: Context, state: DueState, now: datetime) -> str | None:
    """Why this due variant must fail without any HTTP call, or None."""
    if state.due_at is not None and state.due_at < publishing.missed_cutoff(ctx, now):
        return publishing.missed_message(ctx, state.due_at)
    expired = _token_expired(state, now)
    # Known to be expired: asking the platform would only confirm it. Only the token read
    # above: one renewed or reconnected meanwhile stays connected, and is looked at again.
    if (
        expired
        and state.account_status == CONNECTED
        and not mark_account_expired(
            ctx, state.account_id, refused_token=state.access_token_encrypted or None
        )
    ):
        return ACCOUNT_CHANGED
    if state.account_status != CONNECTED or expired:
        status = "expired" if expired else state.account_status
        return (
            f"account {state.account_name} is {status}; nothing was sent. "
            f"Reconnect it (omnipost account reconnect {state.account_id}), then retry"
        )
    return None


def _attempt(ctx: Context, claim: Claim) -> str | None:
    settings = ctx.settings
    fields = AttemptFields(
        variant=claim.variant_id, platform=claim.platform, attempt=claim.attempt_no
    )
    label = LABELS.get(claim.platform, claim.platform)
    gone = missing_file(settings.paths, claim.images)
    if gone is not None:
        # Checked before any request: a post without one of its pictures is not the post.
        message = missing_message(gone)
        record = AttemptRecord(result=FAIL, error_class="image_missing", error_message=message)
        return _finish(ctx, claim, record, Outcome(status=FAILED, last_error=message), fields)
    connector = None
    try:
        token = ctx.cipher.decrypt(claim.access_token_encrypted, account_label=claim.account_name)
        connector = connector_for(claim.platform, settings, CLIENTS.client(claim.platform))
        request = PublishRequest(
            account_external_id=claim.account_external_id,
            access_token=token,
            text=claim.text,
            link=claim.link,
            images=uploads_of(settings.paths, claim.images),
        )
        staged = stage_images(ctx, connector, request, claim.variant_id, claim.account_id)
    except TokenUnreadable as exc:
        record = AttemptRecord(
            result=FAIL,
            error_class="token_unreadable",
            error_message=exc.message,
            nothing_sent=claim.sending,
        )
        return _finish(ctx, claim, record, Outcome(status=FAILED, last_error=exc.message), fields)
    except DatabaseBusy as exc:
        if connector is not None:
            connector.close()
        return _busy_before_sending(ctx, claim, exc, fields)
    except StagingFailed as exc:
        # Nothing is public before the create call: a failed upload is retried like any
        # error that sent nothing, or fails the variant when the platform refuses the image.
        assert connector is not None
        try:
            return _after_error(
                ctx, claim, exc.error, {"uploads": exc.steps}, fields, connector, request
            )
        finally:
            connector.close()
    except Exception as exc:  # nothing left the machine: retry like any transient error
        if connector is not None:
            connector.close()
        log.exception("could not prepare the request", extra=fields)
        reason = f"could not prepare the request: {type(exc).__name__}"
        record = AttemptRecord(
            result=FAIL,
            error_class="unexpected",
            error_message=reason,
            nothing_sent=claim.sending,
        )
        outcome = retry.before_sending(
            reason, attempt_in_round=claim.attempt_in_round, settings=settings, now=clock.now()
        )
        return _finish(ctx, claim, record, outcome, fields)

    try:
        try:
            # Committed with the claim already when there was nothing to upload first.
            marked = claim.sending or publishing.mark_sending(ctx, claim, clock.now())
        except DatabaseBusy as exc:
            return _busy_before_sending(ctx, claim, exc, fields)
        except Exception as exc:  # not marked, so not sent: retry like any transient error
            log.exception("could not mark the sending point", extra=fields)
            reason = f"could not prepare the request: {type(exc).__name__}"
            record = AttemptRecord(result=FAIL, error_class="unexpected", error_message=reason)
            outcome = retry.before_sending(
                reason, attempt_in_round=claim.attempt_in_round, settings=settings, now=clock.now()
            )
            return _finish(ctx, claim, record, outcome, fields)
        if not marked:
            log.warning(
                "claim lost before sending (recovered meanwhile); nothing sent", extra=fields
            )
            return None
        if staged.steps:
            log.info("%d image(s) ready; sending", len(staged.steps), extra=fields)
        else:
            log.info("sending", extra=fields)
        return _create(ctx, claim, connector, staged, fields, label)
    finally:
        connector.close()


def _busy_before_sending(
    ctx: Context, claim: Claim, exc: DatabaseBusy, fields: AttemptFields
) -> str:
    """Claimed, but the database stopped us before the sending point: nothing was sent, so it
    is retried as soon as the database lets us record that (not after the usual wait, which is
    for a platform's trouble, not ours)."""
    reason = f"nothing was sent: {exc.message}"
    record = AttemptRecord(result=FAIL, error_class="database_busy", error_message=reason)
    outcome = retry.before_sending(
        reason,
        attempt_in_round=claim.attempt_in_round,
        settings=ctx.settings,
        now=clock.now(),
        wait=False,
    )
    return _finish(ctx, claim, record, outcome, fields)


def _create(
    ctx: Context,
    claim: Claim,
    connector: Connector,
    staged: Staged,
    fields: AttemptFields,
    label: str,
) -> str:
    """The create call: the sending point is behind us, so after it the post may exist."""
    uploads = {"uploads": staged.steps} if staged.steps else {}
    try:
        result = connector.publish(staged.request)
    except PlatformError as error:
        return _after_error(ctx, claim, error, uploads, fields, connector, staged.request)
    except Exception as exc:  # a bug, after the request may have left: never re-send blindly
        log.exception("unexpected error while publishing", extra=fields)
        reason = f"unexpected {type(exc).__name__}"
        record = AttemptRecord(result=FAIL, error_class="unexpected", error_message=reason)
        outcome = retry.maybe_published(reason, label, claim.variant_id)
        return _finish(ctx, claim, record, outcome, fields)
    record = AttemptRecord(
        result=SUCCESS,
        http_status=result.http_status,
        external_post_id=result.external_post_id,
        request_summary=_json({**result.request_summary, **uploads}),
        raw_response=result.raw_response,
    )
    status = _finish(ctx, claim, record, retry.success(), fields)
    if staged.steps:
        publishing_staging.forget(ctx, claim.variant_id)  # they are the post's now
    return status


def _after_error(
    ctx: Context,
    claim: Claim,
    error: PlatformError,
    uploads: dict[str, Any],
    fields: AttemptFields,
    connector: Connector,
    request: PublishRequest,
) -> str:
    settings = ctx.settings
    record = AttemptRecord(
        result=FAIL,
        http_status=error.http_status,
        error_code=error.code,
        error_message=error.message,
        error_class=error.kind,
        request_summary=_json({**(error.request_summary or {}), **uploads}),
        raw_response=error.raw_body,
    )
    label = LABELS.get(claim.platform, claim.platform)
    try:
        outcome = retry.after_error(
            error,
            attempt_in_round=claim.attempt_in_round,
            settings=settings,
            now=clock.now(),
            platform=claim.platform,
            variant_id=claim.variant_id,
            account_id=claim.account_id,
            account_name=claim.account_name,
        )
    except Exception:  # the policy must never leave a variant stuck in publishing
        log.exception("retry policy failed", extra=fields)
        outcome = retry.maybe_published(error.message, label, claim.variant_id)
    status = _finish(ctx, claim, record, outcome, fields)
    if status == FAILED and claim.images:
        # Recorded first; then the photos staged for a post that will not go out are deleted.
        discard_all(ctx, connector, request, claim.variant_id)
    return status


def _finish(
    ctx: Context, claim: Claim, record: AttemptRecord, outcome: Outcome, fields: AttemptFields
) -> str:
    now = clock.now()
    applied = _record_answer(ctx, claim, record, outcome, now, fields)
    extra = {
        **fields,
        "outcome": outcome.status if applied else f"{outcome.status} (variant changed meanwhile)",
        "http_status": record.http_status,
        "error_code": record.error_code,
    }
    level = logging.INFO if outcome.status != FAILED else logging.WARNING
    log.log(level, record.error_message or "published", extra=extra)
    if record.result == FAIL:
        alerting.notice(ctx)
    if applied and outcome.status == UNCONFIRMED:
        # Ask the platform at once whether the post is there (the sweep would, a minute later).
        readback.queue_next(ctx, claim.variant_id, clock.now(), clock.now())
    if applied and outcome.status == RETRYING and outcome.next_attempt_at is not None:
        # Exact eta when the retry is due soon; the sweep dispatches later ones in time.
        try:
            dispatch(ctx, [(claim.variant_id, RETRYING, outcome.next_attempt_at)], now)
        except Exception:
            log.warning("could not queue the retry; the sweep will", extra=fields)
    return outcome.status


def _record_answer(
    ctx: Context,
    claim: Claim,
    record: AttemptRecord,
    outcome: Outcome,
    answered_at: datetime,
    fields: AttemptFields,
) -> bool:
    """Write what the platform answered, however long the database keeps us waiting.

    The answer exists only in this process until it is committed (DESIGN.md, guarantee 7). So
    a post id is written to the log first, where a kill -9 cannot take it; then a write lock
    held elsewhere, or a connection that dropped, only delays the write: it is tried again until
    it lands (a late completion still counts while the claim is ours: recovery keeps the claim
    token on the variant it calls unconfirmed). Past ``RECORD_ANSWER_FOR``, or on an error that
    waiting cannot cure, the worker stops and logs the answer with the command that records it
    by hand.
    """
    label = LABELS.get(claim.platform, claim.platform)
    post_id = record.external_post_id
    answer = (
        f"{label} accepted variant {claim.variant_id} as post {post_id}"
        if post_id
        else f"attempt {claim.attempt_no} of variant {claim.variant_id} ended ({outcome.status})"
    )
    if post_id:
        log.info("%s; recording it", answer, extra=fields)
    delay = RECORD_RETRY_FIRST_S
    failures = 0
    while True:
        try:
            applied = publishing.complete_attempt(
                ctx, claim, record, outcome, answered_at, written_at=clock.now()
            )
        except DatabaseBusy as exc:
            failures += 1
            waited = (clock.now() - answered_at).total_seconds()
            if waited >= RECORD_ANSWER_FOR.total_seconds():
                _answer_not_recorded(
                    claim, answer, post_id, f"for {format_duration(waited)}: {exc.message}", fields
                )
                raise
            if failures == 1:
                log.warning(
                    "%s, but the database cannot record it yet (%s); keeping the answer and "
                    "writing it again until it can",
                    answer,
                    exc.message,
                    extra=fields,
                )
            clock.sleep(delay)
            delay = min(delay * 2, RECORD_RETRY_MAX_S)
            continue
        except Exception as exc:
            reason = exc.message if isinstance(exc, OmniPostError) else type(exc).__name__
            _answer_not_recorded(claim, answer, post_id, reason, fields)
            raise
        if failures:
            waited = (clock.now() - answered_at).total_seconds()
            log.info(
                "recorded the answer for variant %d after %s (%d failed write(s))",
                claim.variant_id,
                format_duration(waited),
                failures,
                extra=fields,
            )
        return applied


def _answer_not_recorded(
    claim: Claim, answer: str, post_id: str | None, reason: str, fields: AttemptFields
) -> None:
    """The last word on an answer the database would not take: what it was and what to do."""
    todo = (
        f"Record it yourself: omnipost variant mark-published {claim.variant_id} "
        f"--external-id {post_id}"
        if post_id
        else "Recovery will mark the variant unconfirmed; check the page"
    )
    log.error(
        "%s, but the database could not record it (%s); giving up. %s",
        answer,
        reason,
        todo,
        extra=fields,
    )


def _json(data: dict[str, Any] | None) -> str | None:
    return json.dumps(data, ensure_ascii=False, sort_keys=True) if data else None
