"""``omnipost backup``: a consistent copy of the SQLite database, safe while a worker writes,
and the attached images beside it (``media/``).

The copy is made with SQLite's online backup API (see ``db.copy_sqlite_database``), which the
schema upgrade also uses to keep the old database before migrating it. PostgreSQL has its own
tool for this (pg_dump); OmniPost does not pretend to replace it.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from omnipost_tui import clock
from omnipost_tui.config import Settings
from omnipost_tui.db import copy_sqlite_database, default_backup_dir, new_backup_path, sqlite_path
from omnipost_tui.errors import ConfigError, DatabaseUnavailable, ValidationError
from omnipost_tui.files import PRIVATE_FILE_MODE, expand_user, make_private_dir
from omnipost_tui.redact import mask_url_password

BACKUP_STEM = "omnipost"


@dataclass(frozen=True)
class Backup:
    path: Path
    database: Path
    size_bytes: int
    media_dir: Path | None = None  # the images' copies: ``media/`` beside the backup
    media_copied: int = 0  # files new in it this time (it keeps every image once, by hash)


def backup_database(
    settings: Settings, target: Path | None = None, *, replace: bool = False
) -> Path:
    """Copy the database to ``target`` and return the path written.

    ``target`` None: ``backups/omnipost-YYYYmmdd-HHMMSS.db`` beside the database (in the data
    dir by default); an existing directory: a file of that name inside it; an existing file is
    replaced only with ``replace``.
    """
    return make_backup(settings, target, replace=replace).path


def make_backup(settings: Settings, target: Path | None = None, *, replace: bool = False) -> Backup:
    source = _sqlite_source(settings)
    if not source.exists():
        raise DatabaseUnavailable(
            f"no database yet at {source}; nothing to back up (it is created by the first "
            "omnipost command)"
        )
    destination = _destination(source, target, replace=replace)
    media_target = destination.parent / "media"
    if media_target.exists() and not media_target.is_dir():
        raise ValidationError(
            f"{media_target} is not a directory, and the images are backed up there; move it "
            "away or back up into another directory. Nothing was backed up"
        )
    new = not destination.exists()
    copy_sqlite_database(source, destination)
    try:
        media_dir, copied = copy_media(settings.paths.media_dir, media_target)
    except OSError as exc:
        if new:
            destination.unlink(missing_ok=True)  # a database whose images are missing is no backup
        raise ValidationError(
            f"cannot copy the images into {media_target}: {exc.strerror or exc}; "
            f"{'nothing was backed up' if new else f'{destination} holds the database only'}"
        ) from None
    return Backup(
        path=destination,
        database=source,
        size_bytes=destination.stat().st_size,
        media_dir=media_dir,
        media_copied=copied,
    )


def copy_media(source: Path, target: Path) -> tuple[Path | None, int]:
    """Copy the attached images into ``target`` (after the database: a file the database
    names was written before its row). Named by content hash, a file already there is the same
    file, so each backup copies only what is new. Returns (target or None, files copied)."""
    if not source.is_dir():
        return None, 0
    copied = 0
    for path in sorted(source.glob("*/*")):
        if path.name.startswith(".") or not path.is_file():
            continue  # an attach in progress
        destination = target / path.parent.name / path.name
        if destination.exists():
            continue
        make_private_dir(destination.parent)
        partial = destination.with_name(f".{destination.name}.partial")
        shutil.copyfile(path, partial)
        os.chmod(partial, PRIVATE_FILE_MODE)
        os.replace(partial, destination)
        copied += 1
    return (target if target.is_dir() else None), copied


def _sqlite_source(settings: Settings) -> Path:
    url = settings.database_url
    source = sqlite_path(url)
    if source is not None:
        return source
    shown = mask_url_password(url)
    if url.startswith("sqlite"):
        raise ConfigError(f"the database {shown} lives in memory; there is no file to back up")
    raise ConfigError(
        f"the database is not a SQLite file ({shown}); nothing was backed up. "
        "Use pg_dump for PostgreSQL (e.g. pg_dump -Fc -f omnipost.dump DBNAME)"
    )


def _destination(source: Path, target: Path | None, *, replace: bool) -> Path:
    now = clock.now()
    if target is None:
        return new_backup_path(default_backup_dir(source), BACKUP_STEM, now)
    target = expand_user(target, "backup path")
    if target.is_dir():
        return new_backup_path(target, BACKUP_STEM, now)
    if target.exists() and _same_file(target, source):
        raise ValidationError(f"{target} is the database itself; give another path")
    if target.exists() and not target.is_file():
        # --force replaces a file: never a device, a pipe or a socket (/dev/null as root).
        raise ValidationError(
            f"{target} is not a regular file; give the path of a file or a directory"
        )
    if target.exists() and not replace:
        raise ValidationError(
            f"{target} already exists; give another path, or --force to replace it"
        )
    if not target.parent.is_dir():
        raise ValidationError(f"directory {target.parent} does not exist")
    return target


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False
