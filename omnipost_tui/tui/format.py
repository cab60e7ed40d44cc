"""How the screens show things: status colours, short platform names, local times.

Colours are ANSI names so they follow the terminal's palette under the ANSI themes and stay
readable with 256 colours.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from rich.cells import cell_len
from rich.json import JSON
from rich.text import Text

from omnipost_tui.models import FAIL, INTERRUPTED, SUCCESS
from omnipost_tui.services.views import AttemptView
from omnipost_tui.text import clip, normalise_line_ends, visible_line
from omnipost_tui.times import format_duration

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
PLATFORM_SHORT = {"facebook": "FB", "linkedin": "LI"}
RESULT_STYLES = {"success": "green", "fail": "red", "interrupted": "bright_magenta", None: "yellow"}


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


def attempts_summary(attempts: Sequence[AttemptView]) -> tuple[str, str, str]:
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
        reason = latest.error_message or latest.error_class or latest.result
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
        return Text(raw, overflow="fold")
    text = JSON.from_data(data, indent=2, ensure_ascii=False).text
    text.no_wrap = False
    text.overflow = "fold"
    return text


def fit_line(width: int, text: str, *optional: tuple[str, str]) -> str:
    """``text``, then each optional ``(separator, part)`` in order that still fits in ``width``
    columns: a part that does not fit is left out whole (never cut to ``Enter attem``)."""
    for separator, part in optional:
        if cell_len(text + separator + part) <= width:
            text += separator + part
    return text
