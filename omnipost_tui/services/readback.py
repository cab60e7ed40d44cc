"""Unconfirmed variants settled by reading the platform back (DESIGN.md, "Variant states").

A variant is ``unconfirmed`` when its request may have reached the platform but no answer was
recorded. Instead of leaving every one to a human, OmniPost asks the platform: the account's
posts created since a little before the sending point, looking for one with exactly the text it
sent (``Connector.find_post``).

- Listed: the variant is ``published`` with that post's id; the attempt becomes a success,
  and its read-back steps say how it was confirmed.
- Not listed: it is asked again ``read_back_settle`` seconds later (platforms can take a moment
  to list a new post). Absent from two reads that far apart, and long enough after the sending
  point that no request of ours can still be on its way (``publish_timeout``), the post is not
  there: sending it again cannot duplicate it, so the variant goes back to ``retrying`` (or
  ``failed`` when that was the last allowed attempt).
- The platform cannot be asked (no permission, token gone, an error that does not pass): it
  stays unconfirmed for a human, with the reason. A passing error (5xx, timeout, rate limit) is
  asked again after the settle delay, doubled each time, up to ``READ_ERRORS_ALLOWED`` reads.

Every read is a step in the attempt's ``read_back`` list. The engine runs ``check`` from a
queue task at ``check_at``; ``omnipost variant check`` and the screens run the same on demand.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from omnipost_tui import clock
from omnipost_tui.connectors import PlatformError, PublishRequest, ReadBack, connector_for
from omnipost_tui.connectors.errors import PermissionDenied, TokenExpired
from omnipost_tui.crypto import TokenUnreadable
from omnipost_tui.errors import InvalidTransition
from omnipost_tui.models import CONNECTED, SUCCESS, PostVariant
from omnipost_tui.models import PublicationAttempt as Attempt
from omnipost_tui.platforms import LABELS
from omnipost_tui.services import retry
from omnipost_tui.services.context import Context
from omnipost_tui.services.dispatch import STALE_DISPATCH, dispatch
from omnipost_tui.services.lookup import variant_by_id
from omnipost_tui.services.media import uploads_of
from omnipost_tui.services.transitions import move_variants
from omnipost_tui.services.views import ImageView, effective_text, images_of, read_back_steps
from omnipost_tui.states import CHECK, FAILED, PUBLISHED, RETRYING, UNCONFIRMED
from omnipost_tui.text import storable
from omnipost_tui.times import format_local, format_seconds

log = logging.getLogger("omnipost.read_back")

# Posts created this long before the sending point count too: the platform's clock and ours
# disagree a little, and Graph times are whole seconds.
CLOCK_MARGIN = timedelta(minutes=2)
# Reads that failed for a moment (5xx, timeout, rate limit) before it is left to a human. They
# are asked again after the settle delay, doubled after each failed read: with the default
# 60 s the last read comes a quarter of an hour after the first, so an outage of the platform
# that long does not leave a post to a human.
READ_ERRORS_ALLOWED = 5

Outcome = Literal["found", "absent", "error", "unavailable"]
By = Literal["engine", "user"]


@dataclass(frozen=True)
class Target:
    """What a read-back needs to know about one unconfirmed variant."""

    variant_id: int
    status: str
    attempt_no: int  # the attempt whose answer was lost
    sent_at: datetime
    check_at: datetime | None
    platform: str
    account_id: int
    account_name: str
    account_status: str
    account_external_id: str
    access_token_encrypted: str
    text: str
    link: str | None
    images: tuple[ImageView, ...]
    # Post ids OmniPost already knows on this account (other variants'): never "ours".
    known_ids: frozenset[str]

    @property
    def label(self) -> str:
        return LABELS.get(self.platform, self.platform)


@dataclass(frozen=True)
class Step:
    """One read of the platform, as the attempt's ``read_back`` list keeps it."""

    at: datetime
    by: By
    outcome: Outcome
    detail: str
    post_id: str | None = None
    listed: int | None = None
    summary: dict[str, Any] | None = None  # the read's requests, redacted

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "at": self.at.isoformat(),
            "by": self.by,
            "outcome": self.outcome,
            "detail": self.detail,
        }
        if self.post_id is not None:
            data["post_id"] = self.post_id
        if self.listed is not None:
            data["listed"] = self.listed
        if self.summary:
            data["calls"] = self.summary.get("calls", [])
        return data


@dataclass(frozen=True)
class Verdict:
    """What one read-back did to the variant."""

    variant_id: int
    status: str  # the variant's status afterwards
    outcome: Outcome | None  # None: nothing was read (the variant changed meanwhile)
    message: str
    post_id: str | None = None
    check_at: datetime | None = None  # when the engine asks again (still unconfirmed)
    next_attempt_at: datetime | None = None  # when it is sent again (retrying)


def load_target(ctx: Context, variant_id: int | str) -> Target:
    """The variant as a read-back needs it; NotFound for an unknown id, InvalidTransition when
    it is not unconfirmed."""
    with ctx.db.read() as session:
        variant = variant_by_id(session, variant_id)
        refusal = CHECK.refusal(variant.id, variant.status)
        if refusal is not None:
            raise InvalidTransition(refusal)
        account = variant.account
        attempt = session.scalars(
            select(Attempt).where(
                Attempt.variant_id == variant.id, Attempt.attempt_no == variant.attempts
            )
        ).one_or_none()
        sent_at = (attempt.sent_at or attempt.started_at) if attempt else variant.updated_at
        known = session.scalars(
            select(PostVariant.external_post_id).where(
                PostVariant.account_id == account.id,
                PostVariant.id != variant.id,
                PostVariant.external_post_id.is_not(None),
                PostVariant.published_at >= sent_at - CLOCK_MARGIN,
            )
        ).all()
        return Target(
            variant_id=variant.id,
            status=variant.status,
            attempt_no=variant.attempts,
            sent_at=sent_at,
            check_at=variant.check_at,
            platform=variant.platform,
            account_id=account.id,
            account_name=account.name,
            account_status=account.status,
            account_external_id=account.external_id,
            access_token_encrypted=account.access_token_encrypted,
            text=effective_text(variant),
            link=variant.post.link,
            images=images_of(variant),
            known_ids=frozenset(post_id for post_id in known if post_id),
        )


def check(ctx: Context, variant_id: int | str, *, by: By = "user") -> Verdict:
    """Ask the platform whether the unconfirmed variant's post is there, and act on the answer.

    Raises NotFound / InvalidTransition for a variant that cannot be checked (a user's mistake:
    one clear line). Never raises for what the platform answers: that is the verdict.
    """
    target = load_target(ctx, variant_id)
    step = _read(ctx, target, by)
    verdict = record(ctx, target, step, clock.now())
    if verdict.status == RETRYING and verdict.next_attempt_at is not None:
        dispatch(ctx, [(target.variant_id, RETRYING, verdict.next_attempt_at)])
    return verdict


def _read(ctx: Context, target: Target, by: By) -> Step:
    """One read of the account's posts, as a step (nothing is written here)."""
    now = clock.now()
    if target.account_status != CONNECTED:
        return Step(
            now,
            by,
            "unavailable",
            f"account {target.account_name} is {target.account_status}: reconnect it "
            f"(omnipost account reconnect {target.account_id}), then check again",
        )
    try:
        token = ctx.cipher.decrypt(target.access_token_encrypted, account_label=target.account_name)
    except TokenUnreadable as exc:
        return Step(now, by, "unavailable", exc.message)
    request = PublishRequest(
        account_external_id=target.account_external_id,
        access_token=token,
        text=target.text,
        link=target.link,
        images=uploads_of(ctx.settings.paths, target.images),
    )
    connector = connector_for(target.platform, ctx.settings)
    try:
        found: ReadBack = connector.find_post(
            request, target.sent_at - CLOCK_MARGIN, target.known_ids
        )
    except PlatformError as error:
        passing = error.retryable and not isinstance(error, PermissionDenied | TokenExpired)
        return Step(
            clock.now(),
            by,
            "error" if passing else "unavailable",
            error.message,
            summary=error.request_summary,
        )
    finally:
        connector.close()
    at = clock.now()
    if found.post_id is not None:
        created = f", created {format_local(found.created_at, ctx.settings.tz, seconds=True)}"
        return Step(
            at,
            by,
            "found",
            f"{target.label} lists it as post {found.post_id}{created if found.created_at else ''}",
            post_id=found.post_id,
            listed=found.listed,
            summary=found.summary,
        )
    return Step(
        at,
        by,
        "absent",
        f"not among the {found.listed} post(s) {target.label} lists on {target.account_name} "
        "since the request was sent",
        listed=found.listed,
        summary=found.summary,
    )


def record(ctx: Context, target: Target, step: Step, now: datetime) -> Verdict:
    """Write the step and what follows from it, if the variant is still the one read about."""
    settle = timedelta(seconds=ctx.settings.read_back_settle)
    in_flight_until = target.sent_at + timedelta(seconds=ctx.settings.publish_timeout)
    with ctx.db.write() as session:
        # FOR UPDATE (PostgreSQL): two reads at once must not lose each other's step.
        variant = session.get(PostVariant, target.variant_id, with_for_update=True)
        if (
            variant is None
            or variant.status != UNCONFIRMED
            or variant.attempts != target.attempt_no
        ):
            status = variant.status if variant is not None else "deleted"
            return Verdict(
                target.variant_id, status, None, f"variant {target.variant_id} is {status} now"
            )
        attempt = session.scalars(
            select(Attempt).where(
                Attempt.variant_id == target.variant_id, Attempt.attempt_no == target.attempt_no
            )
        ).one_or_none()
        earlier = read_back_steps(attempt.read_back if attempt is not None else None)
        if attempt is not None:
            attempt.read_back = json.dumps(
                [*earlier, step.as_dict()], ensure_ascii=False, sort_keys=True
            )
        held: tuple[ColumnElement[bool], ...] = (
            PostVariant.id == target.variant_id,
            PostVariant.attempts == target.attempt_no,
        )
        common: dict[str, Any] = {"dispatched_at": None, "updated_at": now}

        if step.outcome == "found":
            assert step.post_id is not None
            move_variants(
                session,
                *held,
                sources=(UNCONFIRMED,),
                target=PUBLISHED,
                external_post_id=storable(step.post_id),
                published_at=target.sent_at,
                last_error=None,
                next_attempt_at=None,
                claim_token=None,
                lease_expires_at=None,
                sending_since=None,
                **common,
            )
            if attempt is not None:
                attempt.result = SUCCESS
                attempt.external_post_id = storable(step.post_id)
                attempt.error_class = None
                attempt.error_code = None
                attempt.error_message = f"confirmed by read-back: {step.detail}"
            return Verdict(
                target.variant_id,
                PUBLISHED,
                "found",
                f"published: {step.detail}",
                post_id=step.post_id,
            )

        if step.outcome == "absent":
            first_absent = min(
                (_when(s) for s in earlier if s.get("outcome") == "absent"), default=None
            )
            settled = first_absent is not None and now - first_absent >= settle
            if settled and now >= in_flight_until:
                return _absent_twice(session, ctx, target, variant, held, common)
            ask_at = max((first_absent or now) + settle, in_flight_until)
            message = f"{step.detail}; asking again at {_clock(ctx, ask_at)}"
            move_variants(
                session,
                *held,
                sources=(UNCONFIRMED,),
                target=UNCONFIRMED,
                check_at=ask_at,
                last_error=storable(_unconfirmed(target, message)),
                **common,
            )
            return Verdict(target.variant_id, UNCONFIRMED, "absent", message, check_at=ask_at)

        errors = sum(1 for s in earlier if s.get("outcome") == "error") + (step.outcome == "error")
        if step.outcome == "error" and errors < READ_ERRORS_ALLOWED:
            ask_at = now + settle * 2 ** (errors - 1)
            message = (
                f"{target.label} could not be asked just now ({step.detail}); asking again at "
                f"{_clock(ctx, ask_at)}"
            )
            move_variants(
                session,
                *held,
                sources=(UNCONFIRMED,),
                target=UNCONFIRMED,
                check_at=ask_at,
                last_error=storable(_unconfirmed(target, message)),
                **common,
            )
            return Verdict(target.variant_id, UNCONFIRMED, "error", message, check_at=ask_at)

        message = f"{target.label} could not be asked whether the post is there: {step.detail}"
        move_variants(
            session,
            *held,
            sources=(UNCONFIRMED,),
            target=UNCONFIRMED,
            check_at=None,
            last_error=storable(
                f"{_unconfirmed(target, message)}. {retry.unconfirmed_hint(target.variant_id)}"
            ),
            **common,
        )
        return Verdict(target.variant_id, UNCONFIRMED, step.outcome, message)


def _absent_twice(
    session: Session,
    ctx: Context,
    target: Target,
    variant: PostVariant,
    held: tuple[ColumnElement[bool], ...],
    common: dict[str, Any],
) -> Verdict:
    """Not there on two reads a settle delay apart, and no request of ours can still be on its
    way: sending again cannot duplicate it. Retried like any attempt that sent nothing."""
    seen = (
        f"{target.label} did not list it on {target.account_name} on two reads "
        f"{format_seconds(ctx.settings.read_back_settle)} apart"
    )
    attempt_in_round = variant.attempts - variant.attempts_before_retry
    now = common["updated_at"]
    if retry.attempts_used_up(attempt_in_round, ctx.settings):
        status, next_at = FAILED, None
        message = (
            f"not published: {seen}, and that was the last allowed attempt; retry it if still "
            f"wanted (omnipost retry {target.variant_id})"
        )
    else:
        status, next_at = RETRYING, now
        message = f"not published: {seen}; sending it again"
    move_variants(
        session,
        *held,
        sources=(UNCONFIRMED,),
        target=status,
        next_attempt_at=next_at,
        last_error=message,
        claim_token=None,
        lease_expires_at=None,
        sending_since=None,
        **common,
    )
    return Verdict(target.variant_id, status, "absent", message, next_attempt_at=next_at)


def _when(step: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(step["at"]))


def _clock(ctx: Context, moment: datetime) -> str:
    return format_local(moment, ctx.settings.tz, seconds=True)


def _unconfirmed(target: Target, message: str) -> str:
    return f"the answer to the request sent to {target.label} was lost; {message}"


def due_checks(ctx: Context, now: datetime, horizon: datetime) -> list[tuple[int, datetime]]:
    """Unconfirmed variants whose next read-back falls before ``horizon`` and has no message
    on its way: (variant id, check_at)."""
    stale = now - STALE_DISPATCH
    with ctx.db.read() as session:
        rows = session.execute(
            select(PostVariant.id, PostVariant.check_at)
            .where(
                PostVariant.status == UNCONFIRMED,
                PostVariant.check_at <= horizon,
                or_(PostVariant.dispatched_at.is_(None), PostVariant.dispatched_at < stale),
            )
            .order_by(PostVariant.check_at, PostVariant.id)
        ).all()
    return [(variant_id, check_at) for variant_id, check_at in rows if check_at is not None]


def mark_dispatched(ctx: Context, variant_id: int, check_at: datetime, now: datetime) -> None:
    """A read-back message is on its way, arriving at ``check_at``: it serves any planned read
    due by then (not one planned later since)."""
    with ctx.db.write() as session:
        session.execute(
            update(PostVariant)
            .where(
                PostVariant.id == variant_id,
                PostVariant.status == UNCONFIRMED,
                PostVariant.check_at <= check_at,
            )
            .values(dispatched_at=now)
        )
