"""Named views of the app on the demo data: the snapshot tests and the screenshots use them.

python -m tests.scenes [DIR]   # from the checkout: writes DIR/<scene>.svg (default: screenshots/)

Test and documentation tooling, not part of the installed package (it uses a private Textual
helper for the screenshots).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

# Wednesday 9 December 2026, 10:30 in Berlin: the moment the demo data is seen from.
DEMO_NOW = datetime(2026, 12, 9, 9, 30, 0, tzinfo=UTC)
DEMO_TIMEZONE = "Europe/Berlin"

_SEVEN_DOWN = ("down",) * 7  # the demo's first scheduled variant on the variants screen
# scene → keys that lead there from the calendar
SCENES: dict[str, tuple[str, ...]] = {
    "calendar": (),
    "variants": ("2",),
    "attempts": ("3",),
    "accounts": ("4",),
    "editor": ("2", *_SEVEN_DOWN, "e"),
    "new_post": ("n",),  # on the calendar's selected day: no account ticked yet
    "help": ("question_mark",),
    "publish_confirm": ("2", *_SEVEN_DOWN, "p"),
}
# More views, at 80×24 only (the snapshot tests): where a line is at its longest, and a key
# remapped in config.toml.
NARROW_SCENES: dict[str, tuple[str, ...]] = {
    "add_account": ("4", "a", "p", *"104123"),  # a, then p: paste a token made elsewhere
    # The status list opened from the filter row and "failed" picked (sixth below "any").
    "variants_filtered": ("2", "slash", "tab", "enter", *("down",) * 6, "enter"),
    "attempts_of_variant": ("2", "down", "down", "down", "enter"),  # variant 4, failed
    "variants_remapped": ("2",),
}
NARROW_KEYMAPS: dict[str, dict[str, str]] = {"variants_remapped": {"variants.publish": "ctrl+o"}}


async def settle(pilot, rounds: int = 3, most: int = 50) -> None:
    """Let workers finish and the screen catch up (waits on the workers; no sleeping).

    A load's result can start another load (the first poll refreshes the screen, which loads
    the agenda, whose rows update the detail): keep waiting until ``rounds`` rounds in a row
    found no worker running, so a slow machine cannot take a picture half-way through that
    chain. A load replaced by a newer one is cancelled on purpose; that is not a failure here.
    """
    from textual.worker import WorkerCancelled, WorkerFailed

    quiet = 0
    for _ in range(most):
        running = [w for w in pilot.app.workers if not w.is_finished]
        for worker in running:
            with contextlib.suppress(WorkerCancelled, WorkerFailed):
                await worker.wait()
        await pilot.pause()
        quiet = 0 if running else quiet + 1
        if quiet >= rounds:
            break
    await _laid_out(pilot)


async def _laid_out(pilot, timeout: float = 5.0) -> None:
    """Until the screen has laid out and painted what the last results changed. Its update
    timer does that once a frame; on a busy machine the frame can come after the pauses above,
    and a picture or a region read before it shows the old layout. (Textual private: no public
    "layout pending" in 8.2.8.)"""
    screen = pilot.app.screen
    deadline = time.monotonic() + timeout
    while screen._layout_required or screen._dirty_widgets:
        if time.monotonic() > deadline:
            raise TimeoutError("the screen never finished its layout")
        await pilot.pause(0.01)


def visit(keys: tuple[str, ...]):
    """A ``run_before`` for Textual's screenshot helpers: press ``keys``, then hold still."""

    async def run_before(pilot) -> None:
        from textual.widgets import Input, TextArea

        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        # A blinking cursor would make every picture differ.
        for widget in (*pilot.app.screen.query(Input), *pilot.app.screen.query(TextArea)):
            widget.cursor_blink = False
        await settle(pilot)

    return run_before


def write_screenshots(target: Path, size: tuple[int, int] = (120, 40)) -> list[Path]:
    """Seed the demo data in a scratch home and save one SVG per scene into ``target``."""
    # Textual private: the screenshot helper of Textual's own docs (no public equivalent in
    # 8.2.8). Re-check when upgrading Textual (pinned in pyproject.toml).
    from textual._doc import take_svg_screenshot

    from omnipost_tui import clock
    from omnipost_tui.demo.data import seed_demo
    from omnipost_tui.engine.queue import open_queue
    from omnipost_tui.services.context import open_context
    from omnipost_tui.tui.app import OmniPostApp

    class Stopped:
        def now(self) -> datetime:
            return DEMO_NOW

        def sleep(self, seconds: float) -> None:
            pass

    home = tempfile.mkdtemp(prefix="omnipost-screenshots-")
    os.environ.update(
        OMNIPOST_HOME=home, OMNIPOST_TIMEZONE=DEMO_TIMEZONE, OMNIPOST_QUEUE_URL="memory://"
    )
    clock.install(Stopped())
    ctx = open_context(open_queue=open_queue)
    seed_demo(ctx, DEMO_NOW)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for scene, keys in SCENES.items():
        svg = take_svg_screenshot(
            app=OmniPostApp(ctx), terminal_size=size, run_before=visit(keys), title="omnipost"
        )
        path = target / f"{scene}.svg"
        path.write_text(svg, encoding="utf-8")
        written.append(path)
    ctx.close()
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0] if args else "screenshots")
    for path in write_screenshots(target):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
