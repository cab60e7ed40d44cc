"""Posts: the shared title, text and link that variants publish (optionally overridden)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from enum import Enum
from typing import Final
from urllib.parse import urlparse

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from omnipost_tui import clock
from omnipost_tui.errors import ValidationError
from omnipost_tui.models import POST_STATUSES, Post, PostVariant
from omnipost_tui.services.context import Context
from omnipost_tui.services.lookup import brand_by_ref, post_by_id
from omnipost_tui.services.media import ImageInput, NewCopies, attach_to
from omnipost_tui.services.texts import check_publishable
from omnipost_tui.services.views import PostView
from omnipost_tui.states import RETRYING, SCHEDULED
from omnipost_tui.text import check_line, check_text

MAX_TITLE = 300


class Unset(Enum):
    """The type of ``UNSET``: a field ``update_post`` leaves as it is (None clears the link)."""

    UNSET = "unset"


UNSET: Final = Unset.UNSET


def validate_link(link: str | None) -> str | None:
    value = check_line((link or "").strip(), "link")
    if not value:
        return None
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or " " in value:
        raise ValidationError(f"link {link!r} is not an http(s) URL")
    return value


def validate_title(title: str) -> str:
    value = check_line((title or "").strip(), "post title")
    if not value:
        raise ValidationError("post title must not be empty")
    if len(value) > MAX_TITLE:
        raise ValidationError(f"post title is longer than {MAX_TITLE} characters")
    return value


def validate_text(text: str) -> str:
    """The post's text as it is stored: line ends normalised, control characters refused."""
    if not (text or "").strip():
        raise ValidationError("post text must not be empty")
    return check_text(text, "post text")


def add_post(
    ctx: Context,
    *,
    brand: str | int,
    title: str,
    text: str,
    link: str | None = None,
    status: str = "draft",
    images: Sequence[ImageInput] = (),
) -> PostView:
    """Create a post (with its images, in order): all of it, or nothing."""
    title = validate_title(title)
    text = validate_text(text)
    link = validate_link(link)
    if status not in POST_STATUSES:
        raise ValidationError(f"post status must be one of {', '.join(POST_STATUSES)}")
    now = clock.now()
    with NewCopies(ctx) as copies, ctx.db.write() as session:
        brand_row = brand_by_ref(session, brand)
        post = Post(
            brand_id=brand_row.id,
            title=title,
            base_text=text,
            link=link,
            status=status,
            created_at=now,
            updated_at=now,
        )
        session.add(post)
        session.flush()
        attach_to(session, ctx.settings, post, images, copies)
        session.refresh(post, ["brand"])
        return PostView.of(post, {})


def update_post(
    ctx: Context,
    post_id: int | str,
    *,
    title: str | Unset = UNSET,
    text: str | Unset = UNSET,
    link: str | Unset | None = UNSET,
    status: str | Unset = UNSET,
) -> PostView:
    """Edit a post. Variants already scheduled with the base text must still fit their platform."""
    with ctx.db.write() as session:
        post = post_by_id(session, post_id)
        if title is not UNSET:
            post.title = validate_title(title)
        if text is not UNSET:
            post.base_text = validate_text(text)
        if link is not UNSET:
            post.link = validate_link(link)
        if status is not UNSET:
            if status not in POST_STATUSES:
                raise ValidationError(f"post status must be one of {', '.join(POST_STATUSES)}")
            post.status = status
        post.updated_at = clock.now()
        session.flush()
        for variant in post.variants:
            if variant.status in (SCHEDULED, RETRYING):
                check_publishable(ctx.settings, variant, f"variant {variant.id}")
        session.refresh(post, ["brand"])
        return PostView.of(post)


def get_post(ctx: Context, post_id: int | str) -> PostView:
    with ctx.db.read() as session:
        post = post_by_id(session, post_id)
        return PostView.of(post)


def list_posts(ctx: Context, *, brand: str | int | None = None) -> list[PostView]:
    with ctx.db.read() as session:
        query = (
            select(Post)
            .options(joinedload(Post.brand), selectinload(Post.images))
            .order_by(Post.id)
        )
        if brand is not None:
            query = query.where(Post.brand_id == brand_by_ref(session, brand).id)
        statuses: dict[int, dict[str, int]] = defaultdict(dict)
        for post_id, status, count in session.execute(
            select(PostVariant.post_id, PostVariant.status, func.count()).group_by(
                PostVariant.post_id, PostVariant.status
            )
        ):
            statuses[post_id][status] = count
        return [PostView.of(p, statuses[p.id]) for p in session.scalars(query).all()]
