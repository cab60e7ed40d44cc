"""Writing a post and its variants in one go (the TUI's editor).

``check_plan`` says what is wrong, field by field, without writing anything; ``save_plan``
writes the post and every variant in one transaction, or nothing at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import TypeVar

from sqlalchemy.orm import Session

from omnipost_tui import clock
from omnipost_tui.config import Settings
from omnipost_tui.errors import InvalidTransition, OmniPostError, ValidationError
from omnipost_tui.image_modes import IMAGES_INHERIT
from omnipost_tui.models import (
    CONNECTED,
    REVOKED,
    ConnectedSocialAccount,
    MediaFile,
    Post,
    PostVariant,
)
from omnipost_tui.platforms import text_with_link
from omnipost_tui.services.context import Context
from omnipost_tui.services.dispatch import dispatch_saved
from omnipost_tui.services.lookup import brand_by_ref, post_by_id, variant_by_id
from omnipost_tui.services.media import (
    alt_problem,
    images_problem,
    missing_file,
    missing_message,
    set_post_images,
)
from omnipost_tui.services.posts import validate_link, validate_text, validate_title
from omnipost_tui.services.texts import text_problem
from omnipost_tui.services.transitions import change_variant
from omnipost_tui.services.variants import check_future, due_again
from omnipost_tui.services.views import ImageView, PostView, VariantView, images_of
from omnipost_tui.states import DRAFT, EDIT, FAILED, WAITING, Saved, due_time, on_save
from omnipost_tui.text import check_text

_T = TypeVar("_T")


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
    # The post's pictures in order (each already in the media directory: media.add_file);
    # None leaves an existing post's images as they are.
    images: tuple[ImageView, ...] | None = None


@dataclass
class SaveResult:
    post: PostView
    variants: list[VariantView] = field(default_factory=list)


@dataclass(frozen=True)
class LockedVariant:
    """A variant of the post that the editor shows but cannot change, and why."""

    variant: VariantView
    reason: str  # "published", "publishing", "unconfirmed", "account removed"


@dataclass(frozen=True)
class LoadedPost:
    """An existing post as the editor opens it.

    ``plan.variants[i]`` is the plan of ``editable[i]``; saving ``plan`` unchanged changes
    nothing. ``locked`` are the variants that already went out (or cannot go out any more).
    """

    post: PostView
    plan: PostPlan
    editable: tuple[VariantView, ...] = ()
    locked: tuple[LockedVariant, ...] = ()


class PlanInvalid(ValidationError):
    """``save_plan`` refused the plan; ``problems`` has every problem, keyed like check_plan."""

    def __init__(self, problems: dict[str, str]) -> None:
        name, message = next(iter(problems.items()))
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{field_label(name)}: {message}{more}")
        self.problems = dict(problems)


def variant_field(index: int, name: str) -> str:
    """The key of a variant's field in ``check_plan``'s problems: ``variant.2.at``."""
    return f"variant.{index}.{name}"


_FIELD_NAMES = {
    "at": "time",
    "text": "text",
    "account": "account",
    "variant": "variant",
    "images": "images",
}


def field_label(key: str) -> str:
    """``variant.0.at`` → ``variant 1 time``: a problem key as a person would name it."""
    parts = key.split(".")
    if len(parts) == 3 and parts[0] == "variant" and parts[1].isdigit():
        return f"variant {int(parts[1]) + 1} {_FIELD_NAMES.get(parts[2], parts[2])}"
    return key


def load_post(ctx: Context, post_id: int | str) -> LoadedPost:
    """A post, its variants split into editable and locked, and the plan that keeps it as is."""
    with ctx.db.read() as session:
        post = post_by_id(session, post_id)
        rows = sorted(post.variants, key=lambda v: v.id)
        editable = [v for v in rows if EDIT.allows(v.status) and v.account.status != REVOKED]
        locked = [
            LockedVariant(
                VariantView.of(v),
                "account removed" if EDIT.allows(v.status) else v.status,
            )
            for v in rows
            if v not in editable
        ]
        plan = PostPlan(
            brand=post.brand_id,
            title=post.title,
            text=post.base_text,
            link=post.link,
            post_id=post.id,
            images=tuple(ImageView.of(row) for row in post.images),
            variants=tuple(
                VariantPlan(
                    account_id=v.account_id,
                    custom_text=v.custom_text,
                    # A draft's planned time is only a note: saving must not schedule it.
                    at=None if v.status == DRAFT else v.scheduled_at,
                    variant_id=v.id,
                )
                for v in editable
            ),
        )
        return LoadedPost(
            PostView.of(post),
            plan,
            tuple(VariantView.of(v) for v in editable),
            tuple(locked),
        )


def load_plan(ctx: Context, post_id: int | str) -> PostPlan:
    """The plan that describes ``post_id`` as it is now (its editable variants only)."""
    return load_post(ctx, post_id).plan


def check_plan(ctx: Context, plan: PostPlan, now: datetime | None = None) -> dict[str, str]:
    """Every problem in ``plan``, keyed by field (``title``, ``variant.0.at``…); empty if valid."""
    now = now or clock.now()
    with ctx.db.read() as session:
        return _problems(session, ctx.settings, plan, now)


def save_plan(ctx: Context, plan: PostPlan) -> SaveResult:
    """Write the post and its variants atomically; ValidationError (nothing written) if invalid."""
    now = clock.now()
    if any(v.at is not None for v in plan.variants):
        ctx.queue.ping()
    with ctx.db.write() as session:
        problems = _problems(session, ctx.settings, plan, now)
        if problems:
            raise PlanInvalid(problems)
        post = _write_post(session, plan, now)
        variants = [_write_variant(session, post, v, now) for v in plan.variants]
        session.flush()
        session.refresh(post, ["brand", "variants"])
        result = SaveResult(PostView.of(post), [VariantView.of(v) for v in variants])
    due = [
        (v.id, v.status, due_time(v.status, v.scheduled_at, v.next_attempt_at))
        for v in result.variants
    ]
    dispatch_saved(ctx, [(i, s, at) for i, s, at in due if at is not None], now)
    return result


def _problems(
    session: Session, settings: Settings, plan: PostPlan, now: datetime
) -> dict[str, str]:
    problems: dict[str, str] = {}

    def check(name: str, action: Callable[[], _T]) -> _T | None:
        try:
            return action()
        except OmniPostError as exc:
            problems[name] = exc.message
            return None

    brand = check("brand", lambda: brand_by_ref(session, plan.brand))
    check("title", lambda: validate_title(plan.title))
    if plan.images is not None:
        problem = _planned_images_problem(session, settings, plan.images)
        if problem:
            problems["images"] = problem
    post_text = check("text", lambda: validate_text(plan.text))
    check("link", lambda: validate_link(plan.link))
    if plan.post_id is not None:
        post = check("post", partial(post_by_id, session, plan.post_id))
        if post is not None and brand is not None and post.brand_id != brand.id:
            problems["brand"] = "a post cannot move to another brand"
    seen: set[int] = set()
    planned: set[int] = set()
    for index, item in enumerate(plan.variants):
        account = session.get(ConnectedSocialAccount, item.account_id)
        if account is None or account.status == REVOKED:
            problems[variant_field(index, "account")] = f"no account {item.account_id}"
            continue
        if brand is not None and account.brand_id != brand.id:
            problems[variant_field(index, "account")] = (
                f"{account.name} belongs to brand {account.brand.name!r}"
            )
        existing: PostVariant | None = None
        if item.variant_id is not None:
            planned.add(item.variant_id)
            existing = check(
                variant_field(index, "variant"), partial(variant_by_id, session, item.variant_id)
            )
            if existing is not None and not EDIT.allows(existing.status):
                problems[variant_field(index, "variant")] = (
                    f"variant {existing.id} is {existing.status} and can no longer be edited"
                )
            if existing is not None and existing.post_id != plan.post_id:
                problems[variant_field(index, "variant")] = "belongs to another post"
        elif account.id in seen:
            problems[variant_field(index, "account")] = f"{account.name} is already in this post"
        seen.add(account.id)
        custom = check(variant_field(index, "text"), partial(_custom_text, item))
        if variant_field(index, "text") in problems:
            continue
        if item.at is None:
            continue
        saved = _on_save(existing, item)
        if saved.status == FAILED:
            continue  # stays failed: nothing goes out, so nothing to check
        if saved.made_due:
            # An unchanged time is not "in the past" and needs no new token: it was accepted
            # when it was set, and the engine deals with it from there.
            check(variant_field(index, "at"), partial(check_future, item.at, now))
            if account.status != CONNECTED:
                problems[variant_field(index, "account")] = _unusable(account)
        # Measured as it will be stored (line ends normalised).
        text = custom if custom is not None else (post_text or plan.text)
        text = str(text)
        if _publishes_images(plan, existing):
            text = text_with_link(text, plan.link)  # the link travels in the text then
        problem = text_problem(account.platform, text)
        if problem:
            problems[variant_field(index, "text")] = problem
        elif "images" not in problems:
            problem = _variant_images_problem(settings, plan, existing, account.platform)
            if problem:
                problems[variant_field(index, "images")] = problem
    if plan.post_id is not None and "post" not in problems and "text" not in problems:
        _check_unplanned(session, settings, plan, planned, problems)
    return problems


def _planned_images_problem(
    session: Session, settings: Settings, images: tuple[ImageView, ...]
) -> str | None:
    seen: set[str] = set()
    for position, image in enumerate(images, start=1):
        which = f"image {position} ({image.name})"
        if image.sha256 in seen:
            return f"{which} is in the post twice"
        seen.add(image.sha256)
        if session.get(MediaFile, image.sha256) is None:
            return f"{which} is not in OmniPost's media directory; add it again"
        problem = alt_problem(settings, image.alt)
        if problem:
            return f"{which}: {problem}"
    gone = missing_file(settings.paths, images)
    return missing_message(gone) if gone is not None else None


def _variant_images_problem(
    settings: Settings, plan: PostPlan, existing: PostVariant | None, platform: str
) -> str | None:
    """What the variant will publish: the plan's images unless it has its own (or none)."""
    if existing is not None and existing.images_mode != IMAGES_INHERIT:
        images = images_of(existing)
    elif plan.images is not None:
        images = _numbered(plan.images)
    elif existing is not None:
        images = images_of(existing)
    else:
        return None
    return images_problem(settings, platform, images)


def _publishes_images(plan: PostPlan, existing: PostVariant | None) -> bool:
    if existing is not None and existing.images_mode != IMAGES_INHERIT:
        return bool(images_of(existing))
    if plan.images is not None:
        return bool(plan.images)
    return existing is not None and bool(images_of(existing))


def _numbered(images: tuple[ImageView, ...]) -> tuple[ImageView, ...]:
    return tuple(replace(image, position=n) for n, image in enumerate(images, start=1))


def _custom_text(item: VariantPlan) -> str | None:
    """A variant's own text as stored, or None when it publishes the post's text."""
    if not (item.custom_text and item.custom_text.strip()):
        return None
    return check_text(item.custom_text, "variant text")


def _on_save(existing: PostVariant | None, item: VariantPlan) -> Saved:
    """What saving ``item`` does to the status of the variant it plans (``existing``, or a new
    one)."""
    return on_save(
        existing.status if existing is not None else None,
        planned=item.at is not None,
        same_plan=existing is not None
        and existing.scheduled_at == item.at
        and existing.account_id == item.account_id,
    )


def _unusable(account: ConnectedSocialAccount) -> str:
    return (
        f"{account.name} is {account.status}; reconnect it first (Accounts screen, or "
        f"omnipost account reconnect {account.id}), or leave the time empty to keep a draft"
    )


def _check_unplanned(
    session: Session,
    settings: Settings,
    plan: PostPlan,
    planned: set[int],
    problems: dict[str, str],
) -> None:
    """Variants the plan leaves alone still publish the post's text and images: they must fit
    them too."""
    post = session.get(Post, plan.post_id)
    if post is None:
        return
    for variant in post.variants:
        if variant.id in planned or variant.status not in WAITING:
            continue
        who = f"variant {variant.id} ({variant.account.name})"
        if plan.images is not None and variant.images_mode == IMAGES_INHERIT:
            problem = images_problem(settings, variant.platform, _numbered(plan.images))
            if problem and "images" not in problems:
                problems["images"] = f"{who}: {problem}"
        if variant.custom_text is not None and variant.custom_text.strip():
            continue
        problem = text_problem(variant.platform, plan.text)
        if problem:
            problems["text"] = f"{who}: {problem}"
            return


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
    if plan.images is not None:
        if post.id is None:
            session.flush()
        set_post_images(session, post, [(i.sha256, i.alt, i.name) for i in plan.images])
    return post


def _write_variant(session: Session, post: Post, item: VariantPlan, now: datetime) -> PostVariant:
    account = session.get(ConnectedSocialAccount, item.account_id)
    assert account is not None  # checked by _problems in this same transaction
    values: dict[str, object] = {
        "account_id": account.id,
        "platform": account.platform,
        "custom_text": _custom_text(item),
        "updated_at": now,
    }
    if item.variant_id is None:
        saved = _on_save(None, item)
        variant = PostVariant(
            post=post,
            status=saved.status,
            scheduled_at=item.at,
            images_mode=IMAGES_INHERIT,
            created_at=now,
            **values,
        )
        variant.attempts = variant.attempts_before_retry = 0
        session.add(variant)
        return variant
    variant = variant_by_id(session, item.variant_id)
    # Checked again, and written as a compare-and-set: a worker may have claimed it meanwhile.
    if not EDIT.allows(variant.status):
        raise InvalidTransition(f"variant {item.variant_id} changed meanwhile; try again")
    saved = _on_save(variant, item)
    if saved.status == DRAFT and variant.status != DRAFT:
        values.update(status=DRAFT, next_attempt_at=None, dispatched_at=None)
    elif saved.made_due:
        assert item.at is not None
        values.update(due_again(item.at))
    change_variant(session, variant, **values)
    return variant
