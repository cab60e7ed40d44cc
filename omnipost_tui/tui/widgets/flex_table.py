"""A DataTable that gives its flexible columns the width the fixed ones leave."""

from __future__ import annotations

from textual.widgets.data_table import ColumnKey

from omnipost_tui.tui.widgets.keyed_table import KeyedTable


class FlexTable(KeyedTable):
    """A keyed table whose flexible columns share the width the fixed ones leave.

    ``flex`` maps a column key to (minimum width, share); refitted whenever the table is
    resized (screen size, wide layout, detail pane) or its rows change (the scrollbar).
    """

    def __init__(self, flex: dict[str, tuple[int, int]], **kwargs) -> None:
        super().__init__(**kwargs)
        self.flex = flex

    def on_resize(self) -> None:
        self.fit_columns()

    def fit_columns(self) -> None:
        fixed = sum(c.width for key, c in self.columns.items() if key.value not in self.flex)
        # The vertical scrollbar takes two columns when the rows do not fit.
        scrollbar = 2 if self.row_count + 1 > self.size.height else 0
        minimum = sum(low for low, _ in self.flex.values())
        rest = max(self.size.width - fixed - scrollbar, minimum)
        shares = sum(share for _, share in self.flex.values())
        changed = False
        keys = list(self.flex)
        for index, key in enumerate(keys):
            low, share = self.flex[key]
            if index == len(keys) - 1:  # the last one takes the rounding
                width = max(low, rest)
            else:
                width = max(low, rest * share // shares)
                rest -= width
                shares -= share
            column = self.columns.get(ColumnKey(key))
            if column is not None and column.width != width:
                column.width = width
                column.auto_width = False
                changed = True
        if changed:
            self.refresh()
