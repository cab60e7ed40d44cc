"""Placeholder until the screen is built."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Label

from omnipost_tui.tui.base import OmniScreen


class CalendarScreen(OmniScreen):
    MODE = "calendar"
    TITLE_TEXT = "calendar"

    def compose_body(self) -> ComposeResult:
        yield Label("calendar")
