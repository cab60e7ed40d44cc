"""Database engine and sessions, SQLite hardening, and schema migrations.

SQLite is the embedded default: WAL so the TUI can read while the worker writes, a busy timeout so
short write contention waits instead of failing, foreign keys on, and write transactions that take
the write lock up front (``BEGIN IMMEDIATE``) so two writers never deadlock on a lock upgrade.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DatabaseError,
    IntegrityError,
    NoSuchModuleError,
    OperationalError,
)
from sqlalchemy.orm import Session, sessionmaker

from omnipost_tui.errors import ConfigError, ConflictError, DatabaseUnavailable
from omnipost_tui.redact import mask_url_password

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_S = 15


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def prepare_sqlite_file(path: Path) -> None:
    """Create the directory 0700 and the file 0600 before SQLite does (it would use the umask)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
    if not os.access(path, os.R_OK | os.W_OK):
        raise DatabaseUnavailable(f"database file {path} is not readable and writable by you")


def _describe_db_error(url: str, exc: BaseException) -> str:
    where = sqlite_path(url) or make_url(url).render_as_string(hide_password=True)
    reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    if "file is not a database" in reason or "malformed" in reason:
        return f"database file {where} is corrupt or not an OmniPost database ({reason})"
    if "locked" in reason:
        return f"database {where} stayed locked for {SQLITE_BUSY_TIMEOUT_S} s; try again"
    return f"cannot use database {where}: {reason}"


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        try:
            path = sqlite_path(url)
            self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
            connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_S} if self.is_sqlite else {}
            self.engine: Engine = create_engine(url, connect_args=connect_args, pool_pre_ping=True)
        except (ArgumentError, NoSuchModuleError, ImportError, ValueError) as exc:
            raise ConfigError(
                f"OMNIPOST_DATABASE_URL {mask_url_password(url)!r} cannot be used ({exc}); use "
                "sqlite:///PATH or postgresql+psycopg://USER@HOST/DB (pip install -e '.[scale]')"
            ) from None
        if path is not None:
            prepare_sqlite_file(path)
        if self.is_sqlite:
            _harden_sqlite(self.engine)
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
        with self._guard(), self._write() as session, session.begin():
            yield session

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
        except (OperationalError, DatabaseError) as exc:
            raise DatabaseUnavailable(_describe_db_error(self.url, exc)) from exc

    # --- schema -----------------------------------------------------------------------------

    def current_revision(self) -> str | None:
        with self._guard(), self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    @staticmethod
    def head_revision() -> str:
        return ScriptDirectory.from_config(_alembic_config()).get_current_head() or ""

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to ``revision``; safe when several processes start at once."""
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

    def _upgrade_in_transaction(self, conn: Connection, revision: str) -> None:
        if conn.dialect.name == "postgresql":
            # Serialise concurrent starters; the lock ends with the transaction.
            conn.execute(text("SELECT pg_advisory_xact_lock(7478201)"))
        try:
            _run_alembic(conn, revision)
        except CommandError as exc:
            # Typically a database written by a newer OmniPost: alembic cannot find its
            # revision here. Say so instead of showing alembic's traceback.
            current = MigrationContext.configure(conn).get_current_revision()
            where = sqlite_path(self.url) or make_url(self.url).render_as_string(hide_password=True)
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

    def ensure_schema(self) -> None:
        """Upgrade when the database is behind; cheap when it is current."""
        if self.current_revision() != self.head_revision():
            self.upgrade()

    def dispose(self) -> None:
        self.engine.dispose()


def _alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _run_alembic(connection: Connection, revision: str) -> None:
    command.upgrade(_alembic_config(connection), revision)


def _set_sqlite_foreign_keys(conn: Connection, *, on: bool) -> None:
    """Switch foreign keys on the DBAPI connection itself: through SQLAlchemy the statement
    would start a transaction, inside which SQLite ignores this PRAGMA."""
    conn.connection.dbapi_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _harden_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # Let SQLAlchemy's "begin" event, not pysqlite, decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")
