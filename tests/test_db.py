"""The database layer: SQLite hardening, errors users can act on, and migrations that keep data."""

from __future__ import annotations

import os
import stat
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, StatementError

from omnipost_tui import db as db_module
from omnipost_tui.config import load_settings
from omnipost_tui.db import Database
from omnipost_tui.engine.queue import open_queue
from omnipost_tui.errors import DatabaseUnavailable, OmniPostError
from omnipost_tui.models import Base, Brand, PostVariant, PublicationAttempt
from omnipost_tui.services.context import open_context


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "fresh" / "nested" / "omnipost.db"


@pytest.fixture
def db(db_path: Path):
    database = Database(sqlite_url(db_path))
    database.ensure_schema()
    yield database
    database.dispose()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- the SQLite file ------------------------------------------------------------------------


def test_file_is_created_0600_in_a_0700_directory(db_path):
    old_umask = os.umask(0o022)  # a typical umask would make both world-readable
    try:
        database = Database(sqlite_url(db_path))
        database.ensure_schema()
        with database.write() as session:
            session.add(Brand(name="Acme", created_at=datetime.now(UTC)))
    finally:
        os.umask(old_umask)
    assert mode(db_path) == 0o600
    assert mode(db_path.parent) == 0o700
    # SQLite's WAL side files (there while a connection is open) follow the file's permissions.
    for side in ("-wal", "-shm"):
        assert mode(db_path.with_name(db_path.name + side)) == 0o600
    database.dispose()


def test_wal_foreign_keys_and_busy_timeout_are_on(db):
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_wal_mode_persists_for_plain_sqlite_readers(db, db_path):
    import sqlite3

    with db.write() as session:
        session.add(Brand(name="Acme", created_at=datetime.now(UTC)))
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_a_variant_whose_post_does_not_exist_is_refused(db):
    with pytest.raises(IntegrityError, match="FOREIGN KEY"), db.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO post_variants (post_id, platform, account_id, status, attempts, "
            "attempts_before_retry, created_at, updated_at) "
            "VALUES (999, 'facebook', 999, 'draft', 0, 0, "
            "'2026-12-02 08:00:00.000000', '2026-12-02 08:00:00.000000')"
        )
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM post_variants").scalar() == 0


# --- unusable databases ---------------------------------------------------------------------


def test_a_corrupt_file_is_reported_by_name_by_ensure_schema(tmp_path):
    path = tmp_path / "omnipost.db"
    path.write_bytes(b"this is not a database, just bytes \x00\xff\xfe" * 200)
    database = Database(sqlite_url(path))
    with pytest.raises(DatabaseUnavailable) as info:
        database.ensure_schema()
    assert str(path) in info.value.message
    assert "corrupt" in info.value.message.replace(str(path), "")
    database.dispose()


def test_a_corrupt_file_is_reported_by_name_by_open_context(home: Path):
    home.mkdir(parents=True)
    path = home / "omnipost.db"
    path.write_bytes(os.urandom(16384))
    with pytest.raises(DatabaseUnavailable) as info:
        open_context(load_settings(), open_queue=open_queue)
    assert str(path) in info.value.message
    assert "corrupt" in info.value.message.replace(str(path), "")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://omnipost:hunter2@127.0.0.1:1/omnipost",
        "postgresql+psycopg://omnipost@127.0.0.1:1/omnipost?password=hunter2",
    ],
)
def test_a_database_that_cannot_be_reached_is_named_without_its_password(url: str):
    pytest.importorskip("psycopg")
    database = Database(url)
    with pytest.raises(OmniPostError) as info:
        database.ensure_schema()
    assert "127.0.0.1:1/omnipost" in info.value.message  # where it is, so it can be fixed
    assert "hunter2" not in info.value.message
    database.dispose()


def test_a_database_from_a_newer_version_is_reported_not_a_traceback(db, db_path):
    with db.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0999'")
    newer = Database(sqlite_url(db_path))
    with pytest.raises(DatabaseUnavailable) as info:
        newer.ensure_schema()
    assert str(db_path) in info.value.message
    assert "'0999'" in info.value.message
    newer.dispose()


# --- migrations -----------------------------------------------------------------------------

TS = "2026-11-{:02d} {:02d}:00:00.000000"

# Rows for every table of revision 0001, in the columns that revision has.
OLD_ROWS: dict[str, list[dict[str, object]]] = {
    "brands": [
        {"id": 1, "name": "Acme", "created_at": TS.format(1, 9)},
        {"id": 2, "name": "Globex", "created_at": TS.format(1, 10)},
    ],
    "connected_social_accounts": [
        {
            "id": 1,
            "brand_id": 1,
            "platform": "facebook",
            "external_id": "104200",
            "name": "Acme Page",
            "access_token_encrypted": "gAAAA-fb",
            "refresh_token_encrypted": None,
            "token_expires_at": TS.format(30, 12),
            "status": "connected",
            "created_at": TS.format(1, 9),
            "updated_at": TS.format(1, 9),
        },
        {
            "id": 2,
            "brand_id": 2,
            "platform": "linkedin",
            "external_id": "urn:li:organization:42",
            "name": "Globex LinkedIn",
            "access_token_encrypted": "gAAAA-li",
            "refresh_token_encrypted": "gAAAA-refresh",
            "token_expires_at": None,
            "status": "expired",
            "created_at": TS.format(1, 10),
            "updated_at": TS.format(2, 10),
        },
    ],
    "posts": [
        {
            "id": 1,
            "brand_id": 1,
            "title": "Launch",
            "base_text": "We launch today (really)!",
            "link": "https://acme.example/launch",
            "status": "approved",
            "created_at": TS.format(2, 9),
            "updated_at": TS.format(2, 9),
        },
        {
            "id": 2,
            "brand_id": 2,
            "title": "Hiring",
            "base_text": "Join us ✨",
            "link": None,
            "status": "draft",
            "created_at": TS.format(2, 11),
            "updated_at": TS.format(3, 11),
        },
    ],
    "post_variants": [
        {
            "id": 1,
            "post_id": 1,
            "platform": "facebook",
            "account_id": 1,
            "custom_text": None,
            "scheduled_at": TS.format(3, 9),
            "status": "published",
            "attempts": 2,
            "next_attempt_at": None,
            "external_post_id": "104200_555",
            "last_error": None,
            "created_at": TS.format(2, 9),
            "updated_at": TS.format(3, 10),
        },
        {
            "id": 2,
            "post_id": 1,
            "platform": "facebook",
            "account_id": 1,
            "custom_text": "Custom text for this one",
            "scheduled_at": TS.format(4, 9),
            "status": "failed",
            "attempts": 3,
            "next_attempt_at": None,
            "external_post_id": None,
            "last_error": "Facebook said no",
            "created_at": TS.format(2, 9),
            "updated_at": TS.format(4, 10),
        },
        {
            "id": 3,
            "post_id": 2,
            "platform": "linkedin",
            "account_id": 2,
            "custom_text": None,
            "scheduled_at": TS.format(29, 9),
            "status": "scheduled",
            "attempts": 0,
            "next_attempt_at": None,
            "external_post_id": None,
            "last_error": None,
            "created_at": TS.format(3, 11),
            "updated_at": TS.format(3, 11),
        },
        {
            "id": 4,
            "post_id": 2,
            "platform": "linkedin",
            "account_id": 2,
            "custom_text": None,
            "scheduled_at": None,
            "status": "draft",
            "attempts": 0,
            "next_attempt_at": None,
            "external_post_id": None,
            "last_error": None,
            "created_at": TS.format(3, 12),
            "updated_at": TS.format(3, 12),
        },
        {
            "id": 5,
            "post_id": 1,
            "platform": "facebook",
            "account_id": 1,
            "custom_text": None,
            "scheduled_at": TS.format(5, 9),
            "status": "retrying",
            "attempts": 1,
            "next_attempt_at": TS.format(29, 10),
            "external_post_id": None,
            "last_error": "rate limited",
            "created_at": TS.format(4, 9),
            "updated_at": TS.format(5, 9),
        },
    ],
    "publication_attempts": [
        {
            "id": 1,
            "variant_id": 1,
            "attempt_no": 1,
            "started_at": TS.format(3, 9),
            "finished_at": TS.format(3, 9),
            "result": "fail",
            "http_status": 500,
            "error_code": "2",
            "error_message": "An unexpected error has occurred",
            "error_class": "transient",
            "external_post_id": None,
            "request_summary": "POST /v24.0/104200/feed",
            "raw_response": '{"error": {"code": 2}}',
        },
        {
            "id": 2,
            "variant_id": 1,
            "attempt_no": 2,
            "started_at": TS.format(3, 10),
            "finished_at": TS.format(3, 10),
            "result": "success",
            "http_status": 200,
            "error_code": None,
            "error_message": None,
            "error_class": None,
            "external_post_id": "104200_555",
            "request_summary": "POST /v24.0/104200/feed",
            "raw_response": '{"id": "104200_555"}',
        },
        {
            "id": 3,
            "variant_id": 2,
            "attempt_no": 1,
            "started_at": TS.format(4, 9),
            "finished_at": TS.format(4, 10),
            "result": "fail",
            "http_status": 400,
            "error_code": "100",
            "error_message": "Invalid parameter",
            "error_class": "permanent",
            "external_post_id": None,
            "request_summary": None,
            "raw_response": None,
        },
    ],
}


def insert_rows(database: Database, rows: dict[str, list[dict[str, object]]]) -> None:
    with database.engine.begin() as conn:
        for table, table_rows in rows.items():
            for row in table_rows:
                columns = ", ".join(row)
                params = ", ".join(f":{c}" for c in row)
                conn.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({params})"), row)


def read_rows(database: Database, table: str, columns: list[str]) -> list[dict[str, object]]:
    with database.engine.connect() as conn:
        result = conn.execute(text(f"SELECT {', '.join(columns)} FROM {table} ORDER BY 1"))
        return [dict(row._mapping) for row in result]


@pytest.fixture
def old_db(db_path: Path):
    """A database created at revision 0001 with rows in every table."""
    database = Database(sqlite_url(db_path))
    database.upgrade("0001")
    assert database.current_revision() == "0001"
    insert_rows(database, OLD_ROWS)
    yield database
    database.dispose()


def test_upgrading_from_0001_keeps_every_row_and_value(old_db):
    old_db.ensure_schema()
    assert old_db.current_revision() == Database.head_revision()
    for table, rows in OLD_ROWS.items():
        assert read_rows(old_db, table, list(rows[0])) == rows, table


def test_upgrading_from_0001_fills_the_new_columns(old_db):
    old_db.ensure_schema()
    variants = {
        row["id"]: row
        for row in read_rows(
            old_db,
            "post_variants",
            ["id", "updated_at", "published_at", "attempts_before_retry", "claim_token"],
        )
    }
    # Published variants learn when they were published; the others have no such time.
    assert variants[1]["published_at"] == variants[1]["updated_at"] == TS.format(3, 10)
    assert [variants[i]["published_at"] for i in (2, 3, 4, 5)] == [None] * 4
    assert {v["attempts_before_retry"] for v in variants.values()} == {0}
    assert {v["claim_token"] for v in variants.values()} == {None}
    # Old attempts certainly left the machine: sent when they started.
    for row in read_rows(old_db, "publication_attempts", ["started_at", "sent_at", "worker"]):
        assert row["sent_at"] == row["started_at"]
        assert row["worker"] is None
    with old_db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM worker_heartbeats").scalar() == 0


def test_upgraded_rows_read_back_as_aware_utc_through_the_models(old_db):
    old_db.ensure_schema()
    with old_db.read() as session:
        published = session.get(PostVariant, 1)
        assert published.published_at == datetime(2026, 11, 3, 10, tzinfo=UTC)
        assert published.scheduled_at == datetime(2026, 11, 3, 9, tzinfo=UTC)
        retrying = session.get(PostVariant, 5)
        assert retrying.next_attempt_at == datetime(2026, 11, 29, 10, tzinfo=UTC)
        attempts = session.scalars(select(PublicationAttempt).order_by(PublicationAttempt.id)).all()
        assert [a.sent_at for a in attempts] == [a.started_at for a in attempts]


def test_upgrading_from_0001_keeps_foreign_keys_enforced(old_db):
    old_db.ensure_schema()
    with old_db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    with pytest.raises(IntegrityError), old_db.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO publication_attempts (variant_id, attempt_no, started_at) "
            "VALUES (999, 1, '2026-12-02 08:00:00.000000')"
        )


def run_alembic_then(extra):
    """Stand-in for db._run_alembic: the real migrations, then ``extra`` (a future migration)."""
    real = db_module._run_alembic

    def run(connection, revision):
        real(connection, revision)
        extra(connection)

    return run


def test_a_migration_that_rebuilds_tables_keeps_the_rows_of_child_tables(old_db, monkeypatch):
    """SQLite can ALTER little, so batch migrations copy a table, DROP it and rename the copy.

    With foreign keys on, that DROP deletes the rows first and ON DELETE CASCADE empties the
    child tables: rebuilding post_variants would silently wipe every publication attempt.
    """

    def rebuild(connection):
        ops = Operations(MigrationContext.configure(connection))
        with ops.batch_alter_table("posts", recreate="always") as batch:
            batch.alter_column("link", type_=sa.Text)
        with ops.batch_alter_table("post_variants", recreate="always") as batch:
            batch.alter_column("last_error", type_=sa.Text)

    monkeypatch.setattr(db_module, "_run_alembic", run_alembic_then(rebuild))
    old_db.ensure_schema()
    for table, rows in OLD_ROWS.items():
        assert read_rows(old_db, table, list(rows[0])) == rows, table
    # Foreign keys are back on for the connections the application gets afterwards.
    with old_db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    with pytest.raises(IntegrityError), old_db.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO publication_attempts (variant_id, attempt_no, started_at) "
            "VALUES (999, 1, '2026-12-02 08:00:00.000000')"
        )


def test_a_migration_that_would_break_references_changes_nothing(old_db, monkeypatch):
    def orphan(connection):
        connection.exec_driver_sql("DELETE FROM post_variants WHERE id = 1")

    monkeypatch.setattr(db_module, "_run_alembic", run_alembic_then(orphan))
    with pytest.raises(DatabaseUnavailable, match="reference"):
        old_db.ensure_schema()
    assert old_db.current_revision() == "0001"
    for table, rows in OLD_ROWS.items():
        assert read_rows(old_db, table, list(rows[0])) == rows, table


def schema_differences(database: Database) -> list:
    with database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def test_models_and_migrations_agree(db):
    assert schema_differences(db) == []


def test_models_and_migrations_agree_after_upgrading_an_old_database(old_db):
    # The comparison does see differences: at 0001 the engine's columns are missing.
    assert schema_differences(old_db) != []
    old_db.ensure_schema()
    assert schema_differences(old_db) == []


def test_ensure_schema_is_cheap_and_idempotent(db):
    with db.write() as session:
        session.add(Brand(name="Acme", created_at=datetime.now(UTC)))
    db.ensure_schema()
    db.ensure_schema()
    with db.read() as session:
        assert session.scalars(select(Brand.name)).all() == ["Acme"]


def test_two_processes_migrating_the_same_fresh_file_at_once_both_succeed(db_path):
    first, second = Database(sqlite_url(db_path)), Database(sqlite_url(db_path))
    # Both must see the empty database before either migrates: that is the race.
    seen_empty = threading.Barrier(2, timeout=10)
    for database in (first, second):
        original = database.current_revision

        def current_revision(original=original):
            revision = original()
            seen_empty.wait()
            return revision

        database.current_revision = current_revision  # type: ignore[method-assign]

    errors: list[BaseException] = []

    def migrate(database: Database) -> None:
        try:
            database.ensure_schema()
        except BaseException as exc:  # reported below, with the test's assertion
            errors.append(exc)

    threads = [threading.Thread(target=migrate, args=(d,)) for d in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    check = Database(sqlite_url(db_path))
    assert check.current_revision() == Database.head_revision()
    assert schema_differences(check) == []
    with check.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 1
    for database in (first, second, check):
        database.dispose()


# --- UTCDateTime ----------------------------------------------------------------------------


def test_utc_datetime_round_trips_an_aware_time_as_utc(db):
    berlin_summer = datetime(2026, 7, 1, 14, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    with db.write() as session:
        session.add(Brand(name="Acme", created_at=berlin_summer))
    with db.read() as session:
        stored = session.scalars(select(Brand.created_at)).one()
    assert stored == berlin_summer
    assert stored.tzinfo == UTC
    assert stored == datetime(2026, 7, 1, 12, 30, 15, 123456, tzinfo=UTC)
    # On disk it is UTC text, so string comparison in WHERE clauses orders correctly.
    with db.engine.connect() as conn:
        raw = conn.exec_driver_sql("SELECT created_at FROM brands").scalar()
    assert raw == "2026-07-01 12:30:15.123456"


def test_utc_datetime_compares_correctly_across_offsets(db):
    early = datetime(2026, 12, 2, 9, 0, tzinfo=timezone(timedelta(hours=5)))  # 04:00 UTC
    late = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
    with db.write() as session:
        session.add_all(
            [Brand(name="late", created_at=late), Brand(name="early", created_at=early)]
        )
    bound = datetime(2026, 12, 2, 6, 0, tzinfo=timezone(timedelta(hours=1)))  # 05:00 UTC
    with db.read() as session:
        before = session.scalars(select(Brand.name).where(Brand.created_at < bound)).all()
        ordered = session.scalars(select(Brand.name).order_by(Brand.created_at)).all()
    assert before == ["early"]
    assert ordered == ["early", "late"]


def test_utc_datetime_refuses_a_naive_time(db):
    with pytest.raises((ValueError, StatementError), match="naive"), db.write() as session:
        session.add(Brand(name="Acme", created_at=datetime(2026, 12, 2, 8, 0)))
    with db.read() as session:
        assert session.scalars(select(Brand)).all() == []


# --- another program's database ---------------------------------------------------------------


@pytest.mark.services
def test_a_postgresql_schema_of_another_program_is_not_taken_over(postgres_url: str) -> None:
    database = Database(postgres_url)
    try:
        with database.engine.begin() as conn:
            conn.execute(text("CREATE TABLE invoices (id integer PRIMARY KEY)"))
        for attempt in (database.ensure_schema, database.upgrade):
            with pytest.raises(DatabaseUnavailable) as info:
                attempt()
            assert "is not an OmniPost database: it holds other tables (invoices)" in str(
                info.value
            )
        with database.engine.connect() as conn:
            assert sa.inspect(conn).get_table_names() == ["invoices"]
    finally:
        database.dispose()


@pytest.mark.services
def test_an_empty_postgresql_database_becomes_omniposts(postgres_url: str) -> None:
    database = Database(postgres_url)
    try:
        database.ensure_schema()
        assert database.current_revision() == Database.head_revision()
    finally:
        database.dispose()


def test_the_head_read_from_the_scripts_is_alembics_head():
    # db.head_revision reads the scripts' revision lines so that checking a database is current
    # does not import alembic; it must name the revision alembic itself would upgrade to.
    from alembic.script import ScriptDirectory

    from omnipost_tui.db import MIGRATIONS_DIR, head_revision

    assert head_revision() == ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
