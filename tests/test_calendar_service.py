"""The calendar's numbers and agendas are local days, right on the 23- and 25-hour days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from omnipost_tui.errors import ValidationError
from omnipost_tui.services.calendar import agenda, counts_by_day, day_bounds, move_to_day
from omnipost_tui.services.posts import add_post
from omnipost_tui.services.variants import (
    VariantFilter,
    add_variant,
    get_variant,
    unschedule_variant,
)
from tests.conftest import FakeClock, World

BERLIN = ZoneInfo("Europe/Berlin")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def schedule(ctx, world: World, when: datetime, *, account: int | None = None) -> int:
    return add_variant(ctx, post=world.post_id, account=account or world.facebook_id, at=when).id


def total(counts) -> dict[date, int]:
    return {day: sum(c.values()) for day, c in counts.items()}


def test_autumn_change_day_has_25_hours_and_both_half_past_twos(ctx, world, fake_clock):
    fake_clock.current = at(2026, 10, 1, 8, 0)
    start, end = day_bounds(date(2026, 10, 25), BERLIN)
    assert (start, end) == (at(2026, 10, 24, 22, 0), at(2026, 10, 25, 23, 0))

    before = schedule(ctx, world, at(2026, 10, 24, 21, 59))  # 23:59 CEST, the 24th
    midnight = schedule(ctx, world, at(2026, 10, 24, 22, 0))  # 00:00 CEST
    first = schedule(ctx, world, at(2026, 10, 25, 0, 30))  # 02:30 CEST
    second = schedule(ctx, world, at(2026, 10, 25, 1, 30))  # 02:30 CET, the repeated hour
    late = schedule(ctx, world, at(2026, 10, 25, 22, 59))  # 23:59 CET
    after = schedule(ctx, world, at(2026, 10, 25, 23, 0))  # 00:00 CET, the 26th

    counts = counts_by_day(ctx, date(2026, 10, 24), date(2026, 10, 26), BERLIN)
    assert total(counts) == {date(2026, 10, 24): 1, date(2026, 10, 25): 4, date(2026, 10, 26): 1}
    assert counts[date(2026, 10, 25)] == {"scheduled": 4}
    assert [v.id for v in agenda(ctx, date(2026, 10, 25), BERLIN)] == [
        midnight,
        first,
        second,
        late,
    ]
    assert [v.id for v in agenda(ctx, date(2026, 10, 24), BERLIN)] == [before]
    assert [v.id for v in agenda(ctx, date(2026, 10, 26), BERLIN)] == [after]


def test_spring_change_day_has_23_hours(ctx, world, fake_clock):
    start, end = day_bounds(date(2027, 3, 28), BERLIN)
    assert end - start == timedelta(hours=23)

    before = schedule(ctx, world, at(2027, 3, 27, 22, 59))  # 23:59 CET, the 27th
    midnight = schedule(ctx, world, at(2027, 3, 27, 23, 0))  # 00:00 CET
    three = schedule(ctx, world, at(2027, 3, 28, 1, 0))  # 03:00 CEST, right after the gap
    late = schedule(ctx, world, at(2027, 3, 28, 21, 59))  # 23:59 CEST
    after = schedule(ctx, world, at(2027, 3, 28, 22, 0))  # 00:00 CEST, the 29th

    counts = counts_by_day(ctx, date(2027, 3, 27), date(2027, 3, 29), BERLIN)
    assert total(counts) == {date(2027, 3, 27): 1, date(2027, 3, 28): 3, date(2027, 3, 29): 1}
    assert [v.id for v in agenda(ctx, date(2027, 3, 28), BERLIN)] == [midnight, three, late]
    assert [v.id for v in agenda(ctx, date(2027, 3, 27), BERLIN)] == [before]
    assert [v.id for v in agenda(ctx, date(2027, 3, 29), BERLIN)] == [after]


def test_counts_are_by_status_and_follow_the_filter_like_the_agenda(ctx, world, fake_clock):
    day = date(2026, 12, 10)
    noon = at(2026, 12, 10, 11, 0)
    fb = schedule(ctx, world, noon)
    li = schedule(ctx, world, noon + timedelta(hours=1), account=world.linkedin_id)
    other_post = add_post(ctx, brand=world.brand_id, title="Sale", text="Winter sale")
    sale = add_variant(ctx, post=other_post.id, account=world.facebook_id, at=noon).id
    unschedule_variant(ctx, sale)  # a draft that keeps its planned time

    assert counts_by_day(ctx, day, day, BERLIN)[day] == {"scheduled": 2, "draft": 1}
    for flt, expected in (
        (VariantFilter(platforms=("linkedin",)), [li]),
        (VariantFilter(statuses=("scheduled",)), [fb, li]),
        (VariantFilter(search="winter"), [sale]),
        (VariantFilter(brand=world.brand_id, platforms=("facebook",)), [fb, sale]),
    ):
        rows = agenda(ctx, day, BERLIN, flt)
        assert sorted(v.id for v in rows) == sorted(expected), flt
        counted = counts_by_day(ctx, day, day, BERLIN, flt)
        assert sum(counted[day].values()) == len(expected), flt
    # The filter's own dates cannot widen or shift the calendar's days.
    wide = VariantFilter(date_from=noon - timedelta(days=30), date_to=noon + timedelta(days=30))
    assert total(counts_by_day(ctx, day, day, BERLIN, wide)) == {day: 3}
    assert len(agenda(ctx, day, BERLIN, wide)) == 3


@pytest.mark.parametrize(
    ("planned", "day", "expected_utc"),
    [
        # 09:30 CEST (summer time) to a day in winter time: 09:30 CET.
        (at(2026, 10, 20, 7, 30), date(2026, 10, 30), at(2026, 10, 30, 8, 30)),
        # 09:30 CET to a day in summer time: 09:30 CEST.
        (at(2027, 3, 25, 8, 30), date(2027, 3, 30), at(2027, 3, 30, 7, 30)),
        # Onto the change days themselves.
        (at(2026, 10, 20, 7, 30), date(2026, 10, 25), at(2026, 10, 25, 8, 30)),
        (at(2027, 3, 25, 8, 30), date(2027, 3, 28), at(2027, 3, 28, 7, 30)),
    ],
)
def test_move_across_a_dst_change_keeps_the_wall_clock_time(
    ctx, world, fake_clock: FakeClock, planned, day, expected_utc
):
    fake_clock.current = at(2026, 10, 1, 8, 0)
    variant = schedule(ctx, world, planned)
    moved = move_to_day(ctx, variant, day, BERLIN)
    assert moved.scheduled_at == expected_utc
    local = moved.scheduled_at.astimezone(BERLIN)
    assert (local.date(), local.hour, local.minute) == (day, 9, 30)
    assert get_variant(ctx, variant).scheduled_at == expected_utc


def test_move_into_the_spring_gap_is_refused_and_changes_nothing(ctx, world, fake_clock):
    planned = at(2027, 3, 20, 1, 30)  # 02:30 CET
    variant = schedule(ctx, world, planned)
    with pytest.raises(ValidationError, match="does not exist"):
        move_to_day(ctx, variant, date(2027, 3, 28), BERLIN)
    assert get_variant(ctx, variant).scheduled_at == planned


def test_move_into_the_repeated_autumn_hour_is_refused_and_changes_nothing(ctx, world, fake_clock):
    """02:30 happens twice on 31 Oct 2027 in Berlin: the move does not guess which one."""
    fake_clock.current = at(2027, 10, 1, 8, 0)
    planned = at(2027, 10, 20, 0, 30)  # 02:30 CEST
    variant = schedule(ctx, world, planned)
    with pytest.raises(ValidationError) as refused:
        move_to_day(ctx, variant, date(2027, 10, 31), BERLIN)
    assert refused.value.message == (
        f"variant {variant} not moved: 2027-10-31 02:30 happens twice in Europe/Berlin (clocks "
        "go back then); add an offset: 2027-10-31T02:30+02:00 for the first, "
        "2027-10-31T02:30+01:00 for the second"
    )
    assert get_variant(ctx, variant).scheduled_at == planned


def test_move_to_a_past_day_is_refused(ctx, world, fake_clock):
    planned = at(2026, 12, 10, 8, 30)
    variant = schedule(ctx, world, planned)
    with pytest.raises(ValidationError, match="past"):
        move_to_day(ctx, variant, date(2026, 12, 1), BERLIN)
    assert get_variant(ctx, variant).scheduled_at == planned


def test_moving_a_failed_variant_schedules_it_again(ctx, world, fake_clock):
    from omnipost_tui.services import publishing

    planned = at(2026, 12, 2, 9, 0)
    variant = schedule(ctx, world, planned)
    assert publishing.fail_before_claim(ctx, variant, "scheduled", planned, "missed", planned)
    moved = move_to_day(ctx, variant, date(2026, 12, 5), BERLIN)
    assert moved.status == "scheduled"
    assert moved.scheduled_at == at(2026, 12, 5, 9, 0)


# --- publish now and retry keep the plan; the calendar shows where a post went out ------------


def go_out(ctx, variant_id: int, clock: FakeClock, *, ok: bool = True) -> None:
    """What a worker does with a due variant: claim, send, record the platform's answer."""
    from omnipost_tui.services.publishing import (
        AttemptRecord,
        claim_variant,
        complete_attempt,
        mark_sending,
    )
    from omnipost_tui.services.retry import Outcome

    claim = claim_variant(ctx, variant_id, clock.now(), "w")
    assert claim is not None, "the variant is due"
    mark_sending(ctx, claim, clock.now())
    if ok:
        record, outcome = (
            AttemptRecord("success", 200, external_post_id="p_1"),
            Outcome("published"),
        )
    else:
        record = AttemptRecord("fail", 400, error_message="Invalid parameter")
        outcome = Outcome("failed", last_error="refused")
    complete_attempt(ctx, claim, record, outcome, clock.now())


def test_publish_now_keeps_the_planned_time_and_places_the_post_where_it_went_out(
    ctx, world, fake_clock
):
    from omnipost_tui.services.variants import publish_now

    fake_clock.current = at(2026, 12, 2, 3, 50)  # 04:50 in Berlin
    planned = at(2026, 12, 2, 5, 48)  # 06:48 in Berlin
    variant = schedule(ctx, world, planned)
    publish_now(ctx, variant)
    go_out(ctx, variant, fake_clock)

    done = get_variant(ctx, variant)
    assert (done.status, done.scheduled_at, done.published_at) == (
        "published",
        planned,
        fake_clock.now(),
    )


def test_a_retry_days_later_keeps_the_plan_and_the_calendar_moves_it_once_it_went_out(
    ctx, world, fake_clock
):
    from omnipost_tui.services.variants import retry_variants

    fake_clock.current = at(2026, 11, 28, 8, 0)
    planned = at(2026, 11, 28, 9, 0)  # 10:00 on the 28th in Berlin
    variant = schedule(ctx, world, planned)
    fake_clock.current = planned
    go_out(ctx, variant, fake_clock, ok=False)
    fake_clock.current = at(2026, 11, 30, 14, 0)  # two days later the user retries it

    retry_variants(ctx, [variant])
    waiting = get_variant(ctx, variant)
    assert (waiting.status, waiting.scheduled_at) == ("scheduled", planned)
    days = (date(2026, 11, 28), date(2026, 11, 30))
    # Waiting to go out: still on the day it was planned for.
    assert counts_by_day(ctx, *days, BERLIN) == {date(2026, 11, 28): {"scheduled": 1}}

    go_out(ctx, variant, fake_clock)
    done = get_variant(ctx, variant)
    assert (done.scheduled_at, done.published_at) == (planned, at(2026, 11, 30, 14, 0))
    # Published: on the day it went out, in that day's agenda and not in the planned day's.
    assert counts_by_day(ctx, *days, BERLIN) == {date(2026, 11, 30): {"published": 1}}
    assert [v.id for v in agenda(ctx, date(2026, 11, 30), BERLIN)] == [variant]
    assert agenda(ctx, date(2026, 11, 28), BERLIN) == []


def test_the_grid_and_the_agenda_place_every_variant_at_the_same_time(ctx, world, fake_clock):
    from omnipost_tui.services.calendar import entries_by_day
    from omnipost_tui.services.variants import placed_at, publish_now

    fake_clock.current = at(2026, 12, 1, 8, 0)
    went_out_early = schedule(ctx, world, at(2026, 12, 3, 9, 0))  # planned for the 3rd
    publish_now(ctx, went_out_early)
    go_out(ctx, went_out_early, fake_clock)  # ...and out on the 1st
    waiting = schedule(ctx, world, at(2026, 12, 2, 10, 0), account=world.linkedin_id)
    draft = schedule(ctx, world, at(2026, 12, 2, 11, 0))
    unschedule_variant(ctx, draft)  # keeps its planned time, dimmed on the grid

    first, last = date(2026, 12, 1), date(2026, 12, 3)
    grid = entries_by_day(ctx, first, last, BERLIN)
    for offset in range(3):
        day = first + timedelta(days=offset)
        listed = agenda(ctx, day, BERLIN)
        assert [(e.at, e.status) for e in grid.get(day, [])] == [
            (placed_at(v), v.status) for v in listed
        ], day
    assert [e.at for e in grid[first]] == [at(2026, 12, 1, 8, 0)]  # where it went out
    assert [v.id for v in agenda(ctx, date(2026, 12, 2), BERLIN)] == [waiting, draft]
    assert date(2026, 12, 3) not in grid
