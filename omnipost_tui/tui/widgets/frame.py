"""The lines around every screen: navigation, alerts, and the live status bar."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from omnipost_tui import clock
from omnipost_tui.times import format_duration
from omnipost_tui.tui.format import STATUS_ICONS

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
        self.update(Text(f"⚠ {first.message}{more} — press {hint}", style="bold"))


class StatusBar(Static):
    """Worker online/offline, what needs attention, and the timezone. Updated live."""

    def on_mount(self) -> None:
        self.watch(self.app, "summary", self._render_summary)
        # Ages and countdowns move with the clock, not only when the database changes.
        self.set_interval(1.0, lambda: self._render_summary(self.app.summary))

    def on_resize(self) -> None:
        self._render_summary(self.app.summary)

    def _render_summary(self, summary) -> None:
        if summary is None:
            self.update(Text(" loading…", style="dim"))
            return
        text = self._summary_text(summary, compact=False)
        if text.cell_len > self.size.width:
            # At 80 columns the words do not fit with a note and the timezone: the icons of the
            # calendar's legend say the same in less room.
            text = self._summary_text(summary, compact=True)
        text.no_wrap = True
        text.overflow = "ellipsis"
        self.update(text)

    def _summary_text(self, summary, *, compact: bool) -> Text:
        text = Text()
        report = summary.report
        now = clock.now()
        beats = [w for w in report.workers if w.stopped_at is None]
        freshest = min((w.age(now) for w in beats), default=None)
        if any(w.online(now) for w in report.workers):
            text.append(" ● worker ", style="bold green")
            text.append(f"{format_duration(freshest or 0)}", style="green")
        else:
            text.append(" ○ worker OFFLINE", style="bold red")
        counts = report.counts
        for status, label, value, style in (
            ("scheduled", "due", report.due_now, "cyan"),
            ("retrying", "retrying", counts.get("retrying", 0), "yellow"),
            ("failed", "failed", counts.get("failed", 0), "red"),
            ("unconfirmed", "unconfirmed", counts.get("unconfirmed", 0), "bright_magenta"),
        ):
            text.append("  ")
            if compact and status != "scheduled":
                text.append(f"{STATUS_ICONS[status]} ")
            else:
                text.append(f"{label} ")
            text.append(str(value), style=f"bold {style}" if value else "dim")
        if summary.note:
            text.append("  ")
            text.append(summary.note, style="yellow")
        text.append("  ")
        text.append(summary.timezone, style="dim")
        return text
