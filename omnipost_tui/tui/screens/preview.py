"""The editor's preview: what readers will see on each platform, the whole text as written
(LinkedIn's mentions as names) and the link card."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from omnipost_tui.platforms import LABELS
from omnipost_tui.text import visible_line
from omnipost_tui.tui.widgets.variant_row import counter_text, shown_text


class PreviewScreen(ModalScreen[None]):
    """What readers will see on each platform: the whole text as written, and the link card."""

    CSS_PATH = "preview.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,q,f2,ctrl+o", "close", "Close", id="preview.close"),
    ]

    def __init__(self, items: list[tuple[str, str, str, str | None]]) -> None:
        """``items``: (platform, account name, final text, link)."""
        super().__init__()
        self.items = items

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text("Preview", style="bold"))
            with VerticalScroll():
                if not self.items:
                    yield Label("No account is included: tick one to see its preview.")
                for platform, account, text, link in self.items:
                    head = Text(f"{LABELS[platform]} · {visible_line(account)}   ", style="bold")
                    head.append_text(counter_text(platform, text, named=False))
                    yield Label(head, classes="preview-head")
                    shown = shown_text(platform, text) if text else Text("(no text yet)")
                    yield Static(shown, classes="preview-text")
                    if link:
                        yield Label(Text(f"link card: {link}"), classes="preview-link")
            yield Label("\nEsc / Enter: close", id="keys")

    def action_close(self) -> None:
        self.dismiss(None)
