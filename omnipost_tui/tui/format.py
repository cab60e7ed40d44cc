"""How the screens show things: status colours, short platform names, local times.

Colours are ANSI names so they follow the terminal's palette under the ANSI themes and stay
readable with 256 colours.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from rich.text import Text

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
    line = text.strip().splitlines()[0] if text.strip() else ""
    if width is not None and len(line) > width:
        return line[: max(width - 1, 0)] + "…"
    return line
