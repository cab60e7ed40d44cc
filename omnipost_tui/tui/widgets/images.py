"""The editor's Images field: a path to add (Tab completes it), the post's pictures in order
with their size and alt text, and a small preview of the one selected.

Adding copies the file into OmniPost's media directory at once (``media.add_file``, in a
worker) but attaches nothing: the list is part of the editor's plan, saved with the rest by
ctrl+s or dropped with it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, OptionList

from omnipost_tui.errors import OmniPostError
from omnipost_tui.services.media import add_file, alt_problem, human_size, media_path
from omnipost_tui.services.views import ImageView
from omnipost_tui.text import clip, pad, visible_line
from omnipost_tui.tui.base import ServiceCalls
from omnipost_tui.tui.widgets.path_input import PathInput
from omnipost_tui.tui.widgets.variant_row import FieldError

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage
    from textual import getters

    from omnipost_tui.tui.app import OmniPostApp

log = logging.getLogger("omnipost.tui")

# Imported with the screens, before the app starts: textual-image asks the terminal which
# graphics it draws (sixel, kitty's protocol) and its cell size when imported, and cannot once
# Textual reads the keyboard. A terminal that answers nonsense (a size of 0 columns) makes
# that import fail: the editor then works without previews.
graphics: ModuleType | None
_no_graphics = ""
try:
    import textual_image.widget as graphics
except Exception as exc:
    graphics = None
    _no_graphics = f"{type(exc).__name__}: {exc}"

# The preview's box, in cells: small enough that the editor still fits at 80×24.
PREVIEW_WIDTH = 16
PREVIEW_HEIGHT = 8
# A thumbnail this large is sharp in any terminal's 16×8 cells (even with sixel graphics);
# made once per image in a worker, so a 6000×4000 photo is not scaled on every redraw.
THUMBNAIL_PIXELS = (400, 400)
NAME_WIDTH = 14


def image_line(number: int, image: ImageView) -> Text:
    """``1  beans.jpg      JPEG 1200×800   14.2 kB  Green coffee beans``: one row, in columns.

    Every part ends with its own spaces and none starts with one (an SVG viewer drops a
    part's leading spaces: the screenshots would lose the columns)."""
    size = human_size(image.size)
    line = Text(no_wrap=True, overflow="ellipsis", end="")
    line.append(f"{number:<2} ", style="bold")
    line.append(pad(clip(image.name, NAME_WIDTH), NAME_WIDTH + 1))
    pixels = f"{image.width}×{image.height}"
    # The size right-aligned: its padding ends the part before it.
    line.append(f"{image.format:<4} {pixels:<9} {' ' * max(0, 8 - len(size))}", style="dim")
    line.append(f"{size}  ")
    if image.alt:
        line.append(visible_line(image.alt))
    else:
        line.append("no alt text", style="yellow")
    return line


def fit_cells(width: int, height: int, cell_ratio: float = 2.0) -> tuple[int, int]:
    """The cells an image of ``width``×``height`` pixels takes in the preview's box, its
    shape kept (a cell is ``cell_ratio`` times as tall as it is wide)."""
    scale = min(PREVIEW_WIDTH / width, PREVIEW_HEIGHT * cell_ratio / height)
    cells_wide = max(1, min(PREVIEW_WIDTH, round(width * scale)))
    cells_high = max(1, min(PREVIEW_HEIGHT, round(height * scale / cell_ratio)))
    return cells_wide, cells_high


def load_thumbnail(path: Path) -> PILImage:
    """The first frame of the picture at ``path``, in RGB, at most THUMBNAIL_PIXELS."""
    from PIL import Image  # imported only when a picture is shown

    with Image.open(path) as picture:
        picture.draft("RGB", THUMBNAIL_PIXELS)  # a JPEG decodes at a fraction of its size
        picture.seek(0)
        thumbnail = picture.convert("RGB")
    thumbnail.thumbnail(THUMBNAIL_PIXELS)
    return thumbnail


class ImageList(OptionList):
    """The post's pictures in order; the keys act on the highlighted one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # Short words: at 80 columns they fit in the key bar beside the editor's own keys.
        Binding("e,enter", "edit_alt", "Alt", id="editor.image_alt", key_display="e"),
        Binding("left_square_bracket,shift+up", "move(-1)", "Up", id="editor.image_up"),
        Binding("right_square_bracket,shift+down", "move(1)", "Down", id="editor.image_down"),
        Binding("backspace,delete", "remove", "Drop", id="editor.image_remove", key_display="⌫"),
    ]

    class Act(Message):
        """A key asked for something on image ``index``: ``edit``, ``move`` (by ``by``) or
        ``remove``."""

        def __init__(self, what: str, index: int, by: int = 0) -> None:
            super().__init__()
            self.what = what
            self.index = index
            self.by = by

    def _act(self, what: str, by: int = 0) -> None:
        if self.highlighted is not None:
            self.post_message(self.Act(what, self.highlighted, by))

    def action_edit_alt(self) -> None:
        self._act("edit")

    def action_move(self, by: int) -> None:
        self._act("move", by)

    def action_remove(self) -> None:
        self._act("remove")


class AltInput(Input):
    """The alt text of one image, being edited: Enter keeps it, Escape forgets it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel alt text", id="editor.image_alt_cancel"),
    ]

    class Cancelled(Message):
        pass

    def action_cancel(self) -> None:
        self.post_message(self.Cancelled())


class ImagePreview(Vertical):
    """The selected picture, in the terminal's graphics where it has them (sixel, kitty's
    protocol) and in coloured half blocks elsewhere.

    A headless app (the tests' pilot, a screenshot) has no terminal to ask: it always draws
    half blocks, at a size worked out for cells twice as tall as wide, so its pictures are
    the same on every machine."""

    if TYPE_CHECKING:
        app = getters.app(OmniPostApp)  # typed only: importing the app here would be circular

    def compose(self) -> ComposeResult:
        if graphics is not None:
            yield (graphics.HalfcellImage if self.app.is_headless else graphics.Image)(
                id="preview-image"
            )
        else:
            log.warning("image previews are off: textual-image failed (%s)", _no_graphics)
        yield Label("", id="preview-note")

    def show_picture(self, picture: PILImage) -> None:
        if graphics is None:
            self.show_note("no preview in this terminal")
            return
        image = self.query_one("#preview-image")
        if self.app.is_headless:
            width, height = fit_cells(picture.width, picture.height)
            image.styles.width, image.styles.height = width, height
        else:
            image.styles.width = image.styles.height = "auto"
        image.image = picture  # type: ignore[attr-defined]  # textual-image's Image widget
        image.display = True
        self.query_one("#preview-note").display = False

    def show_note(self, note: str) -> None:
        for image in self.query("#preview-image"):
            image.image = None  # type: ignore[attr-defined]  # textual-image's Image widget
            image.display = False
        label = self.query_one("#preview-note", Label)
        label.update(Text(note, style="dim"))
        label.display = True


class ImagesField(ServiceCalls, Vertical):
    """Add, order, describe and remove the post's pictures; posts ``Changed`` on each change.

    ``images`` is the list as it is now, in order (positions renumbered from 1)."""

    if TYPE_CHECKING:
        app = getters.app(OmniPostApp)  # typed only: importing the app here would be circular

    class Changed(Message):
        """The list changed (added, moved, alt text, removed)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.images: list[ImageView] = []
        self._editing: int | None = None  # the image whose alt text is being edited
        self._adding = False
        self._thumbnails: dict[str, PILImage | str] = {}  # by sha256: a picture, or a note

    def compose(self) -> ComposeResult:
        with Horizontal(classes="field"):
            yield Label("Images", classes="name")
            yield PathInput(
                placeholder="path of an image on this machine · Tab completes · Enter adds",
                id="image-path",
                compact=True,
            )
        yield FieldError("", id="image-path-error", classes="field-error")
        yield Label("", id="image-hint", classes="field-hint")
        with Horizontal(id="image-area"):
            with Vertical(id="image-side"):
                yield ImageList(id="image-list", compact=True)
                with Horizontal(id="alt-field"):
                    yield Label("", id="alt-name")
                    yield AltInput(
                        placeholder="alt text: what the picture shows", id="alt-input", compact=True
                    )
                yield FieldError("", id="alt-error")
                yield Label("", id="image-detail")
            yield ImagePreview(id="image-preview")
        yield FieldError("", id="images-error", classes="field-error")

    def on_mount(self) -> None:
        self.query_one("#image-hint").display = False
        self._show_list()

    # --- the list --------------------------------------------------------------------------

    def set_images(self, images: Iterable[ImageView]) -> None:
        """The post's pictures as loaded (not a change)."""
        self.images = list(images)
        self._show_list()

    def _renumbered(self, images: Sequence[ImageView]) -> list[ImageView]:
        return [replace(image, position=n) for n, image in enumerate(images, start=1)]

    def _changed(self, images: Sequence[ImageView], highlight: int | None) -> None:
        self.images = self._renumbered(images)
        self._show_list(highlight)
        self.post_message(self.Changed())

    def _show_list(self, highlight: int | None = None) -> None:
        listing = self.query_one("#image-list", ImageList)
        before = listing.highlighted if highlight is None else highlight
        listing.set_options(image_line(n, image) for n, image in enumerate(self.images, 1))
        if self.images:
            listing.highlighted = min(before or 0, len(self.images) - 1)
        self.query_one("#image-area").display = bool(self.images)
        self._show_selected()

    @property
    def _looking(self) -> bool:
        """True while focus is on the list or the alt text: the preview shows then."""
        focused = self.screen.focused if self.is_attached else None
        return focused is not None and focused.id in ("image-list", "alt-input")

    def on_descendant_focus(self) -> None:
        self._show_selected()

    def on_descendant_blur(self) -> None:
        self.call_after_refresh(self._show_selected)

    @on(OptionList.OptionHighlighted, "#image-list")
    def _highlighted(self) -> None:
        self._show_selected()

    def _selected(self) -> int | None:
        if self._editing is not None:
            return self._editing
        return self.query_one("#image-list", ImageList).highlighted

    def _show_selected(self) -> None:
        if not self.is_attached:
            return  # the editor closed meanwhile
        preview = self.query_one("#image-preview", ImagePreview)
        detail = self.query_one("#image-detail", Label)
        index = self._selected()
        looking = self._looking and index is not None and index < len(self.images)
        preview.display = looking
        detail.display = looking and self._editing is None
        if not looking or index is None:
            return
        image = self.images[index]
        detail.update(self._detail(image))
        known = self._thumbnails.get(image.sha256)
        if isinstance(known, str):
            preview.show_note(known)
        elif known is not None:
            preview.show_picture(known)
        else:
            preview.show_note("loading…")
            path = media_path(self.app.ctx.settings.paths, image.sha256, image.format)
            self.call(
                load_thumbnail,
                path,
                done=lambda picture: self._thumbnail_loaded(image.sha256, picture),
                failed=lambda exc: self._thumbnail_failed(image.sha256, path, exc),
                group="image-preview",
                exclusive=True,
            )

    def _detail(self, image: ImageView) -> Text:
        """The selected picture's name and alt text in full (its row may cut them)."""
        text = Text(visible_line(image.name), style="bold")
        if image.alt:
            text.append(f"\nalt: {visible_line(image.alt)}")
        else:
            text.append("\nno alt text: e adds it (screen readers say what a picture shows)")
        return text

    def _thumbnail_loaded(self, sha256: str, picture: PILImage) -> None:
        self._thumbnails[sha256] = picture
        self._show_selected()

    def _thumbnail_failed(self, sha256: str, path: Path, exc: BaseException) -> None:
        gone = isinstance(exc, FileNotFoundError) or not path.is_file()
        self._thumbnails[sha256] = "file gone from the media directory" if gone else "no preview"
        self._show_selected()

    @on(ImageList.Act)
    def _act(self, event: ImageList.Act) -> None:
        event.stop()
        index = event.index
        if event.what == "edit":
            self._edit_alt(index)
        elif event.what == "move":
            to = index + event.by
            if 0 <= to < len(self.images):
                images = list(self.images)
                images.insert(to, images.pop(index))
                self._changed(images, to)
        elif event.what == "remove":
            images = list(self.images)
            del images[index]
            self._changed(images, min(index, len(images) - 1) if images else None)
            if not images:
                self.query_one("#image-path", PathInput).focus()

    # --- alt text ----------------------------------------------------------------------------

    def _edit_alt(self, index: int) -> None:
        self._editing = index
        field = self.query_one("#alt-input", AltInput)
        field.value = self.images[index].alt
        self.query_one("#alt-name", Label).update(f"alt {index + 1} ")
        self.query_one("#alt-field").display = True
        self.query_one("#alt-error", FieldError).show([])
        field.focus()
        field.cursor_position = len(field.value)

    def _stop_editing(self) -> None:
        self._editing = None
        self.query_one("#alt-field").display = False
        self.query_one("#alt-error", FieldError).show([])
        self.query_one("#image-list", ImageList).focus()

    @on(Input.Submitted, "#alt-input")
    def _alt_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        index = self._editing
        if index is None:
            return
        alt = event.value.strip()
        problem = alt_problem(self.app.ctx.settings, alt)
        if problem:
            self.query_one("#alt-error", FieldError).show([problem])
            return
        self._stop_editing()
        if alt != self.images[index].alt:
            images = list(self.images)
            images[index] = replace(images[index], alt=alt)
            self._changed(images, index)

    @on(AltInput.Cancelled)
    def _alt_cancelled(self, event: AltInput.Cancelled) -> None:
        event.stop()
        self._stop_editing()

    @on(Input.Changed, "#alt-input")
    def _alt_typed(self, event: Input.Changed) -> None:
        event.stop()  # not a change of the post until Enter
        problem = alt_problem(self.app.ctx.settings, event.value.strip())
        self.query_one("#alt-error", FieldError).show([problem])

    # --- adding --------------------------------------------------------------------------------

    @on(Input.Changed, "#image-path")
    def _path_typed(self, event: Input.Changed) -> None:
        event.stop()  # a path typed is not a change of the post until it is added
        self.query_one("#image-path-error", FieldError).show([])
        if not self._adding:
            self._hint(None)

    @on(PathInput.Completed)
    def _completed(self, event: PathInput.Completed) -> None:
        event.stop()
        if not event.matches:
            self._hint(None)
            return
        shown = "  ".join(visible_line(name) for name in event.matches)
        self._hint(Text(f"{len(event.matches)} matches: {shown}", style="dim"))

    def _hint(self, text: Text | None) -> None:
        hint = self.query_one("#image-hint", Label)
        hint.update(text or "")
        hint.display = text is not None

    @on(Input.Submitted, "#image-path")
    def _path_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        path = event.value.strip()
        if self._adding:
            return
        if not path:
            self.query_one("#image-path-error", FieldError).show(["type the path of an image"])
            return
        self._adding = True
        self._hint(Text(f"adding {visible_line(path)}…", style="dim"))
        self.call(
            add_file,
            self.app.ctx,
            path,
            done=self._added,
            failed=self._add_failed,
            group="image-add",
        )

    def _added(self, image: ImageView) -> None:
        self._adding = False
        self._hint(None)
        same = next(
            (n for n, known in enumerate(self.images, 1) if known.sha256 == image.sha256), 0
        )
        if same:
            self._refuse(f"{visible_line(image.name)} is already image {same} of this post")
            return
        self.query_one("#image-path", PathInput).value = ""
        self._changed([*self.images, image], len(self.images))

    def _add_failed(self, exc: BaseException) -> None:
        self._adding = False
        self._hint(None)
        if isinstance(exc, OmniPostError):
            self._refuse(visible_line(exc.message))
        else:
            self._refuse("something went wrong; nothing was added")
            self.app.report_error(exc)

    def _refuse(self, message: str) -> None:
        self.query_one("#image-path-error", FieldError).show([message])

    def unadded_path(self) -> bool:
        """True (and said under the field) when a path is typed but not added: saving now
        would leave out a picture the user meant to attach."""
        if self._adding:
            return True  # its hint says "adding …": it is in the list in a moment
        field = self.query_one("#image-path", PathInput)
        if not field.value.strip():
            return False
        self._refuse("not added yet: Enter adds it (or empty the field to save without it)")
        field.focus()
        return True

    def unkept_alt(self) -> bool:
        """True (and said under the field) when alt text is typed but not kept: saving now
        would drop what the user wrote, as a typed path not added would drop the picture."""
        index = self._editing
        if index is None:
            return False
        field = self.query_one("#alt-input", AltInput)
        if field.value.strip() == self.images[index].alt:
            return False
        self.query_one("#alt-error", FieldError).show(
            ["not kept yet: Enter keeps it (or Esc to save without it)"]
        )
        field.focus()
        return True

    # --- problems from the full check --------------------------------------------------------

    def show_problem(self, problem: str | None) -> None:
        self.query_one("#images-error", FieldError).show([problem])
