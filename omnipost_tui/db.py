"""Database engine and sessions, SQLite hardening, and schema migrations.

SQLite is the embedded default: WAL so the TUI can read while the worker writes, a busy timeout so
short write contention waits instead of failing, foreign keys on, and write transactions that take
the write lock up front (``BEGIN IMMEDIATE``) so two writers never deadlock on a lock upgrade.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import CursorResult, Engine, Result, create_engine, event, inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DatabaseError,
    IntegrityError,
    NoSuchModuleError,
    OperationalError,
)
from sqlalchemy.orm import Session, sessionmaker

from omnipost_tui import clock
from omnipost_tui.errors import (
    ConfigError,
    ConflictError,
    DatabaseBusy,
    DatabaseUnavailable,
    OmniPostError,
)
from omnipost_tui.files import create_private_file, make_private_dir, open_private
from omnipost_tui.redact import mask_url_password

if TYPE_CHECKING:
    # Alembic is imported when a schema changes, not by every command that checks it is current.
    from alembic.config import Config

log = logging.getLogger("omnipost.db")

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_S = 15
BACKUP_DIR_NAME = "backups"


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def prepare_sqlite_file(path: Path) -> None:
    """Create the directory 0700 and the file 0600 before SQLite does (it would use the umask)."""
    create_private_file(path)
    if not os.access(path, os.R_OK | os.W_OK):
        raise DatabaseUnavailable(f"database file {path} is not readable and writable by you")


def default_backup_dir(database_file: Path) -> Path:
    """Backups live beside the database they copy: same disk, same owner, same 0700 parent."""
    return database_file.parent / BACKUP_DIR_NAME


def new_backup_path(directory: Path, stem: str, now: datetime) -> Path:
    """``<directory>/<stem>-YYYYmmdd-HHMMSS.db`` (UTC), with a suffix if that second is taken."""
    base = f"{stem}-{now.strftime('%Y%m%d-%H%M%S')}"
    candidate = directory / f"{base}.db"
    number = 2
    while candidate.exists():
        candidate = directory / f"{base}-{number}.db"
        number += 1
    return candidate


def copy_sqlite_database(source: Path, target: Path) -> Path:
    """Copy a live SQLite database to ``target`` (replacing it) with SQLite's online backup API.

    The backup API reads one consistent snapshot even while a worker writes (a plain file copy
    of a WAL database can tear), and WAL lets it read past another connection's open write
    transaction. The copy is written beside the target and renamed into place, so a failure
    never leaves a half-written backup or destroys an older one; it is created 0600 in a 0700
    directory (it holds the encrypted tokens) and switched to a rollback journal so it is one
    self-contained file.
    """
    if not source.is_file():
        # sqlite3.connect would create an empty database here instead of failing.
        raise DatabaseUnavailable(f"no database at {source}; nothing to back up")
    try:
        make_private_dir(target.parent)
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        os.close(open_private(partial, os.O_WRONLY | os.O_TRUNC))
    except OSError as exc:
        raise OmniPostError(f"cannot write the backup {target}: {exc.strerror or exc}") from None
    try:
        _sqlite_backup(source, partial)
        partial.replace(target)
    except BaseException as exc:
        partial.unlink(missing_ok=True)  # Ctrl-C included: never leave a half-written copy
        if not isinstance(exc, sqlite3.Error | OSError):
            raise
        _backup_failed(source, target, exc)
    return target


def _backup_failed(source: Path, target: Path, exc: BaseException) -> None:
    if isinstance(exc, sqlite3.Error):
        reason = str(exc).strip().splitlines()[0]
        raise DatabaseUnavailable(f"could not back up {source} to {target}: {reason}") from None
    strerror = getattr(exc, "strerror", None)
    raise OmniPostError(f"cannot write the backup {target}: {strerror or exc}") from None


def _sqlite_backup(source: Path, target: Path) -> None:
    src = sqlite3.connect(source, timeout=SQLITE_BUSY_TIMEOUT_S)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # all pages in one step: one read transaction, one snapshot
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    finally:
        src.close()


def _describe_db_error(url: str, exc: BaseException) -> str:
    # mask_url_password: a password in the query (?password=…) as well as in user:password@.
    where = sqlite_path(url) or mask_url_password(url)
    reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    if "file is not a database" in reason or "malformed" in reason:
        return f"database file {where} is corrupt or not an OmniPost database ({reason})"
    if "locked" in reason:
        return f"database {where} stayed locked for {SQLITE_BUSY_TIMEOUT_S} s; try again"
    return f"cannot use database {where}: {reason}"


def rows_matched(result: Result[Any]) -> int:
    """How many rows the UPDATE or DELETE behind ``result`` matched: its compare-and-set answer.

    ``Session.execute`` is typed to return a plain ``Result``; for DML it is a ``CursorResult``,
    the kind that has ``rowcount``."""
    assert isinstance(result, CursorResult)
    return result.rowcount


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        try:
            path = sqlite_path(url)
            self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
            # PostgreSQL: a host that silently drops packets must not hang a command for minutes.
            connect_args = (
                {"timeout": SQLITE_BUSY_TIMEOUT_S} if self.is_sqlite else {"connect_timeout": 5}
            )
            # PostgreSQL: room in the pool for every thread of a worker (16 by default) and its
            # sweep. With the default five, the connections beyond it were closed as each publish
            # gave them back and opened again for the next: a connection per publish at the top
            # of the hour. They are opened only when needed; a command uses one.
            pool = {} if self.is_sqlite else {"pool_size": 20, "max_overflow": 10}
            self.engine: Engine = create_engine(
                url, connect_args=connect_args, pool_pre_ping=True, **pool
            )
        except (ArgumentError, NoSuchModuleError, ImportError, ValueError) as exc:
            raise ConfigError(
                f"OMNIPOST_DATABASE_URL {mask_url_password(url)!r} cannot be used ({exc}); use "
                "sqlite:///PATH or postgresql+psycopg://USER@HOST/DB (pip install -e '.[scale]')"
            ) from None
        if path is not None:
            prepare_sqlite_file(path)
            # Before our first connection, which switches the file to WAL: another
            # program's database is refused untouched.
            _refuse_foreign_sqlite_file(path)
        if self.is_sqlite:
            _harden_sqlite(self.engine)
        # SQLite has one writer at a time, and its busy handler lets the others sleep in growing
        # steps (up to 100 ms) before looking again: 16 worker threads queueing for the lock
        # spent most of a burst asleep while it stood free. Inside one process they queue here
        # instead and each takes over the moment the previous write ends; other processes still
        # meet the busy timeout. Re-entrant, so a nested write fails as it did (busy), not hangs.
        self._writer = threading.RLock() if self.is_sqlite else None
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(
            self.engine.execution_options(sqlite_begin="IMMEDIATE"), expire_on_commit=False
        )

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A short read-only session."""
        with self._guard(), self._read() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: committed when the block ends, rolled back on any error."""
        with self._one_writer(), self._guard(), self._write() as session, session.begin():
            yield session

    @contextmanager
    def _one_writer(self) -> Iterator[None]:
        """SQLite: wait for this process's other writers first (see ``_writer``), as long as
        the busy timeout would have waited."""
        if self._writer is None:
            yield
            return
        if not self._writer.acquire(timeout=SQLITE_BUSY_TIMEOUT_S):
            where = sqlite_path(self.url) or self.url
            raise DatabaseBusy(
                f"database {where} stayed locked for {SQLITE_BUSY_TIMEOUT_S} s; try again"
            )
        try:
            yield
        finally:
            self._writer.release()

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except IntegrityError as exc:
            # Two writers raced for the same unique value (or a bug): not a broken database.
            reason = str(exc.orig).strip().splitlines()[0]
            raise ConflictError(
                f"the change conflicts with what is stored ({reason}); try again"
            ) from exc
        except OperationalError as exc:
            raise DatabaseBusy(_describe_db_error(self.url, exc)) from exc
        except DatabaseError as exc:
            raise DatabaseUnavailable(_describe_db_error(self.url, exc)) from exc

    # --- schema -----------------------------------------------------------------------------

    def current_revision(self) -> str | None:
        """The schema revision; None for an empty database. Another program's database (tables
        but no OmniPost revision) is refused: DatabaseUnavailable."""
        with self._guard(), self.engine.connect() as conn:
            revision = _stored_revision(conn)
            if revision is None:
                self._refuse_foreign(inspect(conn).get_table_names())
            return revision

    def _refuse_foreign(self, tables: Iterable[str]) -> None:
        refuse_foreign_database(
            sqlite_path(self.url) or mask_url_password(self.url),
            tables,
        )

    @staticmethod
    def head_revision() -> str:
        return head_revision()

    def upgrade(self, revision: str = "head", *, backup_dir: Path | None = None) -> Path | None:
        """Bring the schema to ``revision``; safe when several processes start at once.

        An existing SQLite database that is behind is first copied to ``backup_dir`` (default:
        ``backups`` beside the database); returns that copy's path, or None when none was needed.
        """
        backup = self._backup_before_migrating(revision, backup_dir)
        with self._guard(), self.engine.connect() as conn:
            if self.is_sqlite:
                # Batch migrations rebuild a table (copy, DROP, rename). With foreign keys on,
                # SQLite's DROP TABLE deletes the rows first and ON DELETE CASCADE empties the
                # child tables: rebuilding post_variants would wipe every attempt. Alembic's
                # advice: foreign keys off while migrating (only possible outside a transaction,
                # hence on the raw connection, which is in autocommit mode), checked at the end.
                _set_sqlite_foreign_keys(conn, on=False)
            try:
                with conn.execution_options(sqlite_begin="IMMEDIATE").begin():
                    self._upgrade_in_transaction(conn, revision)
            finally:
                if self.is_sqlite:
                    _set_sqlite_foreign_keys(conn, on=True)
        return backup

    def _backup_before_migrating(self, revision: str, backup_dir: Path | None) -> Path | None:
        """Copy an existing SQLite database whose schema is behind ``revision``.

        A fresh database has nothing to lose, and one written by a newer OmniPost is refused by
        the upgrade anyway (a supervisor restarting that refusal every few seconds must not fill
        the disk with copies). If the copy fails, nothing is migrated.
        """
        path = sqlite_path(self.url)
        if path is None or not path.exists():
            return None
        from alembic.script import ScriptDirectory
        from alembic.util import CommandError

        with self._guard(), self.engine.connect() as conn:
            current = _stored_revision(conn)
        if current is None:
            return None
        script = ScriptDirectory.from_config(_alembic_config())
        try:
            target = script.get_current_head() if revision == "head" else revision
            behind = {r.revision for r in script.iterate_revisions(target, "base")} - {target}
        except CommandError:
            return None  # an unknown target: the upgrade itself reports it
        if current not in behind:
            return None
        directory = backup_dir or default_backup_dir(path)
        destination = new_backup_path(directory, f"omnipost-before-{target}", clock.now())
        try:
            copy_sqlite_database(path, destination)
        except OmniPostError as exc:
            raise DatabaseUnavailable(
                f"database {path} needs migrating from revision {current} to {target}, but it "
                f"could not be backed up first, so nothing was changed: {exc.message}"
            ) from None
        log.info(
            "backed up the database to %s before migrating it from revision %s to %s",
            destination,
            current,
            target,
        )
        return destination

    def _upgrade_in_transaction(self, conn: Connection, revision: str) -> None:
        if conn.dialect.name == "postgresql":
            # Serialise concurrent starters; the lock ends with the transaction.
            conn.execute(text("SELECT pg_advisory_xact_lock(7478201)"))
        from alembic.util import CommandError

        if _stored_revision(conn) is None:
            self._refuse_foreign(inspect(conn).get_table_names())
        try:
            _run_alembic(conn, revision)
        except CommandError as exc:
            # Typically a database written by a newer OmniPost: alembic cannot find its
            # revision here. Say so instead of showing alembic's traceback.
            current = _stored_revision(conn)
            where = sqlite_path(self.url) or mask_url_password(self.url)
            raise DatabaseUnavailable(
                f"database {where} has schema revision {current!r}, which this version of "
                f"OmniPost does not know (it knows up to {self.head_revision()!r}); it was "
                f"probably upgraded by a newer OmniPost: upgrade this one ({exc})"
            ) from exc
        if conn.dialect.name == "sqlite":
            broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                # Rolled back with the transaction: the database stays as it was.
                raise DatabaseUnavailable(
                    f"migrating database {sqlite_path(self.url)} would break "
                    f"{len(broken)} reference(s) between tables (first: {tuple(broken[0])}); "
                    "nothing was changed"
                )

    def ensure_schema(self, *, backup_dir: Path | None = None) -> Path | None:
        """Upgrade when the database is behind (backing an existing SQLite file up first);
        cheap when it is current. Returns the backup's path when one was made."""
        if self.current_revision() != self.head_revision():
            return self.upgrade(backup_dir=backup_dir)
        return None

    def dispose(self) -> None:
        self.engine.dispose()


# The table alembic keeps the schema revision in: every OmniPost database has it.
VERSION_TABLE = "alembic_version"
OWN_TABLE = "post_variants"  # created with the first revision: only OmniPost has both


def refuse_foreign_database(where: object, tables: Iterable[str]) -> None:
    """A database with tables but without OmniPost's own belongs to another program: adding our
    tables to it would take it over. An empty one is fine (it becomes ours). Alembic's revision
    table alone proves nothing (many programs use alembic); OmniPost's first migration creates
    ``post_variants`` in the same transaction as its revision."""
    names = sorted(t for t in tables if not t.startswith("sqlite_"))
    if not names or {VERSION_TABLE, OWN_TABLE} <= set(names):
        return
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    version = (
        "another program's schema version"
        if VERSION_TABLE in names
        else "no OmniPost schema version"
    )
    raise DatabaseUnavailable(
        f"database {where} is not an OmniPost database: it holds other tables ({shown}) and "
        f"{version}; nothing was changed: point OMNIPOST_DATABASE_URL at a new file or an "
        "empty database"
    )


def _refuse_foreign_sqlite_file(path: Path) -> None:
    """Look at an existing SQLite file without writing to it (read-only, no WAL switch)."""
    if path.stat().st_size == 0:
        return
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = [
                name
                for (name,) in con.execute(
                    "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
                )
            ]
        finally:
            con.close()
    except sqlite3.Error:
        return  # corrupt or unreadable: the first real query says so, with the file's name
    refuse_foreign_database(path, tables)


def _stored_revision(conn: Connection) -> str | None:
    """The revision recorded in ``alembic_version`` (what alembic's MigrationContext reads),
    None when the table is missing or empty."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    revisions = [row[0] for row in conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))]
    if len(revisions) > 1:
        # OmniPost's history is one line; several heads means someone else's branches.
        raise DatabaseUnavailable(
            f"the database records several schema revisions ({', '.join(sorted(revisions))}); "
            "it was not migrated by OmniPost"
        )
    return revisions[0] if revisions else None


_REVISION_LINE = re.compile(r'^(down_revision|revision)\s*=\s*(?:"([^"]*)"|None)', re.M)


@cache
def head_revision() -> str:
    """The newest migration's revision, read from the scripts' ``revision = …`` and
    ``down_revision = …`` lines: the one no other script builds on (tests/test_db.py checks it
    against alembic's own answer)."""
    revisions: set[str] = set()
    built_on: set[str] = set()
    for script in (MIGRATIONS_DIR / "versions").glob("[0-9]*.py"):
        for name, value in _REVISION_LINE.findall(script.read_text(encoding="utf-8")):
            if value:
                (revisions if name == "revision" else built_on).add(value)
    heads = revisions - built_on
    return max(heads) if heads else ""


def _alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _run_alembic(connection: Connection, revision: str) -> None:
    from alembic import command

    command.upgrade(_alembic_config(connection), revision)


def _set_sqlite_foreign_keys(conn: Connection, *, on: bool) -> None:
    """Switch foreign keys on the DBAPI connection itself: through SQLAlchemy the statement
    would start a transaction, inside which SQLite ignores this PRAGMA."""
    dbapi_connection = conn.connection.dbapi_connection
    assert dbapi_connection is not None  # None only once the connection was invalidated
    dbapi_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _harden_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # Let SQLAlchemy's "begin" event, not pysqlite, decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")
