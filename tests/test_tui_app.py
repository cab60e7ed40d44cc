"""The application frame: navigation, help, status bar, live updates."""

from __future__ import annotations

from omnipost_tui.tui.app import OmniPostApp
from tests.conftest import settle


async def test_opens_on_the_calendar_and_number_keys_switch_screens(demo):
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.current_mode == "calendar"
        for key, mode in (
            ("2", "variants"),
            ("3", "attempts"),
            ("4", "accounts"),
            ("1", "calendar"),
        ):
            await pilot.press(key)
            await settle(pilot)
            assert app.current_mode == mode
