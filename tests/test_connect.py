"""Connecting, reconnecting and staying connected, against the real sandbox: the CLI driven
through stdin as a script would (and as a real subprocess), bad input at every step, a real
worker publishing on what was connected, renewal before a publish, and the daily check."""

from __future__ import annotations

import html
import json
import re
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from click.testing import Result
from sqlalchemy import select, update

from omnipost_tui import clock
from omnipost_tui.config import load_settings
from omnipost_tui.connectors.redirect_listener import RedirectListener
from omnipost_tui.engine import token_watch
from omnipost_tui.engine.publisher import publish_variant
from omnipost_tui.engine.queue import huey_of, open_queue
from omnipost_tui.engine.sweep import sweep
from omnipost_tui.models import ConnectedSocialAccount
from omnipost_tui.sandbox import SandboxServer
from omnipost_tui.sandbox.run import omnipost_settings
from omnipost_tui.services import maintenance
from omnipost_tui.services.accounts import get_account, list_accounts, mark_account_expired
from omnipost_tui.services.brands import add_brand
from omnipost_tui.services.context import Context, open_context
from omnipost_tui.services.posts import add_post
from omnipost_tui.services.variants import add_variant, get_variant
from tests.conftest import FakeClock, omnipost_command, wait_for

VERSION = "v24.0"
APP_ID, APP_SECRET = "sandbox-app", "sandbox-app-secret"
LI_CLIENT, LI_SECRET = "sandbox-client", "sandbox-client-secret"
ACME_PAGE = "acme-coffee-page"  # one of the sandbox's demo pages
ACME_ORG = "urn:li:organization:2001"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Platforms:
    """A sandbox and the settings that point OmniPost (this process and its children) at it."""

    sandbox: SandboxServer
    env: dict[str, str]
    redirect_uri: str

    def approve(self, platform: str, state: str, *, which: str = "approve") -> str:
        """Open the consent page as a browser would and follow Approve (or Deny): the address
        the browser is sent to, as the user pastes it."""
        if platform == "facebook":
            page = f"{self.sandbox.url}/{VERSION}/dialog/oauth"
            client = APP_ID
        else:
            page = f"{self.sandbox.url}/oauth/v2/authorization"
            client = LI_CLIENT
        scopes = (
            load_settings().facebook_scopes
            if platform == "facebook"
            else load_settings().linkedin_scopes
        )
        query = {
            "response_type": "code",
            "client_id": client,
            "redirect_uri": self.redirect_uri,
            "state": state,
            "scope": " ".join(scopes),
        }
        return link(httpx.get(f"{page}?{urlencode(query)}").text, which)


def link(page: str, which: str) -> str:
    match = re.search(rf'<a id="{which}" href="([^"]+)"', page)
    assert match, page
    return html.unescape(match.group(1))


def point_at(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> str:
    redirect = f"http://localhost:{free_port()}/callback"
    values = {
        **omnipost_settings(sandbox.url),
        "OMNIPOST_OAUTH_REDIRECT_URI": redirect,
        "OMNIPOST_RETRY_BACKOFF": "1,1",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    env.update(values)
    return redirect


@pytest.fixture
def platforms(home, process_env, monkeypatch) -> Iterator[Platforms]:
    with SandboxServer() as server:
        yield Platforms(server, process_env, point_at(server, monkeypatch, process_env))


@pytest.fixture
def fixed_state(monkeypatch) -> str:
    """The attempt's state, known in advance (in-process runs cannot read it from the output
    before answering)."""
    monkeypatch.setattr("omnipost_tui.connectors.oauth.generate_token", lambda n: "the-state")
    return "the-state"


@pytest.fixture
def services(platforms) -> Iterator[Context]:
    ctx = open_context(load_settings(), open_queue=open_queue)
    yield ctx
    ctx.close()


def accounts(ctx: Context) -> list[Any]:
    return list_accounts(ctx, include_removed=True)


def refused(result: Result, *expected: str, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("error: "), result.stderr
    for text in expected:
        assert text in lines[-1], lines[-1]
    return lines[-1]


def stored_tokens(ctx: Context) -> list[str]:
    with ctx.db.read() as session:
        rows = session.scalars(select(ConnectedSocialAccount)).all()
        secrets = []
        for row in rows:
            secrets.append(ctx.cipher.decrypt(row.access_token_encrypted))
            if row.refresh_token_encrypted:
                secrets.append(ctx.cipher.decrypt(row.refresh_token_encrypted))
        return secrets


# --- connect through the CLI, in-process ---------------------------------------------------------


def test_connect_a_facebook_page_by_pasting_the_address(cli, platforms, services, fixed_state):
    add_brand(services, "Acme")
    pasted = platforms.approve("facebook", fixed_state)
    result = cli("account", "connect", "facebook", "--brand", "Acme", input=f"{pasted}\n3\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "connected: account 1 (Acme Coffee, facebook acme-coffee-page; token never expires)\n"
    )
    # The link came first, then the choice; what was pasted is never shown back.
    assert f"{platforms.sandbox.url}/{VERSION}/dialog/oauth?" in result.stderr
    assert "pages_show_list%2Cpages_manage_posts%2Cpages_read_engagement" in result.stderr
    assert "1  Sandbox Bakery" in result.stderr and "3  Acme Coffee" in result.stderr
    code = pasted.split("code=")[1].split("&")[0]
    assert code not in result.output
    [acme] = accounts(services)
    assert (acme.name, acme.external_id, acme.status) == ("Acme Coffee", ACME_PAGE, "connected")
    assert acme.token_never_expires and acme.token_expires_at is None
    for secret in stored_tokens(services):
        assert secret not in result.output


def test_connect_linkedin_member_and_organizations_with_both_expiries(
    cli, platforms, services, fixed_state
):
    add_brand(services, "Acme")
    pasted = platforms.approve("linkedin", fixed_state)
    result = cli(
        "account",
        "connect",
        "linkedin",
        "--brand",
        "Acme",
        "--author",
        ACME_ORG,
        "--author",
        "urn:li:person:sandbox-member-1",
        "--json",
        input=f"{pasted}\n",
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert [a["external_id"] for a in shown] == [ACME_ORG, "urn:li:person:sandbox-member-1"]
    assert {a["name"] for a in shown} == {"Acme Coffee Co.", "Sam Sandbox"}
    assert all(a["has_refresh_token"] and not a["token_never_expires"] for a in shown)
    with services.db.read() as session:
        row = session.scalar(
            select(ConnectedSocialAccount).where(ConnectedSocialAccount.external_id == ACME_ORG)
        )
        left = row.token_expires_at - datetime.now(UTC)
        assert timedelta(days=59) < left <= timedelta(days=60)
        assert row.refresh_token_expires_at - datetime.now(UTC) > timedelta(days=364)


def test_all_connects_every_page_not_connected_yet(cli, platforms, services, fixed_state):
    add_brand(services, "Acme")
    first = platforms.approve("facebook", fixed_state)
    assert (
        cli(
            "account",
            "connect",
            "facebook",
            "--brand",
            "Acme",
            "--page",
            ACME_PAGE,
            input=f"{first}\n",
        ).exit_code
        == 0
    )
    again = platforms.approve("facebook", fixed_state)
    result = cli("account", "connect", "facebook", "--brand", "Acme", "--all", input=f"{again}\n")
    assert result.exit_code == 0, result.output
    assert len(accounts(services)) == 5  # the sandbox's five pages, Acme Coffee once


@pytest.mark.parametrize(
    ("case", "expected", "code"),
    [
        ("deny", ("says the connection was not approved", "nothing was connected"), 2),
        ("another state", ("another connection attempt",), 2),
        ("no code", ("no code",), 2),
        ("garbage", ("does not look like",), 2),
        ("nothing pasted", ("nothing was pasted",), 2),
        # Stdin at its end is a script's mistake (exit 2); 130 is for Ctrl-C.
        ("no address", ("no answer on stdin (address (or code))", "first line"), 2),
        ("no choice", ("no answer on stdin", "--page"), 2),
        ("endless answer", ("the answer on stdin is longer than 65,536 bytes",), 2),
        ("out of range", ("'9' is not one of the numbers 1 to 5",), 2),
        ("page not granted", ("404999 is not among what Facebook granted",), 2),
        ("token endpoint html", ("could not connect with Facebook", "try again in a moment"), 2),
        ("token endpoint down", ("could not connect with Facebook", "try again in a moment"), 2),
        ("unknown brand", ("no brand",), 2),
    ],
)
def test_what_goes_wrong_is_one_line_and_nothing_is_stored(
    cli, platforms, services, fixed_state, case, expected, code
):
    add_brand(services, "Acme")
    pasted = platforms.approve("facebook", fixed_state)
    answers = f"{pasted}\n1\n"
    args = ["account", "connect", "facebook", "--brand", "Acme"]
    if case == "deny":
        answers = platforms.approve("facebook", fixed_state, which="deny") + "\n"
    elif case == "another state":
        answers = pasted.replace(fixed_state, "an-older-state") + "\n1\n"
    elif case == "no code":
        answers = f"{platforms.redirect_uri}?state={fixed_state}\n"
    elif case == "garbage":
        answers = "I clicked approve, I promise\n"
    elif case == "nothing pasted":
        answers = "\n"
    elif case == "no address":
        answers = ""
    elif case == "no choice":
        answers = f"{pasted}\n"
    elif case == "endless answer":
        answers = "x" * (64 * 1024 + 1)  # a "line" of < /dev/zero
    elif case == "out of range":
        answers = f"{pasted}\n9\n"
    elif case == "page not granted":
        args += ["--page", "404999"]
    elif case == "token endpoint html":
        platforms.sandbox.set_token_endpoint("html500")
    elif case == "token endpoint down":
        platforms.sandbox.set_token_endpoint("down")
    elif case == "unknown brand":
        args[4] = "Nobody"
    result = cli(*args, input=answers)
    line = refused(result, *expected, code=code)
    assert pasted.split("code=")[1].split("&")[0] not in result.output
    assert "sandbox-app-secret" not in result.output
    assert len(line) < 400
    assert accounts(services) == []


def test_a_code_is_used_once(cli, platforms, services, fixed_state):
    add_brand(services, "Acme")
    pasted = platforms.approve("facebook", fixed_state)
    ok = cli(
        "account",
        "connect",
        "facebook",
        "--brand",
        "Acme",
        "--page",
        ACME_PAGE,
        input=f"{pasted}\n",
    )
    assert ok.exit_code == 0, ok.output
    again = cli(
        "account",
        "connect",
        "facebook",
        "--brand",
        "Acme",
        "--page",
        "100000000000001",
        input=f"{pasted}\n",
    )
    refused(again, "has been used", "nothing was connected")
    assert [a.external_id for a in accounts(services)] == [ACME_PAGE]


def test_no_page_granted_says_how_to_grant_one(cli, home, process_env, monkeypatch, fixed_state):
    with SandboxServer(facebook_pages=()) as sandbox:
        platforms = Platforms(sandbox, process_env, point_at(sandbox, monkeypatch, process_env))
        ctx = open_context(load_settings(), open_queue=open_queue)
        add_brand(ctx, "Acme")
        pasted = platforms.approve("facebook", fixed_state)
        result = cli("account", "connect", "facebook", "--brand", "Acme", input=f"{pasted}\n")
        refused(result, "granted no Page", "choose the Pages")
        assert accounts(ctx) == []
        ctx.close()


def test_missing_app_credentials_are_named_before_any_link(cli, platforms, services, monkeypatch):
    add_brand(services, "Acme")
    monkeypatch.delenv("OMNIPOST_FACEBOOK_APP_SECRET")
    result = cli("account", "connect", "facebook", "--brand", "Acme", input="\n")
    refused(result, "OMNIPOST_FACEBOOK_APP_SECRET", "--token-stdin")
    assert "dialog/oauth" not in result.output


# --- the loopback listener -----------------------------------------------------------------------


def test_listen_takes_the_browser_back_and_the_page_given(platforms, services):
    add_brand(services, "Acme")
    proc = subprocess.Popen(
        [
            *omnipost_command(),
            "account",
            "connect",
            "facebook",
            "--brand",
            "Acme",
            "--listen",
            "--timeout",
            "30",
            "--page",
            ACME_PAGE,
        ],
        env=platforms.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: list[str] = []
    try:
        url = read_link(proc, seen)
        browser = httpx.get(link(httpx.get(url).text, "approve").replace("localhost", "127.0.0.1"))
        assert browser.status_code == 200 and "close this tab" in browser.text
        # Not communicate(): it reads the pipes past what read_link's readline buffered.
        out, err = proc.stdout.read(), proc.stderr.read()
        proc.wait(timeout=30)
    finally:
        proc.kill()
    err = "".join(seen) + err
    assert proc.returncode == 0, err
    assert "Waiting on 127.0.0.1:" in err
    assert out.startswith("connected: account 1 (Acme Coffee")
    # The listener is gone: the next connect can listen on its port again.
    with RedirectListener(platforms.redirect_uri, "next") as again:
        assert again.received() is None


def test_listen_on_a_busy_port_or_for_too_long_is_one_line(cli, platforms, services):
    add_brand(services, "Acme")
    port = int(platforms.redirect_uri.split(":")[2].split("/")[0])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        busy = cli("account", "connect", "facebook", "--brand", "Acme", "--listen")
        refused(busy, f"port {port}", "in use")
    late = cli("account", "connect", "facebook", "--brand", "Acme", "--listen", "--timeout", "1")
    refused(late, "no browser came back", "ssh -L")
    assert accounts(services) == []


def read_link(proc: subprocess.Popen, seen: list[str] | None = None) -> str:
    """The authorize link the command prints (with its other steps, on stderr); the lines read
    go to ``seen`` (and the rest is read from the same file objects, not with communicate(),
    which reads the pipe past what readline buffered)."""
    assert proc.stderr is not None
    for _ in range(20):
        line = proc.stderr.readline()
        if seen is not None:
            seen.append(line)
        found = re.search(r"(http://\S+/(?:dialog/oauth|oauth/v2/authorization)\?\S+)", line)
        if found:
            return found.group(1)
    raise AssertionError("no authorize link printed")


# --- end to end: connect through stdin, then a worker publishes there ---------------------------


def test_connected_accounts_publish_with_a_real_worker(platforms, services, start_worker, tmp_path):
    add_brand(services, "Acme")
    outputs = []
    for platform, choice in (("facebook", "3"), ("linkedin", "2")):
        proc = subprocess.Popen(
            [*omnipost_command(), "account", "connect", platform, "--brand", "Acme"],
            env=platforms.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        seen: list[str] = []
        pasted = link(httpx.get(read_link(proc, seen)).text, "approve")
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        proc.stdin.write(f"{pasted}\n{choice}\n")
        proc.stdin.close()
        out, err = proc.stdout.read(), "".join(seen) + proc.stderr.read()
        assert proc.wait(timeout=60) == 0, err
        outputs.append(out + err)
    by_id = {a.external_id: a.id for a in accounts(services)}
    assert set(by_id) == {ACME_PAGE, ACME_ORG}

    post = add_post(services, brand="Acme", title="Hello", text="Connected by signing in").id
    soon = clock.now() + timedelta(seconds=3)
    variants = [add_variant(services, post=post, account=by_id[x], at=soon).id for x in by_id]
    worker = start_worker()
    wait_for(
        lambda: all(get_variant(services, v).status == "published" for v in variants),
        timeout=30,
        what="both posts to go out",
    )
    assert sorted(p.account for p in platforms.sandbox.posts) == sorted([ACME_PAGE, ACME_ORG])
    # Not a token anywhere a person or a log would see it.
    worker.stop()
    secrets = [*stored_tokens(services), APP_SECRET, LI_SECRET]
    logs = [
        p.read_text(errors="replace")
        for p in Path(platforms.env["OMNIPOST_HOME"]).rglob("*.log*")
        if p.is_file()
    ]
    with services.db.read() as session:
        from omnipost_tui.models import PublicationAttempt

        attempts = [
            json.dumps([a.request_summary, a.raw_response, a.error_message])
            for a in session.scalars(select(PublicationAttempt)).all()
        ]
    for text in [*outputs, worker.output(), *logs, *attempts]:
        for secret in secrets:
            assert secret not in text


# --- reconnect -----------------------------------------------------------------------------------


def connect_via(cli, platforms, state: str, platform: str, *choice: str) -> None:
    pasted = platforms.approve(platform, state)
    result = cli("account", "connect", platform, "--brand", "Acme", *choice, input=f"{pasted}\n")
    assert result.exit_code == 0, result.output


def test_reconnect_an_expired_account_and_retry_what_failed(cli, platforms, services, fixed_state):
    add_brand(services, "Acme")
    connect_via(cli, platforms, fixed_state, "facebook", "--page", ACME_PAGE)
    [acme] = accounts(services)
    post = add_post(services, brand="Acme", title="Sale", text="Winter sale").id
    variant = add_variant(services, post=post, account=acme.id, at=clock.now() + timedelta(hours=1))
    assert mark_account_expired(services, acme.id)
    with services.db.write() as session:  # what the engine does when it meets the expired token
        from omnipost_tui.models import PostVariant

        session.execute(
            update(PostVariant)
            .where(PostVariant.id == variant.id)
            .values(status="failed", last_error="token expired", updated_at=clock.now())
        )

    pasted = platforms.approve("facebook", fixed_state)
    result = cli(
        "account", "reconnect", str(acme.id), "--retry-failed", "--json", input=f"{pasted}\n"
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["status"] == "connected" and shown["retried"] == [variant.id]
    assert get_account(services, acme.id).status == "connected"
    assert get_variant(services, variant.id).status == "scheduled"
    # And it goes out, with the new token.
    assert publish_variant(services, variant.id) == "published"
    assert [p.account for p in platforms.sandbox.posts] == [ACME_PAGE]


def test_reconnect_without_the_flag_says_how_to_retry(cli, platforms, services, fixed_state):
    add_brand(services, "Acme")
    connect_via(cli, platforms, fixed_state, "facebook", "--page", ACME_PAGE)
    [acme] = accounts(services)
    post = add_post(services, brand="Acme", title="Sale", text="Winter sale").id
    variant = add_variant(services, post=post, account=acme.id, at=clock.now() + timedelta(hours=1))
    assert mark_account_expired(services, acme.id)
    with services.db.write() as session:
        from omnipost_tui.models import PostVariant

        session.execute(
            update(PostVariant)
            .where(PostVariant.id == variant.id)
            .values(status="failed", last_error="the token expired", updated_at=clock.now())
        )
    pasted = platforms.approve("facebook", fixed_state)
    result = cli("account", "reconnect", str(acme.id), input=f"{pasted}\n")
    assert result.exit_code == 0, result.output
    assert f"omnipost retry {variant.id} (or pass --retry-failed)" in result.stdout
    assert get_variant(services, variant.id).status == "failed"


def test_reconnect_refuses_another_page(cli, home, process_env, monkeypatch, fixed_state):
    with SandboxServer() as first:
        platforms = Platforms(first, process_env, point_at(first, monkeypatch, process_env))
        ctx = open_context(load_settings(), open_queue=open_queue)
        add_brand(ctx, "Acme")
        connect_via(cli, platforms, fixed_state, "facebook", "--page", ACME_PAGE)
        [acme] = accounts(ctx)
        mark_account_expired(ctx, acme.id)
    # Signed in as someone who manages other pages only.
    with SandboxServer(facebook_pages=[("555", "Other Page")]) as second:
        platforms = Platforms(second, process_env, point_at(second, monkeypatch, process_env))
        pasted = platforms.approve("facebook", fixed_state)
        result = cli("account", "reconnect", str(acme.id), input=f"{pasted}\n")
        refused(
            result, f"account {acme.id} is Acme Coffee", "granted Other Page", "nothing was changed"
        )
        assert get_account(ctx, acme.id).status == "expired"
    ctx.close()


def test_reconnect_keeps_a_refresh_token_the_platform_did_not_replace(
    cli, home, process_env, monkeypatch, fixed_state
):
    with SandboxServer() as first:
        platforms = Platforms(first, process_env, point_at(first, monkeypatch, process_env))
        ctx = open_context(load_settings(), open_queue=open_queue)
        add_brand(ctx, "Acme")
        connect_via(cli, platforms, fixed_state, "linkedin", "--author", ACME_ORG)
        [org] = accounts(ctx)
        with ctx.db.read() as session:
            before = session.get(ConnectedSocialAccount, org.id).refresh_token_encrypted
    with SandboxServer(linkedin_refresh_tokens=False) as second:
        platforms = Platforms(second, process_env, point_at(second, monkeypatch, process_env))
        pasted = platforms.approve("linkedin", fixed_state)
        assert cli("account", "reconnect", str(org.id), input=f"{pasted}\n").exit_code == 0
    with ctx.db.read() as session:
        row = session.get(ConnectedSocialAccount, org.id)
        assert row.refresh_token_encrypted == before
    ctx.close()


# --- staying connected ---------------------------------------------------------------------------


def connected_org(cli, platforms, services, state: str, expires_in: timedelta) -> int:
    add_brand(services, "Acme")
    connect_via(cli, platforms, state, "linkedin", "--author", ACME_ORG)
    [org] = accounts(services)
    with services.db.write() as session:
        session.execute(
            update(ConnectedSocialAccount)
            .where(ConnectedSocialAccount.id == org.id)
            .values(token_expires_at=clock.now() + expires_in)
        )
    return org.id


def refreshes(sandbox: SandboxServer) -> int:
    """Tokens the sandbox issued so far (a refresh issues one)."""
    return int(sandbox.oauth_counts["tokens_issued"])


def test_a_token_about_to_expire_is_renewed_before_the_publish(
    cli, platforms, services, fixed_state, monkeypatch
):
    monkeypatch.setenv("OMNIPOST_QUEUE_URL", "memory://")
    ctx = open_context(load_settings(), open_queue=open_queue)
    org = connected_org(cli, platforms, ctx, fixed_state, timedelta(minutes=3))
    post = add_post(ctx, brand="Acme", title="Soon", text="Out in a moment").id
    variant = add_variant(ctx, post=post, account=org, at=clock.now() + timedelta(seconds=1)).id
    before = refreshes(platforms.sandbox)
    clock_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: clock_now() + timedelta(seconds=2))
    assert publish_variant(ctx, variant) == "published"
    assert refreshes(platforms.sandbox) == before + 1
    renewed = get_account(ctx, org)
    assert renewed.token_expires_at - datetime.now(UTC) > timedelta(days=59)
    assert [p.account for p in platforms.sandbox.posts] == [ACME_ORG]
    ctx.close()


def test_a_token_far_from_expiry_is_not_renewed(cli, platforms, fixed_state, monkeypatch):
    monkeypatch.setenv("OMNIPOST_QUEUE_URL", "memory://")
    ctx = open_context(load_settings(), open_queue=open_queue)
    org = connected_org(cli, platforms, ctx, fixed_state, timedelta(days=30))
    post = add_post(ctx, brand="Acme", title="Later", text="Plenty of time").id
    variant = add_variant(ctx, post=post, account=org, at=clock.now() + timedelta(seconds=1)).id
    before = refreshes(platforms.sandbox)
    clock_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: clock_now() + timedelta(seconds=2))
    assert publish_variant(ctx, variant) == "published"
    assert refreshes(platforms.sandbox) == before
    ctx.close()


def test_the_daily_check_runs_once_a_day_at_its_hour_and_renews(
    cli, platforms, fixed_state, monkeypatch
):
    monkeypatch.setenv("OMNIPOST_QUEUE_URL", "memory://")
    monkeypatch.setenv("OMNIPOST_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("OMNIPOST_TOKEN_CHECK_HOUR", "6")
    ctx = open_context(load_settings(), open_queue=open_queue)
    org = connected_org(cli, platforms, ctx, fixed_state, timedelta(days=3))
    huey = huey_of(ctx)
    fake = FakeClock(datetime(2026, 12, 3, 4, 59, tzinfo=UTC))  # 05:59 in Berlin
    clock.install(fake)
    try:
        assert sweep(ctx).token_check is False
        fake.current = datetime(2026, 12, 3, 5, 0, tzinfo=UTC)  # 06:00 in Berlin
        assert sweep(ctx).token_check is True
        assert sweep(ctx).token_check is False  # once a day, however many sweeps
        assert maintenance.last_run(ctx, maintenance.TOKEN_CHECK) == fake.current
        tasks = [t for t in iter(huey.dequeue, None) if t.name == "omnipost.check_tokens"]
        assert len(tasks) == 1
        before = refreshes(platforms.sandbox)
        outcomes = token_watch.check_tokens(ctx)
        assert [(o.account_id, o.ok) for o in outcomes] == [(org, True)]
        assert refreshes(platforms.sandbox) == before + 1
        assert get_account(ctx, org).token_expires_at - fake.current > timedelta(days=59)
        # The next day: claimed again, but nothing needs renewing, so nothing is queued.
        fake.current = datetime(2026, 12, 4, 6, 0, tzinfo=UTC)
        assert sweep(ctx).token_check is False
        assert maintenance.last_run(ctx, maintenance.TOKEN_CHECK) == fake.current
    finally:
        clock.install(None)
        ctx.close()


def test_watch_expiry_lists_and_renews_what_it_can(cli, platforms, services, fixed_state):
    org = connected_org(cli, platforms, services, fixed_state, timedelta(days=2))
    listed = cli("account", "watch-expiry", "--json")
    assert listed.exit_code == 1
    [row] = json.loads(listed.stdout)
    assert (row["id"], row["renewable"]) == (org, True)
    renewed = cli("account", "watch-expiry", "--refresh")
    assert renewed.exit_code == 0, renewed.output
    assert f"account {org} (Acme Coffee Co.): renewed" in renewed.stdout
    quiet = cli("account", "watch-expiry")
    assert quiet.exit_code == 0 and "no account's token expires within 7d" in quiet.stdout


def test_doctor_says_when_each_account_last_published_and_its_expiry(
    cli, platforms, services, fixed_state
):
    add_brand(services, "Acme")
    connect_via(cli, platforms, fixed_state, "facebook", "--page", ACME_PAGE)
    result = cli("doctor", "--json")
    check = next(c for c in json.loads(result.stdout)["checks"] if c["name"] == "accounts")
    assert check["detail"] == (
        "1 brand, 1 connected account: Acme Coffee (#1): not published yet, token never expires"
    )


def controlling_terminal() -> None:
    """In the child: a session of its own, with stdin (the pty) as its terminal."""
    import fcntl
    import os
    import termios

    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def test_ctrl_c_at_the_prompt_is_one_line_and_stores_nothing(platforms, services):
    """In a real terminal, as a user would: the hidden prompt, Ctrl-C."""
    import os
    import pty
    import threading

    add_brand(services, "Acme")
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [*omnipost_command(), "account", "connect", "facebook", "--brand", "Acme"],
        env={**platforms.env, "TERM": "xterm"},
        stdin=slave,
        stdout=slave,
        stderr=slave,
        preexec_fn=controlling_terminal,  # so that Ctrl-C is a SIGINT, as in a real terminal
    )
    os.close(slave)
    screen = bytearray()

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            screen.extend(data)

    threading.Thread(target=drain, daemon=True).start()
    try:
        wait_for(lambda: b"Address (or code)" in screen, timeout=30, what="the prompt")
        os.write(master, b"\x03")
        assert proc.wait(timeout=30) == 130
        wait_for(lambda: b"nothing was connected" in screen, timeout=10, what="the last line")
        assert b"Traceback" not in screen
        assert b"error: cancelled; nothing was connected" in screen
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    assert accounts(services) == []


# --- what a review found: renewal races, outages, and what counts as failed by expiry ----------


def test_a_token_renewed_elsewhere_meanwhile_is_not_marked_expired(
    cli, platforms, fixed_state, monkeypatch
):
    """Another worker renews the (expired) token between our read and our check: the account
    stays connected and the post goes out with the new token."""
    monkeypatch.setenv("OMNIPOST_QUEUE_URL", "memory://")
    ctx = open_context(load_settings(), open_queue=open_queue)
    org = connected_org(cli, platforms, ctx, fixed_state, -timedelta(minutes=1))
    post = add_post(ctx, brand="Acme", title="Race", text="Renewed elsewhere").id
    variant = add_variant(ctx, post=post, account=org, at=clock.now() + timedelta(seconds=1)).id
    from omnipost_tui.services import tokens

    real = tokens.refresh_account

    def renewed_by_another_worker(ctx_: Context, ref: int | str):
        real(ctx_, ref)  # the other worker's renewal lands first…
        from omnipost_tui.errors import ConflictError

        raise ConflictError("reconnected or removed meanwhile")  # …and ours loses the race

    monkeypatch.setattr(tokens, "refresh_account", renewed_by_another_worker)
    clock_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: clock_now() + timedelta(seconds=2))
    assert publish_variant(ctx, variant) == "published"
    assert get_account(ctx, org).status == "connected"
    ctx.close()


def test_a_renewal_the_platform_cannot_answer_now_is_retried_not_failed(
    cli, platforms, fixed_state, monkeypatch
):
    monkeypatch.setenv("OMNIPOST_QUEUE_URL", "memory://")
    ctx = open_context(load_settings(), open_queue=open_queue)
    org = connected_org(cli, platforms, ctx, fixed_state, -timedelta(minutes=1))
    post = add_post(ctx, brand="Acme", title="Outage", text="LinkedIn is down").id
    variant = add_variant(ctx, post=post, account=org, at=clock.now() + timedelta(seconds=1)).id
    platforms.sandbox.set_token_endpoint("html500")
    clock_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: clock_now() + timedelta(seconds=2))
    assert publish_variant(ctx, variant) == "retrying"
    after = get_variant(ctx, variant)
    assert "could not be renewed just now" in after.last_error
    assert get_account(ctx, org).status == "connected"  # an outage is not the account's end
    assert platforms.sandbox.posts == []
    ctx.close()


def test_only_failures_caused_by_the_expiry_are_offered_for_retry(
    cli, platforms, services, fixed_state
):
    from omnipost_tui.models import PostVariant
    from omnipost_tui.services.connect import failed_by_expiry

    add_brand(services, "Acme")
    connect_via(cli, platforms, fixed_state, "facebook", "--page", ACME_PAGE)
    [acme] = accounts(services)
    post = add_post(services, brand="Acme", title="Two", text="Two failures").id
    later = clock.now() + timedelta(hours=1)
    by_token, by_content = (
        add_variant(services, post=post, account=acme.id, at=later).id for _ in "ab"
    )
    assert mark_account_expired(services, acme.id)
    with services.db.write() as session:
        for vid, why in (
            (by_token, "Facebook says the token of Acme Coffee expired"),
            (by_content, "Facebook refused the post: (#100) content rejected"),
        ):
            session.execute(
                update(PostVariant).where(PostVariant.id == vid)
                .values(status="failed", last_error=why, updated_at=clock.now())
            )  # fmt: skip
    assert failed_by_expiry(services, acme.id) == [by_token]
    pasted = platforms.approve("facebook", fixed_state)
    assert cli("account", "reconnect", str(acme.id), input=f"{pasted}\n").exit_code == 0
    assert failed_by_expiry(services, acme.id) == []  # connected again: nothing to offer


def test_all_when_every_page_is_connected_says_so(cli, platforms, services, fixed_state):
    add_brand(services, "Acme")
    connect_via(cli, platforms, fixed_state, "facebook", "--all")
    pasted = platforms.approve("facebook", fixed_state)
    result = cli("account", "connect", "facebook", "--brand", "Acme", "--all", input=f"{pasted}\n")
    refused(result, "connected already", "omnipost account reconnect")


def test_listen_needs_a_redirect_uri_on_this_machine(cli, platforms, services, monkeypatch):
    add_brand(services, "Acme")
    monkeypatch.setenv("OMNIPOST_OAUTH_REDIRECT_URI", "https://omnipost.example.com/callback")
    result = cli("account", "connect", "facebook", "--brand", "Acme", "--listen")
    refused(result, "not an http address on this machine", "paste the address")
