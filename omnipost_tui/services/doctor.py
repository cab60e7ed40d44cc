"""``omnipost doctor``: the product guide's production checklist, one check at a time.

Each check has a level (``ok``; ``warn``: publishing works, but something needs a look;
``fail``: posts will not go out, or nobody would know), one line of detail, and unless it is ok
the command that fixes it. It must work on a broken install (that is when it is run): a
config.toml or an ``OMNIPOST_*`` value that cannot be read is the failed ``config`` check, and
the other checks run with the default of each setting that could not be read, saying so; a
corrupt or unreachable database is the failed ``database`` check, the checks that need the
database are then reported as not checked, and the others (queue, directories, alerts) still
run. Nothing here changes domain state; the only writes are a temporary file in each directory,
deleted at once, and the queue file that opening a SQLite queue creates.

One module although it is long: the checks share one shape (``Check``), one order and one
rule for a broken install, and reading them side by side is what keeps them consistent.
"""

from __future__ import annotations

import logging
import shutil
import stat
import tempfile
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select

from omnipost_tui import clock
from omnipost_tui.config import OPTIONS_BY_KEY, ConfigProblem, Settings, may_tighten
from omnipost_tui.db import MIGRATIONS_DIR, Database, default_backup_dir, sqlite_path
from omnipost_tui.errors import OmniPostError, ValidationError
from omnipost_tui.files import make_private_dir
from omnipost_tui.logs import log_files
from omnipost_tui.models import (
    CONNECTED,
    REVOKED,
    SUCCESS,
    Base,
    Brand,
    ConnectedSocialAccount,
    MediaFile,
    PostImage,
    PostVariant,
    PublicationAttempt,
    VariantImage,
)
from omnipost_tui.platforms import APP_CREDENTIAL_SETTINGS, LABELS, PLATFORMS
from omnipost_tui.redact import mask_url_password, mask_url_path, redact_text
from omnipost_tui.services import workers
from omnipost_tui.services.alerts import (
    ACCOUNT_EXPIRED,
    EXPIRY_WARNING,
    TOKEN_EXPIRING,
    current_alerts,
)
from omnipost_tui.services.context import Context, QueueOpener
from omnipost_tui.services.keys import key_health
from omnipost_tui.services.media import media_path
from omnipost_tui.services.variants import count_needing_attention
from omnipost_tui.times import format_duration, format_local, format_relative

log = logging.getLogger("omnipost.doctor")

# A worker beats every 5 s and counts as gone after 30 s; three missed beats is a machine too
# busy or a worker stuck, worth a look before it is gone.
HEARTBEAT_LATE = 3 * workers.HEARTBEAT_INTERVAL
# The product guide's cron runs the scheduler every minute; two minutes without a sweep means
# the safety net is gone (one late tick is tolerated).
SWEEP_WITHIN = timedelta(seconds=120)
# Below this SQLite, the queue and the log start failing in ways that look like other problems.
MIN_FREE_BYTES = 100 * 1024 * 1024

CONFIG = "config"
DATABASE = "database"
QUEUE = "queue"
WORKER = "worker"
SWEEP = "sweep"
DIRS = "dirs"
PERMISSIONS = "permissions"
KEYS = "keys"
ACCOUNTS = "accounts"
TOKENS = "tokens"
APP_CREDENTIALS = "app_credentials"
ATTENTION = "attention"
IMAGES = "images"
ALERTS = "alerts"
HEARTBEAT_URL = "heartbeat_url"
# The order of the report; the names are stable (scripts read them from --json).
CHECK_NAMES = (
    CONFIG,
    DATABASE,
    QUEUE,
    WORKER,
    SWEEP,
    DIRS,
    PERMISSIONS,
    KEYS,
    ACCOUNTS,
    TOKENS,
    APP_CREDENTIALS,
    ATTENTION,
    IMAGES,
    ALERTS,
    HEARTBEAT_URL,
)

# The checks that query the database: "not checked" when it is not usable.
NEEDS_DATABASE = frozenset(
    {WORKER, SWEEP, KEYS, ACCOUNTS, TOKENS, APP_CREDENTIALS, ATTENTION, IMAGES}
)

# The settings each check depends on. Paths come from the environment alone (OMNIPOST_HOME),
# never from config.toml, so the directory checks never depend on it.
_DB = ("database_url",)
SETTINGS_USED = {
    DATABASE: _DB,
    QUEUE: ("queue_url", "queue_name"),
    WORKER: _DB,
    SWEEP: _DB,
    PERMISSIONS: ("database_url", "queue_url"),
    KEYS: (*_DB, "secret_key"),
    ACCOUNTS: _DB,
    TOKENS: _DB,
    APP_CREDENTIALS: (*_DB, *(key for keys in APP_CREDENTIAL_SETTINGS.values() for key in keys)),
    ATTENTION: _DB,
    IMAGES: _DB,
    ALERTS: ("alert_webhook", "alert_failures", "alert_window"),
    HEARTBEAT_URL: ("heartbeat_url", "heartbeat_style"),
}


# A check's level, best first. Monitoring reads them through the exit status (cli: 0, 1, 2).
OK = "ok"
WARN = "warn"  # publishing works; something needs a look (an expiring token, no webhook…)
FAIL = "fail"  # posts will not go out, or would fail with nobody told (no worker, no sweep…)
LEVELS = (OK, WARN, FAIL)


@dataclass(frozen=True)
class Check:
    name: str
    level: str  # one of LEVELS
    detail: str
    fix: str | None = None  # a command or concrete step; None when ok

    @property
    def ok(self) -> bool:
        return self.level == OK


def worst(checks: Iterable[Check]) -> str:
    """The report's level: its worst check's (ok for no checks)."""
    return max((check.level for check in checks), key=LEVELS.index, default=OK)


def parse_only(text: str) -> tuple[str, ...]:
    """``--only worker,sweep``: check names from CHECK_NAMES, in the report's order."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in CHECK_NAMES]
    if unknown or not names:
        what = f"unknown check {unknown[0]!r}" if unknown else "no check named"
        raise ValidationError(f"{what} in --only; the checks are: {', '.join(CHECK_NAMES)}")
    return tuple(name for name in CHECK_NAMES if name in names)


def run_checks(
    settings: Settings,
    open_queue: QueueOpener,
    problems: Sequence[ConfigProblem] = (),
    only: Collection[str] | None = None,
) -> list[Check]:
    """Every check (or those named in ``only``), in CHECK_NAMES order; never raises for the
    state of the install.

    ``open_queue`` reaches the queue the settings name (the engine's).

    ``problems`` are what ``read_settings`` could not read; ``settings`` then hold the default
    of each setting concerned, and the checks that use one say so.
    """
    now = clock.now()
    wanted = set(CHECK_NAMES if only is None else only)
    # Opened only when a wanted check needs it (doctor --only queue must not touch it).
    database, database_check = (
        open_database(settings) if wanted & {DATABASE, *NEEDS_DATABASE} else (None, None)
    )
    usable = database is not None and database_check is not None and database_check.ok
    ctx = Context(settings=settings, db=database) if database and usable else None

    def needs_db(name: str, check: Callable[[Context, datetime], Check]) -> Check:
        if ctx is None:
            return Check(
                name, FAIL, "not checked: the database is not usable", "fix the database first"
            )
        return _safely(name, settings, lambda: check(ctx, now))

    def database_report() -> Check:
        assert database_check is not None  # opened above: DATABASE is wanted
        return database_check

    runs: dict[str, Callable[[], Check]] = {
        CONFIG: lambda: check_config(settings, problems),
        DATABASE: database_report,
        QUEUE: lambda: _safely(QUEUE, settings, lambda: check_queue(settings, open_queue)),
        DIRS: lambda: _safely(DIRS, settings, lambda: check_dirs(settings)),
        PERMISSIONS: lambda: _safely(PERMISSIONS, settings, lambda: check_permissions(settings)),
        ALERTS: lambda: _safely(ALERTS, settings, lambda: check_alerts(settings)),
        HEARTBEAT_URL: lambda: _safely(HEARTBEAT_URL, settings, lambda: check_heartbeat(settings)),
    }
    # Looked up at each run, not once at import: a test replaces one to see it break.
    querying: dict[str, Callable[[Context, datetime], Check]] = {
        WORKER: check_worker,
        SWEEP: check_sweep,
        KEYS: check_keys,
        ACCOUNTS: check_accounts,
        TOKENS: check_tokens,
        APP_CREDENTIALS: check_app_credentials,
        ATTENTION: check_attention,
        IMAGES: check_images,
    }
    for name, check in querying.items():
        runs[name] = partial(needs_db, name, check)
    try:
        checks = [runs[name]() for name in CHECK_NAMES if name in wanted]
    finally:
        if database is not None:
            database.dispose()
    unread = _unread_settings(settings, problems)
    checks = [_scrub(_with_defaults(check, unread), settings) for check in checks]
    needing = [f"{check.name} ({check.level})" for check in checks if not check.ok]
    if needing:
        log.warning("doctor: %s need action", ", ".join(needing))
    return checks


def _safely(name: str, settings: Settings, check: Callable[[], Check]) -> Check:
    """One broken check must not hide the others."""
    try:
        return check()
    except OmniPostError as exc:
        return Check(name, FAIL, exc.message, "fix the cause above, then run omnipost doctor again")
    except Exception as exc:
        log.exception("doctor: the %s check failed unexpectedly", name)
        return Check(
            name,
            FAIL,
            f"could not check ({type(exc).__name__}: {_first_line(exc)})",
            f"see the log at {settings.paths.log_file}",
        )


def _unread_settings(settings: Settings, problems: Sequence[ConfigProblem]) -> set[str]:
    """The settings running on their default because their configured value could not be read
    (a valid OMNIPOST_* variable still sets its own)."""
    return {
        key
        for problem in problems
        for key in problem.unread
        if not settings.sources.get(key, "").startswith("env ")
    }


def _with_defaults(check: Check, unread: set[str]) -> Check:
    """Say when a check ran on a default instead of the configured value; if it failed, the
    configuration comes first (its own fix might be for the wrong database or queue)."""
    used = [key for key in SETTINGS_USED.get(check.name, ()) if key in unread]
    if not used:
        return check
    detail = f"{check.detail} (with the default {', '.join(used)}, not the configured value)"
    fix = None if check.ok else f"fix the configuration (see config), then: {check.fix}"
    return replace(check, detail=detail, fix=fix)


def _scrub(check: Check, settings: Settings) -> Check:
    """Last line of defence: no configured secret reaches the report, whatever an error said."""
    secrets = (
        settings.alert_webhook,
        settings.heartbeat_url,
        settings.facebook_app_secret,
        settings.linkedin_client_secret,
        settings.secret_key,
        # Each key of a list on its own too: a message may name one of them.
        *(settings.secret_key or "").split(","),
    )
    return replace(
        check,
        detail=redact_text(check.detail, secrets) or "",
        fix=redact_text(check.fix, secrets),
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


# --- configuration ------------------------------------------------------------------------------


def check_config(settings: Settings, problems: Sequence[ConfigProblem]) -> Check:
    path = settings.paths.config_file
    if problems:
        return Check(
            CONFIG,
            FAIL,
            "; ".join(problem.message for problem in problems),
            "; ".join(dict.fromkeys(problem.fix for problem in problems)),
        )
    if not path.exists():
        return Check(CONFIG, OK, f"no {path}: built-in defaults and OMNIPOST_* variables")
    from_file = sum(1 for source in settings.sources.values() if source == "config.toml")
    return Check(CONFIG, OK, f"{path} read ({_plural(from_file, 'setting')} taken from it)")


# --- database -----------------------------------------------------------------------------------


def open_database(settings: Settings) -> tuple[Database | None, Check]:
    """The database, when it opens, and the ``database`` check. Never creates or migrates it:
    doctor reports the state as it is."""
    url = settings.database_url
    path = _sqlite_file(url)
    if path is not None and not path.exists():
        return None, Check(
            DATABASE, FAIL, f"database file {path} does not exist yet", "omnipost db upgrade"
        )
    database: Database | None = None
    try:
        database = Database(url)
        current = database.current_revision()
    except Exception as exc:
        if database is not None:
            database.dispose()
        if not isinstance(exc, OmniPostError):
            log.exception("doctor: opening the database failed unexpectedly")
        detail = exc.message if isinstance(exc, OmniPostError) else _first_line(exc)
        return None, Check(DATABASE, FAIL, detail, _database_fix(path))
    head = Database.head_revision()
    if current == head:
        return database, _schema_whole(database, head)
    if current is None or current in _known_revisions():
        return database, Check(
            DATABASE,
            FAIL,
            f"schema at revision {current or 'none (empty database)'}, this OmniPost needs {head}",
            "omnipost db upgrade",
        )
    return database, Check(
        DATABASE,
        FAIL,
        f"schema revision {current!r} is newer than this OmniPost knows ({head})",
        "upgrade OmniPost to the version that migrated this database",
    )


def _schema_whole(database: Database, head: str) -> Check:
    """The revision says current; a table dropped behind OmniPost's back would still fail
    every command that reads it."""
    with database.engine.connect() as connection:
        present = set(inspect(connection).get_table_names())
    missing = sorted(set(Base.metadata.tables) - present)
    if missing:
        return Check(
            DATABASE,
            FAIL,
            f"at revision {head}, but {'tables' if len(missing) > 1 else 'table'} "
            f"{', '.join(missing)} {'are' if len(missing) > 1 else 'is'} missing: the database "
            "was changed outside OmniPost",
            "restore the latest backup (see omnipost backup --help)",
        )
    return Check(DATABASE, OK, f"migrated (revision {head})")


def _sqlite_file(url: str) -> Path | None:
    try:
        return sqlite_path(url)
    except Exception:
        return None  # not a URL SQLAlchemy understands: Database() says why


def _database_fix(path: Path | None) -> str:
    if path is None:
        return "check OMNIPOST_DATABASE_URL and that the database server is running"
    return (
        f"restore {path} from a backup (with its secret.key), or fix its permissions; "
        "a file moved aside starts empty with: omnipost db upgrade"
    )


def _known_revisions() -> set[str]:
    return {script.revision for script in ScriptDirectory(str(MIGRATIONS_DIR)).walk_revisions()}


# --- queue --------------------------------------------------------------------------------------


def check_queue(settings: Settings, open_queue: QueueOpener) -> Check:
    url = settings.queue_url
    shown = mask_url_password(url)
    if url.startswith("memory://"):
        # Reachable, but it lives inside one process: the worker never sees what the CLI queues.
        return Check(
            QUEUE,
            FAIL,
            f"{shown} is private to each process; a worker cannot see it",
            "set OMNIPOST_QUEUE_URL to sqlite:///PATH (one machine) or redis://HOST:6379/0",
        )
    try:
        queue = open_queue(settings, None)
        try:
            queue.ping()
            pending, scheduled = queue.counts()
        finally:
            queue.close()
    except Exception as exc:
        detail = exc.message if isinstance(exc, OmniPostError) else _unreachable(shown, exc)
        return Check(QUEUE, FAIL, detail, _queue_fix(url, exc))
    return Check(QUEUE, OK, f"{shown} reachable ({pending} waiting, {scheduled} scheduled)")


def _unreachable(shown: str, exc: BaseException) -> str:
    return f"queue {shown} is unreachable: {_first_line(exc)}"


def _queue_fix(url: str, exc: BaseException) -> str:
    if isinstance(exc, ImportError):
        return "install the Redis client: pip install -e '.[scale]'"
    if url.startswith(("redis://", "rediss://")):
        return (
            "start Redis (e.g. systemctl start redis-server), "
            "or point OMNIPOST_QUEUE_URL at a running one"
        )
    return "make the queue file and its directory writable, or set OMNIPOST_QUEUE_URL"


# --- workers ------------------------------------------------------------------------------------


def check_worker(ctx: Context, now: datetime) -> Check:
    seen = workers.list_workers(ctx)
    online = [w for w in seen if w.online(now)]
    if online:
        age = min(w.age(now) for w in online)
        detail = f"{len(online)} online, last heartbeat {format_duration(age)} ago"
        if age <= HEARTBEAT_LATE.total_seconds():
            return Check(WORKER, OK, detail)
        every = format_duration(workers.HEARTBEAT_INTERVAL.total_seconds())
        return Check(
            WORKER,
            WARN,
            f"{detail} (it beats every {every}; gone after "
            f"{format_duration(workers.ONLINE_WITHIN.total_seconds())})",
            "see what the worker is doing: omnipost logs -f (a stuck worker or a busy machine)",
        )
    recent = SWEEP_WITHIN.total_seconds()
    cron = [w for w in seen if workers.is_one_shot(w.id, workers.ONCE) and w.age(now) <= recent]
    if cron:
        # Cron-only installs: `omnipost worker --once` every minute is the worker.
        age = min(w.age(now) for w in cron)
        return Check(WORKER, OK, f"cron mode: worker --once ran {format_duration(age)} ago")
    if not seen:
        detail = "never seen"
    else:
        last = min(seen, key=lambda w: w.age(now))
        since = format_duration(last.age(now))
        # A clean stop records its time: "stopped" tells a shutdown from a crash or a hang.
        detail = f"stopped {since} ago" if last.stopped_at else f"no heartbeat for {since}"
    return Check(WORKER, FAIL, detail, "start it: omnipost worker (keep it running with systemd)")


def check_sweep(ctx: Context, now: datetime) -> Check:
    seen = workers.list_workers(ctx)
    sweeps = [w.last_sweep_at for w in seen if w.last_sweep_at is not None]
    fix = (
        "run one worker without --no-periodic (omnipost worker), "
        "or run omnipost worker --once from cron every minute"
    )
    if not sweeps:
        return Check(SWEEP, FAIL, "no sweep has run yet", fix)
    age = now - max(sweeps)
    detail = f"last sweep {format_duration(age.total_seconds())} ago"
    if age <= SWEEP_WITHIN:
        return Check(SWEEP, OK, detail)
    online = [w for w in seen if w.online(now)]
    if online and not any(w.periodic for w in online):
        detail += "; every running worker has --no-periodic"
    return Check(SWEEP, FAIL, f"{detail} (it should run every minute)", fix)


# --- directories --------------------------------------------------------------------------------


def check_dirs(settings: Settings) -> Check:
    paths = settings.paths
    shown: list[str] = []
    problems: list[str] = []
    fixes: list[str] = []
    level = WARN  # little disk left still works, for now
    for label, directory in (("data", paths.data_dir), ("logs", paths.log_dir)):
        problem = _unwritable(directory)
        if problem is not None:
            level = FAIL
            problems.append(problem)
            fixes.append(
                f"make {directory} a directory this user can write (mkdir -p, chown, chmod u+rwx),"
                " or set OMNIPOST_HOME"
            )
            continue
        free = shutil.disk_usage(directory).free
        shown.append(f"{label} {directory}: {_bytes(free)} free")
        if free < MIN_FREE_BYTES:
            problems.append(f"only {_bytes(free)} free under {directory}")
            fixes.append(
                f"free disk space where {directory} lives (at least {_bytes(MIN_FREE_BYTES)})"
            )
    if problems:
        return Check(DIRS, level, "; ".join(problems), "; ".join(fixes))
    return Check(DIRS, OK, "writable; " + "; ".join(shown))


def _unwritable(directory: Path) -> str | None:
    """Why ``directory`` cannot take a new file, or None when it can (tried, not guessed:
    permission bits lie about root, read-only mounts and ACLs)."""
    if directory.exists() and not directory.is_dir():
        return f"{directory} is a file, not a directory"
    try:
        # OmniPost creates its directories on first use; missing is fine if they can be made.
        make_private_dir(directory)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".omnipost-doctor-") as probe:
            probe.write(b"ok")
            probe.flush()
    except OSError as exc:
        return f"{directory} is not writable ({exc.strerror or exc})"
    return None


def check_permissions(settings: Settings) -> Check:
    """Nobody else may read the key (it decrypts every token), the database (it holds them),
    the config (app secrets, the webhook), the queue and the logs (what was posted where)."""
    paths = settings.paths
    database = _sqlite_file(settings.database_url)
    queue = _sqlite_file(settings.queue_url) if settings.queue_url.startswith("sqlite") else None
    directories = [*paths.own_dirs]
    files = [paths.key_file, paths.config_file]
    for sqlite_file in (database, queue):
        if sqlite_file is not None:
            files += [Path(f"{sqlite_file}{suffix}") for suffix in ("", "-wal", "-shm")]
    if database is not None:
        backups = default_backup_dir(database)
        directories.append(backups)
        files += sorted(backups.glob("*.db")) if backups.is_dir() else []
    files += [*log_files(paths.log_file), Path(f"{paths.log_file}.lock")]

    open_files = _open_to_others(files, stat.S_ISREG)
    open_dirs = _open_to_others(dict.fromkeys(directories), stat.S_ISDIR)
    if not open_files and not open_dirs:
        return Check(PERMISSIONS, OK, "key, database, queue, config and logs private to you")
    shown = [f"{path} ({mode:04o})" for path, mode in (*open_files, *open_dirs)]
    # A directory shared by design (/tmp), another user's or the user's home is not to be
    # chmod'ed: OmniPost's files belong in a directory of their own.
    shared = [path for path, _ in open_dirs if not _may_tighten(path)]
    fixes = []
    if open_files:
        fixes.append("chmod 600 " + " ".join(str(path) for path, _ in open_files))
    if len(shared) < len(open_dirs):
        fixes.append(
            "chmod 700 " + " ".join(str(path) for path, _ in open_dirs if path not in shared)
        )
    if shared:
        fixes.append(
            f"set OMNIPOST_HOME to a directory of OmniPost's own instead of "
            f"{', '.join(str(path) for path in shared)}"
        )
    # Publishing works; but whoever can read the key and the database has every token.
    return Check(PERMISSIONS, WARN, "other users can get at " + ", ".join(shown), "; ".join(fixes))


def _open_to_others(paths: Iterable[Path], kind: Callable[[int], bool]) -> list[tuple[Path, int]]:
    """(path, mode) of each existing path of that kind with any group or other permission."""
    found = []
    for path in paths:
        try:
            info = path.stat()
        except OSError:
            continue  # missing: nothing to protect (yet)
        mode = stat.S_IMODE(info.st_mode)
        if kind(info.st_mode) and mode & 0o077:
            found.append((path, mode))
    return found


def _may_tighten(directory: Path) -> bool:
    try:
        return may_tighten(directory, directory.stat())
    except OSError:
        return False


def _bytes(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TB"


# --- accounts and tokens ------------------------------------------------------------------------


def check_keys(ctx: Context, now: datetime) -> Check:
    """The keys can be read and read every stored token: a process with other keys than the
    worker's (a shell without the unit's credential) or a key dropped too early shows here,
    before a publish fails on it."""
    health = key_health(ctx)
    info = health.info
    if info.keys is None and info.problem and info.source.startswith("the key file"):
        if not health.unreadable:
            return Check(KEYS, OK, f"{info.source} is made when the first token is stored")
        return Check(
            KEYS,
            FAIL,
            f"{info.source} is missing, but the database holds "
            f"{_plural(health.tokens, 'token')} encrypted with the key it held",
            f"restore {ctx.settings.paths.key_file} from your backup (or set OMNIPOST_SECRET_KEY "
            "to the key the worker uses)",
        )
    if info.keys is None:
        fix = "correct the key list; omnipost key generate makes a key"
        return Check(KEYS, FAIL, info.problem or "", fix)
    where = f"{_plural(info.keys, 'key')} from {info.source}"
    if health.unreadable:
        shown = ", ".join(f"{name} (#{id_})" for id_, name in health.unreadable)
        commands = ", ".join(f"omnipost account reconnect {id_}" for id_, _ in health.unreadable)
        return Check(
            KEYS,
            FAIL,
            f"{where}: none of them reads the stored tokens of {shown}",
            "use the keys the worker uses (put back a key you removed, after the first), or "
            f"reconnect: {commands}",
        )
    if health.older:
        return Check(
            KEYS,
            OK,
            f"{where}; {_plural(health.older, 'token')} still under an older key: run omnipost "
            "key rotate",
        )
    if info.keys > 1:
        return Check(
            KEYS,
            OK,
            f"{where}; every stored token uses the first: the others can go once every "
            "process runs with the first",
        )
    return Check(KEYS, OK, f"{where}; it reads every stored token")


def check_accounts(ctx: Context, now: datetime) -> Check:
    """Brands and connected accounts; for each account, when it last published (the guide's
    "test post successfully published") and when its token expires."""
    with ctx.db.read() as session:
        brands = session.scalar(select(func.count()).select_from(Brand)) or 0
        last_success = (
            select(PostVariant.account_id, func.max(PublicationAttempt.finished_at).label("at"))
            .join(PublicationAttempt, PublicationAttempt.variant_id == PostVariant.id)
            .where(PublicationAttempt.result == SUCCESS)
            .group_by(PostVariant.account_id)
            .subquery()
        )
        accounts = session.execute(
            select(
                ConnectedSocialAccount.id,
                ConnectedSocialAccount.name,
                ConnectedSocialAccount.token_expires_at,
                ConnectedSocialAccount.token_never_expires,
                last_success.c.at,
            )
            .outerjoin(last_success, last_success.c.account_id == ConnectedSocialAccount.id)
            .where(ConnectedSocialAccount.status == CONNECTED)
            .order_by(ConnectedSocialAccount.id)
        ).all()
    detail = f"{_plural(brands, 'brand')}, {_plural(len(accounts), 'connected account')}"
    if brands == 0:
        return Check(
            ACCOUNTS,
            WARN,  # a new install: nothing to publish yet, nothing broken
            detail,
            "omnipost brand add NAME, then omnipost account connect facebook|linkedin --brand NAME",
        )
    if not accounts:
        return Check(
            ACCOUNTS, WARN, detail, "omnipost account connect facebook|linkedin --brand NAME"
        )
    tz = ctx.settings.tz
    parts = []
    for account_id, name, expires_at, never, published in accounts:
        shown = (
            f"last published {format_local(published, tz)}" if published else "not published yet"
        )
        if never:
            token = "token never expires"
        elif expires_at is None:
            token = "token expiry not known"
        else:
            token = f"token expires {format_relative(expires_at, now)}"
        parts.append(f"{name} (#{account_id}): {shown}, {token}")
    return Check(ACCOUNTS, OK, f"{detail}: " + "; ".join(parts))


def check_tokens(ctx: Context, now: datetime) -> Check:
    # The same alerts the TUI and the worker show, so every surface agrees on what is expiring.
    alerts = [
        alert
        for alert in current_alerts(ctx, now)
        if alert.kind in (ACCOUNT_EXPIRED, TOKEN_EXPIRING)
    ]
    with ctx.db.read() as session:
        unknown = session.execute(
            select(ConnectedSocialAccount.id, ConnectedSocialAccount.name).where(
                ConnectedSocialAccount.status == CONNECTED,
                ConnectedSocialAccount.token_expires_at.is_(None),
                ConnectedSocialAccount.token_never_expires.is_(False),
            )
        ).all()
        # Past its expiry: the next post through it fails (one expiring soon still goes out).
        lapsed = session.scalar(
            select(func.count()).where(
                ConnectedSocialAccount.status == CONNECTED,
                ConnectedSocialAccount.token_never_expires.is_(False),
                ConnectedSocialAccount.token_expires_at <= now,
            )
        )
    if not alerts and not unknown:
        return Check(
            TOKENS,
            OK,
            f"none expired or expiring within {format_duration(EXPIRY_WARNING.total_seconds())}",
        )
    details = [alert.message for alert in alerts]
    fixes = []
    if alerts:
        commands = [f"omnipost account reconnect {a.account_id}" for a in alerts if a.account_id]
        fixes.append("reconnect with a new token: " + ", ".join(commands))
    if unknown:
        # Nobody would notice such a token running out until posts fail.
        details.append(
            "expiry unknown for " + ", ".join(f"{name} (#{id_})" for id_, name in unknown)
        )
        fixes.append(
            "record it: omnipost account check --all (with the app credentials), or "
            "omnipost account reconnect ID --expires-at WHEN"
        )
    expired = lapsed or any(alert.kind == ACCOUNT_EXPIRED for alert in alerts)
    return Check(TOKENS, FAIL if expired else WARN, "; ".join(details), "; ".join(fixes))


def check_app_credentials(ctx: Context, now: datetime) -> Check:
    settings = ctx.settings
    with ctx.db.read() as session:
        in_use = dict(
            session.execute(
                select(ConnectedSocialAccount.platform, func.count())
                .where(ConnectedSocialAccount.status != REVOKED)
                .group_by(ConnectedSocialAccount.platform)
            ).all()
        )
    parts: list[str] = []
    missing: list[str] = []
    for platform in PLATFORMS:
        label = LABELS[platform]
        if not in_use.get(platform):
            parts.append(f"{label} not needed (no {label} account)")
            continue
        unset = [key for key in APP_CREDENTIAL_SETTINGS[platform] if not getattr(settings, key)]
        if unset:
            what = " and ".join(key.removeprefix(f"{platform}_").replace("_", " ") for key in unset)
            parts.append(f"{label} {what} not set, needed to refresh tokens")
            missing += unset
        else:
            parts.append(f"{label} set")
    if missing:
        names = " and ".join(OPTIONS_BY_KEY[key].env_var for key in missing)
        return Check(
            APP_CREDENTIALS,
            WARN,  # publishing works until a token needs renewing
            "; ".join(parts),
            f"set {names} (or {', '.join(missing)} in config.toml)",
        )
    return Check(APP_CREDENTIALS, OK, "; ".join(parts))


# --- variants and alerts ------------------------------------------------------------------------


def check_attention(ctx: Context, now: datetime) -> Check:
    waiting = count_needing_attention(ctx)
    failed, unconfirmed = waiting.failed, waiting.unconfirmed
    if not failed and not unconfirmed:
        return Check(ATTENTION, OK, "no failed or unconfirmed variants")
    steps = ["see them: omnipost failed"]
    if failed:
        steps.append("omnipost retry ID… (or retry all)")
    if unconfirmed:
        steps.append("check the page, then omnipost variant mark-published ID or omnipost retry ID")
    return Check(
        ATTENTION,
        WARN,  # the install works; these posts need a person
        f"{failed} failed, {unconfirmed} unconfirmed, waiting for a human",
        "; ".join(steps),
    )


def check_images(ctx: Context, now: datetime) -> Check:
    """Every attached image still in the media directory (a file removed behind OmniPost's
    back fails its variant before any request; better to hear it now)."""
    paths = ctx.settings.paths
    with ctx.db.read() as session:
        files = session.scalars(select(MediaFile)).all()
        gone = {m.sha256 for m in files if not media_path(paths, m.sha256, m.format).is_file()}
        total = sum(m.size_bytes for m in files)
        affected: list[str] = []
        if gone:
            for post_id, name in session.execute(
                select(PostImage.post_id, PostImage.original_name)
                .where(PostImage.sha256.in_(gone))
                .order_by(PostImage.post_id, PostImage.position)
            ):
                affected.append(f"post {post_id} ({name})")
            for variant_id, name in session.execute(
                select(VariantImage.variant_id, VariantImage.original_name)
                .where(VariantImage.sha256.in_(gone))
                .order_by(VariantImage.variant_id, VariantImage.position)
            ):
                affected.append(f"variant {variant_id} ({name})")
    if not files:
        return Check(IMAGES, OK, "no images attached")
    if not gone:
        return Check(
            IMAGES, OK, f"{_plural(len(files), 'image')} ({_bytes(total)}) in {paths.media_dir}"
        )
    shown = ", ".join(affected[:5]) or "no post uses them"
    more = f" and {len(affected) - 5} more" if len(affected) > 5 else ""
    return Check(
        IMAGES,
        WARN,  # only the posts named fail, and not before their time
        f"{_plural(len(gone), 'image')} missing from {paths.media_dir}: {shown}{more}",
        "restore media/ from a backup, or attach the images again "
        "(omnipost post image remove, then add)",
    )


def check_alerts(settings: Settings) -> Check:
    threshold = (
        f"{_plural(settings.alert_failures, 'failure')} in {format_duration(settings.alert_window)}"
    )
    if settings.alert_webhook:
        # Never the URL itself: a Slack webhook URL is a credential.
        return Check(ALERTS, OK, f"webhook set; alerts at {threshold}")
    return Check(
        ALERTS,
        WARN,
        f"no webhook: {threshold} would only show in the app",
        "set OMNIPOST_ALERT_WEBHOOK to a Slack-compatible incoming webhook URL "
        "(or alert_webhook in config.toml)",
    )


def check_heartbeat(settings: Settings) -> Check:
    """The dead man's switch: the worker's alerts cannot say that the worker is gone."""
    if settings.heartbeat_url:
        # Where it leads, never the path: a ping URL's UUID or push token is the credential.
        return Check(
            HEARTBEAT_URL,
            OK,
            f"{settings.heartbeat_style} pings to {mask_url_path(settings.heartbeat_url)} "
            "after every sweep",
        )
    return Check(
        HEARTBEAT_URL,
        WARN,
        "not set: nothing outside OmniPost notices a worker that died or never started",
        "set OMNIPOST_HEARTBEAT_URL to a healthchecks.io check's ping URL or an Uptime Kuma push "
        "URL (with OMNIPOST_HEARTBEAT_STYLE=uptime-kuma), or run doctor from cron",
    )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
