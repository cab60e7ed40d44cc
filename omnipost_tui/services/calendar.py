"""The calendar's numbers: how many variants of each status fall on each local day."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from omnipost_tui.errors import ValidationError
from omnipost_tui.models import ConnectedSocialAccount, PostVariant
from omnipost_tui.services.context import Context
from omnipost_tui.services.variants import (
    VariantFilter,
    _filtered,
    get_variant,
    list_variants,
    placed_at,
    placed_time,
    schedule_variant,
)
from omnipost_tui.services.views import VariantView
from omnipost_tui.times import localize, start_of_day


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a local day in UTC; 23 or 25 hours long on DST change days."""
    return start_of_day(day, tz), start_of_day(day + timedelta(days=1), tz)


@dataclass(frozen=True)
class DayEntry:
    """One variant as the month grid shows it inside its day."""

    at: datetime
    status: str
    platform: str
    account_name: str


def entries_by_day(
    ctx: Context,
    first: date,
    last: date,
    tz: ZoneInfo,
    flt: VariantFilter | None = None,
) -> dict[date, list[DayEntry]]:
    """{local day: its variants in time order} for variants placed from ``first`` to ``last``:
    a published variant on the day and at the time it went out, any other at its planned time.

    ``flt`` narrows them the same way it narrows ``agenda`` (its dates are ignored: the days
    are the range), so a filtered calendar's days match its agendas.
    """
    start, _ = day_bounds(first, tz)
    _, end = day_bounds(last, tz)
    days_of = replace(flt or VariantFilter(), date_from=start, date_to=end, on_calendar=True)
    with ctx.db.read() as session:
        query = select(
            PostVariant.id,
            PostVariant.status,
            PostVariant.scheduled_at,
            PostVariant.published_at,
            PostVariant.platform,
            ConnectedSocialAccount.name,
        ).join(ConnectedSocialAccount, PostVariant.account_id == ConnectedSocialAccount.id)
        # The variants list's own filter, so the calendar cannot disagree with it.
        rows = session.execute(_filtered(session, query, days_of)).all()
    placed = []
    for variant_id, status, scheduled_at, published_at, platform, account_name in rows:
        at = placed_time(status, scheduled_at, published_at)
        assert at is not None  # _filtered(on_calendar=True) matched placed rows only
        placed.append((at, variant_id, DayEntry(at, status, platform, account_name)))
    days: dict[date, list[DayEntry]] = defaultdict(list)
    for at, _, entry in sorted(placed, key=lambda item: item[:2]):
        days[at.astimezone(tz).date()].append(entry)
    return dict(days)


def counts_by_day(
    ctx: Context,
    first: date,
    last: date,
    tz: ZoneInfo,
    flt: VariantFilter | None = None,
) -> dict[date, Counter[str]]:
    """{local day: Counter(status → n)}: ``entries_by_day`` counted."""
    return {
        day: Counter(entry.status for entry in entries)
        for day, entries in entries_by_day(ctx, first, last, tz, flt).items()
    }


def agenda(
    ctx: Context, day: date, tz: ZoneInfo, flt: VariantFilter | None = None
) -> list[VariantView]:
    """Every variant placed on a local day (see ``counts_by_day``), in time order."""
    start, end = day_bounds(day, tz)
    on_day = replace(flt or VariantFilter(), date_from=start, date_to=end, on_calendar=True)
    return sorted(list_variants(ctx, on_day), key=lambda v: (placed_at(v), v.id))


def move_to_day(ctx: Context, variant_id: int, day: date, tz: ZoneInfo) -> VariantView:
    """Reschedule a variant to another local day, keeping its local time of day.

    The wall-clock time is kept (09:30 stays 09:30 across a DST change); when that time does
    not exist on the new day, or happens twice there, it is refused as the editor and the CLI
    refuse it (picking one of the two would be a guess), and nothing moves.
    """
    variant = get_variant(ctx, variant_id)
    if variant.scheduled_at is None:
        raise ValidationError(f"variant {variant_id} has no time to keep; give it one first")
    local = variant.scheduled_at.astimezone(tz)
    try:
        moved = localize(datetime.combine(day, local.time()), tz)
    except ValidationError as exc:
        raise ValidationError(f"variant {variant_id} not moved: {exc.message}") from exc
    return schedule_variant(ctx, variant_id, moved)
