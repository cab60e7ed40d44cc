"""Brands: the top of the tree; each owns accounts and posts."""

from __future__ import annotations

from sqlalchemy import func, select

from omnipost_tui import clock
from omnipost_tui.errors import ValidationError
from omnipost_tui.models import Brand, ConnectedSocialAccount
from omnipost_tui.services.context import Context
from omnipost_tui.services.views import BrandView
from omnipost_tui.text import check_line

MAX_NAME = 200


def add_brand(ctx: Context, name: str) -> BrandView:
    name = check_line((name or "").strip(), "brand name")
    if not name:
        raise ValidationError("brand name must not be empty")
    if len(name) > MAX_NAME:
        raise ValidationError(f"brand name is longer than {MAX_NAME} characters")
    if name.isdigit():
        raise ValidationError("brand name must not be a bare number (it would look like an id)")
    with ctx.db.write() as session:
        # "acme coffee" beside "Acme Coffee" is the same brand typed again, not a second one.
        # Compared in Python: SQLite's lower() folds ASCII only. There are few brands.
        taken = next(
            (b for b in session.scalars(select(Brand.name)) if b.casefold() == name.casefold()),
            None,
        )
        if taken is not None:
            raise ValidationError(f"a brand named {taken!r} already exists")
        brand = Brand(name=name, created_at=clock.now())
        session.add(brand)
        session.flush()
        return BrandView.of(brand)


def list_brands(ctx: Context) -> list[BrandView]:
    with ctx.db.read() as session:
        counts = dict(
            session.execute(
                select(ConnectedSocialAccount.brand_id, func.count()).group_by(
                    ConnectedSocialAccount.brand_id
                )
            ).all()
        )
        brands = session.scalars(select(Brand).order_by(Brand.name)).all()
        return [BrandView.of(b, counts.get(b.id, 0)) for b in brands]
