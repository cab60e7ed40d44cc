"""Plain, immutable views of domain objects for the CLI and the TUI.

Sessions stay inside the service layer; what leaves it is one of these dataclasses.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from omnipost_tui.image_modes import IMAGES_INHERIT, IMAGES_NONE, IMAGES_OWN
from omnipost_tui.states import DRAFT, VARIANT_STATUSES
from omnipost_tui.times import iso_local

if TYPE_CHECKING:
    # Views are built from rows, but printing one (the commands' JSON and tables) needs no
    # database layer: the models stay unimported until a query has made rows.
    from omnipost_tui.models import (
        Brand,
        ConnectedSocialAccount,
        Post,
        PostImage,
        PostVariant,
        PublicationAttempt,
        VariantImage,
    )


@dataclass(frozen=True)
class BrandView:
    id: int
    name: str
    created_at: datetime
    account_count: int = 0

    @classmethod
    def of(cls, brand: Brand, account_count: int = 0) -> BrandView:
        return cls(brand.id, brand.name, brand.created_at, account_count)


@dataclass(frozen=True)
class AccountView:
    id: int
    brand_id: int
    brand_name: str
    platform: str
    external_id: str
    name: str
    status: str
    token_expires_at: datetime | None
    has_refresh_token: bool
    scheduled_count: int = 0
    # The platform said the token does not expire (token_expires_at None means "not known").
    token_never_expires: bool = False

    @classmethod
    def of(cls, account: ConnectedSocialAccount, scheduled_count: int = 0) -> AccountView:
        return cls(
            id=account.id,
            brand_id=account.brand_id,
            brand_name=account.brand.name,
            platform=account.platform,
            external_id=account.external_id,
            name=account.name,
            status=account.status,
            token_expires_at=account.token_expires_at,
            has_refresh_token=account.refresh_token_encrypted is not None,
            scheduled_count=scheduled_count,
            token_never_expires=bool(account.token_never_expires),
        )

    @property
    def label(self) -> str:
        return f"{self.name} ({self.platform} #{self.id})"


@dataclass(frozen=True)
class ImageView:
    """One picture of a post (or of a variant's own list), as Pillow read it when attached."""

    position: int  # 1-based
    name: str  # the file name it was attached from
    format: str  # JPEG | PNG | GIF
    width: int
    height: int
    size: int  # bytes
    alt: str
    sha256: str

    @classmethod
    def of(cls, row: PostImage | VariantImage) -> ImageView:
        media = row.media
        return cls(
            position=row.position,
            name=row.original_name,
            format=media.format,
            width=media.width,
            height=media.height,
            size=media.size_bytes,
            alt=row.alt_text,
            sha256=row.sha256,
        )


def images_of(variant: PostVariant) -> tuple[ImageView, ...]:
    """The images ``variant`` publishes: the post's, its own, or none (the same rule, read in
    one statement for the publish path: ``publishing.images_to_publish``)."""
    if variant.images_mode == IMAGES_NONE:
        return ()
    rows = variant.own_images if variant.images_mode == IMAGES_OWN else variant.post.images
    return tuple(ImageView.of(row) for row in rows)


@dataclass(frozen=True)
class PostView:
    id: int
    brand_id: int
    brand_name: str
    title: str
    base_text: str
    link: str | None
    created_at: datetime
    updated_at: datetime
    # How many of its variants are in each status, in the state machine's order.
    variant_statuses: tuple[tuple[str, int], ...] = ()
    images: tuple[ImageView, ...] = ()

    @classmethod
    def of(cls, post: Post, statuses: Mapping[str, int] | None = None) -> PostView:
        """``statuses``: its variants counted per status; counted from ``post.variants``
        (inside the session) when not given."""
        if statuses is None:
            statuses = Counter(v.status for v in post.variants)
        return cls(
            id=post.id,
            brand_id=post.brand_id,
            brand_name=post.brand.name,
            title=post.title,
            base_text=post.base_text,
            link=post.link,
            created_at=post.created_at,
            updated_at=post.updated_at,
            variant_statuses=tuple(
                (status, statuses[status]) for status in VARIANT_STATUSES if statuses.get(status)
            ),
            images=tuple(ImageView.of(row) for row in post.images),
        )

    @property
    def variant_count(self) -> int:
        return sum(count for _, count in self.variant_statuses)

    @property
    def status(self) -> str:
        """Where the post stands, from its variants: their status when they all share one,
        ``mixed`` when they differ, ``draft`` when it has none yet."""
        if not self.variant_statuses:
            return DRAFT
        return self.variant_statuses[0][0] if len(self.variant_statuses) == 1 else "mixed"

    @property
    def status_summary(self) -> str:
        """For people: ``published``, ``2 published · 1 scheduled``, ``no variants``."""
        if not self.variant_statuses:
            return "no variants"
        if len(self.variant_statuses) == 1:
            return self.variant_statuses[0][0]
        return " · ".join(f"{count} {status}" for status, count in self.variant_statuses)


@dataclass(frozen=True)
class VariantView:
    id: int
    post_id: int
    post_title: str
    brand_id: int
    brand_name: str
    account_id: int
    account_name: str
    platform: str
    status: str
    scheduled_at: datetime | None
    attempts: int
    next_attempt_at: datetime | None
    check_at: datetime | None  # unconfirmed: when the platform is read back next
    external_post_id: str | None
    last_error: str | None
    custom_text: str | None
    text: str  # what will be published: the custom text, or the post's base text
    link: str | None
    published_at: datetime | None
    updated_at: datetime
    images: tuple[ImageView, ...] = ()  # what it publishes (see images_mode)
    images_mode: str = IMAGES_INHERIT

    @classmethod
    def of(cls, variant: PostVariant) -> VariantView:
        post = variant.post
        return cls(
            id=variant.id,
            post_id=variant.post_id,
            post_title=post.title,
            brand_id=post.brand_id,
            brand_name=post.brand.name,
            account_id=variant.account_id,
            account_name=variant.account.name,
            platform=variant.platform,
            status=variant.status,
            scheduled_at=variant.scheduled_at,
            attempts=variant.attempts,
            next_attempt_at=variant.next_attempt_at,
            check_at=variant.check_at,
            external_post_id=variant.external_post_id,
            last_error=variant.last_error,
            custom_text=variant.custom_text,
            text=effective_text(variant),
            link=post.link,
            published_at=variant.published_at,
            updated_at=variant.updated_at,
            images=images_of(variant),
            images_mode=variant.images_mode,
        )

    @property
    def first_line(self) -> str:
        return self.text.strip().splitlines()[0] if self.text.strip() else ""


def effective_text(variant: PostVariant) -> str:
    return text_to_publish(variant.custom_text, variant.post.base_text)


def text_to_publish(custom_text: str | None, base_text: str) -> str:
    """A variant's own text when it has one, else its post's."""
    return custom_text if custom_text is not None and custom_text.strip() else base_text


@dataclass(frozen=True)
class AttemptView:
    id: int
    variant_id: int
    attempt_no: int
    started_at: datetime
    sent_at: datetime | None
    finished_at: datetime | None
    result: str | None  # None while in flight
    http_status: int | None
    error_code: str | None
    error_message: str | None
    error_class: str | None
    external_post_id: str | None
    request_summary: str | None
    raw_response: str | None
    worker: str | None
    platform: str
    account_name: str
    # The reads that looked for this attempt's post on the platform (unconfirmed variants),
    # oldest first: {"at", "by", "outcome", "detail", "post_id"?, "listed"?, "calls"?}.
    read_back: tuple[dict[str, Any], ...] = ()

    @classmethod
    def of(cls, attempt: PublicationAttempt) -> AttemptView:
        return cls(
            id=attempt.id,
            variant_id=attempt.variant_id,
            attempt_no=attempt.attempt_no,
            started_at=attempt.started_at,
            sent_at=attempt.sent_at,
            finished_at=attempt.finished_at,
            result=attempt.result,
            http_status=attempt.http_status,
            error_code=attempt.error_code,
            error_message=attempt.error_message,
            error_class=attempt.error_class,
            external_post_id=attempt.external_post_id,
            request_summary=attempt.request_summary,
            raw_response=attempt.raw_response,
            worker=attempt.worker,
            platform=attempt.variant.platform,
            account_name=attempt.variant.account.name,
            read_back=tuple(read_back_steps(attempt.read_back)),
        )

    @property
    def error_summary(self) -> str:
        """``CODE: message``, the code left out when the message already names it (platform
        messages often do: ``LinkedIn error 401 REVOKED_ACCESS_TOKEN``)."""
        message = (self.error_message or self.error_class or "").strip().replace("\n", " ")
        code = (self.error_code or "").strip()
        if not code or re.search(rf"(?<!\w){re.escape(code)}(?!\w)", message):
            return message
        return f"{code}: {message}" if message else code

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


# --- JSON shapes: what `--json` prints of each view -----------------------------------------
# A contract with scripts (issue #2): keep existing keys and their meaning. Times are ISO 8601
# in the configured zone.


def brand_json(brand: BrandView, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "id": brand.id,
        "name": brand.name,
        "accounts": brand.account_count,
        "created_at": iso_local(brand.created_at, tz),
    }


def account_json(account: AccountView, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "id": account.id,
        "brand_id": account.brand_id,
        "brand": account.brand_name,
        "platform": account.platform,
        "external_id": account.external_id,
        "name": account.name,
        "status": account.status,
        "token_expires_at": iso_local(account.token_expires_at, tz),
        "token_never_expires": account.token_never_expires,
        "has_refresh_token": account.has_refresh_token,
        "scheduled_variants": account.scheduled_count,
    }


def image_json(image: ImageView) -> dict[str, Any]:
    return {
        "position": image.position,
        "name": image.name,
        "format": image.format,
        "width": image.width,
        "height": image.height,
        "size_bytes": image.size,
        "alt": image.alt,
        "sha256": image.sha256,
    }


def post_json(post: PostView, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "id": post.id,
        "brand_id": post.brand_id,
        "brand": post.brand_name,
        "title": post.title,
        "text": post.base_text,
        "link": post.link,
        "status": post.status,
        "variants": post.variant_count,
        "variant_statuses": dict(post.variant_statuses),
        "images": [image_json(image) for image in post.images],
        "created_at": iso_local(post.created_at, tz),
        "updated_at": iso_local(post.updated_at, tz),
    }


def variant_json(variant: VariantView, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "id": variant.id,
        "post_id": variant.post_id,
        "post_title": variant.post_title,
        "brand_id": variant.brand_id,
        "brand": variant.brand_name,
        "account_id": variant.account_id,
        "account": variant.account_name,
        "platform": variant.platform,
        "status": variant.status,
        "scheduled_at": iso_local(variant.scheduled_at, tz),
        "attempts": variant.attempts,
        "next_attempt_at": iso_local(variant.next_attempt_at, tz),
        "check_at": iso_local(variant.check_at, tz),
        "external_post_id": variant.external_post_id,
        "last_error": variant.last_error,
        "custom_text": variant.custom_text,
        "text": variant.text,
        "link": variant.link,
        "images_mode": variant.images_mode,
        "images": [image_json(image) for image in variant.images],
        "published_at": iso_local(variant.published_at, tz),
        "updated_at": iso_local(variant.updated_at, tz),
    }


def attempt_json(attempt: AttemptView, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "id": attempt.id,
        "variant_id": attempt.variant_id,
        "attempt_no": attempt.attempt_no,
        "result": attempt.result or "pending",
        "http_status": attempt.http_status,
        "error_code": attempt.error_code,
        "error_class": attempt.error_class,
        "error_message": attempt.error_message,
        "external_post_id": attempt.external_post_id,
        "started_at": iso_local(attempt.started_at, tz),
        "sent_at": iso_local(attempt.sent_at, tz),
        "finished_at": iso_local(attempt.finished_at, tz),
        "platform": attempt.platform,
        "account": attempt.account_name,
        "worker": attempt.worker,
        "request_summary": _maybe_json(attempt.request_summary),
        "raw_response": attempt.raw_response,
        "read_back": list(attempt.read_back),
    }


def read_back_steps(raw: str | None) -> list[dict[str, Any]]:
    """An attempt's read-back steps (its ``read_back`` column), oldest first."""
    if not raw:
        return []
    try:
        data = json.loads(raw)
    except ValueError:
        return []
    return [step for step in data if isinstance(step, dict)] if isinstance(data, list) else []


def _maybe_json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
