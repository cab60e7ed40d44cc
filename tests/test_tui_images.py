"""The editor's Images field: a path typed with Tab completion, the list (alt text, order,
removal), the preview, and what each platform will receive; saved with the post or not at all."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from PIL import Image
from textual.widgets import Input, Label, TextArea

from omnipost_tui.engine.queue import open_queue
from omnipost_tui.platforms import text_with_link
from omnipost_tui.services.context import Context
from omnipost_tui.services.media import (
    ImageInput,
    attach_images,
    human_size,
    list_images,
    media_path,
    set_variant_images,
)
from omnipost_tui.tui.app import OmniPostApp
from omnipost_tui.tui.screens.confirm import ConfirmScreen
from omnipost_tui.tui.screens.editor import EditorScreen
from omnipost_tui.tui.screens.preview import PreviewScreen
from omnipost_tui.tui.widgets.images import ImageList, ImagesField, fit_cells
from omnipost_tui.tui.widgets.path_input import PathInput, complete_path
from omnipost_tui.tui.widgets.variant_row import FieldError
from tests.conftest import screen_text, settle, wait_in_app
from tests.test_tui_editor import (
    checked,
    fill,
    make_app,
    open_editor,
    post_count,
    problems_of,
    row_of,
    summary,
    text_of,
    tick,
    variants_of,
)


@pytest.fixture(autouse=True)
def quick_check(monkeypatch):
    monkeypatch.setattr(EditorScreen, "CHECK_DELAY", 0.01)


def picture(path: Path, size: tuple[int, int] = (640, 480), colour=(200, 120, 40)) -> Path:
    """A real image made with Pillow (its format from the suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


def field_of(editor: EditorScreen) -> ImagesField:
    return editor.query_one("#images", ImagesField)


def rows(editor: EditorScreen) -> list[str]:
    """The list as drawn, one string per picture (its columns one space apart)."""
    listing = editor.query_one("#image-list", ImageList)
    return [" ".join(str(option.prompt).split()) for option in listing.options]


def error_of(editor: EditorScreen, name: str) -> str:
    label = editor.query_one(f"#{name}", FieldError)
    return text_of(label) if label.display else ""


def hint(editor: EditorScreen) -> str:
    label = editor.query_one("#image-hint", Label)
    return text_of(label) if label.display else ""


async def add(pilot, editor: EditorScreen, path: Path | str) -> None:
    """Add a picture as a user does: its path in the field, Enter."""
    field = editor.query_one("#image-path", PathInput)
    field.focus()
    field.value = str(path)
    await pilot.press("enter")
    await settle(pilot)


# --- completion, as a function ------------------------------------------------------------------


def test_completion_follows_the_shell(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    picture(tmp_path / "shots" / "beans-1.png")
    picture(tmp_path / "shots" / "beans-2.png")
    picture(tmp_path / "shots" / ".hidden.png")
    (tmp_path / "shots" / "old").mkdir()
    assert complete_path("sh") == complete_path("sh")  # deterministic
    assert complete_path("sh").text == "shots/"  # a directory gets its slash
    assert complete_path("~/sh").text == "~/shots/"  # ~ stays as typed, read as $HOME
    beans = complete_path("shots/b")
    assert (beans.text, beans.matches) == ("shots/beans-", ("beans-1.png", "beans-2.png"))
    assert complete_path("shots/").matches == ("beans-1.png", "beans-2.png", "old/")
    assert complete_path("shots/.").matches == (".hidden.png",)  # hidden once a dot is typed
    assert complete_path("shots/x").text == "shots/x"  # nothing matches: nothing changes
    assert complete_path("nowhere/a").text == "nowhere/a"
    assert complete_path("").text == ""


def test_the_preview_keeps_the_shape_of_the_picture():
    # 16×8 cells, each twice as tall as wide: a 16×16 square of pixels.
    assert fit_cells(320, 200) == (16, 5)
    assert fit_cells(100, 100) == (16, 8)
    assert fit_cells(200, 800) == (4, 8)
    assert fit_cells(4000, 10) == (16, 1)


def test_with_images_the_link_goes_at_the_end_of_the_text():
    assert text_with_link("Open day", "https://acme.example") == "Open day\nhttps://acme.example"
    assert text_with_link("See https://acme.example", "https://acme.example") == (
        "See https://acme.example"
    )
    assert text_with_link("Open day", None) == "Open day"


# --- adding ---------------------------------------------------------------------------------


async def test_a_path_typed_with_tab_completion_is_added(demo, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    beans = picture(tmp_path / "shots" / "beans.png", (640, 480))
    picture(tmp_path / "shots" / "roaster.jpg", (300, 200))
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        editor = await open_editor(pilot, app)
        field = editor.query_one("#image-path", PathInput)
        field.focus()
        await pilot.press(*"sh", "tab")
        assert field.value == "shots/"
        await pilot.press("tab")  # two pictures fit: they are listed, nothing is guessed
        assert field.value == "shots/"
        assert hint(editor) == "2 matches: beans.png  roaster.jpg"
        assert editor.focused is field
        await pilot.press("b", "tab")
        assert field.value == "shots/beans.png"
        assert hint(editor) == ""
        await pilot.press("enter")
        await settle(pilot)
        assert field.value == ""  # ready for the next one
        assert editor.focused is field
        [row] = rows(editor)
        size = human_size(beans.stat().st_size)
        assert "beans.png" in row and "PNG 640×480" in row and size in row
        assert "no alt text" in row
        assert [image.name for image in editor.images] == ["beans.png"]
        await checked(pilot, editor)
        screen = screen_text(app)
        assert "beans.png" in screen and "640×480" in screen


async def test_tab_with_nothing_to_complete_moves_on(demo, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    picture(tmp_path / "a.png")
    picture(tmp_path / "b.png")
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        editor = await open_editor(pilot, app)
        editor.query_one("#link", Input).focus()
        await pilot.press("tab")
        field = editor.query_one("#image-path", PathInput)
        assert editor.focused is field  # the link, then the images
        await pilot.press("tab")  # empty: nothing to complete
        assert editor.focused is not field
        field.focus()
        await pilot.press("tab")  # "": no guess from the working directory either
        assert editor.focused is not field
        field.focus()
        await pilot.press("x", "tab")  # nothing starts with x
        assert editor.focused is not field
        field.focus()
        field.value = ""
        await pilot.press("tab", "shift+tab")
        assert editor.focused is field
        field.value = "a.png"
        await pilot.press("tab")  # complete already
        assert editor.focused is not field


async def test_home_is_completed_from_a_tilde(demo, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    picture(tmp_path / "Pictures" / "cup.gif", (120, 90))
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        editor = await open_editor(pilot, app)
        field = editor.query_one("#image-path", PathInput)
        field.focus()
        await pilot.press("~", "/", "P", "tab", "tab")
        assert field.value == "~/Pictures/cup.gif"
        await pilot.press("enter")
        await settle(pilot)
        assert "GIF 120×90" in rows(editor)[0]


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("notes.png", "notes.png is not an image OmniPost can read"),  # text, named .png
        ("missing.png", "no file missing.png"),
        ("folder", "folder is a directory, not an image"),
    ],
)
async def test_what_is_not_an_image_is_refused_where_it_was_typed(
    demo, tmp_path, monkeypatch, name, problem
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.png").write_text("not a picture\n")
    (tmp_path / "folder").mkdir()
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        editor = await open_editor(pilot, app)
        await add(pilot, editor, name)
        assert error_of(editor, "image-path-error") == f"✗ {problem}"
        assert editor.images == ()
        assert not editor.query_one("#image-area").display
        assert not editor.dirty
        assert editor.query_one("#image-path", PathInput).value == name  # to correct it
        await pilot.press("backspace")
        assert error_of(editor, "image-path-error") == ""  # typing clears it


async def test_the_same_picture_twice_is_refused(demo, tmp_path):
    beans = picture(tmp_path / "beans.png")
    copy = tmp_path / "copy.png"
    copy.write_bytes(beans.read_bytes())
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        editor = await open_editor(pilot, app)
        await add(pilot, editor, beans)
        await add(pilot, editor, copy)
        assert error_of(editor, "image-path-error") == "✗ copy.png is already image 1 of this post"
        assert len(editor.images) == 1


# --- the list -------------------------------------------------------------------------------


async def test_alt_text_is_edited_in_place(demo, tmp_path):
    beans = picture(tmp_path / "beans.png")
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        editor = await open_editor(pilot, app)
        await add(pilot, editor, beans)
        editor.query_one("#image-list").focus()
        await pilot.press("e")
        alt = editor.query_one("#alt-input", Input)
        assert editor.focused is alt
        await pilot.press(*"Green beans")
        await pilot.press("escape")  # changed their mind: nothing kept, the editor stays
        assert app.screen is editor
        assert editor.images[0].alt == ""
        assert editor.focused is editor.query_one("#image-list")
        await pilot.press("enter")  # Enter edits too
        await pilot.press(*"Green coffee beans", "enter")
        assert editor.images[0].alt == "Green coffee beans"
        assert "Green coffee beans" in rows(editor)[0]
        # Too long: said under the field, as typed, and Enter keeps editing.
        await pilot.press("e")
        alt.value = "x" * 1001
        await pilot.pause()
        assert "alt text is 1,001 characters; at most 1,000 here" in error_of(editor, "alt-error")
        await pilot.press("enter")
        assert editor.focused is alt
        assert editor.images[0].alt == "Green coffee beans"


async def test_pictures_are_moved_removed_and_saved_in_that_order(demo, tmp_path):
    paths = [
        picture(tmp_path / f"{name}.png", colour=c)
        for name, c in (
            ("a", (255, 0, 0)),
            ("b", (0, 255, 0)),
            ("c", (0, 0, 255)),
            ("d", (90, 90, 90)),
        )
    ]
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        editor = await open_editor(pilot, app)
        await fill(pilot, editor, title="Four pictures")
        for path in paths:
            await add(pilot, editor, path)
        listing = editor.query_one("#image-list", ImageList)
        listing.focus()
        assert listing.highlighted == 3  # the one added last
        await pilot.press("left_square_bracket")  # d up
        names = [image.name for image in editor.images]
        assert names == ["a.png", "b.png", "d.png", "c.png"]
        await pilot.press("home", "right_square_bracket")  # a down
        assert [image.name for image in editor.images] == ["b.png", "a.png", "d.png", "c.png"]
        await pilot.press("shift+up")  # and back up
        assert [image.name for image in editor.images] == ["a.png", "b.png", "d.png", "c.png"]
        await pilot.press("left_square_bracket")  # the first stays first
        assert [image.name for image in editor.images] == ["a.png", "b.png", "d.png", "c.png"]
        await pilot.press("down", "delete")  # b goes
        assert [image.name for image in editor.images] == ["a.png", "d.png", "c.png"]
        assert listing.highlighted == 1  # on the one after it
        await pilot.press("e", *"Dark grey", "enter")
        assert [image.position for image in editor.images] == [1, 2, 3]
        assert rows(editor)[1].startswith("2 d.png PNG 640×480")
        await checked(pilot, editor)
        assert "ctrl+s saves" in summary(editor)
        chosen = [image.sha256 for image in editor.images]
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.editor_results == [True]
    post, _ = variants_of(demo, "Four pictures")
    saved = list_images(demo.ctx, post.id)
    assert [(i.position, i.name, i.alt) for i in saved] == [
        (1, "a.png", ""),
        (2, "d.png", "Dark grey"),
        (3, "c.png", ""),
    ]
    assert [i.sha256 for i in saved] == chosen


async def test_a_post_opens_with_its_pictures_and_saves_them_unchanged(demo, tmp_path):
    post = demo.data.posts["hiring"]
    attach_images(
        demo.ctx,
        post,
        [
            ImageInput(str(picture(tmp_path / "a.png")), "A"),
            ImageInput(str(picture(tmp_path / "b.jpg", colour=(10, 20, 30))), "B"),
        ],
    )
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        editor = await open_editor(pilot, app, post_id=post)
        assert [(i.name, i.alt) for i in editor.images] == [("a.png", "A"), ("b.jpg", "B")]
        assert "JPEG" in rows(editor)[1]
        assert not editor.dirty and "no changes" in summary(editor)
        # The link and pictures do not go together: the editor says what happens.
        assert editor.query_one("#link-hint").display
        editor.query_one("#link", Input).value = ""
        await pilot.pause()
        assert not editor.query_one("#link-hint").display
        editor.query_one("#title", Input).value = "We are hiring!"
        await checked(pilot, editor)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.editor_results == [True]
    assert [(i.name, i.alt) for i in list_images(demo.ctx, post)] == [
        ("a.png", "A"),
        ("b.jpg", "B"),
    ]


async def test_removing_every_picture_removes_them_from_the_post(demo, tmp_path):
    post = demo.data.posts["hiring"]
    attach_images(demo.ctx, post, [ImageInput(str(picture(tmp_path / "a.png")))])
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        editor = await open_editor(pilot, app, post_id=post)
        editor.query_one("#image-list").focus()
        await pilot.press("backspace")
        assert editor.images == ()
        assert editor.focused is editor.query_one("#image-path")  # the list is gone
        await checked(pilot, editor)
        await pilot.press("ctrl+s")
        await settle(pilot)
    assert list_images(demo.ctx, post) == []


# --- the preview --------------------------------------------------------------------------


async def test_the_selected_picture_is_previewed_while_the_list_has_focus(demo, tmp_path):
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        editor = await open_editor(pilot, app)
        await add(pilot, editor, picture(tmp_path / "wide.png", (400, 100)))
        await add(pilot, editor, picture(tmp_path / "tall.png", (100, 400)))
        preview = editor.query_one("#image-preview")
        assert not preview.display  # the path field has focus: the variants stay in view
        editor.query_one("#image-list").focus()
        await settle(pilot)
        image = editor.query_one("#preview-image")
        assert preview.display and image.display
        assert type(image).__name__ == "HalfcellImage"  # headless: never sixel or kitty
        assert (image.size.width, image.size.height) == (4, 8)  # tall.png, the highlighted
        await pilot.press("up")
        await settle(pilot)
        assert (image.size.width, image.size.height) == (16, 2)
        assert "▀" in screen_text(app)
        editor.query_one("#title").focus()
        await pilot.pause()
        assert not preview.display


async def test_a_picture_gone_from_the_media_directory_says_so(demo, tmp_path):
    post = demo.data.posts["hiring"]
    [image] = attach_images(
        demo.ctx, post, [ImageInput(str(picture(tmp_path / "lost.png")))]
    ).images
    media_path(demo.ctx.settings.paths, image.sha256, image.format).unlink()
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        editor = await open_editor(pilot, app, post_id=post)
        editor.query_one("#image-list").focus()
        await settle(pilot)
        assert "file gone from the media directory" in text_of(editor.query_one("#preview-note"))
        # And the check says what to do, under the field; nothing can be saved.
        editor.query_one("#title", Input).value = "We are hiring!"
        await checked(pilot, editor)
        assert "no longer in OmniPost's media directory" in error_of(editor, "images-error")
        assert "images" in summary(editor)


async def test_the_preview_screen_says_what_each_platform_receives(demo, tmp_path):
    post = demo.data.posts["hiring"]
    attach_images(
        demo.ctx,
        post,
        [ImageInput(str(picture(tmp_path / name))) for name in ("a.jpg", "b.png", "c.gif")],
    )
    fb, li = demo.data.variants["hiring-fb"], demo.data.variants["hiring-li"]
    set_variant_images(demo.ctx, li, "none")
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        editor = await open_editor(pilot, app, post_id=post)
        editor.query_one("#title", Input).focus()
        await pilot.press("ctrl+o")
        await settle(pilot)
        preview = app.screen
        assert isinstance(preview, PreviewScreen)
        fb_text, li_text = (str(s.render()) for s in preview.query(".preview-text"))
        fb_images, li_images = (str(s.render()) for s in preview.query(".preview-images"))
        links = [str(s.render()) for s in preview.query(".preview-link")]
        assert fb_images == "3 images: a.jpg, b.png, c.gif"
        assert fb_text.endswith("free coffee.\nhttps://acme.example/jobs")  # in the text
        assert li_images == "no images (this variant publishes its text only)"
        assert li_text.endswith("free coffee.")  # text only: the link is a card
        assert links == [
            "link in the text (no link card with images): https://acme.example/jobs",
            "link card: https://acme.example/jobs",
        ]
        await pilot.press("escape")
        await settle(pilot)
        # One row: its own pictures.
        set_variant_images(demo.ctx, fb, "own", [ImageInput(str(tmp_path / "a.jpg"))])
        editor.dismiss(False)
        await settle(pilot)
        editor = await open_editor(pilot, app, post_id=post, variant_id=fb)
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert [str(s.render()) for s in app.screen.query(".preview-images")] == [
            "its own 1 image: a.jpg"
        ]


# --- checks and leaving --------------------------------------------------------------------


async def test_a_picture_too_large_for_linkedin_is_refused_for_its_variant(demo, tmp_path):
    settings = dataclasses.replace(demo.ctx.settings, linkedin_image_max_pixels=100_000)
    ctx = Context(settings=settings, db=demo.ctx.db, open_queue=open_queue, _cipher=demo.ctx.cipher)
    app = OmniPostApp(ctx)
    app.editor_results = []
    acme_fb, acme_li = demo.data.accounts["acme-fb"], demo.data.accounts["acme-li"]
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        before = post_count(demo)
        editor = await open_editor(pilot, app)
        await fill(pilot, editor, title="Big picture")
        await add(pilot, editor, picture(tmp_path / "big.png", (400, 300)))
        li, fb = row_of(editor, account=acme_li), row_of(editor, account=acme_fb)
        await tick(pilot, li)
        await tick(pilot, fb)
        li.query_one(".when", Input).value = "+1h"
        fb.query_one(".when", Input).value = "+1h"
        await checked(pilot, editor)
        assert (
            "image 1 (big.png) is 400×300 (120,000 pixels); LinkedIn takes fewer than 100,000"
            in problems_of(li)
        )
        assert problems_of(fb) == ""  # Facebook takes it
        assert "LI Acme Coffee Co." in summary(editor)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is editor
        assert post_count(demo) == before
        # As a draft it need not fit yet.
        li.query_one(".when", Input).value = ""
        await checked(pilot, editor)
        assert problems_of(li) == ""


async def test_leaving_after_adding_a_picture_asks_first(demo, tmp_path):
    post = demo.data.posts["hiring"]
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        editor = await open_editor(pilot, app, post_id=post)
        assert not editor.dirty
        await add(pilot, editor, picture(tmp_path / "beans.png"))
        assert editor.dirty
        editor.query_one("#text", TextArea).focus()
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await settle(pilot)
        assert app.screen is editor and len(editor.images) == 1
        # Removed again: nothing changed, nothing to ask.
        editor.query_one("#image-list").focus()
        await pilot.press("delete")
        assert not editor.dirty
        editor.query_one("#title").focus()
        await pilot.press("escape")
        await settle(pilot)
        assert app.editor_results == [False]
    assert list_images(demo.ctx, post) == []


async def test_the_list_keys_are_in_the_key_bar_and_the_help(demo, tmp_path):
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        editor = await open_editor(pilot, app)
        await add(pilot, editor, picture(tmp_path / "beans.png"))
        editor.query_one("#image-list").focus()
        await settle(pilot)
        bar = await wait_in_app(
            pilot, lambda: "⌫ Drop" in screen_text(app) and screen_text(app), "the key bar"
        )
        last = bar.rstrip().splitlines()[-1]
        for key in ("e Alt", "[ Up", "] Down", "⌫ Drop", "^s Save"):
            assert key in last
        await pilot.press("f1")
        await settle(pilot)
        ids = {binding_id for *_, binding_id in app.screen.rows()}
        assert {"editor.image_alt", "editor.image_up", "editor.image_remove"} <= ids


async def test_a_path_typed_but_not_added_is_not_left_out_quietly(demo, tmp_path):
    beans = picture(tmp_path / "beans.png")
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        before = post_count(demo)
        editor = await open_editor(pilot, app)
        await fill(pilot, editor, title="Forgot Enter")
        field = editor.query_one("#image-path", PathInput)
        field.value = str(beans)
        editor.query_one("#title").focus()
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is editor and post_count(demo) == before
        assert "not added yet: Enter adds it" in error_of(editor, "image-path-error")
        assert editor.focused is field
        await pilot.press("enter")
        await settle(pilot)
        await checked(pilot, editor)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.editor_results == [True]
    post, _ = variants_of(demo, "Forgot Enter")
    assert [image.name for image in list_images(demo.ctx, post.id)] == ["beans.png"]


async def test_alt_text_typed_but_not_kept_is_not_thrown_away(demo, tmp_path):
    beans = picture(tmp_path / "beans.png")
    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        before = post_count(demo)
        editor = await open_editor(pilot, app)
        await fill(pilot, editor, title="Forgot Enter on the alt")
        await add(pilot, editor, beans)
        await checked(pilot, editor)
        editor.query_one("#image-list").focus()
        await pilot.press("e", *"Green beans")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is editor and post_count(demo) == before
        assert "not kept yet: Enter keeps it" in error_of(editor, "alt-error")
        assert editor.focused is editor.query_one("#alt-input")
        await pilot.press("enter", "ctrl+s")
        await settle(pilot)
        assert app.editor_results == [True]
    post, _ = variants_of(demo, "Forgot Enter on the alt")
    assert [image.alt for image in list_images(demo.ctx, post.id)] == ["Green beans"]
