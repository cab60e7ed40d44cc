"""How the screens show things: status colours, short platform names, local times, and
stored text made safe to draw.

Colours are ANSI names so they follow the terminal's palette under the ANSI themes and stay
readable with 256 colours.

Stored text may predate the rule on what text holds (``omnipost_tui.text``), and a platform's
answers (errors, raw responses, post ids) follow no rule of ours; Textual passes ESC, NUL, DEL
and the C1 controls on to the terminal. So what a screen loads to show passes through
``shown`` once, where it is loaded: every cell, detail line, dialog and notification built
from it is then safe, and no drawing code has to remember. (The editor's fields keep the text
as stored: saving it names any control character left, and where it is.)
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import fields, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from rich.cells import cell_len
from rich.json import JSON
from rich.text import Text
from textual.notifications import SeverityLevel

from omnipost_tui.models import FAIL, INTERRUPTED, SUCCESS
from omnipost_tui.services.views import AttemptView
from omnipost_tui.text import clip, normalise_line_ends, visible, visible_line
from omnipost_tui.times import format_duration

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

STATUS_STYLES = {
    "draft": "dim",
    "scheduled": "cyan",
    "publishing": "bold magenta",
    "retrying": "yellow",
    "published": "green",
    "failed": "bold red",
    "unconfirmed": "bold bright_magenta",
}
STATUS_ICONS = {
    "draft": "·",
    "scheduled": "◷",
    "publishing": "↑",
    "retrying": "↻",
    "published": "✓",
    "failed": "✗",
    "unconfirmed": "?",
}
RESULT_STYLES = {"success": "green", "fail": "red", "interrupted": "bright_magenta", None: "yellow"}


View = TypeVar("View", bound="DataclassInstance")


def shown(view: View) -> View:
    """A view (a frozen dataclass from the services) with every text field safe to draw:
    control characters as symbols (``visible``), Windows line ends as line ends."""
    changed = {}
    for field in fields(view):
        value = getattr(view, field.name)
        if isinstance(value, str):
            safe = visible(value.replace("\r\n", "\n"))
            if safe != value:
                changed[field.name] = safe
    return replace(view, **changed) if changed else view


def status_text(status: str) -> Text:
    return Text(f"{STATUS_ICONS.get(status, ' ')} {status}", style=STATUS_STYLES.get(status, ""))


def local(value: datetime | None, tz: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(tz).strftime(fmt) if value is not None else "—"


def countdown(target: datetime | None, now: datetime) -> str:
    if target is None:
        return ""
    seconds = (target - now).total_seconds()
    return "now" if seconds <= 0 else format_duration(seconds)


def first_line(text: str, width: int | None = None) -> str:
    """The first line of a stored text, its control characters shown as symbols (the text
    may predate the rule on what text holds), cut to ``width`` cells when given."""
    stripped = normalise_line_ends(text).strip()
    line = stripped.split("\n", 1)[0] if stripped else ""
    return clip(line, width) if width is not None else visible_line(line)


# --- attempts and accounts --------------------------------------------------------------------

ACCOUNT_STATUS_STYLES = {"connected": "green", "expired": "bold red", "revoked": "dim"}
ACCOUNT_STATUS_ICONS = {"connected": "●", "expired": "✗", "revoked": "–"}


def result_text(result: str | None) -> Text:
    """An attempt's result, coloured; ``pending`` while the attempt is still running."""
    return Text(result or "pending", style=RESULT_STYLES.get(result, ""))


def took(seconds: float | None) -> str:
    """How long an attempt took: tenths under ten seconds (most requests), compact above."""
    if seconds is None:
        return ""
    return f"{seconds:.1f}s" if seconds < 10 else format_duration(seconds)


def account_status_text(status: str) -> Text:
    icon = ACCOUNT_STATUS_ICONS.get(status, " ")
    return Text(f"{icon} {status}", style=ACCOUNT_STATUS_STYLES.get(status, ""))


def expiry_hint(expires_at: datetime | None, now: datetime, warn_within: timedelta) -> Text:
    """``in 54d 23h``; yellow with ⚠ inside the warning window, red once past."""
    if expires_at is None:
        return Text("no expiry known", style="dim")
    left = (expires_at - now).total_seconds()
    if left <= 0:
        return Text(f"✗ {format_duration(left)} ago", style="bold red")
    if left <= warn_within.total_seconds():
        return Text(f"⚠ in {format_duration(left)}", style="bold yellow")
    return Text(f"in {format_duration(left)}", style="dim")


ATTEMPT_OUTCOMES = ((SUCCESS, "published"), (FAIL, "failed"), (INTERRUPTED, "interrupted"))


def attempts_summary(attempts: Sequence[AttemptView]) -> tuple[str, str, SeverityLevel]:
    """One notification for attempts that finished together, oldest first: the counts as the
    title (``3 published · 1 failed``), the latest problem (or what went out) as the message,
    and its severity."""
    counts = Counter(attempt.result for attempt in attempts)
    title = " · ".join(
        f"{counts[result]} {word}" for result, word in ATTEMPT_OUTCOMES if counts[result]
    )
    problems = [attempt for attempt in attempts if attempt.result != SUCCESS]
    if problems:
        latest = problems[-1]
        # Finished attempts all have a result; "" only satisfies the type.
        reason = latest.error_message or latest.error_class or latest.result or ""
        message = f"variant {latest.variant_id} on {latest.account_name}: {first_line(reason)}"
        more = f" (+{len(problems) - 1} more; 3: attempts)" if len(problems) > 1 else ""
        return title, clip(message, TOAST_TEXT - len(more)) + more, "error"
    if len(attempts) == 1:
        return (
            title,
            f"variant {attempts[0].variant_id} on {attempts[0].account_name}",
            "information",
        )
    ids = [str(attempt.variant_id) for attempt in attempts]
    return title, clip("variants " + ", ".join(ids), TOAST_TEXT), "information"


# A toast's message stays within about three of its lines: the detail lives on the screens.
TOAST_TEXT = 80


def pretty_json(raw: str | None) -> Text:
    """Stored JSON text indented and highlighted; anything else shown as it is.

    Wrapped rather than cropped: the interesting part of an error is often at the end of a
    long line.
    """
    if raw is None or not raw.strip():
        return Text("—", style="dim")
    try:
        data = json.loads(raw)
    except ValueError:
        return Text(visible(raw), overflow="fold")
    text = JSON.from_data(_visible_strings(data), indent=2, ensure_ascii=False).text
    text.no_wrap = False
    text.overflow = "fold"
    return text


def _visible_strings(data: Any) -> Any:
    """Decoded JSON with its strings made visible: an escaped control (``\\u001b``) is a
    real one once decoded, and json.dumps writes DEL and C1 back raw."""
    if isinstance(data, str):
        return visible(data)
    if isinstance(data, list):
        return [_visible_strings(item) for item in data]
    if isinstance(data, dict):
        return {visible(key): _visible_strings(value) for key, value in data.items()}
    return data


def fit_line(width: int, text: str, *optional: tuple[str, str]) -> str:
    """``text``, then each optional ``(separator, part)`` in order that still fits in ``width``
    columns: a part that does not fit is left out whole (never cut to ``Enter attem``)."""
    for separator, part in optional:
        if cell_len(text + separator + part) <= width:
            text += separator + part
    return text
