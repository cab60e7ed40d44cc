"""A DataTable whose rows are keyed by id and refreshed in place."""

from __future__ import annotations

from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, ColumnKey


class KeyedTable(DataTable):
    """Rows keyed by id (a variant, an attempt, an account), shown again on every live update.

    When the same rows come back in the same order only the cells that changed are touched, so
    the cursor and the scroll position stay put while a worker publishes; otherwise the table
    is rebuilt and the screen decides where the cursor goes.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.shown: dict[str, tuple] = {}  # row key -> the cells on screen, for diffing
        self._other_rows_coming = False

    def expect_other_rows(self) -> None:
        """Rows for another filter, page or day are loading: until ``show_rows`` puts them in,
        no row is selected. The old rows stay on screen meanwhile, and a key pressed before
        the new ones land (two keys typed together) must not act on a row the user has left."""
        self._other_rows_coming = True

    @property
    def other_rows_coming(self) -> bool:
        return self._other_rows_coming

    def selected_key(self) -> str:
        """The key of the row an action should act on: "" while other rows are coming."""
        return "" if self._other_rows_coming else self.cursor_key()

    def show_rows(self, rows: dict[str, tuple], *, rebuild: bool = False) -> bool:
        """Show ``rows`` (key -> cells, in column order); True when the table was rebuilt."""
        self._other_rows_coming = False
        if not rebuild and list(rows) == list(self.shown):
            columns = list(self.columns)
            for key, cells in rows.items():
                for column, new, old in zip(columns, cells, self.shown[key], strict=True):
                    if new != old:
                        self.update_cell(key, column, as_text(new))
            self.shown = rows
            return False
        self.clear()
        for key, cells in rows.items():
            self.add_row(*map(as_text, cells), key=key)
        self.shown = rows
        return True

    def update_shown_cell(self, row_key: str, column_key: str, value: object) -> None:
        """Change one cell (a ticking countdown) and remember it, so the next diff is right."""
        cells = self.shown.get(row_key)
        if cells is None:
            return
        index = list(self.columns).index(ColumnKey(column_key))
        if cells[index] != value:
            self.shown[row_key] = (*cells[:index], value, *cells[index + 1 :])
            self.update_cell(row_key, column_key, as_text(value))

    def cursor_key(self) -> str:
        """The key of the row under the cursor, "" when there is none."""
        if self.row_count == 0:
            return ""
        try:
            return str(self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0)).row_key.value)
        except CellDoesNotExist:
            return ""

    def move_to(self, key: str) -> bool:
        """Put the cursor on the row ``key``, if it is shown."""
        if key not in self.shown:
            return False
        self.move_cursor(row=self.get_row_index(key))
        return True

    def show_page(self, rows: dict[str, tuple], cursor_to: str = "") -> None:
        """Show a page of a paged table (``show_rows``). The cursor goes where ``cursor_to``
        says ("first", "last", a row key) even when the page is the one shown already: g and
        G on the only page move it too. Without one, a rebuild keeps it on its row."""
        current, scroll = self.cursor_key(), self.scroll_y
        if self.show_rows(rows) or cursor_to:
            self.place_cursor(cursor_to or current, scroll)

    def place_cursor(self, target: str, scroll_y: float) -> None:
        """The cursor on ``target``: a row key, or "first" / "last" (the page's ends); a row
        still shown keeps its scroll position."""
        if not self.shown:
            return
        if target == "last":
            self.move_cursor(row=len(self.shown) - 1)
        elif target == "first":
            self.move_cursor(row=0)
            self.scroll_home(animate=False)
        elif self.move_to(target):
            self.scroll_y = scroll_y


def as_text(cell: object) -> object:
    """A cell as plain text: DataTable reads a ``str`` cell as Rich markup, so a stored name or
    a platform's error holding ``[/]`` would break the table and ``[b]`` would vanish."""
    return Text(cell, end="") if isinstance(cell, str) else cell
