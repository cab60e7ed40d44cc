"""LinkedIn connector: Posts API and legacy ugcPosts requests, escaping, error classification."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
import respx

from omnipost_tui.connectors import (
    LinkedInConnector,
    MaybePublished,
    Permanent,
    PermissionDenied,
    PlatformError,
    PublishRequest,
    RateLimited,
    TokenExpired,
    Transient,
    classify_linkedin_error,
    escape_little_text,
)

API = "https://api.linkedin.test"
TOKEN = "EAAB-test-SECRET-token-123"
AUTHOR = "urn:li:organization:5515715"
POST_URN = "urn:li:share:7260000000000000000"
VERSION = "202610"


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=True) as router:
        yield router


@pytest.fixture
def connector() -> Iterator[LinkedInConnector]:
    conn = LinkedInConnector(API, VERSION, timeout=30)
    yield conn
    conn.close()


@pytest.fixture
def ugc() -> Iterator[LinkedInConnector]:
    conn = LinkedInConnector(API, VERSION, timeout=30, api="ugc")
    yield conn
    conn.close()


def request(text: str = "Hello LinkedIn", link: str | None = None) -> PublishRequest:
    return PublishRequest(account_external_id=AUTHOR, access_token=TOKEN, text=text, link=link)


def li_error(status: int, message: str, code: str | None = None) -> dict[str, object]:
    body: dict[str, object] = {"status": status, "serviceErrorCode": 100, "message": message}
    if code:
        body["code"] = code
    return body


def assert_no_token(err: PlatformError) -> None:
    assert TOKEN not in str(err)
    assert TOKEN not in repr(err)
    assert TOKEN not in " ".join(map(str, err.args))
    assert TOKEN not in (err.raw_body or "")
    assert TOKEN not in json.dumps(err.request_summary)


def publish_error(connector: LinkedInConnector) -> PlatformError:
    with pytest.raises(PlatformError) as info:
        connector.publish(request())
    assert_no_token(info.value)
    return info.value


# --- escaping -------------------------------------------------------------------------------


def test_reserved_characters_are_escaped() -> None:
    text = "Hi (all) #launch @you [x] {y} <z> a_b *c* ~d| back\\slash"
    assert escape_little_text(text) == (
        r"Hi \(all\) \#launch \@you \[x\] \{y\} \<z\> a\_b \*c\* \~d\| back\\slash"
    )


def test_plain_text_and_newlines_are_untouched() -> None:
    text = "Line one.\nLine two: 100% ok, isn't it? é 🚀"
    assert escape_little_text(text) == text


# --- Posts API success ----------------------------------------------------------------------


def test_success_returns_urn_from_header_and_sends_versioned_headers(
    mock: respx.MockRouter, connector: LinkedInConnector
) -> None:
    route = mock.post("/rest/posts").respond(201, headers={"x-restli-id": POST_URN})

    result = connector.publish(request("Launch (v2) #news"))

    assert result.external_post_id == POST_URN
    assert result.http_status == 201
    assert result.raw_response == ""
    sent = route.calls.last.request
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["LinkedIn-Version"] == VERSION
    assert sent.headers["X-Restli-Protocol-Version"] == "2.0.0"
    assert sent.headers["Content-Type"] == "application/json"
    assert TOKEN not in str(sent.url)
    assert json.loads(sent.content) == {
        "author": AUTHOR,
        "commentary": r"Launch \(v2\) \#news",
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    summary = result.request_summary
    assert summary["url"] == f"{API}/rest/posts"
    assert summary["headers"]["Authorization"] == "[REDACTED]"
    assert summary["headers"]["LinkedIn-Version"] == VERSION
    assert summary["body"]["author"] == AUTHOR
    assert TOKEN not in json.dumps(summary)
    assert TOKEN not in repr(result)


def test_linkedin_id_header_is_a_fallback(
    mock: respx.MockRouter, connector: LinkedInConnector
) -> None:
    mock.post("/rest/posts").respond(201, headers={"x-linkedin-id": POST_URN})
    assert connector.publish(request()).external_post_id == POST_URN


def test_escaped_commentary_is_what_is_sent(
    mock: respx.MockRouter, connector: LinkedInConnector
) -> None:
    route = mock.post("/rest/posts").respond(201, headers={"x-restli-id": POST_URN})
    text = "Hi (all) #launch @you [x] {y} <z> a_b *c* ~d| back\\slash"
    connector.publish(request(text))
    sent = json.loads(route.calls.last.request.content)
    assert sent["commentary"] == escape_little_text(text)


def test_link_becomes_an_article_with_a_title(
    mock: respx.MockRouter, connector: LinkedInConnector
) -> None:
    route = mock.post("/rest/posts").respond(201, headers={"x-restli-id": POST_URN})
    connector.publish(request(link="https://www.example.com/blog/launch/"))
    article = json.loads(route.calls.last.request.content)["content"]["article"]
    assert article["source"] == "https://www.example.com/blog/launch/"
    assert article["title"] == "example.com/blog/launch"


def test_201_without_id_header_may_be_published(
    mock: respx.MockRouter, connector: LinkedInConnector
) -> None:
    mock.post("/rest/posts").respond(201)
    err = publish_error(connector)
    assert type(err) is MaybePublished
    assert "no post id" in str(err)
    assert err.http_status == 201


# --- legacy ugcPosts ------------------------------------------------------------------------


def test_ugc_payload_matches_the_guide(mock: respx.MockRouter, ugc: LinkedInConnector) -> None:
    route = mock.post("/v2/ugcPosts").respond(201, headers={"x-restli-id": POST_URN})

    result = ugc.publish(request("Post (text) #plain"))

    assert result.external_post_id == POST_URN
    sent = route.calls.last.request
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["X-Restli-Protocol-Version"] == "2.0.0"
    assert json.loads(sent.content) == {
        "author": AUTHOR,
        "lifecycleState": "PUBLISHED",
        "specificContent": {
            "com.linkedin.ugc.ShareContent": {
                "shareCommentary": {"text": "Post (text) #plain"},
                "shareMediaCategory": "NONE",
            }
        },
        "visibility": {"com.linkedin.ugc.MemberNetworkVisibility": "PUBLIC"},
    }


def test_ugc_link_is_an_article(mock: respx.MockRouter, ugc: LinkedInConnector) -> None:
    route = mock.post("/v2/ugcPosts").respond(201, headers={"x-restli-id": POST_URN})
    ugc.publish(request(link="https://example.com/a"))
    share = json.loads(route.calls.last.request.content)["specificContent"][
        "com.linkedin.ugc.ShareContent"
    ]
    assert share["shareMediaCategory"] == "ARTICLE"
    assert share["media"] == [{"status": "READY", "originalUrl": "https://example.com/a"}]


def test_ugc_id_can_come_from_the_body(mock: respx.MockRouter, ugc: LinkedInConnector) -> None:
    mock.post("/v2/ugcPosts").respond(201, json={"id": POST_URN})
    assert ugc.publish(request()).external_post_id == POST_URN


def test_unknown_api_flavour_is_rejected() -> None:
    with pytest.raises(ValueError, match="rest"):
        LinkedInConnector(API, VERSION, timeout=5, api="v3")


# --- errors ---------------------------------------------------------------------------------


def test_401_is_token_expired(mock: respx.MockRouter, connector: LinkedInConnector) -> None:
    body = li_error(
        401, "The token used in the request has been revoked by the user", "REVOKED_ACCESS_TOKEN"
    )
    mock.post("/rest/posts").respond(401, json=body)
    err = publish_error(connector)
    assert isinstance(err, TokenExpired)
    assert not err.retryable
    assert err.code == "REVOKED_ACCESS_TOKEN"
    assert "expired or was revoked" in str(err)
    assert "revoked by the user" in str(err)


def test_401_without_code_uses_status_as_code(
    mock: respx.MockRouter, connector: LinkedInConnector
) -> None:
    mock.post("/rest/posts").respond(401, json={"status": 401, "message": "Invalid access token"})
    err = publish_error(connector)
    assert isinstance(err, TokenExpired)
    assert err.code == "401"


def test_403_is_permission_denied(mock: respx.MockRouter, connector: LinkedInConnector) -> None:
    message = "Not enough permissions to access: partnerApiPostsExternal.CREATE.20261001"
    mock.post("/rest/posts").respond(403, json=li_error(403, message, "ACCESS_DENIED"))
    err = publish_error(connector)
    assert isinstance(err, PermissionDenied)
    assert err.kind == "permission_denied"
    assert message in str(err)


def test_400_is_permanent(mock: respx.MockRouter, connector: LinkedInConnector) -> None:
    message = "/author :: urn:li:person:x is not a valid URN"
    mock.post("/rest/posts").respond(400, json=li_error(400, message, "INVALID_URN"))
    err = publish_error(connector)
    assert type(err) is Permanent
    assert err.code == "INVALID_URN"
    assert message in str(err)


def test_422_duplicate_post_is_permanent(
    mock: respx.MockRouter, connector: LinkedInConnector
) -> None:
    message = "Content is a duplicate of urn:li:share:7250000000000000000"
    mock.post("/rest/posts").respond(422, json=li_error(422, message, "DUPLICATE_POST"))
    err = publish_error(connector)
    assert type(err) is Permanent
    assert not err.retryable
    assert err.code == "DUPLICATE_POST"
    assert message in str(err)


def test_426_tells_the_user_to_update_the_version(
    mock: respx.MockRouter, connector: LinkedInConnector
) -> None:
    mock.post("/rest/posts").respond(
        426, json=li_error(426, "Requested version 20241001 is not active", "NONEXISTENT_VERSION")
    )
    err = publish_error(connector)
    assert type(err) is Permanent
    assert "OMNIPOST_LINKEDIN_VERSION" in str(err)
    assert "YYYYMM" in str(err)
    assert VERSION in str(err)
    assert "is not active" in str(err)


@pytest.mark.parametrize(("headers", "retry_after"), [({"Retry-After": "120"}, 120.0), ({}, None)])
def test_429_is_rate_limited(
    mock: respx.MockRouter,
    connector: LinkedInConnector,
    headers: dict[str, str],
    retry_after: float | None,
) -> None:
    mock.post("/rest/posts").respond(
        429, json=li_error(429, "Resource level throttle limit reached"), headers=headers
    )
    err = publish_error(connector)
    assert isinstance(err, RateLimited)
    assert err.retryable
    assert err.retry_after == retry_after
    assert err.code == "429"
    assert "throttle limit" in str(err)


def test_500_html_is_transient(mock: respx.MockRouter, connector: LinkedInConnector) -> None:
    mock.post("/rest/posts").respond(500, text="<html><body>Internal error</body></html>")
    err = publish_error(connector)
    assert isinstance(err, Transient)
    assert err.http_status == 500
    assert err.code == "500"


def test_empty_503_is_transient(mock: respx.MockRouter, connector: LinkedInConnector) -> None:
    mock.post("/rest/posts").respond(503, text="")
    err = publish_error(connector)
    assert isinstance(err, Transient)
    assert "empty response" in str(err)


def test_4xx_from_a_proxy_without_json_is_transient() -> None:
    err = classify_linkedin_error(404, "<html>Not Found</html>", {})
    assert isinstance(err, Transient)


@pytest.mark.parametrize(
    ("exc", "request_sent", "words"),
    [
        (httpx.ReadTimeout("timed out"), True, "LinkedIn did not answer within 30s"),
        (httpx.ConnectTimeout("timed out"), False, "could not reach LinkedIn"),
        (httpx.ConnectError("[Errno 111] Connection refused"), False, "Connection refused"),
        (httpx.RemoteProtocolError("Server disconnected"), True, "Server disconnected"),
        (httpx.ReadError("[Errno 104] Connection reset by peer"), True, "Connection reset"),
    ],
)
def test_transport_failures_are_transient(
    mock: respx.MockRouter,
    connector: LinkedInConnector,
    exc: Exception,
    request_sent: bool,
    words: str,
) -> None:
    mock.post("/rest/posts").mock(side_effect=exc)
    err = publish_error(connector)
    assert isinstance(err, Transient)
    assert err.http_status is None
    assert err.request_sent is request_sent
    assert words in str(err)
    assert err.request_summary is not None
    assert err.request_summary["headers"]["Authorization"] == "[REDACTED]"


def test_classifier_redacts_known_secret_echoed_by_platform() -> None:
    body = json.dumps(li_error(400, f"Bad header Bearer {TOKEN}"))
    err = classify_linkedin_error(400, body, {}, secrets=[TOKEN])
    assert_no_token(err)
