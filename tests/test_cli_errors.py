"""Bad input to ``omnipost``: one ``error: …`` line, exit 2, no traceback, nothing written.

Every test here checks the whole contract: the exit status, that stderr is a single ``error:``
line (click's own usage errors too), that stdout is empty, and that the rows of
the database and of the queue file are exactly what they were before the command ran.
"""

from __future__ import annotations

import os
import random
import socket
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import Result

from omnipost_tui import clock
from omnipost_tui.config import load_settings
from omnipost_tui.engine import queue as queue_module
from omnipost_tui.engine.queue import open_queue
from omnipost_tui.errors import QueueUnavailable
from omnipost_tui.services.accounts import add_account, mark_account_expired
from omnipost_tui.services.brands import add_brand
from omnipost_tui.services.context import open_context
from omnipost_tui.services.variants import add_variant
from tests.conftest import World, make_world, omnipost_command

# --- the contract -------------------------------------------------------------------------------


def assert_user_error(result: Result, *needles: str) -> str:
    """Exit 2, one ``error: …`` line on stderr mentioning every needle, nothing on stdout."""
    assert result.exit_code == 2, f"exit {result.exit_code}: {result.output}"
    assert "Traceback" not in result.output
    assert result.stdout == "", f"stdout should be empty, got {result.stdout!r}"
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {result.stderr!r}"
    line = lines[0]
    assert line.startswith("error: "), line
    assert "something went wrong" not in line, line
    for needle in needles:
        assert needle.lower() in line.lower(), f"{needle!r} not in {line!r}"
    return line


def stored_rows(home: Path) -> dict[str, list[str]]:
    """Every row of the database and of the SQLite queue file, read without writing."""
    rows: dict[str, list[str]] = {}
    for name in ("omnipost.db", "queue.db"):
        path = home / name
        if path.is_file() and path.stat().st_size:
            with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
                rows[name] = [line for line in con.iterdump() if line.startswith("INSERT")]
    return rows


Refuse = Callable[..., str]


@pytest.fixture
def refuse(cli, home: Path) -> Refuse:
    """Run a command that must be refused; returns its error line."""

    def run(*args: str, input: str | None = None, expect: tuple[str, ...] = ()) -> str:
        before = stored_rows(home)
        result = cli(*args, input=input)
        line = assert_user_error(result, *expect)
        assert stored_rows(home) == before, f"refused `{' '.join(args)}` changed stored data"
        return line

    return run


# --- a populated home ---------------------------------------------------------------------------

# Ids in the seeded database (a fresh SQLite file numbers rows from 1).
ACME, OTHER = "1", "2"
FB, LI, OTHER_PAGE = "1", "2", "3"
POST = "1"
SCHEDULED, DRAFT = "1", "2"


@pytest.fixture
def seeded(home: Path) -> World:
    """Brand Acme (Facebook page, LinkedIn org, a post, a scheduled and a draft variant) and
    brand Other with its own page, written through the services into the CLI's OMNIPOST_HOME."""
    ctx = open_context(load_settings(), open_queue=open_queue)
    try:
        world = make_world(ctx)
        other = add_brand(ctx, "Other")
        other_page = add_account(
            ctx,
            brand=other.id,
            platform="facebook",
            external_id="104300",
            name="Other Page",
            access_token="EAAB-other-page-token",
        )
        scheduled = add_variant(
            ctx,
            post=world.post_id,
            account=world.facebook_id,
            at=clock.now() + timedelta(hours=1),
        )
        draft = add_variant(ctx, post=world.post_id, account=world.linkedin_id, draft=True)
    finally:
        ctx.close()
    assert (str(world.brand_id), str(other.id)) == (ACME, OTHER)
    assert (str(world.facebook_id), str(world.linkedin_id), str(other_page.id)) == (
        FB,
        LI,
        OTHER_PAGE,
    )
    assert (str(scheduled.id), str(draft.id)) == (SCHEDULED, DRAFT)
    return world


def schedule_args(*extra: str, account: str = "Acme Page", at: str = "+1h") -> tuple[str, ...]:
    return ("variant", "add", "--post", POST, "--account", account, "--at", at, *extra)


# --- unknown things -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("variant", "show", "999"), "no variant 999"),
        (("variant", "edit", "999", "--text", "x"), "no variant 999"),
        (("variant", "reschedule", "999", "+2h"), "no variant 999"),
        (("variant", "unschedule", "999"), "no variant 999"),
        (("variant", "mark-published", "999"), "no variant 999"),
        (("publish", "999"), "no variant 999"),
        (("retry", "999"), "no variant 999"),
        (("retry", "1", "999"), "no variant 999"),
        (("attempts", "--variant", "999"), "no variant 999"),
        (("post", "edit", "999", "--title", "x"), "no post 999"),
        (("variant", "add", "--post", "999", "--account", "Acme Page", "--at", "+1h"), "no post"),
        (("account", "remove", "999"), "no account '999'"),
        (("variant", "list", "--account", "999"), "no account '999'"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else None,
)
def test_unknown_id(refuse: Refuse, seeded: World, args: tuple[str, ...], message: str) -> None:
    refuse(*args, expect=(message,))


# One past the largest id SQLite (and PostgreSQL's BIGINT) can hold, and far beyond it: such
# a number used to reach the driver ("Python int too large to convert to SQLite INTEGER").
PAST_MAX_ID = [str(2**63), "99999999999999999999999999"]


@pytest.mark.parametrize("huge", PAST_MAX_ID)
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("variant", "show", "{}"), "no variant {}"),
        (("variant", "edit", "{}", "--text", "x"), "no variant {}"),
        (("variant", "reschedule", "{}", "+2h"), "no variant {}"),
        (("variant", "check", "{}"), "no variant {}"),
        (("publish", "{}"), "no variant {}"),
        (("retry", "{}"), "no variant {}"),
        (("attempts", "--variant", "{}"), "no variant {}"),
        (("logs", "--variant", "{}"), "no variant {}"),
        (("post", "edit", "{}", "--title", "x"), "no post {}"),
        (("post", "image", "list", "{}"), "no post {}"),
        (("variant", "add", "--post", "{}", "--account", "Acme Page", "--at", "+1h"), "no post {}"),
        (("variant", "add", "--post", POST, "--account", "{}", "--at", "+1h"), "no account '{}'"),
        (("account", "remove", "{}"), "no account '{}'"),
        (("account", "check", "{}"), "no account '{}'"),
        (("variant", "list", "--account", "{}"), "no account '{}'"),
        (("variant", "list", "--brand", "{}"), "no brand '{}'"),
        (("post", "add", "--brand", "{}", "--title", "t", "--text", "x"), "no brand '{}'"),
        (("variant", "list", "--post", "{}"), "'--post': {} is larger than any id"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else None,
)
def test_id_larger_than_any_row_can_have(
    refuse: Refuse, seeded: World, args: tuple[str, ...], message: str, huge: str
) -> None:
    refuse(*(arg.format(huge) for arg in args), expect=(message.format(huge),))


@pytest.mark.parametrize("number", ["1_0", "+1", " 1", "1.0", "٣"])
@pytest.mark.parametrize(
    ("args", "where"),
    [
        (("variant", "list", "--post", "{}"), "'--post'"),
        (("variant", "list", "--limit", "{}"), "'--limit'"),
        (("attempts", "--limit", "{}"), "'--limit'"),
        (("logs", "-n", "{}"), "'--lines'"),
        (("post", "image", "remove", POST, "{}"), "'NUMBER'"),
        (("post", "image", "move", POST, "1", "{}"), "'TO'"),
        (("worker", "--workers", "{}"), "'--workers'"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else None,
)
def test_integer_options_take_digits_only_like_ids(
    refuse: Refuse, seeded: World, args: tuple[str, ...], where: str, number: str
) -> None:
    """click's INT reads "1_0" as 10 and "+1" as 1 where an id argument refuses them: every
    whole number a command takes is read one way."""
    refuse(*(arg.format(number) for arg in args), expect=(where, "not a whole number"))


def test_limit_beyond_any_list_is_refused(refuse: Refuse, seeded: World) -> None:
    refuse("variant", "list", "--limit", str(2**64), expect=("'--limit'", "1<=x<=1000000"))
    refuse("attempts", "--limit", "1000001", expect=("'--limit'", "1<=x<=1000000"))


def test_unknown_account_id_on_reconnect(refuse: Refuse, seeded: World) -> None:
    refuse("account", "reconnect", "999", "--token-stdin", input="tok", expect=("no account",))


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        (("post", "add", "--brand", "Nope", "--title", "t", "--text", "hi"), None),
        (("account", "add", "--platform", "facebook", "--external-id", "1", "--name", "P",
          "--brand", "Nope", "--token-stdin"), "EAAB-token"),
        (("account", "list", "--brand", "Nope"), None),
        (("post", "list", "--brand", "Nope"), None),
        (("variant", "list", "--brand", "Nope"), None),
    ],
    ids=["post add", "account add", "account list", "post list", "variant list"],
)  # fmt: skip
def test_unknown_brand_name(
    refuse: Refuse, seeded: World, args: tuple[str, ...], stdin: str | None
) -> None:
    refuse(*args, input=stdin, expect=("no brand 'Nope'",))


@pytest.mark.parametrize(
    "args",
    [
        schedule_args(account="Nope"),
        ("variant", "list", "--account", "Nope"),
        ("variant", "edit", SCHEDULED, "--account", "Nope"),
        ("account", "remove", "Nope"),
    ],
    ids=["variant add", "variant list", "variant edit", "account remove"],
)
def test_unknown_account_name(refuse: Refuse, seeded: World, args: tuple[str, ...]) -> None:
    refuse(*args, expect=("no account 'Nope'",))


def test_account_name_shared_by_two_accounts_asks_for_the_id(
    cli, refuse: Refuse, seeded: World
) -> None:
    added = cli(
        "account", "add", "--brand", "Acme", "--platform", "facebook",
        "--external-id", "104999", "--name", "Acme Page", "--token-stdin",
        input="EAAB-second",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    refuse(*schedule_args(), expect=("several accounts are named 'Acme Page'", "use the id"))


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (("variant", "show", "abc"), "variant"),
        (("variant", "reschedule", "abc", "+1h"), "variant"),
        (("variant", "unschedule", "1.5"), "variant"),
        (("variant", "mark-published", "0"), "variant"),
        (("publish", "abc"), "variant"),
        (("retry", "abc"), "variant"),
        (("attempts", "--variant", "abc"), "variant"),
        (("post", "edit", "abc", "--title", "x"), "post"),
        (("variant", "add", "--post", "abc", "--account", "Acme Page", "--at", "+1h"), "post"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else None,
)
def test_non_numeric_id(refuse: Refuse, seeded: World, args: tuple[str, ...], what: str) -> None:
    refuse(*args, expect=(f"{what} id must be",))


@pytest.mark.parametrize("args", [("retry", "all", SCHEDULED), ("retry", SCHEDULED, "all")])
def test_retry_all_and_ids_together(refuse: Refuse, seeded: World, args: tuple[str, ...]) -> None:
    refuse(*args, expect=("either `all` or variant ids",))


# --- what a variant is published through ----------------------------------------------------------


def test_account_of_another_brand(refuse: Refuse, seeded: World) -> None:
    refuse(*schedule_args(account="Other Page"), expect=("belongs to brand 'Other'",))
    refuse(*schedule_args(account=OTHER_PAGE), expect=("belongs to brand 'Other'",))
    refuse("variant", "edit", SCHEDULED, "--account", "Other Page", expect=("another brand",))


def test_account_of_another_platform(refuse: Refuse, seeded: World) -> None:
    refuse(
        *schedule_args("--platform", "linkedin"),
        expect=("is a facebook account, not linkedin",),
    )
    refuse(
        *schedule_args("--platform", "facebook", account="Acme LinkedIn"),
        expect=("is a linkedin account, not facebook",),
    )


def test_expired_account_cannot_be_scheduled_on(refuse: Refuse, seeded: World) -> None:
    ctx = open_context(load_settings(), open_queue=open_queue)
    try:
        assert mark_account_expired(ctx, seeded.facebook_id)
    finally:
        ctx.close()
    refuse(*schedule_args(), expect=("is expired", f"omnipost account reconnect {FB}"))
    refuse("publish", SCHEDULED, expect=("is expired",))


def test_removed_account_cannot_be_scheduled_on(cli, refuse: Refuse, seeded: World) -> None:
    removed = cli("account", "remove", "Acme LinkedIn")
    assert removed.exit_code == 0, removed.output
    refuse(*schedule_args(account="Acme LinkedIn"), expect=("was removed",))
    refuse("account", "remove", "Acme LinkedIn", expect=("already removed",))


def test_account_with_scheduled_variants_is_not_removed(refuse: Refuse, seeded: World) -> None:
    refuse("account", "remove", "Acme Page", expect=(f"({SCHEDULED})", "--unschedule"))


# --- texts and links ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("post", "add", "--brand", "Acme", "--title", "t", "--text", ""), None, "text"),
        (("post", "add", "--brand", "Acme", "--title", "t", "--text", " \n\t "), None, "text"),
        (("post", "add", "--brand", "Acme", "--title", "t", "--text", "-"), "", "text"),
        (("post", "add", "--brand", "Acme", "--title", "", "--text", "hi"), None, "title"),
        (("post", "edit", POST, "--text", "   "), None, "text"),
        (("post", "edit", POST, "--title", ""), None, "title"),
        (("brand", "add", ""), None, "brand name"),
    ],
    ids=["empty", "blank", "empty stdin", "empty title", "edit blank", "edit title", "brand"],
)
def test_empty_text(
    refuse: Refuse, seeded: World, args: tuple[str, ...], stdin: str | None, message: str
) -> None:
    refuse(*args, input=stdin, expect=(message, "must not be empty"))


@pytest.mark.parametrize(
    ("account", "limit", "label"),
    [("Acme Page", 63_206, "Facebook allows 63,206"), ("Acme LinkedIn", 3_000, "LinkedIn allows")],
)
def test_custom_text_over_the_platform_limit(
    refuse: Refuse, seeded: World, account: str, limit: int, label: str
) -> None:
    too_long = "x" * (limit + 1)
    refuse(*schedule_args("--text", too_long, account=account), expect=(label, "1 too many"))
    refuse(*schedule_args("--text", "-", account=account), input=too_long, expect=(label,))


def test_post_text_over_the_linkedin_limit(cli, refuse: Refuse, seeded: World) -> None:
    long_text = "y" * 3_001
    added = cli("post", "add", "--brand", "Acme", "--title", "Long", "--text", long_text)
    assert added.exit_code == 0, added.output  # fine for Facebook…
    long_post = added.stdout.strip()
    refuse(
        "variant", "add", "--post", long_post, "--account", "Acme LinkedIn", "--at", "+1h",
        expect=("cannot schedule", "3,001 characters", "LinkedIn allows 3,000"),
    )  # fmt: skip
    ok = cli("variant", "add", "--post", long_post, "--account", "Acme Page", "--at", "+1h")
    assert ok.exit_code == 0, ok.output  # … and fits Facebook


def test_edits_that_push_a_scheduled_variant_over_the_limit(
    cli, refuse: Refuse, seeded: World
) -> None:
    scheduled = cli(*schedule_args(account="Acme LinkedIn"))
    assert scheduled.exit_code == 0, scheduled.output
    variant = scheduled.stdout.strip()
    refuse("post", "edit", POST, "--text", "z" * 3_001, expect=(f"variant {variant}", "3,000"))
    refuse("variant", "edit", variant, "--text", "z" * 3_001, expect=("LinkedIn allows 3,000",))


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("post", "add", "--brand", "Acme", "--title", "Bell", "--text", "ring\abell"), None,
         "error: the post text contains a control character (U+0007 BEL) at line 1, column 5; "
         "remove it"),
        (("post", "add", "--brand", "Acme", "--title", "Nul", "--text", "-"), "line 1\nnul\x00",
         "error: the post text contains a control character (U+0000 NUL) at line 2, column 4; "
         "remove it"),
        (("post", "add", "--brand", "Acme", "--title", "Two\nlines", "--text", "x"), None,
         "error: the post title contains a line break at column 4; it must be a single line"),
        (("post", "edit", POST, "--text", "\x1b]0;owned\x07"), None,
         "error: the post text contains a control character (U+001B ESC) at line 1, column 1; "
         "remove it"),
        (schedule_args("--text", "carriage\x0bvertical"), None,
         "error: the variant text contains a control character (U+000B VT) at line 1, "
         "column 9; remove it"),
        (("variant", "edit", DRAFT, "--text", "del\x7f"), None,
         "error: the variant text contains a control character (U+007F DEL) at line 1, "
         "column 4; remove it"),
        (("brand", "add", "Bell\aCorp"), None,
         "error: the brand name contains a control character (U+0007 BEL) at column 5; "
         "remove it"),
    ],
    ids=["post text", "post text on stdin", "post title", "post edit", "variant text",
         "variant edit", "brand name"],
)  # fmt: skip
def test_text_with_control_characters(
    refuse: Refuse, seeded: World, args: tuple[str, ...], stdin: str | None, message: str
) -> None:
    assert refuse(*args, input=stdin) == message


@pytest.mark.parametrize(
    "args",
    [
        ("post", "add", "--brand", "Acme", "--title", "Bad bytes", "--text", "-"),
        ("post", "edit", POST, "--text", "-"),
        schedule_args("--text", "-"),
    ],
    ids=["post add", "post edit", "variant add"],
)
def test_stdin_that_is_not_utf8(refuse: Refuse, seeded: World, args: tuple[str, ...]) -> None:
    line = refuse(*args, input=b"bad \xff\xfe")  # type: ignore[arg-type]
    assert line == (
        "error: the text on stdin is not valid UTF-8 (byte 0xFF at offset 4); save it as UTF-8 "
        "and try again"
    )


@pytest.mark.parametrize(
    ("args", "limit"),
    [
        (("post", "add", "--brand", "Acme", "--title", "Long", "--text", "-"), "1,048,576"),
        (("post", "edit", POST, "--text", "-"), "1,048,576"),
        (schedule_args("--text", "-"), "1,048,576"),
        (("account", "add", "--brand", "Acme", "--platform", "facebook", "--external-id",
          "104999", "--name", "P", "--token-stdin"), "65,536"),
        (("account", "reconnect", FB, "--token-stdin"), "65,536"),
    ],
    ids=["post add", "post edit", "variant add", "account add", "account reconnect"],
)  # fmt: skip
def test_stdin_over_the_limit_is_refused_not_cut(
    refuse: Refuse, seeded: World, args: tuple[str, ...], limit: str
) -> None:
    size = int(limit.replace(",", ""))
    refuse(*args, input="x" * size + "y", expect=(f"on stdin is longer than {limit} bytes",))


@pytest.mark.parametrize(
    "args",
    [
        ("post", "add", "--brand", "Acme", "--title", "T", "--text", "-"),
        ("account", "add", "--brand", "Acme", "--platform", "facebook", "--external-id", "104999",
         "--name", "P", "--token-stdin"),
    ],
    ids=["text", "token"],
)  # fmt: skip
def test_stdin_that_never_ends_in_a_real_process(
    home: Path, seeded: World, process_env: dict[str, str], args: list[str]
) -> None:
    """``< /dev/zero``: read until a limit, then one line (it used to fill the memory)."""
    before = stored_rows(home)
    with open("/dev/zero", "rb") as zeros:
        done = subprocess.run(
            [*omnipost_command(), *args],
            stdin=zeros,
            env=process_env,
            capture_output=True,
            timeout=60,
        )
    assert (done.returncode, done.stdout) == (2, b""), done.stderr
    [line] = done.stderr.decode().splitlines()
    assert line.startswith("error: the ") and "on stdin is longer than" in line
    assert stored_rows(home) == before


def test_stdin_that_is_not_utf8_in_a_real_process(
    home: Path, seeded: World, process_env: dict[str, str]
) -> None:
    """The issue's own command, with a C locale where Python reads stdin with surrogateescape
    (that is how the bytes used to reach the database and fail there)."""
    before = stored_rows(home)
    done = subprocess.run(
        [*omnipost_command(), "post", "add", "--brand", "Acme", "--title", "T", "--text", "-"],
        input=b"bad \xff\xfe",
        env={**process_env, "LC_ALL": "C", "PYTHONUTF8": "0"},
        capture_output=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (2, b"")
    assert done.stderr.decode().splitlines() == [
        "error: the text on stdin is not valid UTF-8 (byte 0xFF at offset 4); save it as UTF-8 "
        "and try again"
    ]
    assert stored_rows(home) == before


def test_argv_that_is_not_utf8(home: Path, seeded: World, process_env: dict[str, str]) -> None:
    before = stored_rows(home)
    args = ["post", "add", "--brand", "Acme", "--title", "T", "--text", b"a\xffb"]
    done = subprocess.run(
        [*omnipost_command(), *args],
        env=process_env,
        capture_output=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (2, b"")
    assert done.stderr.decode().splitlines() == [
        "error: the post text is not valid UTF-8 (byte 0xFF at line 1, column 2); save it as "
        "UTF-8 and try again"
    ]
    assert stored_rows(home) == before


@pytest.mark.parametrize(
    "link",
    [
        "ftp://example.com/f",
        "example.com/launch",
        "javascript:alert(1)",
        "https://",
        "http://a b.com",
    ],
)
def test_link_that_is_not_http(refuse: Refuse, seeded: World, link: str) -> None:
    refuse("post", "add", "--brand", "Acme", "--title", "t", "--text", "hi", "--link", link,
           expect=("is not an http(s) URL",))  # fmt: skip
    refuse("post", "edit", POST, "--link", link, expect=("is not an http(s) URL",))


# --- times --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        schedule_args(at="tomorrow"),
        schedule_args(at="2027-13-01T10:00"),
        schedule_args(at="2027-01-15T25:00"),
        schedule_args(at="+2x"),
        schedule_args("--draft", at="soon"),
        ("variant", "reschedule", SCHEDULED, "next week"),
        ("variant", "list", "--from", "yesterday"),
        ("variant", "list", "--to", "later"),
    ],
    ids=["word", "month 13", "hour 25", "unit", "draft", "reschedule", "list from", "list to"],
)
def test_unparseable_time(refuse: Refuse, seeded: World, args: tuple[str, ...]) -> None:
    refuse(*args, expect=("cannot read time",))


def test_unparseable_token_expiry(refuse: Refuse, seeded: World) -> None:
    refuse(
        "account", "add", "--brand", "Acme", "--platform", "facebook", "--external-id", "104999",
        "--name", "New Page", "--expires-at", "in two months", "--token-stdin",
        input="EAAB-token", expect=("cannot read time",),
    )  # fmt: skip


@pytest.mark.parametrize("when", ["2020-01-01", "now", "-1d"])
@pytest.mark.parametrize("command", ["add", "reconnect"])
def test_token_expiry_in_the_past_is_refused(
    refuse: Refuse, seeded: World, command: str, when: str
) -> None:
    """Like a past --at: a token that expired already cannot publish, and a past time is more
    often a typo in the year; the line says what to do instead."""
    if command == "add":
        args = account_add("facebook", "104999", "--expires-at", when, "--token-stdin")
    else:
        args = ("account", "reconnect", FB, "--expires-at", when, "--token-stdin")
    refuse(*args, input="EAAB-token", expect=("expiry time has passed", "e.g. +60d"))


@pytest.mark.parametrize(
    "args",
    [
        schedule_args(at="-1h"),
        schedule_args(at="2020-01-01T10:00"),
        schedule_args(at="2020-01-01T10:00+00:00"),
        # "--": a leading "-" would otherwise be read as an option by click.
        ("variant", "reschedule", SCHEDULED, "--", "-5m"),
        ("variant", "reschedule", DRAFT, "2020-06-01 12:00"),
    ],
    ids=["relative", "local", "offset", "reschedule", "reschedule draft"],
)
def test_past_time_is_only_for_publish_now(
    refuse: Refuse, seeded: World, args: tuple[str, ...]
) -> None:
    refuse(*args, expect=("in the past", "omnipost publish"))


def test_far_future_year_is_refused_as_a_typo(refuse: Refuse, seeded: World) -> None:
    refuse(*schedule_args(at="2207-01-01T09:00"), expect=("more than three years ahead",))


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ("2027-03-28T02:30", "2027-03-28 02:30 does not exist in Europe/Berlin"),
        ("2027-03-28 02:00", "does not exist"),
        ("2026-10-25T02:30", "2026-10-25 02:30 happens twice in Europe/Berlin"),
        ("2027-10-31T02:30", "add an offset: 2027-10-31T02:30+02:00 for the first"),
    ],
)
def test_dst_gap_and_ambiguous_local_times(
    refuse: Refuse, seeded: World, when: str, message: str
) -> None:
    refuse(*schedule_args(at=when), expect=(message,))
    refuse(*schedule_args("--draft", at=when), expect=(message,))
    refuse("variant", "reschedule", SCHEDULED, when, expect=(message,))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("variant", "list", "--to", "2026-13-45"), "cannot read date '2026-13-45'"),
        (("variant", "list", "--from", "2026-02-30"), "cannot read time '2026-02-30'"),
        (schedule_args(at="+99999999999d"), "is out of range"),
        (schedule_args(at="+999999999d"), "is out of range"),
        (schedule_args("--draft", at="0001-01-01T00:30"), "is out of range"),
    ],
    ids=["impossible --to date", "impossible --from date", "huge", "past year 9999", "year 1"],
)
def test_time_out_of_range(
    refuse: Refuse, seeded: World, args: tuple[str, ...], message: str
) -> None:
    refuse(*args, expect=(message,))


# --- accounts and tokens ------------------------------------------------------------------------


def account_add(platform: str, external_id: str, *extra: str) -> tuple[str, ...]:
    return (
        "account", "add", "--brand", "Acme", "--platform", platform,
        "--external-id", external_id, "--name", "New", *extra,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("platform", "external_id", "message"),
    [
        ("facebook", "has space", "Facebook page id 'has space' is not valid"),
        ("facebook", "", "Facebook page id '' is not valid"),
        ("facebook", "104200/feed", "is not valid"),
        ("linkedin", "urn:li:foo:1", "LinkedIn author 'urn:li:foo:1' is not valid"),
        ("linkedin", "12345", "use urn:li:organization:ID or urn:li:person:ID"),
        ("linkedin", "urn:li:organization:", "is not valid"),
    ],
)
def test_malformed_external_id(
    refuse: Refuse, seeded: World, platform: str, external_id: str, message: str
) -> None:
    refuse(*account_add(platform, external_id, "--token-stdin"), input="tok", expect=(message,))


def test_account_connected_twice(refuse: Refuse, seeded: World) -> None:
    refuse(
        *account_add("facebook", "104200", "--token-stdin"),
        input="tok",
        expect=("already connected as account 1", "omnipost account reconnect 1"),
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (account_add("twitter", "1", "--token-stdin"),
         "error: invalid value for '--platform': 'twitter' is not one of 'facebook', 'linkedin' "
         "(see omnipost account add --help)"),
        (("attempts", "--result", "bogus"),
         "error: invalid value for '--result': 'bogus' is not one of 'success', 'fail', "
         "'interrupted', 'pending' (see omnipost attempts --help)"),
        (("variant", "list", "--post", "abc"),
         "error: invalid value for '--post': 'abc' is not a whole number (digits only) "
         "(see omnipost variant list --help)"),
        (("variant", "list", "--limit", "-5"),
         "error: invalid value for '--limit': '-5' is not a whole number (digits only) "
         "(see omnipost variant list --help)"),
        (("variant", "list", "--limit", "0"),
         "error: invalid value for '--limit': 0 is not in the range 1<=x<=1000000 "
         "(see omnipost variant list --help)"),
        (("worker", "--workers", "0"),
         "error: invalid value for '--workers': 0 is not in the range 1<=x<=64 "
         "(see omnipost worker --help)"),
        (("variant", "add", "--account", "Acme Page", "--at", "+1h"),
         "error: missing option '--post' (see omnipost variant add --help)"),
        (("brand", "add"),
         "error: missing argument 'NAME' (see omnipost brand add --help)"),
        (("retry",),
         "error: missing argument 'all|ID...' (see omnipost retry --help)"),
        (("variant", "list", "--limt", "3"),
         "error: no such option '--limt'; did you mean one of: '--limit', '--to'? "
         "(see omnipost variant list --help)"),
        (("--frobnicate", "status"),
         "error: no such option '--frobnicate' (see omnipost --help)"),
        (("brand", "add", "Newco", "Extra"),
         "error: got unexpected extra argument (Extra) (see omnipost brand add --help)"),
        (("frobnicate",),
         "error: no such command 'frobnicate' (see omnipost --help)"),
        (("variant", "lst"),
         "error: no such command 'lst'; did you mean 'list'? (see omnipost variant --help)"),
    ],
    ids=["bad choice", "bad choice of result", "not an int", "negative limit", "zero limit",
         "workers out of range", "missing option", "missing argument", "missing targets",
         "unknown option", "unknown top-level option", "extra argument", "unknown command",
         "unknown subcommand"],
)  # fmt: skip
def test_click_usage_errors_are_one_line_too(
    refuse: Refuse, seeded: World, args: tuple[str, ...], message: str
) -> None:
    """Whatever finds the mistake, click's parsing or our services, the user sees one line
    that says what is wrong and where to read about it (issue 8, item 16)."""
    assert refuse(*args, input="tok") == message


def test_a_group_without_its_command_still_shows_its_help(cli, seeded: World) -> None:
    result = cli("variant")
    assert result.exit_code == 2
    assert "Commands:" in result.output and "reschedule" in result.output


def test_token_is_never_taken_from_argv(refuse: Refuse, seeded: World) -> None:
    refuse(*account_add("facebook", "104999", "--token", "EAAB-argv"), expect=("'--token'",))
    refuse("account", "reconnect", FB, "--token", "EAAB-argv", expect=("'--token'",))


@pytest.mark.parametrize("command", ["add", "reconnect"])
def test_token_needs_stdin_or_a_terminal(refuse: Refuse, seeded: World, command: str) -> None:
    # CliRunner's stdin is not a terminal, as under cron or in a pipe: no prompt, an error.
    args = account_add("facebook", "104999") if command == "add" else ("account", "reconnect", FB)
    refuse(*args, expect=("--token-stdin",))
    refuse(*args, input="EAAB-typed-but-not-asked-for\n", expect=("--token-stdin",))


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("", "on stdin is empty"),
        ("  \n\n", "on stdin is empty"),
        ("EAAB-two words", "spaces"),
        ("EAAB-\x1b[31m-tok", "control character (U+001B ESC) at column 6"),
        ("EAAB-\x7f-tok", "control character (U+007F DEL) at column 6"),
        ("EAAB-\x01-tok", "control character (U+0001 SOH) at column 6"),
    ],
)
def test_bad_token_on_stdin(refuse: Refuse, seeded: World, token: str, message: str) -> None:
    line = refuse(
        *account_add("facebook", "104999", "--token-stdin"), input=token, expect=(message,)
    )
    assert token.strip() == "" or token not in line
    line = refuse("account", "reconnect", FB, "--token-stdin", input=token, expect=(message,))
    assert token.strip() == "" or token not in line


def test_secret_key_that_is_not_a_fernet_key(
    refuse: Refuse, seeded: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNIPOST_SECRET_KEY", "not-a-fernet-key")
    for args in (
        account_add("facebook", "104999", "--token-stdin"),
        ("account", "reconnect", FB, "--token-stdin"),
    ):
        line = refuse(
            *args, input="EAAB-token", expect=("OMNIPOST_SECRET_KEY is not a valid Fernet key",)
        )
        assert "not-a-fernet-key" not in line


# --- brands -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Acme", "  Acme  ", "acme", "ACME ", "aCmE"])
def test_duplicate_brand_name(refuse: Refuse, seeded: World, name: str) -> None:
    refuse("brand", "add", name, expect=("a brand named 'Acme' already exists",))


def test_a_post_id_marked_by_hand_is_a_clean_line(refuse: Refuse, seeded: World) -> None:
    # What a user pastes from a page may carry a terminal's escape codes; stored, they would
    # come back on every screen that shows the id.
    refuse("variant", "mark-published", "1", "--external-id", "123_\x1b[31m456",
           expect=("post id contains a control character (U+001B ESC)",))  # fmt: skip
    refuse("variant", "mark-published", "1", "--external-id", "9" * 301,
           expect=("longer than 300 characters",))  # fmt: skip


def test_brand_name_that_looks_like_an_id(refuse: Refuse, seeded: World) -> None:
    refuse("brand", "add", "42", expect=("must not be a bare number",))


# --- statuses that do not allow the action ------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("variant", "mark-published", SCHEDULED), "only unconfirmed or failed variants"),
        (("variant", "unschedule", DRAFT), "variant 2 is draft"),
        (("retry", SCHEDULED), "variant 1 is scheduled"),
        (("post", "edit", POST), "nothing to change"),
        (("variant", "edit", SCHEDULED), "nothing to change"),
        (("variant", "list", "--status", "sent"), "unknown status 'sent'"),
        (("variant", "list", "--platform", "myspace"), "unknown platform 'myspace'"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else None,
)
def test_action_not_allowed(
    refuse: Refuse, seeded: World, args: tuple[str, ...], message: str
) -> None:
    refuse(*args, expect=(message,))


# --- settings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("OMNIPOST_MAX_ATTEMPTS", "zero", "expected a whole number"),
        ("OMNIPOST_MAX_ATTEMPTS", "0", "at least 1"),
        ("OMNIPOST_TIMEZONE", "Mars/Base", "IANA zone name"),
        ("OMNIPOST_RETRY_BACKOFF", "a,b", "seconds separated by commas"),
        ("OMNIPOST_QUEUE_URL", "amqp://127.0.0.1/", "redis://HOST:PORT/DB"),
        ("OMNIPOST_LOG_LEVEL", "LOUD", "DEBUG, INFO"),
        ("OMNIPOST_QUEUE_NAME", "my queue", "a name of letters"),
    ],
)
def test_invalid_environment_setting(
    refuse: Refuse,
    seeded: World,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    value: str,
    message: str,
) -> None:
    monkeypatch.setenv(name, value)
    for args in (("brand", "add", "Newco"), ("variant", "list"), ("config",)):
        refuse(*args, expect=(f"{name}: ", message, repr(value)))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("timezone = \n", "is not valid TOML"),
        ("[tui\n", "is not valid TOML"),
        ("foo = 1\n", "unknown setting 'foo'"),
        ("max_attempts = 'many'\n", "max_attempts in"),
        ("max_lateness = -5\n", "at least 1"),
    ],
    ids=["syntax", "table", "unknown key", "type", "range"],
)
def test_broken_config_file(
    refuse: Refuse, seeded: World, home: Path, content: str, message: str
) -> None:
    (home / "config.toml").write_text(content)
    for args in (("brand", "add", "Newco"), ("variant", "list"), ("config",)):
        refuse(*args, expect=(str(home / "config.toml"), message))


def test_database_url_of_an_unknown_kind(
    refuse: Refuse, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMNIPOST_DATABASE_URL", "nonsense://user:hunter2@host/db")
    line = refuse("brand", "list", expect=("OMNIPOST_DATABASE_URL", "postgresql+psycopg://"))
    assert "hunter2" not in line


def test_bad_value_in_the_file_is_reported_even_when_the_environment_overrides_it(
    refuse: Refuse, seeded: World, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (home / "config.toml").write_text("max_attempts = 0\n")
    monkeypatch.setenv("OMNIPOST_MAX_ATTEMPTS", "3")
    refuse("variant", "list", expect=("max_attempts in", "at least 1"))


def test_config_file_that_cannot_be_read(refuse: Refuse, seeded: World, home: Path) -> None:
    (home / "config.toml").mkdir()
    refuse("brand", "add", "Newco", expect=("cannot read config file", str(home / "config.toml")))


# --- the database -------------------------------------------------------------------------------

DB_COMMANDS = [("brand", "list"), ("brand", "add", "Acme"), ("status", "--json"), ("db", "upgrade")]


@pytest.mark.parametrize("args", DB_COMMANDS, ids=" ".join)
@pytest.mark.parametrize(
    "garbage",
    [
        random.Random(7).randbytes(4096),
        b"this is a text file, not a database\n" * 100,
        b"SQLite format 3\x00" + b"\xff" * 4080,
    ],
    ids=["random", "text", "bad header"],
)
def test_corrupt_database_file(cli, home: Path, garbage: bytes, args: tuple[str, ...]) -> None:
    home.mkdir(parents=True)
    database = home / "omnipost.db"
    database.write_bytes(garbage)
    assert_user_error(cli(*args), f"database file {database} is corrupt")
    assert database.read_bytes() == garbage
    assert {p.name for p in home.iterdir()} <= {"omnipost.db", "logs"}


@pytest.mark.parametrize("args", DB_COMMANDS, ids=" ".join)
def test_another_programs_database_is_not_taken_over(
    cli, home: Path, args: tuple[str, ...]
) -> None:
    home.mkdir(parents=True)
    database = home / "omnipost.db"
    with closing(sqlite3.connect(database)) as con:
        con.execute("CREATE TABLE foo (id INTEGER PRIMARY KEY, note TEXT)")
        con.execute("INSERT INTO foo (note) VALUES ('not yours')")
        con.commit()
    original = database.read_bytes()
    line = assert_user_error(cli(*args))
    assert line == (
        f"error: database {database} is not an OmniPost database: it holds other tables (foo) "
        "and no OmniPost schema version; nothing was changed: point OMNIPOST_DATABASE_URL at a "
        "new file or an empty database"
    )
    assert database.read_bytes() == original  # not even switched to WAL
    assert {p.name for p in home.iterdir()} <= {"omnipost.db", "logs"}


def test_another_alembic_programs_database_is_not_taken_over(cli, home: Path) -> None:
    home.mkdir(parents=True)
    database = home / "omnipost.db"
    with closing(sqlite3.connect(database)) as con:
        con.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        con.execute("INSERT INTO alembic_version VALUES ('ae1027a6acf')")
        con.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
        con.commit()
    original = database.read_bytes()
    line = assert_user_error(cli("status"))
    assert "is not an OmniPost database" in line
    assert "another program's schema version" in line
    assert database.read_bytes() == original


def test_an_empty_database_file_becomes_omniposts(cli, home: Path) -> None:
    home.mkdir(parents=True)
    (home / "omnipost.db").touch()
    added = cli("brand", "add", "Acme")
    assert (added.exit_code, added.stdout) == (0, "1\n"), added.output


@pytest.mark.parametrize("args", DB_COMMANDS, ids=" ".join)
def test_database_path_is_a_directory(cli, home: Path, args: tuple[str, ...]) -> None:
    database = home / "omnipost.db"
    database.mkdir(parents=True)
    assert_user_error(cli(*args), str(database))
    assert database.is_dir() and not any(database.iterdir())
    assert {p.name for p in home.iterdir()} <= {"omnipost.db", "logs"}


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="root reads a chmod 000 file anyway; the directory case covers root",
)
def test_database_file_without_permissions(cli, home: Path, seeded: World) -> None:
    database = home / "omnipost.db"
    database.chmod(0)
    try:
        assert_user_error(cli("brand", "list"), str(database), "not readable and writable")
        assert_user_error(cli("brand", "add", "Newco"), str(database))
    finally:
        database.chmod(0o600)
    assert "Newco" not in cli("brand", "list").stdout


def test_database_written_by_a_newer_omnipost(cli, home: Path, seeded: World) -> None:
    database = home / "omnipost.db"
    with closing(sqlite3.connect(database)) as con:
        con.execute("UPDATE alembic_version SET version_num = '9999_future'")
        con.commit()
    before = stored_rows(home)
    for args in (("brand", "list"), ("db", "upgrade")):
        assert_user_error(cli(*args), str(database), "schema revision '9999_future'")
    assert stored_rows(home) == before


# --- the queue ----------------------------------------------------------------------------------


@pytest.fixture
def dead_redis() -> str:
    """A redis:// URL on a local port where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.mark.parametrize(
    "args",
    [
        schedule_args(),
        ("publish", SCHEDULED),
        ("publish", DRAFT),
        ("variant", "reschedule", SCHEDULED, "+2h"),
        ("retry", "all"),
    ],
    ids=["variant add", "publish scheduled", "publish draft", "reschedule", "retry all"],
)
def test_unreachable_redis(
    refuse: Refuse,
    seeded: World,
    monkeypatch: pytest.MonkeyPatch,
    dead_redis: str,
    args: tuple[str, ...],
) -> None:
    monkeypatch.setenv("OMNIPOST_QUEUE_URL", dead_redis)
    refuse(*args, expect=(f"queue {dead_redis} is unreachable",))


@contextmanager
def write_locked(path: Path) -> Iterator[None]:
    """Another process holds a write lock on the SQLite file ``path`` (BEGIN IMMEDIATE)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sqlite3, sys
            con = sqlite3.connect({str(path)!r}, isolation_level=None)
            con.execute("BEGIN IMMEDIATE")
            print("locked", flush=True)
            sys.stdin.read()  # until the test closes it
        """)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)


@pytest.mark.parametrize(
    "args",
    [schedule_args(at="now"), ("publish", DRAFT), ("variant", "reschedule", SCHEDULED, "+2h")],
    ids=["variant add --at now", "publish", "reschedule"],
)
def test_write_locked_queue_file(
    refuse: Refuse,
    seeded: World,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
) -> None:
    """The issue's case: a queue.db someone else keeps write-locked. One line naming the file
    after the busy timeout (15 s; 1 s here), exit 2, and no variant saved or changed."""
    monkeypatch.setattr(queue_module, "SQLITE_QUEUE_BUSY_TIMEOUT_S", 1)
    queue_file = home / "queue.db"
    assert queue_file.is_file()
    with write_locked(queue_file):
        line = refuse(*args)
    assert line == (
        f"error: queue file {queue_file} stayed locked for 1 s (another process holds a write "
        "lock on it); try again"
    )


def test_a_queue_file_locked_after_it_was_opened_saves_nothing(
    seeded: World, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long-lived process (the TUI) opened the queue before someone locked it: reading
    still works (WAL), so the check before saving must ask for the write lock itself."""
    monkeypatch.setattr(queue_module, "SQLITE_QUEUE_BUSY_TIMEOUT_S", 1)
    ctx = open_context(load_settings(), open_queue=open_queue)
    try:
        ctx.queue.ping()
        before = stored_rows(home)
        with write_locked(home / "queue.db"), pytest.raises(QueueUnavailable) as info:
            add_variant(ctx, post=seeded.post_id, account=seeded.linkedin_id, at=clock.now())
        assert info.value.message.startswith(f"queue file {home / 'queue.db'} stayed locked")
        assert stored_rows(home) == before
    finally:
        ctx.close()


# --- times no calendar can show ---------------------------------------------------------------


def test_time_beyond_the_calendar(refuse: Refuse, seeded: World) -> None:
    refuse(*schedule_args(at="9999-12-31T23:59+00:00"), expect=("out of range",))


@pytest.mark.parametrize("ref", ["²", "٣", "1_0"])
def test_an_id_is_ascii_digits(refuse: Refuse, seeded: World, ref: str) -> None:
    # "²" passes str.isdigit but not int(): it used to end in "something went wrong"; "٣" and
    # "1_0" were read as ids 3 and 10.
    refuse("variant", "add", "--post", "1", "--account", ref, "--draft", expect=(f"{ref!r}",))
    refuse("variant", "show", ref, expect=("variant id must be a number",))


@pytest.mark.parametrize(
    "args",
    [
        ("variant", "add", "--post", "1", "--account", "\udc80", "--draft"),
        ("post", "add", "--brand", "\udc80", "--title", "T", "--text", "x"),
        ("post", "list", "--brand", "\udc80"),
        ("variant", "list", "--search", "\udc80"),
    ],
)
def test_an_undecodable_byte_in_a_name_or_search_is_one_line(
    refuse: Refuse, seeded: World, args: tuple[str, ...]
) -> None:
    # An argument in another encoding reaches us as a lone surrogate, which SQLite's driver
    # cannot encode: it used to end in "something went wrong" instead of saying what is wrong.
    refuse(*args, expect=("not valid UTF-8 (byte 0x80",))


def test_worker_once_without_the_sweep_is_refused(refuse: Refuse, seeded: World) -> None:
    """--once is a sweep and what it queued; --no-periodic used to be ignored with it."""
    refuse(
        "worker", "--once", "--no-periodic", expect=("--once runs the sweep", "give one of them")
    )
