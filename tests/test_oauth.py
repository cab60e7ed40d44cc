"""Connecting with OAuth, one request at a time: the authorize URL, what a user pastes back, the
code exchanges and account listings (respx), and the loopback listener (a real HTTP request)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from omnipost_tui.connectors import oauth
from omnipost_tui.connectors.errors import (
    Permanent,
    PermissionDenied,
    PlatformError,
    TokenExpired,
    Transient,
)
from omnipost_tui.connectors.redirect_listener import RedirectListener
from omnipost_tui.errors import ValidationError
from tests.conftest import T0, FakeClock

GRAPH = "https://graph.test"
FB_DIALOG = "https://www.facebook.test"
LI_OAUTH = "https://www.linkedin.test"
LI_API = "https://api.linkedin.test"
REDIRECT = "http://localhost:8765/callback"
APP_ID = "1234567890"
APP_SECRET = "app-SECRET-0a0a0a"
CODE = "AQD-code-SECRET-1b1b1b"
SHORT = "EAAB-short-SECRET-2c2c"
LI_TOKEN = "AQV-li-SECRET-3d3d"
LI_REFRESH = "AQX-li-refresh-SECRET-4e4e"
SECRETS = (APP_SECRET, CODE, SHORT, LI_TOKEN, LI_REFRESH)


def assert_clean(err: BaseException) -> None:
    shown = [str(err), repr(err), " ".join(map(str, err.args))]
    if isinstance(err, PlatformError):
        shown += [err.raw_body or "", json.dumps(err.request_summary)]
    for text in shown:
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} leaked into {text!r}"
    assert err.__cause__ is None and err.__context__ is None


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=True) as router:
        yield router


def facebook_attempt() -> oauth.Authorization:
    return oauth.authorization(
        "facebook",
        authorize_url=oauth.facebook_authorize_url(FB_DIALOG, "v24.0"),
        client_id=APP_ID,
        redirect_uri=REDIRECT,
        scopes=("pages_show_list", "pages_manage_posts"),
    )


def linkedin_attempt() -> oauth.Authorization:
    return oauth.authorization(
        "linkedin",
        authorize_url=oauth.linkedin_authorize_url(LI_OAUTH),
        client_id="li-client",
        redirect_uri=REDIRECT,
        scopes=("openid", "profile", "w_member_social"),
    )


# --- the authorize URL --------------------------------------------------------------------------


def test_the_authorize_url_asks_for_a_code_with_a_fresh_state_and_the_scopes():
    first, second = facebook_attempt(), facebook_attempt()
    parts = urlsplit(first.url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{FB_DIALOG}/v24.0/dialog/oauth"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query == {
        "response_type": "code",
        "client_id": APP_ID,
        "redirect_uri": REDIRECT,
        "scope": "pages_show_list,pages_manage_posts",  # Facebook: commas
        "state": first.state,
    }
    assert len(first.state) >= 32 and first.state != second.state
    li = urlsplit(linkedin_attempt().url)
    assert f"{li.netloc}{li.path}" == "www.linkedin.test/oauth/v2/authorization"
    assert parse_qs(li.query)["scope"] == ["openid profile w_member_social"]  # LinkedIn: spaces


# --- what the user pastes back --------------------------------------------------------------------


def test_the_whole_address_or_the_code_alone_gives_the_code():
    attempt = facebook_attempt()
    url = f"{REDIRECT}?code={CODE}&state={attempt.state}#_=_"
    assert oauth.code_from_redirect(url, attempt) == CODE
    assert oauth.code_from_redirect(f"  {url}\n", attempt) == CODE
    # Without scheme and host, as some browsers copy it, or only the query.
    assert (
        oauth.code_from_redirect(
            f"localhost:8765/callback?code={CODE}&state={attempt.state}", attempt
        )
        == CODE
    )
    assert oauth.code_from_redirect(f"code={CODE}&state={attempt.state}", attempt) == CODE
    assert oauth.code_from_redirect(CODE, attempt) == CODE


@pytest.mark.parametrize(
    ("pasted", "says"),
    [
        ("", "nothing was pasted"),
        ("   ", "nothing was pasted"),
        (f"{REDIRECT}?code={CODE}&state=someone-elses", "another connection attempt"),
        (f"{REDIRECT}?code={CODE}", "another connection attempt"),
        (f"{REDIRECT}?state=STATE", "no code"),
        (
            f"{REDIRECT}?error=access_denied&error_reason=user_denied"
            "&error_description=Permissions+error&state=STATE",
            "not approved (Permissions error)",
        ),
        (f"{REDIRECT}?error=server_error&state=STATE", "did not give a code (server_error"),
        ("this is not it at all", "does not look like"),
        ("<html>", "does not look like"),
    ],
)
def test_what_cannot_be_used_is_said_without_repeating_it(pasted, says):
    attempt = facebook_attempt()
    pasted = pasted.replace("STATE", attempt.state)
    with pytest.raises(ValidationError) as info:
        oauth.code_from_redirect(pasted, attempt)
    assert says in info.value.message
    assert CODE not in info.value.message and attempt.state not in info.value.message


def test_linkedin_cancel_is_said_as_not_approved():
    attempt = linkedin_attempt()
    pasted = (
        f"{REDIRECT}?error=user_cancelled_authorize&error_description=The+user+cancelled"
        f"&state={attempt.state}"
    )
    with pytest.raises(ValidationError, match="not approved"):
        oauth.code_from_redirect(pasted, attempt)


# --- Facebook -------------------------------------------------------------------------------------


def test_facebook_code_exchange_sends_the_code_and_returns_a_short_lived_token(mock, fake_clock):
    route = mock.get(f"{GRAPH}/v24.0/oauth/access_token").respond(
        200, json={"access_token": SHORT, "token_type": "bearer", "expires_in": 5400}
    )
    grant = oauth.facebook_exchange_code(GRAPH, "v24.0", APP_ID, APP_SECRET, REDIRECT, CODE, 5.0)
    assert grant.access_token == SHORT
    assert grant.expires_at == T0 + timedelta(seconds=5400)
    sent = {k: v[0] for k, v in parse_qs(urlsplit(str(route.calls.last.request.url)).query).items()}
    assert sent == {
        "grant_type": "authorization_code",
        "redirect_uri": REDIRECT,
        "code": CODE,
        "client_id": APP_ID,
        "client_secret": APP_SECRET,
    }


@pytest.mark.parametrize(
    ("answer", "kind", "says"),
    [
        (
            httpx.Response(
                400,
                json={
                    "error": {
                        "message": "This authorization code has been used.",
                        "type": "OAuthException",
                        "code": 100,
                        "error_subcode": 36009,
                    }
                },
            ),
            Permanent,
            "has been used",
        ),
        (
            httpx.Response(
                400,
                json={
                    "error": {
                        "message": "Error validating client secret.",
                        "type": "OAuthException",
                        "code": 1,
                    }
                },
            ),
            Permanent,
            "app credentials",
        ),
        (httpx.Response(502, text="<html><body>Bad Gateway</body></html>"), Transient, ""),
        (httpx.ConnectError("refused"), Transient, ""),
    ],
)
def test_facebook_code_exchange_failures_are_typed_and_keep_the_secrets(mock, answer, kind, says):
    route = mock.get(f"{GRAPH}/v24.0/oauth/access_token")
    if isinstance(answer, Exception):
        route.mock(side_effect=answer)
    else:
        route.mock(return_value=answer)
    with pytest.raises(PlatformError) as info:
        oauth.facebook_exchange_code(GRAPH, "v24.0", APP_ID, APP_SECRET, REDIRECT, CODE, 5.0)
    assert isinstance(info.value, kind)
    assert says in info.value.message
    assert_clean(info.value)


# --- LinkedIn -------------------------------------------------------------------------------------


def test_linkedin_code_exchange_returns_both_tokens_and_their_expiries(mock, fake_clock):
    route = mock.post(f"{LI_OAUTH}/oauth/v2/accessToken").respond(
        200,
        json={
            "access_token": LI_TOKEN,
            "expires_in": 5_184_000,
            "refresh_token": LI_REFRESH,
            "refresh_token_expires_in": 31_536_000,
            "scope": "openid,profile,w_member_social",
        },
    )
    grant = oauth.linkedin_exchange_code(LI_OAUTH, "li-client", APP_SECRET, REDIRECT, CODE, 5.0)
    assert (grant.access_token, grant.refresh_token) == (LI_TOKEN, LI_REFRESH)
    assert grant.expires_at == T0 + timedelta(days=60)
    assert grant.refresh_token_expires_at == T0 + timedelta(days=365)
    request = route.calls.last.request
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
    assert form == {
        "grant_type": "authorization_code",
        "redirect_uri": REDIRECT,
        "code": CODE,
        "client_id": "li-client",
        "client_secret": APP_SECRET,
    }


def test_linkedin_code_exchange_without_refresh_tokens(mock, fake_clock):
    mock.post(f"{LI_OAUTH}/oauth/v2/accessToken").respond(
        200, json={"access_token": LI_TOKEN, "expires_in": 5_184_000}
    )
    grant = oauth.linkedin_exchange_code(LI_OAUTH, "li-client", APP_SECRET, REDIRECT, CODE, 5.0)
    assert grant.refresh_token is None and grant.refresh_token_expires_at is None


def test_a_used_linkedin_code_is_refused_with_the_platforms_words(mock):
    mock.post(f"{LI_OAUTH}/oauth/v2/accessToken").respond(
        400,
        json={
            "error": "invalid_request",
            "error_description": "Unable to retrieve access token: authorization code expired",
        },
    )
    with pytest.raises(PlatformError) as info:
        oauth.linkedin_exchange_code(LI_OAUTH, "li-client", APP_SECRET, REDIRECT, CODE, 5.0)
    assert "authorization code expired" in info.value.message
    assert not info.value.retryable
    assert_clean(info.value)


def test_the_member_comes_from_userinfo(mock):
    route = mock.get(f"{LI_API}/v2/userinfo").respond(
        200, json={"sub": "782bbtaQ", "name": "Sam  Sandbox", "email_verified": True}
    )
    member = oauth.linkedin_member(LI_API, LI_TOKEN, 5.0)
    assert member == oauth.LinkedInAuthor("urn:li:person:782bbtaQ", "Sam Sandbox")
    assert route.calls.last.request.headers["authorization"] == f"Bearer {LI_TOKEN}"


def test_an_invalid_token_at_userinfo_is_a_token_error(mock):
    mock.get(f"{LI_API}/v2/userinfo").respond(
        401,
        json={
            "status": 401,
            "serviceErrorCode": 65600,
            "code": "INVALID_ACCESS_TOKEN",
            "message": "Invalid access token",
        },
    )
    with pytest.raises(TokenExpired) as info:
        oauth.linkedin_member(LI_API, LI_TOKEN, 5.0)
    assert_clean(info.value)


def test_every_administered_organization_is_listed_across_pages_with_its_name(mock):
    acl = f"{LI_API}/rest/organizationAcls"
    total = 60  # more than one page of 50

    def page(request: httpx.Request) -> httpx.Response:
        params = parse_qs(urlsplit(str(request.url)).query)
        assert params["q"] == ["roleAssignee"] and params["role"] == ["ADMINISTRATOR"]
        assert params["state"] == ["APPROVED"]
        assert request.headers["linkedin-version"] == "202610"
        assert request.headers["x-restli-protocol-version"] == "2.0.0"
        start, count = int(params["start"][0]), int(params["count"][0])
        ids = range(start, min(start + count, total))
        return httpx.Response(
            200,
            json={
                "elements": [
                    {
                        "organization": f"urn:li:organization:{1000 + i}",
                        "role": "ADMINISTRATOR",
                        "state": "APPROVED",
                    }
                    for i in ids
                ],
                "paging": {"start": start, "count": count, "total": total},
            },
        )

    mock.get(acl).mock(side_effect=page)
    mock.get(url__regex=rf"{LI_API}/rest/organizations/\d+").mock(
        side_effect=lambda request: httpx.Response(
            200, json={"localizedName": f"Org {request.url.path.rsplit('/', 1)[1]}"}
        )
    )
    authors = oauth.linkedin_organizations(LI_API, "202610", LI_TOKEN, 5.0)
    assert [a.urn for a in authors] == [f"urn:li:organization:{1000 + i}" for i in range(total)]
    assert authors[0].name == "Org 1000"


def test_without_the_admin_scope_listing_organizations_says_what_the_app_needs(mock):
    mock.get(f"{LI_API}/rest/organizationAcls").respond(
        403,
        json={
            "status": 403,
            "serviceErrorCode": 100,
            "code": "ACCESS_DENIED",
            "message": "Not enough permissions to access: organizationAcls",
        },
    )
    with pytest.raises(PermissionDenied) as info:
        oauth.linkedin_organizations(LI_API, "202610", LI_TOKEN, 5.0)
    assert "r_organization_admin" in info.value.message
    assert_clean(info.value)


# --- the listener -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_listener_takes_the_one_redirect_with_this_state_and_answers_the_browser():
    port = free_port()
    with RedirectListener(f"http://localhost:{port}/callback", "the-state") as listener:
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/favicon.ico").status_code == 404
        wrong = httpx.get(f"{base}/callback?code=x&state=other")
        assert wrong.status_code == 400 and "another connection" in wrong.text
        assert listener.received() is None  # still waiting
        page = httpx.get(f"{base}/callback?code={CODE}&state=the-state")
        assert page.status_code == 200 and "close this tab" in page.text
        assert CODE not in page.text
        assert listener.wait(1.0) == f"/callback?code={CODE}&state=the-state"
        # A second visit (a reload) is told it is done; the first answer stays.
        assert "Already received" in httpx.get(f"{base}/callback?code=later&state=the-state").text
        assert listener.wait(1.0) == f"/callback?code={CODE}&state=the-state"


def test_the_listener_binds_loopback_only():
    port = free_port()
    with RedirectListener(f"http://localhost:{port}/callback", "s") as listener:
        assert listener.address == f"127.0.0.1:{port}"
        with socket.socket() as other:
            # Any non-loopback address of this machine, if it has one, does not answer.
            try:
                other.connect((socket.gethostbyname(socket.gethostname()), port))
            except OSError:
                pass
            else:
                host = other.getpeername()[0]
                assert host.startswith("127."), f"listener reachable on {host}"


def test_a_busy_port_and_a_timeout_are_one_clear_line_each(fake_clock: FakeClock):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ValidationError, match=f"port {port} on this machine is in use"):
            RedirectListener(f"http://localhost:{port}/callback", "s").start()
    with RedirectListener(f"http://localhost:{free_port()}/callback", "s") as listener:
        with pytest.raises(ValidationError, match="no browser came back") as info:
            listener.wait(0.05)
        assert "ssh -L" in info.value.message
