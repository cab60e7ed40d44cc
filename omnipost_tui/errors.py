"""Errors a user can cause. Their message is written for that user and printed as is."""

from __future__ import annotations


class OmniPostError(Exception):
    """Base class: the CLI prints ``error: <message>`` and exits 2; the TUI shows the message."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(OmniPostError):
    """The configuration file or an environment variable is invalid."""


class NotFound(OmniPostError):
    """An id or name that does not exist."""


class ValidationError(OmniPostError):
    """Input that cannot be accepted (empty text, text over the limit, a time in the past…)."""


class InvalidTransition(OmniPostError):
    """The variant is not in a status that allows this action (or someone else changed it)."""


class ConflictError(OmniPostError):
    """Someone else changed the same thing at the same moment."""


class DatabaseUnavailable(OmniPostError):
    """The database cannot be opened, is corrupt, or is locked for too long."""


class DatabaseBusy(DatabaseUnavailable):
    """The database is locked by another process, or the connection to it failed: the same
    write may well succeed a moment later (a corrupt file or a refused value will not)."""


class QueueUnavailable(OmniPostError):
    """The queue (SQLite file or Redis) cannot be reached."""
