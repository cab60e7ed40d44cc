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
