"""``omnipost backup`` and the backup taken before a schema migration."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from omnipost_tui.config import load_settings
from omnipost_tui.db import Database
from omnipost_tui.engine.queue import open_queue
from omnipost_tui.errors import DatabaseUnavailable
from omnipost_tui.services.backup import backup_database
from omnipost_tui.services.brands import add_brand
from omnipost_tui.services.context import Context, open_context
from tests.conftest import FB_TOKEN, World

TABLES = ("brands", "connected_social_accounts", "posts", "post_variants")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def rows(path: Path, table: str) -> list[tuple]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
    finally:
        conn.close()


def revision(path: Path) -> str:
    return rows(path, "alembic_version")[0][0]


# --- omnipost backup ---------------------------------------------------------------------


def test_backup_writes_a_private_copy_with_the_same_rows(ctx: Context, world: World, cli):
    database = ctx.settings.paths.database_file

    result = cli("backup")

    assert result.exit_code == 0, result.output
    copy = Path(result.stdout.strip())
    assert copy.parent == ctx.settings.paths.data_dir / "backups"
    assert copy.name.startswith("omnipost-") and copy.suffix == ".db"
    assert mode(copy) == 0o600
    assert mode(copy.parent) == 0o700
    for table in TABLES:
        assert rows(copy, table) == rows(database, table), table
    assert rows(copy, "brands"), "the test needs data"
    # The copy is one self-contained file, and the token in it is still encrypted.
    assert not copy.with_name(copy.name + "-wal").exists()
    assert FB_TOKEN.encode() not in copy.read_bytes()


def test_two_backups_in_the_same_second_do_not_overwrite_each_other(
    ctx: Context, world: World, cli, fake_clock
):
    first = cli("backup").stdout.strip()
    second = cli("backup").stdout.strip()
    assert first != second
    assert Path(first).exists() and Path(second).exists()


def test_backup_to_a_path_or_a_directory(ctx: Context, world: World, cli, tmp_path: Path):
    target = tmp_path / "nightly.db"
    result = cli("backup", str(target))
    assert result.exit_code == 0
    assert result.stdout.strip() == str(target)
    assert rows(target, "brands") == rows(ctx.settings.paths.database_file, "brands")

    folder = tmp_path / "folder"
    folder.mkdir()
    inside = Path(cli("backup", str(folder)).stdout.strip())
    assert inside.parent == folder and inside.exists()


def test_an_existing_file_is_replaced_only_with_force(
    ctx: Context, world: World, cli, tmp_path: Path
):
    target = tmp_path / "keep.db"
    target.write_bytes(b"precious")

    refused = cli("backup", str(target))
    assert refused.exit_code == 2
    assert refused.stderr.startswith("error: ") and "--force" in refused.stderr
    assert target.read_bytes() == b"precious"

    replaced = cli("backup", "--force", str(target))
    assert replaced.exit_code == 0
    assert rows(target, "brands") == rows(ctx.settings.paths.database_file, "brands")


def test_backing_up_onto_the_database_itself_is_refused(ctx: Context, world: World, cli):
    database = ctx.settings.paths.database_file
    before = rows(database, "brands")
    result = cli("backup", "--force", str(database))
    assert result.exit_code == 2
    assert "the database itself" in result.stderr
    assert rows(database, "brands") == before


def test_force_never_replaces_what_is_not_a_regular_file(
    ctx: Context, world: World, cli, tmp_path: Path
):
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)  # as /dev/null would be, for root: --force must not turn it into a file
    result = cli("backup", "--force", str(pipe))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "not a regular file" in result.stderr
    assert stat.S_ISFIFO(pipe.stat().st_mode)
    assert not (tmp_path / "media").exists()


def test_a_backup_whose_images_cannot_be_written_writes_nothing(
    ctx: Context, world: World, cli, tmp_path: Path
):
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / "media").write_text("in the way")  # where the images of the backup go
    result = cli("backup", str(folder / "b.db"))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "media" in result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["media"]


def test_a_path_under_a_home_that_does_not_exist_is_one_line(ctx: Context, world: World, cli):
    result = cli("backup", "~no-such-user-here/b.db")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "full path" in result.stderr


def test_backup_json(ctx: Context, world: World, cli):
    import json

    data = json.loads(cli("backup", "--json").stdout)
    assert Path(data["path"]).exists()
    assert data["database"] == str(ctx.settings.paths.database_file)
    assert data["bytes"] == Path(data["path"]).stat().st_size > 0


def test_postgresql_is_not_backed_up_and_says_pg_dump(home: Path, cli, monkeypatch):
    monkeypatch.setenv("OMNIPOST_DATABASE_URL", "postgresql+psycopg://omnipost:s3cret@db/omnipost")
    result = cli("backup")
    assert result.exit_code == 2
    assert "pg_dump" in result.stderr
    assert "s3cret" not in result.output
    assert result.stdout == ""
    assert not (home / "backups").exists()


def test_no_database_yet_is_an_error_not_an_empty_backup(home: Path, cli):
    result = cli("backup")
    assert result.exit_code == 2
    assert "no database yet" in result.stderr
    assert not (home / "omnipost.db").exists()
    assert not (home / "backups").exists()


def test_a_backup_is_consistent_while_another_connection_holds_a_write_open(
    ctx: Context, world: World
):
    database = ctx.settings.paths.database_file
    writer = sqlite3.connect(database, isolation_level=None, timeout=1)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute(
            "INSERT INTO brands (name, created_at) VALUES ('Uncommitted', '2026-12-02 08:00:00')"
        )
        # Must neither wait for the writer (busy timeout) nor copy its unfinished work.
        during = backup_database(ctx.settings)
        writer.execute("COMMIT")
    finally:
        writer.close()
    after = backup_database(ctx.settings)
    assert "Uncommitted" not in [r[1] for r in rows(during, "brands")]
    assert "Uncommitted" in [r[1] for r in rows(after, "brands")]


def test_backups_taken_while_a_worker_commits_are_each_a_consistent_snapshot(ctx: Context):
    """A writer commits brands in pairs; a torn copy would show an odd number or fail its
    integrity check."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def write_pairs() -> None:
        n = 0
        try:
            while not stop.is_set():
                with ctx.db.write() as session:
                    for _ in range(2):
                        n += 1
                        session.execute(
                            text(
                                "INSERT INTO brands (name, created_at) "
                                "VALUES (:name, '2026-12-02 08:00:00')"
                            ),
                            {"name": f"brand-{n}"},
                        )
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    thread = threading.Thread(target=write_pairs)
    thread.start()
    copies = []
    try:
        for _ in range(8):
            copies.append(backup_database(ctx.settings))
    finally:
        stop.set()
        thread.join(timeout=30)
    assert errors == []
    counts = []
    for copy in copies:
        conn = sqlite3.connect(copy)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            counts.append(conn.execute("SELECT count(*) FROM brands").fetchone()[0])
        finally:
            conn.close()
    assert all(count % 2 == 0 for count in counts), counts
    assert counts[-1] > 0


# --- before a migration ------------------------------------------------------------------


@pytest.fixture
def old_database(home: Path) -> Path:
    """The default database file, at revision 0003, with a brand in it."""
    path = load_settings().paths.database_file
    database = Database(f"sqlite:///{path}")
    database.upgrade("0003")
    with database.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO brands (name, created_at) VALUES ('Acme', '2026-11-01 08:00:00.000000')"
        )
    database.dispose()
    return path


def backups(home: Path) -> list[Path]:
    folder = home / "backups"
    return sorted(folder.glob("*.db")) if folder.exists() else []


def test_an_old_database_is_backed_up_before_it_is_migrated(
    home: Path, old_database: Path, monkeypatch
):
    messages: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda rec: messages.append(rec.getMessage())  # type: ignore[method-assign]
    db_logger = logging.getLogger("omnipost.db")
    db_logger.addHandler(handler)
    old_level = db_logger.level
    db_logger.setLevel(logging.INFO)  # as setup_logging sets it for the whole "omnipost" tree
    monkeypatch.setenv("OMNIPOST_QUEUE_URL", "memory://")
    try:
        context = open_context(load_settings(), open_queue=open_queue)
        context.close()
    finally:
        db_logger.removeHandler(handler)
        db_logger.setLevel(old_level)

    head = Database.head_revision()
    assert revision(old_database) == head
    [copy] = backups(home)
    assert copy.name.startswith(f"omnipost-before-{head}-")
    assert revision(copy) == "0003"
    assert [r[1] for r in rows(copy, "brands")] == ["Acme"]
    assert [r[1] for r in rows(old_database, "brands")] == ["Acme"]
    assert mode(copy) == 0o600
    assert any(str(copy) in m and "0003" in m for m in messages), messages


def test_db_upgrade_backs_up_too(home: Path, old_database: Path, cli):
    result = cli("db", "upgrade")
    assert result.exit_code == 0, result.output
    [copy] = backups(home)
    assert revision(copy) == "0003"


def test_a_fresh_or_current_database_is_not_backed_up(home: Path, monkeypatch):
    monkeypatch.setenv("OMNIPOST_QUEUE_URL", "memory://")
    created = open_context(load_settings(), open_queue=open_queue)
    add_brand(created, "Acme")
    created.close()
    reopened = open_context(
        load_settings(), open_queue=open_queue
    )  # at the latest revision, with data
    reopened.close()
    assert backups(home) == []


def test_a_database_from_a_newer_version_is_not_copied_on_every_start(home: Path, cli):
    database = Database(f"sqlite:///{load_settings().paths.database_file}")
    database.ensure_schema()
    with database.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0999'")
    database.dispose()
    for _ in range(2):
        result = cli("brand", "list")
        assert result.exit_code == 2
        assert "'0999'" in result.stderr
    assert backups(home) == []


def test_if_the_backup_fails_nothing_is_migrated(home: Path, old_database: Path, monkeypatch):
    (home / "backups").write_text("a file where the backups directory should be")
    monkeypatch.setenv("OMNIPOST_QUEUE_URL", "memory://")
    with pytest.raises(DatabaseUnavailable) as info:
        open_context(load_settings(), open_queue=open_queue)
    assert "backed up" in info.value.message
    assert "nothing was changed" in info.value.message
    assert revision(old_database) == "0003"


def test_a_target_ending_in_a_slash_is_a_directory_even_a_new_one(
    ctx: Context, world: World, cli, tmp_path: Path
):
    result = cli("backup", f"{tmp_path}/nightly/")
    assert result.exit_code == 0, result.output
    written = Path(result.stdout.strip())
    assert written.parent == tmp_path / "nightly"
    assert written.name.startswith("omnipost-") and written.is_file()
