"""What every command shares: the per-invocation ``App``, the group that turns errors into one
line and an exit status, ``--json``, and reading stdin.

Errors a user can cause print ``error: <message>`` on stderr and exit 2; anything unexpected is
logged with its traceback and reported as one line pointing at the log, exit 1. A
``MonitoringCommand`` (doctor), whose 0/1/2 are answers, exits 3 for both instead.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import TYPE_CHECKING, Any, Concatenate, NoReturn, ParamSpec, TypeVar

import click

from omnipost_tui import clock
from omnipost_tui.config import Settings, load_settings
from omnipost_tui.errors import OmniPostError, ValidationError
from omnipost_tui.ids import MAX_ID, is_whole_number
from omnipost_tui.text import visible_line
from omnipost_tui.times import format_local, iso_local, parse_when

if TYPE_CHECKING:
    # The database layer (SQLAlchemy, the models) is imported by the first command that opens
    # it, not by `omnipost --help` or a TAB completion.
    from omnipost_tui.services.context import Context

log = logging.getLogger("omnipost.cli")

_P = ParamSpec("_P")
_R = TypeVar("_R")
_Command = TypeVar("_Command", bound=Callable[..., Any])

OK = 0
USER_ERROR = 2
UNEXPECTED = 1
# `account watch-expiry`: something needs action.
NEEDS_ACTION = 1
# Nagios plugin convention (doctor): 0 ok, 1 warning, 2 critical, 3 unknown.
CHECK_OK = 0
CHECK_WARN = 1
CHECK_FAIL = 2
CHECK_UNKNOWN = 3


class MonitoringCommand(click.Command):
    """A command whose exit status is its answer, for a monitor to page on (doctor: 0, 1, 2).

    Anything that is not an answer (a bad option, an error it could not report as a check, a
    crash) still prints its one line but exits CHECK_UNKNOWN: otherwise a usage error (2
    elsewhere) would read as "fail" and a crash (1) as "warn".
    """

    error_exit_code = CHECK_UNKNOWN


class App:
    """Per-invocation state: settings and the service context, opened on first use."""

    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose
        self._settings: Settings | None = None
        self._ctx: Context | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    @property
    def ctx(self) -> Context:
        if self._ctx is None:
            from omnipost_tui.engine.queue import open_queue
            from omnipost_tui.services.context import open_context

            self._ctx = open_context(self.settings, open_queue=open_queue)
        return self._ctx

    def now(self) -> datetime:
        return clock.now()

    def when(self, text: str) -> datetime:
        return parse_when(text, self.settings.tz, self.now())

    def show(self, value: datetime | None) -> str:
        return format_local(value, self.settings.tz)

    def iso(self, value: datetime | None) -> str | None:
        return iso_local(value, self.settings.tz)

    def close(self) -> None:
        if self._ctx is not None:
            self._ctx.close()


PROG = "omnipost"


class OmniPostGroup(click.Group):
    """Turns errors into one line and an exit status; never a traceback.

    Bad input looks the same whoever finds it: our services or click's own parsing (an
    unknown option, a value out of range, a missing argument) all print one ``error: …``
    line and exit 2.
    """

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        # The top level's own options and arguments are parsed here, before invoke.
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            _usage_error(exc)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OmniPostError as exc:
            click.echo(f"error: {visible_line(exc.message)}", err=True)
            ctx.exit(self._error_exit_code(ctx) or exc.exit_code)
        except click.UsageError as exc:
            _usage_error(exc, self._error_exit_code(ctx))
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except BrokenPipeError:
            # `omnipost … | head`: the reader has what it wanted. Point stdout at /dev/null so
            # the interpreter's final flush does not complain either.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(0)
        except Exception:
            log.exception("unexpected error in %s", " ".join(sys.argv[1:]) or "omnipost")
            app: App | None = ctx.find_object(App)
            where = _log_location(app)
            click.echo(f"error: something went wrong; see the log at {where}", err=True)
            ctx.exit(self._error_exit_code(ctx) or UNEXPECTED)

    def _error_exit_code(self, ctx: click.Context) -> int | None:
        """The exit status the running subcommand wants for errors, if it is particular."""
        name = ctx.invoked_subcommand
        command = self.get_command(ctx, name) if name else None
        return command.error_exit_code if isinstance(command, MonitoringCommand) else None


def _usage_error(exc: click.UsageError, exit_code: int | None = None) -> NoReturn:
    """Print click's complaint as our one line, with where to read about the command."""
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):
        raise exc  # `omnipost variant` alone: the group's help is the answer
    message = " ".join(exc.format_message().split()).removesuffix(".")
    # "No such option '--limt'. (Did you mean one of: …?)" → "…; did you mean one of: …?"
    message = re.sub(r"\. \(?Did you mean (.*?)\)?$", r"; did you mean \1", message)
    if message[:1].isupper() and not message[1:2].isupper():
        message = message[0].lower() + message[1:]
    where = [PROG]
    if exc.ctx is not None:
        # The root's own name is however we were started (python -m, a test runner): say ours.
        where += [c.info_name or "" for c in _context_chain(exc.ctx)][1:]
    click.echo(f"error: {visible_line(message)} (see {' '.join(where)} --help)", err=True)
    raise click.exceptions.Exit(exit_code or exc.exit_code)


def _context_chain(ctx: click.Context) -> list[click.Context]:
    chain = [ctx]
    while chain[0].parent is not None:
        chain.insert(0, chain[0].parent)
    return chain


def _log_location(app: App | None) -> str:
    try:
        return str((app.settings if app else load_settings()).paths.log_file)
    except OmniPostError:
        return "the omnipost log directory"


class WholeNumber(click.IntRange):
    """An integer option or argument, read the way ids are (``omnipost_tui.ids``): ASCII
    digits only, from ``min`` to ``max`` (at most MAX_ID: no row has a larger id, and the
    database driver cannot even look one up)."""

    def __init__(self, min: int = 1, max: int = MAX_ID) -> None:
        super().__init__(min, max)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int):  # a default or a flag value, as written in the code
            return super().convert(value, param, ctx)
        text = str(value)
        if not is_whole_number(text):
            self.fail(f"{text!r} is not a whole number (digits only)", param, ctx)
        if self.max == MAX_ID and int(text) > MAX_ID:
            self.fail(f"{text} is larger than any id (at most {MAX_ID})", param, ctx)
        return super().convert(int(text), param, ctx)

    def _describe_range(self) -> str:
        # "[x>=1]" in the help, not the 19 digits of MAX_ID.
        return f"x>={self.min}" if self.max == MAX_ID else super()._describe_range()


# More rows (or log entries, or images of a post) than any list here shows: --limit is left
# out for all of them.
MOST_ROWS = 1_000_000
# A row id (``--post``).
ID = WholeNumber(1, MAX_ID)
LIMIT = WholeNumber(1, MOST_ROWS)
# An image's place in its post (``post image move 1 2``).
POSITION = WholeNumber(1, MOST_ROWS)


def json_option(func: _Command) -> _Command:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)


def pass_app(func: Callable[Concatenate[App, _P], _R]) -> Callable[_P, _R]:
    @click.pass_obj
    @wraps(func)
    def wrapper(app: App, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        return func(app, *args, **kwargs)

    return wrapper


# The most a text or a token read from stdin or a file may hold, in bytes: more is refused,
# never cut (``< /dev/zero`` must not fill the memory). Facebook's limit of 63,206 characters
# is at most 253 kB of UTF-8; a token is a few hundred bytes, at most a few kB.
MAX_TEXT_INPUT_BYTES = 1024 * 1024
MAX_TOKEN_INPUT_BYTES = 64 * 1024


def text_arg(text: str) -> str:
    """``-`` reads stdin; the newline that ends every piped file is not part of the post."""
    return read_stdin("text", MAX_TEXT_INPUT_BYTES).rstrip("\r\n") if text == "-" else text


def read_stdin(what: str, limit: int) -> str:
    """All of stdin as UTF-8 text, whatever the locale says; other bytes are refused, and so
    is more than ``limit`` bytes."""
    data = sys.stdin.buffer.read(limit + 1)
    if len(data) > limit:
        raise ValidationError(
            f"the {what} on stdin is longer than {limit:,} bytes; nothing was stored"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"the {what} on stdin is not valid UTF-8 (byte 0x{data[exc.start]:02X} at offset "
            f"{exc.start}); save it as UTF-8 and try again"
        ) from None
