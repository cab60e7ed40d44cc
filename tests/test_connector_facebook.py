"""Facebook connector: what is sent, and how every kind of failure is classified."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from omnipost_tui.connectors import (
    FacebookConnector,
    MaybePublished,
    Permanent,
    PermissionDenied,
    PlatformError,
    PublishRequest,
    RateLimited,
    TokenExpired,
    Transient,
    classify_facebook_error,
)

GRAPH = "https://graph.test"
TOKEN = "EAAB-test-SECRET-token-123"
PAGE = "1234567890"
FEED = f"{GRAPH}/v24.0/{PAGE}/feed"


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=GRAPH, assert_all_called=True) as router:
        yield router


@pytest.fixture
def connector() -> Iterator[FacebookConnector]:
    conn = FacebookConnector(GRAPH, "v24.0", timeout=30)
    yield conn
    conn.close()


def request(text: str = "Hello world", link: str | None = None) -> PublishRequest:
    return PublishRequest(account_external_id=PAGE, access_token=TOKEN, text=text, link=link)


def graph_error(code: int, message: str, **extra: object) -> dict[str, object]:
    error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbC"}
    error.update(extra)
    return {"error": error}


def assert_no_token(err: PlatformError) -> None:
    assert TOKEN not in str(err)
    assert TOKEN not in repr(err)
    assert TOKEN not in " ".join(map(str, err.args))
    assert TOKEN not in (err.raw_body or "")
    assert TOKEN not in json.dumps(err.request_summary)


def publish_error(connector: FacebookConnector, **kwargs: object) -> PlatformError:
    with pytest.raises(PlatformError) as info:
        connector.publish(request(**kwargs))  # type: ignore[arg-type]
    assert_no_token(info.value)
    return info.value


def test_success_sends_form_fields_and_keeps_token_out_of_url_and_result(
    mock: respx.MockRouter, connector: FacebookConnector
) -> None:
    route = mock.post(f"/v24.0/{PAGE}/feed").respond(200, json={"id": f"{PAGE}_987"})

    result = connector.publish(request("Launch day!", link="https://example.com/launch"))

    assert result.external_post_id == f"{PAGE}_987"
    assert result.http_status == 200
    sent = route.calls.last.request
    assert TOKEN not in str(sent.url)
    form = parse_qs(sent.content.decode())
    assert form == {
        "message": ["Launch day!"],
        "link": ["https://example.com/launch"],
        "access_token": [TOKEN],
    }
    assert result.request_summary == {
        "method": "POST",
        "url": FEED,
        "headers": {},
        "body": {
            "message": "Launch day!",
            "link": "https://example.com/launch",
            "access_token": "[REDACTED]",
        },
    }
    assert TOKEN not in repr(result)
    assert TOKEN not in json.dumps(result.request_summary)
    assert TOKEN not in result.raw_response


def test_link_is_optional(mock: respx.MockRouter, connector: FacebookConnector) -> None:
    route = mock.post(f"/v24.0/{PAGE}/feed").respond(200, json={"id": "1_2"})
    connector.publish(request("Just text"))
    assert "link" not in parse_qs(route.calls.last.request.content.decode())


def test_token_echoed_in_response_body_is_redacted(
    mock: respx.MockRouter, connector: FacebookConnector
) -> None:
    mock.post(f"/v24.0/{PAGE}/feed").respond(200, text=f'{{"id": "1_2", "echo": "{TOKEN}"}}')
    result = connector.publish(request())
    assert TOKEN not in result.raw_response


@pytest.mark.parametrize(
    ("code", "extra", "expected"),
    [
        (190, {"error_subcode": 463}, TokenExpired),
        (190, {"error_subcode": 460}, TokenExpired),
        (102, {}, TokenExpired),
        (4, {}, RateLimited),
        (17, {}, RateLimited),
        (32, {}, RateLimited),
        (613, {}, RateLimited),
        (80001, {}, RateLimited),
        (1, {}, Transient),
        (2, {}, Transient),
        (9999, {"is_transient": True}, Transient),
        (100, {}, Permanent),
        (506, {}, Permanent),
        (368, {}, Permanent),
        (1609005, {}, Permanent),
        (10, {}, PermissionDenied),
        (200, {}, PermissionDenied),
        (299, {}, PermissionDenied),
        (123456, {}, Permanent),
    ],
)
def test_graph_error_codes_are_classified_by_code(
    mock: respx.MockRouter,
    connector: FacebookConnector,
    code: int,
    extra: dict[str, object],
    expected: type[PlatformError],
) -> None:
    message = f"Platform says no ({code})"
    mock.post(f"/v24.0/{PAGE}/feed").respond(400, json=graph_error(code, message, **extra))

    err = publish_error(connector)

    assert type(err) is expected
    assert err.code == str(code)
    assert err.http_status == 400
    assert message in str(err)
    assert f"Facebook error {code}" in str(err)
    assert err.request_sent is True


def test_expired_token_message_reads_well(
    mock: respx.MockRouter, connector: FacebookConnector
) -> None:
    body = graph_error(190, "Error validating access token: Session has expired", error_subcode=463)
    mock.post(f"/v24.0/{PAGE}/feed").respond(400, json=body)

    err = publish_error(connector)

    assert isinstance(err, TokenExpired)
    assert err.kind == "token_expired"
    assert not err.retryable
    assert str(err) == "Facebook error 190: Error validating access token: Session has expired"


def test_duplicate_post_is_permanent_and_not_retryable(
    mock: respx.MockRouter, connector: FacebookConnector
) -> None:
    body = graph_error(506, "Duplicate status message", type="FacebookApiException")
    mock.post(f"/v24.0/{PAGE}/feed").respond(400, json=body)
    err = publish_error(connector)
    assert err.kind == "permanent"
    assert not err.retryable
    assert "Duplicate status message" in str(err)


def test_permission_denied_is_a_permanent_error(
    mock: respx.MockRouter, connector: FacebookConnector
) -> None:
    mock.post(f"/v24.0/{PAGE}/feed").respond(
        403, json=graph_error(200, "Requires pages_manage_posts permission")
    )
    err = publish_error(connector)
    assert isinstance(err, Permanent)
    assert err.kind == "permission_denied"
    assert "pages_manage_posts" in str(err)


def test_rate_limit_wait_comes_from_business_use_case_header(
    mock: respx.MockRouter, connector: FacebookConnector
) -> None:
    usage = {
        PAGE: [
            {"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 3},
            {"type": "pages", "call_count": 80, "estimated_time_to_regain_access": 7},
        ]
    }
    mock.post(f"/v24.0/{PAGE}/feed").respond(
        400,
        json=graph_error(80001, "There have been too many calls to this Page account"),
        headers={"X-Business-Use-Case-Usage": json.dumps(usage)},
    )

    err = publish_error(connector)

    assert isinstance(err, RateLimited)
    assert err.retryable
    assert err.retry_after == 7 * 60
    assert "too many calls to this Page account" in str(err)


def test_rate_limit_with_zero_wait_in_header_has_no_hint(
    mock: respx.MockRouter, connector: FacebookConnector
) -> None:
    usage = {PAGE: [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 0}]}
    mock.post(f"/v24.0/{PAGE}/feed").respond(
        400,
        json=graph_error(32, "Page request limit reached"),
        headers={"X-Business-Use-Case-Usage": json.dumps(usage)},
    )
    err = publish_error(connector)
    assert isinstance(err, RateLimited)
    assert err.retry_after is None


def test_rate_limit_falls_back_to_retry_after_header(
    mock: respx.MockRouter, connector: FacebookConnector
) -> None:
    mock.post(f"/v24.0/{PAGE}/feed").respond(
        400, json=graph_error(4, "Application request limit reached"), headers={"Retry-After": "90"}
    )
    err = publish_error(connector)
    assert isinstance(err, RateLimited)
    assert err.retry_after == 90


def test_rate_limit_without_any_hint(mock: respx.MockRouter, connector: FacebookConnector) -> None:
    mock.post(f"/v24.0/{PAGE}/feed").respond(400, json=graph_error(17, "User request limit"))
    err = publish_error(connector)
    assert isinstance(err, RateLimited)
    assert err.retry_after is None


def test_html_502_page_is_transient(mock: respx.MockRouter, connector: FacebookConnector) -> None:
    html = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    mock.post(f"/v24.0/{PAGE}/feed").respond(502, text=html, headers={"Content-Type": "text/html"})
    err = publish_error(connector)
    assert isinstance(err, Transient)
    assert err.http_status == 502
    assert "502" in str(err)
    assert err.raw_body == html


def test_empty_500_body_is_transient(mock: respx.MockRouter, connector: FacebookConnector) -> None:
    mock.post(f"/v24.0/{PAGE}/feed").respond(500, text="")
    err = publish_error(connector)
    assert isinstance(err, Transient)
    assert "empty response" in str(err)
    # Without a Graph error code, the HTTP status is the code (as for LinkedIn): attempts
    # can be grouped and searched by it.
    assert err.code == "500"


def test_4xx_error_page_without_json_is_transient(
    mock: respx.MockRouter, connector: FacebookConnector
) -> None:
    # Such a page comes from a proxy or load balancer in front of the Graph API, not from a
    # Graph API verdict on the post.
    mock.post(f"/v24.0/{PAGE}/feed").respond(404, text="Not Found")
    err = publish_error(connector)
    assert isinstance(err, Transient)
    assert err.http_status == 404
    assert "Not Found" in str(err)


def test_2xx_without_id_may_be_published_so_it_is_never_resent_blindly(
    mock: respx.MockRouter, connector: FacebookConnector
) -> None:
    mock.post(f"/v24.0/{PAGE}/feed").respond(200, json={"success": True})
    err = publish_error(connector)
    assert type(err) is MaybePublished
    assert not err.retryable
    assert "no post id" in str(err)
    assert err.http_status == 200


def test_huge_body_is_truncated(mock: respx.MockRouter, connector: FacebookConnector) -> None:
    mock.post(f"/v24.0/{PAGE}/feed").respond(503, text="x" * 50_000)
    err = publish_error(connector)
    assert err.raw_body is not None
    assert len(err.raw_body) < 10_100


@pytest.mark.parametrize(
    ("exc", "request_sent", "words"),
    [
        (httpx.ReadTimeout("timed out"), True, "Facebook did not answer within 30s"),
        (httpx.WriteTimeout("timed out"), True, "Facebook did not answer within 30s"),
        (httpx.ConnectTimeout("timed out"), False, "could not reach Facebook"),
        (httpx.PoolTimeout("timed out"), False, "no free connection to Facebook"),
        (httpx.ConnectError("[Errno -2] Name or service not known"), False, "Name or service"),
        (
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            True,
            "Server disconnected",
        ),
        (httpx.ReadError("[Errno 104] Connection reset by peer"), True, "Connection reset"),
    ],
)
def test_transport_failures_are_transient_and_say_whether_the_request_left(
    mock: respx.MockRouter,
    connector: FacebookConnector,
    exc: Exception,
    request_sent: bool,
    words: str,
) -> None:
    mock.post(f"/v24.0/{PAGE}/feed").mock(side_effect=exc)
    err = publish_error(connector)
    assert isinstance(err, Transient)
    assert err.retryable
    assert err.http_status is None
    assert err.request_sent is request_sent
    assert words in str(err)
    # The stored summary is still there for the attempt log, token masked.
    assert err.request_summary is not None
    assert err.request_summary["body"]["access_token"] == "[REDACTED]"
    # No chained httpx exception whose .request could carry the token.
    assert err.__context__ is None
    assert err.__cause__ is None


def test_classifier_is_a_pure_function() -> None:
    body = json.dumps(graph_error(613, "Calls to this api have exceeded the rate limit."))
    err = classify_facebook_error(400, body, {"retry-after": "12"})
    assert isinstance(err, RateLimited)
    assert err.retry_after == 12
    assert err.code == "613"


def test_classifier_redacts_known_secret_from_platform_message() -> None:
    body = json.dumps(graph_error(100, f"Invalid parameter access_token {TOKEN}"))
    err = classify_facebook_error(400, body, {}, secrets=[TOKEN])
    assert isinstance(err, Permanent)
    assert_no_token(err)


def test_version_without_v_prefix_is_accepted(mock: respx.MockRouter) -> None:
    route = mock.post(f"/v24.0/{PAGE}/feed").respond(200, json={"id": "1_2"})
    conn = FacebookConnector(GRAPH + "/", "24.0", timeout=5)
    try:
        conn.publish(request())
    finally:
        conn.close()
    assert route.called


def test_borrowed_client_is_not_closed(mock: respx.MockRouter) -> None:
    mock.post(f"/v24.0/{PAGE}/feed").respond(200, json={"id": "1_2"})
    client = httpx.Client()
    conn = FacebookConnector(GRAPH, "v24.0", timeout=5, client=client)
    assert conn.publish(request()).external_post_id == "1_2"
    conn.close()
    assert not client.is_closed
    client.close()


def test_own_client_is_closed() -> None:
    conn = FacebookConnector(GRAPH, "v24.0", timeout=5)
    conn.close()
    assert conn._client.is_closed


def test_request_repr_hides_token() -> None:
    assert TOKEN not in repr(request())
