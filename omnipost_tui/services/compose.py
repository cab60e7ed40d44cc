"""Writing a post and its variants in one go (the TUI's editor).

``check_plan`` says what is wrong, field by field, without writing anything; ``save_plan``
writes the post and every variant in one transaction, or nothing at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from omnipost_tui import clock
from omnipost_tui.errors import InvalidTransition, OmniPostError, ValidationError
from omnipost_tui.models import (
    DRAFT,
    REVOKED,
    SCHEDULED,
    ConnectedSocialAccount,
    Post,
    PostVariant,
)
from omnipost_tui.services.context import Context
from omnipost_tui.services.dispatch import dispatch_saved
from omnipost_tui.services.lookup import brand_by_ref, post_by_id, variant_by_id
from omnipost_tui.services.posts import validate_link, validate_text, validate_title
from omnipost_tui.services.texts import text_problem
from omnipost_tui.services.variants import (
    EDITABLE,
    check_account_usable,
    check_future,
    due_again,
)
from omnipost_tui.services.views import PostView, VariantView


@dataclass(frozen=True)
class VariantPlan:
    account_id: int
    custom_text: str | None = None
    at: datetime | None = None  # None: keep (or make) it a draft
    variant_id: int | None = None  # an existing variant being edited


@dataclass(frozen=True)
class PostPlan:
    brand: int | str
    title: str
    text: str
    link: str | None = None
    variants: tuple[VariantPlan, ...] = ()
    post_id: int | None = None  # editing an existing post


@dataclass
class SaveResult:
    post: PostView
    variants: list[VariantView] = field(default_factory=list)


def variant_field(index: int, name: str) -> str:
    """The key of a variant's field in ``check_plan``'s problems: ``variant.2.at``."""
    return f"variant.{index}.{name}"


def check_plan(ctx: Context, plan: PostPlan, now: datetime | None = None) -> dict[str, str]:
    """Every problem in ``plan``, keyed by field (``title``, ``variant.0.at``…); empty if valid."""
    now = now or clock.now()
    with ctx.db.read() as session:
        return _problems(session, plan, now)


def save_plan(ctx: Context, plan: PostPlan) -> SaveResult:
    """Write the post and its variants atomically; ValidationError (nothing written) if invalid."""
    now = clock.now()
    if any(v.at is not None for v in plan.variants):
        ctx.queue.ping()
    with ctx.db.write() as session:
        problems = _problems(session, plan, now)
        if problems:
            name, message = next(iter(problems.items()))
            raise ValidationError(f"{name}: {message}")
        post = _write_post(session, plan, now)
        variants = [_write_variant(session, post, v, now) for v in plan.variants]
        session.flush()
        session.refresh(post, ["brand", "variants"])
        result = SaveResult(
            PostView.of(post, len(post.variants)), [VariantView.of(v) for v in variants]
        )
    due = [(v.id, v.status, v.scheduled_at) for v in result.variants if v.status == SCHEDULED]
    dispatch_saved(ctx, [(i, s, at) for i, s, at in due if at is not None], now)
    return result


def _problems(session: Session, plan: PostPlan, now: datetime) -> dict[str, str]:
    problems: dict[str, str] = {}

    def check(name: str, action) -> object:
        try:
            return action()
        except OmniPostError as exc:
            problems[name] = exc.message
            return None

    brand = check("brand", lambda: brand_by_ref(session, plan.brand))
    check("title", lambda: validate_title(plan.title))
    check("text", lambda: validate_text(plan.text))
    check("link", lambda: validate_link(plan.link))
    if plan.post_id is not None:
        post = check("post", lambda: post_by_id(session, plan.post_id))
        if post is not None and brand is not None and post.brand_id != brand.id:
            problems["brand"] = "a post cannot move to another brand"
    seen: set[int] = set()
    for index, item in enumerate(plan.variants):
        account = session.get(ConnectedSocialAccount, item.account_id)
        if account is None or account.status == REVOKED:
            problems[variant_field(index, "account")] = f"no account {item.account_id}"
            continue
        if brand is not None and account.brand_id != brand.id:
            problems[variant_field(index, "account")] = (
                f"{account.name} belongs to brand {account.brand.name!r}"
            )
        if item.variant_id is not None:
            existing = check(
                variant_field(index, "variant"), lambda i=item: variant_by_id(session, i.variant_id)
            )
            if existing is not None and existing.status not in EDITABLE:
                problems[variant_field(index, "variant")] = (
                    f"variant {existing.id} is {existing.status} and can no longer be edited"
                )
            if existing is not None and existing.post_id != plan.post_id:
                problems[variant_field(index, "variant")] = "belongs to another post"
        elif account.id in seen:
            problems[variant_field(index, "account")] = f"{account.name} is already in this post"
        seen.add(account.id)
        if item.at is None:
            continue
        check(variant_field(index, "at"), lambda i=item: check_future(i.at, now))
        check(variant_field(index, "account"), lambda a=account: check_account_usable(a))
        custom = item.custom_text if item.custom_text and item.custom_text.strip() else None
        problem = text_problem(account.platform, custom if custom is not None else plan.text)
        if problem:
            problems[variant_field(index, "text")] = problem
    return problems


def _write_post(session: Session, plan: PostPlan, now: datetime) -> Post:
    if plan.post_id is not None:
        post = post_by_id(session, plan.post_id)
    else:
        post = Post(brand_id=brand_by_ref(session, plan.brand).id, status="draft", created_at=now)
        session.add(post)
    post.title = validate_title(plan.title)
    post.base_text = validate_text(plan.text)
    post.link = validate_link(plan.link)
    post.updated_at = now
    return post


def _write_variant(session: Session, post: Post, item: VariantPlan, now: datetime) -> PostVariant:
    account = session.get(ConnectedSocialAccount, item.account_id)
    assert account is not None  # checked by _problems in this same transaction
    custom = item.custom_text if item.custom_text and item.custom_text.strip() else None
    if item.variant_id is not None:
        # Locked (PostgreSQL) and checked again: a worker may have claimed it meanwhile.
        variant = session.get(PostVariant, item.variant_id, with_for_update=True)
        if variant is None or variant.status not in EDITABLE:
            raise InvalidTransition(f"variant {item.variant_id} changed meanwhile; try again")
        becomes_due = item.at is not None and (
            variant.status == DRAFT or variant.scheduled_at != item.at
        )
    else:
        variant = PostVariant(post=post, attempts=0, attempts_before_retry=0, created_at=now)
        session.add(variant)
        becomes_due = item.at is not None
    variant.account = account
    variant.platform = account.platform
    variant.custom_text = custom
    variant.updated_at = now
    if item.at is None:
        if variant.status != DRAFT:
            variant.status = DRAFT
            variant.next_attempt_at = None
            variant.dispatched_at = None
    elif becomes_due:
        for name, value in due_again(variant, item.at).items():
            setattr(variant, name, value)
    return variant
