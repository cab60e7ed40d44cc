"""Token refresh and check: the HTTP calls (respx), the service and the CLI (real sandbox)."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from click.testing import Result

from omnipost_tui import clock
from omnipost_tui.config import load_settings
from omnipost_tui.connectors import Permanent, PlatformError, TokenExpired, Transient
from omnipost_tui.connectors import tokens as conn
from omnipost_tui.engine.queue import open_queue
from omnipost_tui.errors import ConflictError, ValidationError
from omnipost_tui.models import ConnectedSocialAccount
from omnipost_tui.sandbox import SandboxServer
from omnipost_tui.sandbox.payloads import PAGE_TOKEN_PREFIX
from omnipost_tui.services import accounts, tokens
from omnipost_tui.services.accounts import add_account, mark_account_expired, reconnect_account
from omnipost_tui.services.brands import add_brand, list_brands
from omnipost_tui.services.context import Context, open_context
from tests.conftest import T0, FakeClock
from tests.test_cli_errors import assert_user_error

GRAPH = "https://graph.test"
OAUTH = "https://www.linkedin.test"
APP_ID = "1234567890"
APP_SECRET = "app-SECRET-5a5a5a5a"
LI_CLIENT_ID = "li-client-77"
LI_CLIENT_SECRET = "li-client-SECRET-9c9c9c"
USER_TOKEN = "EAAB-user-SECRET-short-1111"
NEW_TOKEN = "EAAB-user-SECRET-long-2222"
PAGE_SECRET = "EAAB-page-SECRET-3333"
REFRESH = "AQX-refresh-SECRET-4444"
LI_NEW = "AQV-access-SECRET-5555"
SIXTY_DAYS = 5_184_000
SECRETS = (APP_SECRET, LI_CLIENT_SECRET, USER_TOKEN, NEW_TOKEN, PAGE_SECRET, REFRESH, LI_NEW)


def graph_error(code: int, message: str, status: int = 400) -> httpx.Response:
    body = {
        "error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "x"}
    }
    return httpx.Response(status, json=body)


def assert_clean(err: BaseException) -> None:
    """Nothing secret in anything an error can show, store or chain."""
    shown = [str(err), repr(err), " ".join(map(str, err.args))]
    if isinstance(err, PlatformError):
        shown += [err.raw_body or "", json.dumps(err.request_summary)]
    for text in shown:
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} leaked into {text!r}"
    # A chained httpx exception would carry the request URL (with every secret) in tracebacks.
    assert err.__cause__ is None
    assert err.__context__ is None


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=True) as router:
        yield router


def exchange() -> conn.TokenGrant:
    return conn.facebook_exchange_token(GRAPH, "v24.0", APP_ID, APP_SECRET, USER_TOKEN, 5.0)


def debug() -> conn.TokenInfo:
    return conn.facebook_debug_token(GRAPH, "v24.0", APP_ID, APP_SECRET, USER_TOKEN, 5.0)


def li_refresh() -> conn.TokenGrant:
    return conn.linkedin_refresh(OAUTH, LI_CLIENT_ID, LI_CLIENT_SECRET, REFRESH, 5.0)


def li_introspect() -> conn.TokenInfo:
    return conn.linkedin_introspect(OAUTH, LI_CLIENT_ID, LI_CLIENT_SECRET, LI_NEW, 5.0)


EXCHANGE_URL = f"{GRAPH}/v24.0/oauth/access_token"
DEBUG_URL = f"{GRAPH}/v24.0/debug_token"
ACCOUNTS_URL = f"{GRAPH}/v24.0/me/accounts"
REFRESH_URL = f"{OAUTH}/oauth/v2/accessToken"
INTROSPECT_URL = f"{OAUTH}/oauth/v2/introspectToken"

CALLS: dict[str, tuple[str, str, Callable[[], Any]]] = {
    "exchange": ("GET", EXCHANGE_URL, exchange),
    "debug_token": ("GET", DEBUG_URL, debug),
    "linkedin_refresh": ("POST", REFRESH_URL, li_refresh),
    "linkedin_introspect": ("POST", INTROSPECT_URL, li_introspect),
}


CALL_SECRETS = {
    "exchange": (APP_SECRET, USER_TOKEN, f"{APP_ID}|{APP_SECRET}"),
    "debug_token": (APP_SECRET, USER_TOKEN, f"{APP_ID}|{APP_SECRET}"),
    "linkedin_refresh": (LI_CLIENT_SECRET, REFRESH),
    "linkedin_introspect": (LI_CLIENT_SECRET, LI_NEW),
}


def fails(call: Callable[[], Any], kind: type[PlatformError]) -> PlatformError:
    with pytest.raises(PlatformError) as info:
        call()
    assert type(info.value) is kind, repr(info.value)
    assert_clean(info.value)
    return info.value


# --- connectors: Facebook -------------------------------------------------------------------


def test_exchange_sends_the_grant_and_returns_a_long_lived_token(
    mock: respx.MockRouter, fake_clock: FakeClock
) -> None:
    route = mock.get(EXCHANGE_URL).respond(
        200, json={"access_token": NEW_TOKEN, "token_type": "bearer", "expires_in": SIXTY_DAYS}
    )

    grant = exchange()

    assert grant.access_token == NEW_TOKEN
    assert grant.expires_at == T0 + timedelta(days=60)
    assert NEW_TOKEN not in repr(grant)
    sent = parse_qs(route.calls.last.request.url.query.decode())
    assert sent == {
        "grant_type": ["fb_exchange_token"],
        "client_id": [APP_ID],
        "client_secret": [APP_SECRET],
        "fb_exchange_token": [USER_TOKEN],
    }


def test_exchange_without_expires_in_has_no_expiry(mock: respx.MockRouter) -> None:
    mock.get(EXCHANGE_URL).respond(200, json={"access_token": NEW_TOKEN})
    assert exchange().expires_at is None


def test_exchange_of_an_expired_token_is_token_expired(mock: respx.MockRouter) -> None:
    mock.get(EXCHANGE_URL).mock(
        return_value=graph_error(190, f"Error validating access token {USER_TOKEN}: expired")
    )
    err = fails(exchange, TokenExpired)
    assert "190" in str(err) and "Error validating access token" in str(err)


@pytest.mark.parametrize(
    ("code", "message"),
    [(1, "Error validating client secret."), (101, "Error validating application.")],
)
def test_exchange_with_bad_app_credentials_is_permanent(
    mock: respx.MockRouter, code: int, message: str
) -> None:
    mock.get(EXCHANGE_URL).mock(return_value=graph_error(code, message))
    err = fails(exchange, Permanent)
    assert "OMNIPOST_FACEBOOK_APP_ID" in str(err) and message in str(err)


def test_exchange_answer_without_a_token_is_permanent(mock: respx.MockRouter) -> None:
    mock.get(EXCHANGE_URL).respond(200, json={"token_type": "bearer"})
    assert "without an access token" in str(fails(exchange, Permanent))


def test_debug_token_reports_validity_expiry_and_scopes(mock: respx.MockRouter) -> None:
    expires = int(datetime(2027, 2, 1, tzinfo=UTC).timestamp())
    route = mock.get(DEBUG_URL).respond(
        200,
        json={"data": {"is_valid": True, "expires_at": expires, "scopes": ["pages_manage_posts"]}},
    )

    info = debug()

    assert info == conn.TokenInfo(True, datetime(2027, 2, 1, tzinfo=UTC), ("pages_manage_posts",))
    sent = parse_qs(route.calls.last.request.url.query.decode())
    # The app access token is "{app-id}|{app-secret}".
    assert sent == {"input_token": [USER_TOKEN], "access_token": [f"{APP_ID}|{APP_SECRET}"]}


def test_debug_token_expires_at_zero_means_never(mock: respx.MockRouter) -> None:
    mock.get(DEBUG_URL).respond(200, json={"data": {"is_valid": True, "expires_at": 0}})
    assert debug() == conn.TokenInfo(True, None, (), never_expires=True)


def test_debug_token_of_an_invalid_token_is_an_answer_not_an_error(
    mock: respx.MockRouter,
) -> None:
    mock.get(DEBUG_URL).respond(
        200, json={"data": {"is_valid": False, "expires_at": 1_700_000_000, "scopes": []}}
    )
    info = debug()
    assert not info.is_valid
    assert info.expires_at == datetime.fromtimestamp(1_700_000_000, UTC)


def test_debug_token_rejecting_the_app_token_is_about_the_app_not_the_account(
    mock: respx.MockRouter,
) -> None:
    # On /debug_token a 190 is about the app access token: it must not expire the account.
    mock.get(DEBUG_URL).mock(return_value=graph_error(190, "Invalid OAuth access token signature."))
    assert "OMNIPOST_FACEBOOK_APP_SECRET" in str(fails(debug, Permanent))


def test_page_tokens_follow_paging(mock: respx.MockRouter) -> None:
    second = f"{ACCOUNTS_URL}?access_token={NEW_TOKEN}&after=abc"
    mock.get(ACCOUNTS_URL, params={"after": "abc"}).respond(
        200, json={"data": [{"id": "2", "name": "Two", "access_token": PAGE_SECRET + "-2"}]}
    )
    first = mock.get(ACCOUNTS_URL, params={"limit": "100"}).respond(
        200,
        json={
            "data": [{"id": "1", "name": "One", "access_token": PAGE_SECRET}],
            "paging": {"next": second},
        },
    )

    pages = conn.facebook_page_tokens(GRAPH, "v24.0", NEW_TOKEN, 5.0)

    assert [(p.page_id, p.name, p.access_token) for p in pages] == [
        ("1", "One", PAGE_SECRET),
        ("2", "Two", PAGE_SECRET + "-2"),
    ]
    assert PAGE_SECRET not in repr(pages)
    assert first.calls.last.request.url.params["access_token"] == NEW_TOKEN


# --- connectors: LinkedIn -------------------------------------------------------------------


def test_linkedin_refresh_posts_the_form_and_returns_both_tokens(
    mock: respx.MockRouter, fake_clock: FakeClock
) -> None:
    route = mock.post(REFRESH_URL).respond(
        200,
        json={
            "access_token": LI_NEW,
            "expires_in": SIXTY_DAYS,
            "refresh_token": REFRESH,
            "refresh_token_expires_in": 31_536_000,
        },
    )

    grant = li_refresh()

    assert (grant.access_token, grant.refresh_token) == (LI_NEW, REFRESH)
    assert grant.expires_at == T0 + timedelta(days=60)
    assert grant.refresh_token_expires_at == T0 + timedelta(days=365)
    request = route.calls.last.request
    assert not request.url.query  # secrets go in the body, never in the URL
    assert parse_qs(request.content.decode()) == {
        "grant_type": ["refresh_token"],
        "refresh_token": [REFRESH],
        "client_id": [LI_CLIENT_ID],
        "client_secret": [LI_CLIENT_SECRET],
    }
    assert LI_NEW not in repr(grant) and REFRESH not in repr(grant)


def test_linkedin_refresh_with_a_revoked_refresh_token_is_token_expired(
    mock: respx.MockRouter,
) -> None:
    mock.post(REFRESH_URL).respond(
        400,
        json={
            "error": "invalid_request",
            "error_description": f"The provided refresh token {REFRESH} is invalid, expired or "
            "revoked",
        },
    )
    assert "invalid, expired or revoked" in str(fails(li_refresh, TokenExpired))


def test_linkedin_refresh_invalid_grant_is_token_expired(mock: respx.MockRouter) -> None:
    mock.post(REFRESH_URL).respond(400, json={"error": "invalid_grant", "error_description": "no"})
    fails(li_refresh, TokenExpired)


def test_linkedin_bad_client_credentials_are_permanent(mock: respx.MockRouter) -> None:
    mock.post(REFRESH_URL).respond(
        401, json={"error": "invalid_client", "error_description": "Client authentication failed"}
    )
    err = fails(li_refresh, Permanent)
    assert "OMNIPOST_LINKEDIN_CLIENT_ID" in str(err) and "Client authentication failed" in str(err)


def test_linkedin_introspection(mock: respx.MockRouter) -> None:
    expires = int(datetime(2027, 2, 1, tzinfo=UTC).timestamp())
    route = mock.post(INTROSPECT_URL).respond(
        200,
        json={"active": True, "status": "active", "expires_at": expires, "scope": "a,b"},
    )
    assert li_introspect() == conn.TokenInfo(True, datetime(2027, 2, 1, tzinfo=UTC), ("a", "b"))
    assert parse_qs(route.calls.last.request.content.decode())["token"] == [LI_NEW]

    route.respond(200, json={"active": False, "status": "revoked"})
    assert li_introspect() == conn.TokenInfo(False, None, ())


# --- connectors: failures shared by every call ----------------------------------------------


@pytest.mark.parametrize("name", CALLS)
@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_transient(mock: respx.MockRouter, name: str, status: int) -> None:
    method, url, call = CALLS[name]
    mock.request(method, url).respond(status, html="<html><h1>Service Unavailable</h1></html>")
    message = str(fails(call, Transient))
    assert f"HTTP {status}" in message or f"{status} {status}: server error" in message


@pytest.mark.parametrize("name", CALLS)
def test_timeouts_are_transient_and_carry_no_url(mock: respx.MockRouter, name: str) -> None:
    method, url, call = CALLS[name]

    def time_out(request: httpx.Request) -> httpx.Response:
        # httpx messages may quote the request URL, which holds Facebook's secrets.
        raise httpx.ReadTimeout(f"timed out reading {request.url}", request=request)

    mock.request(method, url).mock(side_effect=time_out)
    assert "did not answer within 5s" in str(fails(call, Transient))


@pytest.mark.parametrize("name", CALLS)
def test_refused_connections_are_transient_and_carry_no_url(
    mock: respx.MockRouter, name: str
) -> None:
    method, url, call = CALLS[name]

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot connect for {request.url} {request.content!r}")

    mock.request(method, url).mock(side_effect=refuse)
    assert "could not reach" in str(fails(call, Transient))


@pytest.mark.parametrize("name", CALLS)
def test_secrets_echoed_in_an_error_body_are_masked(mock: respx.MockRouter, name: str) -> None:
    method, url, call = CALLS[name]
    # What the call itself sent: a platform can only echo those back.
    echo = " ".join(CALL_SECRETS[name])
    if "linkedin" in name:
        body = {"error": "invalid_request", "error_description": f"bad request: {echo}"}
    else:
        body = {
            "error": {"message": f"(#100) bad: {echo}", "type": "GraphMethodException", "code": 100}
        }
    mock.request(method, url).respond(400, json=body)
    err = fails(call, Permanent)
    assert "[REDACTED]" in str(err)


def test_a_borrowed_client_is_used_and_left_open(mock: respx.MockRouter) -> None:
    mock.get(EXCHANGE_URL).respond(200, json={"access_token": NEW_TOKEN, "expires_in": 60})
    with httpx.Client() as client:
        conn.facebook_exchange_token(GRAPH, "v24.0", APP_ID, APP_SECRET, USER_TOKEN, 5.0, client)
        assert not client.is_closed


# --- the service, against the sandbox -------------------------------------------------------

PAGE = "100000000000001"  # a page the sandbox's /me/accounts lists
OTHER_PAGE = "100000000000002"
FB_SHORT = "EAAB-short-SECRET-fb-6666"
FB_EXPIRED = "EAAB-expired-SECRET-fb-7777"
LI_TOKEN = "AQV-li-SECRET-access-8888"
LI_REFRESH = "AQX-li-SECRET-refresh-9999"
LI_REFRESH_EXPIRED = "AQX-li-SECRET-expired-refresh"


@pytest.fixture
def point_at(home: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Point every platform URL at ``url`` and give the app credentials (before any Context)."""

    def apply(url: str) -> None:
        monkeypatch.setenv("OMNIPOST_FACEBOOK_GRAPH_URL", url)
        monkeypatch.setenv("OMNIPOST_LINKEDIN_API_URL", url)
        monkeypatch.setenv("OMNIPOST_LINKEDIN_OAUTH_URL", url)
        monkeypatch.setenv("OMNIPOST_FACEBOOK_APP_ID", APP_ID)
        monkeypatch.setenv("OMNIPOST_FACEBOOK_APP_SECRET", APP_SECRET)
        monkeypatch.setenv("OMNIPOST_LINKEDIN_CLIENT_ID", LI_CLIENT_ID)
        monkeypatch.setenv("OMNIPOST_LINKEDIN_CLIENT_SECRET", LI_CLIENT_SECRET)
        monkeypatch.setenv("OMNIPOST_HTTP_TIMEOUT", "5")

    return apply


@pytest.fixture
def live(point_at: Callable[[str], None], sandbox: SandboxServer) -> Iterator[Context]:
    """A service context whose platforms are the sandbox."""
    point_at(sandbox.url)
    context = open_context(load_settings(), open_queue=open_queue)
    yield context
    context.close()


def add(
    ctx: Context,
    platform: str,
    external_id: str,
    token: str,
    *,
    refresh: str | None = None,
    expires_in: timedelta | None = timedelta(days=2),
    name: str | None = None,
) -> int:
    if "Acme" not in {b.name for b in list_brands(ctx)}:
        add_brand(ctx, "Acme")
    view = add_account(
        ctx,
        brand="Acme",
        platform=platform,
        external_id=external_id,
        name=name or f"{platform} {external_id}",
        access_token=token,
        refresh_token=refresh,
        token_expires_at=clock.now() + expires_in if expires_in is not None else None,
    )
    return view.id


def stored(ctx: Context, account_id: int) -> tuple[str, str | None, datetime | None, str]:
    """(access token, refresh token, expiry, status) as the database has them, decrypted."""
    with ctx.db.read() as session:
        row = session.get(ConnectedSocialAccount, account_id)
        assert row is not None
        refresh = row.refresh_token_encrypted
        return (
            ctx.cipher.decrypt(row.access_token_encrypted),
            ctx.cipher.decrypt(refresh) if refresh else None,
            row.token_expires_at,
            row.status,
        )


def about(expected: datetime, actual: datetime | None, slack: float = 120) -> bool:
    return actual is not None and abs((actual - expected).total_seconds()) < slack


def test_refresh_facebook_stores_the_page_token_with_a_60_day_expiry(live: Context) -> None:
    account = add(live, "facebook", PAGE, FB_SHORT)

    view = tokens.refresh_account(live, account)

    token, _, expires_at, status = stored(live, account)
    # Exchanged for a long-lived user token, then the page's own token from /me/accounts.
    assert token == f"{PAGE_TOKEN_PREFIX}{PAGE}"
    assert status == "connected" and view.status == "connected"
    assert about(clock.now() + timedelta(days=60), expires_at)
    assert view.token_expires_at == expires_at


def test_refresh_revives_an_expired_account(live: Context) -> None:
    account = add(live, "facebook", PAGE, FB_SHORT)
    mark_account_expired(live, account)
    assert tokens.refresh_account(live, account).status == "connected"


def test_refresh_facebook_with_an_expired_token_marks_the_account_expired(live: Context) -> None:
    account = add(live, "facebook", PAGE, FB_EXPIRED)
    before = stored(live, account)

    with pytest.raises(ValidationError) as info:
        tokens.refresh_account(live, account)

    message = info.value.message
    assert f"omnipost account reconnect {account}" in message and "Facebook refused" in message
    assert FB_EXPIRED not in message
    token, _, expires_at, status = stored(live, account)
    assert status == "expired"
    assert (token, expires_at) == before[:1] + before[2:3]  # the token itself is kept


def test_refresh_facebook_of_a_page_the_user_does_not_manage_changes_nothing(
    live: Context,
) -> None:
    account = add(live, "facebook", "104200", FB_SHORT)
    before = stored(live, account)
    with pytest.raises(ValidationError, match="does not manage page 104200"):
        tokens.refresh_account(live, account)
    assert stored(live, account) == before


def test_refresh_linkedin_uses_the_stored_refresh_token(live: Context) -> None:
    account = add(live, "linkedin", "urn:li:organization:7", LI_TOKEN, refresh=LI_REFRESH)
    mark_account_expired(live, account)

    view = tokens.refresh_account(live, account)

    token, refresh, expires_at, status = stored(live, account)
    assert token.startswith("sandbox-li-token-") and token != LI_TOKEN
    assert refresh == LI_REFRESH  # the sandbox, like LinkedIn, hands the same one back
    assert status == "connected" and view.has_refresh_token
    assert about(clock.now() + timedelta(days=60), expires_at)


def test_refresh_linkedin_without_a_refresh_token_says_reconnect(live: Context) -> None:
    account = add(live, "linkedin", "urn:li:organization:7", LI_TOKEN)
    before = stored(live, account)
    with pytest.raises(ValidationError) as info:
        tokens.refresh_account(live, account)
    assert "has no refresh token" in info.value.message
    assert f"reconnect it: omnipost account reconnect {account}" in info.value.message
    assert stored(live, account) == before


def test_a_revoked_linkedin_refresh_token_does_not_stop_a_working_account(
    live: Context,
) -> None:
    """What LinkedIn refused is the refresh token: the access token still publishes."""
    account = add(live, "linkedin", "urn:li:person:9", LI_TOKEN, refresh=LI_REFRESH_EXPIRED)
    with pytest.raises(ValidationError, match=r"refused the refresh token .* reconnect"):
        tokens.refresh_account(live, account)
    assert stored(live, account)[3] == "connected"


@pytest.mark.parametrize(
    ("platform", "unset", "named"),
    [
        ("facebook", ["FACEBOOK_APP_ID", "FACEBOOK_APP_SECRET"], ["FACEBOOK_APP_ID", "APP_SECRET"]),
        ("linkedin", ["LINKEDIN_CLIENT_SECRET"], ["OMNIPOST_LINKEDIN_CLIENT_SECRET"]),
    ],
)
def test_missing_app_credentials_name_the_variables(
    point_at: Callable[[str], None],
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    platform: str,
    unset: list[str],
    named: list[str],
) -> None:
    point_at(sandbox.url)
    for name in unset:
        monkeypatch.delenv(f"OMNIPOST_{name}")
    ctx = open_context(load_settings(), open_queue=open_queue)
    try:
        external = PAGE if platform == "facebook" else "urn:li:person:9"
        account = add(
            ctx,
            platform,
            external,
            FB_SHORT,
            refresh=LI_REFRESH if platform == "linkedin" else None,
        )
        before = stored(ctx, account)
        for action in (tokens.refresh_account, tokens.check_account):
            with pytest.raises(ValidationError) as info:
                action(ctx, account)
            for name in named:
                assert name in info.value.message
        assert stored(ctx, account) == before
    finally:
        ctx.close()


def free_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_an_unreachable_platform_changes_nothing(point_at: Callable[[str], None]) -> None:
    point_at(free_port_url())
    ctx = open_context(load_settings(), open_queue=open_queue)
    try:
        account = add(ctx, "facebook", PAGE, FB_SHORT)
        before = stored(ctx, account)
        with pytest.raises(tokens.TokenCallFailed) as info:
            tokens.refresh_account(ctx, account)
        assert "nothing was changed; try again later" in info.value.message
        assert stored(ctx, account) == before
    finally:
        ctx.close()


def test_a_reconnect_during_the_refresh_wins(
    live: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = add(live, "facebook", PAGE, FB_SHORT)
    real = tokens.facebook_exchange_token

    def exchange_while_user_reconnects(*args: Any, **kwargs: Any) -> conn.TokenGrant:
        reconnect_account(live, account, access_token="EAAB-typed-by-user-SECRET")
        return real(*args, **kwargs)

    monkeypatch.setattr(tokens, "facebook_exchange_token", exchange_while_user_reconnects)
    with pytest.raises(ConflictError):
        tokens.refresh_account(live, account)
    assert stored(live, account)[0] == "EAAB-typed-by-user-SECRET"


def test_check_records_the_expiry_facebook_reports(live: Context) -> None:
    account = add(live, "facebook", PAGE, FB_SHORT, expires_in=None)
    view = tokens.check_account(live, account)
    assert view.status == "connected"
    assert about(clock.now() + timedelta(days=60), view.token_expires_at)
    assert tokens.token_problem(view) is None


def test_check_detects_an_expired_facebook_token(live: Context) -> None:
    account = add(live, "facebook", PAGE, FB_EXPIRED, expires_in=timedelta(days=30))
    view = tokens.check_account(live, account)
    assert view.status == "expired"
    # debug_token's expires_at replaces the hopeful stored one.
    assert view.token_expires_at is not None and view.token_expires_at < clock.now()
    problem = tokens.token_problem(view)
    assert problem is not None and f"omnipost account reconnect {account}" in problem


def test_check_linkedin_uses_token_introspection(live: Context) -> None:
    good = add(live, "linkedin", "urn:li:person:1", LI_TOKEN, expires_in=None)
    bad = add(live, "linkedin", "urn:li:person:2", "AQV-expired-SECRET", expires_in=None)
    assert about(
        clock.now() + timedelta(days=60), tokens.check_account(live, good).token_expires_at
    )
    assert tokens.check_account(live, bad).status == "expired"


def test_refresh_expiring_refreshes_only_those_due(live: Context) -> None:
    soon = add(live, "facebook", PAGE, FB_SHORT, expires_in=timedelta(days=2))
    later = add(live, "facebook", OTHER_PAGE, FB_SHORT + "-2", expires_in=timedelta(days=30))
    past = add(
        live,
        "linkedin",
        "urn:li:person:1",
        LI_TOKEN,
        refresh=LI_REFRESH,
        expires_in=-timedelta(hours=1),
    )
    unknown = add(live, "linkedin", "urn:li:person:2", LI_TOKEN + "-2", expires_in=None)
    no_refresh = add(
        live, "linkedin", "urn:li:person:3", LI_TOKEN + "-3", expires_in=timedelta(days=1)
    )

    outcomes = dict(tokens.refresh_expiring(live, timedelta(days=7)))

    # Soonest first; an unknown expiry last (refreshing is how to learn it).
    assert list(outcomes) == [past, no_refresh, soon, unknown]
    assert outcomes[soon].ok and outcomes[past].ok
    assert not outcomes[no_refresh].ok and "no refresh token" in (outcomes[no_refresh].error or "")
    assert not outcomes[unknown].ok and "no refresh token" in (outcomes[unknown].error or "")
    assert stored(live, soon)[0] == f"{PAGE_TOKEN_PREFIX}{PAGE}"
    assert stored(live, later)[0] == FB_SHORT + "-2"


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("7d", timedelta(days=7)),
        ("12h", timedelta(hours=12)),
        (" 2W ", timedelta(weeks=2)),
        ("30m", timedelta(minutes=30)),
    ],
)
def test_parse_within(text: str, span: timedelta) -> None:
    assert tokens.parse_within(text) == span


@pytest.mark.parametrize("text", ["7", "d", "-1d", "1y", "", "99999d"])
def test_parse_within_refuses(text: str) -> None:
    with pytest.raises(ValidationError):
        tokens.parse_within(text)


# --- the command line -----------------------------------------------------------------------


def run(cli: Callable[..., Result], *args: str, input: str | None = None) -> Result:
    result = cli(*args, input=input)
    assert "Traceback" not in result.output
    return result


def ok(result: Result) -> str:
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}"
    assert result.stderr == ""
    return result.stdout


@pytest.fixture
def cli_live(cli: Callable[..., Result], point_at: Callable[[str], None], sandbox: SandboxServer):
    point_at(sandbox.url)
    ok(cli("brand", "add", "Acme"))
    return cli


def cli_add(
    cli: Callable[..., Result], platform: str, external: str, token: str, *extra: str
) -> int:
    result = ok(
        cli(
            "account", "add", "--brand", "Acme", "--platform", platform, "--external-id", external,
            "--name", f"{platform}-{external}", "--token-stdin", *extra, input=token + "\n",
        )
    )  # fmt: skip
    return int(result)


def account_json(cli: Callable[..., Result], account: int) -> dict[str, Any]:
    rows = json.loads(ok(cli("account", "list", "--json")))
    return next(row for row in rows if row["id"] == account)


def test_cli_refresh_and_check_never_show_or_store_a_token_in_clear(
    cli_live: Callable[..., Result], home: Path, tmp_path: Path
) -> None:
    cli = cli_live
    outputs: list[Result] = []
    fb = cli_add(cli, "facebook", PAGE, FB_SHORT, "--expires-at", "+2d")
    refresh_file = tmp_path / "refresh"
    refresh_file.write_text(LI_REFRESH + "\n")
    li = cli_add(
        cli, "linkedin", "urn:li:person:5", LI_TOKEN, "--refresh-token-file", str(refresh_file)
    )

    result = run(cli, "account", "refresh", str(fb))
    outputs.append(result)
    assert re.fullmatch(
        rf"account {fb} \(facebook-{PAGE}\): new token stored, expires \d{{4}}-\d\d-\d\d "
        r"\d\d:\d\d CET \(in 60d\)\n",
        ok(result),
    )
    result = run(cli, "account", "refresh", str(li), "--json")
    outputs.append(result)
    refreshed = json.loads(ok(result))
    assert refreshed["status"] == "connected" and refreshed["has_refresh_token"] is True
    for args in (("check", str(fb)), ("check", "--all"), ("check", "--all", "--json"), ("list",)):
        result = run(cli, "account", *args)
        outputs.append(result)
        ok(result)
    assert "token valid, expires" in outputs[2].stdout

    ctx = open_context(load_settings(), open_queue=open_queue)
    try:
        issued = [stored(ctx, fb)[0], stored(ctx, li)[0]]
    finally:
        ctx.close()
    assert issued[0] == f"{PAGE_TOKEN_PREFIX}{PAGE}" and issued[1].startswith("sandbox-li-token-")
    plaintexts = [FB_SHORT, LI_TOKEN, LI_REFRESH, APP_SECRET, LI_CLIENT_SECRET, *issued]
    for result in outputs:
        for secret in plaintexts:
            assert secret not in result.output
    files = [path for path in home.rglob("*") if path.is_file()]
    assert any(path.name.endswith(".db") for path in files)
    for path in files:
        data = path.read_bytes()
        for secret in plaintexts:
            assert secret.encode() not in data, f"{secret} is in {path} in clear"


def test_cli_refresh_of_an_expired_token_exits_2_and_marks_the_account(
    cli_live: Callable[..., Result],
) -> None:
    fb = cli_add(cli_live, "facebook", PAGE, FB_EXPIRED)
    line = assert_user_error(
        run(cli_live, "account", "refresh", str(fb)),
        "Facebook refused",
        f"omnipost account reconnect {fb}",
    )
    assert FB_EXPIRED not in line
    assert account_json(cli_live, fb)["status"] == "expired"


def test_cli_missing_app_credentials_exit_2_naming_the_variables(
    cli_live: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    fb = cli_add(cli_live, "facebook", PAGE, FB_SHORT)
    monkeypatch.delenv("OMNIPOST_FACEBOOK_APP_ID")
    monkeypatch.delenv("OMNIPOST_FACEBOOK_APP_SECRET")
    for action in ("refresh", "check"):
        assert_user_error(
            run(cli_live, "account", action, str(fb)),
            "OMNIPOST_FACEBOOK_APP_ID",
            "OMNIPOST_FACEBOOK_APP_SECRET",
        )
    assert account_json(cli_live, fb)["status"] == "connected"


def test_cli_refresh_expiring_refreshes_only_those_within(
    cli_live: Callable[..., Result],
) -> None:
    cli = cli_live
    soon = cli_add(cli, "facebook", PAGE, FB_SHORT, "--expires-at", "+3d")
    later = cli_add(cli, "facebook", OTHER_PAGE, FB_SHORT + "-2", "--expires-at", "+20d")
    before = account_json(cli, later)["token_expires_at"]

    out = ok(run(cli, "account", "refresh", "--expiring", "--within", "7d"))

    assert out.startswith(f"account {soon} (facebook-{PAGE}): refreshed, token expires ")
    assert len(out.splitlines()) == 1
    assert account_json(cli, later)["token_expires_at"] == before
    rows = json.loads(ok(run(cli, "account", "refresh", "--expiring", "--within", "30d", "--json")))
    assert [(r["id"], r["ok"], r["error"]) for r in rows] == [(later, True, None)]
    assert (
        ok(run(cli, "account", "refresh", "--expiring")) == "no account's token expires within 7d\n"
    )


def test_cli_batches_exit_2_when_an_account_needs_attention(
    cli_live: Callable[..., Result],
) -> None:
    cli = cli_live
    good = cli_add(cli, "facebook", PAGE, FB_SHORT, "--expires-at", "+1d")
    bad = cli_add(cli, "facebook", OTHER_PAGE, FB_EXPIRED, "--expires-at", "+1d")

    result = run(cli, "account", "refresh", "--expiring", "--json")
    assert result.exit_code == 2
    rows = json.loads(result.stdout)
    assert [(r["id"], r["ok"]) for r in rows] == [(good, True), (bad, False)]
    assert "omnipost account reconnect" in rows[1]["error"]

    result = run(cli, "account", "check", "--all")
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"account {good} (facebook-{PAGE}): valid, token expires")
    assert lines[1].startswith(f"account {bad} (facebook-{OTHER_PAGE}): FAILED: Facebook says")
    assert result.stderr == "error: 1 of 2 account(s) need attention\n"
    assert account_json(cli, bad)["status"] == "expired"

    assert_user_error(run(cli, "account", "check", str(bad)), "expired or revoked", "reconnect")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("refresh",), "give an account id or --expiring"),
        (("refresh", "1", "--expiring"), "not both"),
        (("refresh", "1", "--within", "7d"), "--within goes with --expiring"),
        (("refresh", "--expiring", "--within", "7"), "30m, 12h, 7d, 2w"),
        (("check",), "give an account id or --all"),
        (("check", "1", "--all"), "not both"),
        (("refresh", "999"), "no account '999'"),
        (("check", "nope"), "no account 'nope'"),
    ],
)
def test_cli_bad_input(cli_live: Callable[..., Result], args: tuple[str, ...], needle: str) -> None:
    cli_add(cli_live, "facebook", PAGE, FB_SHORT)
    assert_user_error(run(cli_live, "account", *args), needle)


def test_cli_refresh_token_file_on_add_and_reconnect(
    cli_live: Callable[..., Result], tmp_path: Path
) -> None:
    cli = cli_live
    li = cli_add(cli, "linkedin", "urn:li:person:5", LI_TOKEN)
    assert account_json(cli, li)["has_refresh_token"] is False
    assert_user_error(run(cli, "account", "refresh", str(li)), "no refresh token", "reconnect")

    secret_file = tmp_path / "li-refresh"
    secret_file.write_text(LI_REFRESH)
    ok(run(cli, "account", "reconnect", str(li), "--token-stdin", "--refresh-token-file",
           str(secret_file), input=LI_TOKEN))  # fmt: skip
    assert account_json(cli, li)["has_refresh_token"] is True
    ok(run(cli, "account", "refresh", str(li)))


@pytest.mark.parametrize(
    ("platform", "external", "path", "needle"),
    [
        ("linkedin", "urn:li:person:6", "missing", "cannot read the refresh token file"),
        ("linkedin", "urn:li:person:6", "empty", "is empty"),
        ("linkedin", "urn:li:person:6", "-", "needs a file"),
        ("linkedin", "urn:li:person:6", "/dev/zero", "is a device, not a file"),
        ("linkedin", "urn:li:person:6", "huge", "holds more than 65,536 bytes"),
        ("linkedin", "urn:li:person:6", "escape", "refresh token contains a control character"),
        ("facebook", PAGE, "good", "only LinkedIn accounts have refresh tokens"),
    ],
)
def test_cli_refresh_token_file_mistakes_write_nothing(
    cli_live: Callable[..., Result],
    tmp_path: Path,
    platform: str,
    external: str,
    path: str,
    needle: str,
) -> None:
    (tmp_path / "empty").write_text("\n")
    (tmp_path / "good").write_text(LI_REFRESH)
    (tmp_path / "huge").write_text("A" * (64 * 1024 + 1))  # refused, not cut to a token
    (tmp_path / "escape").write_text(f"{LI_REFRESH}\x1b[0m")
    target = path if path in ("-", "/dev/zero") else str(tmp_path / path)
    result = run(
        cli_live,
        "account", "add", "--brand", "Acme", "--platform", platform, "--external-id", external,
        "--name", "X", "--token-stdin", "--refresh-token-file", target,
        input=LI_TOKEN,
    )  # fmt: skip
    assert_user_error(result, needle)
    assert json.loads(ok(run(cli_live, "account", "list", "--json"))) == []


def test_the_sandbox_introspection_endpoint(sandbox: SandboxServer) -> None:
    with httpx.Client(base_url=sandbox.url) as client:
        form = {"client_id": "a", "client_secret": "b", "token": "t"}
        live_token = client.post("/oauth/v2/introspectToken", data=form).json()
        dead = client.post("/oauth/v2/introspectToken", data={**form, "token": "t-expired"}).json()
        missing = client.post("/oauth/v2/introspectToken", data={"client_id": "a"})
    assert live_token["active"] is True and live_token["expires_at"] > datetime.now(UTC).timestamp()
    assert dead["active"] is False and dead["status"] == "expired"
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"


def test_cli_unreachable_platform_exits_2_and_changes_nothing(
    cli: Callable[..., Result], point_at: Callable[[str], None]
) -> None:
    point_at(free_port_url())
    ok(cli("brand", "add", "Acme"))
    fb = cli_add(cli, "facebook", PAGE, FB_SHORT, "--expires-at", "+1d")
    before = account_json(cli, fb)
    assert_user_error(
        run(cli, "account", "refresh", str(fb)), "could not reach Facebook", "try again later"
    )
    assert account_json(cli, fb) == before


def test_cli_refresh_of_a_removed_account(cli_live: Callable[..., Result]) -> None:
    fb = cli_add(cli_live, "facebook", PAGE, FB_SHORT)
    ok(run(cli_live, "account", "remove", str(fb)))
    for action in ("refresh", "check"):
        assert_user_error(run(cli_live, "account", action, str(fb)), "was removed")


def test_without_the_page_list_the_user_token_is_never_stored_as_the_page_token(
    point_at: Callable[[str], None],
) -> None:
    """Facebook refuses /me/accounts (a missing permission): nothing may be stored."""
    point_at("https://graph.refresh.test")
    ctx = open_context(load_settings(), open_queue=open_queue)
    try:
        account = add(ctx, "facebook", PAGE, FB_SHORT)
        with respx.mock(base_url="https://graph.refresh.test") as mock:
            mock.get(path__regex=r".*/oauth/access_token").respond(
                200, json={"access_token": "LONG-LIVED-USER-TOKEN", "expires_in": 5184000}
            )
            mock.get(path__regex=r".*/me/accounts").respond(
                400,
                json={
                    "error": {"message": "(#100) Missing permissions: pages_show_list", "code": 100}
                },
            )
            with pytest.raises(ValidationError, match="nothing was changed"):
                tokens.refresh_account(ctx, account)
        assert stored(ctx, account)[0] == FB_SHORT
        assert stored(ctx, account)[3] == "connected"
    finally:
        ctx.close()


@pytest.mark.parametrize("control", ["\x00", "\x01", "\x1b", "\x7f", "\x9b"])
@pytest.mark.parametrize("what", ["access token", "refresh token"])
def test_a_token_with_a_control_character_is_refused_wherever_it_is_typed(
    control: str, what: str
) -> None:
    """The one rule the CLI and the app's forms share: the message names the character and
    where it is, never the token."""
    with pytest.raises(ValidationError) as refused:
        accounts.validate_token(f"EAAB{control}secret", what)
    assert f"the {what} contains a control character" in refused.value.message
    assert "secret" not in refused.value.message
