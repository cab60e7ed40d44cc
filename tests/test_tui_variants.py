"""The variants screen, driven by its keys on the demo data (80×24)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from textual.widgets import DataTable, Input, Label, Select

from omnipost_tui.services import publishing
from omnipost_tui.services.variants import get_variant
from omnipost_tui.tui.app import OmniPostApp
from omnipost_tui.tui.screens import variants as variants_module
from omnipost_tui.tui.screens.confirm import AskScreen, ConfirmScreen
from tests.conftest import (
    HOSTILE_ANSWER,
    HOSTILE_SHOWN,
    HeldLoads,
    assert_harmless,
    messages,
    publish_before_the_filtered_rows_land,
    screen_text,
    search_palette,
    settle,
    wait_in_app,
)


def table(app) -> DataTable:
    return app.screen.query_one("#variants", DataTable)


def row_keys(app) -> list[int]:
    t = table(app)
    return [int(str(row.key.value)) for row in t.ordered_rows]


def cursor_variant(app) -> int:
    t = table(app)
    return int(str(t.ordered_rows[t.cursor_row].key.value))


async def open_variants(pilot) -> None:
    await settle(pilot)
    await pilot.press("2")
    await settle(pilot)


async def select_variant(pilot, variant_id: int) -> None:
    """Move the cursor to a variant with the arrow keys, as a user would."""
    t = table(pilot.app)
    target = row_keys(pilot.app).index(variant_id)
    while t.cursor_row != target:
        await pilot.press("down" if t.cursor_row < target else "up")
    await settle(pilot)
    assert cursor_variant(pilot.app) == variant_id


async def test_lists_every_variant_in_time_order_with_drafts_last(demo):
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_variants(pilot)
        keys = row_keys(app)
        assert len(keys) == len(demo.data.variants)
        views = [get_variant(demo.ctx, k) for k in keys]
        dated = [v.scheduled_at for v in views if v.scheduled_at is not None]
        assert dated == sorted(dated)
        assert views[-1].status == "draft" and views[-1].scheduled_at is None
        position = str(app.screen.query_one("#position", Label).render())
        assert f"1–{len(keys)} of {len(keys)} variants" in position


async def test_publish_now_asks_first_and_cancel_changes_nothing(demo):
    variant = demo.data.variants["hiring-fb"]
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_variants(pilot)
        await select_variant(pilot, variant)
        before = get_variant(demo.ctx, variant)
        for refuse in ("n", "escape"):
            await pilot.press("p")
            await settle(pilot)
            assert isinstance(app.screen, ConfirmScreen)
            body = str(app.screen.query_one("#body").render())
            assert "Acme Coffee" in body and "We are hiring baristas" in body
            await pilot.press(refuse)
            await settle(pilot)
            assert not isinstance(app.screen, ConfirmScreen)
            assert get_variant(demo.ctx, variant) == before


@pytest.mark.parametrize("accept", ["y", "enter"])
async def test_publish_now_confirmed_queues_it_and_says_no_worker_is_running(demo, accept):
    variant = demo.data.variants["hiring-fb"]
    before = get_variant(demo.ctx, variant)
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_variants(pilot)
        await select_variant(pilot, variant)
        await pilot.press("p")
        await settle(pilot)
        await pilot.press(accept)
        await settle(pilot)
        updated = get_variant(demo.ctx, variant)
        assert (updated.status, updated.next_attempt_at) == ("scheduled", demo.clock.now())
        assert updated.scheduled_at == before.scheduled_at  # the plan is kept
        assert demo.ctx.queue.huey.pending_count() >= 1
        messages = " ".join(str(n.message) for n in app._notifications)
        assert "omnipost worker" in messages


async def test_retry_a_failed_variant(demo):
    variant = demo.data.variants["tasting-fb"]
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_variants(pilot)
        await select_variant(pilot, variant)
        await pilot.press("r")
        await settle(pilot)
        assert get_variant(demo.ctx, variant).status == "scheduled"


async def test_retry_of_an_unconfirmed_variant_warns_first(demo):
    variant = demo.data.variants["sale-fb"]
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_variants(pilot)
        await select_variant(pilot, variant)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert "publishes it twice" in str(app.screen.query_one("#body").render())
        await pilot.press("y")
        await settle(pilot)
        assert get_variant(demo.ctx, variant).status == "scheduled"


async def test_retry_refuses_a_scheduled_variant(demo):
    variant = demo.data.variants["hiring-fb"]
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_variants(pilot)
        await select_variant(pilot, variant)
        await pilot.press("r")
        await settle(pilot)
        assert get_variant(demo.ctx, variant).status == "scheduled"
        assert any("only failed or unconfirmed" in str(n.message) for n in app._notifications)


async def test_unschedule_moves_it_back_to_draft(demo):
    variant = demo.data.variants["hiring-li"]
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_variants(pilot)
        await select_variant(pilot, variant)
        await pilot.press("u")
        await settle(pilot)
        assert get_variant(demo.ctx, variant).status == "draft"


async def test_mark_an_unconfirmed_variant_published_with_its_post_id(demo):
    variant = demo.data.variants["sale-fb"]
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_variants(pilot)
        await select_variant(pilot, variant)
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, AskScreen)
        await pilot.press(*"northwind_9001", "enter")
        await settle(pilot)
        done = get_variant(demo.ctx, variant)
        assert done.status == "published"
        assert done.external_post_id == "northwind_9001"


async def test_edit_and_new_open_the_editor(demo):
    from omnipost_tui.tui.screens.editor import EditorScreen

    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_variants(pilot)
        await select_variant(pilot, demo.data.variants["hiring-fb"])
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, EditorScreen)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, EditorScreen)


async def test_enter_opens_the_attempts_of_that_variant(demo):
    variant = demo.data.variants["tasting-li"]
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_variants(pilot)
        await select_variant(pilot, variant)
        await pilot.press("enter")
        await settle(pilot)
        assert app.current_mode == "attempts"


async def test_search_and_status_filters_narrow_the_list(demo):
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_variants(pilot)
        await pilot.press("slash")
        await settle(pilot)
        assert isinstance(app.focused, Input)
        await pilot.press(*"hiring")
        await settle(pilot)
        hiring = {demo.data.variants["hiring-fb"], demo.data.variants["hiring-li"]}
        assert set(row_keys(app)) == hiring
        app.screen.query_one("#status", Select).value = "scheduled"
        await settle(pilot)
        assert set(row_keys(app)) == hiring
        app.screen.query_one("#status", Select).value = "failed"
        await settle(pilot)
        assert row_keys(app) == []
        assert "no variants match" in str(app.screen.query_one("#position", Label).render())
        await pilot.press("escape")
        await settle(pilot)
        assert len(row_keys(app)) == len(demo.data.variants)


async def test_one_escape_clears_a_status_picked_from_the_list(demo):
    """Picked with the keyboard as a user does: the header said "Esc clears", but the first
    Esc only left the field and a second one was needed."""
    variants = [get_variant(demo.ctx, v) for v in demo.data.variants.values()]
    failed = {v.id for v in variants if v.status == "failed"}
    assert failed
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_variants(pilot)
        await pilot.press("slash", "tab", "enter")  # to the status list, and open it
        await settle(pilot)
        # "any status", then the statuses in their order: failed is the sixth one down.
        await pilot.press(*["down"] * 6, "enter")
        await settle(pilot)
        status = app.screen.query_one("#status", Select)
        assert status.selection == "failed" and set(row_keys(app)) == failed
        position = app.screen.query_one("#position", Label)
        assert "filtered — Esc clears" in str(position.render())

        await pilot.press("escape")
        await settle(pilot)
        assert len(row_keys(app)) == len(demo.data.variants)
        assert status.selection is None
        assert "filtered" not in str(position.render())
        assert not app.screen.query_one("#filters").has_class("-open")
        assert isinstance(app.focused, DataTable)


async def test_a_bad_date_in_the_filter_is_shown_inline(demo):
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_variants(pilot)
        await pilot.press("slash")
        field = app.screen.query_one("#from", Input)
        field.value = "next tuesday"
        field.focus()
        await pilot.press("enter")
        await settle(pilot)
        error = str(app.screen.query_one("#filter-error", Label).render())
        assert "cannot read time 'next tuesday'" in error
        # Whole at 80 columns: the hint's end (how to write a time) wraps, it is not cut off.
        assert "+2h, +1d" in screen_text(app)


async def test_status_changes_from_another_process_show_live_and_the_cursor_stays(demo):
    app = OmniPostApp(demo.ctx, poll_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_variants(pilot)
        target = demo.data.variants["hiring-fb"]
        await select_variant(pilot, target)
        row = table(app).cursor_row
        # A worker (here: the service layer on its own connection) fails it meanwhile.
        assert publishing.fail_before_claim(
            demo.ctx,
            target,
            "scheduled",
            get_variant(demo.ctx, target).scheduled_at,
            "boom",
            demo.clock.now(),
        )
        await wait_in_app(
            pilot,
            lambda: "failed" in str(table(app).get_cell(str(target), "status")),
            "the failure to show",
        )
        assert "failed" in str(table(app).get_cell(str(target), "status"))
        assert table(app).cursor_row == row
        assert cursor_variant(app) == target


async def test_pages_through_many_variants_with_keys(demo):
    from tests.benchmarks.seeding import seed_many

    seed_many(demo.ctx, 250, start=demo.clock.now() + timedelta(days=40))
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_variants(pilot)
        total = 250 + len(demo.data.variants)
        position = app.screen.query_one("#position", Label)
        first_page = row_keys(app)
        assert len(first_page) == 100
        assert f"1–100 of {total}" in str(position.render())
        await pilot.press("right_square_bracket")
        await settle(pilot)
        second_page = row_keys(app)
        assert f"101–200 of {total}" in str(position.render())
        assert not set(first_page) & set(second_page)
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert row_keys(app) == first_page
        await pilot.press("G")
        await settle(pilot)
        assert f"–{total} of {total}" in str(position.render())
        assert table(app).cursor_row == len(row_keys(app)) - 1
        await pilot.press("g")
        await settle(pilot)
        assert row_keys(app) == first_page
        # Arrowing past the last row of a page opens the next one.
        await pilot.press("ctrl+end")
        await settle(pilot)
        await pilot.press("down")
        await settle(pilot)
        assert row_keys(app) == second_page
        assert cursor_variant(app) == second_page[0]


async def test_a_hundred_thousand_variants_open_and_page(ctx):
    """Behaviour at scale (timings: python -m tests.benchmarks.many_variants)."""
    from tests.benchmarks.seeding import seed_many

    seed_many(ctx, 100_000)
    app = OmniPostApp(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_variants(pilot)
        position = app.screen.query_one("#position", Label)
        assert "1–100 of 100,000 variants" in str(position.render())
        assert len(row_keys(app)) == 100
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert "101–200 of 100,000" in str(position.render())
        await pilot.press("G")
        await settle(pilot)
        assert "99,901–100,000 of 100,000" in str(position.render())
        last = row_keys(app)
        assert len(last) == 100 and last == sorted(last)


async def test_stored_text_with_control_characters_is_shown_harmlessly(demo):
    """Names and texts stored before the rule on what text holds: symbols on every row and in
    the publish dialog, nothing a terminal would act on."""
    from sqlalchemy import update

    from omnipost_tui.models import Brand, ConnectedSocialAccount, Post

    variant = demo.data.variants["hiring-fb"]
    with demo.ctx.db.write() as session:
        session.execute(
            update(ConnectedSocialAccount)
            .where(ConnectedSocialAccount.id == demo.data.accounts["acme-fb"])
            .values(name="Acme\x1b]0;pwned\x07")  # would retitle the terminal window
        )
        session.execute(update(Brand).where(Brand.name == "Acme Coffee").values(name="Br\x9band"))
        session.execute(
            update(Post)
            .where(Post.id == demo.data.posts["hiring"])
            .values(base_text=HOSTILE_ANSWER)
        )
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_variants(pilot)
        cells = [str(c) for c in table(app).get_row(str(variant))]
        assert cells[3:5] == ["Acme␛]0;pw…", "Br\\x9ba…"]  # cut to their columns
        assert cells[-1] == HOSTILE_SHOWN
        assert_harmless(screen_text(app))

        await select_variant(pilot, variant)
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        dialog = screen_text(app)
        assert "Acme␛]0;pwned␇" in dialog and HOSTILE_SHOWN in dialog
        assert_harmless(dialog)


def key_bar_state(app) -> dict[str, bool]:
    """Each key the bar shows, by its action: True when it reads as available."""
    from textual.widgets._footer import FooterKey  # the key bar's own widget

    return {key.action: not key.has_class("-disabled") for key in app.screen.query(FooterKey)}


@pytest.mark.parametrize(
    ("name", "available", "greyed"),
    [
        # Published: nothing left to publish, retry or unschedule; the post can still be edited.
        ("launch-fb", {"edit", "new"}, {"publish", "retry", "unschedule"}),
        # Failed (the token was revoked): publish now, retry, unschedule all work.
        ("careers-li", {"publish", "retry", "unschedule", "edit", "mark_published"}, set()),
        # Unconfirmed: it may be out already, so no publish now; retry (after a look) or mark.
        ("sale-fb", {"retry", "mark_published", "edit"}, {"publish", "unschedule"}),
        # Scheduled: retrying is for what failed.
        ("hiring-fb", {"publish", "unschedule", "edit"}, {"retry"}),
    ],
)
async def test_the_key_bar_greys_out_what_the_selected_variant_does_not_allow(
    demo, name, available, greyed
):
    variant = demo.data.variants[name]
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_variants(pilot)
        await select_variant(pilot, variant)
        keys = key_bar_state(app)
        assert {action for action in available if keys.get(action)} == available, keys
        assert {action for action in greyed if keys.get(action) is False} == greyed, keys


async def test_the_palette_finds_check_on_platform_and_asks_the_platform(demo):
    """`c` is not in the key bar; Ctrl+P still finds it, names its key and runs it."""
    unsure = demo.data.variants["sale-fb"]
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_variants(pilot)
        await select_variant(pilot, unsure)
        found = await search_palette(pilot, "check")
        assert found and found[0].startswith("Check on platform"), found
        assert "Variants: press c" in found[0]
        await pilot.press("enter")
        await settle(pilot)
        assert f"asking Facebook whether variant {unsure}" in " ".join(messages(app))


async def test_last_and_first_page_keys_move_the_cursor_when_all_fits_on_one_page(demo):
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_variants(pilot)
        keys = row_keys(app)
        position = str(app.screen.query_one("#position", Label).render())
        assert f"1–{len(keys)} of {len(keys)} variants" in position  # one page
        await select_variant(pilot, keys[1])
        await pilot.press("G")
        await settle(pilot)
        assert cursor_variant(app) == keys[-1]
        await pilot.press("g")
        await settle(pilot)
        assert cursor_variant(app) == keys[0]
        assert row_keys(app) == keys


async def test_check_on_the_platform_refuses_a_variant_that_is_not_unconfirmed(demo):
    variant = demo.data.variants["hiring-fb"]
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_variants(pilot)
        await select_variant(pilot, variant)
        await pilot.press("c")
        await settle(pilot)
        assert get_variant(demo.ctx, variant).status == "scheduled"
        assert any(
            "only unconfirmed variants can be checked on the platform" in str(n.message)
            for n in app._notifications
        )


async def test_a_key_typed_before_the_filtered_rows_land_acts_on_no_old_row(demo, monkeypatch):
    """A filter typed and Enter, then `p` at once: the old rows are still shown while the
    filtered ones load, and `p` must not offer to publish the row the filter hides."""
    app = OmniPostApp(demo.ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_variants(pilot)
        left = demo.data.variants["tasting-fb"]  # failed: "publish now" would be offered
        await select_variant(pilot, left)

        loads = HeldLoads(monkeypatch, variants_module, "load_page")
        await publish_before_the_filtered_rows_land(pilot, loads)
        await settle(pilot)
        assert row_keys(app) == []
