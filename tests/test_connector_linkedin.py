"""LinkedIn connector: Posts API and legacy ugcPosts requests, escaping, error classification."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest
import respx
from hypothesis import example, given, settings
from hypothesis import strategies as st

from omnipost_tui.config import load_settings
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
    connector_for,
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
    text = "Hi (all) @you [x] {y} <z> a_b *c* ~d| back\\slash"
    assert escape_little_text(text) == (
        r"Hi \(all\) \@you \[x\] \{y\} \<z\> a\_b \*c\* \~d\| back\\slash"
    )


def test_plain_text_and_newlines_are_untouched() -> None:
    text = "Line one.\nLine two: 100% ok, isn't it? é 🚀"
    assert escape_little_text(text) == text


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        ("#AI is here", "#AI is here"),
        ("Join us (#launch2026)!", r"Join us \(#launch2026\)!"),
        ("#Künstliche #Intelligenz", "#Künstliche #Intelligenz"),
        ("#AI_ML", r"#AI\_ML"),  # a hashtag ends where letters and digits do
        ("C# and F#", r"C\# and F\#"),  # after a letter: not a hashtag
        ("a#b ##x # alone", r"a\#b \#\#x \# alone"),
        ("we are #1", r"we are \#1"),  # no letter: not a hashtag
    ],
)
def test_hashtags_stay_hashtags_and_other_hashes_are_text(text: str, sent: str) -> None:
    assert escape_little_text(text) == sent


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        ("https://x.example/a_b?utm_source=li&q=*~", "https://x.example/a_b?utm_source=li&q=*~"),
        ("https://x.example/page#section", "https://x.example/page#section"),
        ("https://medium.example/@acme", "https://medium.example/@acme"),
        (
            "https://en.wikipedia.org/wiki/Python_(programming_language).",
            "https://en.wikipedia.org/wiki/Python_(programming_language).",
        ),
        # The sentence's own punctuation and brackets are not the URL's.
        ("(see https://x.example/a_b)", r"\(see https://x.example/a_b\)"),
        ("[https://x.example/]", r"\[https://x.example/\]"),
        ("https://x.example/a<b>", r"https://x.example/a\<b\>"),
        ("https:// (no address)", r"https:// \(no address\)"),
    ],
)
def test_urls_are_sent_as_written(text: str, sent: str) -> None:
    assert escape_little_text(text) == sent


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        (
            "Thanks @[Acme Corp.](urn:li:organization:2414183)!",
            "Thanks @[Acme Corp.](urn:li:organization:2414183)!",
        ),
        ("cc @[Eddy](urn:li:person:Ab-3_x)", "cc @[Eddy](urn:li:person:Ab-3_x)"),
        # Not little's form (no URN, another kind of URN, a reserved name): plain text.
        ("@[Eddy]", r"\@\[Eddy\]"),
        ("@[Eddy](urn:li:group:1)", r"\@\[Eddy\]\(urn:li:group:1\)"),
        ("@[A_B](urn:li:person:1)", r"\@\[A\_B\]\(urn:li:person:1\)"),
        ("mail me@example.com", r"mail me\@example.com"),
    ],
)
def test_mentions_in_littles_own_form_stay_mentions(text: str, sent: str) -> None:
    assert escape_little_text(text) == sent


# --- walking the escaped text with little's grammar ----------------------------------------
#
# A recogniser of LinkedIn's little format, written from Microsoft's grammar and not from the
# escaper: text in which a reserved character only ever appears escaped, HashtagElement
# ``#`` + letters/digits, MentionElement ``@[name](urn:li:organization|person:id)``. The one
# thing added to the grammar is how LinkedIn treats an address: a run from http(s):// up to
# whitespace or a backslash is read as written. Whatever else is left (a lone reserved
# character, a backslash before an ordinary one) is what makes LinkedIn cut a post: refused.

LITTLE_RESERVED = set("|{}@[]()<>#\\*_~")
LITTLE_MENTION = re.compile(
    r"@\[([^\]|{}@\[()<>#\\*_~\n]+)\]\((urn:li:(?:organization|person):[^)]+)\)"
)
# The scheme in ASCII: re.IGNORECASE would read "httpſ" (long s) as "https", a scheme to no one.
LITTLE_URL = re.compile(r"[hH][tT][tT][pP][sS]?://[^\s\\]*")
LITTLE_HASHTAG = re.compile(r"#[^\W_]+")


class NotLittle(AssertionError):
    pass


def walk_little(little: str) -> tuple[str, list[tuple[str, int, str]]]:
    """The text a reader gets (mentions in their source form) and its elements:
    (kind, offset in that text, the element as written)."""
    text: list[str] = []
    elements: list[tuple[str, int, str]] = []
    at = 0  # offset in the decoded text
    i = 0
    while i < len(little):
        char = little[i]
        if char == "\\":
            if i + 1 >= len(little) or little[i + 1] not in LITTLE_RESERVED:
                raise NotLittle(f"a backslash before an ordinary character at {i}: {little!r}")
            piece, i = little[i + 1], i + 2
        elif char == "@":
            match = LITTLE_MENTION.match(little, i)
            if match is None:
                raise NotLittle(f"a lone @ at {i}: {little!r}")
            piece, i = match.group(0), match.end()
            elements.append(("mention", at, piece))
        elif char == "#":
            match = LITTLE_HASHTAG.match(little, i)
            if match is None:
                raise NotLittle(f"a lone # at {i}: {little!r}")
            piece, i = match.group(0), match.end()
            elements.append(("hashtag", at, piece))
        elif (match := LITTLE_URL.match(little, i)) is not None:
            piece, i = match.group(0), match.end()
        elif char in LITTLE_RESERVED:
            raise NotLittle(f"an unescaped {char!r} at {i}: {little!r}")
        else:
            piece, i = char, i + 1
        text.append(piece)
        at += len(piece)
    return "".join(text), elements


def test_an_address_needs_an_ascii_scheme() -> None:
    # "ſ" (long s) case-folds to "s": under re.IGNORECASE "httpſ://" read as a scheme, and the
    # "_" went out unescaped, where LinkedIn cuts the post.
    assert escape_little_text("httpſ://x.example/a_b") == "httpſ://x.example/a\\_b"
    assert escape_little_text("HTTPS://x.example/a_b") == "HTTPS://x.example/a_b"


def test_the_recogniser_refuses_what_linkedin_would_cut() -> None:
    # The walk below is only worth something if it can fail.
    for bad in ("a (b", "#", "x @ y", "a\\b", "50% _off_", "@[x]"):
        with pytest.raises(NotLittle):
            walk_little(bad)
    assert walk_little("#AI \\(x\\)") == ("#AI (x)", [("hashtag", 0, "#AI")])


# Pieces that make escaping hard: every reserved character, element starts and ends, URLs.
AWKWARD = st.sampled_from(
    [
        *sorted(LITTLE_RESERVED),
        "#AI",
        "@[Acme](urn:li:organization:1)",
        "@[",
        "](",
        "urn:li:person:",
        "http://",
        "https://x.example/",
        "(",
        ")",
        ".",
        " ",
        "\n",
        "é",
        "🚀",
        "_x_",
        "C#",
        "a",
        "1",
    ]
)
ANY_TEXT = st.lists(st.one_of(AWKWARD, st.text(max_size=4)), max_size=25).map("".join)


@given(ANY_TEXT)
@example("httpſ://x.example/a_b")  # long s: was taken for an address and sent unescaped
@settings(max_examples=400, deadline=None)
def test_any_text_reads_back_exactly_as_written(text: str) -> None:
    decoded, elements = walk_little(escape_little_text(text))
    assert decoded == text
    for kind, at, piece in elements:
        # Nothing special appears where the user did not write it: a hashtag starts a word.
        assert text[at : at + len(piece)] == piece
        if kind == "hashtag" and at > 0:
            assert not (text[at - 1].isalnum() or text[at - 1] in "_#")


WORD = st.text(alphabet=sorted(set("abcz09.,!?'-&%") | LITTLE_RESERVED - {"#", "@"}), min_size=1)
HASHTAG_TOKEN = st.from_regex(r"#[a-zA-Z0-9äß]*[a-zA-Zäß][a-zA-Z0-9äß]*", fullmatch=True)
MENTION_TOKEN = st.builds(
    "@[{}]({})".format,
    st.text(alphabet="ABC xyz.'&-é", min_size=1, max_size=12),
    st.one_of(
        st.from_regex(r"urn:li:organization:[0-9]{1,9}", fullmatch=True),
        st.from_regex(r"urn:li:person:[A-Za-z0-9_-]{1,12}", fullmatch=True),
    ),
)
URL_TOKEN = st.builds(
    "https://{}.example/{}{}".format,
    st.from_regex(r"[a-z]{1,8}", fullmatch=True),
    st.text(alphabet="az09/_~#@*-=?&%()", max_size=15),
    st.sampled_from(["a", "9", "/"]),
)


@given(st.lists(st.tuples(st.sampled_from(["word", "hashtag", "mention", "url"]), st.data())))
@settings(max_examples=300, deadline=None)
def test_hashtags_mentions_and_urls_come_out_where_they_were_written(tokens) -> None:
    strategies = {
        "word": WORD,
        "hashtag": HASHTAG_TOKEN,
        "mention": MENTION_TOKEN,
        "url": URL_TOKEN,
    }
    drawn = [(kind, data.draw(strategies[kind])) for kind, data in tokens]
    text = " ".join(token for _, token in drawn)
    little = escape_little_text(text)
    decoded, elements = walk_little(little)
    assert decoded == text
    assert [(kind, piece) for kind, _, piece in elements] == [
        (kind, token) for kind, token in drawn if kind in ("hashtag", "mention")
    ]
    for kind, token in drawn:
        if kind == "url":
            assert token in little  # exactly as written, reserved characters and all


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
        "commentary": r"Launch \(v2\) #news",
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


def test_the_body_keeps_hashtags_mentions_and_urls(
    mock: respx.MockRouter, connector: LinkedInConnector
) -> None:
    route = mock.post("/rest/posts").respond(201, headers={"x-restli-id": POST_URN})
    text = "New #AI tools (beta) by @[Acme Corp](urn:li:organization:2414183): https://acme.example/a_b"
    connector.publish(request(text))
    sent = json.loads(route.calls.last.request.content)
    assert sent["commentary"] == (
        r"New #AI tools \(beta\) by @[Acme Corp](urn:li:organization:2414183): "
        "https://acme.example/a_b"
    )


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


def test_ugc_sends_plain_text_and_mentions_as_attributes(
    mock: respx.MockRouter, ugc: LinkedInConnector
) -> None:
    # ugcPosts has no little format: nothing is escaped, and a mention is its name in the text
    # plus an attribute (offsets in UTF-16 code units: the 🚀 counts two).
    route = mock.post("/v2/ugcPosts").respond(201, headers={"x-restli-id": POST_URN})
    text = "🚀 #AI (beta) with @[Acme Corp](urn:li:organization:2414183)"
    text += " and @[Eddy](urn:li:person:a-1)"
    ugc.publish(request(text))
    commentary = json.loads(route.calls.last.request.content)["specificContent"][
        "com.linkedin.ugc.ShareContent"
    ]["shareCommentary"]
    assert commentary == {
        "text": "🚀 #AI (beta) with Acme Corp and Eddy",
        "attributes": [
            {
                "start": 19,
                "length": 9,
                "value": {
                    "com.linkedin.common.CompanyAttributedEntity": {
                        "company": "urn:li:organization:2414183"
                    }
                },
            },
            {
                "start": 33,
                "length": 4,
                "value": {
                    "com.linkedin.common.MemberAttributedEntity": {"member": "urn:li:person:a-1"}
                },
            },
        ],
    }
    utf16 = commentary["text"].encode("utf-16-le")
    for attribute, name in zip(commentary["attributes"], ("Acme Corp", "Eddy"), strict=True):
        start, length = attribute["start"] * 2, attribute["length"] * 2
        assert utf16[start : start + length].decode("utf-16-le") == name


def test_the_ugc_setting_picks_the_legacy_api(mock: respx.MockRouter) -> None:
    route = mock.post("/v2/ugcPosts").respond(201, headers={"x-restli-id": POST_URN})
    settings_ = load_settings(
        {
            "OMNIPOST_LINKEDIN_API": "ugc",
            "OMNIPOST_LINKEDIN_API_URL": API,
            "OMNIPOST_HOME": "/nonexistent",
        }
    )
    conn = connector_for("linkedin", settings_)
    try:
        conn.publish(request("#AI (x)"))
    finally:
        conn.close()
    share = json.loads(route.calls.last.request.content)["specificContent"]
    assert share["com.linkedin.ugc.ShareContent"]["shareCommentary"] == {"text": "#AI (x)"}


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
