"""Files and directories private to the user who runs OmniPost.

The key decrypts every token, the database and its backups hold them, the logs and the queue
say what was published where: all of it is readable by its owner only, whatever the umask.
Python's defaults do not give that: ``mkdir(parents=True)`` creates the parents with the
umask's mode, ``open(path, "a")`` a new file with it (0644, or 0666 under ``umask 000``).
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from omnipost_tui.errors import ValidationError

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def expand_user(path: str | Path, what: str = "path") -> Path:
    """``path`` with a leading ``~`` or ``~user`` expanded; ValidationError (one line) when that
    home cannot be found (no such user, or no home at all)."""
    try:
        return Path(path).expanduser()
    except RuntimeError:
        raise ValidationError(
            f"{what} {str(path)!r} starts with a home directory that cannot be found (no such "
            "user?); give the full path"
        ) from None


def make_private_dir(directory: Path) -> None:
    """Create ``directory`` and its missing parents 0700 (existing ones are left as they are)."""
    missing = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for path in reversed(missing):
        path.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)


def open_private(path: str | Path, flags: int = os.O_WRONLY | os.O_APPEND) -> int:
    """A descriptor on ``path`` (``flags``, default: appending), the file created 0600 when it
    does not exist. Add ``os.O_EXCL`` to fail with FileExistsError if it does."""
    return os.open(path, flags | os.O_CREAT, PRIVATE_FILE_MODE)


def create_private_file(path: Path) -> None:
    """Create ``path`` empty and 0600, and its directory 0700, unless it exists already."""
    make_private_dir(path.parent)
    # Already there: a file, or something else whoever opens it will report.
    with contextlib.suppress(FileExistsError):
        os.close(open_private(path, os.O_WRONLY | os.O_EXCL))


class NotAFile(OSError):
    """The path names something that is not a regular file (a device, a FIFO, a socket)."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"is {kind}, not a file")
        self.kind = kind


class FileTooLarge(OSError):
    """The file holds more than the reader takes; ``size`` is what is known of it (at least)."""

    def __init__(self, size: int) -> None:
        super().__init__(f"holds {size} bytes or more")
        self.size = size


def describe_kind(mode: int) -> str:
    """What a path that is not a regular file is, in words a user knows."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_limited(path: str | Path, limit: int, *, pipes: bool = False) -> bytes:
    """The bytes of the regular file at ``path``, refused past ``limit`` (FileTooLarge).

    Anything but a regular file (and a pipe, if ``pipes``: ``<(pass show …)`` is one) raises
    NotAFile before a byte is read: a device such as /dev/zero never ends, and stat() says 0
    bytes for it; a FIFO nobody writes to would block the open for ever (hence O_NONBLOCK).
    At most ``limit + 1`` bytes are read, so a file that grows while it is read is refused too
    instead of filling the memory or being cut silently.
    """
    kind = os.stat(path).st_mode  # sockets cannot even be opened: say what they are
    if not (stat.S_ISREG(kind) or (pipes and stat.S_ISFIFO(kind))):
        raise NotAFile(describe_kind(kind))
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        info = os.fstat(descriptor)  # what was opened, should the path have changed since
        if stat.S_ISFIFO(info.st_mode) and pipes:
            os.set_blocking(descriptor, True)  # a pipe's writer may still be writing
        elif not stat.S_ISREG(info.st_mode):
            raise NotAFile(describe_kind(info.st_mode))
        elif info.st_size > limit:
            raise FileTooLarge(info.st_size)
        chunks: list[bytes] = []
        remaining = limit + 1
        while remaining > 0:
            chunk = os.read(descriptor, min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    finally:
        os.close(descriptor)
    data = b"".join(chunks)
    if len(data) > limit:
        raise FileTooLarge(len(data))
    return data
