"""What every OmniPost screen shares: the frame (nav bar, alert line, status bar, footer) and
the one way to call the service layer without blocking the UI."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.geometry import Region
from textual.screen import Screen
from textual.widgets import DataTable
from textual.worker import Worker, get_current_worker

from omnipost_tui.tui.widgets.frame import AlertLine, KeyBar, NavBar, StatusBar

if TYPE_CHECKING:
    from omnipost_tui.tui.app import OmniPostApp


class ServiceCalls:
    """Run service calls in thread workers; results come back on the UI thread.

    This is the one place that turns a failed call into a visible error (``report_error``),
    so no screen writes its own try/except around the database.
    """

    app: OmniPostApp

    def call(
        self,
        fn: Callable[..., Any],
        *args: Any,
        done: Callable[[Any], None] | None = None,
        group: str = "default",
        exclusive: bool = False,
        failed: Callable[[BaseException], None] | None = None,
    ) -> Worker:
        app = self.app

        def job() -> None:
            worker = get_current_worker()
            try:
                result = fn(*args)
            except Exception as exc:
                if not worker.is_cancelled:
                    app.call_from_thread(failed or app.report_error, exc)
                return
            # A newer exclusive load replaced this one: its result is stale.
            if done is not None and not worker.is_cancelled:
                app.call_from_thread(done, result)

        return self.run_worker(  # type: ignore[attr-defined]
            job, thread=True, group=group, exclusive=exclusive, exit_on_error=False
        )


class OmniScreen(ServiceCalls, Screen):
    """A top-level screen: nav bar, optional alert line, the body, status bar, footer."""

    MODE: ClassVar[str] = ""
    TITLE_TEXT: ClassVar[str] = ""
    # Which alert kinds this screen answers: showing it counts as "looked at".
    ACKNOWLEDGES: ClassVar[tuple[str, ...]] = ()

    def compose(self) -> ComposeResult:
        yield NavBar(self.MODE)
        yield AlertLine()
        yield from self.compose_body()
        yield StatusBar()
        yield KeyBar()

    def compose_body(self) -> Iterable:
        return ()

    def on_mount(self) -> None:
        # Toasts come and go, tables scroll and the cursor moves: each time, check where the
        # toasts are (after layout, so their real size counts).
        self.screen_layout_refresh_signal.subscribe(self, self._keep_toasts_off_the_cursor)

    def on_data_table_row_highlighted(self) -> None:
        self.call_after_refresh(self._keep_toasts_off_the_cursor)

    def _keep_toasts_off_the_cursor(self, *_: object) -> None:
        """Notifications sit above the status bar, or under the navigation bar when that would
        cover the cursor's row. They move only when they cover it where they are and would not
        in the other place (worked out before moving): no jumping back and forth."""
        racks = self.query("#textual-toastrack")  # Textual's own, mounted with the screen
        toasts = [t.region for t in racks.first().query("Toast") if t.region] if racks else []
        if not toasts or not self.is_current:
            return
        rack = racks.first()
        x = min(t.x for t in toasts)
        width = max(t.right for t in toasts) - x
        height = max(t.bottom for t in toasts) - min(t.y for t in toasts)
        above_status = Region(x, self.query_one(StatusBar).region.y - height, width, height)
        under_nav = Region(x, self.query_one(NavBar).region.bottom, width, height)
        on_top = rack.has_class("-top")
        here, there = (under_nav, above_status) if on_top else (above_status, under_nav)
        rows = list(self._cursor_rows())
        if any(here.overlaps(row) for row in rows) and not any(there.overlaps(r) for r in rows):
            rack.set_class(not on_top, "-top")

    def _cursor_rows(self) -> Iterable[Region]:
        """Where the highlighted row of each table on this screen is drawn right now."""
        for table in self.query(DataTable):
            if not (table.display and table.show_cursor and table.row_count):
                continue
            header = table.header_height if table.show_header else 0
            above = sum(row.height for row in table.ordered_rows[: table.cursor_row])
            y = above - round(table.scroll_y)
            if 0 <= y < table.scrollable_content_region.height - header:
                area = table.scrollable_content_region
                yield Region(area.x, area.y + header + y, area.width, 1)

    def on_screen_resume(self) -> None:
        if self.ACKNOWLEDGES:
            self.app.acknowledge_alerts(self.ACKNOWLEDGES)
        self.refresh_data()

    def refresh_data(self) -> None:
        """Reload what the screen shows (called on show and when the database changed)."""

    def palette_commands(self) -> Iterable[tuple[str, str, Callable[[], Any]]]:
        """(title, help, callback) for this screen's actions in the command palette."""
        for binding in self._bindings.key_to_bindings.values():
            for item in binding:
                if item.show and item.description:
                    yield (
                        item.description,
                        f"{self.TITLE_TEXT}: press {item.key_display or item.key}",
                        lambda action=item.action: self.run_action(action),
                    )
