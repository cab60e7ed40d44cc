"""Log set-up: key=value lines to a rotating file in the log dir (and stderr for the worker).

Log calls pass context as ``extra={"variant": 12, "platform": "facebook", "attempt": 2,
"outcome": "retrying"}``; the formatter appends those fields. Messages are passed through the
redactor as a last line of defence, but code must never log a token in the first place.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import io
import logging
import logging.handlers
import os
import re
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from omnipost_tui.config import Settings
from omnipost_tui.files import PRIVATE_FILE_MODE, make_private_dir, open_private
from omnipost_tui.redact import redact_text
from omnipost_tui.text import visible_line

FIELDS = (
    "variant",
    "platform",
    "account",
    "attempt",
    "outcome",
    "http_status",
    "error_code",
    "worker",
)
MAX_BYTES = 5 * 1024 * 1024
BACKUPS = 5


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        parts = [stamp, record.levelname, record.name, _quote(record.getMessage())]
        for key in FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                parts.append(f"{key}={_quote(str(value))}")
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return redact_text(line) or ""


def _quote(text: str) -> str:
    # One entry per line, and nothing in it that drives a terminal: a platform's message may
    # hold control characters, and the log is read with tail, journalctl and `omnipost logs`.
    text = visible_line(text)
    return f'"{text}"' if (" " in text or "=" in text) and not text.startswith('"') else text


_configured: set[str] = set()


class SharedRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log file that several processes (the worker, the app, every command) share.

    The stock handler is safe within one process only: after one process rotates, the others
    keep writing into the renamed file and later rotations delete those lines. Here every write
    happens under a lock file, and a handler whose file was rotated away reopens the new one.
    The log, the file that replaces it at rotation and the lock file are created 0600: the
    stock handler would use the umask (0644, or 0666 under ``umask 000``).
    """

    def emit(self, record: logging.LogRecord) -> None:
        try:
            with self._locked():
                self._reopen_if_rotated()
                if self.shouldRollover(record):
                    self.doRollover()
                logging.FileHandler.emit(self, record)
        except Exception:
            self.handleError(record)

    def _open(self) -> io.TextIOWrapper:
        # logging's own hook for opening the file, at start and after every rotation.
        os.close(open_private(self.baseFilename))
        return super()._open()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with os.fdopen(open_private(f"{self.baseFilename}.lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _reopen_if_rotated(self) -> None:
        if self.stream is None:
            return
        try:
            current = os.stat(self.baseFilename).st_ino
        except FileNotFoundError:
            current = None
        if current != os.fstat(self.stream.fileno()).st_ino:
            self.stream.close()
            self.stream = self._open()


def setup_logging(settings: Settings, *, stderr: bool = False, verbose: bool = False) -> Path:
    """Configure the ``omnipost`` logger once per process; returns the log file path."""
    log_file = settings.paths.log_file
    level = logging.DEBUG if verbose else getattr(logging, settings.log_level)
    logger = logging.getLogger("omnipost")
    logger.setLevel(level)
    logger.propagate = False
    formatter = KeyValueFormatter()
    if "file" not in _configured:
        handler: logging.Handler
        try:
            make_private_dir(log_file.parent)
            handler = SharedRotatingFileHandler(
                log_file, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
            )
            log_file.chmod(PRIVATE_FILE_MODE)  # one left 0644 by an older OmniPost
        except OSError:
            # An unwritable log dir must not stop publishing (doctor reports it), nor spill the
            # log onto the terminal through logging's last-resort handler.
            handler = logging.NullHandler()
        handler.setFormatter(formatter)
        logger.addHandler(handler)
        _configured.add("file")
    if stderr and "stderr" not in _configured:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(formatter)
        logger.addHandler(stream)
        _configured.add("stderr")
        _follow_huey(stream, verbose)
    for handler in logger.handlers:
        handler.setLevel(level)
    return log_file


def _follow_huey(handler: logging.Handler, verbose: bool) -> None:
    """huey's consumer messages (start, signals, shutdown) belong in the worker's log; its
    per-task "Executing …" lines only when verbose."""
    huey_logger = logging.getLogger("huey")
    huey_logger.setLevel(logging.INFO if verbose else logging.WARNING)
    huey_logger.propagate = False
    logging.getLogger("huey.consumer").setLevel(logging.INFO)
    huey_logger.addHandler(handler)
    for existing in logging.getLogger("omnipost").handlers:
        if existing is not handler:
            huey_logger.addHandler(existing)


# --- reading the log back (``omnipost logs``) -----------------------------------------------

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Every entry starts with the formatter's UTC timestamp; lines that do not (a traceback) belong
# to the entry above them.
_ENTRY_START = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[+-]\d{2}:\d{2}|Z) ")
# The formatter appends ``key=value`` fields after the message; read them from the end of the
# line so that a quoted message that mentions "variant=3" is not taken for a field.
_FIELD_AT_END = re.compile(r" (" + "|".join(FIELDS) + r')=("[^"]*"|[^ "]+)$')
FOLLOW_POLL_S = 0.2


@dataclass(frozen=True)
class LogEntry:
    """One log record as written: its first line, then any traceback lines."""

    text: str

    @property
    def first_line(self) -> str:
        return self.text.split("\n", 1)[0]

    @property
    def level(self) -> str | None:
        parts = self.first_line.split(" ", 2)
        return parts[1] if _ENTRY_START.match(self.first_line) and len(parts) > 1 else None

    def fields(self) -> dict[str, str]:
        return _parse_line(self.first_line)[1]

    def as_json(self) -> dict[str, str | None]:
        """The entry as a flat object for ``omnipost logs --json``."""
        line = self.first_line
        if not _ENTRY_START.match(line):
            return {"time": None, "level": None, "logger": None, "message": self.text}
        head, fields = _parse_line(line)
        stamp, level, logger, message = [*head.split(" ", 3), "", "", ""][:4]
        entry: dict[str, str | None] = {
            "time": stamp,
            "level": level,
            "logger": logger,
            "message": _unquote(message),
            **fields,
        }
        if "\n" in self.text:
            entry["traceback"] = self.text.split("\n", 1)[1]
        return entry


def _parse_line(line: str) -> tuple[str, dict[str, str]]:
    """Split a first line into (timestamp level logger message, {field: value})."""
    fields: dict[str, str] = {}
    rest = line
    while match := _FIELD_AT_END.search(rest):
        fields.setdefault(match.group(1), _unquote(match.group(2)))
        rest = rest[: match.start()]
    return rest, dict(reversed(fields.items()))


def _unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


@dataclass(frozen=True)
class LogFilter:
    """Which entries to show: one variant (exactly: variant=1 is not variant=12), a level up."""

    variant: int | None = None
    level: str | None = None

    def matches(self, entry: LogEntry) -> bool:
        if self.variant is not None and entry.fields().get("variant") != str(self.variant):
            return False
        if self.level is not None:
            level = entry.level
            if level not in LEVELS or LEVELS.index(level) < LEVELS.index(self.level.upper()):
                return False
        return True


def log_files(log_file: Path) -> list[Path]:
    """The log and its rotated siblings (``omnipost.log.5`` … ``.1``), oldest first."""
    rotated: list[tuple[int, Path]] = []
    for sibling in log_file.parent.glob(f"{glob.escape(log_file.name)}.*"):
        suffix = sibling.name[len(log_file.name) + 1 :]
        if suffix.isdigit() and sibling.is_file():
            rotated.append((int(suffix), sibling))
    files = [path for _, path in sorted(rotated, reverse=True)]
    return [*files, log_file] if log_file.is_file() else files


def split_entries(lines: Iterable[str]) -> Iterator[LogEntry]:
    """Group lines into entries: a traceback stays with the line that logged it."""
    current: list[str] = []
    for line in lines:
        if current and _ENTRY_START.match(line):
            yield LogEntry("\n".join(current))
            current = []
        current.append(line)
    if current:
        yield LogEntry("\n".join(current))


def _read_entries(path: Path) -> list[LogEntry]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []  # rotated away between listing and reading
    return list(split_entries(text.splitlines()))


def read_log_entries(
    log_file: Path, *, variant: int | None = None, level: str | None = None, lines: int = 50
) -> list[LogEntry]:
    """The last ``lines`` entries that match, oldest first, across the rotated files."""
    wanted = LogFilter(variant=variant, level=level)
    return _last_matching(log_files(log_file), wanted, lines)


def _last_matching(files: list[Path], wanted: LogFilter, count: int) -> list[LogEntry]:
    """Reads from the newest file back and stops once it has enough, so a short tail does not
    read 30 MB of rotated logs."""
    if count <= 0:
        return []
    found: list[LogEntry] = []
    for path in reversed(files):
        found = [e for e in _read_entries(path) if wanted.matches(e)] + found
        if len(found) >= count:
            break
    return found[-count:]


def read_log_lines(
    log_file: Path, *, variant: int | None = None, level: str | None = None, lines: int = 50
) -> list[str]:
    """Like ``read_log_entries``, as text (an entry with a traceback spans several lines)."""
    entries = read_log_entries(log_file, variant=variant, level=level, lines=lines)
    return [entry.text for entry in entries]


def follow_log(
    log_file: Path,
    *,
    variant: int | None = None,
    level: str | None = None,
    lines: int = 0,
    stop: threading.Event | None = None,
    poll_interval: float = FOLLOW_POLL_S,
) -> Iterator[LogEntry]:
    """Yield the last ``lines`` matching entries, then every new one as it is written.

    Survives rotation (the rest of the renamed file is read before the new one) and a log that
    does not exist yet. Ends when ``stop`` is set, or when the caller stops iterating (Ctrl-C).
    """
    wanted = LogFilter(variant=variant, level=level)
    tail = _Tail(log_file)
    try:
        if lines > 0:
            backlog = [e for e in tail.read_entries(hold_last=False) if wanted.matches(e)]
            if len(backlog) < lines:
                rotated = [p for p in log_files(log_file) if p != log_file]
                backlog = _last_matching(rotated, wanted, lines - len(backlog)) + backlog
            yield from backlog[-lines:]
        else:
            tail.skip_to_end()
        while stop is None or not stop.is_set():
            entries = tail.read_entries(hold_last=True)
            if not entries and tail.rotated():
                entries = tail.drain_and_reopen()
            yield from (e for e in entries if wanted.matches(e))
            if not entries:
                if stop is not None:
                    stop.wait(poll_interval)
                else:
                    time.sleep(poll_interval)
    finally:
        tail.close()


class _Tail:
    """Reads the entries appended to a file, following it across rotation."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: BinaryIO | None = None
        self.partial = b""  # an incomplete last line
        self.pending: list[str] = []  # the last entry, while its traceback may still come
        self._open()

    def _open(self) -> None:
        try:
            self.handle = self.path.open("rb")
        except FileNotFoundError:
            self.handle = None
        self.partial = b""

    def skip_to_end(self) -> None:
        if self.handle is not None:
            self.handle.seek(0, os.SEEK_END)

    def read_entries(self, *, hold_last: bool) -> list[LogEntry]:
        """Entries completed since the last call.

        With ``hold_last``, the last entry is kept back while the file is still growing (a long
        traceback can arrive in several writes) and released by the next call that finds
        nothing new.
        """
        if self.handle is None:
            self._open()
            if self.handle is None:
                return []
        chunk = self.handle.read()
        complete, _, self.partial = (self.partial + chunk).rpartition(b"\n")
        entries = list(split_entries(self.pending + _decode_lines(complete)))
        self.pending = []
        if hold_last and chunk and entries:
            self.pending = entries.pop().text.split("\n")
        return entries

    def drain_and_reopen(self) -> list[LogEntry]:
        """The file was rotated away: read what is left of it, then switch to the new one."""
        chunk = self.handle.read() if self.handle is not None else b""
        rest = _decode_lines(self.partial + chunk)
        entries = list(split_entries(self.pending + rest))
        self.pending = []
        self.close()
        self._open()
        return entries

    def rotated(self) -> bool:
        """The path now names another file (renamed away, recreated), or the file shrank."""
        if self.handle is None:
            return False
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            return True
        mine = os.fstat(self.handle.fileno())
        if (current.st_ino, current.st_dev) != (mine.st_ino, mine.st_dev):
            return True
        if current.st_size < self.handle.tell():
            self.handle.seek(0)  # truncated in place: start again from the top
            self.partial = b""
        return False

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


def _decode_lines(data: bytes) -> list[str]:
    return data.decode("utf-8", errors="replace").splitlines() if data else []
