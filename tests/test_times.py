"""Reading the times users type and showing times back in their zone (omnipost_tui.times)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from omnipost_tui.errors import ValidationError
from omnipost_tui.times import (
    WHEN_HELP,
    format_duration,
    format_local,
    format_relative,
    format_seconds,
    iso_local,
    parse_duration,
    parse_until,
    parse_when,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
SANTIAGO = ZoneInfo("America/Santiago")  # clocks jump from 00:00 to 01:00 in September
# Wednesday 2 December 2026, 09:00 in Berlin.
NOW = datetime(2026, 12, 2, 8, 0, 0, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def assert_aware_utc(value: datetime) -> None:
    assert value.tzinfo is not None
    assert value.utcoffset() == timedelta(0)


# --- parse_when: absolute times -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        # No offset: a wall-clock time in the configured zone (CET in winter, CEST in summer).
        ("2026-12-03T09:30", BERLIN, utc(2026, 12, 3, 8, 30)),
        ("2026-07-01T09:30", BERLIN, utc(2026, 7, 1, 7, 30)),
        ("2026-12-03T09:30", NEW_YORK, utc(2026, 12, 3, 14, 30)),
        ("2026-12-03T09:30:15", BERLIN, utc(2026, 12, 3, 8, 30, 15)),
        # A space instead of the T, as people type it.
        ("2026-12-03 09:30", BERLIN, utc(2026, 12, 3, 8, 30)),
        ("  2026-12-03 09:30  ", BERLIN, utc(2026, 12, 3, 8, 30)),
        # An explicit offset wins over the configured zone.
        ("2026-12-03T09:30+05:00", BERLIN, utc(2026, 12, 3, 4, 30)),
        ("2026-12-03T09:30-03:00", BERLIN, utc(2026, 12, 3, 12, 30)),
        ("2026-12-03 09:30+01:00", NEW_YORK, utc(2026, 12, 3, 8, 30)),
        # Z means UTC.
        ("2026-12-03T09:30Z", BERLIN, utc(2026, 12, 3, 9, 30)),
        ("2026-12-03T09:30:00Z", NEW_YORK, utc(2026, 12, 3, 9, 30)),
        # A bare date is the start of that local day.
        ("2026-12-03", BERLIN, utc(2026, 12, 2, 23, 0)),
    ],
)
def test_parse_when_absolute(text, tz, expected):
    result = parse_when(text, tz, NOW)
    assert result == expected
    assert_aware_utc(result)


def test_parse_when_result_is_utc_even_with_an_offset_and_a_non_utc_now():
    berlin_now = NOW.astimezone(BERLIN)
    for text in ("2026-12-03T09:30+05:00", "now", "+2h", "2026-12-03T09:30"):
        result = parse_when(text, BERLIN, berlin_now)
        assert_aware_utc(result)
        assert result.tzinfo == UTC
    assert parse_when("now", BERLIN, berlin_now) == NOW


# --- parse_when: now and relative -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("now", timedelta(0)),
        ("NOW", timedelta(0)),
        ("+90s", timedelta(seconds=90)),
        ("+15m", timedelta(minutes=15)),
        ("+2h", timedelta(hours=2)),
        ("+1d", timedelta(days=1)),
        ("+1w", timedelta(weeks=1)),
        ("-1d", timedelta(days=-1)),
        ("+2H", timedelta(hours=2)),
        (" +2h ", timedelta(hours=2)),
    ],
)
def test_parse_when_now_and_relative(text, delta):
    result = parse_when(text, BERLIN, NOW)
    assert result == NOW + delta
    assert_aware_utc(result)


def test_relative_days_are_24_hours_even_across_a_dst_change():
    # "+1d" the evening before clocks go back: 24 real hours, not "same wall time tomorrow".
    before = datetime(2026, 10, 24, 18, 0, tzinfo=UTC)
    assert parse_when("+1d", BERLIN, before) == before + timedelta(hours=24)


# --- parse_when: refused input --------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["tomorrow", "next friday", "2026-13-01T09:00", "2026-02-30", "12:00", "+2y", "+h", "", "   "],
)
def test_garbage_is_refused_with_the_accepted_forms(text):
    with pytest.raises(ValidationError) as info:
        parse_when(text, BERLIN, NOW)
    # The hint lists what would have worked.
    assert WHEN_HELP in info.value.message
    assert "+2h" in info.value.message and "ISO 8601" in info.value.message


@pytest.mark.parametrize(
    "text",
    ["+99999999999d", "+9999999999999999999999w", "+69890583h", "0001-01-01T00:30", "9999-12-31"],
)
def test_out_of_range_times_are_refused_not_crashing(text):
    with pytest.raises(ValidationError, match="out of range"):
        parse_when(text, BERLIN, NOW)


def test_a_wall_time_that_dst_skips_is_refused():
    # 28 March 2027: Berlin jumps from 02:00 to 03:00; 02:30 never happens.
    with pytest.raises(ValidationError) as info:
        parse_when("2027-03-28 02:30", BERLIN, NOW)
    assert "does not exist" in info.value.message
    assert "Europe/Berlin" in info.value.message
    # Just outside the gap is fine.
    assert parse_when("2027-03-28 01:59", BERLIN, NOW) == utc(2027, 3, 28, 0, 59)
    assert parse_when("2027-03-28 03:00", BERLIN, NOW) == utc(2027, 3, 28, 1, 0)


def test_an_ambiguous_wall_time_is_refused_with_an_offset_to_use():
    # 25 October 2026: Berlin goes back from 03:00 to 02:00; 02:30 happens twice.
    with pytest.raises(ValidationError) as info:
        parse_when("2026-10-25T02:30", BERLIN, NOW)
    message = info.value.message
    assert "happens twice" in message
    assert "2026-10-25T02:30+02:00" in message
    # The suggestion works, and so does the other offset.
    assert parse_when("2026-10-25T02:30+02:00", BERLIN, NOW) == utc(2026, 10, 25, 0, 30)
    assert parse_when("2026-10-25T02:30+01:00", BERLIN, NOW) == utc(2026, 10, 25, 1, 30)


def test_the_offsets_suggested_for_a_repeated_hour_keep_the_seconds_typed():
    # The hint used to say 02:30 for 02:30:15: typed back, it was 15 seconds off.
    with pytest.raises(ValidationError) as info:
        parse_when("2026-10-25 02:30:15", BERLIN, NOW)
    message = info.value.message
    assert "2026-10-25T02:30:15+02:00 for the first" in message
    assert "2026-10-25T02:30:15+01:00 for the second" in message


@pytest.mark.parametrize("text", ["+5\u017f", "+\u0665m", "+\uff15h", "+5\u2028m"])
def test_durations_are_ascii_digits_and_units_only(text):
    # "ſ" (long s) case-folds to "s": the duration regex, without re.ASCII, matched it and the
    # unit lookup then crashed with KeyError; Arabic-Indic and fullwidth digits were accepted
    # as durations though refused in dates. Both are refused with the forms that work.
    with pytest.raises(ValidationError, match="cannot read time") as info:
        parse_when(text, BERLIN, NOW)
    assert WHEN_HELP in info.value.message
    with pytest.raises(ValidationError, match="as a duration"):
        parse_duration(text[1:])


def test_an_ambiguous_wall_time_long_before_1970_is_out_of_range_not_a_dst_puzzle():
    # Amsterdam's 1935 offsets had seconds; the hint used to suggest "+01:1932", unreadable.
    with pytest.raises(ValidationError, match="out of range"):
        parse_when("1935-10-06 02:30", ZoneInfo("Europe/Amsterdam"), NOW)


def test_a_bare_date_whose_midnight_dst_skips_is_the_start_of_that_day():
    # 6 September 2026 in Santiago starts at 01:00 (-03), i.e. 04:00 UTC.
    assert parse_when("2026-09-06", SANTIAGO, NOW) == utc(2026, 9, 6, 4, 0)


# --- parse_until ----------------------------------------------------------------------------


def test_until_a_bare_date_is_the_start_of_the_next_local_day():
    assert parse_until("2026-12-02", BERLIN, NOW) == utc(2026, 12, 2, 23, 0)
    assert parse_until("2026-07-01", BERLIN, NOW) == utc(2026, 7, 1, 22, 0)


def test_until_a_25_hour_day_covers_all_25_hours():
    # 25 October 2026 in Berlin starts at 22:00Z the day before (CEST) and ends at 23:00Z (CET).
    start = parse_when("2026-10-25", BERLIN, NOW)
    end = parse_until("2026-10-25", BERLIN, NOW)
    assert start == utc(2026, 10, 24, 22, 0)
    assert end == utc(2026, 10, 25, 23, 0)
    assert end - start == timedelta(hours=25)


def test_until_a_23_hour_day():
    start = parse_when("2027-03-28", BERLIN, NOW)
    end = parse_until("2027-03-28", BERLIN, NOW)
    assert end == utc(2027, 3, 28, 22, 0)
    assert end - start == timedelta(hours=23)


def test_until_the_day_before_a_skipped_midnight_is_not_refused():
    # The bound is 6 September 00:00 in Santiago, which does not exist: the day starts at 01:00.
    assert parse_until("2026-09-05", SANTIAGO, NOW) == utc(2026, 9, 6, 4, 0)


def test_until_a_time_is_that_exact_instant():
    assert parse_until("2026-12-03T09:30", BERLIN, NOW) == utc(2026, 12, 3, 8, 30)
    assert parse_until("+1d", BERLIN, NOW) == NOW + timedelta(days=1)


@pytest.mark.parametrize("text", ["2026-02-30", "2026-13-01", "9999-12-31"])
def test_until_an_impossible_date_is_a_validation_error(text):
    with pytest.raises(ValidationError):
        parse_until(text, BERLIN, NOW)


# --- showing times --------------------------------------------------------------------------


def test_format_local_in_winter_and_summer():
    assert format_local(utc(2026, 12, 2, 8, 0), BERLIN) == "2026-12-02 09:00 CET"
    assert format_local(utc(2026, 7, 1, 12, 5, 9), BERLIN) == "2026-07-01 14:05 CEST"
    assert format_local(utc(2026, 7, 1, 12, 5, 9), BERLIN, seconds=True) == (
        "2026-07-01 14:05:09 CEST"
    )
    assert format_local(utc(2026, 12, 2, 8, 0), NEW_YORK) == "2026-12-02 03:00 EST"
    assert format_local(None, BERLIN) == "-"


def test_format_local_accepts_any_aware_time():
    tokyo = datetime(2026, 12, 2, 17, 0, tzinfo=timezone(timedelta(hours=9)))
    assert format_local(tokyo, BERLIN) == "2026-12-02 09:00 CET"


def test_format_local_refuses_naive_times():
    with pytest.raises(ValueError, match="naive"):
        format_local(datetime(2026, 12, 2, 8, 0), BERLIN)


def test_iso_local_carries_the_offset_of_the_season():
    assert iso_local(utc(2026, 12, 2, 8, 0), BERLIN) == "2026-12-02T09:00:00+01:00"
    assert iso_local(utc(2026, 7, 1, 12, 0), BERLIN) == "2026-07-01T14:00:00+02:00"
    assert iso_local(utc(2026, 7, 1, 12, 0, 0, 999_999), BERLIN) == "2026-07-01T14:00:00+02:00"
    assert iso_local(utc(2026, 12, 2, 8, 0), NEW_YORK) == "2026-12-02T03:00:00-05:00"
    assert iso_local(None, BERLIN) is None
    # What scripts read back is the same instant.
    value = utc(2026, 10, 25, 0, 30)
    assert datetime.fromisoformat(iso_local(value, BERLIN)) == value


def test_iso_local_round_trips_through_parse_when_on_both_sides_of_the_dst_change():
    for value in (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30)):
        assert parse_when(iso_local(value, BERLIN), BERLIN, NOW) == value


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0s"),
        (45, "45s"),
        (60, "1m"),
        (250, "4m 10s"),
        (3600, "1h"),
        (7500, "2h 5m"),
        (86400, "1d"),
        (3 * 86400 + 4 * 3600, "3d 4h"),
        (-250, "4m 10s"),
        (44.6, "45s"),
        # Rounded to the last unit shown, never cut down to the one below.
        (60 * 86400 - 0.6, "60d"),
        (86399, "1d"),
        (3599.6, "1h"),
        (2 * 3600 + 5 * 60 + 40, "2h 6m"),
        (86400 + 3 * 3600 + 40 * 60, "1d 4h"),
    ],
)
def test_format_duration(seconds, shown):
    assert format_duration(seconds) == shown


def test_format_relative():
    assert format_relative(NOW + timedelta(seconds=250), NOW) == "in 4m 10s"
    assert format_relative(NOW - timedelta(minutes=3), NOW) == "3m ago"
    assert format_relative(NOW + timedelta(days=2, hours=1), NOW) == "in 2d 1h"
    assert format_relative(NOW, NOW) == "in 0s"


@pytest.mark.parametrize(("seconds", "shown"), [(30, "30s"), (2.5, "2.5s"), (0.25, "0.25s")])
def test_format_seconds_keeps_number_and_unit_one_word(seconds, shown):
    # One word: a wrapping line (Rich, Textual) never leaves the unit alone on the next line.
    assert format_seconds(seconds) == shown
