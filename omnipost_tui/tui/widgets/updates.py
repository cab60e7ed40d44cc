"""Showing the same thing again costs nothing: the live poll asks the screens to show their data
every few seconds, and most times nothing changed."""

from __future__ import annotations

from textual.visual import VisualType
from textual.widgets import Static


def update_if_changed(widget: Static, content: VisualType, *, layout: bool = True) -> None:
    """``widget.update(content)``, unless it shows that already: every update of a label lays
    the whole screen out again, which was most of what the idle app spent its CPU on."""
    if widget.content != content:  # str and rich Text compare by what they show
        widget.update(content, layout=layout)
