"""``omnipost`` as scripts drive it: ids on stdout, stable JSON, ids or names, times with offsets.

Runs the real command line in-process (click's CliRunner) on an isolated OMNIPOST_HOME with the
default SQLite database and SQLite queue. Setup that no command can do (a worker dying
mid-publish, an expired token) goes through the service layer on the same files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
import pytest
from click.testing import Result
from cryptography.fernet import Fernet
from rich.cells import cell_len

from omnipost_tui.cli import cli as omnipost
from omnipost_tui.config import load_settings
from omnipost_tui.db import Database
from omnipost_tui.engine.queue import open_queue
from omnipost_tui.models import ConnectedSocialAccount
from omnipost_tui.services import publishing
from omnipost_tui.services.accounts import mark_account_expired
from omnipost_tui.services.context import Context, open_context
from omnipost_tui.states import VARIANT_STATUSES
from tests.conftest import T0, FakeClock, World, make_world
from tests.test_cli_errors import assert_user_error

BERLIN = ZoneInfo("Europe/Berlin")

# The keys scripts may rely on (issue: "keep these shapes stable").
VARIANT_KEYS = {
    "id",
    "post_id",
    "account_id",
    "platform",
    "status",
    "scheduled_at",
    "attempts",
    "next_attempt_at",
    "external_post_id",
    "last_error",
}
ATTEMPT_KEYS = {
    "id",
    "variant_id",
    "attempt_no",
    "result",
    "http_status",
    "error_code",
    "error_message",
    "external_post_id",
    "started_at",
    "finished_at",
}
ACCOUNT_KEYS = {"id", "brand_id", "platform", "external_id", "name", "status", "token_expires_at"}


def ok(result: Result) -> str:
    """A successful command: exit 0, nothing on stderr; returns stdout."""
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}"
    assert result.stderr == "", result.stderr
    return result.stdout


def as_json(result: Result) -> Any:
    return json.loads(ok(result))


def new_id(result: Result) -> int:
    """What every `add` prints: the new id alone on one line."""
    out = ok(result)
    assert re.fullmatch(r"[1-9][0-9]*\n", out), f"expected an id alone, got {out!r}"
    return int(out)


def ids(rows: list[dict[str, Any]]) -> list[int]:
    return [row["id"] for row in rows]


def local(text: str) -> datetime:
    """A wall-clock time in Berlin as aware UTC (for comparing with what the CLI shows)."""
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN).astimezone(UTC)


@pytest.fixture
def services(home: Path) -> Iterator[Context]:
    """A service context on the CLI's own files (SQLite database and SQLite queue)."""
    context = open_context(load_settings(), open_queue=open_queue)
    yield context
    context.close()


@pytest.fixture
def acme(services: Context) -> World:
    """Brand Acme (id 1): Facebook "Acme Page" (1), LinkedIn "Acme LinkedIn" (2), post 1."""
    return make_world(services)


def fb_token_add(cli, *extra: str, token: str = "EAAB-cli-token") -> Result:
    return cli(
        "account", "add", "--brand", "Acme", "--platform", "facebook",
        "--external-id", "104200", "--name", "Acme Page", "--token-stdin", *extra,
        input=token + "\n",
    )  # fmt: skip


# --- every add prints the new id; --json prints the object ----------------------------------------


def test_every_add_prints_the_new_id_alone(cli) -> None:
    brand = new_id(cli("brand", "add", "Acme"))
    account = new_id(fb_token_add(cli))
    post = new_id(cli("post", "add", "--brand", "Acme", "--title", "Launch", "--text", "Hi!"))
    variant = new_id(
        cli("variant", "add", "--post", str(post), "--account", "Acme Page", "--at", "+2h")
    )
    draft = new_id(cli("variant", "add", "--post", str(post), "--account", str(account), "--draft"))

    assert ids(as_json(cli("brand", "list", "--json"))) == [brand]
    assert ids(as_json(cli("account", "list", "--json"))) == [account]
    assert ids(as_json(cli("post", "list", "--json"))) == [post]
    assert ids(as_json(cli("variant", "list", "--json"))) == [variant, draft]
    assert new_id(cli("brand", "add", "Beta")) == brand + 1


def test_add_with_json_prints_the_object_that_list_shows(cli, fake_clock: FakeClock) -> None:
    # The clock is fixed: the token's expiry below must stay in the future (a past one is refused).
    brand = as_json(cli("brand", "add", "Acme", "--json"))
    assert brand["name"] == "Acme"
    assert as_json(cli("brand", "list", "--json")) == [brand]

    account = as_json(
        cli(
            "account", "add", "--brand", "Acme", "--platform", "linkedin",
            "--external-id", "urn:li:organization:42", "--name", "Acme LinkedIn",
            "--expires-at", "2027-01-31T18:00", "--token-stdin", "--json",
            input="AQV-token",
        )
    )  # fmt: skip
    assert account.keys() >= ACCOUNT_KEYS
    assert account["brand_id"] == brand["id"]
    assert account["platform"] == "linkedin"
    assert account["external_id"] == "urn:li:organization:42"
    assert account["status"] == "connected"
    assert account["token_expires_at"] == "2027-01-31T18:00:00+01:00"
    assert as_json(cli("account", "list", "--json")) == [account]

    post = as_json(
        cli(
            "post", "add", "--brand", "Acme", "--title", "Launch", "--text", "We launch today",
            "--link", "https://example.com/launch", "--json",
        )
    )  # fmt: skip
    assert (post["brand_id"], post["title"], post["text"], post["link"]) == (
        brand["id"],
        "Launch",
        "We launch today",
        "https://example.com/launch",
    )
    assert as_json(cli("post", "list", "--json")) == [post]

    variant = as_json(
        cli(
            "variant", "add", "--post", str(post["id"]), "--account", "Acme LinkedIn",
            "--at", "+2h", "--text", "Hiring too", "--json",
        )
    )  # fmt: skip
    assert variant.keys() >= VARIANT_KEYS
    assert variant["post_id"] == post["id"]
    assert variant["account_id"] == account["id"]
    assert (variant["platform"], variant["status"], variant["text"]) == (
        "linkedin",
        "scheduled",
        "Hiring too",
    )
    assert as_json(cli("variant", "list", "--json")) == [variant]
    assert as_json(cli("variant", "show", str(variant["id"]), "--json")) == variant


# --- ids or names -------------------------------------------------------------------------------


def test_brand_and_account_accept_an_id_or_a_name(cli) -> None:
    acme = new_id(cli("brand", "add", "Acme"))
    beta = new_id(cli("brand", "add", "Beta"))
    page = new_id(fb_token_add(cli))
    by_id = as_json(
        cli(
            "account", "add", "--brand", str(beta), "--platform", "facebook",
            "--external-id", "104300", "--name", "Beta Page", "--token-stdin", "--json",
            input="EAAB-beta",
        )
    )  # fmt: skip
    assert by_id["brand_id"] == beta

    post_by_name = new_id(cli("post", "add", "--brand", "Acme", "--title", "A", "--text", "a"))
    post_by_id = new_id(cli("post", "add", "--brand", str(acme), "--title", "B", "--text", "b"))
    posts = {p["id"]: p["brand_id"] for p in as_json(cli("post", "list", "--json"))}
    assert posts == {post_by_name: acme, post_by_id: acme}

    v1 = new_id(cli("variant", "add", "--post", str(post_by_name), "--account", "Acme Page",
                    "--at", "+1h"))  # fmt: skip
    v2 = new_id(cli("variant", "add", "--post", str(post_by_id), "--account", str(page),
                    "--at", "+2h"))  # fmt: skip
    variants = as_json(cli("variant", "list", "--json"))
    assert [(v["id"], v["account_id"]) for v in variants] == [(v1, page), (v2, page)]

    for ref in ("Acme", str(acme)):
        assert ids(as_json(cli("variant", "list", "--brand", ref, "--json"))) == [v1, v2]
        assert ids(as_json(cli("account", "list", "--brand", ref, "--json"))) == [page]
    assert as_json(cli("variant", "list", "--brand", "Beta", "--json")) == []
    for ref in ("Acme Page", str(page)):
        assert ids(as_json(cli("variant", "list", "--account", ref, "--json"))) == [v1, v2]
    assert "connected again" in ok(
        cli("account", "reconnect", "Beta Page", "--token-stdin", input="EAAB-new")
    )


def test_a_removed_account_does_not_claim_its_name(cli, acme: World) -> None:
    ok(cli("account", "remove", "Acme Page"))
    page = new_id(
        cli(
            "account", "add", "--brand", "Acme", "--platform", "facebook",
            "--external-id", "104999", "--name", "Acme Page", "--token-stdin",
            input="EAAB-new-page",
        )
    )  # fmt: skip
    variant = as_json(
        cli("variant", "add", "--post", "1", "--account", "Acme Page", "--at", "+1h", "--json")
    )
    assert variant["account_id"] == page


# --- times go in and come out in the configured zone, with the offset -----------------------------


def test_at_now_schedules_for_right_away(cli, acme: World) -> None:
    variant = as_json(
        cli("variant", "add", "--post", "1", "--account", "1", "--at", "now", "--json")
    )
    assert variant["status"] == "scheduled"
    scheduled = datetime.fromisoformat(variant["scheduled_at"])
    assert abs((scheduled - datetime.now(UTC)).total_seconds()) < 5


def test_relative_time_is_stored_as_asked_and_shown_with_the_offset(cli, acme: World) -> None:
    asked = datetime.now(UTC) + timedelta(hours=2)
    variant_id = new_id(cli("variant", "add", "--post", "1", "--account", "1", "--at", "+2h"))

    [variant] = as_json(cli("variant", "list", "--json"))
    assert variant.keys() >= VARIANT_KEYS
    assert variant["id"] == variant_id
    assert (variant["post_id"], variant["account_id"], variant["platform"]) == (
        acme.post_id,
        acme.facebook_id,
        "facebook",
    )
    assert (variant["status"], variant["attempts"]) == ("scheduled", 0)
    assert variant["next_attempt_at"] is None
    assert variant["external_post_id"] is None
    assert variant["last_error"] is None

    shown = variant["scheduled_at"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", shown), shown
    scheduled = datetime.fromisoformat(shown)
    assert abs((scheduled - asked).total_seconds()) < 2
    # Berlin's offset at that instant: +01:00 in winter, +02:00 in summer.
    assert scheduled.utcoffset() == asked.astimezone(BERLIN).utcoffset()


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("2027-01-15T09:30", "2027-01-15T09:30:00+01:00"),
        ("2027-01-15 09:30", "2027-01-15T09:30:00+01:00"),
        ("2027-07-15T09:30", "2027-07-15T09:30:00+02:00"),
        ("2027-01-15T09:30+05:30", "2027-01-15T05:00:00+01:00"),
        ("2027-07-15T07:30Z", "2027-07-15T09:30:00+02:00"),
        # The hour that happens twice is accepted once the offset says which one.
        ("2027-10-31T02:30+02:00", "2027-10-31T02:30:00+02:00"),
        ("2027-10-31T02:30+01:00", "2027-10-31T02:30:00+01:00"),
        # Relative to the (fake) clock: Wednesday 2 December 2026, 09:00 in Berlin.
        ("+2h", "2026-12-02T11:00:00+01:00"),
        ("+90s", "2026-12-02T09:01:30+01:00"),
        ("+1w", "2026-12-09T09:00:00+01:00"),
    ],
)
def test_at_is_read_in_the_configured_zone(
    cli, fake_clock: FakeClock, acme: World, typed: str, shown: str
) -> None:
    variant = as_json(cli("variant", "add", "--post", "1", "--account", "1", "--at", typed,
                          "--json"))  # fmt: skip
    assert variant["scheduled_at"] == shown
    assert as_json(cli("variant", "show", str(variant["id"]), "--json"))["scheduled_at"] == shown


def test_a_different_timezone_shows_the_same_instant_differently(
    cli, fake_clock: FakeClock, acme: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    new_id(cli("variant", "add", "--post", "1", "--account", "1", "--at", "2027-01-15T09:30"))
    monkeypatch.setenv("OMNIPOST_TIMEZONE", "America/New_York")
    [variant] = as_json(cli("variant", "list", "--json"))
    assert variant["scheduled_at"] == "2027-01-15T03:30:00-05:00"


# --- variant list filters -----------------------------------------------------------------------


@pytest.fixture
def listing(cli, fake_clock: FakeClock, acme: World) -> dict[str, int]:
    """Four variants around "now" (2 December 2026, 09:00 Berlin) on two brands."""
    ok(cli("brand", "add", "Beta"))
    ok(cli("account", "add", "--brand", "Beta", "--platform", "facebook", "--external-id",
           "104300", "--name", "Beta Page", "--token-stdin", input="EAAB-beta"))  # fmt: skip
    beta_post = new_id(cli("post", "add", "--brand", "Beta", "--title", "Beta news",
                           "--text", "Coffee for everyone"))  # fmt: skip

    def add(post: int, account: str, at: str, *extra: str) -> int:
        return new_id(cli("variant", "add", "--post", str(post), "--account", account,
                          "--at", at, *extra))  # fmt: skip

    return {
        "fb_noon": add(acme.post_id, "Acme Page", "2026-12-02T12:00"),
        "li_late": add(acme.post_id, "Acme LinkedIn", "2026-12-02T23:30", "--text", "HIRING now"),
        "fb_draft_midnight": add(acme.post_id, "Acme Page", "2026-12-03T00:00", "--draft"),
        "beta": add(beta_post, "Beta Page", "2026-12-05T10:00"),
    }


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ((), ["fb_noon", "li_late", "fb_draft_midnight", "beta"]),
        (("--status", "draft"), ["fb_draft_midnight"]),
        (("--status", "scheduled"), ["fb_noon", "li_late", "beta"]),
        (("--status", "draft,scheduled"), ["fb_noon", "li_late", "fb_draft_midnight", "beta"]),
        (("--status", "published", "--status", "draft"), ["fb_draft_midnight"]),
        (("--status", "failed"), []),
        (("--platform", "linkedin"), ["li_late"]),
        (("--platform", "facebook"), ["fb_noon", "fb_draft_midnight", "beta"]),
        (("--brand", "Beta"), ["beta"]),
        (("--brand", "1"), ["fb_noon", "li_late", "fb_draft_midnight"]),
        (("--account", "Acme Page"), ["fb_noon", "fb_draft_midnight"]),
        # A bare date as --to includes the whole day; the next midnight is not part of it.
        (("--from", "2026-12-02", "--to", "2026-12-02"), ["fb_noon", "li_late"]),
        (("--to", "2026-12-03T00:00"), ["fb_noon", "li_late"]),
        (("--to", "2026-12-03T00:01"), ["fb_noon", "li_late", "fb_draft_midnight"]),
        (("--from", "2026-12-03"), ["fb_draft_midnight", "beta"]),
        (("--from", "2026-12-02T23:30", "--to", "2026-12-04"), ["li_late", "fb_draft_midnight"]),
        (("--from", "+1d"), ["beta"]),
        (("--search", "hiring"), ["li_late"]),
        (("--search", "COFFEE"), ["beta"]),
        (("--search", "launch"), ["fb_noon", "li_late", "fb_draft_midnight"]),
        (("--search", "nothing like this"), []),
        (("--platform", "facebook", "--status", "scheduled", "--brand", "Acme"), ["fb_noon"]),
        (("--limit", "2"), ["fb_noon", "li_late"]),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else None,
)  # fmt: skip
def test_variant_list_filters(
    cli, listing: dict[str, int], options: tuple[str, ...], expected: list[str]
) -> None:
    rows = as_json(cli("variant", "list", *options, "--json"))
    assert ids(rows) == [listing[name] for name in expected]


def test_variant_list_for_people(cli, listing: dict[str, int]) -> None:
    out = ok(cli("variant", "list", "--platform", "linkedin"))
    header, row = out.splitlines()
    assert header.split() == ["ID", "WHEN", "PLATFORM", "ACCOUNT", "STATUS", "TRIES", "TEXT"]
    assert "2026-12-02 23:30 CET" in row
    assert "HIRING now" in row
    assert ok(cli("variant", "list", "--search", "nope")) == "no variants match\n"


def publish_as_a_worker(ctx: Context, variant_id: int, clock: FakeClock) -> None:
    """What a worker does when the platform accepts the post: claim, send, record success."""
    claim = publishing.claim_variant(ctx, variant_id, clock.now(), "test-worker")
    assert claim is not None
    publishing.mark_sending(ctx, claim, clock.now())
    record = publishing.AttemptRecord("success", 200, external_post_id=f"104200_{variant_id}")
    assert publishing.complete_attempt(
        ctx, claim, record, publishing.Outcome("published"), clock.now()
    )


def test_post_list_sums_up_where_its_variants_stand(
    cli, fake_clock: FakeClock, services: Context, acme: World
) -> None:
    """A post whose variants went out is not a "draft" (issue 8, item 19)."""
    args = ("variant", "add", "--at", "+1m", "--account")
    out_now = new_id(cli(*args, "Acme Page", "--post", "1"))
    later = new_id(cli(*args, "Acme LinkedIn", "--post", "1"))
    ok(cli("variant", "reschedule", str(later), "+2d"))
    everywhere = new_id(cli("post", "add", "--brand", "Acme", "--title", "Sent", "--text", "x"))
    sent = new_id(cli(*args, "Acme Page", "--post", str(everywhere)))
    ok(cli("post", "add", "--brand", "Acme", "--title", "Idea", "--text", "maybe"))
    fake_clock.advance(60)
    publish_as_a_worker(services, out_now, fake_clock)
    publish_as_a_worker(services, sent, fake_clock)

    lines = ok(cli("post", "list")).splitlines()
    assert [line.split("  ")[0] for line in lines] == ["ID", "1", "2", "3"]
    header_status = lines[0].index("STATUS")
    statuses = [line[header_status:].split("  ")[0] for line in lines[1:]]
    assert statuses == ["1 scheduled · 1 published", "published", "no variants"]

    rows = as_json(cli("post", "list", "--json"))
    assert [(p["status"], p["variants"], p["variant_statuses"]) for p in rows] == [
        ("mixed", 2, {"scheduled": 1, "published": 1}),
        ("published", 1, {"published": 1}),
        ("draft", 0, {}),
    ]


def test_tables_line_up_with_wide_characters(cli, acme: World) -> None:
    """Columns are measured in terminal cells: a CJK character or an emoji is two, a
    combining accent none (issue 8, item 19)."""
    titles = ["日本語のお知らせ", "Launch 🚀🚀", "Cafe\u0301 cre\u0300me", "plain ascii"]
    for title in titles:
        ok(cli("post", "add", "--brand", "Acme", "--title", title, "--text", "新年快乐 " * 20))
    lines = ok(cli("post", "list")).splitlines()
    columns = [
        [cell_len(line[: match.start()]) for match in re.finditer(r"(?<=  )\S", line)]
        for line in lines
    ]
    assert all(c == columns[0] for c in columns), "\n".join(lines)
    # Cut at 40 cells with an ellipsis; a wide character that would straddle the edge is
    # left out whole (one cell short), never halved.
    text_column = columns[0][-1]
    for line in lines[2:]:
        shown = line.split("  ")[-1].lstrip()
        assert shown.endswith("…") and ("新年快乐 " * 20).startswith(shown[:-1])
        assert cell_len(line) - text_column in (39, 40)


# --- moving variants ----------------------------------------------------------------------------


def test_reschedule_and_unschedule(cli, fake_clock: FakeClock, acme: World) -> None:
    variant = str(new_id(cli("variant", "add", "--post", "1", "--account", "1", "--at", "+1h")))

    out = ok(cli("variant", "reschedule", variant, "2026-12-10T08:15"))
    assert out == f"variant {variant} scheduled for 2026-12-10 08:15 CET\n"
    moved = as_json(cli("variant", "show", variant, "--json"))
    assert (moved["status"], moved["scheduled_at"]) == ("scheduled", "2026-12-10T08:15:00+01:00")

    assert ok(cli("variant", "unschedule", variant)) == f"variant {variant} is a draft again\n"
    draft = as_json(cli("variant", "show", variant, "--json"))
    # Back to draft; the planned time is kept.
    assert (draft["status"], draft["scheduled_at"]) == ("draft", "2026-12-10T08:15:00+01:00")
    assert as_json(cli("status", "--json"))["counts"]["draft"] == 1

    again = as_json(cli("variant", "reschedule", variant, "+3h", "--json"))
    assert (again["status"], again["scheduled_at"]) == ("scheduled", "2026-12-02T12:00:00+01:00")


def test_publish_now_also_takes_a_draft_planned_in_the_past(
    cli, fake_clock: FakeClock, acme: World
) -> None:
    # Only `publish` may act on a past time; a draft may keep a past plan.
    variant = str(new_id(cli("variant", "add", "--post", "1", "--account", "Acme LinkedIn",
                             "--draft", "--at", "2026-11-30T10:00")))  # fmt: skip

    out = ok(cli("publish", variant))
    assert out.splitlines() == [
        f"variant {variant} queued to publish now on Acme LinkedIn (linkedin)",
        "no worker is running: it will go out as soon as `omnipost worker` runs",
    ]
    queued = as_json(cli("variant", "show", variant, "--json"))
    # Due now; the plan stays what the user planned.
    assert (queued["status"], queued["scheduled_at"], queued["next_attempt_at"]) == (
        "scheduled",
        "2026-11-30T10:00:00+01:00",
        "2026-12-02T09:00:00+01:00",
    )
    shown = {
        key: value.strip()
        for key, _, value in (
            line.partition("  ") for line in ok(cli("variant", "show", variant)).splitlines()
        )
    }
    assert shown["planned"].startswith("2026-11-30 10:00")
    assert shown["next attempt"].startswith("2026-12-02 09:00")
    status = as_json(cli("status", "--json"))
    assert (status["due_now"], status["queue"]["pending"]) == (1, 1)

    again = as_json(cli("publish", variant, "--json"))
    assert (again["id"], again["status"], again["worker_online"]) == (
        int(variant),
        "scheduled",
        False,
    )


def test_schedule_runs_the_sweep_once(cli, fake_clock: FakeClock, acme: World) -> None:
    for account in ("Acme Page", "Acme LinkedIn"):
        new_id(cli("variant", "add", "--post", "1", "--account", account, "--at", "+10m"))
    # Ten minutes ahead: too far for a message now.
    assert ok(cli("schedule")) == "dispatched 0 variants\n"

    fake_clock.advance(9 * 60)
    lines = ok(cli("schedule")).splitlines()
    assert lines[-1] == "dispatched 2 variants"
    assert lines[:-1] == [
        "variant 1: queued for 2026-12-02 09:09 CET (due 2026-12-02 09:10 CET)",
        "variant 2: queued for 2026-12-02 09:09 CET (due 2026-12-02 09:10 CET)",
    ]
    queue = as_json(cli("status", "--json"))["queue"]
    assert queue["pending"] + queue["scheduled"] == 2

    # Idempotent: messages on their way are not sent again.
    assert as_json(cli("schedule", "--json")) == {"dispatched": [], "recovered": [], "missed": []}


# --- what needs a human -------------------------------------------------------------------------


def test_nothing_failed_yet(cli, acme: World) -> None:
    assert ok(cli("retry", "all")) == "nothing to retry\n"
    assert as_json(cli("retry", "all", "--json")) == {
        "retried": [],
        "skipped": [],
        "worker_online": False,
    }
    assert as_json(cli("failed", "--json")) == []
    assert ok(cli("failed")) == "nothing failed\n"
    assert as_json(cli("attempts", "--json")) == []
    assert ok(cli("attempts")) == "no attempts yet\n"
    assert ok(cli("attempts", "--result", "fail")) == "no attempts match\n"  # not "yet": filtered


def stuck_and_missed(cli, services: Context, clock: FakeClock) -> tuple[int, int, int]:
    """Variants in each "needs you" status: (unconfirmed, failed, still scheduled).

    Unconfirmed: a worker claimed the Facebook one and reached the sending point, then died;
    the sweep finds its lease expired. Failed: the LinkedIn one waited 25 h for a worker, more
    than the 24 h allowed. The third is planned for next week.
    """
    args = ("variant", "add", "--post", "1", "--at")
    unconfirmed = new_id(cli(*args, "+5m", "--account", "Acme Page"))
    failed = new_id(cli(*args, "+5m", "--account", "Acme LinkedIn"))
    later = new_id(cli(*args, "+7d", "--account", "Acme Page"))
    clock.advance(5 * 60)
    claim = publishing.claim_variant(services, unconfirmed, clock.now(), "test-worker")
    assert claim is not None
    publishing.mark_sending(services, claim, clock.now())
    clock.advance(25 * 3600)

    lines = ok(cli("schedule")).splitlines()
    assert lines == [
        f"variant {unconfirmed}: its publish was interrupted; now unconfirmed",
        f"variant {failed}: missed its window; failed",
        "dispatched 0 variants",
    ]
    return unconfirmed, failed, later


def test_failed_and_attempts_show_what_needs_a_human(
    cli, fake_clock: FakeClock, services: Context, acme: World
) -> None:
    unconfirmed, failed, _ = stuck_and_missed(cli, services, fake_clock)

    rows = as_json(cli("failed", "--json"))
    assert [(v["id"], v["status"]) for v in rows] == [
        (unconfirmed, "unconfirmed"),
        (failed, "failed"),
    ]
    for row in rows:
        assert row.keys() >= VARIANT_KEYS
        assert row["scheduled_at"] == "2026-12-02T09:05:00+01:00"
        assert row["next_attempt_at"] is None
        assert row["external_post_id"] is None
    assert "OmniPost reads the page back" in rows[0]["last_error"]
    assert rows[0]["attempts"] == 1
    assert rows[1]["last_error"].startswith("missed: it was due at 2026-12-02 09:05 CET")
    assert rows[1]["attempts"] == 0

    text = ok(cli("failed"))
    assert f"#{unconfirmed}  unconfirmed" in text
    assert f"#{failed}  failed" in text

    [attempt] = as_json(cli("attempts", "--json"))
    assert attempt.keys() >= ATTEMPT_KEYS
    assert (attempt["variant_id"], attempt["attempt_no"], attempt["result"]) == (
        unconfirmed,
        1,
        "interrupted",
    )
    assert attempt["http_status"] is None
    assert attempt["error_code"] is None
    assert attempt["error_message"] == "no answer recorded after sending"
    assert attempt["external_post_id"] is None
    assert attempt["started_at"] == "2026-12-02T09:05:00+01:00"
    assert attempt["finished_at"] == "2026-12-03T10:05:00+01:00"
    assert as_json(cli("attempts", "--variant", str(unconfirmed), "--json")) == [attempt]
    assert as_json(cli("attempts", "--variant", str(failed), "--json")) == []
    assert as_json(cli("attempts", "--result", "success", "--json")) == []


def test_mark_published_only_for_unconfirmed_or_failed(
    cli, fake_clock: FakeClock, services: Context, acme: World
) -> None:
    unconfirmed, failed, later = stuck_and_missed(cli, services, fake_clock)

    assert_user_error(
        cli("variant", "mark-published", str(later)), "only unconfirmed or failed variants"
    )

    marked = as_json(cli("variant", "mark-published", str(unconfirmed),
                         "--external-id", "104200_777", "--json"))  # fmt: skip
    assert (marked["status"], marked["external_post_id"], marked["last_error"]) == (
        "published",
        "104200_777",
        None,
    )
    assert marked["published_at"] == "2026-12-03T10:05:00+01:00"
    out = ok(cli("variant", "mark-published", str(failed)))
    assert out == f"variant {failed} marked published\n"

    assert as_json(cli("failed", "--json")) == []
    assert_user_error(cli("variant", "mark-published", str(unconfirmed)), "is published")
    counts = as_json(cli("status", "--json"))["counts"]
    assert (counts["published"], counts["scheduled"]) == (2, 1)


def test_retry_all_requeues_failed_but_not_unconfirmed(
    cli, fake_clock: FakeClock, services: Context, acme: World
) -> None:
    unconfirmed, failed, _ = stuck_and_missed(cli, services, fake_clock)

    out = ok(cli("retry", "all"))
    assert out.splitlines() == [
        f"variant {failed} queued again (linkedin, Acme LinkedIn)",
        "no worker is running: it will go out as soon as `omnipost worker` runs",
    ]
    retried = as_json(cli("variant", "show", str(failed), "--json"))
    assert (retried["status"], retried["last_error"]) == ("scheduled", None)
    # Due now, and its planned time is kept.
    assert retried["scheduled_at"] == "2026-12-02T09:05:00+01:00"
    assert retried["next_attempt_at"] == "2026-12-03T10:05:00+01:00"
    assert [v["id"] for v in as_json(cli("failed", "--json"))] == [unconfirmed]
    assert ok(cli("retry", "all")) == "nothing to retry\n"

    # Unconfirmed only by id, once someone checked the page.
    result = as_json(cli("retry", str(unconfirmed), "--json"))
    assert [(v["id"], v["status"]) for v in result["retried"]] == [(unconfirmed, "scheduled")]


# --- status -------------------------------------------------------------------------------------


def test_status_json_without_a_worker(cli, acme: World) -> None:
    new_id(cli("variant", "add", "--post", "1", "--account", "1", "--at", "+1h"))
    new_id(cli("variant", "add", "--post", "1", "--account", "2", "--draft"))

    report = as_json(cli("status", "--json"))
    assert list(report["counts"]) == list(VARIANT_STATUSES)
    assert len(report["counts"]) == 7
    assert report["counts"] == {
        "draft": 1,
        "scheduled": 1,
        "publishing": 0,
        "retrying": 0,
        "published": 0,
        "failed": 0,
        "unconfirmed": 0,
    }
    assert report["heartbeat_age_seconds"] is None
    assert report["worker_online"] is False
    assert report["workers"] == []
    assert report["queue"]["error"] is None
    assert report["timezone"] == "Europe/Berlin"
    assert "worker     OFFLINE (never seen); start it with: omnipost worker" in ok(cli("status"))


def test_status_remembers_a_worker_that_ran(cli, fake_clock: FakeClock, acme: World) -> None:
    ok(cli("worker", "--once"))
    fake_clock.advance(90)
    report = as_json(cli("status", "--json"))
    assert report["worker_online"] is False
    assert report["heartbeat_age_seconds"] == 90
    assert "never seen" not in ok(cli("status"))


# --- configuration ------------------------------------------------------------------------------


def config_rows(out: str) -> dict[str, tuple[str, str]]:
    """The settings table of `omnipost config`: {setting: (value, source)}."""
    table = out.split("\n\n", 1)[0].splitlines()
    assert table[0].split() == ["SETTING", "VALUE", "FROM"]
    rows = {}
    for line in table[1:]:
        key, value, source = re.split(r"\s{2,}", line.strip())
        rows[key] = (value, source)
    return rows


def test_config_masks_the_secret_key_and_names_sources(
    cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("OMNIPOST_SECRET_KEY", key)

    out = ok(cli("config"))
    assert key not in out
    rows = config_rows(out)
    assert rows["secret_key"] == ("********", "env OMNIPOST_SECRET_KEY")
    assert rows["timezone"] == ("Europe/Berlin", "env OMNIPOST_TIMEZONE")
    assert rows["max_attempts"] == ("3", "default")
    assert rows["retry_backoff"] == ("60,300,900", "default")

    result = cli("config", "--json")
    assert key not in result.output
    settings = as_json(result)["settings"]
    assert settings["secret_key"] == {"value": "********", "source": "env OMNIPOST_SECRET_KEY"}
    assert settings["timezone"] == {"value": "Europe/Berlin", "source": "env OMNIPOST_TIMEZONE"}


def test_config_names_config_toml_and_env_wins(
    cli, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text(
        'max_attempts = 5\nretry_backoff = [10, 20]\ntimezone = "America/New_York"\n'
    )
    rows = config_rows(ok(cli("config")))
    assert rows["max_attempts"] == ("5", "config.toml")
    assert rows["retry_backoff"] == ("10,20", "config.toml")
    assert rows["timezone"] == ("Europe/Berlin", "env OMNIPOST_TIMEZONE")

    monkeypatch.delenv("OMNIPOST_TIMEZONE")
    assert config_rows(ok(cli("config")))["timezone"] == ("America/New_York", "config.toml")


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("OMNIPOST_QUEUE_URL", "redis://:hunter2@127.0.0.1:6379/0"),
        ("OMNIPOST_DATABASE_URL", "postgresql+psycopg://omnipost:hunter2@db.example/omnipost"),
    ],
)
def test_config_does_not_print_passwords_in_urls(
    cli, monkeypatch: pytest.MonkeyPatch, name: str, url: str
) -> None:
    monkeypatch.setenv(name, url)
    result = cli("config")
    assert "hunter2" not in ok(result)
    assert "hunter2" not in ok(cli("config", "--json"))


def test_db_upgrade_is_idempotent(cli) -> None:
    head = Database.head_revision()
    assert ok(cli("db", "upgrade")) == f"database upgraded from empty to {head}\n"
    assert ok(cli("db", "upgrade")) == f"database already at the latest revision ({head})\n"
    new_id(cli("brand", "add", "Acme"))
    assert ok(cli("db", "upgrade")) == f"database already at the latest revision ({head})\n"
    assert [b["name"] for b in as_json(cli("brand", "list", "--json"))] == ["Acme"]


# --- help ---------------------------------------------------------------------------------------


def command_paths(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    if isinstance(command, click.Group):
        ctx = click.Context(command)  # the top level imports its commands when asked
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None, name
            yield from command_paths(sub, (*path, name))


COMMANDS = list(command_paths(omnipost))


def test_the_command_tree_is_walked() -> None:
    assert len(COMMANDS) > 25
    assert ("variant", "mark-published") in COMMANDS
    assert ("db", "upgrade") in COMMANDS


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "omnipost")
def test_every_command_has_help(cli, home: Path, path: tuple[str, ...]) -> None:
    out = ok(cli(*path, "--help"))
    usage = out.splitlines()[0]
    assert usage.startswith("Usage: ")
    assert " ".join(path) in usage
    # Help never opens (or creates) the database.
    assert not (home / "omnipost.db").exists()


def test_bare_omnipost_prints_help(cli) -> None:
    out = ok(cli())
    assert "Usage: " in out
    assert "variant" in out


# --- text from stdin ----------------------------------------------------------------------------


def test_post_text_from_stdin(cli, acme: World) -> None:
    text = "Line one — with ünïcode ✓\n\nLine three (really)!\n"
    post = as_json(cli("post", "add", "--brand", "Acme", "--title", "From stdin", "--text", "-",
                       "--json", input=text))  # fmt: skip
    assert post["text"].rstrip("\n") == text.rstrip("\n")
    custom = as_json(cli("variant", "add", "--post", str(post["id"]), "--account", "2",
                         "--at", "+1h", "--text", "-", "--json", input="For LinkedIn"))  # fmt: skip
    assert custom["text"].rstrip("\n") == "For LinkedIn"


def test_text_exactly_at_the_platform_limit_is_accepted(cli, acme: World) -> None:
    for account, limit in (("Acme Page", 63_206), ("Acme LinkedIn", 3_000)):
        variant = as_json(cli("variant", "add", "--post", "1", "--account", account,
                              "--at", "+1h", "--text", "é" * limit, "--json"))  # fmt: skip
        assert len(variant["text"]) == limit


# --- accounts and tokens ------------------------------------------------------------------------


def test_token_from_stdin_is_stored_encrypted_and_never_shown(
    cli, home: Path, services: Context
) -> None:
    token = "EAAB-cli-SECRET-page-token-31337"
    ok(cli("brand", "add", "Acme"))
    results = [fb_token_add(cli, token=token)]
    account_id = new_id(results[0])
    for args in (
        ("account", "list"),
        ("account", "list", "--json"),
        ("account", "list", "--all", "--json"),
        ("config",),
        ("config", "--json"),
        ("status", "--json"),
    ):
        results.append(cli(*args))
    for result in results:
        ok(result)
        assert token not in result.output

    with services.db.read() as session:
        stored = session.get(ConnectedSocialAccount, account_id).access_token_encrypted
    assert token not in stored
    assert services.cipher.decrypt(stored) == token
    files = [path for path in home.rglob("*") if path.is_file()]
    assert home / "omnipost.db" in files
    for path in files:
        assert token.encode() not in path.read_bytes(), f"the token is in {path} in clear"


def test_account_remove_refuses_while_variants_are_scheduled(
    cli, home: Path, services: Context, acme: World
) -> None:
    def variant(*args: str) -> int:
        return new_id(cli("variant", "add", "--post", "1", *args))

    fb = variant("--account", "Acme Page", "--at", "+1h")
    fb_draft = variant("--account", "Acme Page", "--draft")
    li = variant("--account", "Acme LinkedIn", "--at", "+1h")

    line = assert_user_error(cli("account", "remove", "Acme Page"), "--unschedule")
    assert f"still has 1 scheduled variant(s) ({fb})" in line
    assert as_json(cli("variant", "show", str(fb), "--json"))["status"] == "scheduled"

    out = ok(cli("account", "remove", "Acme Page", "--unschedule"))
    assert out == f"account {acme.facebook_id} (Acme Page) removed; its tokens were erased\n"
    statuses = {v["id"]: v["status"] for v in as_json(cli("variant", "list", "--json"))}
    assert statuses == {fb: "draft", fb_draft: "draft", li: "scheduled"}
    assert ids(as_json(cli("account", "list", "--json"))) == [acme.linkedin_id]
    removed = as_json(cli("account", "list", "--all", "--json"))[0]
    assert (removed["id"], removed["status"]) == (acme.facebook_id, "revoked")
    with services.db.read() as session:
        assert session.get(ConnectedSocialAccount, acme.facebook_id).access_token_encrypted == ""


def test_a_removed_account_shows_no_token_expiry(cli, acme: World) -> None:
    ok(cli("account", "reconnect", "Acme Page", "--token-stdin", "--expires-at", "+60d",
           input="EAAB-expiring-token\n"))  # fmt: skip
    ok(cli("account", "remove", "Acme Page"))
    removed = next(a for a in as_json(cli("account", "list", "--all", "--json"))
                   if a["id"] == acme.facebook_id)  # fmt: skip
    assert (removed["status"], removed["token_expires_at"]) == ("revoked", None)
    row = next(line for line in ok(cli("account", "list", "--all")).splitlines()
               if "Acme Page" in line)  # fmt: skip
    assert "60d" not in row  # its tokens were erased: nothing left to expire


def test_account_reconnect_sets_it_connected_again(
    cli, fake_clock: FakeClock, services: Context, acme: World
) -> None:
    assert mark_account_expired(services, acme.facebook_id)
    [fb, _] = as_json(cli("account", "list", "--json"))
    assert fb["status"] == "expired"

    token = "EAAB-renewed-SECRET-token-777"
    result = cli("account", "reconnect", "Acme Page", "--token-stdin",
                 "--expires-at", "2027-02-01T00:00", input=token + "\n")  # fmt: skip
    assert ok(result) == f"account {acme.facebook_id} (Acme Page) is connected again\n"
    assert token not in result.output

    [fb, _] = as_json(cli("account", "list", "--json"))
    assert (fb["status"], fb["token_expires_at"]) == ("connected", "2027-02-01T00:00:00+01:00")
    with services.db.read() as session:
        stored = session.get(ConnectedSocialAccount, acme.facebook_id).access_token_encrypted
    assert services.cipher.decrypt(stored) == token
    new_id(cli("variant", "add", "--post", "1", "--account", "Acme Page", "--at", "+1h"))


def test_expected_times_assume_the_conftest_clock() -> None:
    # Many expected strings above are "now" of the fake clock shown in Berlin.
    assert T0.astimezone(BERLIN).isoformat() == "2026-12-02T09:00:00+01:00"


def test_schedule_from_cron_is_seen_as_a_sweep_without_a_row_per_run(cli) -> None:
    for _ in range(3):
        ok(cli("schedule"))
    report = as_json(cli("status", "--json"))
    assert report["last_sweep_at"] is not None
    assert report["worker_online"] is False  # a sweep is not a running worker
    assert len(report["workers"]) == 1  # one row per host, reused by every cron run


def test_attempts_say_the_error_code_once(
    cli, fake_clock: FakeClock, services: Context, acme: World
) -> None:
    variant = new_id(cli("variant", "add", "--post", "1", "--account", "Acme LinkedIn",
                         "--at", "+1m"))  # fmt: skip
    fake_clock.advance(60)
    claim = publishing.claim_variant(services, variant, fake_clock.now(), "test-worker")
    publishing.mark_sending(services, claim, fake_clock.now())
    record = publishing.AttemptRecord(
        "fail",
        401,
        error_code="REVOKED_ACCESS_TOKEN",
        error_message="LinkedIn error 401 REVOKED_ACCESS_TOKEN: the access token was revoked",
    )
    publishing.complete_attempt(
        services, claim, record, publishing.Outcome("failed"), fake_clock.now()
    )

    [row] = ok(cli("attempts")).splitlines()[1:]
    assert row.count("REVOKED_ACCESS_TOKEN") == 1, row
