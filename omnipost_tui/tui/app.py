"""The OmniPost application: four screens (as modes), live polling, alerts and errors.

Kept small on purpose: screens own their bindings and data; this file wires them together.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.notifications import Notification, Notify, SeverityLevel
from textual.reactive import var
from textual.screen import Screen

from omnipost_tui import clock
from omnipost_tui.config import save_tui_theme
from omnipost_tui.errors import ConfigError, OmniPostError
from omnipost_tui.services.alerts import Alert, current_alerts
from omnipost_tui.services.attempts import attempts_finished_since
from omnipost_tui.services.context import Context
from omnipost_tui.services.status import StatusReport, status_report
from omnipost_tui.services.views import AttemptView
from omnipost_tui.services.watch import ChangeWatcher
from omnipost_tui.text import visible, visible_line
from omnipost_tui.tui.base import OmniScreen
from omnipost_tui.tui.format import attempts_summary, shown
from omnipost_tui.tui.keymap import check_keymap, key_for
from omnipost_tui.tui.screens.accounts import AccountsScreen
from omnipost_tui.tui.screens.attempts import AttemptsScreen
from omnipost_tui.tui.screens.calendar import CalendarScreen
from omnipost_tui.tui.screens.help import HelpScreen
from omnipost_tui.tui.screens.variants import VariantsScreen

log = logging.getLogger("omnipost.tui")

# Even when nothing changed, "due now" and heartbeat ages move with time.
FORCE_REFRESH_EVERY = timedelta(seconds=5)
# Finished attempts are looked up again from a little before the last one seen: two workers
# can commit out of order.
FINISHED_OVERLAP = timedelta(seconds=30)
# Toasts on screen at once, newest kept: at 80×24 two still leave the cursor's row clear.
MAX_TOASTS = 2


@dataclass(frozen=True)
class LiveSummary:
    report: StatusReport
    alerts: list[Alert]
    timezone: str
    note: str = ""
    finished: list[AttemptView] = field(default_factory=list)


class OmniPostApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "OmniPost"
    MODES: ClassVar[dict] = {
        "calendar": CalendarScreen,
        "variants": VariantsScreen,
        "attempts": AttemptsScreen,
        "accounts": AccountsScreen,
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "show('calendar')", "Calendar", id="screen.calendar", show=False),
        Binding("2", "show('variants')", "Variants", id="screen.variants", show=False),
        Binding("3", "show('attempts')", "Attempts", id="screen.attempts", show=False),
        Binding("4", "show('accounts')", "Accounts", id="screen.accounts", show=False),
        Binding("question_mark,f1", "help", "Help", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("ctrl+c", "quit", "Quit", id="app.quit_now", show=False, priority=True),
    ]

    # var, not reactive: the widgets that show them watch them and redraw themselves; a
    # reactive would also repaint the whole screen on every poll.
    summary: var[LiveSummary | None] = var(None, always_update=True)
    unseen_alerts: var[tuple[Alert, ...]] = var((), always_update=True)

    def __init__(
        self,
        ctx: Context,
        *,
        poll_interval: float = 1.0,
        status_note: str = "",
        start_mode: str = "calendar",
    ) -> None:
        check_keymap(ctx.settings.keymap, ctx.settings.paths.config_file)
        super().__init__()
        self.ctx = ctx
        self.tz = ctx.settings.tz
        self.poll_interval = poll_interval
        self.status_note = status_note
        self.start_mode = start_mode
        self._watcher = ChangeWatcher(ctx)
        self._seen_alerts: set[str] = set()
        self._seen_attempts: set[int] = set()
        self._finished_since: datetime | None = None
        # The toast that sums up what the worker did lately, and the attempts it counts.
        self._activity: tuple[Notification, list[AttemptView]] | None = None
        self._last_refresh: datetime | None = None
        self._theme_loaded = False
        self._theme_saving = threading.Lock()
        # What another screen asked a screen to show, per mode: applied once, when shown.
        self._wanted_filters: dict[str, object] = {}
        self._closing = False

    # --- start and stop -------------------------------------------------------------------

    def on_mount(self) -> None:
        settings = self.ctx.settings
        if settings.keymap:
            self.set_keymap(dict(settings.keymap))
        if settings.tui_theme and settings.tui_theme in self.available_themes:
            self.theme = settings.tui_theme
        self._theme_loaded = True
        self.switch_mode(self.start_mode)
        self._poll()

    def on_unmount(self) -> None:
        self._closing = True
        self._watcher.close()

    def watch_theme(self, theme: str) -> None:
        if self._theme_loaded:
            self.run_worker(
                partial(self._save_theme, theme), thread=True, group="theme", exit_on_error=False
            )

    def _save_theme(self, theme: str) -> None:
        # One save at a time: two quick choices never interleave their reads and writes.
        with self._theme_saving:
            try:
                save_tui_theme(self.ctx.settings.paths, theme)
            except ConfigError as exc:
                self._from_thread(self._theme_not_saved, exc)
            except Exception as exc:
                self._from_thread(self.report_error, exc)

    def _theme_not_saved(self, exc: ConfigError) -> None:
        self.notify(exc.message, title="Theme not saved", severity="error", timeout=10)

    # --- live data ------------------------------------------------------------------------

    def _poll(self) -> None:
        """One poll in a thread; the next is armed only when it is done (no pile-up)."""
        self.run_worker(self._poll_once, thread=True, group="poll", exit_on_error=False)

    def _poll_once(self) -> None:
        if self._closing:  # a poll thread can outlive the app: it has nothing left to show
            return
        try:
            now = clock.now()
            stale = self._last_refresh is None or now - self._last_refresh >= FORCE_REFRESH_EVERY
            if self._watcher.changed() or stale:
                summary = self._load_summary(now)
                self._from_thread(self._apply_summary, summary)
        except Exception as exc:
            self._from_thread(self.report_error, exc)
        finally:
            self._from_thread(self.set_timer, self.poll_interval, self._poll)

    def _from_thread(self, callback, *args) -> None:
        """call_from_thread, unless the app is already shutting down."""
        if self._closing:
            return
        # RuntimeError: the event loop closed between the check and the call.
        with contextlib.suppress(RuntimeError):
            self.call_from_thread(callback, *args)

    def _load_summary(self, now: datetime) -> LiveSummary:
        report = status_report(self.ctx, with_queue=False)
        alerts = current_alerts(self.ctx, now)
        since = (self._finished_since or now) - FINISHED_OVERLAP
        finished = [shown(a) for a in attempts_finished_since(self.ctx, since)]
        alerts = [shown(alert) for alert in alerts]  # they name accounts and quote errors
        return LiveSummary(report, alerts, self.ctx.settings.timezone, self.status_note, finished)

    def _apply_summary(self, summary: LiveSummary) -> None:
        first = self._last_refresh is None
        self._last_refresh = clock.now()
        fresh = [a for a in summary.finished if a.id not in self._seen_attempts]
        self._seen_attempts.update(a.id for a in summary.finished)
        # Up to where attempts have been seen: the next poll looks again from a little before.
        seen_up_to = summary.report.now if self._finished_since is None else self._finished_since
        finished = (a.finished_at for a in summary.finished if a.finished_at)
        self._finished_since = max([seen_up_to, *finished])
        if fresh and not first:  # attempts from before the app opened are not news
            self._announce(fresh)
        self.summary = summary
        self._update_unseen(summary.alerts)
        screen = self.screen
        if isinstance(screen, OmniScreen):
            screen.refresh_data()

    def _announce(self, attempts: list[AttemptView]) -> None:
        """One toast for what the worker did: while it is on screen, later attempts are added to
        it ("3 published · 1 failed") instead of stacking a toast each over the screen."""
        if self._activity is not None:
            shown, counted = self._activity
            if shown in self._toasts() and not shown.has_expired:
                attempts = counted + attempts
                self._withdraw(shown)
        title, message, severity = attempts_summary(attempts)
        notification = Notification(
            visible(message), title, severity, timeout=8 if severity == "error" else 5
        )
        self._activity = (notification, attempts)
        self.post_message(Notify(notification))

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification of the app (screens' ``notify`` comes here too) as plain text with
        its control characters as symbols: messages quote names, titles and platform errors,
        and as markup a ``[/]`` or ``[message]`` in them would break the toast or vanish."""
        super().notify(
            visible(message),
            title=visible_line(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    def on_notify(self, event: Notify) -> None:
        self.call_next(self._keep_newest_toasts)  # once Textual's own handler has added it

    def _keep_newest_toasts(self) -> None:
        for old in self._toasts()[:-MAX_TOASTS]:
            self._withdraw(old)

    # Textual 8.2.8 has no public way to list the notifications on screen or to take one back
    # (only clear_notifications, which takes them all): these two use its private ones.
    # Re-check both when upgrading Textual (pinned in pyproject.toml).

    def _toasts(self) -> list[Notification]:
        """The notifications on screen, oldest first."""
        return list(self._notifications)  # Textual private

    def _withdraw(self, notification: Notification) -> None:
        self._unnotify(notification)  # Textual private

    def _update_unseen(self, alerts: list[Alert]) -> None:
        if isinstance(self.screen, OmniScreen):
            for alert in alerts:
                if alert.kind in self.screen.ACKNOWLEDGES:
                    self._seen_alerts.add(alert.key)
        self.unseen_alerts = tuple(a for a in alerts if a.key not in self._seen_alerts)

    def acknowledge_alerts(self, kinds: Iterable[str]) -> None:
        kinds = set(kinds)
        if self.summary is not None:
            self._seen_alerts.update(a.key for a in self.summary.alerts if a.kind in kinds)
            self._update_unseen(self.summary.alerts)

    # --- errors ---------------------------------------------------------------------------

    def report_error(self, exc: BaseException) -> None:
        if isinstance(exc, OmniPostError):
            self.notify(exc.message, title="Not done", severity="error", timeout=8)
            return
        log.error("unexpected error in the TUI", exc_info=exc)
        self.notify(
            f"something went wrong; see the log at {self.ctx.settings.paths.log_file}",
            title=type(exc).__name__,
            severity="error",
            timeout=10,
        )

    # --- actions --------------------------------------------------------------------------

    def action_show(self, mode: str) -> None:
        if self.current_mode != mode:
            self.switch_mode(mode)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def show_filtered(self, mode: str, flt: object) -> None:
        """Open screen ``mode`` narrowed to ``flt`` (that screen's filter type): the one way a
        screen sends the user to another screen's rows."""
        self._wanted_filters[mode] = flt
        if self.current_mode == mode and isinstance(self.screen, OmniScreen):
            self.screen.refresh_data()
        else:
            self.switch_mode(mode)

    def filter_waiting(self, mode: str) -> bool:
        """Whether screen ``mode`` has a filter asked for that it has not applied yet."""
        return mode in self._wanted_filters

    def take_filter(self, mode: str) -> object | None:
        """The filter asked for screen ``mode``, once (its ``refresh_data`` applies it)."""
        return self._wanted_filters.pop(mode, None)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for mode, label in (
            ("calendar", "Calendar"),
            ("variants", "Variants"),
            ("attempts", "Attempts"),
            ("accounts", "Accounts"),
        ):
            yield SystemCommand(
                f"Go to {label}",
                f"Screen: press {key_for(self, f'show({mode!r})')}",
                lambda m=mode: self.action_show(m),
            )
        yield SystemCommand(
            "Help",
            f"Every key, on every screen: press {key_for(self, 'help')}",
            self.action_help,
        )
        if isinstance(screen, OmniScreen):
            for title, help_text, callback in screen.palette_commands():
                yield SystemCommand(title, help_text, callback)
