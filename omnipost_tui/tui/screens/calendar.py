"""Calendar: a month of days with each day's variants counted by status, and the selected
day's agenda beside it.

Everything is in the configured timezone, with day boundaries from ``services.calendar`` so a
23- or 25-hour DST day holds exactly its own posts. Counts and agenda load in workers
(exclusive: holding an arrow key only ever shows the latest day); live updates change only the
agenda cells that differ, so the cursor and the selected day stay where they are.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Label, Select, Static
from textual.widgets.data_table import ColumnKey

from omnipost_tui import clock
from omnipost_tui.platforms import LABELS, PLATFORMS, SHORT_LABELS
from omnipost_tui.services.attempts import AttemptFilter
from omnipost_tui.services.brands import list_brands
from omnipost_tui.services.calendar import (
    DayEntry,
    agenda,
    day_bounds,
    entries_by_day,
    move_to_day,
)
from omnipost_tui.services.variants import VariantFilter, placed_at
from omnipost_tui.services.views import VariantView
from omnipost_tui.states import (
    DRAFT,
    FAILED,
    PUBLISHED,
    PUBLISHING,
    RETRYING,
    UNCONFIRMED,
    VARIANT_STATUSES,
)
from omnipost_tui.text import clip, visible_line
from omnipost_tui.tui.base import OmniScreen
from omnipost_tui.tui.format import (
    STATUS_ICONS,
    STATUS_STYLES,
    countdown,
    first_line,
    local,
    shown,
    status_text,
)
from omnipost_tui.tui.variant_actions import VariantActions
from omnipost_tui.tui.widgets.keyed_table import KeyedTable
from omnipost_tui.tui.widgets.month_grid import COUNTED_STATUSES, MonthGrid
from omnipost_tui.tui.widgets.updates import update_if_changed


def load_days(
    ctx, first: date, last: date, tz: ZoneInfo, flt: VariantFilter
) -> dict[date, list[DayEntry]]:
    """The grid's days, in a worker thread."""
    days = entries_by_day(ctx, first, last, tz, flt)
    return {day: [shown(entry) for entry in entries] for day, entries in days.items()}


def load_agenda(ctx, day: date, tz: ZoneInfo, flt: VariantFilter) -> list[VariantView]:
    """One day's variants, in a worker thread."""
    return [shown(variant) for variant in agenda(ctx, day, tz, flt)]


class AgendaTable(KeyedTable, inherit_bindings=False):
    """The day's agenda: a list, so the arrows move within it; PageUp/PageDown are left to the
    calendar (the month, as on the grid: a day's agenda seldom fills a page)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        binding
        for binding in DataTable.BINDINGS
        if not (isinstance(binding, Binding) and binding.key in ("pageup", "pagedown"))
    ]


# (key, header). Widths depend on the space the agenda gets; see _column_widths.
COLUMNS = (
    ("time", "Time"),
    ("platform", ""),
    ("status", "Status"),
    ("account", "Account"),
    ("text", "Text"),
)
# Below this many columns the status is its icon only; the detail lines below spell it out.
WIDE_AGENDA = 52
# Below this many columns the account column gives way to the text.
NAMED_AGENDA = 30


def day_title(day: date, *, year: bool = True) -> str:
    return f"{day:%a} {day.day} {day:%b}" + (f" {day.year}" if year else "")


def moment(value, tz) -> str:
    """``Thu 10 Dec 12:30`` in the configured zone."""
    if value is None:
        return "no time"
    at = value.astimezone(tz)
    return f"{day_title(at.date(), year=False)} {at:%H:%M}"


def day_hours(day: date, tz) -> float:
    start, end = day_bounds(day, tz)
    return (end - start).total_seconds() / 3600


class CalendarScreen(VariantActions, OmniScreen):
    MODE = "calendar"
    TITLE_TEXT = "Calendar"
    # One step of the cursor (a day, a week, an agenda row): a command run once from the
    # palette, which then closes, is not how anyone walks the days; the arrows and hjkl are.
    # Paging by month, Today and first/last day stay: each is a jump worth searching for.
    NOT_IN_PALETTE = frozenset({"day(-1)", "day(1)", "day(-7)", "day(7)"})
    CSS_PATH = "calendar.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new", "New", id="calendar.new"),
        Binding("m", "move", "Move", id="calendar.move"),
        Binding("p", "publish", "Publish", id="calendar.publish"),
        Binding("r", "retry", "Retry", id="calendar.retry"),
        Binding("e", "edit", "Edit", id="calendar.edit"),
        Binding("t", "today", "Today", id="calendar.today", show=False),
        Binding("slash", "filter", "Filter", id="calendar.filter"),
        Binding("u", "unschedule", "Unschedule", id="calendar.unschedule", show=False),
        Binding("M", "mark_published", "Mark published", id="calendar.mark_published", show=False),
        Binding("c", "check_platform", "Check on platform", id="calendar.check", show=False),
        Binding("a", "attempts", "Attempts of the variant", id="calendar.attempts", show=False),
        Binding("escape", "escape", "Cancel move / clear filter", id="calendar.escape", show=False),
        Binding(
            "enter", "choose_day", "Day's agenda / drop here", id="calendar.choose_day", show=False
        ),
        Binding("left,h", "day(-1)", "Previous day", id="calendar.previous_day", show=False),
        Binding("right,l", "day(1)", "Next day", id="calendar.next_day", show=False),
        Binding(
            "up,k", "day(-7)", "Week up (agenda: row up)", id="calendar.previous_week", show=False
        ),
        Binding(
            "down,j", "day(7)", "Week down (agenda: row down)", id="calendar.next_week", show=False
        ),
        Binding(
            "pageup,left_square_bracket",
            "month(-1)",
            "Previous month",
            id="calendar.previous_month",
            show=False,
        ),
        Binding(
            "pagedown,right_square_bracket",
            "month(1)",
            "Next month",
            id="calendar.next_month",
            show=False,
        ),
        Binding("home", "first_day", "First day of the month", id="calendar.first_day", show=False),
        Binding("end", "last_day", "Last day of the month", id="calendar.last_day", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.flt = VariantFilter()
        self.moving: VariantView | None = None
        self._views: dict[str, VariantView] = {}
        self._agenda_day: date | None = None
        self._wide = False
        self._widths: dict[str, int] = {}
        self._detail = Text()
        self._cursor_to = ""  # row key to put the cursor on when the agenda next loads

    # --- layout -------------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="filters"):
            yield Input(placeholder="search title or text", id="search", compact=True)
            yield Select(
                [(s, s) for s in VARIANT_STATUSES], prompt="any status", id="status", compact=True
            )
            yield Select(
                [(LABELS[p], p) for p in PLATFORMS],
                prompt="any platform",
                id="platform",
                compact=True,
            )
            yield Select([], prompt="any brand", id="brand", compact=True)
        yield Label("", id="move-line")
        with Horizontal(id="calendar-body"):
            with Vertical(id="month"):
                yield MonthGrid(self._today(), self.app.tz, id="grid")
                yield Static("", id="legend")
            with Vertical(id="day"):
                yield Label("", id="day-title")
                yield AgendaTable(id="agenda", cursor_type="row", cell_padding=0)
                yield Static("", id="detail")

    def on_mount(self) -> None:
        table = self.table
        for key, label in COLUMNS:
            table.add_column(label, key=key, width=4)
        self.grid.focus()
        self._show_day_title()
        self.call_after_refresh(self._fit_columns)
        # Retry countdowns in the detail lines move with the clock.
        self.set_interval(1.0, self._show_detail)
        self.call(list_brands, self.app.ctx, done=self._set_brands, group="brands")

    def on_resize(self) -> None:
        self.call_after_refresh(self._fit_columns)
        self.call_after_refresh(self._fit_legend)

    def _fit_legend(self) -> None:
        legend_box = self.query_one("#legend", Static)
        legend_box.update(legend(legend_box.content_size.width or 40))

    @property
    def grid(self) -> MonthGrid:
        return self.query_one("#grid", MonthGrid)

    @property
    def table(self) -> KeyedTable:
        return self.query_one("#agenda", KeyedTable)

    def _today(self) -> date:
        return clock.now().astimezone(self.app.tz).date()

    def _set_brands(self, brands) -> None:
        self.query_one("#brand", Select).set_options([(shown(b).name, b.id) for b in brands])

    def _column_widths(self, width: int) -> dict[str, int]:
        """Each width includes the one-space gap after the field (the table has no padding)."""
        wide = width >= WIDE_AGENDA
        widths = {
            # On a DST change day 02:30 can happen twice: the zone tells which one.
            "time": 11 if self._dst_day() else 6,
            "platform": 3,
            "status": 14 if wide else 2,
            # Too narrow for both: the text stays, the detail below names the account.
            "account": max(10, min(19, width // 4)) if width >= NAMED_AGENDA else 0,
        }
        widths["text"] = max(8, width - sum(widths.values()))
        return widths

    def _dst_day(self) -> bool:
        day = self._agenda_day
        return day is not None and day_hours(day, self.app.tz) != 24

    def _fit_columns(self) -> None:
        # Not while other rows are coming: showing the old ones again would make them current
        # (the new ones are cut to the new widths when they land).
        if self._set_widths() and not self.table.other_rows_coming:
            # Cells are cut to their column by us (with an ellipsis), so they change with it.
            self._render_agenda(self._agenda_day, list(self._views.values()))

    def _set_widths(self) -> bool:
        table = self.table
        if not table.size.width:
            return False  # not laid out yet; on_resize comes
        # One column for the scrollbar (calendar.tcss makes it that narrow).
        widths = self._column_widths(table.size.width - 1)
        if widths == self._widths:
            return False
        self._widths = widths
        self._wide = widths["status"] > 2
        for key, width in widths.items():
            column = table.columns.get(ColumnKey(key))
            if column is not None:
                column.width = width
                column.auto_width = False
        status = table.columns.get(ColumnKey("status"))
        if status is not None:
            status.label = Text("Status" if self._wide else "")
        table.refresh()
        return True

    # --- loading ------------------------------------------------------------------------------

    def refresh_data(self) -> None:
        self.grid.set_today(self._today())
        self._load_days()
        self._load_agenda()

    def _load_days(self) -> None:
        grid = self.grid
        first, last = grid.visible_range
        self.call(
            load_days,
            self.app.ctx,
            first,
            last,
            self.app.tz,
            self.flt,
            done=lambda days: grid.set_days(first, last, days),
            group="counts",
            exclusive=True,
        )

    def _load_agenda(self) -> None:
        day = self.grid.selected
        self.call(
            load_agenda,
            self.app.ctx,
            day,
            self.app.tz,
            self.flt,
            done=lambda rows: self._show_agenda(day, rows),
            group="agenda",
            exclusive=True,
        )

    @on(MonthGrid.DayChanged)
    def _day_changed(self, event: MonthGrid.DayChanged) -> None:
        self._show_day_title()
        self._load_agenda()
        if event.month_changed:
            self._load_days()

    def _show_agenda(self, day: date, rows: list[VariantView]) -> None:
        if day != self.grid.selected:
            return  # the user has moved on; that day's load is on its way
        self._render_agenda(day, rows)

    def _render_agenda(self, day: date | None, rows: list[VariantView]) -> None:
        """Rows keyed by variant id: cell updates when the rows are the same ones, otherwise
        a rebuild that keeps the cursor on its variant (a new day starts at the top)."""
        if day is None:
            return
        table = self.table
        new_day = day != self._agenda_day
        self._agenda_day = day
        self._set_widths()  # the time column is wider on DST days
        cells = {str(v.id): self._cells_of(v) for v in rows}
        self._views = {str(v.id): v for v in rows}
        with self.app.batch_update():
            target = self._cursor_to or ("" if new_day else table.cursor_key())
            if table.show_rows(cells, rebuild=new_day):
                if not table.move_to(target) and rows:
                    table.move_cursor(row=0)
                if self._cursor_to in cells:
                    self._cursor_to = ""
        self._show_day_title()
        self._show_detail()
        self.selection_changed()

    def _cells_of(self, v: VariantView) -> tuple:
        widths = self._widths or self._column_widths(40)
        status = (
            status_text(v.status)
            if self._wide
            else Text(STATUS_ICONS.get(v.status, "?"), style=STATUS_STYLES.get(v.status, ""))
        )
        return (
            # Where the day places it: a published variant at the time it went out.
            local(placed_at(v), self.app.tz, "%H:%M %Z" if self._dst_day() else "%H:%M"),
            SHORT_LABELS.get(v.platform, v.platform),
            status,
            clip(v.account_name, widths["account"] - 1),
            clip(first_line(v.text), widths["text"] - 1),
        )

    def _show_day_title(self) -> None:
        day = self.grid.selected
        text = Text(day_title(day, year=False), style="bold")
        if day == self.grid.today:
            text.append(" · today", style="bold")
        hours = day_hours(day, self.app.tz)
        if hours != 24:  # the clocks change: 02:30 is missing, or happens twice
            text.append(f" · {hours:.0f}h day", style="yellow")
        if day == self._agenda_day:
            n = len(self._views)
            text.append(f" · {n} variant{'s' if n != 1 else ''}" if n else " · nothing planned")
            if n == 0 and self._filtered():
                text.append(" (filtered)")
        update_if_changed(self.query_one("#day-title", Label), text)

    def _show_detail(self) -> None:
        """The selected variant in full: what the narrow agenda columns cut off."""
        text = self._detail_text()
        if text != self._detail:  # called every second for the retry countdown
            self._detail = text
            self.query_one("#detail", Static).update(text)

    def _detail_text(self) -> Text:
        variant = self.selected()
        if variant is None:
            return Text("n: new post on this day", style="dim")
        tz, now = self.app.tz, clock.now()
        text = Text()
        text.append(f"#{variant.id} ", style="dim")
        text.append_text(status_text(variant.status))
        text.append(f"  {LABELS.get(variant.platform, variant.platform)} · {variant.account_name}")
        text.append(f"  ({variant.brand_name})", style="dim")
        if variant.status == RETRYING and variant.next_attempt_at:
            text.append(
                f"\nnext attempt in {countdown(variant.next_attempt_at, now)}", style="yellow"
            )
        if variant.status == PUBLISHED:
            when = local(variant.published_at, tz, "%d %b %H:%M")
            text.append(f"\npublished {when}", style="green")
            planned = local(variant.scheduled_at, tz, "%d %b %H:%M")
            if planned != when:  # published now, or retried: the plan was another time
                text.append(f" · planned {planned}", style="dim")
            if variant.external_post_id:
                text.append(f" · {variant.external_post_id}", style="dim")
        if variant.last_error and variant.status in (FAILED, RETRYING, UNCONFIRMED):
            # May quote a platform's answer: made visible where it was loaded (load_agenda).
            text.append(f"\n{variant.last_error}", style=STATUS_STYLES.get(variant.status, ""))
        line = first_line(variant.text)
        title = visible_line(variant.post_title)  # may predate the rule on what text holds
        if not line.startswith(title):
            text.append(f"\n{title}", style="bold")
        text.append(f"\n{line}")
        return text

    @on(DataTable.RowHighlighted, "#agenda")
    def _row_highlighted(self) -> None:
        self._show_detail()

    # --- the selected variant -------------------------------------------------------------------

    def selected(self) -> VariantView | None:
        if self._agenda_day != self.grid.selected:
            return None  # the rows still shown belong to the day before; its load is on the way
        return self._views.get(self.selected_key(self.table))

    @on(DataTable.RowSelected, "#agenda")
    def _open_variant(self) -> None:
        variant = self.selected()  # not the event's row: it may be one of the rows replaced
        if variant is not None:
            self.open_editor(post_id=variant.post_id, variant_id=variant.id)

    def action_new(self) -> None:
        self.open_editor(day=self.grid.selected)

    def action_attempts(self) -> None:
        variant = self._need_selection()
        if variant is not None:
            self.app.show_filtered("attempts", AttemptFilter(variant=variant.id))

    # --- moving through days --------------------------------------------------------------------

    def _grid_focused(self) -> bool:
        return self.focused is None or self.focused is self.grid

    def action_day(self, days: int) -> None:
        if self._grid_focused():
            self.grid.move_days(days)
        elif self.focused is self.table and abs(days) == 7:
            # j/k in the agenda move its cursor (the arrows are the table's own keys).
            if days > 0:
                self.table.action_cursor_down()
            else:
                self.table.action_cursor_up()

    def action_month(self, months: int) -> None:
        self.grid.move_months(months)

    def action_first_day(self) -> None:
        self.grid.go_first()

    def action_last_day(self) -> None:
        self.grid.go_last()

    def action_today(self) -> None:
        self.grid.set_today(self._today())
        self.grid.go_today()

    def action_choose_day(self) -> None:
        """Enter on a day: drop the variant being moved there, or look at the day's agenda."""
        if not self._grid_focused():
            return
        if self.moving is not None:
            self._drop(self.moving, self.grid.selected)
        else:
            self.table.focus()

    # --- move: pick a variant, pick a day, keep the time ----------------------------------------

    def action_move(self) -> None:
        variant = self._selected_for("move")
        if variant is None:
            return
        self.moving = variant
        line = Text(
            f" moving #{variant.id} ({moment(variant.scheduled_at, self.app.tz)})", style="bold"
        )
        line.append(" — pick a day, Enter to drop, Esc to cancel")
        if variant.status == DRAFT:
            line.append(" (the draft gets scheduled)", style="yellow")
        self.query_one("#move-line", Label).update(line)
        self.add_class("-moving")
        self.grid.focus()

    def _drop(self, variant: VariantView, day: date) -> None:
        origin = (
            variant.scheduled_at.astimezone(self.app.tz).date() if variant.scheduled_at else None
        )
        if day == origin:
            self.notify(f"variant {variant.id} is already on {day_title(day)}", severity="warning")
            return
        self.call(
            move_to_day,
            self.app.ctx,
            variant.id,
            day,
            self.app.tz,
            done=self._moved,
            # Refused (a past day, a time the clocks skip): say why, and let them pick again.
            failed=self.app.report_error,
        )

    def _moved(self, view: VariantView) -> None:
        self._end_move()
        self.notify(f"variant {view.id} moved to {moment(view.scheduled_at, self.app.tz)}")
        self._cursor_to = str(view.id)
        if view.scheduled_at is not None:
            self.grid.selected = view.scheduled_at.astimezone(self.app.tz).date()
        self.refresh_data()
        # Back on the grid, on the day it moved to: the day keys work again at once (the
        # agenda shows the variant under its cursor).
        self.grid.focus()

    def _end_move(self) -> None:
        self.moving = None
        self.remove_class("-moving")

    # --- filter and escape ----------------------------------------------------------------------

    def action_filter(self) -> None:
        self.query_one("#filters").add_class("-open")
        self.query_one("#search", Input).focus()

    def action_escape(self) -> None:
        filters = self.query_one("#filters")
        if self.moving is not None:
            self._end_move()
            self.notify("move cancelled")
        elif self.focused is not None and filters in self.focused.ancestors:
            # First Escape leaves the filter; it stays on (and visible) if set.
            filters.set_class(self._filtered(), "-open")
            self.grid.focus()
        elif self.focused is self.table:
            self.grid.focus()  # back from the agenda to the days
        elif self._filtered():
            self._clear_filter()

    def _clear_filter(self) -> None:
        self.query_one("#search", Input).value = ""
        for select in self.query("#filters Select").results(Select):
            select.clear()
        self.query_one("#filters").remove_class("-open")
        self._apply_filter()

    def _filtered(self) -> bool:
        return self.flt != VariantFilter()

    @on(Input.Submitted, "#search")
    def _submitted(self) -> None:
        self._apply_filter()
        self.grid.focus()

    @on(Select.Changed, "#filters Select")
    @on(Input.Changed, "#search")
    def _changed(self) -> None:
        self._apply_filter()

    def _apply_filter(self) -> None:
        status = self.query_one("#status", Select).value
        platform = self.query_one("#platform", Select).value
        brand = self.query_one("#brand", Select).value
        search = self.query_one("#search", Input).value.strip()
        flt = VariantFilter(
            statuses=(status,) if isinstance(status, str) else (),
            platforms=(platform,) if isinstance(platform, str) else (),
            brand=brand if isinstance(brand, int) else None,
            search=search or None,
        )
        if flt == self.flt:
            return
        self.flt = flt
        self.table.expect_other_rows()
        self.grid.set_note("· filtered" if self._filtered() else "")
        self.refresh_data()


def legend(width: int) -> Text:
    """The status icons, wrapped by item (never between an icon and its word)."""
    text = Text()
    used = 0
    for status in COUNTED_STATUSES:
        if status == PUBLISHING:
            continue  # seconds long; not worth a place in the legend
        item = f"{STATUS_ICONS[status]} {status}"
        if used and used + 2 + len(item) > width:
            text.append("\n")
            used = 0
        elif used:
            text.append("  ")
            used += 2
        text.append(item, style=STATUS_STYLES[status])
        used += len(item)
    return text
