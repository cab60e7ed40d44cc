"""A selection list whose ticks read ``[x]`` and ``[ ]``.

Textual's SelectionList draws every option with the same ``▐X▌`` glyphs and tells ticked from
not by colour alone, which a 16-colour terminal (or a screen reader of the text) cannot see:
the same problem the editor's account boxes had (IncludeBox).
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widgets import OptionList, SelectionList
from textual.widgets.option_list import OptionDoesNotExist


class TickList(SelectionList[str]):
    def render_line(self, y: int) -> Strip:
        # The option as OptionList draws it, then the tick as characters. "[x] " is as wide as
        # the "▐X▌ " SelectionList reserves for its button, so clicks still land on the option.
        line = OptionList.render_line(self, y)
        index = self.scroll_offset.y + y
        try:
            option = self.get_option_at_index(index)
        except OptionDoesNotExist:
            return line
        mark = "[x] " if option.value in self.selected else "[ ] "
        first = next(iter(line), None)
        style = (first.style if first is not None else None) or self.rich_style
        return Strip([Segment(mark, style=style + Style(meta={"option": index})), *line])
