"""A month of days, Monday first, with each day's variants counted by status.

Textual has no calendar widget. This one draws itself line by line (the Line API): a redraw is
a few dozen segments, so moving the selection or applying fresh counts costs nothing.

The widget holds no database code: the screen loads the counts (in a worker) and hands them to
``set_counts``; the grid says when the selected day changes (``DayChanged``).
"""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

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
MIN_CELL_WIDTH = 6  # one column of gap, a two-digit day, a space, one count


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


def lay_out(tokens: list[Token], slots: list[int]) -> tuple[list[list[Token]], bool]:
    """Fill the cell's line slots (widths) with tokens in order; True when some did not fit.

    Tokens are spaced when everything fits that way, packed (the icons still separate the
    numbers) when it does not.
    """
    for gap in (1, 0):
        lines: list[list[Token]] = [[] for _ in slots]
        rest = list(tokens)
        for index, width in enumerate(slots):
            used = 0
            while rest:
                need = len(rest[0].text) + (gap if lines[index] else 0)
                if used + need > width:
                    break
                lines[index].append(rest.pop(0))
                used += need
        if not rest:
            return lines, False
    return lines, True


class MonthGrid(Widget, can_focus=True):
    """The month of the selected day; keys are bound by the screen that holds it."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "month-grid--title",
        "month-grid--weekday",
        "month-grid--today",
        "month-grid--selected",
        "month-grid--outside",
        "month-grid--more",
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

    def __init__(self, today: date, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.today = today
        self.set_reactive(MonthGrid.selected, today)
        self.counts: dict[date, Counter[str]] = {}
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
        return self.counts.get(day, Counter())

    def set_counts(self, first: date, last: date, counts: Mapping[date, Counter[str]]) -> None:
        """Replace the counts of ``first``..``last``; other months' counts stay as a cache so
        paging back shows numbers at once, then fresh ones when they arrive."""
        fresh = {day: Counter(c) for day, c in counts.items() if first <= day <= last}
        stale = [day for day in self.counts if first <= day <= last]
        changed = any(self.counts.get(day) != fresh.get(day) for day in {*stale, *fresh})
        for day in stale:
            del self.counts[day]
        self.counts.update(fresh)
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

    def _cell_width(self) -> int:
        return max(MIN_CELL_WIDTH, self.size.width // 7)

    def _lines_per_week(self) -> int:
        weeks = len(self.weeks)
        return max(1, min(MAX_LINES_PER_WEEK, (self.size.height - HEADER_LINES) // weeks))

    def day_at(self, x: int, y: int) -> date | None:
        """The day drawn at a point of the widget, if any."""
        if y < HEADER_LINES:
            return None
        week = (y - HEADER_LINES) // self._lines_per_week()
        column = x // self._cell_width()
        weeks = self.weeks
        if week >= len(weeks) or column >= 7:
            return None
        return weeks[week][column]

    def get_content_height(self, container, viewport, width: int) -> int:
        return HEADER_LINES + len(self.weeks) * 2

    async def _on_click(self, event: events.Click) -> None:
        if event.y == 0:  # the month's name between ‹ and ›
            self.move_months(-1 if event.x < self._cell_width() * 7 // 2 else 1)
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
            lines = self._lines_per_week()
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
        span = self._cell_width() * 7
        title = f"{calendar.month_name[self.selected.month]} {self.selected.year}"
        text = f"‹ {title} ›"
        note = f"  {self.note}" if self.note else ""
        left = max(0, (span - len(text) - len(note)) // 2)
        return [
            Segment(" " * left),
            Segment(text, self._style("month-grid--title")),
            Segment(note, Style(dim=True)),
        ]

    def _weekday_header(self) -> list[Segment]:
        cell = self._cell_width()
        style = self._style("month-grid--weekday")
        return [Segment(" " + name.ljust(cell - 1), style) for name in WEEKDAYS]

    def _cell_line(self, day: date, line: int, lines: int) -> Iterable[Segment]:
        inner = self._cell_width() - 1
        tokens = day_tokens(self.counts.get(day))
        # The day's number leads the first line; counts go below it when they fit there.
        first_slot = max(0, inner - 3)
        below = [inner] * (lines - 1)
        if below and not lay_out(tokens, below)[1]:
            first_slot = 0
        placed, overflow = lay_out(tokens, [first_slot, *below])

        cell = Style()
        if day.month != self.selected.month:
            cell += self._style("month-grid--outside")
        if day == self.selected:
            cell += self._style("month-grid--selected")

        parts: list[tuple[str, Style]] = []
        if line == 0:
            number_style = self._style("month-grid--today") if day == self.today else Style()
            parts.append((f"{day.day:>2}", number_style))
            if placed[0]:
                parts.append((" ", Style()))
        parts.extend(self._tokens(placed[line], inner))
        if overflow and line == lines - 1:
            parts = self._mark_more(parts, inner)

        used = sum(len(text) for text, _ in parts)
        yield Segment(" ")  # the gap between cells stays unhighlighted
        for text, style in parts:
            yield Segment(text, cell + style)
        yield Segment(" " * max(0, inner - used), cell)

    def _tokens(self, tokens: list[Token], inner: int) -> list[tuple[str, Style]]:
        spaced = sum(len(t.text) for t in tokens) + len(tokens) - 1 <= inner
        parts: list[tuple[str, Style]] = []
        for index, token in enumerate(tokens):
            if index and spaced:
                parts.append((" ", Style()))
            parts.append((token.text, Style.parse(token.style)))
        return parts

    def _mark_more(self, parts: list[tuple[str, Style]], inner: int) -> list[tuple[str, Style]]:
        """Not every count fit: end the cell with "+" (the agenda lists them all)."""
        while parts and sum(len(text) for text, _ in parts) > inner - 1:
            parts = parts[:-1]
        return [*parts, ("+", self._style("month-grid--more"))]
