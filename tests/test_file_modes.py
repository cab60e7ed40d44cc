"""Who else can read OmniPost's files: nobody. The key decrypts every token, the database
holds them, the queue and the logs tell what was posted where.

Real ``omnipost`` processes under ``umask 022`` and ``umask 000`` (what a careless service
manager or container gives), then every file and directory in the home is looked at.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from omnipost_tui.logs import SharedRotatingFileHandler

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """No OMNIPOST_* from the test run, and a HOME of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMNIPOST_", "XDG_"))}
    env.update(HOME=str(tmp_path / "user"), OMNIPOST_TIMEZONE="Europe/Berlin", **extra)
    return env


def omnipost(
    env: dict[str, str], umask: int, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess:
    """``omnipost ARGS`` in a shell that set ``umask`` first, as a user's shell would."""
    command = " ".join(["exec", sys.executable, "-m", "omnipost_tui", *map(_quote, args)])
    return subprocess.run(
        ["sh", "-c", f"umask {umask:03o}; {command}"],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\\''") + "'"


def doctor_check(env: dict[str, str], umask: int, name: str) -> dict:
    result = omnipost(env, umask, "doctor", "--json")
    assert result.returncode in (0, 1, 2), result.stderr  # an answer (ok, warn, fail), not 3
    return next(c for c in json.loads(result.stdout)["checks"] if c["name"] == name)


def use_the_install(env: dict[str, str], umask: int) -> None:
    """Everything that creates a file: the database, the key, the queue, the log and its lock."""
    steps = [
        (("brand", "add", "Acme"), None),
        (
            (
                *("account", "add", "--brand", "Acme", "--platform", "facebook"),
                *("--external-id", "104200", "--name", "Acme Page", "--token-stdin"),
            ),
            "EAAB-test-token\n",
        ),
        (("post", "add", "--brand", "Acme", "--title", "Hi", "--text", "Hello"), None),
        (("variant", "add", "--post", "1", "--account", "Acme Page", "--at", "+1h"), None),
        (("doctor",), None),  # writes a warning to the log (something needs action)
    ]
    for args, stdin in steps:
        result = omnipost(env, umask, *args, stdin=stdin)
        # doctor: no worker runs here, a failure (2); everything else succeeds.
        assert result.returncode == (2 if args == ("doctor",) else 0), result.stderr
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize("umask", [0o022, 0o000], ids=["umask 022", "umask 000"])
def test_every_file_omnipost_creates_is_private(tmp_path: Path, umask: int):
    home = tmp_path / "a" / "home"
    env = clean_env(tmp_path, OMNIPOST_HOME=str(home))
    use_the_install(env, umask)

    files = {p.relative_to(home).as_posix(): mode(p) for p in home.rglob("*") if p.is_file()}
    dirs = {p.relative_to(home).as_posix(): mode(p) for p in home.rglob("*") if p.is_dir()}
    expected = {"secret.key", "omnipost.db", "queue.db", "logs/omnipost.log"}
    assert expected | {"logs/omnipost.log.lock"} <= set(files), files
    assert files == dict.fromkeys(files, PRIVATE_FILE)
    assert dirs == {"logs": PRIVATE_DIR}
    assert mode(home) == PRIVATE_DIR
    permissions = doctor_check(env, umask, "permissions")
    assert permissions["ok"], permissions


def test_the_log_that_replaces_a_rotated_one_is_private_too(tmp_path: Path):
    path = tmp_path / "omnipost.log"
    old_umask = os.umask(0o000)
    try:
        handler = SharedRotatingFileHandler(path, maxBytes=200, backupCount=2, encoding="utf-8")
        record = logging.LogRecord("omnipost", logging.INFO, __file__, 1, "x" * 150, None, None)
        for _ in range(3):
            handler.emit(record)
        handler.close()
    finally:
        os.umask(old_umask)
    rotated = sorted(p.name for p in tmp_path.iterdir())
    assert rotated == ["omnipost.log", "omnipost.log.1", "omnipost.log.2", "omnipost.log.lock"]
    assert {name: mode(tmp_path / name) for name in rotated} == dict.fromkeys(rotated, PRIVATE_FILE)


def test_a_home_that_existed_as_0755_is_made_private_and_the_log_says_so(tmp_path: Path):
    parent = tmp_path / "srv"
    home = parent / "omnipost"
    home.mkdir(parents=True)
    parent.chmod(0o755)
    home.chmod(0o755)

    result = omnipost(clean_env(tmp_path, OMNIPOST_HOME=str(home)), 0o022, "status")

    assert result.returncode == 0, result.stderr
    assert mode(home) == PRIVATE_DIR
    assert mode(parent) == 0o755, "a directory above the home is the user's, not OmniPost's"
    log = (home / "logs" / "omnipost.log").read_text()
    assert f"made {home} private to its owner (was 0755, now 0700)" in log


def test_the_platform_directories_are_made_private_but_not_their_parents(tmp_path: Path):
    xdg = {name: tmp_path / "user" / name for name in ("data", "config", "state")}
    ours = [xdg["data"] / "omnipost", xdg["config"] / "omnipost", xdg["state"] / "omnipost"]
    for directory in ours:
        directory.mkdir(parents=True)
        directory.chmod(0o755)
    for directory in xdg.values():
        directory.chmod(0o755)
    env = clean_env(
        tmp_path,
        XDG_DATA_HOME=str(xdg["data"]),
        XDG_CONFIG_HOME=str(xdg["config"]),
        XDG_STATE_HOME=str(xdg["state"]),
    )

    use_the_install(env, 0o022)

    log_dir = xdg["state"] / "omnipost" / "log"
    assert {d: mode(d) for d in (*ours[:2], log_dir)} == dict.fromkeys(
        (*ours[:2], log_dir), PRIVATE_DIR
    )
    assert {d: mode(d) for d in xdg.values()} == dict.fromkeys(xdg.values(), 0o755)
    for path in (ours[0] / "omnipost.db", ours[1] / "secret.key", log_dir / "omnipost.log"):
        assert mode(path) == PRIVATE_FILE, path


@pytest.mark.parametrize("kind", ["sticky like /tmp", "the user's home"])
def test_a_shared_directory_used_as_the_home_is_left_as_it_is(tmp_path: Path, kind: str):
    """OMNIPOST_HOME=/tmp or OMNIPOST_HOME=~ would be a mistake, but chmod 700 on either would
    break other things: OmniPost leaves them alone and doctor says where its files belong."""
    env = clean_env(tmp_path)
    if kind == "sticky like /tmp":
        shared, before = tmp_path / "shared", 0o1777
    else:
        shared, before = Path(env["HOME"]), 0o755
    shared.mkdir()
    shared.chmod(before)
    env["OMNIPOST_HOME"] = str(shared)

    result = omnipost(env, 0o022, "status")

    assert result.returncode == 0, result.stderr
    assert mode(shared) == before
    assert mode(shared / "omnipost.db") == PRIVATE_FILE
    # doctor says so, and does not suggest the chmod either.
    permissions = doctor_check(env, 0o022, "permissions")
    assert not permissions["ok"]
    assert f"{shared} ({before:04o})" in permissions["detail"]
    assert permissions["fix"] == (
        f"set OMNIPOST_HOME to a directory of OmniPost's own instead of {shared}"
    )
