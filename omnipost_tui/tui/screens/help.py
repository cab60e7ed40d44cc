"""Every key on every screen, generated from the bindings themselves so it cannot go stale."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

INTRO = (
    "OmniPost schedules posts to Facebook Pages and LinkedIn. `omnipost worker` (in another "
    "terminal, or under systemd) publishes them on time; this screen updates live.\n"
    "Keys can be changed in config.toml under [keymap], using the ids below, e.g.\n"
    '    [keymap]\n    variants.publish = "ctrl+o"\n'
    "Ctrl+P opens the command palette: every action, searchable. Esc closes this help."
)


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 100; max-width: 100%; height: 100%; max-height: 100%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "close", "Close", id="help.close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text(INTRO))
            yield Static(self._table())

    def rows(self) -> list[tuple[str, str, str, str]]:
        """(where, keys, what it does, binding id) for every described binding."""
        from omnipost_tui.tui.app import OmniPostApp
        from omnipost_tui.tui.screens.confirm import ConfirmScreen
        from omnipost_tui.tui.screens.connect import ConnectScreen
        from omnipost_tui.tui.screens.editor import EditorScreen
        from omnipost_tui.tui.widgets.images import AltInput, ImageList
        from omnipost_tui.tui.widgets.path_input import PathInput

        keymap = dict(getattr(self.app, "_keymap", {}))
        sections: list[tuple[str, list[BindingType]]] = [("everywhere", OmniPostApp.BINDINGS)]
        sections += [(mode, screen.BINDINGS) for mode, screen in OmniPostApp.MODES.items()]
        sections += [
            ("editor", EditorScreen.BINDINGS),
            ("editor images", [*PathInput.BINDINGS, *ImageList.BINDINGS, *AltInput.BINDINGS]),
            ("connect", ConnectScreen.BINDINGS),
            ("confirm", ConfirmScreen.BINDINGS),
        ]
        rows = []
        for where, bindings in sections:
            for binding in bindings:
                if not isinstance(binding, Binding) or not binding.description:
                    continue
                if where != "everywhere" and (binding.id or "").startswith(("screen.", "app.")):
                    continue  # a screen re-binding a global key (the editor) is not a new key
                keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
                shown = ", ".join(self.app.get_key_display(Binding(k, "")) for k in keys.split(","))
                rows.append((where, shown, binding.description, binding.id or ""))
        return rows

    def _table(self) -> Table:
        table = Table(title="Keys", expand=True, show_edge=False)
        table.add_column("where", style="bold", no_wrap=True)
        table.add_column("key", no_wrap=True)
        table.add_column("does")
        table.add_column("id", style="dim", no_wrap=True)
        previous = ""
        for where, keys, does, binding_id in self.rows():
            table.add_row(where if where != previous else "", keys, does, binding_id)
            previous = where
        return table

    def action_close(self) -> None:
        self.dismiss(None)
