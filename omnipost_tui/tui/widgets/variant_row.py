"""One account's row in the editor, and what it shows: include it, when (empty = draft), its
own text, its live counter and problems; a variant that already went out is a read-only row.
The editor screen (tui/screens/editor.py) lays them out and saves them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, cast
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.geometry import Size
from textual.widgets import Checkbox, Input, Label, Static

from omnipost_tui.connectors.little_text import HASHTAG, MENTION, URL, segments
from omnipost_tui.errors import ValidationError
from omnipost_tui.models import CONNECTED
from omnipost_tui.platforms import LABELS, LINKEDIN, SHORT_LABELS, TEXT_LIMITS
from omnipost_tui.services.compose import LockedVariant, VariantPlan
from omnipost_tui.services.views import AccountView, VariantView
from omnipost_tui.states import DRAFT, SCHEDULED, on_save
from omnipost_tui.text import visible
from omnipost_tui.times import format_duration, parse_when
from omnipost_tui.tui.format import STATUS_ICONS, STATUS_STYLES, first_line, local, shown

if TYPE_CHECKING:
    from textual import getters
    from textual.css.styles import RulesMap

    from omnipost_tui.tui.app import OmniPostApp

TIME_HINT = "+2h or ISO time"


def counter_text(platform: str, text: str, *, named: bool = True) -> Text:
    """``LinkedIn 3,120/3,000 ✗ 120 too many``: the text as written, against the limit."""
    limit = TEXT_LIMITS[platform]
    size = len(text)
    out = Text(f"{LABELS[platform]} " if named else "")
    out.append(f"{size:,}/{limit:,} ")
    if not text.strip():
        out.append("– no text yet", style="yellow")
    elif size > limit:
        out.append(f"✗ {size - limit:,} too many", style="bold red")
    else:
        out.append("✓", style="green")
    return out


def rough_relative(at: datetime, now: datetime) -> str:
    """``in 3d`` or ``2h ago``: the largest unit only, so it fits beside the time."""
    seconds = (at - now).total_seconds()
    if abs(seconds) < 60:
        return "now"
    size = format_duration(seconds).split()[0]
    return f"in {size}" if seconds > 0 else f"{size} ago"


def status_tag(status: str, variant_id: int) -> Text:
    return Text(
        f"{STATUS_ICONS.get(status, ' ')} {status} #{variant_id}",
        style=STATUS_STYLES.get(status, ""),
    )


# How LinkedIn will show the elements of its little format (connectors/little_text.py).
LITTLE_STYLES = {MENTION: "bold underline", HASHTAG: "bold", URL: "underline"}


def shown_text(platform: str, text: str) -> Text:
    """``text`` as readers of ``platform`` will see it: on LinkedIn a mention written as
    ``@[Acme](urn:li:organization:1)`` shows as its name, and hashtags and links stand out."""
    text = visible(text)  # as typed or stored; a control character shows as a symbol
    if platform != LINKEDIN:
        return Text(text)
    out = Text()
    for part in segments(text):
        out.append(part.shown, style=LITTLE_STYLES.get(part.kind, ""))
    return out


def final_text(post_text: str, custom: str) -> str:
    return custom if custom.strip() else post_text


class FieldError(Label):
    """A problem shown right under its field; takes no space when there is none."""

    def show(self, problems: Iterable[str | None]) -> None:
        lines = [p for p in problems if p]
        self.update("\n".join(f"✗ {p}" for p in lines))
        self.display = bool(lines)


class IncludeBox(Checkbox):
    """A checkbox that reads ``[x]`` or ``[ ]``: the state is in the characters, so it shows in
    every theme and in 16 colours (Textual's ``▐X▌`` is the same two glyphs either way).

    Drawn through the public ``render`` and ``get_content_width``: the box and the label as
    Textual's ToggleButton lays them out (button first, the label padded by one)."""

    def box(self) -> Content:
        mark = "x" if self.value else " "
        return Content.assemble("[", (mark, self.get_visual_style("toggle--button")), "]")

    def render(self) -> Content:
        label = self.label.pad(1, 1).stylize_before(self.get_visual_style("toggle--label"))
        return Content.assemble(self.box(), label)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        # Textual documents ``rules`` as "such as the Widget's styles object", and passes that
        # itself; only its RulesMap hint is narrower.
        rules = cast("RulesMap", self.styles)
        label = self.label.get_optimal_width(rules, 0)
        return self.box().get_optimal_width(rules, 0) + (label + 2 if label else 0)


@dataclass(frozen=True)
class SaveEffect:
    """What saving the form does to one variant (scheduled, a draft, or left as it is), as
    the summary line and the saved message say it."""

    what: str  # "scheduled", "draft", or "left retrying" / "left failed" (kept as it is)
    name: str  # ``FB Acme Coffee``
    at: datetime | None = None


EFFECT_ORDER = ("scheduled", "left retrying", "left failed", DRAFT)


def short_name(platform: str, account_name: str) -> str:
    """``LI Acme Coffee Co.``: how a variant's account is named in one line."""
    return f"{SHORT_LABELS.get(platform, platform)} {account_name}"


def describe_effects(effects: Iterable[SaveEffect], tz: ZoneInfo) -> str:
    """``1 scheduled (FB Acme Coffee, Tue 02 Dec 09:30) · 2 drafts (LI Acme; FB North)``."""
    groups: dict[str, list[str]] = {}
    for effect in effects:
        detail = effect.name
        if effect.what != DRAFT and effect.at is not None:
            detail += f", {local(effect.at, tz, '%a %d %b %H:%M')}"
        groups.setdefault(effect.what, []).append(detail)
    parts = []
    for what in sorted(groups, key=lambda w: EFFECT_ORDER.index(w)):
        details = groups[what]
        label = f"draft{'s' if len(details) != 1 else ''}" if what == DRAFT else what
        parts.append(f"{len(details)} {label} ({'; '.join(details)})")
    return " · ".join(parts) or "the post only, no account"


def effect_name(status: str) -> str:
    """A status after saving as the summary says it: ``scheduled``, ``draft``, or ``left
    retrying`` / ``left failed`` for a variant saving kept as it was."""
    return status if status in (SCHEDULED, DRAFT) else f"left {status}"


def saved_effect(variant: VariantView) -> SaveEffect:
    return SaveEffect(
        effect_name(variant.status),
        short_name(variant.platform, variant.account_name),
        variant.scheduled_at,
    )


class VariantRow(Vertical):
    """One account of the brand: include it, when (empty = draft), its own text, live counts."""

    if TYPE_CHECKING:
        app = getters.app(OmniPostApp)  # typed only: importing the app here would be circular

    def __init__(
        self,
        account: AccountView,
        existing: VariantView | None = None,
        *,
        when: str = "",
        included: bool = False,
    ) -> None:
        super().__init__(classes="variant")
        self.account = account
        self.existing = existing
        self.initial_when = when
        self.initially_included = included
        self.expired = account.status != CONNECTED

    @property
    def key(self) -> str:
        return f"v{self.existing.id}" if self.existing else f"a{self.account.id}"

    @property
    def short_name(self) -> str:
        """``LI Acme Coffee Co.``: how the row is named in the summary line."""
        return short_name(self.account.platform, self.account.name)

    def compose(self) -> ComposeResult:
        label = Text(self.short_name)
        existing = self.existing
        with Horizontal(classes="head"):
            yield IncludeBox(
                label,
                value=self.initially_included,
                compact=True,
                # An existing variant stays in the post; an empty time turns it into a draft.
                disabled=existing is not None,
                classes="include",
            )
            placeholder = TIME_HINT
            if existing is not None and existing.status == DRAFT and existing.scheduled_at:
                planned = local(existing.scheduled_at, self.app.tz, "%m-%d %H:%M")
                placeholder = f"plan: {planned}"
            yield Input(
                value=self.initial_when,
                placeholder=placeholder,
                compact=True,
                classes="when",
                disabled=not self.initially_included,
            )
            yield Label("", classes="when-note")
        with Horizontal(classes="own"):
            if existing is not None:
                tag = status_tag(existing.status, existing.id)
            elif self.expired:
                tag = Text(f"⚠ {self.account.status}: draft only", style="yellow")
            else:
                tag = Text("new", style="dim")
            yield Label(tag, classes="tag")
            yield Input(
                value=(existing.custom_text or "") if existing else "",
                placeholder="own text (empty: the post text)",
                compact=True,
                classes="custom",
                disabled=not self.initially_included,
            )
        yield Label("", classes="counter")
        yield FieldError("", classes="problems")

    # --- what the row holds --------------------------------------------------------------

    @property
    def included(self) -> bool:
        return self.query_one(".include", Checkbox).value

    @property
    def when(self) -> str:
        return self.query_one(".when", Input).value.strip()

    @property
    def custom(self) -> str:
        return self.query_one(".custom", Input).value

    def state(self) -> tuple:
        return (self.key, self.included, self.when, self.custom)

    def parse_when(self, tz: ZoneInfo, now: datetime) -> datetime | None:
        """The chosen time (None: draft). Raises ValidationError for what cannot be read."""
        text = self.when
        if not text:
            return None
        existing = self.existing
        if existing is not None and text == self.initial_when and existing.scheduled_at:
            # What the field shows is rounded to the minute: untouched, it means the exact time.
            return existing.scheduled_at
        return parse_when(text, tz, now)

    def plan(self, tz: ZoneInfo, now: datetime) -> VariantPlan:
        custom = self.custom if self.custom.strip() else None
        try:
            at = self.parse_when(tz, now)
        except ValidationError:
            at = None  # reported by the row itself; the save is refused meanwhile
        return VariantPlan(self.account.id, custom, at, self.existing.id if self.existing else None)

    def save_effect(self, tz: ZoneInfo, now: datetime) -> SaveEffect:
        """What saving the form as it is does to this row's variant."""
        at = self.parse_when(tz, now)
        existing = self.existing
        saved = on_save(  # what save_plan will do (the row's account is the variant's own)
            existing.status if existing is not None else None,
            planned=at is not None,
            same_plan=existing is not None and at == existing.scheduled_at,
        )
        return SaveEffect(effect_name(saved.status), self.short_name, at)

    def time_problem(self, tz: ZoneInfo, now: datetime) -> str | None:
        if not self.included:
            return None
        try:
            self.parse_when(tz, now)
        except ValidationError as exc:
            return exc.message
        return None

    def final_text(self, post_text: str) -> str:
        return final_text(post_text, self.custom)

    # --- live display --------------------------------------------------------------------

    def set_included(self, included: bool) -> None:
        for widget in self.query(".when, .custom").results(Input):
            widget.disabled = not included
        self.set_class(not included, "-excluded")

    def update_live(self, post_text: str, tz: ZoneInfo, now: datetime) -> None:
        note = self.query_one(".when-note", Label)
        counter = self.query_one(".counter", Label)
        if not self.included:
            note.update(Text("not in this post", style="dim"))
            counter.update("")
            counter.display = False
            return
        counter.display = True
        try:
            at = self.parse_when(tz, now)
        except ValidationError:
            note.update(Text("✗ cannot use this time", style="bold red"))
        else:
            if at is None:
                note.update(Text("draft: not scheduled", style="dim"))
            else:
                shown = local(at, tz, "%a %d %b %H:%M %Z")
                note.update(Text(f"→ {shown} · {rough_relative(at, now)}"))
        text = self.final_text(post_text)
        line = counter_text(self.account.platform, text)
        first = text.strip().splitlines()[0] if text.strip() else ""
        if first:
            line.append("  ")
            snippet = shown_text(self.account.platform, first)
            snippet.stylize("dim")
            line.append_text(snippet)
        counter.update(line)

    def show_problems(self, problems: Iterable[str]) -> None:
        self.query_one(".problems", FieldError).show(problems)


class LockedRow(Static, can_focus=True):
    """A variant that already went out (or is going out): shown, never changed."""

    if TYPE_CHECKING:
        app = getters.app(OmniPostApp)  # typed only: importing the app here would be circular

    def __init__(self, locked: LockedVariant) -> None:
        super().__init__(classes="locked")
        self.locked = locked

    @property
    def key(self) -> str:
        return f"v{self.locked.variant.id}"

    def on_mount(self) -> None:
        variant = shown(self.locked.variant)  # shown, never edited
        tz = self.app.tz
        text = Text()
        text.append(f"{SHORT_LABELS.get(variant.platform, variant.platform)} ", style="bold")
        text.append(variant.account_name, style="bold")
        text.append("  ")
        text.append_text(status_tag(variant.status, variant.id))
        when = variant.published_at or variant.scheduled_at
        text.append(f"  {local(when, tz, '%a %d %b %H:%M')}")
        reason = "account removed" if self.locked.reason == "account removed" else "read-only"
        text.append(f"  ({reason})\n", style="dim")
        text.append(f"   {first_line(variant.text)}", style="dim")
        self.update(text)
