"""Finding things by what users type: an id or a name."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from omnipost_tui.errors import NotFound, ValidationError
from omnipost_tui.models import REVOKED, Brand, ConnectedSocialAccount, Post, PostVariant


def parse_id(ref: str | int, what: str) -> int:
    try:
        value = int(str(ref).strip())
    except ValueError:
        raise ValidationError(f"{what} id must be a number, got {ref!r}") from None
    if value < 1:
        raise ValidationError(f"{what} id must be a positive number, got {ref!r}")
    return value


def brand_by_ref(session: Session, ref: str | int) -> Brand:
    text = str(ref).strip()
    if text.isdigit():
        brand = session.get(Brand, int(text))
        if brand is not None:
            return brand
    brand = session.scalar(select(Brand).where(Brand.name == text))
    if brand is None:
        raise NotFound(f"no brand {text!r} (see: omnipost brand list)")
    return brand


def account_by_ref(session: Session, ref: str | int) -> ConnectedSocialAccount:
    text = str(ref).strip()
    if text.isdigit():
        account = session.get(ConnectedSocialAccount, int(text))
        if account is not None:
            return account
    matches = session.scalars(
        select(ConnectedSocialAccount).where(ConnectedSocialAccount.name == text)
    ).all()
    # A removed account keeps its name in the history; a live one of the same name wins.
    live = [a for a in matches if a.status != REVOKED]
    matches = live or matches
    if not matches:
        raise NotFound(f"no account {text!r} (see: omnipost account list)")
    if len(matches) > 1:
        ids = ", ".join(str(a.id) for a in matches)
        raise ValidationError(f"several accounts are named {text!r} (ids {ids}); use the id")
    return matches[0]


def post_by_id(session: Session, ref: str | int) -> Post:
    post = session.get(Post, parse_id(ref, "post"))
    if post is None:
        raise NotFound(f"no post {ref} (see: omnipost post list)")
    return post


def variant_by_id(session: Session, ref: str | int) -> PostVariant:
    variant = session.get(PostVariant, parse_id(ref, "variant"))
    if variant is None:
        raise NotFound(f"no variant {ref} (see: omnipost variant list)")
    return variant
