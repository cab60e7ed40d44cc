"""What a user can do to the selected variant, the same on every screen that lists variants.

A mixin for an ``OmniScreen``: the screen says which variant is selected (``selected``) and
binds the keys (its own binding ids); publishing, retrying, unscheduling, marking published and
editing then behave identically on the variants list and in the calendar's agenda.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text

from omnipost_tui import states
from omnipost_tui.platforms import LABELS
from omnipost_tui.services.readback import Verdict, check
from omnipost_tui.services.variants import (
    PublishNowResult,
    RetryResult,
    mark_published,
    publish_now,
    retry_variants,
    unschedule_variant,
)
from omnipost_tui.services.views import VariantView
from omnipost_tui.tui.format import local
from omnipost_tui.tui.keymap import key_for
from omnipost_tui.tui.screens.confirm import AskScreen, ConfirmScreen

if TYPE_CHECKING:
    from omnipost_tui.tui.base import OmniScreen

    _Base = OmniScreen
else:
    _Base = object

NO_WORKER = "No worker is running: it will go out as soon as `omnipost worker` runs."


# The state machine's rule behind each key's action: the key bar greys out what the selected
# variant does not allow, and pressing it anyway says why. (Edit is not among them: the editor
# opens any post, and shows the variants that went out as locked.)
RULES: dict[str, states.Action] = {
    "publish": states.PUBLISH_NOW,
    "retry": states.RETRY,
    "unschedule": states.UNSCHEDULE,
    "mark_published": states.MARK_PUBLISHED,
    "check_platform": states.CHECK,
    "move": states.MOVE_ON_CALENDAR,
}


class VariantActions(_Base):
    """Actions on ``self.selected()``; each ends with ``self.refresh_data()``."""

    def selected(self) -> VariantView | None:
        raise NotImplementedError

    def allows_action(self, action: str) -> bool:
        rule = RULES.get(action)
        if rule is None:
            return True
        variant = self.selected()
        return variant is not None and rule.allows(variant.status)

    def on_data_table_row_highlighted(self) -> None:
        self.selection_changed()

    def selection_changed(self) -> None:
        """The selected variant, or its status, may have changed: the key bar asks again
        (only when the answer changed: a poll that changes nothing redraws nothing)."""
        allowed = tuple(self.allows_action(action) for action in RULES)
        if allowed != getattr(self, "_allowed_shown", None):
            self._allowed_shown = allowed
            self.refresh_bindings()

    def _need_selection(self) -> VariantView | None:
        variant = self.selected()
        if variant is None:
            self.notify("no variant selected", severity="warning")
        return variant

    def _selected_for(self, action: str) -> VariantView | None:
        """The selected variant, if the state machine lets ``action`` run on it; otherwise
        None, with the reason shown."""
        variant = self._need_selection()
        if variant is None:
            return None
        refusal = RULES[action].refusal(variant.id, variant.status)
        if refusal is not None:
            self.notify(refusal, severity="warning")
            return None
        return variant

    # --- publish now --------------------------------------------------------------------------

    def action_publish(self) -> None:
        variant = self._selected_for("publish")
        if variant is None:
            return
        body = Text()
        body.append(
            f"{LABELS.get(variant.platform, variant.platform)} · {variant.account_name}",
            style="bold",
        )
        body.append(f"  (brand {variant.brand_name})\n")
        planned = local(variant.scheduled_at, self.app.tz)
        body.append(f"planned for {planned}; it will go out now instead\n\n", style="dim")
        body.append(variant.text[:1200] + ("…" if len(variant.text) > 1200 else ""))

        def answered(yes: bool | None) -> None:
            if yes:
                self.call(publish_now, self.app.ctx, variant.id, done=self._published)

        self.app.push_screen(
            ConfirmScreen(f"Publish variant {variant.id} now?", body, "publish"), answered
        )

    def _published(self, result: PublishNowResult) -> None:
        variant = result.variant
        self.notify(f"variant {variant.id} queued to publish now on {variant.account_name}")
        if not result.worker_online:
            self.notify(NO_WORKER, title="Queued, not sent yet", severity="warning", timeout=12)
        self.refresh_data()

    # --- retry --------------------------------------------------------------------------------

    def action_retry(self) -> None:
        variant = self._selected_for("retry")
        if variant is None:
            return

        def go(yes: bool | None = True) -> None:
            if yes:
                self.call(retry_variants, self.app.ctx, [variant.id], done=self._retried)

        if variant.status == states.UNCONFIRMED:
            body = Text(
                f"The last attempt may have published it on {variant.account_name}.\n"
                "Check the page first: retrying a post that is already there publishes it twice."
                + self._check_first_hint()
            )
            self.app.push_screen(ConfirmScreen(f"Retry variant {variant.id}?", body, "retry"), go)
        else:
            go()

    def _retried(self, result: RetryResult) -> None:
        for variant in result.retried:
            self.notify(f"variant {variant.id} queued again")
        if not result.worker_online:
            self.notify(NO_WORKER, severity="warning", timeout=12)
        self.refresh_data()

    # --- unschedule, mark published -----------------------------------------------------------

    def action_unschedule(self) -> None:
        variant = self._selected_for("unschedule")

        def unscheduled(v: VariantView) -> None:
            self.notify(f"variant {v.id} is a draft again")
            self.refresh_data()

        if variant is not None:
            self.call(unschedule_variant, self.app.ctx, variant.id, done=unscheduled)

    def action_mark_published(self) -> None:
        variant = self._selected_for("mark_published")
        if variant is None:
            return

        def marked(v: VariantView) -> None:
            self.notify(f"variant {v.id} marked published")
            self.refresh_data()

        def answered(external: str | None) -> None:
            if external is not None:
                self.call(mark_published, self.app.ctx, variant.id, external or None, done=marked)

        self.app.push_screen(
            AskScreen(
                f"Mark variant {variant.id} published",
                f"You found the post on {variant.account_name}. Its post id (optional):",
            ),
            answered,
        )

    # --- read back: ask the platform whether an unconfirmed post is there ---------------------

    def action_check_platform(self) -> None:
        variant = self._selected_for("check_platform")
        if variant is None:
            return
        label = LABELS.get(variant.platform, variant.platform)
        self.notify(f"asking {label} whether variant {variant.id} is on {variant.account_name}…")

        def checked(verdict: Verdict) -> None:
            self.notify(
                verdict.message,
                title=f"variant {verdict.variant_id} is {verdict.status}",
                severity="information" if verdict.status == states.PUBLISHED else "warning",
                timeout=12,
            )
            self.refresh_data()

        self.call(check, self.app.ctx, variant.id, done=checked)

    # --- the editor ---------------------------------------------------------------------------

    def action_edit(self) -> None:
        variant = self._need_selection()
        if variant is not None:
            self.open_editor(post_id=variant.post_id, variant_id=variant.id)

    def action_new(self) -> None:
        self.open_editor()

    def open_editor(self, **kwargs: Any) -> None:
        # Imported here: the editor imports widgets that import screens (no cycle at load).
        from omnipost_tui.tui.screens.editor import EditorScreen

        self.app.push_screen(EditorScreen(**kwargs), self._edited)

    def _edited(self, saved: bool | None) -> None:
        if saved:
            self.refresh_data()

    # --- helpers ------------------------------------------------------------------------------

    def _check_first_hint(self) -> str:
        """The keys that check an unconfirmed variant, as this screen binds them."""
        check = key_for(self, "check_platform")
        mark = key_for(self, "mark_published")
        hints = [
            *([f"{check} to ask the platform"] if check else []),
            *([f"{mark} to mark it published if you found it"] if mark else []),
        ]
        return f"\nPress {' or '.join(hints)}." if hints else ""
