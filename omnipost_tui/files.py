"""Files and directories private to the user who runs OmniPost.

The key decrypts every token, the database and its backups hold them, the logs and the queue
say what was published where: all of it is readable by its owner only, whatever the umask.
Python's defaults do not give that: ``mkdir(parents=True)`` creates the parents with the
umask's mode, ``open(path, "a")`` a new file with it (0644, or 0666 under ``umask 000``).
"""

from __future__ import annotations

import contextlib
import os
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
