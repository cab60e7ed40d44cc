"""The sandbox: a real HTTP server faking the Facebook Graph and LinkedIn APIs."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from omnipost_tui.config import load_settings
from omnipost_tui.sandbox import DEMO_PAGES, ReceivedPost, SandboxServer, unescape_little_text
from omnipost_tui.sandbox.run import how_to_use, omnipost_settings
from tests.conftest import wait_for

TOKEN = "SECRET-sandbox-token-7f3a9c"
LI_VERSION = "202610"
REPO_ROOT = Path(__file__).resolve().parents[1]

FB_RATE_LIMITED = {
    "error": {
        "message": "(#32) Page request limit reached",
        "type": "OAuthException",
        "code": 32,
        "fbtrace_id": "A1b2",
    }
}
FB_EXPIRED = {
    "error": {
        "message": "Error validating access token: Session has expired on Tuesday, "
        "01-Sep-26 10:00:00 PDT.",
        "type": "OAuthException",
        "code": 190,
        "error_subcode": 463,
        "fbtrace_id": "A1b2",
    }
}
FB_DUPLICATE = {
    "error": {
        "message": "(#506) Duplicate status message",
        "type": "OAuthException",
        "code": 506,
        "fbtrace_id": "A1b2",
    }
}
FB_FORBIDDEN = {
    "error": {
        "message": "(#200) Requires pages_manage_posts permission",
        "type": "OAuthException",
        "code": 200,
        "fbtrace_id": "A1b2",
    }
}
LI_RATE_LIMITED = {
    "status": 429,
    "code": "TOO_MANY_REQUESTS",
    "message": "Resource level throttle limit reached",
}
LI_EXPIRED = {
    "status": 401,
    "serviceErrorCode": 65601,
    "code": "REVOKED_ACCESS_TOKEN",
    "message": "The token used in the request has been revoked by the user",
}
LI_DUPLICATE = {
    "status": 422,
    "code": "DUPLICATE_POST",
    "message": "Content is a duplicate of urn:li:share:1",
}
LI_FORBIDDEN = {
    "status": 403,
    "serviceErrorCode": 100,
    "code": "ACCESS_DENIED",
    "message": "Not enough permissions to access: partnerApiPostsExternal.CREATE.20261001",
}
HTML_503 = "<html><body><h1>503 Service Unavailable</h1></body></html>"
HTML_500 = "<html><body><h1>500 Internal Server Error</h1></body></html>"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(slow_seconds=0.2, hang_seconds=30.0) as server:
        yield server


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, timeout=5.0) as http:
        yield http


def fb_publish(
    client: httpx.Client,
    page_id: str,
    message: str = "Hello from the sandbox",
    token: str | None = TOKEN,
    **extra: str,
) -> httpx.Response:
    data = {"message": message, **extra}
    if token is not None:
        data["access_token"] = token
    return client.post(f"/v21.0/{page_id}/feed", data=data)


def li_publish(
    client: httpx.Client,
    author: str,
    commentary: str = "Hello from the sandbox",
    token: str | None = TOKEN,
    version: str | None = LI_VERSION,
    **extra: Any,
) -> httpx.Response:
    headers = {"X-Restli-Protocol-Version": "2.0.0"}
    if version is not None:
        headers["LinkedIn-Version"] = version
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    body = {
        "author": author,
        "commentary": commentary,
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED"},
        "lifecycleState": "PUBLISHED",
        **extra,
    }
    return client.post("/rest/posts", json=body, headers=headers)


def ugc_body(author: str, text: str, link: str | None = None) -> dict[str, Any]:
    share: dict[str, Any] = {
        "shareCommentary": {"text": text},
        "shareMediaCategory": "ARTICLE" if link else "NONE",
    }
    if link:
        share["media"] = [{"status": "READY", "originalUrl": link}]
    return {
        "author": author,
        "lifecycleState": "PUBLISHED",
        "specificContent": {"com.linkedin.ugc.ShareContent": share},
        "visibility": {"com.linkedin.ugc.MemberNetworkVisibility": "PUBLIC"},
    }


def publish(client: httpx.Client, platform: str, name: str) -> httpx.Response:
    """Publish on an account whose id contains ``name``."""
    if platform == "facebook":
        return fb_publish(client, f"page-{name}")
    return li_publish(client, f"urn:li:organization:{name}")


# --- success shapes ------------------------------------------------------------------------


def test_facebook_feed_success_form_and_json(sandbox: SandboxServer, client: httpx.Client) -> None:
    first = fb_publish(client, "123456", "First", link="https://example.com/a")
    assert first.status_code == 200
    assert first.json() == {"id": "123456_1"}
    second = client.post("/v21.0/123456/feed", json={"message": "Second", "access_token": TOKEN})
    assert second.status_code == 200
    assert second.json() == {"id": "123456_2"}

    posts = sandbox.posts
    assert [(p.platform, p.account, p.text, p.link, p.external_post_id) for p in posts] == [
        ("facebook", "123456", "First", "https://example.com/a", "123456_1"),
        ("facebook", "123456", "Second", None, "123456_2"),
    ]
    assert all(isinstance(p, ReceivedPost) for p in posts)
    assert posts[0].received_at.tzinfo is not None

    listed = client.get("/_sandbox/posts").json()
    assert listed[0] == {
        "platform": "facebook",
        "account": "123456",
        "text": "First",
        "link": "https://example.com/a",
        "external_post_id": "123456_1",
        "received_at": listed[0]["received_at"],
        "images": [],
    }
    received = datetime.fromisoformat(listed[0]["received_at"])
    assert received.utcoffset() is not None
    assert abs((datetime.now(UTC) - received).total_seconds()) < 60


def test_facebook_token_exchange(client: httpx.Client) -> None:
    response = client.get(
        "/v21.0/oauth/access_token",
        params={
            "grant_type": "fb_exchange_token",
            "client_id": "app",
            "client_secret": "shh",
            "fb_exchange_token": "short-lived",
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 5_184_000
    assert body["access_token"] and body["access_token"] != "short-lived"


def test_facebook_debug_token(client: httpx.Client) -> None:
    response = client.get(
        "/v21.0/debug_token", params={"input_token": "page-tok", "access_token": "app|secret"}
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert set(data) == {"is_valid", "expires_at", "scopes"}
    assert data["is_valid"] is True
    assert abs(data["expires_at"] - (time.time() + 60 * 86_400)) < 60
    assert data["scopes"] == ["pages_manage_posts", "pages_read_engagement"]

    expired = client.get(
        "/v21.0/debug_token", params={"input_token": "tok-expired", "access_token": "app|secret"}
    )
    assert expired.json()["data"]["is_valid"] is False
    assert expired.json()["data"]["expires_at"] < time.time()


def test_facebook_me_accounts_and_page_tokens(client: httpx.Client) -> None:
    response = client.get("/v21.0/me/accounts", params={"access_token": "user-token"})
    assert response.status_code == 200
    pages = response.json()["data"]
    assert len(pages) == len(DEMO_PAGES) >= 2
    for page in pages:
        # Graph's default fields (without ?fields=).
        assert set(page) == {"id", "name", "access_token", "category", "tasks"}
        assert all(isinstance(page[key], str) and page[key] for key in set(page) - {"tasks"})
        assert "CREATE_CONTENT" in page["tasks"]
    # The page token it hands out works for publishing on that page.
    page = pages[0]
    assert fb_publish(client, page["id"], token=page["access_token"]).status_code == 200
    assert client.get("/v21.0/me/accounts").json()["error"]["code"] == 190


def test_debug_token_reports_page_token_of_expired_page_invalid() -> None:
    with SandboxServer(behaviours={"100000000000002": "expired"}) as server:
        pages = httpx.get(
            f"{server.url}/v21.0/me/accounts", params={"access_token": "user"}
        ).json()["data"]
        validity = {
            page["id"]: httpx.get(
                f"{server.url}/v21.0/debug_token",
                params={"input_token": page["access_token"], "access_token": "app"},
            ).json()["data"]["is_valid"]
            for page in pages
        }
    assert validity["100000000000001"] is True
    assert validity["100000000000002"] is False


def test_linkedin_rest_posts_success(sandbox: SandboxServer, client: httpx.Client) -> None:
    response = li_publish(
        client,
        "urn:li:organization:42",
        "Launch day",
        content={"article": {"source": "https://example.com/launch", "title": "Launch"}},
    )
    assert response.status_code == 201
    assert response.content == b""
    assert response.headers["x-restli-id"] == "urn:li:share:1"
    [post] = sandbox.posts
    assert (post.platform, post.account, post.text, post.link, post.external_post_id) == (
        "linkedin",
        "urn:li:organization:42",
        "Launch day",
        "https://example.com/launch",
        "urn:li:share:1",
    )


def test_linkedin_missing_version_header_is_400(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    response = li_publish(client, "urn:li:person:abc", version=None)
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 400
    assert set(body) >= {"status", "code", "message"}
    assert sandbox.posts == []
    assert sandbox.requests[0]["outcome"] == "bad_request"


def test_linkedin_ugc_posts_success(sandbox: SandboxServer, client: httpx.Client) -> None:
    response = client.post(
        "/v2/ugcPosts",
        json=ugc_body("urn:li:person:xyz", "Legacy (ugc) post", "https://example.com/x"),
        headers={"Authorization": f"Bearer {TOKEN}", "X-Restli-Protocol-Version": "2.0.0"},
    )
    assert response.status_code == 201
    assert response.headers["x-restli-id"] == "urn:li:share:1"
    assert response.json() == {"id": "urn:li:share:1"}
    [post] = sandbox.posts
    assert (post.account, post.text, post.link) == (
        "urn:li:person:xyz",
        "Legacy (ugc) post",
        "https://example.com/x",
    )


def test_linkedin_refresh_token(client: httpx.Client) -> None:
    response = client.post(
        "/oauth/v2/accessToken",
        data={
            "grant_type": "refresh_token",
            "refresh_token": "refresh-me",
            "client_id": "cid",
            "client_secret": "csecret",
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "expires_in", "refresh_token", "refresh_token_expires_in"}
    assert body["expires_in"] == 5_184_000
    assert body["refresh_token_expires_in"] == 31_536_000
    assert body["access_token"] and body["refresh_token"]


def test_post_ids_increase_across_platforms(client: httpx.Client) -> None:
    assert fb_publish(client, "1").json() == {"id": "1_1"}
    assert li_publish(client, "urn:li:person:p").headers["x-restli-id"] == "urn:li:share:2"
    assert fb_publish(client, "1").json() == {"id": "1_3"}


# --- behaviours ----------------------------------------------------------------------------


@pytest.mark.parametrize("platform", ["facebook", "linkedin"])
def test_ratelimit_refuses_first_publish_only(
    sandbox: SandboxServer, client: httpx.Client, platform: str
) -> None:
    first = publish(client, platform, "RateLimit")
    if platform == "facebook":
        assert first.status_code == 400
        assert first.json() == FB_RATE_LIMITED
        usage = json.loads(first.headers["X-Business-Use-Case-Usage"])
        assert usage == {
            "page-RateLimit": [
                {
                    "type": "pages",
                    "call_count": 100,
                    "total_cputime": 10,
                    "total_time": 10,
                    "estimated_time_to_regain_access": 0,
                }
            ]
        }
    else:
        assert first.status_code == 429
        assert first.json() == LI_RATE_LIMITED
    assert publish(client, platform, "RateLimit").status_code in (200, 201)
    assert publish(client, platform, "RateLimit").status_code in (200, 201)
    assert [r["outcome"] for r in sandbox.requests] == ["rate_limited", "ok", "ok"]
    assert len(sandbox.posts) == 2

    # Counting is per account, and reset starts it over.
    assert publish(client, platform, "other-ratelimit").status_code in (400, 429)
    assert client.post("/_sandbox/reset").status_code == 200
    assert sandbox.posts == [] and sandbox.requests == []
    assert publish(client, platform, "RateLimit").status_code in (400, 429)


@pytest.mark.parametrize("platform", ["facebook", "linkedin"])
def test_flaky_fails_once_with_html(client: httpx.Client, platform: str) -> None:
    first = publish(client, platform, "flaky")
    assert first.status_code == 503
    assert first.headers["content-type"].startswith("text/html")
    assert first.text == HTML_503
    assert publish(client, platform, "flaky").status_code in (200, 201)


@pytest.mark.parametrize("platform", ["facebook", "linkedin"])
def test_expired_always_refused(
    sandbox: SandboxServer, client: httpx.Client, platform: str
) -> None:
    for _ in range(2):
        response = publish(client, platform, "expired")
        if platform == "facebook":
            assert response.status_code == 400
            assert response.json() == FB_EXPIRED
        else:
            assert response.status_code == 401
            assert response.json() == LI_EXPIRED
    assert sandbox.posts == []
    assert {r["outcome"] for r in sandbox.requests} == {"token_expired"}


@pytest.mark.parametrize("platform", ["facebook", "linkedin"])
@pytest.mark.parametrize("name", ["permanent", "duplicate"])
def test_permanent_and_duplicate(client: httpx.Client, platform: str, name: str) -> None:
    for _ in range(2):
        response = publish(client, platform, name)
        if platform == "facebook":
            assert (response.status_code, response.json()) == (400, FB_DUPLICATE)
        else:
            assert (response.status_code, response.json()) == (422, LI_DUPLICATE)


@pytest.mark.parametrize("platform", ["facebook", "linkedin"])
def test_forbidden(client: httpx.Client, platform: str) -> None:
    response = publish(client, platform, "forbidden")
    expected = FB_FORBIDDEN if platform == "facebook" else LI_FORBIDDEN
    assert (response.status_code, response.json()) == (403, expected)


@pytest.mark.parametrize("platform", ["facebook", "linkedin"])
def test_down_always_500_html(client: httpx.Client, platform: str) -> None:
    for _ in range(2):
        response = publish(client, platform, "down")
        assert response.status_code == 500
        assert response.headers["content-type"].startswith("text/html")
        assert response.text == HTML_500


@pytest.mark.parametrize("platform", ["facebook", "linkedin"])
def test_slow_succeeds_after_delay(client: httpx.Client, platform: str) -> None:
    started = time.monotonic()
    response = publish(client, platform, "slow")
    assert response.status_code in (200, 201)
    assert time.monotonic() - started >= 0.2


@pytest.mark.parametrize("platform", ["facebook", "linkedin"])
def test_missing_token_is_token_error(
    sandbox: SandboxServer, client: httpx.Client, platform: str
) -> None:
    if platform == "facebook":
        response = fb_publish(client, "123", token=None)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == 190
    else:
        response = li_publish(client, "urn:li:person:1", token=None)
        assert response.status_code == 401
        assert response.json()["status"] == 401
    [record] = sandbox.requests
    assert (record["outcome"], record["token_present"]) == ("token_missing", False)
    assert sandbox.posts == []


def test_hang_answers_success_after_hang_seconds() -> None:
    with (
        SandboxServer(hang_seconds=0.3) as server,
        httpx.Client(base_url=server.url, timeout=5.0) as http,
    ):
        started = time.monotonic()
        response = fb_publish(http, "page-hang")
        assert response.json() == {"id": "page-hang_1"}
        assert time.monotonic() - started >= 0.3
        assert li_publish(http, "urn:li:organization:hang").status_code == 201
        # A client that gives up first still leaves the post on the "platform".
        with pytest.raises(httpx.ReadTimeout):
            http.post(
                "/rest/posts",
                json={"author": "urn:li:organization:hang", "commentary": "x"},
                headers={"Authorization": "Bearer t", "LinkedIn-Version": LI_VERSION},
                timeout=0.05,
            )
        server.wait_for_posts(3, timeout=5.0)


def test_explicit_mapping_overrides_keyword() -> None:
    behaviours = {"page-ratelimit": "ok", "123": "expired", "urn:li:person:flaky": "forbidden"}
    with (
        SandboxServer(behaviours=behaviours) as server,
        httpx.Client(base_url=server.url, timeout=5.0) as http,
    ):
        assert fb_publish(http, "page-ratelimit").status_code == 200
        assert fb_publish(http, "123").json() == FB_EXPIRED
        assert li_publish(http, "urn:li:person:flaky").json() == LI_FORBIDDEN
        assert server.behaviour_for("page-ratelimit-2") == "ratelimit"
    with pytest.raises(ValueError, match="unknown sandbox behaviour"):
        SandboxServer(behaviours={"x": "explode"})


def test_linkedin_commentary_is_unescaped(sandbox: SandboxServer, client: httpx.Client) -> None:
    raw = "Join us \\(today\\) \\#launch \\@team \\[x\\] \\{y\\} \\<z\\> a\\|b \\*\\_\\~ \\\\ \\n"
    assert li_publish(client, "urn:li:person:a", raw).status_code == 201
    expected = "Join us (today) #launch @team [x] {y} <z> a|b *_~ \\ \\n"
    assert client.get("/_sandbox/posts").json()[0]["text"] == expected
    assert sandbox.posts[0].text == expected
    assert unescape_little_text("trailing \\") == "trailing \\"


def test_token_never_recorded_or_returned(sandbox: SandboxServer, client: httpx.Client) -> None:
    fb_publish(client, "123")
    fb_publish(client, "page-expired")
    client.post(f"/v21.0/123/feed?access_token={TOKEN}", data={"message": "query token"})
    li_publish(client, "urn:li:person:1")
    li_publish(client, "urn:li:person:ratelimit")
    client.post(
        "/v2/ugcPosts",
        json=ugc_body("urn:li:person:2", "ugc"),
        headers={"Authorization": f"Bearer {TOKEN}"},
    )

    requests_json = client.get("/_sandbox/requests")
    posts_json = client.get("/_sandbox/posts")
    for text in (requests_json.text, posts_json.text, repr(sandbox.requests), repr(sandbox.posts)):
        assert TOKEN not in text
    records = requests_json.json()
    assert len(records) == 6
    assert all(record["token_present"] is True for record in records)
    assert {"platform", "account", "outcome", "status", "received_at"} <= set(records[0])
    assert [r["status"] for r in records] == [200, 400, 200, 201, 429, 201]


# --- lifecycle -----------------------------------------------------------------------------


def test_stop_is_prompt_while_hang_request_in_flight() -> None:
    server = SandboxServer(hang_seconds=30.0).start()
    outcome: list[BaseException | httpx.Response] = []

    def call() -> None:
        with httpx.Client(base_url=server.url, timeout=10.0) as http:
            try:
                outcome.append(fb_publish(http, "hang"))
            except httpx.HTTPError as exc:
                outcome.append(exc)

    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    wait_for(lambda: server.in_flight == 1, timeout=5.0, what="the request in flight")
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 2.0
    server.stop()  # idempotent
    caller.join(timeout=5.0)
    assert not caller.is_alive()
    assert isinstance(outcome[0], httpx.HTTPError)  # dropped, not answered
    assert server.requests[0]["outcome"] == "aborted"
    assert server.posts == []
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/_sandbox/posts", timeout=2.0)


def test_url_requires_start_and_stop_without_start_is_harmless() -> None:
    server = SandboxServer()
    with pytest.raises(RuntimeError):
        _ = server.url
    server.stop()


def _read_line(stream: Any, timeout: float) -> str:
    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)
    buffer = b""
    deadline = time.monotonic() + timeout
    while not buffer.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not selector.select(remaining):
            raise AssertionError(f"no complete line within {timeout} s (got {buffer!r})")
        chunk = os.read(stream.fileno(), 1)
        if not chunk:
            raise AssertionError(f"stream closed early (got {buffer!r})")
        buffer += chunk
    selector.close()
    return buffer.decode()


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_module_entry_point_serves_and_exits_cleanly(stop_signal: signal.Signals) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "omnipost_tui.sandbox", "--port", "0", "--behaviour", "7=expired"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        line = _read_line(proc.stdout, timeout=10.0)
        assert line.startswith("SANDBOX_URL=http://127.0.0.1:")
        url = line.strip().removeprefix("SANDBOX_URL=")
        with httpx.Client(base_url=url, timeout=5.0) as http:
            assert fb_publish(http, "42").json() == {"id": "42_1"}
            assert fb_publish(http, "7").json() == FB_EXPIRED
            assert [post["account"] for post in http.get("/_sandbox/posts").json()] == ["42"]
        proc.send_signal(stop_signal)
        stdout, stderr = proc.communicate(timeout=5.0)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    # After the URL: the shell lines that point OmniPost at it, nothing else.
    assert stdout.decode() == how_to_use(url) + "\n"
    assert f"export OMNIPOST_FACEBOOK_GRAPH_URL={url}\n" in stdout.decode()
    assert b"Traceback" not in stderr
    assert stderr == b""


def test_the_settings_it_prints_are_omnipost_settings_that_load(tmp_path: Path) -> None:
    url = "http://127.0.0.1:8765"
    env = {"OMNIPOST_HOME": str(tmp_path), **omnipost_settings(url)}

    settings = load_settings(env)  # raises on an unknown or bad value

    assert settings.facebook_graph_url == settings.linkedin_api_url == url
    assert settings.linkedin_oauth_url == url
    assert all(
        settings.sources[key].startswith("env ")
        for key in (
            "facebook_app_id",
            "facebook_app_secret",
            "linkedin_client_id",
            "linkedin_client_secret",
        )
    )
    printed = how_to_use(url)
    for name, value in omnipost_settings(url).items():
        assert f"export {name}={value}\n" in printed


def test_sandbox_does_not_import_textual() -> None:
    code = (
        "import sys, omnipost_tui.sandbox\n"
        "assert 'textual' not in sys.modules, 'textual imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True, timeout=30)


def test_an_outage_answers_each_failure_in_turn_then_recovers(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    response = client.post("/_sandbox/outage", json={"seconds": 1.5})
    assert response.json() == {"outage_seconds": 1.5}
    json500 = fb_publish(client, "123456", "one")
    assert json500.status_code == 500
    assert json500.json()["error"]["is_transient"] is True
    html502 = li_publish(client, "urn:li:organization:1", "two")
    assert html502.status_code == 502
    assert html502.headers["content-type"].startswith("text/html")
    with pytest.raises(httpx.RemoteProtocolError):  # the reset: dropped unanswered
        fb_publish(client, "123456", "three")
    with pytest.raises(httpx.ReadTimeout):  # the timeout: no answer within the client's
        client.post(
            "/v21.0/123456/feed",
            data={"message": "four", "access_token": TOKEN},
            timeout=0.2,
        )
    assert sandbox.posts == [], "nothing is created while the platforms are down"

    def published_after() -> bool:
        try:
            return fb_publish(client, "123456", "after").status_code == 200
        except httpx.TransportError:  # a reset or a timeout: still down
            return False

    wait_for(published_after, timeout=10, interval=0.2, what="the platforms to come back")
    assert [post.text for post in sandbox.posts] == ["after"]


@pytest.mark.parametrize("body", [{}, {"seconds": "soon"}, {"seconds": -1}, {"seconds": True}])
def test_an_outage_asked_for_wrongly_is_refused(client: httpx.Client, body) -> None:
    response = client.post("/_sandbox/outage", json=body)
    assert response.status_code == 400
    assert "seconds" in response.json()["error"]
