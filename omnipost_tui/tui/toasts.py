"""Where notifications go: never over the row the user is on, never over the screen's bars.

Textual stacks toasts in the bottom right corner. At 80×24 two of them (the app keeps at most
two) take about a third of the height, so the screen puts them above its bottom bars, or under
its top bar when that would cover the cursor's row: the highlighted row of a table, or the
focused field of a form. The bars are the status bar and the key bar under the navigation bar,
or in the editor its save summary (one or two lines) and the key bar under its heading.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import DataTable

# Lines kept clear until the bars are laid out: a status bar and a key bar, a navigation bar.
BOTTOM_LINES = 2
TOP_LINES = 1


class ToastsOffTheCursor(Widget):
    """For a Screen: keeps its toast rack off the cursor's row and its bars (a mixin, listed
    before the Screen class)."""

    # The screen's bars, as selectors: the toasts stay between them.
    BOTTOM_BARS: ClassVar[str] = "StatusBar, KeyBar"
    TOP_BARS: ClassVar[str] = "NavBar"

    def on_mount(self) -> None:
        for rack in self._toast_rack():
            _place(rack, top=False, clear=(TOP_LINES, BOTTOM_LINES))
        # Toasts come and go, tables scroll, the editor's summary grows to two lines: check
        # after each layout, when their sizes are real.
        self.screen.screen_layout_refresh_signal.subscribe(self, self._keep_toasts_off_the_cursor)

    def on_data_table_row_highlighted(self) -> None:
        self.call_after_refresh(self._keep_toasts_off_the_cursor)

    def on_descendant_focus(self) -> None:
        self.call_after_refresh(self._keep_toasts_off_the_cursor)

    def _toast_rack(self) -> list[Widget]:
        # Textual's own rack, made with the screen, and its Toast children: found by the id and
        # the type name Textual 8.2.8 gives them (not a public API). Re-check when upgrading.
        return list(self.query("#textual-toastrack"))

    def _bar_lines(self) -> tuple[int, int]:
        """How many lines the top bars and the bottom bars take now."""
        height = self.screen.size.height
        top = [bar.region.bottom for bar in self.query(self.TOP_BARS) if bar.region]
        bottom = [bar.region.y for bar in self.query(self.BOTTOM_BARS) if bar.region]
        return max(top, default=TOP_LINES), height - min(bottom, default=height - BOTTOM_LINES)

    def _keep_toasts_off_the_cursor(self, *_: object) -> None:
        """Move the toasts only when they cover the cursor's row where they are and would not
        in the other place (worked out before moving): they never jump back and forth."""
        racks = self._toast_rack()
        toasts = [t.region for t in racks[0].query("Toast") if t.region] if racks else []
        if not toasts or not self.screen.is_current:
            return
        rack = racks[0]
        top_lines, bottom_lines = clear = self._bar_lines()
        x = min(t.x for t in toasts)
        width = max(t.right for t in toasts) - x
        height = max(t.bottom for t in toasts) - min(t.y for t in toasts)
        bottom = Region(x, self.screen.size.height - bottom_lines - height, width, height)
        top = Region(x, top_lines, width, height)
        on_top = rack.has_class("-top")
        here, there = (top, bottom) if on_top else (bottom, top)
        rows = list(self._cursor_rows())
        if any(here.overlaps(row) for row in rows) and not any(there.overlaps(r) for r in rows):
            on_top = not on_top
        _place(rack, top=on_top, clear=clear)

    def _cursor_rows(self) -> Iterable[Region]:
        """Where the user is: each table's highlighted row, and the focused field."""
        for table in self.query(DataTable):
            if not (table.display and table.show_cursor and table.row_count):
                continue
            header = table.header_height if table.show_header else 0
            above = sum(row.height for row in table.ordered_rows[: table.cursor_row])
            y = above - round(table.scroll_y)
            area = table.scrollable_content_region
            if 0 <= y < area.height - header:
                yield Region(area.x, area.y + header + y, area.width, 1)
        focused = self.screen.focused
        if focused is not None and not isinstance(focused, DataTable):
            yield focused.region


def _place(rack: Widget, *, top: bool, clear: tuple[int, int]) -> None:
    """The rack under the top bars or above the bottom bars (``clear``: their lines); styles
    are set only when they change, so placing it again costs no layout."""
    top_lines, bottom_lines = clear
    margin = (top_lines, 0, 0, 0) if top else (0, 0, bottom_lines, 0)
    if rack.has_class("-top") == top and tuple(rack.styles.margin) == margin:
        return
    rack.set_class(top, "-top")
    rack.styles.dock = "top" if top else "bottom"
    rack.styles.align_vertical = "top" if top else "bottom"
    rack.styles.margin = margin
