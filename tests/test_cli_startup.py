"""`omnipost --help` and TAB completion answer without loading the database layer.

Each top-level command's module is imported only when that command runs (cli/__init__.py,
COMMANDS), and the modules the commands share keep SQLAlchemy, the models, huey and alembic for
the moment a command opens the database. What a user notices is the time (measured in
tests/benchmarks/cli_startup.py); what can be checked without a stopwatch is that the heavy
modules were never imported, in a fresh interpreter each time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import partial
from pathlib import Path

import click
import pytest

from omnipost_tui.cli import COMMANDS, cli

HEAVY = ("sqlalchemy", "alembic", "huey", "httpx", "cryptography", "textual", "omnipost_tui.models")

PROBE = """
import json, sys
from omnipost_tui.cli import main
try:
    main()
except SystemExit:
    pass
sys.stdout.flush()
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)), file=sys.stderr)
"""


def loaded_after(args: list[str], env: dict[str, str], home: Path) -> tuple[str, list[str]]:
    """Run the CLI with ``args`` in a fresh interpreter; its output, and the heavy modules
    that were imported by the end."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "OMNIPOST_HOME": str(home), **env},
        timeout=60,
    )
    return result.stdout, json.loads(result.stderr.strip().splitlines()[-1])


def test_help_lists_every_command_without_loading_the_database_layer(home: Path):
    shown, loaded = loaded_after(["--help"], {}, home)
    assert loaded == []
    for name in COMMANDS:
        assert f"  {name} " in shown


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("omnipost vari", "variant"),
        ("omnipost variant ", "check"),
        ("omnipost variant add --", "--account"),
        ("omnipost account connect --", "--listen"),
        ("omnipost doctor --", "--json"),
    ],
)
def test_tab_completion_answers_without_loading_the_database_layer(home, words, expected):
    env = {
        "_OMNIPOST_COMPLETE": "bash_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
    }
    shown, loaded = loaded_after([], env, home)
    assert f"plain,{expected}" in shown.splitlines()
    assert loaded == []


def test_every_summary_in_the_help_is_the_commands_own_first_sentence():
    # `omnipost --help` prints COMMANDS' summaries so that it need not import every command;
    # they must say what the commands themselves say.
    ctx = click.Context(cli)
    for name, entry in COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None, name
        assert command.get_short_help_str(10**6) == entry.summary, name


def test_an_unknown_command_is_one_line_with_the_nearest_names(home: Path):
    result = subprocess.run(
        [sys.executable, "-m", "omnipost_tui", "variants"],
        capture_output=True,
        text=True,
        env={**os.environ, "OMNIPOST_HOME": str(home)},
        timeout=60,
    )
    assert result.returncode == 2
    # Resolved lazily, an unknown name is still click's one line, not an import error.
    assert result.stderr.strip().splitlines() == [
        "error: no such command 'variants' (see omnipost --help)"
    ]


# What a command that puts one message in a SQLite queue never needs: the clients of the
# queues and platforms it does not talk to (0.3 s of imports together).
UNUSED_CLIENTS = ("redis", "psycopg", "httpx")

LOADED = """
import json, sys
from omnipost_tui.cli import main
try:
    main()
except SystemExit as exit:
    code = exit.code
print(json.dumps([code, sorted(m for m in {names!r} if sys.modules.get(m) is not None)]),
      file=sys.stderr)
"""


def test_status_and_scheduling_a_variant_do_not_load_clients_they_do_not_use(home: Path):
    env = {**os.environ, "OMNIPOST_HOME": str(home), "OMNIPOST_TIMEZONE": "UTC"}
    run = partial(subprocess.run, capture_output=True, text=True, env=env, timeout=60)
    omnipost = [sys.executable, "-m", "omnipost_tui"]
    run([*omnipost, "brand", "add", "Acme"], check=True)
    run([*omnipost, "post", "add", "--brand", "Acme", "--title", "T", "--text", "Hi"], check=True)
    account = ["--platform", "facebook", "--external-id", "1001", "--name", "Acme Page"]
    add_account = [*omnipost, "account", "add", "--brand", "Acme", *account, "--token-stdin"]
    run(add_account, input="token-for-the-test", check=True)
    probe = [sys.executable, "-c", LOADED.format(names=UNUSED_CLIENTS)]

    for args in (["status"], ["variant", "add", "--post", "1", "--account", "1", "--at", "+1d"]):
        result = run([*probe, *args])
        code, loaded = json.loads(result.stderr.strip().splitlines()[-1])
        assert code in (0, None), result.stderr
        assert loaded == [], args
    # The variant was really scheduled (the sweep sends it when it falls due).
    shown = run([*omnipost, "status", "--json"], check=True).stdout
    assert json.loads(shown)["counts"]["scheduled"] == 1


REDIS_AFTER_SQLITE = """
import sys
from omnipost_tui.engine.queue import Queue
assert sys.modules.get("redis") is None  # huey came without it
Queue("sqlite:///" + sys.argv[1], "first", None).enqueue_publish(1)
queue = Queue(sys.argv[2], sys.argv[3], None)
queue.ping()
queue.enqueue_publish(7)
print(queue.counts())
"""


def test_a_process_that_loaded_huey_without_redis_still_uses_a_redis_queue(
    tmp_path: Path, redis_queue: str
):
    from tests.conftest import REDIS_URL

    result = subprocess.run(
        [sys.executable, "-c", REDIS_AFTER_SQLITE, str(tmp_path / "q.db"), REDIS_URL, redis_queue],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(1, 0)"  # one message pending on Redis


GARBAGE_COLLECTION = """
import atexit, gc, json, sys, time
from omnipost_tui.cli import main
# Registered first, so it runs last: after the command's own exit handlers.
atexit.register(lambda: print(json.dumps({"frozen at exit": gc.get_freeze_count() > 0})))
try:
    main()
except SystemExit:
    pass
paused = not gc.isenabled()
deadline = time.monotonic() + 30
while not gc.isenabled() and time.monotonic() < deadline:  # the rest of a long command
    time.sleep(0.05)
print(json.dumps([paused, gc.isenabled()]))
"""


def test_start_up_pauses_garbage_collection_a_long_command_gets_it_back_and_exit_skips_it(
    home: Path,
):
    # Start-up runs without the collector (cli.main; 40 ms of each command); the app and the
    # worker run for hours and must collect as usual.
    result = subprocess.run(
        [sys.executable, "-c", GARBAGE_COLLECTION, "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "OMNIPOST_HOME": str(home)},
        timeout=60,
    )
    resumed, at_exit = result.stdout.strip().splitlines()[-2:]
    assert json.loads(resumed) == [True, True]
    # The last collection, on the way out, passes over none of it (cli.main: 65 ms).
    assert json.loads(at_exit) == {"frozen at exit": True}
