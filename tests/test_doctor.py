"""``omnipost doctor``: every check passes on a healthy install and warns or fails, with its
fix, when the thing it checks is broken; the exit status is the worst level (0 ok, 1 warn,
2 fail) and 3 when doctor itself could not tell.

The install is built through the service layer on the CLI's own files (SQLite database, SQLite
queue); ``omnipost doctor`` runs in-process with a fake clock, so heartbeat and sweep ages are
exact. Every case reads both the text report and ``--json`` and checks they agree.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from omnipost_tui.config import load_settings
from omnipost_tui.db import Database
from omnipost_tui.engine.queue import open_queue
from omnipost_tui.services import doctor, publishing, workers
from omnipost_tui.services.accounts import add_account, mark_account_expired, remove_account
from omnipost_tui.services.brands import add_brand
from omnipost_tui.services.context import Context, open_context
from omnipost_tui.services.posts import add_post
from omnipost_tui.services.variants import add_variant
from tests.conftest import FB_TOKEN, LI_TOKEN, T0, FakeClock, require_services

WEBHOOK = "https://hooks.slack.test/services/T0001/B0002/webhook-SECRET-4f9a"
FB_APP_SECRET = "fb-app-SECRET-0f1e2d3c"
LI_CLIENT_SECRET = "li-client-SECRET-9a8b7c6d"
PING_UUID = "5f0c9e7a-1b2c-4d3e-8f90-123456789abc"
# Port 9 (discard) refuses at once: a sweep in these tests (worker --once) pings in no time.
HEARTBEAT = f"http://127.0.0.1:9/{PING_UUID}"
CREDENTIALS = {
    "OMNIPOST_ALERT_WEBHOOK": WEBHOOK,
    "OMNIPOST_HEARTBEAT_URL": HEARTBEAT,
    "OMNIPOST_FACEBOOK_APP_ID": "1234567890",
    "OMNIPOST_FACEBOOK_APP_SECRET": FB_APP_SECRET,
    "OMNIPOST_LINKEDIN_CLIENT_ID": "86abcdef",
    "OMNIPOST_LINKEDIN_CLIENT_SECRET": LI_CLIENT_SECRET,
}
WORKER_ID = "host-a:4242"
FAR = timedelta(days=50)
NOT_CHECKED = "not checked: the database is not usable"

# The schema's latest revision: what a migrated database is at.
HEAD = Database.head_revision()


# --- running doctor -----------------------------------------------------------------------------


@dataclass
class Report:
    exit_code: int
    checks: dict[str, dict[str, Any]]  # from --json, by name
    lines: dict[str, str]  # the text report, by name
    summary: str
    output: str  # everything printed, both runs

    @property
    def needing(self) -> list[str]:
        """The checks that are not ok (warnings and failures)."""
        return [name for name, check in self.checks.items() if not check["ok"]]

    def passed(self, name: str, *detail: str) -> dict[str, Any]:
        check = self.checks[name]
        assert check["level"] == "ok", f"{name} is not ok: {check}"
        assert self.lines[name].startswith(f"✓ {name} "), self.lines[name]
        for needle in detail:
            assert needle in check["detail"], f"{needle!r} not in {check['detail']!r}"
        return check

    def failed(self, name: str, detail: tuple[str, ...], fix: tuple[str, ...]) -> dict[str, Any]:
        """A failure: the report exits 2 (critical), whatever else it says."""
        check = self._not_ok(name, "fail", "✗", detail, fix)
        assert self.exit_code == 2
        return check

    def warned(self, name: str, detail: tuple[str, ...], fix: tuple[str, ...]) -> dict[str, Any]:
        """A warning: the report exits 1 unless something else failed."""
        check = self._not_ok(name, "warn", "!", detail, fix)
        assert self.exit_code in (1, 2)
        return check

    def _not_ok(
        self, name: str, level: str, mark: str, detail: tuple[str, ...], fix: tuple[str, ...]
    ) -> dict[str, Any]:
        check = self.checks[name]
        assert check["level"] == level, f"{name} is not {level}: {check}"
        assert self.lines[name].startswith(f"{mark} {name} "), self.lines[name]
        for needle in detail:
            assert needle in check["detail"], f"{needle!r} not in {check['detail']!r}"
        for needle in fix:
            assert needle in check["fix"], f"{needle!r} not in fix {check['fix']!r}"
        return check


FREE_SPACE = re.compile(r"[\d.]+ [KMGT]?B free")


def same_but_free_space(one: str, other: str) -> bool:
    return FREE_SPACE.sub("… free", one) == FREE_SPACE.sub("… free", other)


LEVELS = ("ok", "warn", "fail")
EXIT_STATUS = {"ok": 0, "warn": 1, "fail": 2}
MARKS = {"ok": "✓", "warn": "!", "fail": "✗"}


def run_doctor(cli: Callable[..., Result], *only: str) -> Report:
    """``omnipost doctor`` and ``omnipost doctor --json``, checked against each other (with
    ``--only`` when checks are named)."""
    args = ("--only", ",".join(only)) if only else ()
    text, as_json = cli("doctor", *args), cli("doctor", *args, "--json")
    for result in (text, as_json):
        assert "Traceback" not in result.output
        assert result.stderr == "", result.stderr
    payload = json.loads(as_json.stdout)
    assert set(payload) == {"level", "ok", "checks"}
    checks = payload["checks"]
    names = [name for name in doctor.CHECK_NAMES if not only or name in only]
    assert [c["name"] for c in checks] == names
    for check in checks:
        assert set(check) == {"name", "level", "ok", "detail", "fix"}
        assert check["level"] in LEVELS
        assert check["ok"] == (check["level"] == "ok")
        assert check["detail"] and "\n" not in check["detail"]
        # A check that is not ok always says what to do; a passed one has nothing to fix.
        assert (check["fix"] is None) == check["ok"], check
    # The report is as bad as its worst check, and so is the exit status.
    assert payload["level"] == max((c["level"] for c in checks), key=LEVELS.index)
    assert payload["ok"] == (payload["level"] == "ok")
    assert text.exit_code == as_json.exit_code == EXIT_STATUS[payload["level"]]

    *rows, summary = text.stdout.splitlines()
    width = max(len(name) for name in names)
    assert len(rows) == len(checks)
    for row, check in zip(rows, checks, strict=True):
        mark = MARKS[check["level"]]
        fix = "" if check["ok"] else f" — {check['fix']}"
        # The two runs agree on everything but the free disk space, which other tests change.
        assert same_but_free_space(
            row, f"{mark} {check['name'].ljust(width)}  {check['detail']}{fix}"
        )
    return Report(
        exit_code=text.exit_code,
        checks={c["name"]: c for c in checks},
        lines={c["name"]: row for c, row in zip(checks, rows, strict=True)},
        summary=summary,
        output=text.output + as_json.output,
    )


# --- a healthy install --------------------------------------------------------------------------


@pytest.fixture
def services(
    home: Path, fake_clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Context]:
    """A migrated database and a worker that beat and swept just now; webhook and app
    credentials configured. No brand yet."""
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    context = open_context(load_settings(), open_queue=open_queue)
    workers.register_worker(context, WORKER_ID, periodic=True)
    workers.beat(context, WORKER_ID, swept=True)
    yield context
    context.close()


@dataclass
class Install:
    ctx: Context
    clock: FakeClock
    facebook_id: int
    linkedin_id: int


def add_page(ctx: Context, *, expires_in: timedelta | None = FAR, page: str = "104200") -> int:
    return add_account(
        ctx,
        brand="Acme",
        platform="facebook",
        external_id=page,
        name=f"Acme Page {page}",
        access_token=FB_TOKEN,
        token_expires_at=T0 + expires_in if expires_in is not None else None,
    ).id


@pytest.fixture
def install(services: Context, fake_clock: FakeClock) -> Install:
    """Everything in order: brand Acme with a Facebook page and a LinkedIn organization whose
    tokens are good for 50 more days."""
    add_brand(services, "Acme")
    facebook = add_page(services)
    linkedin = add_account(
        services,
        brand="Acme",
        platform="linkedin",
        external_id="urn:li:organization:42",
        name="Acme LinkedIn",
        access_token=LI_TOKEN,
        token_expires_at=T0 + FAR,
    ).id
    return Install(services, fake_clock, facebook, linkedin)


def test_a_healthy_install_passes_every_check_and_exits_0(cli, install: Install) -> None:
    report = run_doctor(cli)

    assert report.needing == []
    assert report.exit_code == 0
    assert report.summary == f"all {len(doctor.CHECK_NAMES)} checks passed"
    report.passed("config", "no ", "config.toml: built-in defaults and OMNIPOST_* variables")
    report.passed("database", f"migrated (revision {HEAD})")
    report.passed("queue", "queue.db reachable")
    report.passed("worker", "1 online", "last heartbeat 0s ago")
    report.passed("sweep", "last sweep 0s ago")
    report.passed("dirs", "writable", "free")
    report.passed("permissions", "key, database, queue, config and logs private to you")
    report.passed("accounts", "1 brand, 2 connected accounts")
    report.passed("tokens", "none expired or expiring within 7d")
    report.passed("app_credentials", "Facebook set", "LinkedIn set")
    report.passed("attention", "no failed or unconfirmed variants")
    report.passed("alerts", "webhook set", "5 failures in 1h")
    report.passed("heartbeat_url", "healthchecks pings to http://127.0.0.1:9/… after every sweep")


def test_secrets_never_appear_in_the_report(cli, install: Install, monkeypatch) -> None:
    healthy = run_doctor(cli)
    # And when checks fail, including with errors from the queue and the database.
    monkeypatch.setenv("OMNIPOST_QUEUE_URL", dead_redis_url())
    monkeypatch.setenv("OMNIPOST_FACEBOOK_APP_ID", "")
    (install.ctx.settings.paths.database_file).write_bytes(b"not a database " * 300)
    broken = run_doctor(cli)

    assert broken.needing
    for report in (healthy, broken):
        for secret in (
            WEBHOOK,
            "webhook-SECRET",
            FB_APP_SECRET,
            LI_CLIENT_SECRET,
            FB_TOKEN,
            PING_UUID,
        ):
            assert secret not in report.output


def test_usage_errors_exit_3_unknown_not_a_level(cli, install: Install) -> None:
    """A monitor reads 1 as warn and 2 as fail: a typo in its command line is neither."""
    result = cli("doctor", "--jsn")
    assert result.exit_code == 3
    assert result.stderr == (
        "error: no such option '--jsn'; did you mean '--json'? (see omnipost doctor --help)\n"
    )


# --- configuration ------------------------------------------------------------------------------

WITH_DEFAULT = "(with the default {}, not the configured value)"


def test_config_healthy_says_how_many_settings_come_from_the_file(cli, install: Install) -> None:
    config = install.ctx.settings.paths.config_file
    config.write_text('timezone = "Europe/Berlin"\nmax_attempts = 4\n')
    config.chmod(0o600)

    report = run_doctor(cli)

    # OMNIPOST_TIMEZONE (set for every test) wins over the file's timezone.
    report.passed("config", f"{config} read (1 setting taken from it)")
    assert report.needing == []


def test_a_config_toml_that_does_not_parse_is_a_failed_check_and_the_rest_still_run(
    cli, install: Install
) -> None:
    config = install.ctx.settings.paths.config_file
    config.write_text('timezone = "Europe/Berlin"\nretry_backoff = [60, 300\nmax_attempts = 4\n')
    config.chmod(0o600)
    # Every other command stops at it, as before: one line, exit 2.
    status = cli("status")
    assert status.exit_code == 2
    assert status.stderr.strip().startswith(f"error: config file {config} is not valid TOML")

    report = run_doctor(cli)

    report.failed(
        "config",
        (str(config), "is not valid TOML", "(at line 3, column 1)"),
        (f"correct {config}", "move it aside"),
    )
    # Paths come from the environment only, so these are checked as they are.
    report.passed("dirs", "writable")
    report.passed("permissions", "private to you")
    # The others run on the defaults (here the same database and queue) and say so.
    report.passed("database", f"migrated (revision {HEAD})", WITH_DEFAULT.format("database_url"))
    report.passed("queue", "reachable", WITH_DEFAULT.format("queue_url, queue_name"))
    report.passed("accounts", "1 brand, 2 connected accounts", WITH_DEFAULT.format("database_url"))
    # The webhook comes from OMNIPOST_ALERT_WEBHOOK, which still counts.
    report.passed("alerts", "webhook set", WITH_DEFAULT.format("alert_failures, alert_window"))
    assert report.needing == ["config"]


@pytest.mark.parametrize("breakage", ["not UTF-8", "a directory"])
def test_a_config_toml_that_cannot_be_read_is_a_failed_check(
    cli, install: Install, breakage: str
) -> None:
    config = install.ctx.settings.paths.config_file
    if breakage == "not UTF-8":
        config.write_bytes(b'timezone = "Europe/Berlin \xff\xfe"\n')
        config.chmod(0o600)
    else:
        config.mkdir()
    reason = "not UTF-8 text" if breakage == "not UTF-8" else "Is a directory"
    status = cli("status")  # was a crash ("something went wrong") for bytes that are not UTF-8
    assert status.exit_code == 2
    assert status.stderr == f"error: cannot read config file {config}: {reason}\n"

    report = run_doctor(cli)

    report.failed("config", (f"cannot read config file {config}: {reason}",), (str(config),))
    report.passed("database", WITH_DEFAULT.format("database_url"))
    assert report.needing == ["config"]


def test_one_bad_value_defaults_that_setting_only(cli, install: Install) -> None:
    config = install.ctx.settings.paths.config_file
    config.write_text('queue_url = "ftp://queue.example"\nmax_attempts = 4\n')
    config.chmod(0o600)

    report = run_doctor(cli)

    report.failed(
        "config",
        (f"queue_url in {config}: expected sqlite:///PATH", "(got 'ftp://queue.example')"),
        (f"correct queue_url in {config}",),
    )
    report.passed("queue", "reachable", WITH_DEFAULT.format("queue_url"))
    report.passed("database", f"migrated (revision {HEAD})")
    assert "with the default" not in report.checks["database"]["detail"]
    assert report.needing == ["config"]


def test_an_unknown_keymap_id_is_a_failed_config_check(cli, install: Install) -> None:
    """The app refuses to start with it; doctor must not call the same config fine."""
    config = install.ctx.settings.paths.config_file
    config.write_text('[keymap]\nvariants.publsh = "ctrl+o"\n')
    config.chmod(0o600)

    report = run_doctor(cli)

    report.failed(
        "config",
        ("unknown key binding 'variants.publsh'", "did you mean 'variants.publish'"),
        (f"correct [keymap] in {config}",),
    )
    assert report.needing == ["config"]


def test_a_bad_environment_value_is_a_failed_check_naming_the_variable(
    cli, install: Install, monkeypatch
) -> None:
    monkeypatch.setenv("OMNIPOST_ALERT_FAILURES", "many")

    report = run_doctor(cli)

    report.failed(
        "config",
        ("OMNIPOST_ALERT_FAILURES: expected a whole number (got 'many')",),
        ("correct or unset OMNIPOST_ALERT_FAILURES",),
    )
    report.passed(
        "alerts", "webhook set", "alerts at 5 failures", WITH_DEFAULT.format("alert_failures")
    )
    assert report.needing == ["config"]


# --- database -----------------------------------------------------------------------------------


def set_revision(database: Path, revision: str) -> None:
    with closing(sqlite3.connect(database)) as con:
        con.execute("UPDATE alembic_version SET version_num = ?", (revision,))
        con.commit()


def test_database_healthy_when_migrated(cli, install: Install) -> None:
    run_doctor(cli).passed("database", f"migrated (revision {HEAD})")


@pytest.mark.parametrize(
    ("breakage", "detail", "fix"),
    [
        ("missing", ("does not exist yet",), ("omnipost db upgrade",)),
        ("behind", ("schema at revision 0003", f"needs {HEAD}"), ("omnipost db upgrade",)),
        ("newer", ("'9999_future' is newer",), ("upgrade OmniPost",)),
        ("dropped", (f"at revision {HEAD}", "table post_images is missing"), ("backup",)),
    ],
)
def test_database_unhealthy(
    cli, install: Install, breakage: str, detail: tuple[str, ...], fix: tuple[str, ...]
) -> None:
    database = install.ctx.settings.paths.database_file
    if breakage == "missing":
        install.ctx.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
    elif breakage == "dropped":
        with sqlite3.connect(database) as con:
            con.execute("DROP TABLE post_images")  # by hand, behind OmniPost's back
    else:
        set_revision(database, "0003" if breakage == "behind" else "9999_future")

    report = run_doctor(cli)

    report.failed("database", detail, fix)
    assert report.lines["database"].endswith(f"— {report.checks['database']['fix']}")
    if breakage == "missing":
        assert not database.exists(), "doctor must not create the database"
        assert report.checks["worker"]["detail"] == NOT_CHECKED
    else:
        # Not at head: the checks that query it are not trusted to run.
        assert report.checks["accounts"]["detail"] == NOT_CHECKED


def test_a_corrupt_database_still_gets_a_full_report(cli, install: Install) -> None:
    database = install.ctx.settings.paths.database_file
    install.ctx.close()
    garbage = b"this is a text file, not a database\n" * 100
    database.write_bytes(garbage)
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)

    report = run_doctor(cli)

    report.failed("database", (str(database), "corrupt"), ("restore", "from a backup"))
    # What does not need the database is still checked, and passes.
    report.passed("queue")
    report.passed("dirs", "writable")
    report.passed("alerts", "webhook set")
    needing = (
        "worker",
        "sweep",
        "keys",
        "accounts",
        "tokens",
        "app_credentials",
        "attention",
        "images",
    )
    for name in needing:
        report.failed(name, (NOT_CHECKED,), ("fix the database first",))
    assert report.summary == (
        f"of {len(doctor.CHECK_NAMES)} checks, 9 failed: database, {', '.join(needing)}"
    )
    assert database.read_bytes() == garbage


# --- queue --------------------------------------------------------------------------------------


def dead_redis_url() -> str:
    """A redis:// URL on a local port where nothing listens (the OS just handed it out)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.fixture
def live_redis(monkeypatch: pytest.MonkeyPatch) -> str:
    url = os.environ.get("OMNIPOST_TEST_REDIS", "redis://127.0.0.1:6379/0")
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except Exception as exc:
        if require_services():
            pytest.fail(f"OMNIPOST_REQUIRE_SERVICES=1 but Redis is not usable at {url}: {exc}")
        pytest.skip(f"Redis is not usable at {url}: {exc}")
    monkeypatch.setenv("OMNIPOST_QUEUE_URL", url)
    monkeypatch.setenv("OMNIPOST_QUEUE_NAME", f"omnipost-doctor-{secrets.token_hex(4)}")
    return url


def test_queue_healthy_on_sqlite(cli, install: Install) -> None:
    run_doctor(cli).passed("queue", f"sqlite:///{install.ctx.settings.paths.queue_file} reachable")


def test_queue_healthy_on_redis(cli, install: Install, live_redis: str) -> None:
    report = run_doctor(cli)
    report.passed("queue", f"{live_redis} reachable")
    assert report.needing == []


@pytest.mark.parametrize("kind", ["dead redis", "memory"])
def test_queue_unhealthy(cli, install: Install, monkeypatch, kind: str) -> None:
    url = dead_redis_url() if kind == "dead redis" else "memory://"
    monkeypatch.setenv("OMNIPOST_QUEUE_URL", url)

    report = run_doctor(cli)

    if kind == "dead redis":
        report.failed("queue", (f"queue {url} is unreachable",), ("Redis", "OMNIPOST_QUEUE_URL"))
    else:
        report.failed("queue", ("a worker cannot see it",), ("OMNIPOST_QUEUE_URL",))
    assert report.needing == ["queue"]


# --- worker and sweep ---------------------------------------------------------------------------


def test_worker_healthy_while_it_beats(cli, install: Install) -> None:
    install.clock.advance(doctor.HEARTBEAT_LATE.total_seconds())  # three beats of 5 s missed
    report = run_doctor(cli)
    report.passed("worker", "1 online", "last heartbeat 15s ago")
    assert report.exit_code == 0


def test_a_worker_whose_heartbeat_is_late_is_a_warning(cli, install: Install) -> None:
    install.clock.advance(workers.ONLINE_WITHIN.total_seconds())  # the last second it counts

    report = run_doctor(cli)

    report.warned(
        "worker",
        ("1 online, last heartbeat 30s ago", "it beats every 5s; gone after 30s"),
        ("omnipost logs -f",),
    )
    # The sweep, 30 s ago, is fine: only the heartbeat is late.
    assert report.needing == ["worker"]
    assert report.exit_code == 1


@pytest.mark.parametrize("state", ["never seen", "silent", "stopped"])
def test_worker_unhealthy(cli, install: Install, state: str) -> None:
    ctx = install.ctx
    if state == "never seen":
        with closing(sqlite3.connect(ctx.settings.paths.database_file)) as con:
            con.execute("DELETE FROM worker_heartbeats")
            con.commit()
        detail = "never seen"
    elif state == "silent":
        install.clock.advance(12 * 60)  # it hangs or died without a word
        detail = "no heartbeat for 12m"
    else:
        install.clock.advance(90)
        workers.unregister_worker(ctx, WORKER_ID)
        install.clock.advance(30)
        detail = "stopped 30s ago"

    report = run_doctor(cli)

    report.failed("worker", (detail,), ("omnipost worker",))
    assert report.lines["worker"].endswith(
        f"{detail} — start it: omnipost worker (keep it running with systemd)"
    )


def test_sweep_healthy_within_two_minutes(cli, install: Install) -> None:
    install.clock.advance(119)
    workers.beat(install.ctx, WORKER_ID)  # alive, but its last sweep is 119 s old

    report = run_doctor(cli)

    report.passed("sweep", "last sweep 1m 59s ago")
    assert report.needing == []


@pytest.mark.parametrize("state", ["too long ago", "only --no-periodic workers", "never"])
def test_sweep_unhealthy(cli, install: Install, state: str) -> None:
    ctx = install.ctx
    if state == "never":
        workers.register_worker(ctx, "host-b:7", periodic=True)
        with closing(sqlite3.connect(ctx.settings.paths.database_file)) as con:
            con.execute("UPDATE worker_heartbeats SET last_sweep_at = NULL")
            con.commit()
        detail: tuple[str, ...] = ("no sweep has run yet",)
    else:
        install.clock.advance(121)
        if state == "only --no-periodic workers":
            workers.unregister_worker(ctx, WORKER_ID)
            workers.register_worker(ctx, "host-b:7", periodic=False)
            detail = ("last sweep 2m 1s ago", "every running worker has --no-periodic")
        else:
            workers.beat(ctx, WORKER_ID)
            detail = ("last sweep 2m 1s ago (it should run every minute)",)

    report = run_doctor(cli)

    report.failed("sweep", detail, ("without --no-periodic", "omnipost worker --once", "cron"))
    assert report.needing == ["sweep"]  # a worker is online: only the sweep is missing


# --- directories --------------------------------------------------------------------------------


def test_dirs_healthy_shows_free_space(cli, install: Install) -> None:
    paths = install.ctx.settings.paths
    check = run_doctor(cli).passed("dirs", f"data {paths.data_dir}: ", f"logs {paths.log_dir}: ")
    assert check["detail"].count(" free") == 2
    assert not list(paths.data_dir.glob(".omnipost-doctor-*")), "the probe file is deleted"


def test_dirs_unhealthy_when_the_log_dir_is_a_file(cli, install: Install) -> None:
    log_dir = install.ctx.settings.paths.log_dir
    if log_dir.exists():
        for item in log_dir.iterdir():
            item.unlink()
        log_dir.rmdir()
    log_dir.write_text("oops")

    report = run_doctor(cli)

    report.failed("dirs", (f"{log_dir} is a file, not a directory",), (str(log_dir),))
    assert report.needing == ["dirs"]


def test_dirs_unhealthy_when_the_data_dir_is_a_file(
    cli, home: Path, tmp_path: Path, monkeypatch
) -> None:
    # Without OMNIPOST_HOME the data, config and log dirs are separate (XDG), so the data dir
    # can be broken while the configuration still loads. Works as root, unlike chmod.
    monkeypatch.delenv("OMNIPOST_HOME")
    for name in ("DATA", "CONFIG", "STATE"):
        monkeypatch.setenv(f"XDG_{name}_HOME", str(tmp_path / name.lower()))
    data_dir = load_settings().paths.data_dir
    data_dir.parent.mkdir(parents=True)
    data_dir.write_text("not a directory")

    report = run_doctor(cli)

    report.failed("dirs", (f"{data_dir} is a file, not a directory",), (str(data_dir),))
    report.failed("database", (), ())
    assert data_dir.read_text() == "not a directory"


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="root writes into a chmod 0500 directory anyway; the data-dir-is-a-file case covers it",
)
def test_dirs_unhealthy_when_the_data_dir_is_read_only(cli, install: Install) -> None:
    data_dir = install.ctx.settings.paths.data_dir
    data_dir.chmod(0o500)
    try:
        report = run_doctor(cli)
    finally:
        data_dir.chmod(0o700)

    report.failed("dirs", (f"{data_dir} is not writable",), ("chmod", "OMNIPOST_HOME"))


def test_dirs_unhealthy_when_the_disk_is_nearly_full(cli, install: Install, monkeypatch) -> None:
    monkeypatch.setattr(doctor, "MIN_FREE_BYTES", 1 << 62)  # more than any disk has

    report = run_doctor(cli)

    report.warned("dirs", ("only", "free under"), ("free disk space", "at least"))
    assert report.needing == ["dirs"]


# --- permissions --------------------------------------------------------------------------------


def test_files_others_can_read_are_named_with_the_chmod_that_fixes_them(
    cli, install: Install
) -> None:
    paths = install.ctx.settings.paths
    paths.config_file.write_text('timezone = "Europe/Berlin"\n')
    opened = [paths.key_file, paths.database_file, paths.config_file]
    for path in opened:
        path.chmod(0o644)
    paths.data_dir.chmod(0o755)

    report = run_doctor(cli)

    check = report.warned(
        "permissions",
        (*(f"{path} (0644)" for path in opened), f"{paths.data_dir} (0755)"),
        (
            "chmod 600 " + " ".join(str(p) for p in (paths.key_file, paths.config_file)),
            f"chmod 700 {paths.data_dir}",
        ),
    )
    assert check["detail"].startswith("other users can get at ")
    assert report.needing == ["permissions"]
    for path in opened:
        assert str(path) in check["fix"]


# --- brands and accounts ------------------------------------------------------------------------


def test_accounts_healthy_with_a_brand_and_a_connected_account(cli, services: Context) -> None:
    add_brand(services, "Acme")
    add_page(services)
    report = run_doctor(cli)
    report.passed("accounts", "1 brand, 1 connected account")
    assert report.needing == []


@pytest.mark.parametrize("state", ["empty", "brand only", "only a removed account"])
def test_accounts_unhealthy(cli, services: Context, state: str) -> None:
    if state != "empty":
        add_brand(services, "Acme")
    if state == "only a removed account":
        remove_account(services, add_page(services))

    report = run_doctor(cli)

    if state == "empty":
        report.warned("accounts", ("0 brands, 0 connected accounts",), ("omnipost brand add",))
    else:
        report.warned("accounts", ("1 brand, 0 connected accounts",), ("omnipost account connect",))
    assert report.needing == ["accounts"]


# --- tokens -------------------------------------------------------------------------------------


def test_tokens_healthy(cli, install: Install) -> None:
    add_page(install.ctx, expires_in=timedelta(days=7, minutes=1), page="104300")
    run_doctor(cli).passed("tokens", "none expired or expiring within 7d")


def test_a_token_nobody_knows_the_expiry_of_needs_action(cli, install: Install) -> None:
    add_page(install.ctx, expires_in=None, page="104300")
    report = run_doctor(cli)
    report.warned("tokens", ("expiry unknown for Acme Page 104300",), ("account check --all",))


@pytest.mark.parametrize("state", ["expiring", "past its expiry", "marked expired"])
def test_tokens_unhealthy(cli, install: Install, state: str) -> None:
    ctx = install.ctx
    if state == "expiring":
        account = add_page(ctx, expires_in=timedelta(days=3), page="104300")
        detail = "Facebook account Acme Page 104300: token expires in 3d"
    elif state == "past its expiry":
        account = add_page(ctx, expires_in=-timedelta(hours=2), page="104300")
        detail = "Facebook account Acme Page 104300: token has expired"
    else:
        account = install.linkedin_id
        assert mark_account_expired(ctx, account)
        detail = "LinkedIn account Acme LinkedIn expired"

    report = run_doctor(cli)

    if state == "expiring":  # it still publishes, for three more days
        report.warned("tokens", (detail,), (f"omnipost account reconnect {account}",))
    else:  # the next post through it fails
        report.failed("tokens", (detail,), (f"omnipost account reconnect {account}",))
    assert f"reconnect {install.facebook_id}" not in report.checks["tokens"]["fix"]


# --- app credentials ----------------------------------------------------------------------------


def test_app_credentials_not_needed_without_accounts_of_that_platform(
    cli, services: Context, monkeypatch
) -> None:
    monkeypatch.delenv("OMNIPOST_LINKEDIN_CLIENT_ID")
    monkeypatch.delenv("OMNIPOST_LINKEDIN_CLIENT_SECRET")
    add_brand(services, "Acme")
    add_page(services)

    report = run_doctor(cli)

    report.passed("app_credentials", "Facebook set", "LinkedIn not needed (no LinkedIn account)")
    assert report.needing == []


@pytest.mark.parametrize(
    ("unset", "fix", "not_in_fix"),
    [
        (
            ["OMNIPOST_FACEBOOK_APP_SECRET"],
            ("OMNIPOST_FACEBOOK_APP_SECRET", "facebook_app_secret in config.toml"),
            "OMNIPOST_FACEBOOK_APP_ID",
        ),
        (
            ["OMNIPOST_LINKEDIN_CLIENT_ID", "OMNIPOST_LINKEDIN_CLIENT_SECRET"],
            ("OMNIPOST_LINKEDIN_CLIENT_ID and OMNIPOST_LINKEDIN_CLIENT_SECRET",),
            "FACEBOOK",
        ),
    ],
    ids=["facebook secret", "linkedin both"],
)
def test_app_credentials_unhealthy(
    cli, install: Install, monkeypatch, unset: list[str], fix: tuple[str, ...], not_in_fix: str
) -> None:
    for name in unset:
        monkeypatch.delenv(name)

    report = run_doctor(cli)

    check = report.warned("app_credentials", ("not set, needed to refresh tokens",), fix)
    assert not_in_fix not in check["fix"]
    assert report.needing == ["app_credentials"]


# --- variants waiting for a human -----------------------------------------------------------------


def test_attention_healthy_with_scheduled_and_published_variants(cli, install: Install) -> None:
    post = add_post(install.ctx, brand="Acme", title="Launch", text="Hello")
    add_variant(install.ctx, post=post.id, account=install.facebook_id, at=T0 + FAR / 2)
    report = run_doctor(cli)
    report.passed("attention", "no failed or unconfirmed variants")
    assert report.needing == []


def test_attention_unhealthy_with_failed_and_unconfirmed_variants(cli, install: Install) -> None:
    """Unconfirmed: a worker reached the sending point, then died. Failed: the other one waited
    25 h for a worker, more than the 24 h allowed."""
    ctx, clock = install.ctx, install.clock
    post = add_post(ctx, brand="Acme", title="Launch", text="Hello")
    at = T0 + timedelta(minutes=5)
    unconfirmed = add_variant(ctx, post=post.id, account=install.facebook_id, at=at).id
    add_variant(ctx, post=post.id, account=install.linkedin_id, at=at)
    clock.advance(5 * 60)
    claim = publishing.claim_variant(ctx, unconfirmed, clock.now(), WORKER_ID)
    assert claim is not None
    publishing.mark_sending(ctx, claim, clock.now())
    clock.advance(25 * 3600)
    assert [r.status for r in publishing.recover_stuck(ctx, clock.now())] == ["unconfirmed"]
    assert len(publishing.fail_missed(ctx, clock.now())) == 1

    report = run_doctor(cli)

    report.warned(
        "attention",
        ("1 failed, 1 unconfirmed",),
        ("omnipost failed", "omnipost retry", "omnipost variant mark-published"),
    )


# --- alerts -------------------------------------------------------------------------------------


def test_alerts_healthy_shows_the_threshold_not_the_url(cli, install: Install, monkeypatch) -> None:
    monkeypatch.setenv("OMNIPOST_ALERT_FAILURES", "3")
    monkeypatch.setenv("OMNIPOST_ALERT_WINDOW", "1800")

    report = run_doctor(cli)

    check = report.passed("alerts", "webhook set; alerts at 3 failures in 30m")
    assert "hooks.slack.test" not in check["detail"]
    assert report.needing == []


def test_alerts_unhealthy_without_a_webhook(cli, install: Install, monkeypatch) -> None:
    monkeypatch.delenv("OMNIPOST_ALERT_WEBHOOK")

    report = run_doctor(cli)

    report.warned(
        "alerts",
        ("no webhook", "5 failures in 1h"),
        ("OMNIPOST_ALERT_WEBHOOK", "Slack-compatible"),
    )
    assert report.needing == ["alerts"]
    assert report.summary == f"of {len(doctor.CHECK_NAMES)} checks, 1 to look at: alerts"


def test_no_heartbeat_url_is_a_warning(cli, install: Install, monkeypatch) -> None:
    monkeypatch.delenv("OMNIPOST_HEARTBEAT_URL")

    report = run_doctor(cli)

    report.warned(
        "heartbeat_url",
        ("not set", "a worker that died"),
        ("OMNIPOST_HEARTBEAT_URL", "OMNIPOST_HEARTBEAT_STYLE=uptime-kuma", "doctor from cron"),
    )
    assert report.needing == ["heartbeat_url"]
    assert report.exit_code == 1


def test_the_heartbeat_style_is_shown_and_a_bad_one_is_the_config_check(
    cli, install: Install, monkeypatch
) -> None:
    monkeypatch.setenv("OMNIPOST_HEARTBEAT_STYLE", "uptime-kuma")
    run_doctor(cli).passed("heartbeat_url", "uptime-kuma pings to http://127.0.0.1:9/…")

    monkeypatch.setenv("OMNIPOST_HEARTBEAT_STYLE", "nagios")
    report = run_doctor(cli)

    report.failed(
        "config",
        ("OMNIPOST_HEARTBEAT_STYLE: expected healthchecks, uptime-kuma or plain (got 'nagios')",),
        ("correct or unset OMNIPOST_HEARTBEAT_STYLE",),
    )
    report.passed("heartbeat_url", "healthchecks pings", WITH_DEFAULT.format("heartbeat_style"))
    # Every other command stops at it: one line, exit 2.
    status = cli("status")
    assert status.exit_code == 2
    assert status.stderr == (
        "error: OMNIPOST_HEARTBEAT_STYLE: expected healthchecks, uptime-kuma or plain "
        "(got 'nagios')\n"
    )


# --- a check that breaks ------------------------------------------------------------------------


def test_a_check_that_crashes_is_reported_and_the_others_still_run(
    cli, install: Install, monkeypatch
) -> None:
    def broken(ctx: Context, now: object) -> doctor.Check:
        raise RuntimeError("boom")

    monkeypatch.setattr(doctor, "check_accounts", broken)

    report = run_doctor(cli)

    report.failed("accounts", ("could not check (RuntimeError: boom)",), ("see the log at",))
    assert report.needing == ["accounts"]


def test_a_cron_only_install_passes_the_worker_check(cli, monkeypatch) -> None:
    """`worker --once` every minute from cron is the worker there."""
    result = cli("worker", "--once")
    assert result.exit_code == 0, result.output
    report = json.loads(cli("doctor", "--json").stdout)
    worker = next(c for c in report["checks"] if c["name"] == "worker")
    sweep = next(c for c in report["checks"] if c["name"] == "sweep")
    assert worker["ok"] and "cron mode" in worker["detail"]
    assert sweep["ok"]


# --- exit status and --only, for monitoring -----------------------------------------------------

CRON_CHECKS = ("worker", "sweep", "attention")  # the README's cron recipe


def test_only_runs_the_named_checks_and_exits_by_their_worst_level(cli, install: Install) -> None:
    healthy = run_doctor(cli, *CRON_CHECKS)
    assert healthy.exit_code == 0
    assert healthy.summary == "all 3 checks passed"

    # Another problem that --only leaves out does not page.
    assert run_doctor(cli, "alerts", "worker").exit_code == 0
    install.clock.advance(12 * 60)  # the worker died without a word

    dead = run_doctor(cli, *CRON_CHECKS)

    dead.failed("worker", ("no heartbeat for 12m",), ("omnipost worker",))
    dead.failed("sweep", ("last sweep 12m ago",), ("omnipost worker",))
    assert dead.summary == "of 3 checks, 2 failed: worker, sweep"


def test_only_names_may_come_in_any_order_and_the_report_keeps_its_own(
    cli, install: Install
) -> None:
    result = cli("doctor", "--only", " attention , worker,worker", "--json")
    assert result.exit_code == 0, result.output
    assert [c["name"] for c in json.loads(result.stdout)["checks"]] == ["worker", "attention"]


def test_only_checks_that_need_no_database_do_not_open_it(cli, home: Path) -> None:
    """A fresh home: no database at all, which --only queue,dirs neither needs nor creates."""
    report = run_doctor(cli, "queue", "dirs")
    assert report.exit_code == 0
    assert not load_settings().paths.database_file.exists()


@pytest.mark.parametrize("names", ["worker,wroker", "", ","])
def test_an_unknown_only_name_is_one_line_and_exit_3(cli, install: Install, names: str) -> None:
    result = cli("doctor", "--only", names)

    assert result.exit_code == 3
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ")
    assert "the checks are: " + ", ".join(doctor.CHECK_NAMES) in line
    if names == "worker,wroker":
        assert "unknown check 'wroker' in --only" in line


def test_a_crash_of_doctor_itself_exits_3_not_1(cli, install: Install, monkeypatch) -> None:
    """1 is a warning to a monitor; a doctor that could not run must not look like one."""

    def crash(*args: object, **kwargs: object) -> list[doctor.Check]:
        raise RuntimeError("boom")

    monkeypatch.setattr(doctor, "run_checks", crash)

    result = cli("doctor", "--only", "worker")

    assert result.exit_code == 3
    assert "Traceback" not in result.output
    assert result.stderr.startswith("error: something went wrong; see the log at ")
    # Other commands keep their own statuses: a crash is 1, bad input 2.
    assert cli("status", "--jsn").exit_code == 2


def test_an_expiring_token_is_a_warning_and_an_expired_one_a_failure(cli, install: Install) -> None:
    add_page(install.ctx, expires_in=timedelta(days=3), page="104300")
    assert run_doctor(cli, "tokens").exit_code == 1
    install.clock.advance(timedelta(days=4).total_seconds())
    workers.beat(install.ctx, WORKER_ID, swept=True)
    assert run_doctor(cli, "tokens", "worker").exit_code == 2
