"""Variants: one post on one account at one time, and every user action on its status.

Every status change is a compare-and-set (``UPDATE … WHERE id = :id AND status = :expected``);
a rowcount of 0 means a worker or another user changed it first, and the action is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Final, TypeVarTuple

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, and_, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from omnipost_tui import clock, states
from omnipost_tui.errors import InvalidTransition, ValidationError
from omnipost_tui.image_modes import IMAGES_INHERIT
from omnipost_tui.models import (
    CONNECTED,
    EXTERNAL_POST_ID_LENGTH,
    REVOKED,
    ConnectedSocialAccount,
    Post,
    PostVariant,
)
from omnipost_tui.platforms import PLATFORMS
from omnipost_tui.services import workers
from omnipost_tui.services.context import Context
from omnipost_tui.services.dispatch import dispatch_saved
from omnipost_tui.services.lookup import account_by_ref, brand_by_ref, post_by_id, variant_by_id
from omnipost_tui.services.media import images_problem
from omnipost_tui.services.texts import check_publishable, text_problem
from omnipost_tui.services.transitions import change_variant
from omnipost_tui.services.views import VariantView, images_of
from omnipost_tui.states import (
    DRAFT,
    FAILED,
    PUBLISHED,
    SCHEDULED,
    UNCONFIRMED,
    VARIANT_STATUSES,
    due_time,
)
from omnipost_tui.text import check_line, check_text


class Unset(Enum):
    """The type of ``UNSET``: a field ``update_variant`` leaves as it is (None clears the text)."""

    UNSET = "unset"


UNSET: Final = Unset.UNSET


def _load(session: Session, variant_id: int | str) -> PostVariant:
    return variant_by_id(session, variant_id)


def _require(action: states.Action, variant: PostVariant) -> None:
    refusal = action.refusal(variant.id, variant.status)
    if refusal is not None:
        raise InvalidTransition(refusal)


def check_account_usable(account: ConnectedSocialAccount) -> None:
    if account.status != CONNECTED:
        raise ValidationError(
            f"account {account.id} ({account.name}) is {account.status}; "
            f"reconnect it first: omnipost account reconnect {account.id}"
        )


# "now" typed a moment ago is not "in the past": it goes out at once.
NOW_GRACE = timedelta(seconds=5)
# A time this far ahead is almost certainly a typo in the year.
MAX_AHEAD = timedelta(days=3 * 366)


def check_future(at: datetime, now: datetime) -> None:
    if at > now + MAX_AHEAD:
        raise ValidationError(f"{at:%Y-%m-%d} is more than three years ahead; is the year right?")
    if at < now - NOW_GRACE:
        raise ValidationError(
            "that time is in the past; pick a future time, or publish it now (omnipost publish "
            "ID; p in the app)"
        )


def _view(session: Session, variant_id: int) -> VariantView:
    variant = session.scalars(
        _with_relations(select(PostVariant)).where(PostVariant.id == variant_id)
    ).one()
    return VariantView.of(variant)


def _with_relations(query: Select[PostVariant]) -> Select[PostVariant]:
    post = joinedload(PostVariant.post)
    return query.options(
        post.joinedload(Post.brand),
        post.selectinload(Post.images),  # one query per page of variants, not one per row
        selectinload(PostVariant.own_images),
        joinedload(PostVariant.account),
    )


def _dispatch_view(ctx: Context, view: VariantView, now: datetime) -> None:
    due = due_time(view.status, view.scheduled_at, view.next_attempt_at)
    if due is not None:
        dispatch_saved(ctx, [(view.id, view.status, due)], now)


# --- create and edit --------------------------------------------------------------------------


def add_variant(
    ctx: Context,
    *,
    post: int | str,
    account: int | str,
    platform: str | None = None,
    custom_text: str | None = None,
    at: datetime | None = None,
    draft: bool = False,
) -> VariantView:
    """Create a variant: scheduled at ``at``, or a draft (with an optional planned time)."""
    now = clock.now()
    if not draft and at is None:
        raise ValidationError("say when: --at WHEN (or --draft to keep it unscheduled)")
    if not draft and at is not None:
        check_future(at, now)
    if custom_text is not None and not custom_text.strip():
        custom_text = None
    if custom_text is not None:
        custom_text = check_text(custom_text, "variant text")
    if not draft:
        ctx.queue.ping()  # nothing is written when the queue is unreachable
    if platform is not None and platform.strip().lower() not in PLATFORMS:
        raise ValidationError(f"unknown platform {platform!r}; use {' or '.join(PLATFORMS)}")
    with ctx.db.write() as session:
        post_row = post_by_id(session, post)
        account_row = account_by_ref(session, account)
        if platform is not None and platform.strip().lower() != account_row.platform:
            raise ValidationError(
                f"account {account_row.id} ({account_row.name}) is a {account_row.platform} "
                f"account, not {platform}"
            )
        if account_row.brand_id != post_row.brand_id:
            raise ValidationError(
                f"account {account_row.id} ({account_row.name}) belongs to brand "
                f"{account_row.brand.name!r}, but post {post_row.id} belongs to "
                f"{post_row.brand.name!r}"
            )
        if account_row.status == REVOKED:
            raise ValidationError(f"account {account_row.id} ({account_row.name}) was removed")
        variant = PostVariant(
            post=post_row,
            platform=account_row.platform,
            account=account_row,
            custom_text=custom_text,
            scheduled_at=at,
            status=DRAFT if draft else SCHEDULED,
            images_mode=IMAGES_INHERIT,
            attempts=0,
            attempts_before_retry=0,
            created_at=now,
            updated_at=now,
        )
        # Added before the checks, which load the post's images; a refusal rolls it back.
        session.add(variant)
        if not draft:
            check_account_usable(account_row)
            check_publishable(ctx.settings, variant, "cannot schedule")
        session.flush()
        view = VariantView.of(variant)
    _dispatch_view(ctx, view, now)
    return view


def update_variant(
    ctx: Context,
    variant_id: int | str,
    *,
    custom_text: str | Unset | None = UNSET,
    account: int | str | Unset = UNSET,
) -> VariantView:
    """Change the text override or the account of a variant that has not gone out."""
    with ctx.db.write() as session:
        variant = _load(session, variant_id)
        _require(states.EDIT, variant)
        values: dict[str, object] = {}
        text = variant.custom_text
        if custom_text is not UNSET:
            text = (
                check_text(custom_text, "variant text")
                if isinstance(custom_text, str) and custom_text.strip()
                else None
            )
            values["custom_text"] = text
        target = variant.account
        if account is not UNSET:
            target = account_by_ref(session, account)
            if target.brand_id != variant.post.brand_id:
                raise ValidationError(
                    f"account {target.id} ({target.name}) belongs to another brand than "
                    f"post {variant.post_id}"
                )
            if target.status == REVOKED:
                raise ValidationError(f"account {target.id} ({target.name}) was removed")
            if variant.status != DRAFT:
                check_account_usable(target)
            values.update(account_id=target.id, platform=target.platform)
        if variant.status in states.WAITING:
            problem = text_problem(
                target.platform, text if text else variant.post.base_text
            ) or images_problem(ctx.settings, target.platform, images_of(variant))
            if problem:
                raise ValidationError(f"variant {variant.id}: {problem}")
        # The CAS keeps a worker's claim from being overwritten by this edit.
        change_variant(session, variant, **values)
        return _view(session, variant.id)


# --- scheduling actions -----------------------------------------------------------------------


def due_again(planned_at: datetime, *, due_now: datetime | None = None) -> dict[str, object]:
    """What every user action that makes a variant due sets: a clean slate, and a fresh budget
    of MAX_ATTEMPTS counted from here (earlier attempts keep their numbers).

    ``planned_at`` is the time the user planned, kept on the variant (the calendar and the
    lists show it). ``due_now``: the variant goes out at that moment instead
    (publish now, retry) without the plan being rewritten.
    """
    return {
        "status": SCHEDULED,
        "scheduled_at": planned_at,
        "next_attempt_at": due_now,
        "dispatched_at": None,
        "last_error": None,
        "claim_token": None,
        "lease_expires_at": None,
        # In SQL, not from the value read earlier: a worker may have counted one more since.
        "attempts_before_retry": PostVariant.attempts,
    }


def schedule_variant(ctx: Context, variant_id: int | str, at: datetime) -> VariantView:
    """Schedule (or reschedule) a variant for ``at``, a future time."""
    now = clock.now()
    check_future(at, now)
    return _make_due(ctx, variant_id, now, states.RESCHEDULE, lambda _: due_again(at))


def _make_due(
    ctx: Context,
    variant_id: int | str,
    now: datetime,
    action: states.Action,
    values: Callable[[PostVariant], dict[str, object]],
) -> VariantView:
    ctx.queue.ping()  # nothing is written when the queue is unreachable
    with ctx.db.write() as session:
        variant = _load(session, variant_id)
        _require(action, variant)
        check_account_usable(variant.account)
        check_publishable(ctx.settings, variant, f"variant {variant.id} cannot be {action.done}")
        change_variant(session, variant, **values(variant))
        view = _view(session, variant.id)
    _dispatch_view(ctx, view, now)
    return view


def due_at_once(variant: PostVariant, now: datetime) -> dict[str, object]:
    """Publish now or retry now, keeping the planned time (an undated draft's plan becomes
    now)."""
    return due_again(variant.scheduled_at or now, due_now=now)


def unschedule_variant(ctx: Context, variant_id: int | str) -> VariantView:
    """Back to draft; the planned time is kept so it can be rescheduled."""
    with ctx.db.write() as session:
        variant = _load(session, variant_id)
        _require(states.UNSCHEDULE, variant)
        change_variant(
            session,
            variant,
            status=DRAFT,
            next_attempt_at=None,
            dispatched_at=None,
        )
        return _view(session, variant.id)


@dataclass(frozen=True)
class PublishNowResult:
    variant: VariantView
    worker_online: bool


def publish_now(ctx: Context, variant_id: int | str) -> PublishNowResult:
    """Queue a variant for immediate publishing, whatever its planned time."""
    now = clock.now()
    view = _make_due(ctx, variant_id, now, states.PUBLISH_NOW, lambda v: due_at_once(v, now))
    return PublishNowResult(view, workers.worker_online(ctx, now))


@dataclass(frozen=True)
class RetryResult:
    retried: list[VariantView]
    skipped: list[tuple[int, str]]  # (variant id, why): only `retry all` skips instead of failing
    worker_online: bool


def retry_variants(ctx: Context, refs: Iterable[int | str] | None) -> RetryResult:
    """Retry failed (and, when named, unconfirmed) variants now, with a fresh attempt budget.

    ``None`` means every failed variant. Unconfirmed variants are only retried by id: the user
    has checked the page and knows the post is not there.
    """
    now = clock.now()
    ctx.queue.ping()
    with ctx.db.write() as session:
        if refs is None:
            variants = list(
                session.scalars(
                    select(PostVariant).where(PostVariant.status == FAILED).order_by(PostVariant.id)
                ).all()
            )
        else:
            variants = list({v.id: v for v in (_load(session, ref) for ref in refs)}.values())
            for variant in variants:
                _require(states.RETRY, variant)
        ready: list[PostVariant] = []
        skipped: list[tuple[int, str]] = []
        for variant in variants:
            try:
                check_account_usable(variant.account)
                check_publishable(ctx.settings, variant, f"cannot retry variant {variant.id}")
            except ValidationError as exc:
                if refs is not None:
                    raise  # named explicitly: refuse the whole command, write nothing
                skipped.append((variant.id, exc.message))  # `retry all` does what it can
                continue
            ready.append(variant)
        views = []
        for variant in ready:
            change_variant(session, variant, **due_at_once(variant, now))
            views.append(_view(session, variant.id))
    for view in views:
        _dispatch_view(ctx, view, now)
    return RetryResult(views, skipped, workers.worker_online(ctx, now))


def mark_published(
    ctx: Context, variant_id: int | str, external_post_id: str | None = None
) -> VariantView:
    """The user checked the page: the post is there."""
    external = check_line((external_post_id or "").strip(), "post id") or None
    if external is not None and len(external) > EXTERNAL_POST_ID_LENGTH:
        raise ValidationError(
            f"the post id is longer than {EXTERNAL_POST_ID_LENGTH} characters; is it the right one?"
        )
    with ctx.db.write() as session:
        variant = _load(session, variant_id)
        _require(states.MARK_PUBLISHED, variant)
        change_variant(
            session,
            variant,
            status=PUBLISHED,
            external_post_id=external or variant.external_post_id,
            published_at=clock.now(),
            next_attempt_at=None,
            last_error=None,
            claim_token=None,
            lease_expires_at=None,
        )
        return _view(session, variant.id)


# --- reading ----------------------------------------------------------------------------------


def get_variant(ctx: Context, variant_id: int | str) -> VariantView:
    with ctx.db.read() as session:
        variant = _load(session, variant_id)
        return _view(session, variant.id)


@dataclass(frozen=True)
class VariantFilter:
    statuses: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    brand: str | int | None = None
    account: str | int | None = None
    post: int | None = None
    date_from: datetime | None = None  # inclusive, on scheduled_at (or on the calendar)
    date_to: datetime | None = None  # exclusive
    search: str | None = None  # in the title, base text or custom text
    # Dates as the calendar places a variant: a published one where it went out.
    on_calendar: bool = False


# The columns of a query that _filtered narrows (it only adds conditions and joins).
_Row = TypeVarTuple("_Row")


@dataclass(frozen=True)
class Cursor:
    """Keyset position: the (scheduled_at, id) of a row; undated drafts sort first."""

    scheduled_at: datetime | None
    id: int


def _filtered(session: Session, query: Select[*_Row], flt: VariantFilter) -> Select[*_Row]:
    for status in flt.statuses:
        if status not in VARIANT_STATUSES:
            raise ValidationError(
                f"unknown status {status!r}; use one of {', '.join(VARIANT_STATUSES)}"
            )
    for platform in flt.platforms:
        if platform not in PLATFORMS:
            raise ValidationError(
                f"unknown platform {platform!r}; use one of {', '.join(PLATFORMS)}"
            )
    if flt.statuses:
        query = query.where(PostVariant.status.in_(flt.statuses))
    if flt.platforms:
        query = query.where(PostVariant.platform.in_(flt.platforms))
    if flt.account is not None:
        query = query.where(PostVariant.account_id == account_by_ref(session, flt.account).id)
    if flt.post is not None:
        query = query.where(PostVariant.post_id == flt.post)
    needs_post = flt.brand is not None or flt.search
    if needs_post:
        query = query.join(Post, Post.id == PostVariant.post_id)
    if flt.brand is not None:
        query = query.where(Post.brand_id == brand_by_ref(session, flt.brand).id)
    if flt.search:
        # Refused like any text with a control character or an undecodable byte: the database
        # driver cannot encode the latter ("something went wrong"), and no text holds either.
        # The text as typed: "50%" finds "50% off", not every text with a 50 in it.
        typed = check_text(flt.search.strip(), "search text")
        pattern = "%" + re.sub(r"([\\%_])", r"\\\1", typed) + "%"
        query = query.where(
            or_(
                Post.title.ilike(pattern, escape="\\"),
                Post.base_text.ilike(pattern, escape="\\"),
                PostVariant.custom_text.ilike(pattern, escape="\\"),
            )
        )
    if flt.on_calendar:
        return query.where(placed_between(flt.date_from, flt.date_to))
    if flt.date_from is not None:
        query = query.where(PostVariant.scheduled_at >= flt.date_from)
    if flt.date_to is not None:
        query = query.where(PostVariant.scheduled_at < flt.date_to)
    return query


def placed_time(
    status: str, scheduled_at: datetime | None, published_at: datetime | None
) -> datetime | None:
    """Where a variant sits on the calendar: where it went out once published (publish now,
    a retry), else where it is planned. ``placed_between`` is the same rule in SQL."""
    if status == PUBLISHED and published_at is not None:
        return published_at
    return scheduled_at


def placed_at(variant: VariantView) -> datetime | None:
    """``placed_time`` of a variant as the screens hold it."""
    return placed_time(variant.status, variant.scheduled_at, variant.published_at)


def placed_between(start: datetime | None, end: datetime | None) -> ColumnElement[bool]:
    """``placed_time`` in [start, end), as range searches on the (status, scheduled_at) and
    (status, published_at) indexes."""

    def within(column: SQLColumnExpression[datetime | None]) -> ColumnElement[bool]:
        bounds: list[ColumnElement[bool]] = []
        if start is not None:
            bounds.append(column >= start)
        if end is not None:
            bounds.append(column < end)
        return and_(*bounds) if bounds else column.is_not(None)

    went_out = and_(PostVariant.status == PUBLISHED, PostVariant.published_at.is_not(None))
    return or_(
        and_(PostVariant.status == PUBLISHED, within(PostVariant.published_at)),
        and_(~went_out, within(PostVariant.scheduled_at)),
    )


def _after(cursor: Cursor) -> ColumnElement[bool]:
    """Dated rows after ``cursor`` in (scheduled_at, id) order; undated drafts come last and are
    fetched separately so this stays a range search on the index."""
    if cursor.scheduled_at is None:
        return and_(PostVariant.scheduled_at.is_(None), PostVariant.id > cursor.id)
    return or_(
        PostVariant.scheduled_at > cursor.scheduled_at,
        and_(PostVariant.scheduled_at == cursor.scheduled_at, PostVariant.id > cursor.id),
    )


def _before(cursor: Cursor) -> ColumnElement[bool]:
    if cursor.scheduled_at is None:
        return or_(
            PostVariant.scheduled_at.is_not(None),
            and_(PostVariant.scheduled_at.is_(None), PostVariant.id < cursor.id),
        )
    return or_(
        PostVariant.scheduled_at < cursor.scheduled_at,
        and_(PostVariant.scheduled_at == cursor.scheduled_at, PostVariant.id < cursor.id),
    )


def list_variants(
    ctx: Context,
    flt: VariantFilter | None = None,
    *,
    after: Cursor | None = None,
    before: Cursor | None = None,
    limit: int | None = None,
) -> list[VariantView]:
    """Variants in time order (undated drafts last), filtered and paged in SQL.

    Keyset pagination on (scheduled_at, id): ``after`` gives the page following a row,
    ``before`` the page preceding it (still returned in time order). Every page is a range
    search on the ``(scheduled_at, id)`` index: as cheap at row 100,000 as at row 10.
    """
    flt = flt or VariantFilter()
    if after is not None and before is not None:
        raise ValueError("page after a row or before it, not both")
    with ctx.db.read() as session:
        base = _filtered(session, select(PostVariant), flt)

        def fetch(
            query: Select[PostVariant], order: tuple[ColumnElement[Any], ...], count: int | None
        ) -> list[VariantView]:
            query = _with_relations(query).order_by(*order)
            if count is not None:
                query = query.limit(count)
            return [VariantView.of(v) for v in session.scalars(query).unique().all()]

        if before is not None:
            order = (PostVariant.scheduled_at.desc().nulls_first(), PostVariant.id.desc())
            return fetch(base.where(_before(before)), order, limit)[::-1]
        forward = (PostVariant.scheduled_at.asc(), PostVariant.id.asc())
        if after is not None and after.scheduled_at is None:
            return fetch(base.where(_after(after)), forward, limit)
        dated = base.where(PostVariant.scheduled_at.is_not(None))
        if after is not None:
            dated = dated.where(_after(after))
        rows = fetch(dated, forward, limit)
        if limit is None or len(rows) < limit:
            undated = base.where(PostVariant.scheduled_at.is_(None))
            rows += fetch(
                undated, (PostVariant.id.asc(),), None if limit is None else limit - len(rows)
            )
        return rows


def count_variants(
    ctx: Context, flt: VariantFilter | None = None, *, before: Cursor | None = None
) -> int:
    """How many variants match (and, with ``before``, how many of them sort before a row)."""
    with ctx.db.read() as session:
        query = _filtered(session, select(func.count(PostVariant.id)), flt or VariantFilter())
        if before is not None:
            query = query.where(_before(before))
        return session.scalar(query) or 0


def cursor_of(variant: VariantView) -> Cursor:
    return Cursor(variant.scheduled_at, variant.id)


def needs_attention(ctx: Context) -> list[VariantView]:
    """Failed and unconfirmed variants: the ones waiting for a human."""
    return list_variants(ctx, VariantFilter(statuses=(FAILED, UNCONFIRMED)))


@dataclass(frozen=True)
class Waiting:
    """How many variants wait for a human (doctor's attention check, the sweep's heartbeat)."""

    failed: int
    unconfirmed: int

    def __bool__(self) -> bool:
        return bool(self.failed or self.unconfirmed)


def count_needing_attention(ctx: Context) -> Waiting:
    """The counts of ``needs_attention``, in one cheap query (on the status index)."""
    with ctx.db.read() as session:
        counts = dict(
            session.execute(
                select(PostVariant.status, func.count())
                .where(PostVariant.status.in_((FAILED, UNCONFIRMED)))
                .group_by(PostVariant.status)
            ).all()
        )
    return Waiting(failed=counts.get(FAILED, 0), unconfirmed=counts.get(UNCONFIRMED, 0))
