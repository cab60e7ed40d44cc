"""The one source of "now" (and of waiting) for the core, so tests drive time without sleeping."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...
    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


_clock: Clock = SystemClock()


def now() -> datetime:
    """Current time as an aware UTC datetime."""
    return _clock.now()


def sleep(seconds: float) -> None:
    if seconds > 0:
        _clock.sleep(seconds)


def installed() -> Clock:
    """The clock in use (so a caller that swaps it for a while can put it back)."""
    return _clock


def install(clock: Clock | None) -> None:
    """Replace the clock (tests); ``None`` restores the system clock."""
    global _clock
    _clock = clock if clock is not None else SystemClock()
