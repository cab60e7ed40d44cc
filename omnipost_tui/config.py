"""Settings: where files live (platformdirs), ``config.toml``, and ``OMNIPOST_*`` overrides.

Precedence, lowest first: built-in default, ``config.toml`` in the config dir, environment.
Every setting remembers where its value came from so ``omnipost config`` can say so.

One module although it is long: the table of settings (name, parser, default, help), reading
them from the three sources and writing the theme back are one concept, and every other module
reads settings only through ``Settings``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import stat
import tempfile
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs

from omnipost_tui.errors import ConfigError, ValidationError
from omnipost_tui.files import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, expand_user, make_private_dir
from omnipost_tui.redact import mask_url_password

APP_NAME = "omnipost"
ENV_PREFIX = "OMNIPOST_"

log = logging.getLogger("omnipost.config")


@dataclass(frozen=True)
class Paths:
    data_dir: Path
    config_dir: Path
    log_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def key_file(self) -> Path:
        return self.config_dir / "secret.key"

    @property
    def database_file(self) -> Path:
        return self.data_dir / "omnipost.db"

    @property
    def queue_file(self) -> Path:
        return self.data_dir / "queue.db"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "omnipost.log"

    @property
    def media_dir(self) -> Path:
        """OmniPost's copies of attached images, each named by its content's SHA-256."""
        return self.data_dir / "media"

    @property
    def own_dirs(self) -> tuple[Path, ...]:
        """The directories that are OmniPost's alone (``OMNIPOST_HOME`` itself when it is set,
        else the ``omnipost`` directories platformdirs names), each once."""
        return tuple(dict.fromkeys((self.data_dir, self.config_dir, self.log_dir)))


def secure_own_dirs(paths: Paths) -> None:
    """Create OmniPost's own directories 0700, and take group and other access away from one
    that already existed looser (a home made with ``mkdir`` is 0755: anyone could list the
    database, the key and the logs).

    Only these directories: never the parents they live in, nor the directory of a database or
    queue file whose URL points elsewhere. A directory shared with others by design (sticky, like
    /tmp), one owned by another user, or the user's home (OMNIPOST_HOME=~) is left as it is;
    ``omnipost doctor`` reports it.
    """
    for directory in paths.own_dirs:
        make_private_dir(directory)
        try:
            info = directory.stat()
        except OSError:
            continue
        mode = stat.S_IMODE(info.st_mode)
        if not mode & 0o077 or not may_tighten(directory, info):
            continue
        try:
            directory.chmod(mode & PRIVATE_DIR_MODE)
        except OSError:
            continue  # doctor reports it
        log.info(
            "made %s private to its owner (was %04o, now %04o)",
            directory,
            mode,
            mode & PRIVATE_DIR_MODE,
        )


def may_tighten(directory: Path, info: os.stat_result) -> bool:
    """Whether OmniPost may take group and other access away from ``directory``."""
    if info.st_uid != os.geteuid() or info.st_mode & stat.S_ISVTX:
        return False
    try:
        home = Path.home().resolve()
    except (RuntimeError, KeyError):  # no HOME and no passwd entry (a bare container)
        return True
    resolved = directory.resolve()
    return resolved != home and resolved not in home.parents


def resolve_paths(env: Mapping[str, str]) -> Paths:
    """``OMNIPOST_HOME`` puts everything under one directory; otherwise the platform's dirs."""
    home = env.get("OMNIPOST_HOME")
    if home:
        try:
            root = expand_user(home, "OMNIPOST_HOME").resolve()
        except ValidationError as exc:
            raise ConfigError(exc.message) from None
        if root.exists() and not root.is_dir():
            raise ConfigError(
                f"OMNIPOST_HOME {root} is a file, not a directory; point it at a directory "
                "(it is created if missing)"
            )
        return Paths(data_dir=root, config_dir=root, log_dir=root / "logs")
    return Paths(
        data_dir=platformdirs.user_data_path(APP_NAME),
        config_dir=platformdirs.user_config_path(APP_NAME),
        log_dir=platformdirs.user_log_path(APP_NAME),
    )


def system_timezone() -> str:
    """The machine's IANA zone name, or UTC when it cannot be told."""
    tz_env = os.environ.get("TZ", "").lstrip(":")
    if tz_env and _valid_zone(tz_env):
        return tz_env
    try:
        name = Path("/etc/timezone").read_text().strip()
        if _valid_zone(name):
            return name
    except OSError:
        pass
    try:
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            name = target.split("zoneinfo/", 1)[1]
            if _valid_zone(name):
                return name
    except OSError:
        pass
    return "UTC"


def _valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


# Parsers turn a raw value (str from the environment, or a TOML value) into the typed value and
# raise ValueError with a short reason; the caller adds where the value came from.


def _str(value: Any) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ValueError("expected text")
    return str(value).strip()


def _queue_name(value: Any) -> str:
    text = _str(value)
    if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,100}", text):
        raise ValueError("expected a name of letters, digits, '.', '_', ':' or '-'")
    return text


def _optional_str(value: Any) -> str | None:
    text = _str(value)
    return text or None


# Longest wait any setting may ask for (ten years): beyond it datetime arithmetic overflows in
# the worker, at publish time, instead of here.
MAX_SECONDS = 10 * 365 * 86400


def _positive_int(value: Any) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValueError("expected a whole number") from None
    if number < 1:
        raise ValueError("expected a number of at least 1")
    return number


def _positive_seconds(value: Any) -> int:
    number = _positive_int(value)
    if number > MAX_SECONDS:
        raise ValueError(f"expected at most {MAX_SECONDS} seconds (ten years)")
    return number


def _positive_float(value: Any) -> float:
    try:
        number = float(str(value).strip())
    except ValueError:
        raise ValueError("expected a number of seconds") from None
    # NaN passes "<= 0" and inf is not a timeout: both would only fail later, in the worker.
    if not math.isfinite(number) or number <= 0:
        raise ValueError("expected a number of seconds above 0")
    if number > MAX_SECONDS:
        raise ValueError(f"expected at most {MAX_SECONDS} seconds (ten years)")
    return number


def _backoff(value: Any) -> tuple[int, ...]:
    items = value if isinstance(value, list) else str(value).split(",")
    try:
        waits = tuple(int(str(item).strip()) for item in items if str(item).strip())
    except ValueError:
        raise ValueError("expected seconds separated by commas, e.g. 60,300,900") from None
    if not waits or any(w < 0 for w in waits):
        raise ValueError("expected seconds separated by commas, e.g. 60,300,900")
    if any(w > MAX_SECONDS for w in waits):
        raise ValueError(f"expected waits of at most {MAX_SECONDS} seconds (ten years)")
    return waits


def _timezone(value: Any) -> str:
    name = _str(value)
    if not _valid_zone(name):
        raise ValueError("expected an IANA zone name such as Europe/Berlin or America/New_York")
    return name


def _url(value: Any) -> str:
    text = _str(value).rstrip("/")
    if not text.startswith(("http://", "https://")):
        raise ValueError("expected an http:// or https:// URL")
    return text


def _database_url(value: Any) -> str:
    text = _str(value)
    if "://" not in text:
        raise ValueError("expected a URL such as sqlite:////path/omnipost.db or postgresql://…")
    return text


def _queue_url(value: Any) -> str:
    text = _str(value)
    if not text.startswith(("sqlite://", "redis://", "rediss://", "memory://")):
        raise ValueError("expected sqlite:///PATH, redis://HOST:PORT/DB or memory://")
    return text


def _optional_url(value: Any) -> str | None:
    text = _str(value)
    return _url(text) if text else None


def _graph_version(value: Any) -> str:
    text = _str(value)
    if not (text.startswith("v") and text[1:].replace(".", "").isdigit()):
        raise ValueError("expected a Graph API version such as v24.0")
    return text


def _linkedin_version(value: Any) -> str:
    text = _str(value)
    if not (len(text) == 6 and text.isdigit()):
        raise ValueError("expected YYYYMM, e.g. 202610")
    return text


def _linkedin_api(value: Any) -> str:
    text = _str(value).lower()
    if text not in ("rest", "ugc"):
        raise ValueError("expected 'rest' (Posts API) or 'ugc' (legacy ugcPosts)")
    return text


def _redirect_uri(value: Any) -> str:
    text = _str(value)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(
            "expected the redirect URI registered in your app, e.g. http://localhost:8765/callback"
        )
    return text


def _scopes(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else re.split(r"[\s,]+", _str(value))
    scopes = tuple(str(item).strip() for item in items if str(item).strip())
    if not scopes or any(not re.fullmatch(r"[A-Za-z0-9_.:-]+", scope) for scope in scopes):
        raise ValueError("expected scope names separated by commas or spaces")
    return scopes


def _hour(value: Any) -> int:
    try:
        hour = int(str(value).strip())
    except ValueError:
        raise ValueError("expected an hour from 0 to 23") from None
    if not 0 <= hour <= 23:
        raise ValueError("expected an hour from 0 to 23")
    return hour


# How heartbeat_url is pinged after each sweep (engine/heartbeat_ping.py says what each sends).
HEARTBEAT_STYLES = ("healthchecks", "uptime-kuma", "plain")


def _heartbeat_style(value: Any) -> str:
    text = _str(value).lower()
    if text not in HEARTBEAT_STYLES:
        raise ValueError(f"expected {', '.join(HEARTBEAT_STYLES[:-1])} or {HEARTBEAT_STYLES[-1]}")
    return text


def _log_level(value: Any) -> str:
    text = _str(value).upper()
    if text not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError("expected DEBUG, INFO, WARNING or ERROR")
    return text


@dataclass(frozen=True)
class Option:
    key: str
    parse: Callable[[Any], Any]
    default: Callable[[Paths], Any]
    help: str
    secret: bool = False

    @property
    def env_var(self) -> str:
        return ENV_PREFIX + self.key.upper()


OPTIONS: tuple[Option, ...] = (
    Option(
        "database_url",
        _database_url,
        lambda p: f"sqlite:///{p.database_file}",
        "database URL: a SQLite file by default, postgresql+psycopg://… to scale out",
    ),
    Option(
        "queue_url",
        _queue_url,
        lambda p: f"sqlite:///{p.queue_file}",
        "huey queue: sqlite:///FILE (default) or redis://HOST:PORT/DB",
    ),
    Option(
        "queue_name",
        _queue_name,
        lambda p: "omnipost",
        "queue name (several installs can share Redis)",
    ),
    Option(
        "timezone", _timezone, lambda p: system_timezone(), "IANA zone used to read and show times"
    ),
    Option("max_attempts", _positive_int, lambda p: 3, "attempts per variant before it fails"),
    Option(
        "retry_backoff",
        _backoff,
        lambda p: (60, 300, 900),
        "seconds to wait after attempt 1, 2, 3… (the last value repeats)",
    ),
    Option(
        "max_lateness",
        _positive_seconds,
        lambda p: 86400,
        "seconds past its time after which a variant fails as missed instead of going out late",
    ),
    Option(
        "facebook_graph_url", _url, lambda p: "https://graph.facebook.com", "Graph API base URL"
    ),
    Option("facebook_graph_version", _graph_version, lambda p: "v24.0", "Graph API version"),
    Option("linkedin_api_url", _url, lambda p: "https://api.linkedin.com", "LinkedIn API base URL"),
    Option(
        "linkedin_oauth_url", _url, lambda p: "https://www.linkedin.com", "LinkedIn OAuth base URL"
    ),
    Option(
        "facebook_oauth_url",
        _url,
        lambda p: "https://www.facebook.com",
        "where Facebook's login dialog lives (connecting an account)",
    ),
    Option(
        "oauth_redirect_uri",
        _redirect_uri,
        lambda p: "http://localhost:8765/callback",
        "redirect URI registered in your Facebook and LinkedIn apps (connecting an account)",
    ),
    Option(
        "facebook_scopes",
        _scopes,
        lambda p: ("pages_show_list", "pages_manage_posts", "pages_read_engagement"),
        "permissions asked for when connecting a Facebook Page",
    ),
    Option(
        "linkedin_scopes",
        _scopes,
        lambda p: (
            "openid",
            "profile",
            "w_member_social",
            "w_organization_social",
            "r_organization_admin",
        ),
        "permissions asked for when connecting a LinkedIn member or organization",
    ),
    Option(
        "token_check_hour",
        _hour,
        lambda p: 6,
        "local hour at which the worker checks tokens once a day and renews what it can",
    ),
    Option(
        "token_renew_before",
        _positive_seconds,
        lambda p: 600,
        "seconds before a token expires that a publish renews it first (where it can)",
    ),
    Option("linkedin_version", _linkedin_version, lambda p: "202610", "LinkedIn-Version (YYYYMM)"),
    Option(
        "linkedin_api",
        _linkedin_api,
        lambda p: "rest",
        "'rest' (Posts API) or 'ugc' (legacy ugcPosts)",
    ),
    # Image limits. Facebook publishes no hard figures; about 10 MB a photo and 10 photos a post
    # are the working ones (DESIGN.md). LinkedIn's Images API: under 36,152,320 pixels, and a
    # multi-image post takes 2 to 20.
    Option(
        "facebook_image_max_bytes",
        _positive_int,
        lambda p: 10 * 1024 * 1024,
        "largest image file a Facebook post may carry, in bytes",
    ),
    Option("facebook_max_images", _positive_int, lambda p: 10, "images per Facebook post"),
    Option(
        "linkedin_image_max_pixels",
        _positive_int,
        lambda p: 36_152_320,
        "largest image a LinkedIn post may carry, in pixels (width × height)",
    ),
    Option("linkedin_max_images", _positive_int, lambda p: 20, "images per LinkedIn post"),
    Option(
        "image_alt_max_chars",
        _positive_int,
        lambda p: 1000,
        "longest alt text of an image (LinkedIn takes up to 4,086 characters)",
    ),
    Option(
        "stage_media_before",
        _positive_seconds,
        lambda p: 300,
        "seconds before its time that a post's images are uploaded, so it leaves on the minute",
    ),
    Option(
        "image_ready_timeout",
        _positive_float,
        lambda p: 60.0,
        "seconds to wait for LinkedIn to finish processing an uploaded image",
    ),
    Option("http_timeout", _positive_float, lambda p: 30.0, "seconds to wait for a platform"),
    Option(
        "publish_timeout",
        _positive_seconds,
        lambda p: 120,
        "seconds a publish may hold its claim before recovery treats the worker as crashed",
    ),
    Option(
        "read_back_settle",
        _positive_seconds,
        lambda p: 60,
        "seconds between two reads of a platform that did not list an unconfirmed post; "
        "absent from both, it is sent again",
    ),
    Option(
        "secret_key",
        _optional_str,
        lambda p: None,
        "Fernet key that encrypts tokens (default: a key file in the config dir)",
        secret=True,
    ),
    Option("log_level", _log_level, lambda p: "INFO", "log detail: DEBUG, INFO, WARNING, ERROR"),
    Option(
        "alert_failures",
        _positive_int,
        lambda p: 5,
        "failed attempts within alert_window that raise the repeated-failures alert",
    ),
    Option(
        "alert_window",
        _positive_seconds,
        lambda p: 3600,
        "seconds looked back for repeated failures",
    ),
    Option(
        "alert_webhook",
        _optional_url,
        lambda p: None,
        'URL that alerts are POSTed to as JSON {"text": …} (Slack-compatible)',
        secret=True,  # a Slack webhook URL is a credential
    ),
    Option(
        "heartbeat_url",
        _optional_url,
        lambda p: None,
        "URL pinged after every sweep, a dead man's switch (healthchecks.io, Uptime Kuma push…)",
        secret=True,  # a healthchecks.io ping URL's UUID is all it takes to ping it
    ),
    Option(
        "heartbeat_style",
        _heartbeat_style,
        lambda p: "healthchecks",
        "how heartbeat_url is pinged: healthchecks (URL, URL/fail), uptime-kuma "
        "(?status=up|down&msg=…), plain (POST the summary)",
    ),
    Option("facebook_app_id", _optional_str, lambda p: None, "Facebook app id (token refresh)"),
    Option(
        "facebook_app_secret",
        _optional_str,
        lambda p: None,
        "Facebook app secret (token refresh)",
        secret=True,
    ),
    Option(
        "linkedin_client_id", _optional_str, lambda p: None, "LinkedIn client id (token refresh)"
    ),
    Option(
        "linkedin_client_secret",
        _optional_str,
        lambda p: None,
        "LinkedIn client secret (token refresh)",
        secret=True,
    ),
)
OPTIONS_BY_KEY = {option.key: option for option in OPTIONS}


@dataclass(frozen=True)
class Settings:
    paths: Paths
    database_url: str
    queue_url: str
    queue_name: str
    timezone: str
    max_attempts: int
    retry_backoff: tuple[int, ...]
    max_lateness: int
    facebook_graph_url: str
    facebook_graph_version: str
    linkedin_api_url: str
    linkedin_oauth_url: str
    facebook_oauth_url: str
    oauth_redirect_uri: str
    facebook_scopes: tuple[str, ...]
    linkedin_scopes: tuple[str, ...]
    token_check_hour: int
    token_renew_before: int
    linkedin_version: str
    linkedin_api: str
    facebook_image_max_bytes: int
    facebook_max_images: int
    linkedin_image_max_pixels: int
    linkedin_max_images: int
    image_alt_max_chars: int
    stage_media_before: int
    image_ready_timeout: float
    http_timeout: float
    publish_timeout: int
    read_back_settle: int
    # Kept out of repr(): a Settings (or a Context holding one) in a log or traceback must not
    # carry the key that decrypts every stored token.
    secret_key: str | None = field(repr=False)
    log_level: str
    alert_failures: int
    alert_window: int
    alert_webhook: str | None = field(repr=False)
    heartbeat_url: str | None = field(repr=False)
    heartbeat_style: str
    facebook_app_id: str | None
    facebook_app_secret: str | None = field(repr=False)
    linkedin_client_id: str | None
    linkedin_client_secret: str | None = field(repr=False)
    # The TUI's own preferences from config.toml: [tui] theme = "…", [keymap] binding-id = "keys".
    tui_theme: str | None = None
    keymap: Mapping[str, str] = field(default_factory=dict, compare=False)
    # key -> "default" | "config.toml" | "env OMNIPOST_…"
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __repr__(self) -> str:
        # The masked form of describe(): URLs with passwords, and the key, never leak into logs.
        shown = ", ".join(f"{key}={value!r}" for key, value, _ in self.describe())
        return f"Settings({shown})"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def describe(self) -> list[tuple[str, str, str]]:
        """(key, shown value, source) for every option, secrets masked."""
        rows = []
        for option in OPTIONS:
            value = getattr(self, option.key)
            if option.secret and value:
                shown = "********"
            elif option.key.endswith("_url"):
                shown = mask_url_password(str(value))
            elif isinstance(value, tuple):
                shown = ",".join(str(v) for v in value)
            elif value is None:
                shown = "(not set)"
            else:
                shown = str(value)
            rows.append((option.key, shown, self.sources.get(option.key, "default")))
        return rows


@dataclass(frozen=True)
class ConfigProblem:
    """Something in config.toml or an ``OMNIPOST_*`` variable that cannot be used."""

    message: str
    fix: str
    # Settings whose configured value is unknown because of it: they take their default.
    unread: frozenset[str] = frozenset()


def read_config_file(path: Path) -> tuple[dict[str, Any], ConfigProblem | None]:
    """``config.toml``'s tables; a missing file is an empty config, an unreadable or broken one
    is the problem (with the parser's line and column)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        return {}, ConfigProblem(
            f"cannot read config file {path}: {reason}",
            f"make {path} a UTF-8 file you can read (chmod 600 {path})",
            frozenset(OPTIONS_BY_KEY),  # it may set any of them
        )
    try:
        return tomllib.loads(text), None
    except tomllib.TOMLDecodeError as exc:
        return {}, ConfigProblem(
            f"config file {path} is not valid TOML: {exc}",
            f"correct {path} (or move it aside to run on the defaults)",
            frozenset(OPTIONS_BY_KEY),
        )


# Tables in config.toml that belong to other parts (the TUI) and are not core settings.
EXTRA_TABLES = frozenset({"tui", "keymap"})


def _parse(option: Option, raw: Any, where: str) -> Any:
    try:
        return option.parse(raw)
    except ValueError as exc:
        # A secret (the webhook URL, an app secret) is never echoed, even when it is wrong.
        got = "" if option.secret else f" (got {str(raw)!r})"
        raise ConfigError(f"{where}: {exc}{got}") from None


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """The settings; a ConfigError (the first problem found) when any cannot be read."""
    settings, problems = read_settings(env)
    if problems:
        raise ConfigError(problems[0].message)
    return settings


def read_settings(env: Mapping[str, str] | None = None) -> tuple[Settings, list[ConfigProblem]]:
    """The settings as far as they can be read, a default for each one that cannot, and what
    went wrong, in the order ``load_settings`` reports it. For ``omnipost doctor``, which must
    report a broken configuration rather than stop at it."""
    env = os.environ if env is None else env
    paths = resolve_paths(env)
    config_file = paths.config_file
    problems: list[ConfigProblem] = []
    file_values, unreadable = read_config_file(config_file)
    if unreadable is not None:
        problems.append(unreadable)
    for key in file_values:
        if key not in OPTIONS_BY_KEY and key not in EXTRA_TABLES:
            problems.append(
                ConfigProblem(
                    f"unknown setting {key!r} in {config_file}",
                    f"remove or rename {key} in {config_file} (omnipost config lists the settings)",
                )
            )
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for option in OPTIONS:
        values[option.key], sources[option.key] = option.default(paths), "default"
        if option.key in file_values:
            # Checked even when the environment overrides it: the file must stay valid for the
            # next process that runs without that variable (cron, systemd).
            where = f"{option.key} in {config_file}"
            try:
                values[option.key] = _parse(option, file_values[option.key], where)
                sources[option.key] = "config.toml"
            except ConfigError as exc:
                problems.append(
                    ConfigProblem(exc.message, f"correct {where}", frozenset({option.key}))
                )
        raw = env.get(option.env_var, "")
        if raw.strip() != "":
            try:
                values[option.key] = _parse(option, raw, option.env_var)
                sources[option.key] = f"env {option.env_var}"
            except ConfigError as exc:
                problems.append(
                    ConfigProblem(
                        exc.message,
                        f"correct or unset {option.env_var}",
                        frozenset({option.key}),
                    )
                )
    if values["publish_timeout"] < 3 * values["http_timeout"]:
        # One request may take a connect, a send and a read timeout; recovery must not call a
        # publish that is still waiting for its answer "crashed".
        problems.append(
            ConfigProblem(
                f"publish_timeout ({values['publish_timeout']} s, {sources['publish_timeout']}) "
                f"must be at least three times http_timeout ({values['http_timeout']:g} s, "
                f"{sources['http_timeout']})",
                "raise publish_timeout or lower http_timeout",
                frozenset({"publish_timeout", "http_timeout"}),
            )
        )
        for key in ("publish_timeout", "http_timeout"):
            values[key], sources[key] = OPTIONS_BY_KEY[key].default(paths), "default"
    try:
        tui_theme, keymap = _tui_tables(file_values, config_file)
    except ConfigError as exc:
        tui_theme, keymap = None, {}
        problems.append(ConfigProblem(exc.message, f"correct [tui] or [keymap] in {config_file}"))
    settings = Settings(paths=paths, sources=sources, tui_theme=tui_theme, keymap=keymap, **values)
    return settings, problems


def _tui_tables(file_values: Mapping[str, Any], path: Path) -> tuple[str | None, dict[str, str]]:
    tui = file_values.get("tui", {})
    keymap = file_values.get("keymap", {})
    if not isinstance(tui, dict) or not isinstance(keymap, dict):
        raise ConfigError(f"[tui] and [keymap] in {path} must be tables")
    unknown = set(tui) - {"theme"}
    if unknown:
        raise ConfigError(f"unknown setting {sorted(unknown)[0]!r} in [tui] of {path}")
    theme = tui.get("theme")
    if theme is not None and not isinstance(theme, str):
        raise ConfigError(f"[tui] theme in {path} must be a theme name in quotes")
    flat = _flatten(keymap)
    for binding, keys in flat.items():
        if not isinstance(keys, str) or not keys.strip():
            raise ConfigError(
                f'[keymap] {binding} in {path} must be keys in quotes, e.g. {binding} = "ctrl+o"'
            )
    return theme, flat


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``variants.publish = "x"`` under [keymap] is a nested table in TOML; binding ids are
    dotted strings, so both spellings mean the same."""
    flat: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def save_tui_theme(paths: Paths, theme: str) -> None:
    """Remember the TUI theme in config.toml; everything else in the file stays as it was.

    Comments, other tables and the way ``[tui]`` is written (a table, an inline table, dotted
    keys) are kept, and so is the file's mode: it may hold app secrets and be 0600. A file that
    cannot be read, parsed or written raises ConfigError naming it; nothing is written then.
    """
    # Imported here: only choosing a theme pays for the TOML writer, not every start.
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    path = paths.config_file.resolve()  # a symlinked config stays a symlink
    try:
        text = path.read_text(encoding="utf-8")
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        text, mode = "", PRIVATE_FILE_MODE  # it may come to hold app secrets
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {_reason(exc)}") from None
    try:
        document = tomlkit.parse(text)
        tui = document.get("tui")
        if tui is None:
            document["tui"] = {"theme": theme}
        elif isinstance(tui, dict):  # [tui], tui = {…} and tui.theme = … alike
            tui["theme"] = theme
        else:
            raise ConfigError(f"[tui] in {path} must be a table, not a value")
        updated = tomlkit.dumps(document)
    except TOMLKitError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    _replace_file(path, updated, mode)


def _replace_file(path: Path, text: str, mode: int) -> None:
    """Write ``text`` to ``path`` all at once: a reader sees the old file or the new one, and
    the new one never has a looser mode than ``mode`` (not even for a moment)."""
    try:
        make_private_dir(path.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise ConfigError(f"cannot write config file {path}: {_reason(exc)}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            os.fchmod(file.fileno(), mode)  # mkstemp made it 0600; the umask plays no part
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise ConfigError(f"cannot write config file {path}: {_reason(exc)}") from None


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc)
