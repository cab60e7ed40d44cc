"""What every screen looks like at 80×24 and 120×40, on the demo data at a fixed time.

Update after an intended change with `pytest tests/test_tui_snapshots.py --snapshot-update`, then
look at the pictures (rsvg-convert FILE.svg -o FILE.png) before committing them.
"""

from __future__ import annotations

import dataclasses

import pytest

from omnipost_tui.demo.data import demo_pictures
from omnipost_tui.engine.queue import open_queue
from omnipost_tui.services.context import Context
from omnipost_tui.services.media import ImageInput, attach_images
from omnipost_tui.tui.app import OmniPostApp
from tests.scenes import NARROW_KEYMAPS, NARROW_SCENES, SCENES, settle, visit

SIZES = {"80x24": (80, 24), "120x40": (120, 40)}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("scene", SCENES)
def test_screen(snap_compare, demo, scene, size):
    app = OmniPostApp(demo.ctx)
    assert snap_compare(app, terminal_size=SIZES[size], run_before=visit(SCENES[scene]))


@pytest.mark.parametrize("scene", NARROW_SCENES)
def test_narrow_screen(snap_compare, demo, scene):
    """At 80 columns nothing is cut: key bars, headers, a remapped key (set in config.toml)."""
    settings = dataclasses.replace(demo.ctx.settings, keymap=NARROW_KEYMAPS.get(scene, {}))
    app = OmniPostApp(
        Context(settings=settings, db=demo.ctx.db, open_queue=open_queue, _cipher=demo.ctx.cipher)
    )
    assert snap_compare(app, terminal_size=(80, 24), run_before=visit(NARROW_SCENES[scene]))


def test_editor_with_two_images(snap_compare, demo, tmp_path):
    """The images of a post with a link, the list focused: each picture's size and alt text,
    the preview of the first (half blocks: the same on every machine), the link's hint."""
    beans, roaster, _ = demo_pictures(tmp_path / "pictures")
    attach_images(
        demo.ctx,
        demo.data.posts["hiring"],
        [ImageInput(str(beans), "Green coffee beans in a sack"), ImageInput(str(roaster))],
    )

    async def run_before(pilot) -> None:
        await visit(SCENES["editor"])(pilot)
        pilot.app.screen.query_one("#image-list").focus()
        await settle(pilot)  # the preview is read in a worker

    app = OmniPostApp(demo.ctx)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
