"""What every OmniPost screen shares: the frame (nav bar, alert line, status bar, footer) and
the one way to call the service layer without blocking the UI."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.screen import Screen
from textual.worker import Worker, get_current_worker

from omnipost_tui.tui.keymap import key_for
from omnipost_tui.tui.toasts import ToastsOffTheCursor
from omnipost_tui.tui.widgets.frame import AlertLine, KeyBar, NavBar, StatusBar
from omnipost_tui.tui.widgets.keyed_table import KeyedTable

if TYPE_CHECKING:
    from textual import getters
    from textual.dom import DOMNode

    from omnipost_tui.tui.app import OmniPostApp

    # A mixin for screens: type-checked as the DOM node it is mixed into, a plain class at run
    # time (the Screen it comes with brings the real one).
    _MixedIntoNode = DOMNode
else:
    _MixedIntoNode = object


class ServiceCalls(_MixedIntoNode):
    """Run service calls in thread workers; results come back on the UI thread.

    This is the one place that turns a failed call into a visible error (``report_error``),
    so no screen writes its own try/except around the database.
    """

    if TYPE_CHECKING:
        app = getters.app(OmniPostApp)  # typed only: importing the app here would be circular

    def call(
        self,
        fn: Callable[..., Any],
        *args: Any,
        done: Callable[[Any], object] | None = None,  # may be async: call_from_thread awaits it
        group: str = "default",
        exclusive: bool = False,
        failed: Callable[[BaseException], None] | None = None,
    ) -> Worker:
        app = self.app

        def job() -> None:
            worker = get_current_worker()
            try:
                result = fn(*args)
            except Exception as exc:
                if not worker.is_cancelled:
                    app.call_from_thread(failed or app.report_error, exc)
                return
            # A newer exclusive load replaced this one: its result is stale.
            if done is not None and not worker.is_cancelled:
                app.call_from_thread(done, result)

        return self.run_worker(
            job, thread=True, group=group, exclusive=exclusive, exit_on_error=False
        )


class OmniScreen(ServiceCalls, ToastsOffTheCursor, Screen):
    """A top-level screen: nav bar, optional alert line, the body, status bar, footer."""

    MODE: ClassVar[str] = ""
    TITLE_TEXT: ClassVar[str] = ""
    # Which alert kinds this screen answers: showing it counts as "looked at".
    ACKNOWLEDGES: ClassVar[tuple[str, ...]] = ()
    # Actions the command palette leaves out (every other one is there, key bar or not).
    NOT_IN_PALETTE: ClassVar[frozenset[str]] = frozenset()

    def compose(self) -> ComposeResult:
        yield NavBar(self.MODE)
        yield AlertLine()
        yield from self.compose_body()
        yield StatusBar()
        yield KeyBar()

    def compose_body(self) -> Iterable:
        return ()

    def on_screen_resume(self) -> None:
        if self.ACKNOWLEDGES:
            self.app.acknowledge_alerts(self.ACKNOWLEDGES)
        self.refresh_data()

    def refresh_data(self) -> None:
        """Reload what the screen shows (called on show and when the database changed)."""

    def selected_key(self, table: KeyedTable) -> str:
        """The key of the row an action acts on; "" while the rows shown are not the ones
        asked for: another screen has sent a filter this screen has not applied yet (a key
        typed right after the one that switched screens arrives first), or rows for another
        filter, page or day are loading."""
        if self.app.filter_waiting(self.MODE):
            return ""
        return table.selected_key()

    def allows_action(self, action: str) -> bool:
        """Whether ``action`` can run on what is selected now; the key bar greys it out when
        not (the key still works, and says why)."""
        return True

    def palette_commands(self) -> Iterable[tuple[str, str, Callable[[], Any]]]:
        """(title, help, callback) for every action of this screen in the command palette,
        the ones the key bar has no room for too, each with the key that runs it."""
        listed: set[str] = set()
        # Textual private: the screen's own bindings, remapped keys included (active_bindings
        # would add the app's and depend on focus). Re-check when upgrading Textual.
        for bindings in self._bindings.key_to_bindings.values():
            for binding in bindings:
                action = binding.action
                # A binding with two keys ("left,h") is here once per key: one entry for both.
                # Textual's own keys of every screen (Tab to move focus, ^c to copy, which the
                # app takes for Quit) are not this screen's actions; those have no id, and every
                # one of the app's has (so that [keymap] can remap it).
                if (
                    binding.id is None
                    or not binding.description
                    or action in listed
                    or action in self.NOT_IN_PALETTE
                ):
                    continue
                listed.add(action)
                yield (
                    binding.description,
                    f"{self.TITLE_TEXT}: press {key_for(self, action)}",
                    partial(self.run_action, action),
                )
