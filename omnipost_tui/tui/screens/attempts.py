"""Attempts: the evidence of every publication try, newest first, with the exchange itself.

The table holds one page (keyset pagination on the attempt id), so it opens as fast with
100,000 attempts as with ten. Live updates re-read the visible page and change only the cells
that differ; the detail pane below (beside, on wide terminals) shows the highlighted attempt's
redacted request and the platform's raw answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import ClassVar, TypedDict

from rich.console import Group, RenderableType
from rich.rule import Rule
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Input, Label, Select, Static

from omnipost_tui.errors import OmniPostError
from omnipost_tui.platforms import LABELS
from omnipost_tui.services.attempts import RESULTS, AttemptFilter, count_attempts, list_attempts
from omnipost_tui.services.media import human_size
from omnipost_tui.services.variants import VariantFilter, get_variant
from omnipost_tui.services.views import AttemptView, VariantView
from omnipost_tui.times import format_local
from omnipost_tui.tui.base import OmniScreen
from omnipost_tui.tui.format import fit_line, local, pretty_json, result_text, shown, took
from omnipost_tui.tui.variant_actions import VariantActions
from omnipost_tui.tui.widgets.flex_table import FlexTable
from omnipost_tui.tui.widgets.updates import update_if_changed

PAGE = 100
# Wide enough for the table (80 columns) and a readable detail pane beside it.
WIDE = 150
# (key, header, width). Widths include a one-space gap (no cell padding, as on the variants
# screen); the error and external id columns share what is left.
COLUMNS = (
    ("id", "ID", 6),
    ("variant", "Var", 5),
    ("no", "#", 3),
    ("started", "Started", 15),
    ("took", "Took", 5),
    ("result", "Result", 12),
    ("http", "HTTP", 5),
    ("error", "Error", None),
    ("external", "External id", None),
)
FLEX = {"error": (14, 2), "external": (10, 1)}


@dataclass(frozen=True)
class Page:
    rows: list[AttemptView]
    anchor: int | None  # id of the row just newer than this page (None: the first page)
    has_next: bool
    total: int
    offset: int  # rows before this page


class Match(TypedDict):
    """The filter as the attempt services' keywords."""

    variant: int | None
    result: str | None


def load_page(ctx, flt: AttemptFilter, anchor: int | None, *, from_end: bool = False) -> Page:
    """One page in a worker thread: the rows, whether older ones follow, and where we are."""
    match = Match(variant=flt.variant, result=flt.result)
    if from_end:
        rows = list_attempts(ctx, **match, after_id=0, limit=PAGE)
        newer = list_attempts(ctx, **match, after_id=rows[0].id, limit=1) if rows else []
        anchor = newer[0].id if newer else None
        has_next = False
    else:
        rows = list_attempts(ctx, **match, before_id=anchor, limit=PAGE + 1)
        has_next = len(rows) > PAGE
        rows = rows[:PAGE]
    total = count_attempts(ctx, **match)
    offset = count_attempts(ctx, **match, newer_than=rows[0].id) if rows else 0
    return Page([shown(a) for a in rows], anchor, has_next, total, offset)


def previous_page_anchor(ctx, flt: AttemptFilter, first_id: int) -> int | None:
    """The anchor of the page that ends just before (newer than) the row ``first_id``."""
    newer = list_attempts(
        ctx, variant=flt.variant, result=flt.result, after_id=first_id, limit=PAGE + 1
    )
    return newer[0].id if len(newer) > PAGE else None


def sent_text(a: AttemptView, tz) -> str | Text:
    """When the request left; an attempt that ended without sending never reached the platform."""
    if a.sent_at is not None:
        return format_local(a.sent_at, tz, seconds=True)
    if a.finished_at is not None:
        return Text("never (the request did not leave)", style="dim")
    return Text("not yet", style="dim")


def upload_steps(summary: str | None) -> Text | None:
    """One line per image of the attempt: uploaded (its media id), reused, or what failed."""
    try:
        data = json.loads(summary) if summary else None
    except ValueError:
        return None
    steps = data.get("uploads") if isinstance(data, dict) else None
    if not isinstance(steps, list) or not steps:
        return None
    text = Text()
    for step in steps:
        if not isinstance(step, dict):
            continue
        if text:
            text.append("\n")
        text.append(f"{step.get('step', 'upload')}: ", style="bold")
        size = step.get("size")
        text.append(
            f"{step.get('file', '?')}, {human_size(size) if isinstance(size, int) else '?'}"
        )
        text.append(f", sha256 {str(step.get('sha256', ''))[:12]}…", style="dim")
        if step.get("error"):
            text.append(f" → {step['error']}", style="red")
        elif step.get("reused"):
            text.append(f" → {step.get('media_id')} (uploaded earlier, reused)")
        else:
            text.append(f" → {step.get('media_id')}")
    text.append("\nthen the create call below", style="dim")
    return text


READ_BACK_STYLES = {"found": "green", "absent": "yellow", "error": "yellow", "unavailable": "red"}


def read_back_steps(a: AttemptView, tz) -> Text | None:
    """One line per read of the platform that looked for this attempt's post."""
    if not a.read_back:
        return None
    text = Text()
    for step in a.read_back:
        if text:
            text.append("\n")
        try:
            at = format_local(datetime.fromisoformat(str(step.get("at"))), tz, seconds=True)
        except ValueError:
            at = "?"
        outcome = str(step.get("outcome", "?"))
        text.append(f"{at} ", style="dim")
        text.append(f"{outcome}", style=f"bold {READ_BACK_STYLES.get(outcome, '')}")
        text.append(f" ({step.get('by', '?')}): ", style="dim")
        # Text, not markup: the detail may quote the platform.
        text.append(str(step.get("detail", "")))
    return text


def attempt_detail(a: AttemptView, tz) -> RenderableType:
    """Every field of one attempt, then the request and the answer, pretty-printed."""
    fields = Table.grid(padding=(0, 1))
    fields.add_column(style="bold", no_wrap=True)
    fields.add_column(overflow="fold")
    platform = LABELS.get(a.platform, a.platform)
    fields.add_row(
        "attempt",
        Text.assemble(
            (f"{a.id}", "bold"),
            f" · #{a.attempt_no} of variant {a.variant_id} · {platform} · {a.account_name}",
        ),
    )
    outcome = result_text(a.result)
    if a.http_status is not None:
        outcome.append(f"  HTTP {a.http_status}", style="")
    if a.duration_seconds is not None:
        outcome.append(f"  took {took(a.duration_seconds)}", style="")
    fields.add_row("result", outcome)
    fields.add_row("started", format_local(a.started_at, tz, seconds=True))
    fields.add_row("sent", sent_text(a, tz))
    fields.add_row("finished", format_local(a.finished_at, tz, seconds=True))
    if a.error_code or a.error_message or a.error_class:
        what = f" ({a.error_class})" if a.error_class else ""
        fields.add_row("error", Text(f"{a.error_summary}{what}", style="red"))
    # Text, not str: Rich would read a platform's "[/]" as markup.
    fields.add_row(
        "post id", Text(a.external_post_id or "—", style="" if a.external_post_id else "dim")
    )
    fields.add_row("worker", Text(a.worker or "—", style="" if a.worker else "dim"))
    steps = upload_steps(a.request_summary)
    reads = read_back_steps(a, tz)
    return Group(
        fields,
        *((Rule("images", style="dim", align="left"), steps) if steps is not None else ()),
        *((Rule("read back", style="dim", align="left"), reads) if reads is not None else ()),
        Rule("request (redacted)", style="dim", align="left"),
        pretty_json(a.request_summary),
        Rule("raw response", style="dim", align="left"),
        pretty_json(a.raw_response),
    )


class AttemptsScreen(VariantActions, OmniScreen):
    MODE = "attempts"
    TITLE_TEXT = "Attempts"
    CSS_PATH = "attempts.tcss"
    ACKNOWLEDGES = ("repeated_failures",)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "publish", "Publish now", id="attempts.publish"),
        Binding("r", "retry", "Retry", id="attempts.retry"),
        Binding("e", "edit", "Edit", id="attempts.edit"),
        Binding("u", "unschedule", "Unschedule", id="attempts.unschedule", show=False),
        Binding("n", "new", "New post", id="attempts.new", show=False),
        Binding("m", "mark_published", "Mark published", id="attempts.mark_published", show=False),
        Binding("c", "check_platform", "Check on platform", id="attempts.check", show=False),
        Binding("v", "show_variant", "Show variant", id="attempts.variant", show=False),
        Binding("d", "toggle_detail", "Detail", id="attempts.detail"),
        Binding("slash", "filter", "Filter", id="attempts.filter"),
        Binding("escape", "clear_filter", "Clear filter", id="attempts.clear_filter", show=False),
        Binding(
            "ctrl+f,right_square_bracket",
            "page(1)",
            "Older page",
            id="attempts.next_page",
            show=False,
        ),
        Binding(
            "ctrl+b,left_square_bracket",
            "page(-1)",
            "Newer page",
            id="attempts.previous_page",
            show=False,
        ),
        Binding("g", "first_page", "Newest", id="attempts.first_page", show=False),
        Binding("G", "last_page", "Oldest", id="attempts.last_page", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.flt = AttemptFilter()
        self.page: Page | None = None
        self._views: dict[str, AttemptView] = {}
        self._shown: AttemptView | None = None  # what the detail pane shows
        self._acting_on: VariantView | None = None

    def compose_body(self) -> ComposeResult:
        with Vertical(id="filters"):
            with Horizontal(classes="filter-row"):
                yield Label("variant", classes="filter-label")
                yield Input(placeholder="id, e.g. 12", id="variant", compact=True)
                yield Label("result", classes="filter-label")
                yield Select(
                    [(r, r) for r in RESULTS], prompt="any result", id="result", compact=True
                )
            yield Label("", id="filter-error").set_styles("display: none;")
        yield Label("", id="position")
        with Horizontal(id="panes"):
            yield FlexTable(
                FLEX, id="attempts", cursor_type="row", zebra_stripes=True, cell_padding=0
            )
            with VerticalScroll(id="detail"):
                yield Static(Text("no attempt selected", style="dim"), id="detail-body")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label, width in COLUMNS:
            table.add_column(label, key=key, width=width or FLEX[key][0])
        table.focus()
        self.call_after_refresh(self._fit_layout)

    def on_resize(self) -> None:
        self._fit_layout()
        self._show_position()

    def _fit_layout(self) -> None:
        self.query_one("#panes").set_class(self.size.width >= WIDE, "-wide")

    # --- loading ----------------------------------------------------------------------------

    def refresh_data(self) -> None:
        wanted = self.app.take_filter(self.MODE)
        if isinstance(wanted, AttemptFilter):
            # Asked by another screen (Enter on a variant): shown once, then the user's own.
            self._set_filter_fields(wanted)
            self.flt = wanted
            self._load(None, cursor_to="first")
            return
        anchor = self.page.anchor if self.page else None
        self._load(anchor, same_rows=True)

    def _load(
        self,
        anchor: int | None,
        *,
        from_end: bool = False,
        cursor_to: str = "",
        same_rows: bool = False,
    ) -> None:
        """Load a page; unless it is the shown one again (``same_rows``: a live update), no
        attempt is selected until it lands."""
        if not same_rows:
            self.query_one(FlexTable).expect_other_rows()
        self.call(
            partial(load_page, from_end=from_end),
            self.app.ctx,
            self.flt,
            anchor,
            done=lambda page: self._show(page, cursor_to),
            failed=self._load_failed,
            group="load",
            exclusive=True,
        )

    def _load_failed(self, exc: BaseException) -> None:
        if isinstance(exc, OmniPostError) and self._filtered():
            # e.g. a variant id that does not exist: said next to the field, not as a toast.
            self.query_one("#filters").add_class("-open")
            self._filter_error(exc.message)
            self._show(Page([], None, False, 0, 0))
        else:
            self.app.report_error(exc)

    def _show(self, page: Page, cursor_to: str = "") -> None:
        """Put a page in the table: cell updates only when the rows are the same ones."""
        self.page = page
        table = self.query_one(FlexTable)
        rows = {str(a.id): self._cells_of(a) for a in page.rows}
        self._views = {str(a.id): a for a in page.rows}
        with self.app.batch_update():
            table.show_page(rows, cursor_to)
        table.fit_columns()
        self._show_position()
        self._show_detail()

    def _cells_of(self, a: AttemptView) -> tuple:
        return (
            Text(str(a.id), style="dim"),
            str(a.variant_id),
            str(a.attempt_no),
            local(a.started_at, self.app.tz, "%m-%d %H:%M:%S"),
            took(a.duration_seconds),
            result_text(a.result),
            str(a.http_status) if a.http_status is not None else "",
            Text(a.error_summary, style="red" if a.result == "fail" else ""),
            a.external_post_id or "",
        )

    def _show_position(self) -> None:
        page = self.page
        label = self.query_one("#position", Label)
        if page is None:
            return
        width = self.size.width - 2  # the label's padding
        filtered = [("  ", "(filtered — Esc clears)")] if self._filtered() else []
        if not page.rows:
            what = "no attempts match the filter" if self._filtered() else "no attempts yet"
            update_if_changed(label, fit_line(width, what, *filtered))
            return
        first = page.offset + 1
        last = page.offset + len(page.rows)
        noun = "attempt" if page.total == 1 else "attempts"
        update_if_changed(
            label,
            fit_line(
                width,
                f"{first:,}–{last:,} of {page.total:,} {noun}",
                (", ", "newest first"),
                *filtered,
                ("   ", "[ ] pages"),
                (" · ", "/ filter"),
                (" · ", "d detail"),
            ),
        )

    # --- the detail pane ----------------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#attempts")
    def _highlighted(self) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        """Re-render only when the highlighted attempt (or its content) changed: keeps scroll."""
        attempt = self.selected_attempt()
        if attempt == self._shown:
            return
        moved = self._shown is None or attempt is None or attempt.id != self._shown.id
        self._shown = attempt
        body = self.query_one("#detail-body", Static)
        if attempt is None:
            body.update(Text("no attempt selected", style="dim"))
        else:
            body.update(attempt_detail(attempt, self.app.tz))
        if moved:
            self.query_one("#detail", VerticalScroll).scroll_home(animate=False)

    def action_toggle_detail(self) -> None:
        full = not self.has_class("-full-detail")
        self.set_class(full, "-full-detail")
        if full:
            self.query_one("#detail", VerticalScroll).focus()
        else:
            self.query_one(DataTable).focus()

    @on(DataTable.RowSelected, "#attempts")
    def _selected_row(self) -> None:
        self.action_toggle_detail()

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
                self._load(page.rows[-1].id, cursor_to=cursor_to or "first")
        elif page.anchor is not None:
            self.query_one(FlexTable).expect_other_rows()
            self.call(
                previous_page_anchor,
                self.app.ctx,
                self.flt,
                page.rows[0].id,
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
        if self.has_class("-full-detail"):
            self.action_toggle_detail()
        self.query_one("#filters").add_class("-open")
        self.query_one("#variant", Input).focus()

    def action_clear_filter(self) -> None:
        if self.has_class("-full-detail"):
            self.action_toggle_detail()
            return
        filters = self.query_one("#filters")
        if self.focused is not None and filters in self.focused.ancestors:
            # First Escape leaves the filter fields; the filter stays on (and visible) if set.
            filters.set_class(self._filtered(), "-open")
            self.query_one(DataTable).focus()
            return
        self._set_filter_fields(AttemptFilter())
        self._filter_error("")
        filters.remove_class("-open")
        if self._filtered():
            self.flt = AttemptFilter()
            self._load(None, cursor_to="first")
        self.query_one(DataTable).focus()

    def _set_filter_fields(self, flt: AttemptFilter) -> None:
        with self.prevent(Input.Changed, Select.Changed):
            self.query_one("#variant", Input).value = str(flt.variant or "")
            select = self.query_one("#result", Select)
            if flt.result is None:
                select.clear()
            else:
                select.value = flt.result
        self.query_one("#filters").set_class(flt != AttemptFilter(), "-open")
        self._filter_error("")

    def _filtered(self) -> bool:
        return self.flt != AttemptFilter()

    def _filter_error(self, message: str) -> None:
        label = self.query_one("#filter-error", Label)
        label.update(Text(message))
        label.display = bool(message)

    @on(Input.Submitted, "#variant")
    def _submitted(self) -> None:
        if self._apply_filter():
            self.query_one(DataTable).focus()

    @on(Select.Changed, "#result")
    @on(Input.Changed, "#variant")
    def _changed(self) -> None:
        self._apply_filter()

    def _apply_filter(self) -> bool:
        """Read the filter fields; False (and the reason beside them) when they are not valid."""
        text = self.query_one("#variant", Input).value.strip()
        if text and not (text.isdigit() and int(text) > 0):
            self._filter_error(f"variant id must be a number, not {text!r}")
            return False
        self._filter_error("")
        result = self.query_one("#result", Select).value
        flt = AttemptFilter(
            variant=int(text) if text else None,
            result=result if isinstance(result, str) else None,
        )
        if flt != self.flt:
            self.flt = flt
            self._load(None, cursor_to="first")
        return True

    # --- acting on the attempt's variant --------------------------------------------------------

    def selected_attempt(self) -> AttemptView | None:
        return self._views.get(self.selected_key(self.query_one(FlexTable)))

    # Publishing, retrying, editing and marking published act on the attempt's variant, exactly
    # as on the variants screen (VariantActions); the variant is read fresh first, since its
    # status has usually moved on since this attempt.

    def selected(self) -> VariantView | None:
        """The variant being acted on (VariantActions asks while an action starts)."""
        return self._acting_on

    def allows_action(self, action: str) -> bool:
        # The variant is read when a key is pressed (its status has usually moved on since
        # this attempt), so nothing is greyed out beforehand; a refused action says why.
        return True

    def _with_variant(self, then: Callable[[], None]) -> None:
        attempt = self.selected_attempt()
        if attempt is None:
            self.notify("no attempt selected", severity="warning")
            return

        def loaded(variant: VariantView) -> None:
            self._acting_on = shown(variant)  # named in the dialogs
            try:
                then()
            finally:
                self._acting_on = None

        self.call(get_variant, self.app.ctx, attempt.variant_id, done=loaded, group="variant")

    def action_publish(self) -> None:
        self._with_variant(super().action_publish)

    def action_retry(self) -> None:
        self._with_variant(super().action_retry)

    def action_edit(self) -> None:
        self._with_variant(super().action_edit)

    def action_unschedule(self) -> None:
        self._with_variant(super().action_unschedule)

    def action_mark_published(self) -> None:
        self._with_variant(super().action_mark_published)

    def action_check_platform(self) -> None:
        self._with_variant(super().action_check_platform)

    def action_show_variant(self) -> None:
        self._with_variant(self._show_variant)

    def _show_variant(self) -> None:
        """The variants screen, narrowed to the variants of this attempt's post."""
        variant = self._acting_on
        assert variant is not None
        self.app.show_filtered("variants", VariantFilter(post=variant.post_id))
        self.notify(f"variants of post {variant.post_id} ({variant.post_title})")
