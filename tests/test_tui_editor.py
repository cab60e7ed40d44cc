"""The editor: write a post, pick accounts and times, see problems as you type, save or discard."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest
from textual.widgets import Input, Label, TextArea

from omnipost_tui.services.posts import list_posts
from omnipost_tui.services.variants import VariantFilter, get_variant, list_variants
from omnipost_tui.states import DRAFT, PUBLISHED, SCHEDULED
from omnipost_tui.tui.app import OmniPostApp
from omnipost_tui.tui.screens.confirm import ConfirmScreen
from omnipost_tui.tui.screens.editor import EditorScreen
from omnipost_tui.tui.screens.preview import PreviewScreen
from omnipost_tui.tui.screens.variants import VariantsScreen
from omnipost_tui.tui.widgets.flex_table import FlexTable
from omnipost_tui.tui.widgets.variant_row import FieldError, LockedRow, VariantRow
from tests.conftest import T_DEMO, settle


@pytest.fixture(autouse=True)
def quick_check(monkeypatch):
    # The check waits for typing to pause; tests need not wait the full 0.3 s each time.
    monkeypatch.setattr(EditorScreen, "CHECK_DELAY", 0.01)


async def checked(pilot, editor: EditorScreen) -> None:
    """Wait until the debounced check has run for the form as it is now (by the clock: on a
    loaded machine the check's thread may wait its turn for seconds)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        await settle(pilot, rounds=1)
        if editor.checked:
            return
        await pilot.pause(0.02)
    pytest.fail("the editor's check never finished")


async def open_editor(pilot, app: OmniPostApp, **kwargs) -> EditorScreen:
    editor = EditorScreen(**kwargs)
    app.push_screen(editor, app.editor_results.append)
    await checked(pilot, editor)
    return editor


def make_app(demo) -> OmniPostApp:
    app = OmniPostApp(demo.ctx)
    app.editor_results = []  # what each editor dismissed with
    return app


def row_of(editor: EditorScreen, *, account: int | None = None, variant: int | None = None):
    for row in editor.query(VariantRow):
        if variant is not None and row.existing is not None and row.existing.id == variant:
            return row
        if account is not None and row.existing is None and row.account.id == account:
            return row
    raise AssertionError(f"no row for account {account} / variant {variant}")


def text_of(widget: Label) -> str:
    return str(widget.render())


def problems_of(row: VariantRow) -> str:
    label = row.query_one(".problems", FieldError)
    return text_of(label) if label.display else ""


def counter_of(row: VariantRow) -> str:
    return text_of(row.query_one(".counter", Label))


def note_of(row: VariantRow) -> str:
    return text_of(row.query_one(".when-note", Label))


def field_error(editor: EditorScreen, name: str) -> str:
    label = editor.query_one(f"#{name}-error", FieldError)
    return text_of(label) if label.display else ""


def summary(editor: EditorScreen) -> str:
    return text_of(editor.query_one("#summary", Label))


async def tick(pilot, row: VariantRow) -> None:
    """Include an account the way a user does: focus its box, press space."""
    row.query_one(".include").focus()
    await pilot.press("space")


def box_of(row: VariantRow) -> str:
    """The include box as drawn, without colours: ``[x] FB Acme Coffee``."""
    return str(row.query_one(".include").render()).strip()


async def fill(pilot, editor: EditorScreen, *, title="Opening day", text="We open on Friday."):
    editor.query_one("#title", Input).value = title
    editor.query_one("#text", TextArea).text = text
    await checked(pilot, editor)


def post_count(demo) -> int:
    return len(list_posts(demo.ctx))


def variants_of(demo, title: str):
    post = next(p for p in list_posts(demo.ctx) if p.title == title)
    views = list_variants(demo.ctx, VariantFilter(), limit=1000)
    views = [v for v in views if v.post_id == post.id]
    return post, {v.account_id: v for v in views}


# --- creating ---------------------------------------------------------------------------------


async def test_a_new_post_with_two_variants_is_saved_from_the_variants_screen(demo):
    acme_fb, acme_li = demo.data.accounts["acme-fb"], demo.data.accounts["acme-li"]
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        editor = app.screen
        assert isinstance(editor, EditorScreen)
        await checked(pilot, editor)
        assert editor.focused is editor.query_one("#title", Input)
        await pilot.press(*"Opening day")  # real typing, key by key
        editor.query_one("#text", TextArea).text = "We open on Friday at the harbour."
        await tick(pilot, row_of(editor, account=acme_fb))
        await pilot.press("tab", *"+2h")  # the time field is next
        await tick(pilot, row_of(editor, account=acme_li))
        row_of(editor, account=acme_li).query_one(".when", Input).value = "2026-12-10 09:30"
        await checked(pilot, editor)
        assert "Thu 10 Dec 09:30 CET" in note_of(row_of(editor, account=acme_li))
        assert "Wed 09 Dec 12:30 CET" in note_of(row_of(editor, account=acme_fb))
        assert "ctrl+s saves: 2 scheduled" in summary(editor)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, VariantsScreen)  # the editor closed
        post, variants = variants_of(demo, "Opening day")
        assert post.base_text == "We open on Friday at the harbour."
        assert variants[acme_fb].status == SCHEDULED
        assert variants[acme_fb].scheduled_at == T_DEMO + timedelta(hours=2)
        assert variants[acme_li].status == SCHEDULED
        # 09:30 in Berlin in December is 08:30 UTC.
        assert variants[acme_li].scheduled_at == datetime(2026, 12, 10, 8, 30, tzinfo=UTC)
        assert any("saved" in n.message for n in app._notifications)


async def test_empty_times_save_drafts(demo):
    acme_fb, acme_li = demo.data.accounts["acme-fb"], demo.data.accounts["acme-li"]
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        editor = await open_editor(pilot, app)
        await fill(pilot, editor, title="Just an idea")
        await tick(pilot, row_of(editor, account=acme_fb))
        await tick(pilot, row_of(editor, account=acme_li))
        await checked(pilot, editor)
        assert "2 drafts (FB Acme Coffee; LI Acme Coffee Co.)" in summary(editor)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.editor_results == [True]
        _, variants = variants_of(demo, "Just an idea")
        assert {v.status for v in variants.values()} == {DRAFT}
        assert set(variants) == {acme_fb, acme_li}
        assert all(v.scheduled_at is None for v in variants.values())


async def test_an_unticked_account_gets_no_variant(demo):
    acme_fb, acme_li = demo.data.accounts["acme-fb"], demo.data.accounts["acme-li"]
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        editor = await open_editor(pilot, app)
        await fill(pilot, editor, title="Facebook only")
        li = row_of(editor, account=acme_li)
        await tick(pilot, li)
        await tick(pilot, row_of(editor, account=acme_fb))
        await tick(pilot, li)  # changed their mind
        await checked(pilot, editor)
        assert li.query_one(".when", Input).disabled
        assert box_of(li).startswith("[ ]")
        await pilot.press("ctrl+s")
        await settle(pilot)
        _, variants = variants_of(demo, "Facebook only")
        assert set(variants) == {acme_fb}


async def test_a_new_post_ticks_no_account_and_says_what_saving_will_do(demo):
    acme_fb, acme_li = demo.data.accounts["acme-fb"], demo.data.accounts["acme-li"]
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("right", "n")  # the calendar: Thursday 10 December, a new post
        await settle(pilot)
        editor = app.screen
        assert isinstance(editor, EditorScreen)
        await checked(pilot, editor)
        fb, li = row_of(editor, account=acme_fb), row_of(editor, account=acme_li)
        assert (box_of(fb), box_of(li)) == ("[ ] FB Acme Coffee", "[ ] LI Acme Coffee Co.")
        await pilot.press(*"Opening day", "tab")
        await pilot.press(*"We open on Friday.")
        await checked(pilot, editor)
        assert summary(editor) == "✓ ctrl+s saves: the post only, no account"
        await tick(pilot, fb)
        await checked(pilot, editor)
        assert box_of(fb) == "[x] FB Acme Coffee"
        assert summary(editor) == "✓ ctrl+s saves: 1 scheduled (FB Acme Coffee, Thu 10 Dec 09:00)"
        await tick(pilot, li)
        await pilot.press("tab", "end", "ctrl+u")  # its prefilled time, emptied: a draft
        await checked(pilot, editor)
        said = "1 scheduled (FB Acme Coffee, Thu 10 Dec 09:00) · 1 draft (LI Acme Coffee Co.)"
        assert summary(editor) == f"✓ ctrl+s saves: {said}"
        await pilot.press("ctrl+s")
        await settle(pilot)
        post, variants = variants_of(demo, "Opening day")
        assert app._notifications and list(app._notifications)[-1].message == (
            f"post {post.id} saved: {said}"
        )
    assert (variants[acme_fb].status, variants[acme_fb].scheduled_at) == (
        SCHEDULED,
        datetime(2026, 12, 10, 8, 0, tzinfo=UTC),
    )
    assert variants[acme_li].status == DRAFT


async def test_a_post_opened_for_an_account_ticks_that_account_only(demo):
    north_fb = demo.data.accounts["north-fb"]
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("4")  # the Accounts screen: n on an account
        await settle(pilot)
        table = app.screen.query_one(FlexTable)
        for _ in range(table.row_count):
            if table.cursor_key() == f"account-{north_fb}":
                break
            await pilot.press("down")
        await pilot.press("n")
        await settle(pilot)
        editor = app.screen
        assert isinstance(editor, EditorScreen)
        await checked(pilot, editor)
        assert editor.query_one("#brand").value == demo.data.brands["Northwind"]
        ticked = [row.account.id for row in editor.query(VariantRow) if row.included]
        assert ticked == [north_fb]
        assert box_of(row_of(editor, account=north_fb)) == "[x] FB Northwind Outdoors"


async def test_ticked_and_unticked_read_differently_in_every_theme(demo):
    acme_fb, acme_li = demo.data.accounts["acme-fb"], demo.data.accounts["acme-li"]
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        editor = await open_editor(pilot, app)
        fb, li = row_of(editor, account=acme_fb), row_of(editor, account=acme_li)
        await tick(pilot, fb)
        for theme in sorted(app.available_themes):  # ansi-dark is the 16-colour one
            app.theme = theme
            await pilot.pause()
            # The state is in the characters, not only in a colour a theme may not have.
            assert (box_of(fb)[:3], box_of(li)[:3]) == ("[x]", "[ ]"), theme


async def test_a_day_from_the_calendar_prefills_the_times(demo):
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        editor = await open_editor(pilot, app, day=date(2026, 12, 10))
        times = {row.when for row in editor.query(VariantRow)}
        assert times == {"2026-12-10 09:00"}
        editor.dismiss(False)
        await settle(pilot)
        # Today at 10:30: the next full hour, not 09:00 which is gone.
        editor = await open_editor(pilot, app, day=date(2026, 12, 9))
        assert {row.when for row in editor.query(VariantRow)} == {"2026-12-09 11:00"}


# --- live feedback ----------------------------------------------------------------------------


async def test_the_counter_follows_the_text_as_it_is_typed(demo):
    acme_li = demo.data.accounts["acme-li"]
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        editor = await open_editor(pilot, app)
        li = row_of(editor, account=acme_li)
        fb = row_of(editor, account=demo.data.accounts["acme-fb"])
        await tick(pilot, li)
        await tick(pilot, fb)
        editor.query_one("#text", TextArea).focus()
        await pilot.press(*"Hi all")
        assert "LinkedIn 6/3,000 ✓" in counter_of(li)
        assert "Hi all" in counter_of(li)  # the one-line preview
        await pilot.press("backspace", "backspace", "backspace", "backspace")
        assert "LinkedIn 2/3,000 ✓" in counter_of(li)
        # Its own text is what counts once it has one.
        li.query_one(".custom", Input).focus()
        await pilot.press(*"Hello LinkedIn")
        assert "LinkedIn 14/3,000 ✓" in counter_of(li)
        editor.query_one("#text", TextArea).text = "x" * 3_120
        li.query_one(".custom", Input).value = ""
        await pilot.pause()
        assert "LinkedIn 3,120/3,000 ✗ 120 too many" in counter_of(li)
        assert "Facebook 3,120/63,206 ✓" in counter_of(fb)


async def test_the_preview_shows_the_whole_final_text_and_the_link(demo):
    acme_li = demo.data.accounts["acme-li"]
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        editor = await open_editor(pilot, app)
        await fill(pilot, editor, text="Line one [not markup]\nLine two")
        editor.query_one("#link", Input).value = "https://acme.example/open"
        await tick(pilot, row_of(editor, account=demo.data.accounts["acme-fb"]))
        li = row_of(editor, account=acme_li)
        await tick(pilot, li)
        li.query_one(".custom", Input).value = "Only for LinkedIn: #coffee"
        li.query_one(".when", Input).focus()
        await pilot.press("ctrl+o")
        await settle(pilot)
        preview = app.screen
        assert isinstance(preview, PreviewScreen)
        assert preview.items == [
            (
                "linkedin",
                "Acme Coffee Co.",
                "Only for LinkedIn: #coffee",
                "https://acme.example/open",
            )
        ]
        await pilot.press("escape")
        editor.query_one("#title", Input).focus()
        await pilot.press("f2")  # not in a row: every included account
        await settle(pilot)
        texts = [item[2] for item in app.screen.items]
        assert texts == ["Line one [not markup]\nLine two", "Only for LinkedIn: #coffee"]
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is editor


async def test_the_linkedin_preview_shows_a_mention_as_its_name(demo):
    acme_fb, acme_li = demo.data.accounts["acme-fb"], demo.data.accounts["acme-li"]
    text = "Thanks @[Acme Roasters](urn:li:organization:42) for the beans! #coffee"
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        editor = await open_editor(pilot, app)
        await fill(pilot, editor, text=text)
        await tick(pilot, row_of(editor, account=acme_fb))
        await tick(pilot, row_of(editor, account=acme_li))
        editor.query_one("#title", Input).focus()
        await pilot.press("ctrl+o")
        await settle(pilot)
        fb, li = (shown.render() for shown in app.screen.query(".preview-text"))
        assert str(fb) == text  # Facebook has no such mentions: the text as written
        assert str(li) == "Thanks Acme Roasters for the beans! #coffee"
        name = str(li).index("Acme Roasters")
        styles = [span.style for span in li.spans if span.start == name]
        assert any("underline" in str(style) for style in styles)  # shown as a mention


# --- validation -------------------------------------------------------------------------------


async def test_an_empty_title_is_shown_and_nothing_is_saved(demo):
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        before = post_count(demo)
        editor = await open_editor(pilot, app)
        editor.query_one("#text", TextArea).text = "Text without a title"
        await checked(pilot, editor)
        assert field_error(editor, "title") == ""  # untouched fields do not nag
        assert "title" in summary(editor)
        await pilot.press("ctrl+s")
        await checked(pilot, editor)
        assert app.screen is editor
        assert "post title must not be empty" in field_error(editor, "title")
        assert post_count(demo) == before


async def test_text_over_the_linkedin_limit_is_refused(demo):
    acme_li = demo.data.accounts["acme-li"]
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        before = post_count(demo)
        editor = await open_editor(pilot, app)
        await fill(pilot, editor, text="x" * 3_120)
        li = row_of(editor, account=acme_li)
        await tick(pilot, li)
        li.query_one(".when", Input).value = "+1h"
        await checked(pilot, editor)
        assert "✗ 120 too many" in counter_of(li)
        assert "LinkedIn allows 3,000 (120 too many)" in problems_of(li)
        assert "fix to save" in summary(editor)
        await pilot.press("ctrl+s")
        await checked(pilot, editor)
        assert app.screen is editor
        assert post_count(demo) == before
        # Its own, shorter text fixes it.
        li.query_one(".custom", Input).value = "Short for LinkedIn"
        await checked(pilot, editor)
        assert problems_of(li) == ""
        assert "ctrl+s saves: 1 scheduled" in summary(editor)


@pytest.mark.parametrize(
    ("typed", "note", "problem"),
    [
        ("2026-12-01 09:00", "→ Tue 01 Dec 09:00 CET", "that time is in the past"),
        ("next tuesday", "cannot use this time", "cannot read time 'next tuesday'"),
    ],
)
async def test_a_bad_time_is_shown_beside_its_row_and_nothing_is_saved(demo, typed, note, problem):
    acme_fb = demo.data.accounts["acme-fb"]
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        before = (post_count(demo), len(list_variants(demo.ctx, limit=1000)))
        editor = await open_editor(pilot, app)
        await fill(pilot, editor)
        fb = row_of(editor, account=acme_fb)
        await tick(pilot, fb)
        fb.query_one(".when", Input).value = typed
        await checked(pilot, editor)
        assert note in note_of(fb)
        assert problem in problems_of(fb)
        assert "FB Acme Coffee" in summary(editor)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is editor  # a garbage time is not quietly saved as a draft
        assert (post_count(demo), len(list_variants(demo.ctx, limit=1000))) == before


async def test_a_time_that_passes_before_saving_is_refused_by_the_save(demo):
    acme_fb = demo.data.accounts["acme-fb"]
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        before = post_count(demo)
        editor = await open_editor(pilot, app)
        await fill(pilot, editor)
        fb = row_of(editor, account=acme_fb)
        await tick(pilot, fb)
        fb.query_one(".when", Input).value = "2026-12-09 10:31"
        await checked(pilot, editor)
        assert "ctrl+s saves: 1 scheduled" in summary(editor)
        demo.clock.advance(600)  # the user went for coffee
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is editor
        assert "that time is in the past" in problems_of(fb)
        assert post_count(demo) == before


async def test_an_expired_account_can_only_get_a_draft(demo):
    north_li = demo.data.accounts["north-li"]
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        editor = await open_editor(pilot, app)
        editor.query_one("#brand").value = demo.data.brands["Northwind"]
        await fill(pilot, editor)
        li = row_of(editor, account=north_li)
        assert "expired: draft only" in text_of(li.query_one(".tag", Label))
        assert not li.included  # not ticked by default
        li.query_one(".include").value = True
        li.query_one(".when", Input).value = "+1h"
        await checked(pilot, editor)
        assert "expired" in problems_of(li) and "draft" in problems_of(li)
        li.query_one(".when", Input).value = ""
        await checked(pilot, editor)
        assert problems_of(li) == ""


# --- editing ----------------------------------------------------------------------------------


async def test_editing_a_post_reschedules_a_changed_time_and_keeps_the_others(demo):
    post = demo.data.posts["hiring"]
    fb_id, li_id = demo.data.variants["hiring-fb"], demo.data.variants["hiring-li"]
    li_before = get_variant(demo.ctx, li_id)
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        editor = await open_editor(pilot, app, post_id=post)
        assert editor.query_one("#title", Input).value == "We are hiring"
        assert editor.query_one("#brand").disabled  # a post stays with its brand
        fb = row_of(editor, variant=fb_id)
        assert fb.when == "2026-12-09 12:30"
        assert "scheduled" in text_of(fb.query_one(".tag", Label))
        assert "no changes" in summary(editor)
        fb.query_one(".when", Input).value = "2026-12-11 10:00"
        await checked(pilot, editor)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.editor_results == [True]
    fb_after, li_after = get_variant(demo.ctx, fb_id), get_variant(demo.ctx, li_id)
    assert (fb_after.status, fb_after.scheduled_at) == (
        SCHEDULED,
        datetime(2026, 12, 11, 9, 0, tzinfo=UTC),
    )
    assert (li_after.status, li_after.scheduled_at) == (SCHEDULED, li_before.scheduled_at)


async def test_opening_a_variant_focuses_its_row(demo):
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        variant = demo.data.variants["hiring-li"]
        editor = await open_editor(pilot, app, variant_id=variant)  # its post is found
        assert editor.query_one("#title", Input).value == "We are hiring"
        assert editor.focused is row_of(editor, variant=variant).query_one(".when", Input)


async def test_a_published_variant_is_read_only(demo):
    post = demo.data.posts["launch"]
    published = demo.data.variants["launch-fb"]
    again = demo.data.variants["launch-again"]
    again_before = get_variant(demo.ctx, again)
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        editor = await open_editor(pilot, app, post_id=post, variant_id=published)
        locked = [row for row in editor.query(LockedRow) if row.locked.variant.id == published]
        assert len(locked) == 1 and editor.focused is locked[0]
        assert "published" in str(locked[0].render())
        assert not locked[0].query(Input)  # nothing to type into
        editable = [row.existing.id for row in editor.query(VariantRow) if row.existing]
        assert editable == [again]
        # LinkedIn only has a published variant: a new one can be added, not ticked by default.
        li = row_of(editor, account=demo.data.accounts["acme-li"])
        assert not li.included
        editor.query_one("#title", Input).value = "Winter blend launch (again)"
        await checked(pilot, editor)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.editor_results == [True]
    after = get_variant(demo.ctx, published)
    assert (after.status, after.post_title) == (PUBLISHED, "Winter blend launch (again)")
    assert get_variant(demo.ctx, again).scheduled_at == again_before.scheduled_at
    assert len([v for v in list_variants(demo.ctx, limit=1000) if v.post_id == post]) == 3


# --- leaving ----------------------------------------------------------------------------------


async def test_escape_asks_before_discarding_changes(demo):
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        before = post_count(demo)
        editor = await open_editor(pilot, app)
        await pilot.press(*"Half a thought")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await settle(pilot)
        assert app.screen is editor
        assert editor.query_one("#title", Input).value == "Half a thought"
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert app.screen is not editor and not isinstance(app.screen, ConfirmScreen)
        assert app.editor_results == [False]
        assert post_count(demo) == before


async def test_escape_without_changes_just_closes(demo):
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        editor = await open_editor(pilot, app, post_id=demo.data.posts["hiring"])
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is not editor
        assert app.editor_results == [False]


async def test_without_brands_it_says_what_to_do_first(ctx):
    app = OmniPostApp(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        editor = EditorScreen()
        app.push_screen(editor)
        await settle(pilot)
        assert "add a brand and an account first: press 4" in text_of(editor.query_one("#empty"))
        await pilot.press("ctrl+s")  # nothing to save, nothing breaks
        await pilot.press("4")
        await settle(pilot)
        assert app.current_mode == "accounts"
        assert not isinstance(app.screen, EditorScreen)
