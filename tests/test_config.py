"""Settings: defaults, config.toml, OMNIPOST_* variables, and where each value came from."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from omnipost_tui.config import OPTIONS, load_settings, resolve_paths
from omnipost_tui.errors import ConfigError


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A minimal environment: only OMNIPOST_HOME (load_settings reads no other OMNIPOST_*)."""
    return {"OMNIPOST_HOME": str(tmp_path / "home")}


def write_config(env: dict[str, str], text: str) -> Path:
    home = Path(env["OMNIPOST_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --- defaults -------------------------------------------------------------------------------


def test_defaults_live_under_omnipost_home(env, tmp_path):
    settings = load_settings(env)
    home = (tmp_path / "home").resolve()
    assert settings.paths.data_dir == home
    assert settings.paths.config_dir == home
    assert settings.paths.log_dir == home / "logs"
    assert settings.paths.config_file == home / "config.toml"
    assert settings.paths.key_file == home / "secret.key"
    assert settings.database_url == f"sqlite:///{home / 'omnipost.db'}"
    assert settings.queue_url == f"sqlite:///{home / 'queue.db'}"
    # Absolute paths: sqlite:/// followed by an absolute path (four slashes).
    assert settings.database_url.startswith("sqlite:////")


def test_loading_settings_creates_nothing(env, tmp_path):
    load_settings(env)
    assert not (tmp_path / "home").exists()


def test_documented_defaults(env):
    settings = load_settings(env)
    assert settings.queue_name == "omnipost"
    assert settings.max_attempts == 3
    assert settings.retry_backoff == (60, 300, 900)
    assert settings.max_lateness == 86400
    assert settings.facebook_graph_url == "https://graph.facebook.com"
    assert settings.facebook_graph_version == "v24.0"
    assert settings.linkedin_api_url == "https://api.linkedin.com"
    assert settings.linkedin_oauth_url == "https://www.linkedin.com"
    assert settings.linkedin_version == "202610"
    assert settings.linkedin_api == "rest"
    assert settings.http_timeout == 30
    assert settings.publish_timeout == 120
    assert settings.secret_key is None
    assert settings.log_level == "INFO"
    assert set(settings.sources.values()) == {"default"}
    assert {key for key, _, _ in settings.describe()} == {o.key for o in OPTIONS}


def test_relative_omnipost_home_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings({"OMNIPOST_HOME": "rel"})
    assert settings.paths.data_dir == (tmp_path / "rel").resolve()
    assert settings.database_url == f"sqlite:///{(tmp_path / 'rel').resolve() / 'omnipost.db'}"


def test_an_omnipost_home_under_a_user_that_does_not_exist_is_one_line():
    with pytest.raises(ConfigError) as info:
        resolve_paths({"OMNIPOST_HOME": "~no-such-user-here/omnipost"})
    assert "OMNIPOST_HOME" in info.value.message and "full path" in info.value.message


def test_an_omnipost_home_that_is_a_file_says_so(tmp_path):
    home = tmp_path / "home"
    home.write_text("not a directory")
    with pytest.raises(ConfigError, match="is a file, not a directory"):
        resolve_paths({"OMNIPOST_HOME": str(home)})


def test_timezone_defaults_to_the_system_zone_from_tz(env, monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    settings = load_settings(env)
    assert settings.timezone == "America/New_York"
    assert settings.sources["timezone"] == "default"
    monkeypatch.setenv("TZ", ":Asia/Tokyo")
    assert load_settings(env).timezone == "Asia/Tokyo"


def test_without_omnipost_home_paths_follow_the_xdg_directories(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    settings = load_settings({})
    assert settings.paths.data_dir == tmp_path / "xdg-data" / "omnipost"
    assert settings.paths.config_dir == tmp_path / "xdg-config" / "omnipost"
    assert settings.paths.log_dir == tmp_path / "xdg-state" / "omnipost" / "log"
    assert (
        settings.database_url == f"sqlite:///{tmp_path / 'xdg-data' / 'omnipost' / 'omnipost.db'}"
    )
    assert settings.queue_url == f"sqlite:///{tmp_path / 'xdg-data' / 'omnipost' / 'queue.db'}"
    assert settings.paths.key_file == tmp_path / "xdg-config" / "omnipost" / "secret.key"
    # config.toml is read from the config dir.
    (tmp_path / "xdg-config" / "omnipost").mkdir(parents=True)
    (tmp_path / "xdg-config" / "omnipost" / "config.toml").write_text("max_attempts = 4\n")
    assert load_settings({}).max_attempts == 4


def test_without_omnipost_home_or_xdg_paths_are_under_home(tmp_path, monkeypatch):
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        monkeypatch.delenv(var, raising=False)
    user = tmp_path / "user"
    monkeypatch.setenv("HOME", str(user))
    settings = load_settings({})
    assert settings.paths.data_dir == user / ".local" / "share" / "omnipost"
    assert settings.paths.config_dir == user / ".config" / "omnipost"
    assert settings.paths.log_dir == user / ".local" / "state" / "omnipost" / "log"
    assert Path(settings.database_url.removeprefix("sqlite:///")).is_relative_to(user)
    assert not user.exists()


def test_an_empty_omnipost_home_means_not_set(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    settings = load_settings({"OMNIPOST_HOME": ""})
    assert settings.paths.data_dir == tmp_path / "xdg-data" / "omnipost"


# --- precedence -----------------------------------------------------------------------------


def test_precedence_default_then_config_file_then_environment(env):
    write_config(
        env,
        'max_attempts = 5\nlog_level = "debug"\ntimezone = "Asia/Tokyo"\nqueue_name = "file"\n',
    )
    env["OMNIPOST_MAX_ATTEMPTS"] = "7"
    env["OMNIPOST_QUEUE_NAME"] = "from-env"
    settings = load_settings(env)

    assert settings.max_attempts == 7
    assert settings.sources["max_attempts"] == "env OMNIPOST_MAX_ATTEMPTS"
    assert settings.queue_name == "from-env"
    assert settings.sources["queue_name"] == "env OMNIPOST_QUEUE_NAME"
    assert settings.log_level == "DEBUG"
    assert settings.sources["log_level"] == "config.toml"
    assert settings.timezone == "Asia/Tokyo"
    assert settings.sources["timezone"] == "config.toml"
    assert settings.max_lateness == 86400
    assert settings.sources["max_lateness"] == "default"

    rows = {key: (shown, source) for key, shown, source in settings.describe()}
    assert rows["max_attempts"] == ("7", "env OMNIPOST_MAX_ATTEMPTS")
    assert rows["log_level"] == ("DEBUG", "config.toml")
    assert rows["retry_backoff"] == ("60,300,900", "default")


def test_an_empty_environment_variable_does_not_override(env):
    write_config(env, "max_attempts = 5\n")
    env["OMNIPOST_MAX_ATTEMPTS"] = "  "
    settings = load_settings(env)
    assert settings.max_attempts == 5
    assert settings.sources["max_attempts"] == "config.toml"


def test_retry_backoff_as_a_toml_list_and_as_text(env):
    write_config(env, "retry_backoff = [60, 300]\n")
    settings = load_settings(env)
    assert settings.retry_backoff == (60, 300)
    assert settings.sources["retry_backoff"] == "config.toml"
    env["OMNIPOST_RETRY_BACKOFF"] = " 10, 20 ,30 "
    settings = load_settings(env)
    assert settings.retry_backoff == (10, 20, 30)
    assert settings.sources["retry_backoff"] == "env OMNIPOST_RETRY_BACKOFF"


def test_values_are_normalised(env):
    env.update(
        OMNIPOST_FACEBOOK_GRAPH_URL="https://graph.example/",
        OMNIPOST_LINKEDIN_API="UGC",
        OMNIPOST_LOG_LEVEL="warning",
        OMNIPOST_HTTP_TIMEOUT="2.5",
    )
    settings = load_settings(env)
    assert settings.facebook_graph_url == "https://graph.example"
    assert settings.linkedin_api == "ugc"
    assert settings.log_level == "WARNING"
    assert settings.http_timeout == 2.5


def test_tables_for_the_tui_are_allowed(env):
    write_config(env, 'max_attempts = 2\n[tui]\ntheme = "dark"\n[keymap]\nquit = "q"\n')
    assert load_settings(env).max_attempts == 2


# --- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("max_attempts", "0"),
        ("max_attempts", "three"),
        ("max_attempts", "1.5"),
        ("retry_backoff", "a,b"),
        ("retry_backoff", "60,-5"),
        ("retry_backoff", ","),
        ("retry_backoff", "60,99999999999"),
        ("max_lateness", "-1"),
        ("max_lateness", "99999999999999"),
        ("publish_timeout", "0"),
        ("publish_timeout", "99999999999999"),
        ("timezone", "Mars/Olympus_Mons"),
        ("timezone", "europe/berlin"),
        ("facebook_graph_url", "graph.facebook.com"),
        ("linkedin_oauth_url", "ftp://www.linkedin.com"),
        ("facebook_graph_version", "24.0"),
        ("linkedin_version", "2026-10"),
        ("linkedin_api", "soap"),
        ("http_timeout", "0"),
        ("http_timeout", "soon"),
        ("http_timeout", "nan"),
        ("http_timeout", "inf"),
        ("log_level", "LOUD"),
        ("queue_url", "amqp://rabbit"),
        ("database_url", "omnipost.db"),
    ],
)
def test_an_invalid_environment_value_names_the_variable(env, key, value):
    var = "OMNIPOST_" + key.upper()
    env[var] = value
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    assert info.value.message.startswith(f"{var}: expected")
    assert repr(value) in info.value.message


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("max_attempts = 0", "max_attempts"),
        ("max_attempts = true", "max_attempts"),
        ('retry_backoff = [60, "soon"]', "retry_backoff"),
        ("retry_backoff = []", "retry_backoff"),
        ('timezone = "Nowhere/Land"', "timezone"),
        ("queue_name = true", "queue_name"),
        ("queue_name = [1, 2]", "queue_name"),
    ],
)
def test_an_invalid_config_file_value_names_the_key_and_the_file(env, line, key):
    path = write_config(env, line + "\n")
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    assert f"{key} in {path}" in info.value.message


def test_a_toml_syntax_error_names_the_file(env):
    path = write_config(env, "max_attempts = = 3\n")
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    assert str(path) in info.value.message
    assert "not valid TOML" in info.value.message
    assert "line 1" in info.value.message


def test_an_unknown_key_is_refused(env):
    path = write_config(env, "max_atempts = 5\n")
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    assert "max_atempts" in info.value.message
    assert str(path) in info.value.message


def test_an_unreadable_config_path_is_a_config_error(env):
    home = Path(env["OMNIPOST_HOME"])
    (home / "config.toml").mkdir(parents=True)  # a directory where the file should be
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(env)


# --- secrets --------------------------------------------------------------------------------


def test_describe_masks_the_secret_key(env):
    key = Fernet.generate_key().decode()
    env["OMNIPOST_SECRET_KEY"] = key
    settings = load_settings(env)
    assert settings.secret_key == key
    rows = {name: (shown, source) for name, shown, source in settings.describe()}
    assert rows["secret_key"] == ("********", "env OMNIPOST_SECRET_KEY")
    assert all(key not in shown for _, shown, _ in settings.describe())
    # Nor does the key show up if the settings object lands in a log or a traceback.
    assert key not in repr(settings)
    assert key not in str(settings)


def test_describe_shows_an_unset_secret_key_as_not_set(env):
    rows = {name: shown for name, shown, _ in load_settings(env).describe()}
    assert rows["secret_key"] == "(not set)"


def test_the_secret_key_from_the_config_file_is_masked_too(env):
    key = Fernet.generate_key().decode()
    write_config(env, f'secret_key = "{key}"\n')
    settings = load_settings(env)
    assert settings.secret_key == key
    rows = {name: (shown, source) for name, shown, source in settings.describe()}
    assert rows["secret_key"] == ("********", "config.toml")


def test_publish_timeout_must_cover_a_whole_request(env):
    env["OMNIPOST_HTTP_TIMEOUT"] = "60"
    with pytest.raises(ConfigError, match="at least three times http_timeout"):
        load_settings(env)
    env["OMNIPOST_PUBLISH_TIMEOUT"] = "180"
    assert load_settings(env).publish_timeout == 180


def test_repr_of_settings_hides_url_passwords(env):
    env["OMNIPOST_DATABASE_URL"] = "postgresql+psycopg://omnipost:hunter2@db/omnipost"
    env["OMNIPOST_QUEUE_URL"] = "redis://:hunter3@queue:6379/0"
    text = repr(load_settings(env))
    assert "hunter2" not in text and "hunter3" not in text


def test_tui_preferences_and_keymap_are_read_and_the_theme_is_saved_in_place(env):
    from omnipost_tui.config import save_tui_theme

    path = write_config(
        env,
        '# mine\ntimezone = "Europe/Berlin"\n\n[tui]\ntheme = "nord"\n\n'
        '[keymap]\n"variants.publish" = "ctrl+p"\n',
    )
    settings = load_settings(env)
    assert settings.tui_theme == "nord"
    assert dict(settings.keymap) == {"variants.publish": "ctrl+p"}
    save_tui_theme(settings.paths, "dracula")
    text = path.read_text()
    assert "# mine" in text and 'theme = "dracula"' in text and "nord" not in text
    assert load_settings(env).tui_theme == "dracula"


def test_a_bad_keymap_entry_is_refused(env):
    write_config(env, '[keymap]\n"variants.publish" = 5\n')
    with pytest.raises(ConfigError, match=r"\[keymap\] variants.publish"):
        load_settings(env)


def test_keymap_ids_may_be_written_as_dotted_keys(env):
    write_config(env, '[keymap]\nvariants.publish = "ctrl+o"\n"calendar.move" = "M"\n')
    assert dict(load_settings(env).keymap) == {
        "variants.publish": "ctrl+o",
        "calendar.move": "M",
    }


def test_a_wrong_secret_setting_is_named_but_never_echoed(env):
    env["OMNIPOST_ALERT_WEBHOOK"] = "htps://hooks.slack.com/services/T0/B0/s3cr3t"
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    assert "OMNIPOST_ALERT_WEBHOOK" in info.value.message
    assert "s3cr3t" not in info.value.message


# --- saving the TUI theme -------------------------------------------------------------------

RICH_CONFIG = """\
# OmniPost settings (mine; keep this comment)
timezone = "Europe/Berlin"   # where the team sits
facebook_app_secret = "app-SECRET-1234"
retry_backoff = [60, 300, 900]

[tui] # how the app looks
theme = "nord" # changed from the palette

[keymap]
# publish with ctrl+o, not p
variants.publish = "ctrl+o"
"calendar.move" = "M"
"""


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644])
def test_saving_the_theme_keeps_the_file_mode(env, mode):
    from omnipost_tui.config import save_tui_theme

    path = write_config(env, RICH_CONFIG)
    path.chmod(mode)
    save_tui_theme(load_settings(env).paths, "dracula")
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert load_settings(env).tui_theme == "dracula"


def test_a_new_config_file_for_the_theme_is_private_whatever_the_umask(env):
    from omnipost_tui.config import save_tui_theme

    paths = load_settings(env).paths
    previous = os.umask(0)
    try:
        save_tui_theme(paths, "dracula")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(paths.config_file.stat().st_mode) == 0o600
    assert load_settings(env).tui_theme == "dracula"


def test_saving_the_theme_changes_only_the_theme(env):
    """Comments, their places, every other setting and table stay exactly as written."""
    from omnipost_tui.config import save_tui_theme

    path = write_config(env, RICH_CONFIG)
    save_tui_theme(load_settings(env).paths, "dracula")
    assert path.read_text() == RICH_CONFIG.replace('theme = "nord"', 'theme = "dracula"')
    assert not list(path.parent.glob("*.tmp"))


@pytest.mark.parametrize(
    "tui",
    [
        '[tui] # colours\ntheme = "nord"\n',
        "[tui]\n# pick one in the palette\n",
        'tui = {theme = "nord"}\n',
        'tui.theme = "nord"\n',
        "",
    ],
    ids=["table-with-comment", "table-without-theme", "inline-table", "dotted-key", "no-tui"],
)
def test_the_theme_is_saved_however_tui_is_written(env, tui):
    from omnipost_tui.config import save_tui_theme

    head = '# mine\nlog_level = "DEBUG"\n'
    tail = '\n[keymap]\nvariants.publish = "ctrl+o"\n'
    path = write_config(env, head + tui + tail)
    before = tomllib.loads(path.read_text())
    save_tui_theme(load_settings(env).paths, "dracula")
    after = tomllib.loads(path.read_text())  # still TOML, and still ours
    assert after.pop("tui") == {"theme": "dracula"}
    before.pop("tui", None)
    assert after == before
    assert path.read_text().startswith(head)
    settings = load_settings(env)
    assert settings.tui_theme == "dracula" and settings.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('timezone = "Europe/Berlin"\n[tui\ntheme = "nord"\n', r"is not valid TOML: .*line 2"),
        ('tui = "nord"\n', r"\[tui\] in .* must be a table"),
    ],
    ids=["broken-toml", "tui-not-a-table"],
)
def test_a_config_the_theme_cannot_be_saved_in_is_named_and_left_alone(env, text, message):
    from omnipost_tui.config import save_tui_theme

    path = write_config(env, text)
    with pytest.raises(ConfigError, match=message) as info:
        save_tui_theme(resolve_paths(env), "dracula")
    assert str(path) in info.value.message
    assert path.read_text() == text


def test_a_theme_that_cannot_be_written_leaves_the_file_whole(env, monkeypatch):
    """A full disk (simulated: every os.fsync fails with ENOSPC, as a full disk's flush does)."""
    import errno

    from omnipost_tui.config import save_tui_theme

    path = write_config(env, RICH_CONFIG)

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(ConfigError, match="No space left on device") as info:
        save_tui_theme(resolve_paths(env), "dracula")
    assert f"cannot write config file {path}" in info.value.message
    assert path.read_text() == RICH_CONFIG
    assert sorted(p.name for p in path.parent.iterdir()) == ["config.toml"]


def test_starting_does_not_load_the_toml_writer(env):
    write_config(env, RICH_CONFIG)
    code = (
        "import sys; import omnipost_tui.tui.app; from omnipost_tui.config import load_settings;"
        " load_settings(); print('tomlkit' in sys.modules)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )
    assert proc.stdout.strip() == "False", proc.stderr
