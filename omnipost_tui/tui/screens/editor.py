"""Placeholder until the editor is built."""

from __future__ import annotations

from textual.screen import Screen


class EditorScreen(Screen[bool]):
    def __init__(self, post_id: int | None = None, variant_id: int | None = None, day=None) -> None:
        super().__init__()
