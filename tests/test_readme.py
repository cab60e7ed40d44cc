"""The README cannot rot: every ``omnipost`` command, option and config example in it exists.

Every fenced code block (bash/sh/console/crontab and unmarked ones) is read line by line; every
place ``omnipost`` is run (after ``&&``, behind ``sudo``/``ssh``/``tmux``, after a crontab's
schedule, in ``ExecStart=``/``command=`` of the service examples) is resolved against the real
click commands, and each subcommand path is run with ``--help``. TOML blocks must load as a
``config.toml``, the systemd unit and supervisor program must parse and say what the
operations notes promise, and links inside the README must point at a heading.
"""

from __future__ import annotations

import configparser
import contextlib
import importlib
import inspect
import os
import pkgutil
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import httpx
import pytest

from omnipost_tui.cli import cli as omnipost_cli
from omnipost_tui.config import EXTRA_TABLES, OPTIONS, OPTIONS_BY_KEY, load_settings
from omnipost_tui.logs import FIELDS, LogEntry
from tests.conftest import wait_for

README = Path(__file__).resolve().parent.parent / "README.md"
SHELL_LANGS = {"", "bash", "sh", "shell", "console", "shell-session", "crontab", "cron"}
CONFIG_LANGS = {"ini", "systemd", "dosini", "cfg", "conf", "supervisor"}
# Keys of the service examples whose value is a command line.
COMMAND_KEYS = {"ExecStart", "ExecStartPre", "ExecStop", "ExecReload", "command"}
OPERATORS = {"&&", "||", "|", ";", "&", "(", ")", ";;", "|&"}
REDIRECTS = {">", ">>", "<", "<<", ">&", "<&", "&>", "&>>", ">|", "<>"}
ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
CRON_FIELD = re.compile(r"[\d*/,\-]+|[A-Za-z]{3}(?:-[A-Za-z]{3})?")


# --- reading the README ------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    lang: str
    start: int  # line number of the first line inside the fence (1-based)
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def fenced_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    fence: str | None = None
    lang = ""
    start = 0
    body: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if fence is None:
            match = re.match(r"(```+|~~~+)\s*([\w+-]*)", stripped)
            if match:
                fence, lang, start, body = match.group(1), match.group(2).lower(), number + 1, []
        elif stripped.startswith(fence) and not stripped[len(fence) :].strip():
            blocks.append(Block(lang, start, tuple(body)))
            fence = None
        else:
            body.append(line)
    return blocks


def logical_lines(block: Block) -> Iterator[tuple[int, str]]:
    """(README line number, line) with backslash continuations joined."""
    pending: list[str] = []
    first = 0
    for offset, line in enumerate(block.lines):
        if not pending:
            first = block.start + offset
        if line.rstrip().endswith("\\"):
            pending.append(line.rstrip()[:-1])
            continue
        pending.append(line)
        yield first, " ".join(part.strip() for part in pending)
        pending = []
    if pending:
        yield first, " ".join(part.strip() for part in pending)


# --- finding the omnipost invocations in a line --------------------------------------------


@dataclass(frozen=True)
class Wrapper:
    """A command that runs another: its options that take a value, the positional arguments
    before the wrapped command (ssh's host, flock's lock file), and sub-commands (tmux new)."""

    valued: frozenset[str] = frozenset()
    positionals: int = 0
    subcommands: frozenset[str] = frozenset()


def words(text: str) -> frozenset[str]:
    return frozenset(text.split())


WRAPPERS = {
    "sudo": Wrapper(words("-u -g -C -D -h -p -r -t -U -T")),
    "env": Wrapper(words("-u -C -S --unset --chdir")),
    "nohup": Wrapper(),
    "exec": Wrapper(),
    "time": Wrapper(),
    "nice": Wrapper(words("-n")),
    "timeout": Wrapper(words("-s -k --signal --kill-after"), positionals=1),
    "flock": Wrapper(words("-w -E --timeout --conflict-exit-code"), positionals=1),
    "ssh": Wrapper(
        words("-b -c -D -E -e -F -I -i -J -L -l -m -O -o -p -Q -R -S -W -w -B"), positionals=1
    ),
    "tmux": Wrapper(
        words("-s -n -t -c -L -S -f -F -x -y -e"),
        subcommands=words("new new-session new-window neww split-window splitw respawn-pane"),
    ),
}


def shell_tokens(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return list(lexer)


def simple_commands(tokens: list[str]) -> Iterator[list[str]]:
    """Split at ``&&``, ``|``, ``;``…, and drop redirections (``>> file 2>&1``)."""
    current: list[str] = []
    skip_next = False
    for token in tokens:
        if skip_next:
            skip_next = False
        elif token in OPERATORS:
            yield current
            current = []
        elif token in REDIRECTS:
            if current and current[-1].isdigit():
                current.pop()  # the "2" of "2>&1"
            skip_next = True
        else:
            current.append(token)
    yield current


def strip_cron_schedule(tokens: list[str]) -> list[str]:
    if tokens and tokens[0].startswith("@"):
        return tokens[1:]
    if len(tokens) > 5 and all(CRON_FIELD.fullmatch(t) for t in tokens[:5]):
        return tokens[5:]
    return tokens


def invocations_in_line(line: str) -> list[list[str]]:
    """The argument lists of every ``omnipost`` run in a shell line."""
    if line.lstrip().startswith("$ "):
        line = line.lstrip()[2:]  # a console prompt
    found: list[list[str]] = []
    for command in simple_commands(shell_tokens(line)):
        found += invocations_in_command(strip_cron_schedule(command))
    return found


def invocations_in_command(tokens: list[str]) -> list[list[str]]:
    while tokens and ASSIGNMENT.match(tokens[0]):
        tokens = tokens[1:]
    if not tokens:
        return []
    name = tokens[0].rsplit("/", 1)[-1]
    if name == "omnipost":
        return [tokens[1:]]
    if name in ("sh", "bash") and "-c" in tokens[1:-1]:
        return invocations_in_line(tokens[tokens.index("-c") + 1])
    wrapper = WRAPPERS.get(name)
    if wrapper is None:
        return []
    rest = unwrap(wrapper, tokens[1:])
    if len(rest) == 1 and " " in rest[0]:
        return invocations_in_line(rest[0])  # ssh host 'omnipost status'
    return invocations_in_command(rest)


def unwrap(wrapper: Wrapper, tokens: list[str]) -> list[str]:
    positionals = wrapper.positionals
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token in wrapper.subcommands:
            index += 1
        elif token.startswith("-") and token != "-":
            index += 2 if token in wrapper.valued else 1
        elif ASSIGNMENT.match(token) and " " not in token:
            index += 1  # sudo VAR=value / env VAR=value (not ssh's 'VAR=x omnipost')
        elif positionals:
            positionals -= 1
            index += 1
        else:
            break
    return tokens[index:]


@dataclass(frozen=True)
class Invocation:
    line: int
    source: str
    args: tuple[str, ...]


def readme_invocations(text: str) -> list[Invocation]:
    found: list[Invocation] = []
    for block in fenced_blocks(text):
        if block.lang not in SHELL_LANGS | CONFIG_LANGS:
            continue
        for number, line in logical_lines(block):
            key, sep, value = line.partition("=")
            if sep and key.strip() in COMMAND_KEYS:
                shell = value.strip().lstrip("-@:+!")  # systemd's ExecStart prefixes
            elif block.lang in CONFIG_LANGS:
                continue
            else:
                shell = line
            for args in invocations_in_line(shell):
                found.append(Invocation(number, line.strip(), tuple(args)))
    return found


# --- checking an invocation against the real commands --------------------------------------


def option_named(command: click.Command, name: str) -> click.Option | None:
    for param in command.params:
        if isinstance(param, click.Option) and name in (*param.opts, *param.secondary_opts):
            return param
    return None


@dataclass
class Resolved:
    path: list[str]
    options: list[tuple[tuple[str, ...], str]]  # (path of the command it belongs to, option)
    problem: str | None = None


def resolve(args: tuple[str, ...]) -> Resolved:
    """Walk the arguments like click would: the subcommand path and the options used."""
    command: click.Command = omnipost_cli
    found = Resolved(path=[], options=[])
    index = 0
    while index < len(args):
        token = args[index]
        shown = " ".join(["omnipost", *found.path])
        if token == "--":
            break
        if token.startswith("-") and token != "-":
            name, has_value, _ = token.partition("=")
            index += 1
            if name == "--help":
                continue
            option = option_named(command, name)
            if option is None:
                found.problem = f"`{shown}` has no option {name}"
                return found
            found.options.append((tuple(found.path), name))
            if not option.is_flag and not option.count and not has_value:
                index += 1  # its value
            continue
        if isinstance(command, click.Group):
            sub = command.get_command(click.Context(command), token)
            if sub is None:
                found.problem = f"{token!r} is not a command of `{shown}`"
                return found
            command = sub
            found.path.append(token)
        index += 1  # otherwise a positional argument of a leaf command
    return found


def problems_in(text: str, cli_runner) -> list[str]:
    """Every invocation that names a missing command or option, as "README.md line N: …"."""
    problems: list[str] = []
    helps: dict[tuple[str, ...], str | None] = {}

    def help_text(path: tuple[str, ...]) -> str | None:
        if path not in helps:
            result = cli_runner(*path, "--help")
            ok = result.exit_code == 0 and "Usage:" in result.stdout
            helps[path] = result.stdout if ok else None
        return helps[path]

    for inv in readme_invocations(text):
        found = resolve(inv.args)
        where = f"README.md line {inv.line}: `{inv.source}`"
        if found.problem:
            problems.append(f"{where}: {found.problem}")
            continue
        if help_text(tuple(found.path)) is None:
            problems.append(f"{where}: `omnipost {' '.join(found.path)} --help` fails")
            continue
        for path, option in found.options:
            shown = help_text(path) or ""
            if not re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", shown):
                problems.append(f"{where}: {option} is not in `omnipost {' '.join(path)} --help`")
    return problems


@pytest.fixture(scope="module")
def readme() -> str:
    return README.read_text(encoding="utf-8")


def test_every_omnipost_command_in_the_readme_exists(readme: str, cli):
    problems = problems_in(readme, cli)
    assert not problems, "the README runs commands that do not exist:\n" + "\n".join(problems)


def test_the_readme_invocations_are_found(readme: str):
    """The checker above is only as good as what it finds: these must be among it."""
    found = {inv.args for inv in readme_invocations(readme)}
    expected = {
        ("demo",),  # after && in Quick start
        ("worker",),  # ExecStart= and command=
        ("worker", "--once"),  # the crontab line, after the schedule
        (),  # ssh -t server omnipost, and through tmux
        ("logs", "-f"),
        ("logs", "--variant", "12"),
        ("backup",),
        ("db", "upgrade"),
        ("-v", "worker"),
    }
    missing = expected - found
    assert not missing, f"not found in README.md: {sorted(missing)}"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("omnipost status", [["status"]]),
        ("pip install -e . && omnipost --help", [["--help"]]),
        ("omnipost worker &   # publishes; Ctrl-C stops it", [["worker"]]),
        (
            "* * * * * /opt/x/bin/omnipost worker --once >> /var/log/o.log 2>&1",
            [["worker", "--once"]],
        ),
        ("@reboot omnipost worker", [["worker"]]),
        ("ssh -t server omnipost", [[]]),
        ("ssh -t server 'TEXTUAL_COLOR_SYSTEM=standard omnipost'", [[]]),
        ("ssh -t server tmux new -A -s omnipost omnipost", [[]]),
        ("sudo -u alice env OMNIPOST_HOME=/srv omnipost logs -f", [["logs", "-f"]]),
        ("OMNIPOST_LOG_LEVEL=DEBUG omnipost worker 2>/dev/null", [["worker"]]),
        ("omnipost a | omnipost b; omnipost c", [["a"], ["b"], ["c"]]),
        ("cp ~/.config/omnipost/secret.key /mnt/backup/", []),
        ("journalctl -u omnipost-worker -f", []),
        ('sqlite3 ~/.local/share/omnipost/omnipost.db ".backup /x"', []),
        ("# omnipost frobnicate", []),
        ("$ omnipost status", [["status"]]),
    ],
)
def test_the_extractor_finds_omnipost_where_it_runs(line: str, expected: list[list[str]]):
    assert invocations_in_line(line) == expected


def test_a_command_or_option_that_does_not_exist_is_reported_with_its_line(cli):
    text = "\n".join(
        [
            "# Title",
            "```bash",
            "omnipost status",
            "omnipost frobnicate --now",
            "omnipost logs --bogus",
            "```",
            "```ini",
            "[Service]",
            "ExecStart=/opt/omnipost/.venv/bin/omnipost wroker",
            "```",
        ]
    )
    problems = problems_in(text, cli)
    assert len(problems) == 3, problems
    assert problems[0].startswith("README.md line 4: `omnipost frobnicate --now`")
    assert "'frobnicate' is not a command" in problems[0]
    assert problems[1].startswith("README.md line 5:") and "no option --bogus" in problems[1]
    assert problems[2].startswith("README.md line 9:") and "'wroker'" in problems[2]


# --- the commands table --------------------------------------------------------------------


def command_table_cells(text: str) -> Iterator[tuple[int, str]]:
    """(line, code span) of the first column of the "| command | what it does |" table."""
    in_table = False
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(r"\|\s*command\s*\|", line):
            in_table = True
            continue
        if in_table and not line.startswith("|"):
            break
        if in_table and not re.match(r"\|\s*-", line):
            first = line.split(" | ")[0]
            for span in re.findall(r"`([^`]+)`", first):
                yield number, span


def test_every_command_in_the_commands_table_exists(readme: str):
    cells = list(command_table_cells(readme))
    assert len(cells) > 10, "the commands table was not found"
    problems = []
    for number, span in cells:
        words = span.replace("\\|", " ").replace("[", " ").replace("]", " ").split()
        path = [w for w in words if not w.startswith("-")]
        command: click.Command = omnipost_cli
        for word in path:
            if not isinstance(command, click.Group):
                break
            sub = command.get_command(click.Context(command), word)
            if sub is None:
                problems.append(f"README.md line {number}: `{span}`: no command {word!r}")
                break
            command = sub
        for option in (w for w in words if re.match(r"--?[A-Za-z]", w)):
            if option_named(command, option) is None:
                problems.append(f"README.md line {number}: `{span}`: no option {option}")
    assert not problems, "\n".join(problems)


# --- configuration examples ----------------------------------------------------------------


def known_binding_ids() -> set[str]:
    import omnipost_tui.tui as tui

    ids: set[str] = set()
    for module in pkgutil.walk_packages(tui.__path__, "omnipost_tui.tui."):
        loaded = importlib.import_module(module.name)
        for _, cls in inspect.getmembers(loaded, inspect.isclass):
            for binding in getattr(cls, "BINDINGS", ()):
                if getattr(binding, "id", None):
                    ids.add(binding.id)
    return ids


def test_toml_examples_are_valid_config_files(readme: str, tmp_path: Path):
    blocks = [b for b in fenced_blocks(readme) if b.lang == "toml"]
    assert blocks, "no TOML example found"
    bindings = known_binding_ids()
    for index, block in enumerate(blocks):
        where = f"README.md line {block.start}"
        data = tomllib.loads(block.text)
        for key in data:
            assert key in OPTIONS_BY_KEY or key in EXTRA_TABLES, f"{where}: unknown key {key!r}"
        home = tmp_path / f"home-{index}"
        home.mkdir()
        (home / "config.toml").write_text(block.text, encoding="utf-8")
        settings = load_settings({"OMNIPOST_HOME": str(home)})  # raises on a bad value
        for binding in settings.keymap:
            assert binding in bindings, f"{where}: no key binding with id {binding!r}"


def test_every_omnipost_variable_in_the_readme_exists(readme: str):
    known = {option.env_var for option in OPTIONS} | {"OMNIPOST_HOME"}
    named = set(re.findall(r"\bOMNIPOST_[A-Z][A-Z0-9_]*[A-Z0-9]", readme))
    assert named - known == set(), f"README.md names unknown settings: {sorted(named - known)}"


def ini_block(readme: str, marker: str) -> tuple[Block, configparser.ConfigParser]:
    [block] = [b for b in fenced_blocks(readme) if marker in b.text]
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(block.text)
    return block, parser


def seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+)\s*(s|sec|min|m)?", value.strip())
    assert match, f"cannot read {value!r} as a duration"
    return int(match.group(1)) * (60 if match.group(2) in ("min", "m") else 1)


def publish_timeout_default() -> int:
    return OPTIONS_BY_KEY["publish_timeout"].default(None)  # type: ignore[arg-type]


WORKER_UNIT = "Description=OmniPost publishing worker"
# What `systemd-analyze security` scores the README's unit (0 safe … 10 exposed); it was 9.2
# ("UNSAFE") before the sandboxing lines. Lower it when the unit gets safer, never raise it.
WORKER_UNIT_EXPOSURE = 1.1


def test_the_systemd_unit_restarts_on_failure_and_stops_gracefully(readme: str):
    block, unit = ini_block(readme, WORKER_UNIT)
    service = unit["Service"]
    assert "omnipost worker" in service["ExecStart"]
    assert service["ExecStart"].startswith("/"), "systemd needs an absolute ExecStart"
    # The worker treats INT and TERM as "finish what is in flight" (engine/worker.py).
    assert service["KillSignal"] in ("SIGTERM", "SIGINT")
    assert service["Restart"] == "on-failure"
    assert seconds(service["RestartSec"]) > 0
    assert seconds(service["TimeoutStopSec"]) > publish_timeout_default()
    assert service.get("User")
    assert "OMNIPOST_HOME=" in service.get("Environment", "") or service.get("EnvironmentFile")
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    assert f"({publish_timeout_default()} s)" in block.text


def test_the_systemd_unit_gives_up_after_repeated_failures_and_says_so(readme: str):
    _, unit = ini_block(readme, WORKER_UNIT)
    assert int(unit["Unit"]["StartLimitBurst"]) > 1
    assert seconds(unit["Unit"]["StartLimitIntervalSec"]) > seconds(unit["Service"]["RestartSec"])
    template = unit["Unit"]["OnFailure"].split("@")[0] + "@.service"
    assert f"/etc/systemd/system/{template}" in readme, f"the README shows no {template}"
    _, alert_unit = ini_block(readme, "Description=Tell someone that %i failed")
    assert alert_unit["Service"]["Type"] == "oneshot"


def test_the_systemd_unit_can_write_where_the_worker_keeps_its_files(readme: str):
    _, unit = ini_block(readme, WORKER_UNIT)
    service = unit["Service"]
    home = service["Environment"].removeprefix("OMNIPOST_HOME=")
    assert service["ProtectSystem"] == "strict"
    assert home in service["ReadWritePaths"].split(), "OMNIPOST_HOME must stay writable"
    # ProtectHome=yes hides /home: only fine because OMNIPOST_HOME is elsewhere.
    assert not home.startswith(("/home", "/root")) or service["ProtectHome"] != "yes"


def test_the_systemd_unit_is_sandboxed(readme: str, tmp_path: Path):
    systemd_analyze = shutil.which("systemd-analyze")
    if systemd_analyze is None:
        pytest.skip("systemd-analyze is not installed (systemd's tools) to score the unit")
    block, _ = ini_block(readme, WORKER_UNIT)
    unit = tmp_path / "omnipost-worker.service"
    unit.write_text(block.text + "\n")
    done = subprocess.run(
        [systemd_analyze, "security", "--offline=yes", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    score = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout + done.stderr)
    if score is None and "--offline" in done.stderr:
        pytest.skip(f"this systemd-analyze cannot score a unit file offline: {done.stderr}")
    assert score, done.stdout + done.stderr
    assert float(score.group(1)) <= WORKER_UNIT_EXPOSURE, done.stdout


def test_the_supervisor_program_restarts_and_stops_gracefully(readme: str):
    _, config = ini_block(readme, "[program:")
    [section] = [s for s in config.sections() if s.startswith("program:")]
    program = config[section]
    assert "omnipost worker" in program["command"]
    assert program["stopsignal"] in ("TERM", "INT")
    assert program["autorestart"] in ("true", "unexpected")
    assert seconds(program["stopwaitsecs"]) > publish_timeout_default()


def test_the_example_log_line_is_what_the_formatter_writes(readme: str):
    samples = [
        line
        for block in fenced_blocks(readme)
        if block.lang == "text"
        for line in block.lines
        if re.match(r"\d{4}-\d{2}-\d{2}T", line)
    ]
    assert samples, "no example log line found"
    for line in samples:
        entry = LogEntry(line)
        assert entry.level in ("DEBUG", "INFO", "WARNING", "ERROR")
        named = {m.split("=")[0] for m in re.findall(r"\b\w+=\S+", line)}
        assert named == set(entry.fields()), line
        assert named <= set(FIELDS), line


def test_links_inside_the_readme_point_at_a_heading(readme: str):
    def slug(heading: str) -> str:
        text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
        return text.replace(" ", "-")

    anchors = {slug(h) for h in re.findall(r"^#+ (.+)$", readme, flags=re.MULTILINE)}
    links = re.findall(r"\]\(#([^)]+)\)", readme)
    assert links, "no internal links found"
    assert [link for link in links if link not in anchors] == []


# --- the walkthrough and the demo, as a new user meets them ---------------------------------


def section(text: str, heading: str) -> str:
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def step_results(output: str) -> dict[int, tuple[int, str]]:
    """{step: (exit status, what it printed)} from the markers the script echoes."""
    results: dict[int, tuple[int, str]] = {}
    printed: list[str] = []
    for line in output.splitlines():
        marker = re.fullmatch(r"@@@ step (\d+) exit (\d+)", line)
        if marker:
            results[int(marker.group(1))] = (int(marker.group(2)), "\n".join(printed))
            printed = []
        else:
            printed.append(line)
    return results


def gone(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.slow
def test_a_first_post_end_to_end_runs_as_written(readme: str, tmp_path: Path):
    """The section's commands, in order, in one shell, as a new user would paste them: its
    sandbox, a real worker, and the variant published on the sandbox at the end. Only the
    port is swapped for a free one (and HOME is the test's own)."""
    [block, *_] = [
        b for b in fenced_blocks(section(readme, "A first post, end to end")) if b.lang == "bash"
    ]
    port = str(free_port())
    steps = [line.replace("8765", port) for _, line in logical_lines(block)]
    script = "".join(f'{step}\necho "@@@ step {n} exit $?"\n' for n, step in enumerate(steps))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMNIPOST_", "XDG_"))}
    env.update(HOME=str(tmp_path / "user"), PYTHONUNBUFFERED="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    (tmp_path / "user").mkdir()
    output_file = tmp_path / "walkthrough.out"
    with output_file.open("wb") as output:
        shell = subprocess.Popen(
            ["bash", "-c", script],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the sandbox and the worker it starts stay in its group
        )
    group = shell.pid
    try:
        assert shell.wait(timeout=120) == 0
        results = step_results(output_file.read_text(errors="replace"))
        assert sorted(results) == list(range(len(steps))), output_file.read_text()
        by_command = {steps[n]: results[n] for n in results}

        def result(start: str) -> tuple[int, str]:
            [found] = [value for step, value in by_command.items() if step.startswith(start)]
            return found

        for step, (status, printed) in by_command.items():
            # doctor: 1 for its warnings, or 2 while the worker is still starting (below).
            expected = (1, 2) if step.startswith("omnipost doctor") else (0,)
            assert status in expected, f"`{step}` exited {status}:\n{printed}"
            assert "Traceback" not in printed and "error:" not in printed, printed
        # The sandbox prints the settings the section exports, with the same values.
        exported = {
            assignment
            for step in steps
            if step.startswith("export ")
            for assignment in shlex.split(step.split("#", 1)[0])[1:]
        }
        printed_by_sandbox = set(re.findall(r"^export (\S+)$", output_file.read_text(), re.M))
        settings = {a for a in exported if a.split("=", 1)[0] != "OMNIPOST_HOME"}
        assert settings and settings <= printed_by_sandbox, printed_by_sandbox
        assert result("omnipost brand add")[1].strip().endswith("1")
        assert "token valid" in result("omnipost account check")[1]
        doctor_status, doctor_output = result("omnipost doctor")
        doctor_lines = doctor_output.splitlines()
        failing = {line.split()[1] for line in doctor_lines if line.startswith("✗ ")}
        warned = {line.split()[1] for line in doctor_lines if line.startswith("! ")}
        passing = {line.split()[1] for line in doctor_lines if line.startswith("✓ ")}
        # What the README says to expect (worker and sweep may still be starting).
        assert warned == {"alerts", "heartbeat_url"} and failing <= {"worker", "sweep"}, (
            doctor_lines
        )
        assert doctor_status == (2 if failing else 1), doctor_lines
        assert {"config", "database", "queue", "accounts", "tokens", "app_credentials"} <= passing

        def received() -> list[dict]:
            return httpx.get(f"http://127.0.0.1:{port}/_sandbox/posts", timeout=5).json()

        [post] = wait_for(received, timeout=60, what="the variant to reach the sandbox")
        assert (post["account"], post["text"]) == ("100000000000001", "We launch today!")
        exports = "\n".join(step for step in steps if step.startswith("export "))
        shown = subprocess.run(
            ["bash", "-c", f"{exports}\nomnipost variant show 1"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert shown.returncode == 0, shown.stderr
        assert re.search(r"^status +published$", shown.stdout, re.M), shown.stdout
        assert post["external_post_id"] in shown.stdout
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)  # the worker finishes, the sandbox stops
        wait_for(lambda: gone(group), timeout=30, what="the sandbox and the worker to stop")


def test_the_readme_counts_the_demo_as_it_is(readme: str, ctx):
    from omnipost_tui.demo.data import LIVE, seed_demo
    from omnipost_tui.services.accounts import list_accounts
    from omnipost_tui.services.brands import list_brands

    numbers = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
    demo = section(readme, "See it work: `omnipost demo`")
    brands, accounts = re.search(r"(\w+) brands, (\w+) accounts", demo).groups()
    live = re.search(r"you watch (\w+) variants go out live", demo).group(1)

    seed_demo(ctx, live=True)  # what `omnipost demo` puts in its home

    assert numbers[brands] == len(list_brands(ctx))
    assert numbers[accounts] == len(list_accounts(ctx))
    within_half_a_minute = [key for key, _, _, seconds in LIVE if seconds <= 30]
    assert numbers[live] == len(within_half_a_minute)
