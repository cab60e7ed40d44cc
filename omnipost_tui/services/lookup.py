"""Finding things by what users type: an id or a name."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from omnipost_tui.errors import NotFound, ValidationError
from omnipost_tui.ids import MAX_ID, as_row_id, is_whole_number
from omnipost_tui.models import REVOKED, Brand, ConnectedSocialAccount, Post, PostVariant
from omnipost_tui.text import check_line


def parse_id(ref: str | int, what: str) -> int:
    text = str(ref).strip()
    if not is_whole_number(text):
        raise ValidationError(f"{what} id must be a number, got {ref!r}")
    value = int(text)
    if value < 1:
        raise ValidationError(f"{what} id must be a positive number, got {ref!r}")
    if value > MAX_ID:
        raise NotFound(f"no {what} {text} (ids go up to {MAX_ID})")
    return value


def _name_ref(ref: str | int, what: str) -> str:
    """``ref`` as a name may be looked up: no name holds a control character or an undecodable
    byte (an argument in another encoding), and the database driver cannot even encode the
    latter, which used to end in "something went wrong"."""
    return check_line(str(ref).strip(), what)


def brand_by_ref(session: Session, ref: str | int) -> Brand:
    text = _name_ref(ref, "brand")
    row_id = as_row_id(text)
    if row_id is not None:
        brand = session.get(Brand, row_id)
        if brand is not None:
            return brand
    brand = session.scalar(select(Brand).where(Brand.name == text))
    if brand is None:
        raise NotFound(f"no brand {text!r} (see: omnipost brand list)")
    return brand


def account_by_ref(session: Session, ref: str | int) -> ConnectedSocialAccount:
    text = _name_ref(ref, "account")
    row_id = as_row_id(text)
    if row_id is not None:
        account = session.get(ConnectedSocialAccount, row_id)
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
    # The id as read, not ``ref``: that may carry spaces (a U+2028 would break the line).
    post_id = parse_id(ref, "post")
    post = session.get(Post, post_id)
    if post is None:
        raise NotFound(f"no post {post_id} (see: omnipost post list)")
    return post


def variant_by_id(session: Session, ref: str | int) -> PostVariant:
    variant_id = parse_id(ref, "variant")
    variant = session.get(PostVariant, variant_id)
    if variant is None:
        raise NotFound(f"no variant {variant_id} (see: omnipost variant list)")
    return variant
