"""Placeholder until the screen is built."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Label

from omnipost_tui.tui.base import OmniScreen


class AccountsScreen(OmniScreen):
    MODE = "accounts"
    TITLE_TEXT = "accounts"

    def compose_body(self) -> ComposeResult:
        yield Label("accounts")
