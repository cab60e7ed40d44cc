"""Time at the edges: parsing what users type and showing times in the configured zone.

Inside the program every datetime is aware and in UTC; the configured zone is used only here.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from omnipost_tui.errors import ValidationError

# re.ASCII: without it IGNORECASE lets "ſ" (long s) match the unit s, which then is no key of
# _UNIT_SECONDS (a crash), and \d lets "+٥m" through while dates refuse Arabic-Indic digits.
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.IGNORECASE | re.ASCII)
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

DURATION_HELP = "a number and a unit: 90s, 30m, 12h, 7d, 2w"

WHEN_HELP = (
    "ISO 8601 (e.g. 2026-12-01T09:30, in the configured zone unless it has an offset), "
    "'now', or +90s, +15m, +2h, +1d"
)


def ensure_utc(value: datetime) -> datetime:
    """Return an aware UTC datetime; a naive value is a programming error, not user input."""
    if value.tzinfo is None:
        raise ValueError("naive datetime reached the core; attach a zone first")
    return value.astimezone(UTC)


def localize(naive: datetime, tz: ZoneInfo) -> datetime:
    """Attach ``tz`` to a wall-clock time, refusing times that DST makes missing or ambiguous."""
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    shown = _wall_time(naive).replace("T", " ")
    if first.utcoffset() != second.utcoffset():
        # Both folds map back to the same wall time only when the time is ambiguous (clocks went
        # back); when clocks jumped forward the wall time does not exist at all.
        if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
            raise ValidationError(
                f"{shown} does not exist in {tz.key} (clocks jump forward then); pick another time"
            )
        raise ValidationError(
            f"{shown} happens twice in {tz.key} (clocks go back then); add an offset: "
            f"{_wall_time(first)} for the first, {_wall_time(second)} for the second"
        )
    return first


def _wall_time(value: datetime) -> str:
    """``value`` as the user may type it back, offset included when it has one: the seconds
    only when there are some (a suggestion must be the very instant the user meant), and the
    offset with its seconds where a zone's offset has them (``+00:19:32``; ``%z`` cut into
    ``+HH:MM`` made those unreadable)."""
    whole_minute = value.second == 0 and value.microsecond == 0
    return value.isoformat(timespec="minutes" if whole_minute else "auto")


# Times outside this range are typos, and some cannot even be shown in every zone.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, tzinfo=UTC)


def parse_when(text: str, tz: ZoneInfo, now: datetime) -> datetime:
    """Parse a user's WHEN into an aware UTC datetime. Raises ValidationError with a hint."""
    raw = (text or "").strip()
    if not raw:
        raise ValidationError(f"empty time; use {WHEN_HELP}")
    if raw.lower() == "now":
        return ensure_utc(now)
    try:
        parsed = _parse(raw, tz, now)
        if not EARLIEST <= parsed <= LATEST:
            # Year 9999 parses, but cannot be shown in every zone; nobody means it anyway.
            raise OverflowError
    except OverflowError:
        # ``+99999999d`` or year 1 in a zone east of UTC: outside what a datetime can hold.
        raise ValidationError(f"time {raw!r} is out of range; use {WHEN_HELP}") from None
    return parsed


def parse_duration(text: str, *, longest: timedelta | None = None) -> timedelta:
    """``90s``, ``15m``, ``12h``, ``7d``, ``2w`` (the one way OmniPost reads a span of time).
    Raises ValidationError with a hint; ``longest`` bounds what makes sense."""
    match = _DURATION.match(text or "")
    if match is None:
        raise ValidationError(f"cannot read {text!r} as a duration; use {DURATION_HELP}")
    seconds = _seconds(match)
    most = (longest or timedelta.max).total_seconds()
    if seconds > most:
        raise ValidationError(f"{text.strip()} is too long; use at most {format_duration(most)}")
    return timedelta(seconds=seconds)


def _seconds(duration: re.Match[str]) -> int:
    return int(duration.group(1)) * _UNIT_SECONDS[duration.group(2).lower()]


def _parse(raw: str, tz: ZoneInfo, now: datetime) -> datetime:
    relative = _DURATION.match(raw[1:]) if raw[:1] in "+-" else None
    if relative is not None:
        sign = 1 if raw[0] == "+" else -1
        # Too far either way is an OverflowError here, which parse_when reports.
        return ensure_utc(now) + timedelta(seconds=sign * _seconds(relative))
    if is_date_only(raw):
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise ValidationError(f"cannot read time {raw!r}; use {WHEN_HELP}") from None
        return start_of_day(day, tz)
    try:
        parsed = datetime.fromisoformat(raw.replace(" ", "T", 1) if " " in raw else raw)
    except ValueError:
        raise ValidationError(f"cannot read time {raw!r}; use {WHEN_HELP}") from None
    if parsed.tzinfo is None:
        if not EARLIEST.year <= parsed.year <= LATEST.year:
            # Out of range whatever the zone: say so rather than explain a DST change of 1935.
            raise OverflowError
        parsed = localize(parsed, tz)
    return parsed.astimezone(UTC)


def start_of_day(day: date, tz: ZoneInfo) -> datetime:
    """The first instant of ``day`` in ``tz`` as aware UTC.

    Usually local midnight; in zones whose clocks jump forward at midnight (e.g.
    America/Santiago) midnight does not exist and the day starts at the end of the gap, and where
    midnight happens twice the day starts at the first one. ``fold=0`` gives exactly that.
    """
    return datetime(day.year, day.month, day.day, tzinfo=tz, fold=0).astimezone(UTC)


def is_date_only(text: str) -> bool:
    """``2026-12-01`` without a time: as an upper bound it means "through the end of that day"."""
    return bool(_DATE_ONLY.match(text.strip()))


def to_local(value: datetime, tz: ZoneInfo) -> datetime:
    return ensure_utc(value).astimezone(tz)


def iso_local(value: datetime | None, tz: ZoneInfo) -> str | None:
    """ISO 8601 with the zone's offset, the shape scripts read (``--json``)."""
    if value is None:
        return None
    return to_local(value, tz).isoformat(timespec="seconds")


def format_local(value: datetime | None, tz: ZoneInfo, *, seconds: bool = False) -> str:
    """Human form in the configured zone, e.g. ``2026-11-28 14:05 CET``."""
    if value is None:
        return "-"
    local = to_local(value, tz)
    return local.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")


def format_duration(seconds: float) -> str:
    """Compact duration: ``45s``, ``4m 10s``, ``2h 5m``, ``3d 4h``.

    Rounded to the last unit shown: a token that expires in 60 days less a second is "60d",
    not "59d 23h"."""
    total = round(abs(seconds))
    if total < 3600:
        minutes, secs = divmod(total, 60)
        if minutes:
            return f"{minutes}m {secs}s" if secs else f"{minutes}m"
        return f"{secs}s"
    in_minutes = round(total / 60)
    if in_minutes < 24 * 60:
        hours, minutes = divmod(in_minutes, 60)
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(round(total / 3600), 24)
    return f"{days}d {hours}h" if hours else f"{days}d"


def format_seconds(seconds: float) -> str:
    """A wait or a timeout in a sentence: ``30s``, ``2.5s``. Number and unit stay together so
    a wrapped line never leaves the unit alone on the next one (Rich and Textual break lines
    at any space, a no-break space included)."""
    return f"{seconds:g}s"


def format_relative(target: datetime, now: datetime) -> str:
    """``in 4m 10s`` or ``3m ago``."""
    delta = (ensure_utc(target) - ensure_utc(now)).total_seconds()
    return f"in {format_duration(delta)}" if delta >= 0 else f"{format_duration(delta)} ago"


def parse_until(text: str, tz: ZoneInfo, now: datetime) -> datetime:
    """An exclusive upper bound: a bare date means the start of the next day in ``tz``."""
    if is_date_only(text):
        try:
            day = date.fromisoformat(text.strip())
        except ValueError:
            raise ValidationError(f"cannot read date {text.strip()!r}; use YYYY-MM-DD") from None
        try:
            return start_of_day(day + timedelta(days=1), tz)
        except OverflowError:
            raise ValidationError(f"date {text.strip()!r} is out of range") from None
    return parse_when(text, tz, now)
