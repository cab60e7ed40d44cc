"""Properties of the times users type (omnipost_tui.times), checked with hypothesis.

Whatever a user types as WHEN is either a time OmniPost keeps exactly (and shows back in a form
that reads as the same instant), or refused with one line that says what would work; a wall
time that a DST change skips or repeats is refused naming the zone, and for a repeated one
with the offsets that pick each of the two instants. Never a traceback.

The oracle for DST is written without ``fold``: a wall time is the local reading of every UTC
instant ``wall - offset`` whose local reading is ``wall``, over the offsets the zone uses
around that day. None: a gap; two: an overlap.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import Result
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from omnipost_tui.config import load_settings
from omnipost_tui.engine.queue import open_queue
from omnipost_tui.errors import ValidationError
from omnipost_tui.services.context import open_context
from omnipost_tui.services.variants import MAX_AHEAD, NOW_GRACE
from omnipost_tui.times import (
    EARLIEST,
    LATEST,
    iso_local,
    parse_duration,
    parse_until,
    parse_when,
)
from tests.conftest import T0, FakeClock, World, make_world
from tests.test_cli_errors import assert_user_error

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)

# Zones with DST of every kind: one hour, half an hour (Lord Howe), at midnight (Santiago,
# Havana), south of the equator, a zone that skipped a whole day (Apia, 2011), and none at all.
DST_ZONES = [
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Santiago",
    "America/Havana",
    "America/St_Johns",
    "Australia/Lord_Howe",
    "Australia/Sydney",
    "Pacific/Apia",
    "Asia/Tehran",
    "Africa/Casablanca",
    "Asia/Kathmandu",
    "UTC",
]
ZONES = st.one_of(st.sampled_from(DST_ZONES).map(ZoneInfo), st.timezones())


def one_line(error: ValidationError) -> str:
    """The message a user sees: a single line with something in it."""
    message = error.message
    assert message.strip(), "an empty error message"
    assert len(message.splitlines()) == 1, f"more than one line: {message!r}"
    return message


def accepted_or_one_line(text: str, tz: ZoneInfo) -> datetime | None:
    """parse_when's answer: the instant, or None when it refused ``text`` with one line.
    Any other exception fails the test (hypothesis shows the input)."""
    try:
        value = parse_when(text, tz, NOW)
    except ValidationError as error:
        one_line(error)
        return None
    assert value.tzinfo is UTC or value.utcoffset() == timedelta(0)
    assert EARLIEST <= value <= LATEST
    return value


# --- anything typed ----------------------------------------------------------------------------

# What times are made of, and what they are mistaken for: other digits (Arabic-Indic,
# fullwidth, Devanagari), units that case-fold to ASCII ones (ſ → s, K → k), Unicode spaces
# and line separators, NUL and controls, offsets with seconds.
PIECES = st.sampled_from(
    [
        *"0123456789",
        *"-:T +Z.,zt",
        *"smhdwSMHDW",
        "now",
        "+",
        "-",
        "\u017f",  # ſ
        "\u212a",  # Kelvin sign
        "\u0665",  # Arabic-Indic five
        "\uff15",  # fullwidth five
        "\u096b",  # Devanagari five
        "\u00a0",
        "\u2028",
        "\u3000",
        "\x00",
        "\x1b",
        "\x85",
        "\ud800",
        "2026-10-25",
        "2026-03-29",
        "2027-03-28",
        "02:30",
        "T02:30:00",
        "+02:00",
        "-03:30",
        "+00:19:32",
        "+24:00",
        "0001-01-01",
        "9999-12-31",
        "1969-12-31T23:59",
        "2999-12-31T00:00",
        "+99999999999d",
    ]
)
TYPED = st.one_of(
    st.lists(PIECES, max_size=10).map("".join),
    st.text(max_size=30),
)


@given(TYPED, ZONES)
@example("+5\u017f", ZoneInfo("Europe/Berlin"))  # long s: used to be a KeyError
@example("5\u017f", ZoneInfo("Europe/Berlin"))
@example("+\u0665m", ZoneInfo("Europe/Berlin"))  # Arabic-Indic digit: used to be accepted
@example("1935-10-06 02:30", ZoneInfo("Europe/Amsterdam"))  # an overlap long before 1970
@example("2999-12-31T23:59", ZoneInfo("Pacific/Kiritimati"))
def test_anything_typed_is_a_time_that_reads_back_or_one_clear_line(text: str, tz: ZoneInfo):
    value = accepted_or_one_line(text, tz)
    if value is None:
        return
    # What --json shows (to the second, with the zone's offset) reads back as that instant.
    shown = iso_local(value, tz)
    assert shown is not None
    assert parse_when(shown, tz, NOW) == value.replace(microsecond=0)
    # And the full ISO form, to the microsecond, as exactly that instant.
    assert parse_when(value.astimezone(tz).isoformat(), tz, NOW) == value


@given(TYPED, ZONES)
@example("2999-12-31", ZoneInfo("UTC"))
@example("9999-12-31", ZoneInfo("Pacific/Kiritimati"))
def test_anything_typed_as_an_upper_bound_is_a_time_or_one_clear_line(text: str, tz: ZoneInfo):
    try:
        value = parse_until(text, tz, NOW)
    except ValidationError as error:
        one_line(error)
        return
    assert value.utcoffset() == timedelta(0)


@given(st.text(max_size=12), ZONES)
@example("5\u017f", ZoneInfo("UTC"))
@example("\u0665m", ZoneInfo("UTC"))
def test_any_duration_is_read_exactly_or_refused_with_one_line(text: str, tz: ZoneInfo):
    try:
        span = parse_duration(text)
    except ValidationError as error:
        one_line(error)
        assert "90s, 30m, 12h, 7d, 2w" in error.message or "too long" in error.message
        return
    # Accepted: exactly an ASCII number and unit, read as the number of that unit.
    match = re.fullmatch(r"\s*([0-9]+)\s*([smhdwSMHDW])\s*", text)
    assert match is not None, f"{text!r} was read as {span}"
    unit = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[match.group(2).lower()]
    assert span == timedelta(seconds=int(match.group(1)) * unit)


@given(
    st.integers(min_value=0, max_value=10**6),
    st.sampled_from("smhdwSMHDW"),
    st.sampled_from(["", " ", "  "]),
    st.sampled_from("+-"),
)
def test_relative_times_are_exactly_that_far_from_now(
    number: int, unit: str, space: str, sign: str
):
    seconds = number * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit.lower()]
    try:
        expected: datetime | None = NOW + timedelta(seconds=seconds if sign == "+" else -seconds)
    except OverflowError:  # before year 1
        expected = None
    text = f"{sign}{space}{number}{space}{unit}"
    if expected is None or not EARLIEST <= expected <= LATEST:
        value = accepted_or_one_line(text, ZoneInfo("Europe/Berlin"))
        assert value is None
        return
    assert parse_when(text, ZoneInfo("Europe/Berlin"), NOW) == expected


# --- instants in, the same instants out --------------------------------------------------------

INSTANTS = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2999, 12, 30), timezones=st.just(UTC)
)


@given(INSTANTS, ZONES)
def test_every_instant_written_with_an_offset_or_z_is_read_back_exactly(
    instant: datetime, tz: ZoneInfo
):
    local = instant.astimezone(tz)
    for text in (
        local.isoformat(),
        local.isoformat(sep=" "),
        instant.isoformat().replace("+00:00", "Z"),
        iso_local(instant, tz),
    ):
        assert text is not None
        expected = instant.replace(microsecond=0) if text == iso_local(instant, tz) else instant
        assert parse_when(text, tz, NOW) == expected, text


# --- wall times around DST changes -------------------------------------------------------------


@functools.cache
def transitions(zone: str, year: int) -> tuple[datetime, ...]:
    """The UTC instants in ``year`` at which ``zone``'s offset changes, to the second."""
    tz = ZoneInfo(zone)

    def offset(at: datetime) -> timedelta | None:
        return at.astimezone(tz).utcoffset()

    found = []
    start = datetime(year, 1, 1, tzinfo=UTC)
    days = [start + timedelta(days=d) for d in range(0, 367, 3)]
    for low, high in itertools.pairwise(days):
        if offset(low) == offset(high):
            continue
        while high - low > timedelta(seconds=1):
            middle = low + (high - low) / 2
            if offset(middle) == offset(low):
                low = middle
            else:
                high = middle
        found.append(high.replace(microsecond=0))
    return tuple(found)


@st.composite
def wall_times_near_a_change(draw: st.DrawFn) -> tuple[datetime, ZoneInfo]:
    """A naive wall time within two hours of a DST change (or anywhere, in a zone without)."""
    zone = draw(st.sampled_from(DST_ZONES))
    tz = ZoneInfo(zone)
    year = draw(st.one_of(st.integers(1971, 2040), st.just(2011), st.integers(2041, 2998)))
    changes = transitions(zone, year)
    if not changes:
        wall = draw(st.datetimes(datetime(year, 1, 2), datetime(year, 12, 30)))
        return wall.replace(microsecond=0), tz
    change = draw(st.sampled_from(changes))
    side = draw(st.sampled_from([change - timedelta(seconds=1), change]))
    wall = side.astimezone(tz).replace(tzinfo=None)
    shift = timedelta(seconds=draw(st.integers(-2 * 3600, 2 * 3600)))
    if draw(st.booleans()):
        shift = timedelta(minutes=round(shift.total_seconds() / 60))  # as people type it
    return wall + shift, tz


def instants_with_wall_time(wall: datetime, tz: ZoneInfo) -> set[datetime]:
    """Every UTC instant whose local time in ``tz`` reads ``wall``."""
    guess = wall.replace(tzinfo=UTC)
    offsets = set()
    for hours in range(-48, 49, 6):
        offset = (guess + timedelta(hours=hours)).astimezone(tz).utcoffset()
        assert offset is not None
        offsets.add(offset)
    return {
        guess - offset
        for offset in offsets
        if (guess - offset).astimezone(tz).replace(tzinfo=None) == wall
    }


def typed(wall: datetime) -> str:
    """The wall time as a user types it (seconds only when there are some)."""
    return wall.isoformat(sep=" ", timespec="minutes" if wall.second == 0 else "seconds")


@given(wall_times_near_a_change())
@example((datetime(2026, 3, 29, 2, 30), ZoneInfo("Europe/Berlin")))  # gap
@example((datetime(2026, 10, 25, 2, 30), ZoneInfo("Europe/Berlin")))  # overlap
@example((datetime(2026, 10, 25, 2, 30, 15), ZoneInfo("Europe/Berlin")))  # used to lose :15
@example((datetime(2026, 4, 5, 1, 45), ZoneInfo("Australia/Lord_Howe")))  # 30-minute overlap
@example((datetime(2011, 12, 30, 12, 0), ZoneInfo("Pacific/Apia")))  # a day that never was
def test_a_naive_wall_time_is_its_one_instant_or_refused_naming_the_choices(
    case: tuple[datetime, ZoneInfo],
):
    wall, tz = case
    text = typed(wall)
    candidates = instants_with_wall_time(wall, tz)
    in_range = all(EARLIEST <= c <= LATEST for c in candidates) and wall.year >= 1970
    try:
        value = parse_when(text, tz, NOW)
    except ValidationError as error:
        message = one_line(error)
        if not in_range or (not candidates and "out of range" in message):
            return
        assert len(candidates) != 1, f"{text} in {tz.key} is {candidates}, but: {message}"
        assert tz.key in message
        if not candidates:
            assert "does not exist" in message
            return
        assert "happens twice" in message
        # Each suggestion, typed back, is one of the two instants; together, both.
        suggested = re.findall(r"\d{4}-\d\d-\d\dT[\d:.]+[+-]\d\d:\d\d(?::\d\d)?", message)
        assert {parse_when(s, tz, NOW) for s in suggested} == candidates, message
        return
    assert candidates == {value}, f"{text} in {tz.key} read as {value}, not one of {candidates}"


# --- through the command line ----------------------------------------------------------------


@pytest.fixture
def acme(home, fake_clock: FakeClock) -> Iterator[World]:
    """Acme's Facebook page (account 1) and post 1, on the CLI's own files; the clock at T0."""
    context = open_context(load_settings(), open_queue=open_queue)
    try:
        yield make_world(context)
    finally:
        context.close()


@given(text=TYPED)
@example(text="+5\u017f")
@example(text="2026-10-25 02:30")
@example(text="+3w")
@example(text="2026-12-02T07:59:54Z")  # 6 s ago: in the past
@example(text="2026-12-02T07:59:56Z")  # 4 s ago: "now", within the grace
@settings(
    max_examples=max(10, settings.default.max_examples // 2),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_variant_add_at_any_time_schedules_that_instant_or_says_why_in_one_line(
    cli: Callable[..., Result], acme: World, text: str
):
    berlin = ZoneInfo("Europe/Berlin")
    result = cli("variant", "add", "--post", "1", "--account", "1", "--at", text, "--json")
    try:
        expected: datetime | None = parse_when(text, berlin, T0)
    except ValidationError:
        expected = None
    if expected is None or not T0 - NOW_GRACE <= expected <= T0 + MAX_AHEAD:
        assert result.exit_code != 0
        assert_user_error(result)
        return
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)["scheduled_at"]
    assert datetime.fromisoformat(shown) == expected.replace(microsecond=0)
