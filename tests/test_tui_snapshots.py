"""What every screen looks like at 80×24 and 120×40, on the demo data at a fixed time.

Update after an intended change with `pytest tests/test_tui_snapshots.py --snapshot-update`, then
look at the report (or render the SVGs) before committing them.
"""

from __future__ import annotations

import pytest
from textual.widgets import Input, TextArea

from omnipost_tui.tui.app import OmniPostApp
from tests.conftest import settle

# screen name → keys that lead there from the calendar
SCENES = {
    "calendar": (),
    "variants": ("2",),
    "attempts": ("3",),
    "accounts": ("4",),
    "editor": ("2", "down", "down", "down", "down", "down", "down", "down", "e"),
    "help": ("question_mark",),
    "publish_confirm": ("2", "down", "down", "down", "down", "down", "down", "down", "p"),
}
SIZES = {"80x24": (80, 24), "120x40": (120, 40)}


def visit(keys: tuple[str, ...]):
    async def run_before(pilot) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        # A blinking cursor would make every run differ.
        for widget in pilot.app.screen.query(Input).results():
            widget.cursor_blink = False
        for area in pilot.app.screen.query(TextArea).results():
            area.cursor_blink = False
        await settle(pilot)

    return run_before


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("scene", SCENES)
def test_screen(snap_compare, demo, scene, size):
    app = OmniPostApp(demo.ctx)
    assert snap_compare(app, terminal_size=SIZES[size], run_before=visit(SCENES[scene]))
