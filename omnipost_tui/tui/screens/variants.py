"""Variants: every post on every account, in time order, filtered and paged in SQL.

The table holds one page (keyset pagination on scheduled_at, id), so it opens as fast with
100,000 variants as with ten. Live updates re-read the visible page and change only the cells
that differ, keeping the cursor on its row and the scroll where it was.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Label, Select

from omnipost_tui import clock
from omnipost_tui.errors import ValidationError
from omnipost_tui.platforms import LABELS, PLATFORMS, SHORT_LABELS
from omnipost_tui.services.attempts import AttemptFilter
from omnipost_tui.services.brands import list_brands
from omnipost_tui.services.variants import (
    Cursor,
    VariantFilter,
    count_variants,
    cursor_of,
    list_variants,
)
from omnipost_tui.services.views import VariantView
from omnipost_tui.states import RETRYING, VARIANT_STATUSES
from omnipost_tui.text import clip
from omnipost_tui.times import parse_until, parse_when
from omnipost_tui.tui.base import OmniScreen
from omnipost_tui.tui.format import countdown, first_line, fit_line, local, shown, status_text
from omnipost_tui.tui.variant_actions import VariantActions
from omnipost_tui.tui.widgets.flex_table import FlexTable
from omnipost_tui.tui.widgets.updates import update_if_changed

PAGE = 100
# Sorts after every real row: "the end" for paging backwards from the last page.
END = Cursor(None, 2**62)
# (key, header, width). Widths include a one-space gap (the table has no cell padding, which
# would cost two columns per field at 80×24). The text column takes what is left.
COLUMNS = (
    ("id", "ID", 7),
    ("when", "When", 12),
    ("platform", "", 3),
    ("account", "Account", 12),
    ("brand", "Brand", 9),
    ("status", "Status", 14),
    ("tries", "#", 2),
    ("next", "Next", 6),
    ("text", "Text", None),
)


def _width(key: str) -> int:
    return next(width for column, _, width in COLUMNS if column == key) or 0


@dataclass(frozen=True)
class Page:
    rows: list[VariantView]
    anchor: Cursor | None  # the row just before this page (None: first page)
    has_next: bool
    total: int
    offset: int  # rows before this page


def load_page(ctx, flt: VariantFilter, anchor: Cursor | None, *, from_end: bool = False) -> Page:
    """One page in a worker thread: the rows, whether more follow, and where we are."""
    if from_end:
        rows = list_variants(ctx, flt, before=END, limit=PAGE)
        before_first = list_variants(ctx, flt, before=cursor_of(rows[0]), limit=1) if rows else []
        anchor = cursor_of(before_first[0]) if before_first else None
        has_next = False
    else:
        rows = list_variants(ctx, flt, after=anchor, limit=PAGE + 1)
        has_next = len(rows) > PAGE
        rows = rows[:PAGE]
    total = count_variants(ctx, flt)
    if from_end:
        # The last page: what comes before it is the rest (counting them read the whole index).
        offset = total - len(rows)
    else:
        offset = count_variants(ctx, flt, before=cursor_of(rows[0])) if rows else 0
    return Page([shown(v) for v in rows], anchor, has_next, total, offset)


def previous_page_anchor(ctx, flt: VariantFilter, first: Cursor) -> Cursor | None:
    """The anchor of the page that ends just before ``first``."""
    previous = list_variants(ctx, flt, before=first, limit=PAGE + 1)
    return cursor_of(previous[0]) if len(previous) > PAGE else None


class VariantsScreen(VariantActions, OmniScreen):
    MODE = "variants"
    TITLE_TEXT = "Variants"
    CSS_PATH = "variants.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "publish", "Publish", id="variants.publish"),
        Binding("r", "retry", "Retry", id="variants.retry"),
        Binding("e", "edit", "Edit", id="variants.edit"),
        Binding("n", "new", "New", id="variants.new"),
        Binding("u", "unschedule", "Unschedule", id="variants.unschedule"),
        Binding("m", "mark_published", "Mark published", id="variants.mark_published"),
        Binding("c", "check_platform", "Check on platform", id="variants.check", show=False),
        Binding("slash", "filter", "Filter", id="variants.filter"),
        Binding("escape", "clear_filter", "Clear filter", id="variants.clear_filter", show=False),
        Binding(
            "ctrl+f,right_square_bracket",
            "page(1)",
            "Next page",
            id="variants.next_page",
            show=False,
        ),
        Binding(
            "ctrl+b,left_square_bracket",
            "page(-1)",
            "Previous page",
            id="variants.previous_page",
            show=False,
        ),
        Binding("g", "first_page", "First page", id="variants.first_page", show=False),
        Binding("G", "last_page", "Last page", id="variants.last_page", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.flt = VariantFilter()
        self.page: Page | None = None

    def compose_body(self) -> ComposeResult:
        with Vertical(id="filters"):
            with Horizontal(classes="filter-row"):
                yield Input(placeholder="search title or text", id="search", compact=True)
                yield Select(
                    [(s, s) for s in VARIANT_STATUSES],
                    prompt="any status",
                    id="status",
                    compact=True,
                )
                yield Select(
                    [(LABELS[p], p) for p in PLATFORMS],
                    prompt="any platform",
                    id="platform",
                    compact=True,
                )
            with Horizontal(classes="filter-row"):
                yield Select([], prompt="any brand", id="brand", compact=True)
                yield Input(placeholder="from (e.g. 2026-12-01)", id="from", compact=True)
                yield Input(placeholder="to (e.g. +7d)", id="to", compact=True)
            yield Label("", id="filter-error").set_styles("display: none;")
        yield Label("", id="position")
        yield FlexTable(
            {"text": (10, 1)}, id="variants", cursor_type="row", zebra_stripes=True, cell_padding=0
        )

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label, width in COLUMNS:
            table.add_column(label, key=key, width=width or 20)
        self.query_one(DataTable).focus()
        self.set_interval(1.0, self._tick_countdowns)
        self.call(list_brands, self.app.ctx, done=self._set_brands, group="brands")

    def _set_brands(self, brands) -> None:
        self.query_one("#brand", Select).set_options([(shown(b).name, b.id) for b in brands])

    # --- loading ----------------------------------------------------------------------------

    def refresh_data(self) -> None:
        wanted = self.app.take_filter(self.MODE)
        if isinstance(wanted, VariantFilter):
            self.show_filter(wanted)  # asked by another screen
            return
        anchor = self.page.anchor if self.page else None
        self._load(anchor, same_rows=True)

    def _load(
        self,
        anchor: Cursor | None,
        *,
        from_end: bool = False,
        cursor_to: str = "",
        same_rows: bool = False,
    ) -> None:
        """Load a page; unless it is the shown one again (``same_rows``: a live update), no
        variant is selected until it lands."""
        if not same_rows:
            self.query_one(FlexTable).expect_other_rows()
        self.call(
            partial(load_page, from_end=from_end),
            self.app.ctx,
            self.flt,
            anchor,
            done=lambda page: self._show(page, cursor_to),
            group="load",
            exclusive=True,
        )

    def _show(self, page: Page, cursor_to: str = "") -> None:
        """Put a page in the table: cell updates only when the rows are the same ones."""
        self.page = page
        table = self.query_one(FlexTable)
        now = clock.now()
        rows = {str(v.id): self._cells_of(v, now) for v in page.rows}
        self._views = {str(v.id): v for v in page.rows}
        with self.app.batch_update():
            table.show_page(rows, cursor_to)
        table.fit_columns()
        self._show_position()
        self.selection_changed()

    def _cells_of(self, v: VariantView, now: datetime) -> tuple:
        tz = self.app.tz
        next_attempt = countdown(v.next_attempt_at, now) if v.status == RETRYING else ""
        return (
            Text(str(v.id), style="dim"),
            local(v.scheduled_at, tz, "%m-%d %H:%M"),
            SHORT_LABELS.get(v.platform, v.platform),
            clip(v.account_name, _width("account") - 1),
            clip(v.brand_name, _width("brand") - 1),
            status_text(v.status),
            str(v.attempts) if v.attempts else "",
            next_attempt,
            first_line(v.text),
        )

    def _show_position(self) -> None:
        page = self.page
        if page is None:
            return
        width = self.size.width - 2  # the label's padding
        filtered = [("  ", "(filtered — Esc clears)")] if self._filtered() else []
        if not page.rows:
            what = "no variants match the filter" if self._filtered() else "no variants yet"
            line = fit_line(width, what, *filtered, (" — ", "n: new post"))
        else:
            first = page.offset + 1
            last = page.offset + len(page.rows)
            line = fit_line(
                width,
                f"{first:,}–{last:,} of {page.total:,} variants",
                *filtered,
                ("   ", "[ ] pages"),
                (" · ", "/ filter"),
                (" · ", "Enter attempts"),
            )
        update_if_changed(self.query_one("#position", Label), line)

    def on_resize(self) -> None:
        self._show_position()

    def _tick_countdowns(self) -> None:
        """Retry countdowns move every second; only those cells are touched."""
        if self.page is None:
            return
        table = self.query_one(FlexTable)
        now = clock.now()
        for view in self.page.rows:
            if view.status == RETRYING:
                table.update_shown_cell(str(view.id), "next", countdown(view.next_attempt_at, now))

    # --- paging -----------------------------------------------------------------------------

    def on_key(self, event) -> None:
        table = self.query_one(DataTable)
        if not table.has_focus or self.page is None:
            return
        last = table.row_count - 1
        if (
            event.key in ("down", "pagedown", "j")
            and table.cursor_row >= last
            and self.page.has_next
        ):
            event.stop()
            self.action_page(1)
        elif event.key in ("up", "pageup", "k") and table.cursor_row <= 0 and self.page.anchor:
            event.stop()
            self.action_page(-1, cursor_to="last")

    def action_page(self, direction: int, cursor_to: str = "") -> None:
        page = self.page
        if page is None or not page.rows:
            return
        if direction > 0:
            if page.has_next:
                self._load(cursor_of(page.rows[-1]), cursor_to=cursor_to or "first")
        elif page.anchor is not None:
            first = cursor_of(page.rows[0])
            self.query_one(FlexTable).expect_other_rows()
            self.call(
                previous_page_anchor,
                self.app.ctx,
                self.flt,
                first,
                done=lambda anchor: self._load(anchor, cursor_to=cursor_to or "first"),
                group="load",
                exclusive=True,
            )

    def action_first_page(self) -> None:
        self._load(None, cursor_to="first")

    def action_last_page(self) -> None:
        self._load(None, from_end=True, cursor_to="last")

    # --- filters ----------------------------------------------------------------------------

    def action_filter(self) -> None:
        self.query_one("#filters").add_class("-open")
        self.query_one("#search", Input).focus()

    def action_clear_filter(self) -> None:
        """Esc clears the filter at once, from the fields or from the table, as the header says
        ("filtered — Esc clears"). Enter in a field keeps the filter and goes to the table."""
        filters = self.query_one("#filters")
        for widget in self.query("#filters Input").results(Input):
            widget.value = ""
        for select in self.query("#filters Select").results(Select):
            select.clear()
        self._apply_filter()
        filters.remove_class("-open")
        self.query_one(DataTable).focus()

    def _filtered(self) -> bool:
        return self.flt != VariantFilter()

    @on(Input.Submitted, "#filters Input")
    def _submitted(self) -> None:
        self._apply_filter()
        self.query_one(DataTable).focus()

    @on(Select.Changed, "#filters Select")
    @on(Input.Changed, "#search")
    def _changed(self) -> None:
        self._apply_filter()

    def _apply_filter(self) -> None:
        error = self.query_one("#filter-error", Label)
        tz, now = self.app.tz, clock.now()
        try:
            start = self.query_one("#from", Input).value.strip()
            end = self.query_one("#to", Input).value.strip()
            date_from = parse_when(start, tz, now) if start else None
            date_to = parse_until(end, tz, now) if end else None
        except ValidationError as exc:
            error.update(Text(exc.message))
            error.display = True
            return
        error.update("")
        error.display = False  # takes no line of the narrow screen while there is nothing to say
        status = self.query_one("#status", Select).value
        platform = self.query_one("#platform", Select).value
        brand = self.query_one("#brand", Select).value
        search = self.query_one("#search", Input).value.strip()
        self.flt = VariantFilter(
            statuses=(status,) if isinstance(status, str) else (),
            platforms=(platform,) if isinstance(platform, str) else (),
            brand=brand if isinstance(brand, int) else None,
            search=search or None,
            date_from=date_from,
            date_to=date_to,
        )
        self._load(None, cursor_to="first")

    def show_filter(self, flt: VariantFilter) -> None:
        """Open with a filter set by another screen (e.g. the status bar's failed count)."""
        self.flt = replace(flt)
        self._load(None, cursor_to="first")

    # --- actions on the selected variant ------------------------------------------------------

    def selected(self) -> VariantView | None:
        key = self.selected_key(self.query_one(FlexTable))
        return getattr(self, "_views", {}).get(key)

    @on(DataTable.RowSelected, "#variants")
    def _open_attempts(self) -> None:
        variant = self.selected()  # not the event's row: it may be one of the rows replaced
        if variant is not None:
            self.app.show_filtered("attempts", AttemptFilter(variant=variant.id))
