"""The sandbox's OAuth: authorize pages, code exchanges, pages and organizations, over real HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from omnipost_tui.sandbox import DEMO_ORGANIZATIONS, DEMO_PAGES, SandboxServer
from omnipost_tui.sandbox.run import how_to_use, omnipost_settings

VERSION = "v24.0"
APP_ID = "sandbox-app"
APP_SECRET = "SECRET-app-secret-31d4"
LI_CLIENT = "sandbox-client"
LI_SECRET = "SECRET-li-secret-82be"
REDIRECT = "http://localhost:8765/callback"
FB_SCOPES = "pages_show_list,pages_manage_posts,pages_read_engagement"
LI_SCOPES = "openid profile w_member_social w_organization_social r_organization_admin"
LI_HEADERS = {"LinkedIn-Version": "202610", "X-Restli-Protocol-Version": "2.0.0"}
BAD_GATEWAY = "<html><body>Bad Gateway</body></html>"
LI_CODE_REFUSED = {
    "error": "invalid_request",
    "error_description": "Unable to retrieve access token: appid/redirect uri/code verifier does "
    "not match authorization code. Or authorization code expired. Or external member binding "
    "exists",
}
LI_INVALID_TOKEN = {
    "status": 401,
    "serviceErrorCode": 65600,
    "code": "INVALID_ACCESS_TOKEN",
    "message": "Invalid access token",
}


def fb_code_error(message: str, subcode: int) -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": "OAuthException",
            "code": 100,
            "error_subcode": subcode,
            "fbtrace_id": "A1b2",
        }
    }


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a" and found.get("id") and found.get("href"):
            self.links[str(found["id"])] = str(found["href"])


def links(page: httpx.Response) -> dict[str, str]:
    parser = _Links()
    parser.feed(page.text)
    return parser.links


def redirect_query(url: str, redirect: str = REDIRECT) -> dict[str, str]:
    """The query of a link that must lead to ``redirect``; one value per name."""
    assert url.startswith(redirect + ("&" if "?" in redirect else "?")), url
    query = parse_qs(urlsplit(url).query, keep_blank_values=True)
    assert all(len(values) == 1 for values in query.values()), query
    return {name: values[0] for name, values in query.items()}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[SandboxServer]:
    with SandboxServer(clock=clock) as server:
        yield server


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, timeout=5.0) as http:
        yield http


# --- Facebook -----------------------------------------------------------------------------


def fb_dialog(client: httpx.Client, **params: str) -> httpx.Response:
    query = {"client_id": APP_ID, "redirect_uri": REDIRECT, "state": "s1", "scope": FB_SCOPES}
    query.update(params)
    return client.get(f"/{VERSION}/dialog/oauth", params=query)


def fb_code(client: httpx.Client, **params: str) -> str:
    page = fb_dialog(client, **params)
    assert page.status_code == 200
    return redirect_query(links(page)["approve"], params.get("redirect_uri", REDIRECT))["code"]


def fb_exchange(client: httpx.Client, code: str, **params: str) -> httpx.Response:
    query = {
        "client_id": APP_ID,
        "client_secret": APP_SECRET,
        "redirect_uri": REDIRECT,
        "code": code,
    }
    query.update(params)
    return client.get(f"/{VERSION}/oauth/access_token", params=query)


def fb_long_lived(client: httpx.Client, token: str) -> httpx.Response:
    return client.get(
        f"/{VERSION}/oauth/access_token",
        params={
            "grant_type": "fb_exchange_token",
            "client_id": APP_ID,
            "client_secret": APP_SECRET,
            "fb_exchange_token": token,
        },
    )


def fb_user_token(client: httpx.Client, long_lived: bool = True) -> str:
    short = fb_exchange(client, fb_code(client)).json()["access_token"]
    if not long_lived:
        return str(short)
    return str(fb_long_lived(client, short).json()["access_token"])


def debug(client: httpx.Client, token: str) -> dict[str, Any]:
    response = client.get(
        f"/{VERSION}/debug_token",
        params={"input_token": token, "access_token": f"{APP_ID}|{APP_SECRET}"},
    )
    assert response.status_code == 200
    data: dict[str, Any] = response.json()["data"]
    return data


def test_facebook_dialog_approve_round_trip_and_the_code_is_single_use(
    client: httpx.Client,
) -> None:
    state = "a b&c=d/é?#"
    page = fb_dialog(client, state=state)

    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert APP_ID in page.text
    assert all(scope in page.text for scope in FB_SCOPES.split(","))
    query = redirect_query(links(page)["approve"])
    assert set(query) == {"code", "state"}
    assert query["state"] == state
    assert query["code"]

    first = fb_exchange(client, query["code"])
    assert first.status_code == 200
    body = first.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["access_token"].startswith("sandbox-fb-user-")
    assert (body["token_type"], body["expires_in"]) == ("bearer", 5400)

    again = fb_exchange(client, query["code"])
    assert again.status_code == 400
    assert again.json() == fb_code_error("This authorization code has been used.", 36009)


def test_facebook_dialog_deny_link(client: httpx.Client) -> None:
    deny = links(fb_dialog(client, state="xyz"))["deny"]
    assert "error_description=Permissions+error" in deny
    assert redirect_query(deny) == {
        "error": "access_denied",
        "error_reason": "user_denied",
        "error_description": "Permissions error",
        "state": "xyz",
    }


def test_facebook_dialog_keeps_the_redirect_uris_query_and_each_visit_has_its_own_code(
    client: httpx.Client,
) -> None:
    redirect = "http://127.0.0.1:9000/cb?flow=fb"
    page = fb_dialog(client, redirect_uri=redirect, response_type="code")
    approve = links(page)["approve"]
    assert approve.startswith(redirect + "&code=")
    assert redirect_query(approve, redirect)["flow"] == "fb"
    assert "&amp;" in page.text  # HTML-escaped in the page, plain once parsed
    assert fb_code(client) != fb_code(client)
    # Without a state, none comes back.
    page = client.get(
        f"/{VERSION}/dialog/oauth", params={"client_id": APP_ID, "redirect_uri": REDIRECT}
    )
    assert set(redirect_query(links(page)["approve"])) == {"code"}


@pytest.mark.parametrize(
    ("missing", "said"), [("client_id", "client_id"), ("redirect_uri", "redirect_uri")]
)
def test_facebook_dialog_without_an_app_or_a_redirect_is_a_400_page(
    client: httpx.Client, missing: str, said: str
) -> None:
    page = fb_dialog(client, **{missing: ""})
    assert page.status_code == 400
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert said in page.text
    assert "approve" not in page.text


def test_facebook_code_exchange_failures(client: httpx.Client, clock: FakeClock) -> None:
    unknown = fb_exchange(client, "made-up-code")
    assert unknown.status_code == 400
    assert unknown.json() == fb_code_error("Invalid verification code format.", 36007)

    code = fb_code(client)
    elsewhere = fb_exchange(client, code, redirect_uri="http://localhost:8765/other")
    assert elsewhere.status_code == 400
    assert elsewhere.json() == fb_code_error(
        "Error validating verification code. Please make sure your redirect_uri is identical "
        "to the one you used in the OAuth dialog request",
        36008,
    )
    another_app = fb_exchange(client, code, client_id="another-app")
    assert another_app.json() == fb_code_error("Invalid verification code format.", 36007)
    no_secret = fb_exchange(client, code, client_secret="")
    assert no_secret.status_code == 400
    assert no_secret.json()["error"]["message"] == "(#100) Missing client_secret parameter"
    assert no_secret.json()["error"]["type"] == "OAuthException"
    # None of those used the code up; a form POST works as well as a GET.
    posted = client.post(
        f"/{VERSION}/oauth/access_token",
        data={
            "grant_type": "authorization_code",
            "client_id": APP_ID,
            "client_secret": APP_SECRET,
            "redirect_uri": REDIRECT,
            "code": code,
        },
    )
    assert posted.status_code == 200 and posted.json()["expires_in"] == 5400

    late = fb_code(client)
    clock.now += 601
    expired = fb_exchange(client, late)
    assert expired.status_code == 400
    assert expired.json() == fb_code_error("This authorization code has expired.", 36007)


def test_a_code_is_exchanged_once_even_when_raced(client: httpx.Client) -> None:
    code = fb_code(client)
    statuses: list[int] = []
    base_url = str(client.base_url)

    def exchange() -> None:
        with httpx.Client(base_url=base_url, timeout=5.0) as http:
            statuses.append(fb_exchange(http, code).status_code)

    threads = [threading.Thread(target=exchange) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(statuses) == [200] + [400] * 7


def test_facebook_tokens_the_sandbox_issued_and_their_expiries(
    sandbox: SandboxServer, client: httpx.Client, clock: FakeClock
) -> None:
    short = fb_user_token(client, long_lived=False)
    long_response = fb_long_lived(client, short)
    assert long_response.status_code == 200
    assert long_response.json()["expires_in"] == 5_184_000
    long = long_response.json()["access_token"]
    assert long.startswith("sandbox-fb-user-") and long != short

    short_info = debug(client, short)
    assert short_info["is_valid"] is True and short_info["type"] == "USER"
    assert short_info["expires_at"] == int(clock.now + 5400)
    assert short_info["scopes"] == FB_SCOPES.split(",")
    assert short_info["app_id"] == APP_ID
    assert debug(client, long)["expires_at"] == int(clock.now + 60 * 86_400)

    pages = client.get(f"/{VERSION}/me/accounts", params={"access_token": long}).json()["data"]
    assert [(p["id"], p["name"]) for p in pages] == list(DEMO_PAGES)
    page = pages[0]
    assert page["access_token"].startswith(f"sandbox-page-{page['id']}-")
    page_info = debug(client, page["access_token"])
    assert page_info["is_valid"] is True
    assert page_info["expires_at"] == 0  # never
    assert (page_info["type"], page_info["profile_id"]) == ("PAGE", page["id"])
    # The same page token at every call, and it publishes.
    again = client.get(f"/{VERSION}/me/accounts", params={"access_token": long}).json()["data"]
    assert again[0]["access_token"] == page["access_token"]
    feed = client.post(
        f"/{VERSION}/{page['id']}/feed",
        data={"message": "hi", "access_token": page["access_token"]},
    )
    assert feed.json() == {"id": f"{page['id']}_1"}

    # A page token got from a short-lived user token expires with it.
    from_short = client.get(f"/{VERSION}/me/accounts", params={"access_token": short}).json()
    assert debug(client, from_short["data"][0]["access_token"])["expires_at"] == int(
        clock.now + 5400
    )

    # Tokens the sandbox did not issue are answered as always.
    assert set(debug(client, "pasted-token")) == {"is_valid", "expires_at", "scopes"}

    clock.now += 5401
    assert debug(client, short)["is_valid"] is False
    refused = client.get(f"/{VERSION}/me/accounts", params={"access_token": short})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == 190
    assert fb_long_lived(client, short).json()["error"]["code"] == 190
    assert debug(client, page["access_token"])["is_valid"] is True


def test_a_page_token_of_an_expired_page_is_invalid_and_refreshes_into_a_user_token() -> None:
    with (
        SandboxServer(facebook_pages=[("page-expired", "Gone"), ("p2", "Fine")]) as server,
        httpx.Client(base_url=server.url, timeout=5.0) as http,
    ):
        user = fb_user_token(http)
        pages = http.get(f"/{VERSION}/me/accounts", params={"access_token": user}).json()["data"]
        assert debug(http, pages[0]["access_token"])["is_valid"] is False
        fine = pages[1]["access_token"]
        renewed = fb_long_lived(http, fine).json()["access_token"]
        assert debug(http, renewed)["type"] == "USER"


def test_me_accounts_pages_through_every_page_exactly_once() -> None:
    managed = [(f"2000000000000{n:02d}", f"Page {n}") for n in range(30)]
    with (
        SandboxServer(facebook_pages=managed) as server,
        httpx.Client(timeout=5.0) as http,
    ):
        token = "any-user-token"
        url: str | None = f"{server.url}/{VERSION}/me/accounts"
        params: dict[str, str] | None = {
            "access_token": token,
            "fields": "id,name,access_token,tasks",
            "limit": "10",
        }
        seen: list[str] = []
        calls = 0
        while url is not None:
            body = http.get(url, params=params).json()
            calls += 1
            assert len(body["data"]) == 10
            assert all(set(p) == {"id", "name", "access_token", "tasks"} for p in body["data"])
            seen += [p["id"] for p in body["data"]]
            following = body["paging"].get("next")
            if following is not None:
                assert following.startswith(f"{server.url}/{VERSION}/me/accounts?")
                query = parse_qs(urlsplit(following).query)
                assert query["access_token"] == [token] and query["limit"] == ["10"]
                assert query["after"] == [body["paging"]["cursors"]["after"]]
            url, params = following, None
        assert calls == 3
        assert seen == [page_id for page_id, _ in managed]

        # The default limit is 25.
        first = http.get(f"{server.url}/{VERSION}/me/accounts", params={"access_token": token})
        assert len(first.json()["data"]) == 25
        rest = http.get(first.json()["paging"]["next"]).json()
        assert [p["id"] for p in rest["data"]] == [page_id for page_id, _ in managed[25:]]
        assert "next" not in rest["paging"]


def test_me_accounts_of_a_user_who_granted_no_page() -> None:
    with (
        SandboxServer(facebook_pages=()) as server,
        httpx.Client(base_url=server.url, timeout=5.0) as http,
    ):
        response = http.get(f"/{VERSION}/me/accounts", params={"access_token": fb_user_token(http)})
        assert response.status_code == 200
        assert response.json() == {"data": []}


def test_me_accounts_refuses_a_bad_limit_or_cursor(client: httpx.Client) -> None:
    for params in ({"limit": "0"}, {"limit": "many"}, {"after": "not-a-cursor"}):
        response = client.get(f"/{VERSION}/me/accounts", params={"access_token": "t", **params})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == 100


# --- LinkedIn -----------------------------------------------------------------------------


def li_authorize(client: httpx.Client, **params: str) -> httpx.Response:
    query = {
        "response_type": "code",
        "client_id": LI_CLIENT,
        "redirect_uri": REDIRECT,
        "state": "li-state",
        "scope": LI_SCOPES,
    }
    query.update(params)
    return client.get("/oauth/v2/authorization", params=query)


def li_code(client: httpx.Client, **params: str) -> str:
    page = li_authorize(client, **params)
    assert page.status_code == 200
    return redirect_query(links(page)["approve"])["code"]


def li_exchange(client: httpx.Client, code: str, **form: str) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": LI_CLIENT,
        "client_secret": LI_SECRET,
    }
    data.update(form)
    return client.post("/oauth/v2/accessToken", data=data)


def li_token(client: httpx.Client, scope: str = LI_SCOPES) -> str:
    return str(li_exchange(client, li_code(client, scope=scope)).json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **LI_HEADERS}


def test_linkedin_authorize_approve_and_deny(client: httpx.Client) -> None:
    page = li_authorize(client, state="st/ate")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert LI_CLIENT in page.text and "r_organization_admin" in page.text
    found = links(page)
    approve = redirect_query(found["approve"])
    assert set(approve) == {"code", "state"} and approve["state"] == "st/ate"
    assert redirect_query(found["deny"]) == {
        "error": "user_cancelled_authorize",
        "error_description": "The user cancelled the authorization",
        "state": "st/ate",
    }
    for params in ({"response_type": "token"}, {"client_id": ""}, {"redirect_uri": ""}):
        refused = li_authorize(client, **params)
        assert refused.status_code == 400
        assert refused.headers["content-type"].startswith("text/html")


def test_linkedin_code_exchange_with_refresh_tokens(client: httpx.Client) -> None:
    code = li_code(client)
    response = li_exchange(client, code)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "access_token",
        "expires_in",
        "refresh_token",
        "refresh_token_expires_in",
        "scope",
        "token_type",
    }
    assert (body["expires_in"], body["refresh_token_expires_in"]) == (5_184_000, 31_536_000)
    assert body["scope"].split(",") == LI_SCOPES.split()
    assert body["token_type"] == "Bearer"
    assert body["access_token"] != body["refresh_token"]

    assert li_exchange(client, code).json() == LI_CODE_REFUSED  # used

    refreshed = client.post(
        "/oauth/v2/accessToken",
        data={
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": LI_CLIENT,
            "client_secret": LI_SECRET,
        },
    ).json()
    assert refreshed["refresh_token"] == body["refresh_token"]
    assert refreshed["access_token"] not in (body["access_token"], body["refresh_token"])
    assert client.get("/v2/userinfo", headers=bearer(refreshed["access_token"])).status_code == 200


def test_linkedin_code_exchange_without_refresh_tokens() -> None:
    with (
        SandboxServer(linkedin_refresh_tokens=False) as server,
        httpx.Client(base_url=server.url, timeout=5.0) as http,
    ):
        body = li_exchange(http, li_code(http, scope="openid profile w_member_social")).json()
    assert set(body) == {"access_token", "expires_in", "scope", "token_type"}
    assert body["scope"] == "openid,profile,w_member_social"


def test_linkedin_code_exchange_failures(client: httpx.Client, clock: FakeClock) -> None:
    code = li_code(client)
    assert li_exchange(client, "made-up").json() == LI_CODE_REFUSED
    for form in ({"redirect_uri": "http://x.test/cb"}, {"client_id": "other-app"}):
        response = li_exchange(client, code, **form)
        assert (response.status_code, response.json()) == (400, LI_CODE_REFUSED)
    no_secret = li_exchange(client, code, client_secret="")
    assert no_secret.status_code == 401
    assert no_secret.json() == {
        "error": "invalid_client",
        "error_description": "Client authentication failed",
    }
    assert li_exchange(client, code).status_code == 200  # none of those used it up
    late = li_code(client)
    clock.now += 601
    assert li_exchange(client, late).json() == LI_CODE_REFUSED
    # A Facebook code is no LinkedIn code.
    assert li_exchange(client, fb_code(client)).json() == LI_CODE_REFUSED


def test_linkedin_userinfo(client: httpx.Client, clock: FakeClock) -> None:
    token = li_token(client)
    response = client.get("/v2/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json() == {
        "sub": "sandbox-member-1",
        "email_verified": True,
        "name": "Sam Sandbox",
        "locale": {"country": "US", "language": "en"},
        "given_name": "Sam",
        "family_name": "Sandbox",
    }
    for headers in ({}, {"Authorization": "Bearer made-up"}):
        refused = client.get("/v2/userinfo", headers=headers)
        assert (refused.status_code, refused.json()) == (401, LI_INVALID_TOKEN)
    clock.now += 60 * 86_400 + 1
    assert client.get("/v2/userinfo", headers=bearer(token)).status_code == 401


def test_linkedin_member_is_a_constructor_argument() -> None:
    with (
        SandboxServer(linkedin_member=("abc123", "Ada Lovelace")) as server,
        httpx.Client(base_url=server.url, timeout=5.0) as http,
    ):
        token = li_token(http)
        info = http.get("/v2/userinfo", headers=bearer(token)).json()
        acls = http.get(
            "/rest/organizationAcls",
            params={"q": "roleAssignee", "role": "ADMINISTRATOR", "state": "APPROVED"},
            headers=bearer(token),
        ).json()
    assert (info["sub"], info["given_name"], info["family_name"]) == ("abc123", "Ada", "Lovelace")
    assert {acl["roleAssignee"] for acl in acls["elements"]} == {"urn:li:person:abc123"}


def acls_page(client: httpx.Client, token: str, **params: str) -> httpx.Response:
    query = {"q": "roleAssignee", "role": "ADMINISTRATOR", "state": "APPROVED", **params}
    return client.get("/rest/organizationAcls", params=query, headers=bearer(token))


def test_organization_acls_pages_and_needs_the_admin_scope() -> None:
    organizations = [(str(3000 + n), f"Org {n}") for n in range(23)]
    with (
        SandboxServer(linkedin_organizations=organizations) as server,
        httpx.Client(base_url=server.url, timeout=5.0) as http,
    ):
        token = li_token(http)
        seen: list[str] = []
        start = 0
        while True:
            body = acls_page(http, token, start=str(start)).json()
            assert body["paging"] == {"start": start, "count": 10, "total": 23}
            for acl in body["elements"]:
                assert acl == {
                    "organization": acl["organization"],
                    "role": "ADMINISTRATOR",
                    "state": "APPROVED",
                    "roleAssignee": "urn:li:person:sandbox-member-1",
                }
                seen.append(acl["organization"])
            start += body["paging"]["count"]
            if start >= body["paging"]["total"]:
                break
        assert seen == [f"urn:li:organization:{org_id}" for org_id, _ in organizations]
        assert len(acls_page(http, token, start="20", count="5").json()["elements"]) == 3

        member_only = li_token(http, scope="openid profile w_member_social")
        denied = acls_page(http, member_only)
        assert denied.status_code == 403
        assert denied.json() == {
            "status": 403,
            "serviceErrorCode": 100,
            "code": "ACCESS_DENIED",
            "message": "Not enough permissions to access: "
            "organizationAcls.FINDER-roleAssignee.20261001",
        }
        no_version = http.get(
            "/rest/organizationAcls",
            params={"q": "roleAssignee"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert no_version.status_code == 400 and no_version.json()["code"] == "VERSION_MISSING"
        assert acls_page(http, "made-up").json() == LI_INVALID_TOKEN


def test_organizations_by_id(client: httpx.Client) -> None:
    token = li_token(client)
    acls = acls_page(client, token).json()["elements"]
    assert [acl["organization"] for acl in acls] == [
        f"urn:li:organization:{org_id}" for org_id, _ in DEMO_ORGANIZATIONS
    ]
    assert DEMO_ORGANIZATIONS[0] == ("2001", "Acme Coffee Co.")  # as in `omnipost demo`
    found = client.get("/rest/organizations/2001", headers=bearer(token))
    assert found.status_code == 200
    assert found.json() == {
        "id": 2001,
        "localizedName": "Acme Coffee Co.",
        "vanityName": "acme-coffee-co",
    }
    missing = client.get("/rest/organizations/999", headers=bearer(token))
    assert missing.status_code == 404
    assert missing.json() == {
        "status": 404,
        "code": "NOT_FOUND",
        "message": "Not Found: urn:li:organization:999",
    }
    refused = client.get("/rest/organizations/2001", headers=bearer("made-up"))
    assert refused.status_code == 401


# --- behaviours and inspection --------------------------------------------------------------


def test_token_endpoints_can_answer_html_or_drop_the_connection(client: httpx.Client) -> None:
    code = fb_code(client)
    li = li_code(client)

    assert client.post("/_sandbox/oauth-behaviour", json={"token_endpoint": "html500"}).json() == {
        "token_endpoint": "html500"
    }
    for response in (
        fb_exchange(client, code),
        li_exchange(client, li),
        fb_long_lived(client, "t"),
    ):
        assert response.status_code == 500
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert response.text == BAD_GATEWAY
    # The other endpoints are not concerned.
    assert fb_dialog(client).status_code == 200

    client.post("/_sandbox/oauth-behaviour", json={"token_endpoint": "down"})
    with pytest.raises(httpx.RemoteProtocolError):
        fb_exchange(client, code)
    with pytest.raises(httpx.RemoteProtocolError):
        li_exchange(client, li)

    client.post("/_sandbox/oauth-behaviour", json={"token_endpoint": "ok"})
    # The codes were not used by the failed attempts.
    assert fb_exchange(client, code).status_code == 200
    assert li_exchange(client, li).status_code == 200

    for body in ({"token_endpoint": "explode"}, {}, []):
        assert client.post("/_sandbox/oauth-behaviour", json=body).status_code == 400


def test_token_endpoint_mode_from_the_constructor() -> None:
    with (
        SandboxServer(token_endpoint="html500") as server,
        httpx.Client(base_url=server.url, timeout=5.0) as http,
    ):
        assert fb_exchange(http, "c").text == BAD_GATEWAY
        server.set_token_endpoint("OK")
        assert server.token_endpoint == "ok"
        assert fb_exchange(http, "c").status_code == 400
    with pytest.raises(ValueError, match="token endpoint mode"):
        SandboxServer(token_endpoint="sometimes")


def test_inspection_counts_codes_and_tokens(sandbox: SandboxServer, client: httpx.Client) -> None:
    assert client.get("/_sandbox/oauth").json() == {
        "codes_issued": 0,
        "codes_used": 0,
        "tokens_issued": 0,
    }
    user = fb_user_token(client)  # 1 code; a short and a long-lived token
    client.get(f"/{VERSION}/me/accounts", params={"access_token": user, "limit": "2"})
    client.get(f"/{VERSION}/me/accounts", params={"access_token": user, "limit": "2"})  # same 2
    fb_code(client)  # issued, never used
    li_exchange(client, li_code(client))  # access + refresh
    counts = client.get("/_sandbox/oauth").json()
    assert counts == {"codes_issued": 3, "codes_used": 2, "tokens_issued": 2 + 2 + 2}
    assert sandbox.oauth_counts == counts
    client.post("/_sandbox/reset")
    assert client.get("/_sandbox/oauth").json() == counts


def test_no_code_or_token_in_what_the_sandbox_shows(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    fb_code_value = fb_code(client)
    short = fb_exchange(client, fb_code_value).json()["access_token"]
    user = fb_long_lived(client, short).json()["access_token"]
    pages = client.get(f"/{VERSION}/me/accounts", params={"access_token": user}).json()["data"]
    page_token = pages[0]["access_token"]
    client.post(
        f"/{VERSION}/{pages[0]['id']}/feed", data={"message": "m", "access_token": page_token}
    )
    li_code_value = li_code(client)
    li = li_exchange(client, li_code_value).json()
    client.post(
        "/rest/posts",
        json={"author": "urn:li:organization:2001", "commentary": "c"},
        headers=bearer(li["access_token"]),
    )
    li_exchange(client, li_code_value)  # refused: the error must not quote it either

    secrets = [
        fb_code_value,
        short,
        user,
        page_token,
        li_code_value,
        li["access_token"],
        li["refresh_token"],
        APP_SECRET,
        LI_SECRET,
    ]
    shown = [
        client.get("/_sandbox/requests").text,
        client.get("/_sandbox/posts").text,
        client.get("/_sandbox/oauth").text,
        repr(sandbox.requests),
        repr(sandbox.posts),
        fb_exchange(client, fb_code_value).text,
        li_exchange(client, li_code_value).text,
    ]
    assert len(sandbox.requests) == 2
    for text in shown:
        for secret in secrets:
            assert secret not in text


def test_the_settings_point_the_facebook_authorize_host_at_the_sandbox() -> None:
    url = "http://127.0.0.1:8765"
    assert omnipost_settings(url)["OMNIPOST_FACEBOOK_OAUTH_URL"] == url
    assert f"export OMNIPOST_FACEBOOK_OAUTH_URL={url}\n" in how_to_use(url)
