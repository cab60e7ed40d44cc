"""A month of days, Monday first: each day its counts by status, then its variants' times and
accounts as far as the cell's height goes, then ``+N more``.

Textual has no calendar widget. This one draws itself line by line (the Line API): a redraw is
a few dozen segments, so moving the selection or applying fresh data costs nothing. Every cell
is cut to its own width and a rule separates it from the next, so nothing a day shows can run
into its neighbour.

The widget holds no database code: the screen loads the days (in a worker) and hands them to
``set_days``; the grid says when the selected day changes (``DayChanged``).
"""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import ClassVar
from zoneinfo import ZoneInfo

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from omnipost_tui.platforms import SHORT_LABELS
from omnipost_tui.services.calendar import DayEntry
from omnipost_tui.text import clip
from omnipost_tui.tui.format import STATUS_ICONS, STATUS_STYLES

# The order a day's numbers are shown in: what went out, what will, what needs a look.
# "publishing" lasts seconds, so it sits with the scheduled ones; drafts that keep a planned
# time (unscheduled variants) come last, dimmed: they will not go out on that day by themselves.
COUNTED_STATUSES = (
    "published",
    "scheduled",
    "publishing",
    "retrying",
    "failed",
    "unconfirmed",
    "draft",
)
WEEKDAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
HEADER_LINES = 2  # the month's name, the weekday names
MAX_LINES_PER_WEEK = 8
MIN_LINES_PER_WEEK = 2  # the day's number, and one line for its variants
# The rule between days, then room for "◷12:30" or "+3 more": a narrower grid is cut at its
# right edge rather than letting days share columns.
MIN_CELL_WIDTH = 8
RULE = "│"
ENTRY_TIME = "%H:%M"


def month_weeks(year: int, month: int) -> list[list[date]]:
    """The weeks (Monday to Sunday) that show ``month``: four to six of them."""
    return calendar.Calendar(firstweekday=calendar.MONDAY).monthdatescalendar(year, month)


def add_months(day: date, months: int) -> date:
    """The same day number ``months`` later, clamped to the end of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def last_of_month(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


@dataclass(frozen=True)
class Token:
    """One status count as drawn in a cell: an icon and a number, in the status's colour."""

    text: str
    style: str


def day_tokens(counts: Mapping[str, int] | None) -> list[Token]:
    if not counts:
        return []
    return [
        Token(f"{STATUS_ICONS[status]}{counts[status]}", STATUS_STYLES[status])
        for status in COUNTED_STATUSES
        if counts.get(status)
    ]


def fit_tokens(tokens: list[Token], width: int) -> list[tuple[str, str]]:
    """All the tokens on one line of ``width`` (spaced, else packed: the icons separate the
    numbers), or none: a partial count would read as the whole day."""
    for gap in (" ", ""):
        if sum(cell_len(t.text) for t in tokens) + len(gap) * (len(tokens) - 1) <= width:
            parts: list[tuple[str, str]] = []
            for index, token in enumerate(tokens):
                if index and gap:
                    parts.append((gap, ""))
                parts.append((token.text, token.style))
            return parts
    return []


def entry_parts(entry: DayEntry, width: int, tz: ZoneInfo) -> list[tuple[str, str]]:
    """``◷12:30 FB Acme…``: the status icon, the local time, then the account as room allows,
    all within ``width`` cells (an account named in CJK or emoji takes two cells a letter)."""
    style = STATUS_STYLES.get(entry.status, "")
    icon = STATUS_ICONS.get(entry.status, "?")
    at = entry.at.astimezone(tz).strftime(ENTRY_TIME)
    time_style = "dim" if style == "dim" else ""
    room = width - cell_len(icon) - cell_len(at) - 1  # and a space
    short = SHORT_LABELS.get(entry.platform, entry.platform)
    if room < cell_len(short):
        return [(icon, style), (at, time_style)]
    # The account's name only when a few letters of it fit; "FB" alone otherwise.
    account = f"{short} {entry.account_name}" if room >= cell_len(short) + 5 else short
    # The space ends the time rather than starting the account: SVG viewers (the screenshots)
    # drop the spaces a text run starts with.
    return [(icon, style), (f"{at} ", time_style), (clip(account, room), "dim")]


def more_text(hidden: int, width: int) -> str:
    text = f"+{hidden} more"
    return text if cell_len(text) <= width else f"+{hidden}"


def lay_out_day(
    entries: list[DayEntry], inner: int, lines: int, tz: ZoneInfo
) -> list[list[tuple[str, str]]]:
    """What each line of a day's cell shows after the day's number: (text, style) parts.

    Line 0 carries the counts (when all of them fit beside the number); the lines below list
    the variants in time order; when they do not all fit, the last line says how many more.
    """
    out: list[list[tuple[str, str]]] = [[] for _ in range(lines)]
    counts = Counter(entry.status for entry in entries)
    out[0] = fit_tokens(day_tokens(counts), inner - 3)
    room = lines - 1
    shown = entries if len(entries) <= room else entries[: max(0, room - 1)]
    for index, entry in enumerate(shown, start=1):
        out[index] = entry_parts(entry, inner, tz)
    if len(shown) < len(entries) and room:
        out[room] = [(more_text(len(entries) - len(shown), inner), "bold")]
    return out


class MonthGrid(Widget, can_focus=True):
    """The month of the selected day; keys are bound by the screen that holds it."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "month-grid--title",
        "month-grid--weekday",
        "month-grid--today",
        "month-grid--selected",
        "month-grid--outside",
        "month-grid--rule",
        "month-grid--day",
    }

    selected: reactive[date] = reactive(date(2000, 1, 1), init=False)

    class DayChanged(Message):
        """The selected day changed; ``month_changed`` when the grid shows another month."""

        def __init__(self, grid: MonthGrid, day: date, month_changed: bool) -> None:
            super().__init__()
            self.grid = grid
            self.day = day
            self.month_changed = month_changed

        @property
        def control(self) -> MonthGrid:
            return self.grid

    def __init__(self, today: date, tz: ZoneInfo, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.today = today
        self.tz = tz  # the zone the variants' times are shown in
        self.set_reactive(MonthGrid.selected, today)
        self.days: dict[date, list[DayEntry]] = {}
        self.note = ""  # shown after the month's name, e.g. "filtered"

    # --- the data model -----------------------------------------------------------------------

    @property
    def weeks(self) -> list[list[date]]:
        return month_weeks(self.selected.year, self.selected.month)

    @property
    def visible_range(self) -> tuple[date, date]:
        weeks = self.weeks
        return weeks[0][0], weeks[-1][-1]

    def counts_for(self, day: date) -> Counter[str]:
        return Counter(entry.status for entry in self.days.get(day, ()))

    def set_days(self, first: date, last: date, days: Mapping[date, list[DayEntry]]) -> None:
        """Replace the variants of ``first``..``last``; other months' stay as a cache so
        paging back shows them at once, then fresh ones when they arrive."""
        fresh = {day: list(e) for day, e in days.items() if first <= day <= last and e}
        stale = [day for day in self.days if first <= day <= last]
        changed = any(self.days.get(day) != fresh.get(day) for day in {*stale, *fresh})
        for day in stale:
            del self.days[day]
        self.days.update(fresh)
        if changed:
            self.refresh()

    def set_today(self, today: date) -> None:
        if today != self.today:
            self.today = today
            self.refresh()

    def set_note(self, note: str) -> None:
        if note != self.note:
            self.note = note
            self.refresh()

    # --- moving the selection -----------------------------------------------------------------

    def watch_selected(self, old: date, new: date) -> None:
        month_changed = (old.year, old.month) != (new.year, new.month)
        self.refresh()
        self.post_message(self.DayChanged(self, new, month_changed))

    def move_days(self, days: int) -> None:
        self.selected = self.selected + timedelta(days=days)

    def move_months(self, months: int) -> None:
        self.selected = add_months(self.selected, months)

    def go_first(self) -> None:
        self.selected = self.selected.replace(day=1)

    def go_last(self) -> None:
        self.selected = last_of_month(self.selected)

    def go_today(self) -> None:
        self.selected = self.today

    # --- geometry -----------------------------------------------------------------------------

    def cell_width(self) -> int:
        return max(MIN_CELL_WIDTH, self.size.width // 7)

    def lines_per_week(self) -> int:
        weeks = len(self.weeks)
        fit = (self.size.height - HEADER_LINES) // weeks
        return max(MIN_LINES_PER_WEEK, min(MAX_LINES_PER_WEEK, fit))

    def day_at(self, x: int, y: int) -> date | None:
        """The day drawn at a point of the widget, if any."""
        if y < HEADER_LINES:
            return None
        week = (y - HEADER_LINES) // self.lines_per_week()
        column = x // self.cell_width()
        weeks = self.weeks
        if week >= len(weeks) or column >= 7:
            return None
        return weeks[week][column]

    def get_content_height(self, container, viewport, width: int) -> int:
        return HEADER_LINES + len(self.weeks) * 2

    async def _on_click(self, event: events.Click) -> None:
        if event.y == 0:  # the month's name between ‹ and ›
            self.move_months(-1 if event.x < self.cell_width() * 7 // 2 else 1)
            return
        day = self.day_at(event.x, event.y)
        if day is not None:
            self.selected = day

    # --- drawing ------------------------------------------------------------------------------

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name, partial=True)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if y == 0:
            segments = self._title()
        elif y == 1:
            segments = self._weekday_header()
        else:
            lines = self.lines_per_week()
            week, line = divmod(y - HEADER_LINES, lines)
            weeks = self.weeks
            if week >= len(weeks):
                return Strip.blank(width, base)
            segments = []
            for day in weeks[week]:
                segments.extend(self._cell_line(day, line, lines))
        strip = Strip(segments).apply_style(base)
        return strip.crop_extend(0, width, base)

    def _title(self) -> list[Segment]:
        span = self.cell_width() * 7
        title = f"{calendar.month_name[self.selected.month]} {self.selected.year}"
        text = f"‹ {title} ›"
        note = f"  {self.note}" if self.note else ""
        left = max(0, (span - cell_len(text) - cell_len(note)) // 2)
        return [
            Segment(" " * left),
            Segment(text, self._style("month-grid--title")),
            Segment(note, Style(dim=True)),
        ]

    def _weekday_header(self) -> list[Segment]:
        cell = self.cell_width()
        style = self._style("month-grid--weekday")
        return [Segment(" " + name.ljust(cell - 1), style) for name in WEEKDAYS]

    def cell_text(self, day: date, lines: int | None = None) -> list[str]:
        """A day's cell as plain text, line by line, without the rule before it."""
        lines = lines or self.lines_per_week()
        return [
            "".join(text for text, _ in self._cell_parts(day, line, lines)) for line in range(lines)
        ]

    def _cell_parts(self, day: date, line: int, lines: int) -> list[tuple[str, Style]]:
        inner = self.cell_width() - 1
        parts: list[tuple[str, Style]] = []
        if line == 0:
            number_style = self._style("month-grid--today") if day == self.today else Style()
            parts.append((f"{day.day:>2}", number_style))
        placed = lay_out_day(self.days.get(day, []), inner, lines, self.tz)[line]
        if line == 0 and placed:
            parts.append((" ", Style()))
        parts.extend((text, Style.parse(style) if style else Style()) for text, style in placed)
        used = sum(cell_len(text) for text, _ in parts)
        parts.append((" " * max(0, inner - used), Style()))
        return parts

    def _cell_line(self, day: date, line: int, lines: int) -> Iterable[Segment]:
        cell = Style()
        if line == 0:
            cell += self._style("month-grid--day")
        if day.month != self.selected.month:
            cell += self._style("month-grid--outside")
        if day == self.selected:
            cell += self._style("month-grid--selected")
        first_column = day.weekday() == 0
        yield Segment(" " if first_column else RULE, self._style("month-grid--rule"))
        for text, style in self._cell_parts(day, line, lines):
            yield Segment(text, cell + style)
