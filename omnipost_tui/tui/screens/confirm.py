"""Small modal dialogs: confirm (y/Enter yes, n/Escape no) and ask for one line of text."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static


class ConfirmScreen(ModalScreen[bool]):
    """Answer with y or Enter (yes), n or Escape (no)."""

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 70; max-width: 95%; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    ConfirmScreen #title { text-style: bold; padding-bottom: 1; }
    ConfirmScreen #body { height: auto; max-height: 14; overflow-y: auto; }
    ConfirmScreen #keys { color: $text-muted; padding-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, title: str, body: str | Text, yes: str = "yes") -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical():
            # Plain text, never markup: titles and bodies name accounts and quote texts.
            yield Label(Text(self.title_text), id="title")
            yield Static(Text(self.body) if isinstance(self.body, str) else self.body, id="body")
            yield Label(f"y / Enter: {self.yes}     n / Esc: cancel", id="keys")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class AskScreen(ModalScreen[str | None]):
    """One line of input; Enter submits (the value, possibly empty), Escape cancels (None)."""

    DEFAULT_CSS = """
    AskScreen { align: center middle; }
    AskScreen > Vertical {
        width: 70; max-width: 95%; height: auto;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    AskScreen #title { text-style: bold; }
    AskScreen #hint { color: $text-muted; }
    AskScreen #error { color: $error; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="ask.cancel"),
    ]

    def __init__(
        self, title: str, hint: str = "", *, password: bool = False, value: str = ""
    ) -> None:
        super().__init__()
        self.title_text = title
        self.hint = hint
        self.password = password
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.title_text), id="title")
            if self.hint:
                yield Label(Text(self.hint), id="hint")
            yield Input(value=self.value, password=self.password, id="answer")
            yield Label("", id="error")
            yield Label("Enter: OK     Esc: cancel", id="keys")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
