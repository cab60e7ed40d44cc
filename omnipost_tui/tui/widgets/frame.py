"""The lines around every screen: navigation, alerts, and the live status bar."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

# Textual private: FooterKey (the footer's key widget) is not exported by textual.widgets in
# 8.2.8. Re-check when upgrading Textual (pinned in pyproject.toml).
from textual.widgets._footer import FooterKey

from omnipost_tui import clock
from omnipost_tui.times import format_duration
from omnipost_tui.tui.format import STATUS_ICONS
from omnipost_tui.tui.widgets.updates import update_if_changed

if TYPE_CHECKING:
    from textual import getters

    from omnipost_tui.tui.app import OmniPostApp

SCREENS = (
    ("1", "calendar", "Calendar"),
    ("2", "variants", "Variants"),
    ("3", "attempts", "Attempts"),
    ("4", "accounts", "Accounts"),
)


class NavBar(Static):
    """``OmniPost  1 Calendar  2 Variants  3 Attempts  4 Accounts`` with the current one lit."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def on_mount(self) -> None:
        text = Text()
        text.append(" OmniPost ", style="bold reverse")
        for key, mode, label in SCREENS:
            style = "bold reverse" if mode == self.mode else ""
            text.append("  ")
            text.append(f" {key} {label} ", style=style)
        self.update(text)


class AlertLine(Static):
    """Persistent warnings (repeated failures, expired accounts) until the user looks at them."""

    def on_mount(self) -> None:
        self.watch(self.app, "unseen_alerts", self._show)

    def _show(self, alerts) -> None:
        self.display = bool(alerts)
        if not alerts:
            return
        first = alerts[0]
        hint = {"repeated_failures": "3 attempts", "account_expired": "4 accounts"}.get(
            first.kind, "4 accounts"
        )
        more = f"  (+{len(alerts) - 1} more)" if len(alerts) > 1 else ""
        update_if_changed(self, Text(f"⚠ {first.message}{more} — press {hint}", style="bold"))


class StatusBar(Static):
    """Worker online/offline, what needs attention, and the timezone. Updated live."""

    if TYPE_CHECKING:
        app = getters.app(OmniPostApp)  # typed only: importing the app here would be circular

    def on_mount(self) -> None:
        self.watch(self.app, "summary", self._render_summary)
        # Ages and countdowns move with the clock, not only when the database changes.
        self.set_interval(1.0, lambda: self._render_summary(self.app.summary))

    def on_resize(self) -> None:
        self._render_summary(self.app.summary)

    def _render_summary(self, summary) -> None:
        if summary is None:
            update_if_changed(self, Text(" loading…", style="dim"))
            return
        text = self._summary_text(summary, compact=False)
        if text.cell_len > self.size.width:
            # At 80 columns the words do not fit with a note and the timezone: the icons of the
            # calendar's legend say the same in less room.
            text = self._summary_text(summary, compact=True)
        text.no_wrap = True
        text.overflow = "ellipsis"
        # Asked every second, and most seconds nothing changed. One line across the screen
        # whatever it says: no layout needed.
        update_if_changed(self, text, layout=False)

    def _summary_text(self, summary, *, compact: bool) -> Text:
        """``○ worker OFFLINE  due 0  retrying 1  failed 2  …``: each label with its number, a
        space between them and two after (every part ends with its own space, so no renderer
        can run a number into the next word: an SVG viewer drops a part's leading spaces)."""
        text = Text()
        report = summary.report
        now = clock.now()
        beats = [w for w in report.workers if w.stopped_at is None]
        freshest = min((w.age(now) for w in beats), default=None)
        if any(w.online(now) for w in report.workers):
            text.append("● worker ", style="bold green")
            text.append(f"{format_duration(freshest or 0)}  ", style="green")
        else:
            text.append("○ worker OFFLINE  ", style="bold red")
        counts = report.counts
        for status, label, value, style in (
            ("scheduled", "due", report.due_now, "cyan"),
            ("retrying", "retrying", counts.get("retrying", 0), "yellow"),
            ("failed", "failed", counts.get("failed", 0), "red"),
            ("unconfirmed", "unconfirmed", counts.get("unconfirmed", 0), "bright_magenta"),
        ):
            shown = STATUS_ICONS[status] if compact and status != "scheduled" else label
            text.append(f"{shown} ")
            text.append(f"{value}  ", style=f"bold {style}" if value else "dim")
        if summary.note:
            text.append(f"{summary.note}  ", style="yellow")
        text.append(summary.timezone, style="dim")
        return text


class KeyBar(Footer):
    """The key bar: each key whole, never cut. At 80 columns not every screen's keys fit: the
    first ones declared (a screen lists its main actions first) are shown, Help always (it
    lists every key) and says how many did not fit, and the palette key stays on the right.

    A key remapped in config.toml keeps its place (Textual would move it to the end, where it
    was the first to be cut)."""

    HELP_ACTION = "help"
    PALETTE_WIDTH = 12  # "▏^p palette" and its margin: the compact command-palette key

    def __init__(self) -> None:
        super().__init__(compact=True)
        self._composed_width = 0
        self._bindings_known = False  # the screen has said which bindings it has

    def bindings_changed(self, screen: Screen) -> None:
        # Footer's own handler (it subscribes it on mount), without its "only while the
        # terminal has focus": a key greyed out while focus was elsewhere must not stay so.
        self._bindings_known = True
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self.recompose)

    async def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._composed_width and self._bindings_known:
            await self.recompose()

    def compose(self) -> ComposeResult:
        if not self._bindings_known:
            return
        self._composed_width = self.size.width
        width = (self.size.width or self.app.size.width) - self.styles.padding.left
        shown = self._shown_bindings()
        help_key = next((k for k in shown if k[0].action == self.HELP_ACTION), None)
        others = [k for k in shown if k is not help_key]
        room = width - self.PALETTE_WIDTH
        if help_key is not None:
            room -= self._width(help_key[0], f"{help_key[0].description} +{len(others)}")
        fitting = []
        for key in others:  # in order, skipping only what does not fit
            needed = self._width(key[0], key[0].description)
            if needed <= room:
                fitting.append(key)
                room -= needed
        for binding, enabled, tooltip in fitting:
            yield self._key(binding, binding.description, enabled, tooltip)
        if help_key is not None:
            binding, enabled, tooltip = help_key
            left_out = len(others) - len(fitting)
            label = f"{binding.description} +{left_out}" if left_out else binding.description
            yield self._key(binding, label, enabled, tooltip)
        yield from self._palette_key()

    def _shown_bindings(self) -> list[tuple[Binding, bool, str]]:
        """One binding per action, the screen's before the app's, each in declared order."""
        seen: dict[str, tuple] = {}
        screen = self.screen
        allows = getattr(screen, "allows_action", None)
        for node, binding, enabled, tooltip in screen.active_bindings.values():
            if binding.show and binding.action not in seen:
                if node is screen and allows is not None and not allows(binding.action):
                    enabled = False  # greyed: what is selected does not allow it
                order = (isinstance(node, App), _declared_index(node, binding))
                seen[binding.action] = (order, (binding, enabled, tooltip))
        return [entry for _, entry in sorted(seen.values(), key=lambda item: item[0])]

    def _width(self, binding: Binding, description: str) -> int:
        # Compact keys: "k Description" and a one-column margin.
        return cell_len(self.app.get_key_display(binding)) + 1 + cell_len(description) + 1

    def _key(self, binding: Binding, description: str, enabled: bool, tooltip: str) -> FooterKey:
        # FooterKey is Textual private (see its import): re-check when upgrading Textual.
        return FooterKey(
            binding.key,
            self.app.get_key_display(binding),
            description,
            binding.action,
            disabled=not enabled,
            tooltip=tooltip,
        ).data_bind(compact=Footer.compact)

    def _palette_key(self) -> ComposeResult:
        if not (self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE):
            return
        active = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        if active is not None:
            _, binding, enabled, _ = active
            # FooterKey is Textual private (see its import): re-check when upgrading Textual.
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                classes="-command-palette",
                disabled=not enabled,
                tooltip=binding.tooltip or binding.description,
            )


def _declared_index(node, binding: Binding) -> int:
    """Where ``binding`` stands in its class's BINDINGS (a remapped key is a copy with the
    same action, so it is found by action)."""
    actions = [b.action for b in getattr(type(node), "BINDINGS", ()) if isinstance(b, Binding)]
    return actions.index(binding.action) if binding.action in actions else len(actions)
