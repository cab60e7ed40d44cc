"""The editor: write a post and choose where and when it goes out, checked as you type.

One row per account of the post's brand: include it, give it a time (empty = draft) and,
optionally, its own text. Counters, previews and parsed times update on every key; the full
check (``check_plan``) runs in a worker shortly after typing stops, and ``save_plan`` writes
everything in one transaction or nothing. Variants that already went out are shown read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Checkbox, Input, Label, Select, TextArea

from omnipost_tui import clock
from omnipost_tui.errors import OmniPostError
from omnipost_tui.image_modes import IMAGES_INHERIT
from omnipost_tui.models import CONNECTED
from omnipost_tui.services.accounts import list_accounts
from omnipost_tui.services.brands import list_brands
from omnipost_tui.services.compose import (
    LoadedPost,
    PlanInvalid,
    PostPlan,
    SaveResult,
    check_plan,
    load_post,
    save_plan,
)
from omnipost_tui.services.variants import get_variant
from omnipost_tui.services.views import AccountView, BrandView, ImageView
from omnipost_tui.states import DRAFT
from omnipost_tui.tui.base import ServiceCalls
from omnipost_tui.tui.format import local, shown
from omnipost_tui.tui.screens.confirm import ConfirmScreen
from omnipost_tui.tui.screens.preview import PreviewScreen, VariantImages
from omnipost_tui.tui.toasts import ToastsOffTheCursor
from omnipost_tui.tui.widgets.frame import KeyBar
from omnipost_tui.tui.widgets.images import ImagesField
from omnipost_tui.tui.widgets.variant_row import (
    FieldError,
    LockedRow,
    VariantRow,
    describe_effects,
    saved_effect,
)

# A new variant on a day picked in the calendar goes out at this local time by default.
DEFAULT_HOUR = 9
POST_FIELDS = ("brand", "title", "text", "link")


@dataclass(frozen=True)
class EditorData:
    """Everything the editor needs to open, read in one worker call."""

    brands: list[BrandView]
    accounts: list[AccountView]
    loaded: LoadedPost | None


def load_editor(ctx, post_id: int | None, variant_id: int | None) -> EditorData:
    if post_id is None and variant_id is not None:
        post_id = get_variant(ctx, variant_id).post_id
    loaded = load_post(ctx, post_id) if post_id is not None else None
    # Brands and accounts are only named here; the post's text stays as stored (editable).
    brands = [shown(b) for b in list_brands(ctx)]
    return EditorData(brands, [shown(a) for a in list_accounts(ctx)], loaded)


def default_time(day: date, tz: ZoneInfo, now: datetime) -> str:
    """09:00 on ``day``, or the next full hour when that is already past today."""
    local_now = now.astimezone(tz)
    at = datetime.combine(day, time(DEFAULT_HOUR), tz)
    if day == local_now.date() and at <= local_now:
        at = (local_now + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    return at.strftime("%Y-%m-%d %H:%M")


class EditorScreen(ServiceCalls, ToastsOffTheCursor, Screen[bool]):
    """Create or edit a post and its variants; dismisses True when something was saved.

    Its bottom lines are the save summary and the key bar, as the other screens' are their
    status bar and key bar: notifications stay above them and off the focused field."""

    CSS_PATH = "editor.tcss"
    BOTTOM_BARS = "#summary, KeyBar"  # what notifications never cover (ToastsOffTheCursor)
    TOP_BARS = "#heading"
    # Typing pauses this long before the full check runs (it reads the database).
    CHECK_DELAY = 0.3
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="editor.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="editor.cancel"),
        Binding("ctrl+o,f2", "preview", "Preview", id="editor.preview"),
        # The app's keys, made safe: leaving the editor asks before unsaved work is lost.
        Binding("1", "leave('calendar')", "Calendar", id="screen.calendar", show=False),
        Binding("2", "leave('variants')", "Variants", id="screen.variants", show=False),
        Binding("3", "leave('attempts')", "Attempts", id="screen.attempts", show=False),
        Binding("4", "leave('accounts')", "Accounts", id="screen.accounts", show=False),
        Binding("q", "leave('quit')", "Quit", id="app.quit", show=False),
    ]

    def __init__(
        self,
        post_id: int | None = None,
        variant_id: int | None = None,
        day: date | None = None,
        account_id: int | None = None,
    ) -> None:
        """Edit ``post_id`` (or the post of ``variant_id``), or write a new post: on ``day``
        (times prefilled) and for ``account_id`` (the only account ticked at first)."""
        super().__init__()
        self.post_id = post_id
        self.variant_id = variant_id
        self.day = day
        self.account_id = account_id
        self.data: EditorData | None = None
        self._initial: tuple | None = None  # the form as opened, to tell unsaved changes
        self._check_timer: Timer | None = None
        self._edits = 0  # bumped on every change
        self._checked = -1  # the edit number the shown problems belong to
        self._problems: dict[str, str] = {}
        self._touched: set[str] = set()
        self._saving = False
        self._save_attempted = False  # after ctrl+s every problem shows, touched or not
        self._save_error = ""
        self._rows_brand: int | None = None  # the brand the variant rows were built for

    # --- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Label(self._heading(), id="heading")
        with VerticalScroll(id="form"):
            yield Label("loading…", id="empty")
            with Vertical(id="post"):
                with Horizontal(classes="field"):
                    yield Label("Brand", classes="name")
                    # Never blank: a post always has a brand (the real options come on load).
                    yield Select[int]([("…", 0)], allow_blank=False, id="brand", compact=True)
                    yield Label("", id="brand-note")
                yield FieldError("", id="brand-error", classes="field-error")
                with Horizontal(classes="field"):
                    yield Label("Title", classes="name")
                    yield Input(placeholder="what the post is about", id="title", compact=True)
                yield FieldError("", id="title-error", classes="field-error")
                with Horizontal(classes="field", id="text-field"):
                    yield Label("Text", classes="name")
                    yield TextArea(id="text", compact=True, soft_wrap=True)
                yield FieldError("", id="text-error", classes="field-error")
                with Horizontal(classes="field"):
                    yield Label("Link", classes="name")
                    yield Input(placeholder="https://… (optional)", id="link", compact=True)
                yield FieldError("", id="link-error", classes="field-error")
                yield Label(
                    Text(
                        "with images the link goes into the text: no link card with pictures",
                        style="dim",
                    ),
                    id="link-hint",
                    classes="field-hint",
                )
                yield ImagesField(id="images")
                yield Label("", id="variants-head")
                yield Vertical(id="rows")
                yield Vertical(id="locked")
        yield Label("", id="summary")
        yield KeyBar()

    def _heading(self) -> Text:
        text = Text(" OmniPost ", style="bold reverse")
        if self.data is not None and self.data.loaded is not None:
            post = self.data.loaded.post
            text.append(f"  Edit post {post.id} · {post.brand_name}")
        elif self.post_id is not None or self.variant_id is not None:
            text.append("  Edit post")
        else:
            text.append("  New post")
        return text

    def on_mount(self) -> None:
        self.query_one("#post").display = False
        self.call(
            load_editor,
            self.app.ctx,
            self.post_id,
            self.variant_id,
            done=self._loaded,
            failed=self._load_failed,
            group="load",
            exclusive=True,
        )

    def on_resize(self) -> None:
        # The text grows with the terminal: 5 lines at 80×24, up to 14 on a tall one.
        self.query_one("#text", TextArea).styles.height = max(4, min(14, self.size.height - 19))

    def _load_failed(self, exc: BaseException) -> None:
        self.app.report_error(exc)
        self.dismiss(False)

    async def _loaded(self, data: EditorData) -> None:
        self.data = data
        self.query_one("#heading", Label).update(self._heading())
        if not data.brands:
            self.query_one("#empty", Label).update(
                "There is no brand to post for yet: add a brand and an account first: press 4\n"
                "(the Accounts screen).  Esc goes back."
            )
            self._summary(Text("nothing to save", style="dim"))
            return
        self.query_one("#empty").display = False
        self.query_one("#post").display = True
        loaded = data.loaded
        brand = self.query_one("#brand", Select)
        brand.set_options([(b.name, b.id) for b in data.brands])
        if loaded is not None:
            plan = loaded.plan
            brand.value = loaded.post.brand_id
            brand.disabled = True
            self.query_one("#brand-note", Label).update(
                Text("a post stays with its brand", style="dim")
            )
            self.query_one("#title", Input).value = plan.title
            self.query_one("#text", TextArea).text = plan.text
            self.query_one("#link", Input).value = plan.link or ""
            self._images_field.set_images(plan.images or ())
        else:
            opened_for = next((a for a in data.accounts if a.id == self.account_id), None)
            brand.value = opened_for.brand_id if opened_for else data.brands[0].id
        await self._build_rows(self._brand_id())
        self._initial = self._state()
        self._focus_start()
        self._changed()

    def _brand_id(self) -> int | None:
        value = self.query_one("#brand", Select).value
        return value if isinstance(value, int) else None

    async def _build_rows(self, brand_id: int | None) -> None:
        """Rows for ``brand_id``: existing variants first as they are, then one new row per
        account that has no variant still to go out."""
        assert self.data is not None
        self._rows_brand = brand_id
        tz, now = self.app.tz, clock.now()
        loaded = self.data.loaded
        accounts = [a for a in self.data.accounts if a.brand_id == brand_id]
        by_id = {a.id: a for a in self.data.accounts}
        rows: list[VariantRow] = []
        taken: set[int] = set()
        if loaded is not None:
            for view in loaded.editable:
                account = by_id.get(view.account_id)
                if account is None:
                    continue  # removed meanwhile: load_post put it in `locked` next time
                when = ""
                if view.status != DRAFT and view.scheduled_at is not None:
                    when = local(view.scheduled_at, tz)
                rows.append(VariantRow(account, view, when=when, included=True))
                taken.add(account.id)
        prefill = default_time(self.day, tz, now) if self.day is not None else ""
        for account in accounts:
            if account.id in taken:
                continue
            usable = account.status == CONNECTED
            rows.append(
                VariantRow(
                    account,
                    when=prefill if usable else "",
                    # Every account is a choice: only the one the editor was opened for
                    # starts ticked (a post that went everywhere by default surprised people).
                    included=loaded is None and account.id == self.account_id,
                )
            )
        container = self.query_one("#rows", Vertical)
        await container.remove_children()
        await container.mount_all(rows)
        for row in rows:
            row.set_included(row.initially_included)
        locked = self.query_one("#locked", Vertical)
        await locked.remove_children()
        if loaded is not None and loaded.locked:
            await locked.mount(Label(Text("Already out (read-only)", style="bold")))
            await locked.mount_all([LockedRow(item) for item in loaded.locked])
        head = self.query_one("#variants-head", Label)
        if not rows and not (loaded and loaded.locked):
            name = next((b.name for b in self.data.brands if b.id == brand_id), "this brand")
            head.update(
                Text(
                    f"Variants — {name} has no accounts: add one first (Esc, then 4). "
                    "The post can be saved without variants.",
                    style="yellow",
                )
            )
        else:
            head.update(
                Text.assemble(
                    ("Variants", "bold"),
                    ("  Space includes an account · a time schedules it, empty = draft", "dim"),
                )
            )

    def _focus_start(self) -> None:
        if self.variant_id is not None:
            key = f"v{self.variant_id}"
            for row in self.query(".variant").results(VariantRow):
                if row.key == key:
                    target = row.query_one(".when", Input)
                    if not target.disabled:
                        target.focus()
                        self.call_after_refresh(row.scroll_visible, animate=False)
                        return
            for locked in self.query(".locked").results(LockedRow):
                if locked.key == key:
                    locked.focus()
                    self.call_after_refresh(locked.scroll_visible, animate=False)
                    return
        self.query_one("#title", Input).focus()

    # --- reacting to edits ---------------------------------------------------------------

    def _rows(self) -> list[VariantRow]:
        return list(self.query(".variant").results(VariantRow))

    @property
    def _images_field(self) -> ImagesField:
        return self.query_one("#images", ImagesField)

    @property
    def images(self) -> tuple[ImageView, ...]:
        """The post's pictures as the form has them now, in order."""
        return tuple(self._images_field.images)

    def _state(self) -> tuple:
        return (
            self._brand_id(),
            self.query_one("#title", Input).value,
            self.query_one("#text", TextArea).text,
            self.query_one("#link", Input).value,
            tuple((image.sha256, image.alt) for image in self.images),
            tuple(row.state() for row in self._rows()),
        )

    @property
    def dirty(self) -> bool:
        return self._initial is not None and self._state() != self._initial

    @property
    def checked(self) -> bool:
        """True when the problems shown belong to the form as it is now."""
        return self._checked == self._edits

    @on(Input.Changed)
    @on(TextArea.Changed)
    @on(Checkbox.Changed)
    def _field_changed(self, event: Input.Changed | TextArea.Changed | Checkbox.Changed) -> None:
        if self.data is None or self._initial is None:
            return  # the form is not built yet
        if event.control.id in POST_FIELDS:
            self._touched.add(event.control.id)
        if isinstance(event, Checkbox.Changed):
            row = next((a for a in event.checkbox.ancestors if isinstance(a, VariantRow)), None)
            if row is not None:
                row.set_included(event.value)
        self._changed()

    @on(ImagesField.Changed)
    def _images_changed(self) -> None:
        if self.data is not None and self._initial is not None:
            self._changed()

    @on(Select.Changed, "#brand")
    async def _brand_changed(self) -> None:
        if self.data is None or self._initial is None or self.data.loaded is not None:
            return
        if self._brand_id() == self._rows_brand:
            return
        await self._build_rows(self._brand_id())
        self._changed()

    def _changed(self) -> None:
        """Local things now (counters, times, previews); the full check once typing pauses."""
        self._edits += 1
        self._save_error = ""
        self._update_live()
        if self._check_timer is not None:
            self._check_timer.stop()
        self._check_timer = self.set_timer(self.CHECK_DELAY, self._run_check)

    def _update_live(self) -> None:
        tz, now = self.app.tz, clock.now()
        text = self.query_one("#text", TextArea).text
        for row in self._rows():
            row.update_live(text, tz, now)
        link = self.query_one("#link", Input).value.strip()
        self.query_one("#link-hint").display = bool(link and self.images)

    # --- the full check ------------------------------------------------------------------

    def _plan(self) -> tuple[PostPlan, list[VariantRow]]:
        """The form as a plan, and which row each of its variants came from."""
        tz, now = self.app.tz, clock.now()
        included = [row for row in self._rows() if row.included]
        loaded = self.data.loaded if self.data else None
        brand = self._brand_id()
        plan = PostPlan(
            brand=brand if brand is not None else "",
            title=self.query_one("#title", Input).value,
            text=self.query_one("#text", TextArea).text,
            link=self.query_one("#link", Input).value.strip() or None,
            variants=tuple(row.plan(tz, now) for row in included),
            post_id=loaded.post.id if loaded else None,
            # Always the list as it is: an emptied list removes the post's pictures.
            images=self.images,
        )
        return plan, included

    def _run_check(self) -> None:
        self._check_timer = None
        if self.data is None or not self.data.brands:
            return
        plan, rows = self._plan()
        edit = self._edits
        self.call(
            check_plan,
            self.app.ctx,
            plan,
            done=lambda problems: self._show_problems(problems, rows, edit),
            group="check",
            exclusive=True,
        )

    def _show_problems(self, problems: dict[str, str], rows: list[VariantRow], edit: int) -> None:
        if edit != self._edits:
            return  # the form changed meanwhile; a newer check is on its way
        self._checked = edit
        self._problems = problems
        self._apply_problems(problems, rows)

    def _apply_problems(self, problems: dict[str, str], rows: list[VariantRow]) -> None:
        """Each problem next to its field; ``rows[i]`` is the row of the plan's variant i."""
        tz, now = self.app.tz, clock.now()
        new_post = self.data is not None and self.data.loaded is None
        names: list[str] = []  # where the problems are, for the summary line
        hidden = 0  # problems of fields not touched yet
        for name in POST_FIELDS:
            message = problems.get(name)
            # A new, empty form is not a list of mistakes: fields speak up once touched.
            shown = name in self._touched or not new_post or self._save_attempted
            if message:
                names.append(name)
                hidden += not shown
            self.query_one(f"#{name}-error", FieldError).show([message] if shown else [])
        self._images_field.show_problem(problems.get("images"))
        if problems.get("images"):
            names.append("images")
        if problems.get("post"):
            names.append(problems["post"])
        index_of = {row: index for index, row in enumerate(rows)}
        for row in self._rows():
            messages = []
            time_problem = row.time_problem(tz, now)
            if time_problem:
                messages.append(time_problem)
            index = index_of.get(row)
            parts = ("variant", "account", "at", "text", "images") if index is not None else ()
            for part in parts:
                message = problems.get(f"variant.{index}.{part}")
                if message and part == "text" and message == "text is empty" and "text" in problems:
                    continue  # the post's own text field says it already
                if message:
                    messages.append(message)
            row.show_problems(messages)
            if messages:
                names.append(f"{row.short_name} ({len(messages)})")
        self._show_summary(names, rows, quiet=hidden == len(names))

    def _show_summary(self, names: list[str], rows: list[VariantRow], quiet: bool = False) -> None:
        if self._save_error:
            self._summary(Text(f"✗ not saved: {self._save_error}"), "-error")
            return
        if names and quiet:
            self._summary(Text(f"to save, fill in: {', '.join(names)}", style="dim"))
            return
        if names:
            self._summary(Text(f"✗ fix to save: {', '.join(names)}"), "-error")
            return
        tz, now = self.app.tz, clock.now()
        effects = describe_effects([row.save_effect(tz, now) for row in rows], tz)
        editing = self.data is not None and self.data.loaded is not None
        changes = "no changes · " if editing and not self.dirty else ""
        self._summary(Text(f"✓ {changes}ctrl+s saves: {effects}"), "-ready")

    def _summary(self, text: Text, kind: str = "") -> None:
        label = self.query_one("#summary", Label)
        label.update(text)
        label.set_class(kind == "-error", "-error")
        label.set_class(kind == "-ready", "-ready")

    # --- actions -------------------------------------------------------------------------

    def action_save(self) -> None:
        if self.data is None or not self.data.brands or self._saving:
            return
        self._save_attempted = True
        if self._images_field.unadded_path() or self._images_field.unkept_alt():
            return
        tz, now = self.app.tz, clock.now()
        bad_times = [row for row in self._rows() if row.time_problem(tz, now)]
        if bad_times:
            # An unreadable time must not quietly save as a draft.
            self._apply_problems(self._problems, self._plan()[1])
            bad_times[0].query_one(".when", Input).focus()
            return
        plan, rows = self._plan()
        self._saving = True
        self._summary(Text("saving…", style="dim"))
        self.call(
            save_plan,
            self.app.ctx,
            plan,
            done=self._saved,
            failed=lambda exc: self._save_failed(exc, rows),
            group="save",
        )

    def _saved(self, result: SaveResult) -> None:
        self._saving = False
        effects = describe_effects(map(saved_effect, result.variants), self.app.tz)
        self.notify(f"post {result.post.id} saved: {effects}", title="Saved")
        self.dismiss(True)

    def _save_failed(self, exc: BaseException, rows: list[VariantRow]) -> None:
        self._saving = False
        if isinstance(exc, PlanInvalid):
            self._problems = exc.problems
            self._checked = self._edits
            self._apply_problems(exc.problems, rows)
            return
        if isinstance(exc, OmniPostError):
            self._save_error = exc.message
            self._apply_problems(self._problems, rows)
            return
        self._summary(Text("✗ not saved: something went wrong", style="bold red"), "-error")
        self.app.report_error(exc)

    def action_cancel(self) -> None:
        self._leave(lambda: None)

    def action_leave(self, target: str) -> None:
        def go() -> None:
            if target == "quit":
                self.app.exit()
            else:
                self.app.call_later(self.app.action_show, target)

        self._leave(go)

    def _leave(self, then) -> None:
        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(False)
                then()

        if self.dirty and not self._saving:
            self.app.push_screen(
                ConfirmScreen(
                    "Discard changes?",
                    Text("This post has unsaved changes. They will be lost."),
                    "discard",
                ),
                answered,
            )
        else:
            answered(True)

    def action_preview(self) -> None:
        if self.data is None or not self.data.brands:
            return
        text = self.query_one("#text", TextArea).text
        link = self.query_one("#link", Input).value.strip() or None
        focused = self.focused
        items: list[tuple[str, str, str, str | None]] = []
        images: list[VariantImages] = []
        for node in focused.ancestors_with_self if focused else ():
            if isinstance(node, VariantRow):
                items = [(node.account.platform, node.account.name, node.final_text(text), link)]
                images = [self._images_of(node)]
            elif isinstance(node, LockedRow):
                variant = node.locked.variant
                items = [(variant.platform, variant.account_name, variant.text, variant.link)]
                images = [VariantImages(variant.images_mode, image_names(variant.images))]
        if not items:
            included = [row for row in self._rows() if row.included]
            items = [
                (row.account.platform, row.account.name, row.final_text(text), link)
                for row in included
            ]
            images = [self._images_of(row) for row in included]
        self.app.push_screen(PreviewScreen(items, images))

    def _images_of(self, row: VariantRow) -> VariantImages:
        """What the row's variant publishes: the form's pictures, unless it has its own (or
        none), which the editor leaves as they are."""
        existing = row.existing
        if existing is not None and existing.images_mode != IMAGES_INHERIT:
            return VariantImages(existing.images_mode, image_names(existing.images))
        return VariantImages(IMAGES_INHERIT, image_names(self.images))


def image_names(images: tuple[ImageView, ...]) -> tuple[str, ...]:
    return tuple(image.name for image in images)
