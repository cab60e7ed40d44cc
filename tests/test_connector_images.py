"""Images through the connectors: what each upload and create call puts on the wire, what comes
back, and how every failure before the create call is reported (nothing public, never
MaybePublished, never the token)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from email.parser import BytesParser
from email.policy import default as email_policy
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from PIL import Image

from omnipost_tui.config import load_settings
from omnipost_tui.connectors import (
    FacebookConnector,
    ImageUpload,
    LinkedInConnector,
    MaybePublished,
    Permanent,
    PlatformError,
    PublishRequest,
    StagedImage,
    TokenExpired,
    Transient,
    connector_for,
)
from tests.conftest import FakeClock

TOKEN = "EAAB-test-SECRET-token-123"

GRAPH = "https://graph.test"
PAGE = "1234567890"
PHOTOS = f"{GRAPH}/v24.0/{PAGE}/photos"
FEED = f"{GRAPH}/v24.0/{PAGE}/feed"

API = "https://api.linkedin.test"
AUTHOR = "urn:li:organization:5515715"
VERSION = "202610"
INIT = f"{API}/rest/images?action=initializeUpload"
UPLOAD_HOST = "https://uploads.linkedin.test"
POST_URN = "urn:li:share:7260000000000000000"


# --- helpers ---------------------------------------------------------------------------------


def make_image(tmp_path: Path, position: int, alt: str = "", fmt: str = "PNG") -> ImageUpload:
    """A small real picture on disk, each position a different colour (different bytes)."""
    suffix = {"PNG": "png", "JPEG": "jpg", "GIF": "gif"}[fmt]
    path = tmp_path / f"photo-{position}.{suffix}"
    Image.new("RGB", (8 + position, 6), (40 * position % 256, 90, 200)).save(path, fmt)
    data = path.read_bytes()
    return ImageUpload(
        position=position,
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        mime=f"image/{'jpeg' if fmt == 'JPEG' else suffix}",
        alt=alt,
    )


def fb_request(
    images: tuple[ImageUpload, ...] = (),
    staged: tuple[StagedImage, ...] = (),
    text: str = "Launch day!",
    link: str | None = None,
) -> PublishRequest:
    return PublishRequest(
        account_external_id=PAGE,
        access_token=TOKEN,
        text=text,
        link=link,
        images=images,
        staged=staged,
    )


def li_request(
    images: tuple[ImageUpload, ...] = (),
    staged: tuple[StagedImage, ...] = (),
    text: str = "Hello LinkedIn",
    link: str | None = None,
) -> PublishRequest:
    return PublishRequest(
        account_external_id=AUTHOR,
        access_token=TOKEN,
        text=text,
        link=link,
        images=images,
        staged=staged,
    )


def multipart(request: httpx.Request) -> dict[str, tuple[str | None, str, bytes]]:
    """The parts of a multipart/form-data body: name → (filename, content type, bytes)."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = BytesParser(policy=email_policy).parsebytes(head + request.content)
    parts: dict[str, tuple[str | None, str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        assert isinstance(name, str) and isinstance(payload, bytes)
        parts[name] = (part.get_filename(), part.get_content_type(), payload)
    return parts


def fields(parts: dict[str, tuple[str | None, str, bytes]]) -> dict[str, str]:
    """The plain (non-file) fields of a multipart body."""
    return {name: data.decode() for name, (filename, _, data) in parts.items() if filename is None}


def assert_no_token(*things: Any) -> None:
    """Nothing shown, logged or stored carries the token: messages, reprs, summaries, bodies."""
    for thing in things:
        texts = [str(thing), repr(thing)]
        if isinstance(thing, PlatformError):
            texts += [*map(str, thing.args), thing.raw_body or ""]
            texts.append(json.dumps(thing.request_summary))
        if isinstance(thing, StagedImage):
            texts.append(json.dumps(thing.summary))
        for text in texts:
            assert TOKEN not in text


def graph_error(code: int, message: str) -> dict[str, object]:
    return {"error": {"message": message, "type": "OAuthException", "code": code}}


def assert_no_image_bytes(summary: Any, image: ImageUpload) -> None:
    shown = json.dumps(summary)
    data = image.path.read_bytes()
    assert data.decode("latin-1") not in shown
    assert "PNG" not in shown and "IHDR" not in shown  # the file's header, in any form


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=True) as router:
        yield router


@pytest.fixture
def facebook() -> Iterator[FacebookConnector]:
    conn = FacebookConnector(GRAPH, "v24.0", timeout=30)
    yield conn
    conn.close()


@pytest.fixture
def linkedin() -> Iterator[LinkedInConnector]:
    conn = LinkedInConnector(API, VERSION, timeout=30, image_ready_timeout=60)
    yield conn
    conn.close()


# --- Facebook: one image is the create call ---------------------------------------------------


def test_facebook_one_image_is_one_photos_call_with_the_exact_bytes(
    mock: respx.MockRouter, facebook: FacebookConnector, tmp_path: Path
) -> None:
    image = make_image(tmp_path, 1, alt="A red kite over the hill")
    route = mock.post(PHOTOS).respond(200, json={"id": "555", "post_id": f"{PAGE}_987"})
    request = fb_request((image,), link="https://example.com/launch")

    assert facebook.to_stage(request) == ()
    result = facebook.publish(request)

    assert result.external_post_id == f"{PAGE}_987"
    sent = route.calls.last.request
    assert TOKEN not in str(sent.url)
    parts = multipart(sent)
    assert parts["source"] == (image.path.name, "image/png", image.path.read_bytes())
    assert fields(parts) == {
        "message": "Launch day!\nhttps://example.com/launch",
        "alt_text_custom": "A red kite over the hill",
        "access_token": TOKEN,
    }
    assert result.request_summary["body"]["source"] == (
        f"<photo-1.png, {image.size} bytes, sha256 {image.sha256[:12]}…>"
    )
    assert result.request_summary["body"]["access_token"] == "[REDACTED]"
    assert_no_image_bytes(result.request_summary, image)
    assert_no_token(result, result.request_summary, result.raw_response)


def test_facebook_one_image_keeps_a_link_already_in_the_text_once(
    mock: respx.MockRouter, facebook: FacebookConnector, tmp_path: Path
) -> None:
    route = mock.post(PHOTOS).respond(200, json={"id": "555"})
    text = "Read https://example.com/launch today"
    result = facebook.publish(
        fb_request((make_image(tmp_path, 1),), text=text, link="https://example.com/launch")
    )
    sent = fields(multipart(route.calls.last.request))
    assert sent["message"] == text
    assert "alt_text_custom" not in sent  # no alt text, no field
    assert result.external_post_id == "555"  # no post_id: the photo id is all there is


def test_facebook_one_image_accepted_without_any_id_may_be_published(
    mock: respx.MockRouter, facebook: FacebookConnector, tmp_path: Path
) -> None:
    mock.post(PHOTOS).respond(200, json={"success": True})
    with pytest.raises(MaybePublished) as info:
        facebook.publish(fb_request((make_image(tmp_path, 1),)))
    assert_no_token(info.value)


# --- Facebook: several images are staged, then one feed post ----------------------------------


def test_facebook_three_images_are_staged_unpublished_then_attached_in_order(
    mock: respx.MockRouter, facebook: FacebookConnector, tmp_path: Path
) -> None:
    images = tuple(make_image(tmp_path, n, alt="second" if n == 2 else "") for n in (1, 2, 3))
    uploads = mock.post(PHOTOS)
    uploads.side_effect = [httpx.Response(200, json={"id": f"90{n}"}) for n in (1, 2, 3)]
    feed = mock.post(FEED).respond(200, json={"id": f"{PAGE}_42"})
    request = fb_request(images, link="https://example.com/launch")

    assert facebook.to_stage(request) == images
    staged = [facebook.stage(request, image) for image in images]

    assert [s.media_id for s in staged] == ["901", "902", "903"]
    for image, call in zip(images, uploads.calls, strict=True):
        assert TOKEN not in str(call.request.url)
        parts = multipart(call.request)
        assert parts["source"] == (image.path.name, "image/png", image.path.read_bytes())
        expected = {"published": "false", "access_token": TOKEN}
        if image.alt:
            expected["alt_text_custom"] = image.alt
        assert fields(parts) == expected
    first = staged[0]
    assert (first.position, first.sha256) == (1, images[0].sha256)
    assert first.summary["size"] == images[0].size
    assert first.summary["sha256"] == images[0].sha256
    assert first.summary["media_id"] == "901"
    [call] = first.summary["calls"]
    assert (call["method"], call["url"], call["http_status"]) == ("POST", PHOTOS, 200)
    assert json.loads(call["answer"]) == {"id": "901"}
    assert call["body"]["source"].startswith("<photo-1.png, ")
    for image, one in zip(images, staged, strict=True):
        assert_no_image_bytes(one.summary, image)
        assert_no_token(one)

    # The caller may hand them back in any order: they are attached in image order.
    done = replace(request, staged=(staged[2], staged[0], staged[1]))
    result = facebook.publish(done)

    assert result.external_post_id == f"{PAGE}_42"
    form = parse_qs(feed.calls.last.request.content.decode())
    assert form == {
        "message": ["Launch day!\nhttps://example.com/launch"],
        "attached_media[0]": ['{"media_fbid":"901"}'],
        "attached_media[1]": ['{"media_fbid":"902"}'],
        "attached_media[2]": ['{"media_fbid":"903"}'],
        "access_token": [TOKEN],
    }
    assert TOKEN not in str(feed.calls.last.request.url)
    assert_no_token(result, result.request_summary)


def test_facebook_publish_with_an_image_not_staged_is_a_programming_error(
    mock: respx.MockRouter, facebook: FacebookConnector, tmp_path: Path
) -> None:
    images = (make_image(tmp_path, 1), make_image(tmp_path, 2))
    feed = mock.post(FEED).respond(200, json={"id": "1_2"})
    only_one = (StagedImage(1, images[0].sha256, "901"),)
    other_file = (*only_one, StagedImage(2, images[0].sha256, "902"))
    for staged in (only_one, other_file):
        with pytest.raises(ValueError, match="image 2"):
            facebook.publish(fb_request(images, staged))
    assert not feed.called
    mock.reset()
    facebook.publish(fb_request(images, (*only_one, StagedImage(2, images[1].sha256, "902"))))


# --- Facebook: still there, discard -----------------------------------------------------------


def test_facebook_still_there_asks_for_the_photo_with_the_token_in_a_header(
    mock: respx.MockRouter, facebook: FacebookConnector
) -> None:
    route = mock.get(f"{GRAPH}/v24.0/901").respond(200, json={"id": "901"})
    assert facebook.still_there(fb_request(), StagedImage(1, "ab", "901")) is True
    sent = route.calls.last.request
    assert sent.url.params["fields"] == "id"
    assert sent.headers["authorization"] == f"OAuth {TOKEN}"
    assert TOKEN not in str(sent.url)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(400, json=graph_error(100, "Unsupported get request. Object 901 …")),
        httpx.Response(200, json={"id": "somebody-else"}),
        httpx.Response(500, text="<html>oops</html>"),
        httpx.ConnectError("connection refused"),
    ],
    ids=["deleted", "other-id", "server-error", "unreachable"],
)
def test_facebook_still_there_is_false_on_any_doubt(
    mock: respx.MockRouter, facebook: FacebookConnector, answer: Any
) -> None:
    mock.get(f"{GRAPH}/v24.0/901").mock(side_effect=[answer])
    assert facebook.still_there(fb_request(), StagedImage(1, "ab", "901")) is False


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, json={"success": True}),
        httpx.Response(400, json=graph_error(100, f"gone; token {TOKEN}")),
        httpx.ConnectError(f"refused for {TOKEN}"),
    ],
    ids=["deleted", "refused", "unreachable"],
)
def test_facebook_discard_deletes_the_photo_and_never_raises(
    mock: respx.MockRouter,
    facebook: FacebookConnector,
    caplog: pytest.LogCaptureFixture,
    answer: Any,
) -> None:
    route = mock.delete(f"{GRAPH}/v24.0/901").mock(side_effect=[answer])
    with caplog.at_level(logging.DEBUG, logger="omnipost"):
        assert facebook.discard(fb_request(), StagedImage(1, "ab", "901")) is None
    sent = route.calls.last.request
    assert sent.headers["authorization"] == f"OAuth {TOKEN}"
    assert TOKEN not in str(sent.url)
    assert "901" in caplog.text
    assert TOKEN not in caplog.text


# --- Facebook: failures while uploading -------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "platform_says"),
    [
        (1366046, "The photo's size or format is not supported"),
        (2069019, "Invalid file"),
    ],
)
def test_facebook_refused_image_is_permanent_and_named(
    mock: respx.MockRouter,
    facebook: FacebookConnector,
    tmp_path: Path,
    code: int,
    platform_says: str,
) -> None:
    images = (make_image(tmp_path, 1), make_image(tmp_path, 2))
    mock.post(PHOTOS).respond(400, json=graph_error(code, platform_says))

    with pytest.raises(Permanent) as info:
        facebook.stage(fb_request(images), images[1])

    err = info.value
    assert type(err) is Permanent
    assert str(err) == f"Facebook refused image 2 (photo-2.png): {platform_says}"
    assert err.code == str(code)
    assert err.request_sent is False
    assert err.request_summary is not None
    assert err.request_summary["calls"][0]["http_status"] == 400
    assert_no_token(err)


def test_facebook_refused_single_image_names_it_too(
    mock: respx.MockRouter, facebook: FacebookConnector, tmp_path: Path
) -> None:
    mock.post(PHOTOS).respond(400, json=graph_error(1366046, "Too big"))
    with pytest.raises(Permanent, match=r"^Facebook refused image 1 \(photo-1.png\): Too big$"):
        facebook.publish(fb_request((make_image(tmp_path, 1),)))


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(503, text="<html>Service Unavailable</html>"),
        httpx.Response(500, json=graph_error(2, "Service temporarily unavailable")),
        httpx.ReadTimeout("read timed out"),
        httpx.RemoteProtocolError("server disconnected"),
    ],
    ids=["503-html", "graph-code-2", "read-timeout", "dropped"],
)
def test_facebook_upload_failure_is_transient_and_publishes_nothing(
    mock: respx.MockRouter, facebook: FacebookConnector, tmp_path: Path, answer: Any
) -> None:
    images = (make_image(tmp_path, 1), make_image(tmp_path, 2))
    mock.post(PHOTOS).mock(side_effect=[answer])

    with pytest.raises(Transient) as info:
        facebook.stage(fb_request(images), images[0])

    assert type(info.value) is Transient
    assert info.value.request_sent is False
    assert str(info.value).startswith("could not upload image 1 (photo-1.png): ")
    assert_no_token(info.value)


def test_facebook_upload_accepted_without_an_id_is_transient_not_maybe_published(
    mock: respx.MockRouter, facebook: FacebookConnector, tmp_path: Path
) -> None:
    images = (make_image(tmp_path, 1), make_image(tmp_path, 2))
    mock.post(PHOTOS).respond(200, json={"success": True})

    with pytest.raises(PlatformError) as info:
        facebook.stage(fb_request(images), images[1])

    assert type(info.value) is Transient
    assert info.value.request_sent is False
    assert "image 2 (photo-2.png)" in str(info.value)
    assert_no_token(info.value)


def test_a_token_echoed_by_the_platform_is_kept_out_of_summaries_and_messages(
    mock: respx.MockRouter,
    facebook: FacebookConnector,
    linkedin: LinkedInConnector,
    tmp_path: Path,
) -> None:
    images = (make_image(tmp_path, 1), make_image(tmp_path, 2))
    mock.post(PHOTOS).mock(
        side_effect=[
            httpx.Response(200, json={"id": "901", "echo": f"access_token={TOKEN}"}),
            httpx.Response(400, json=graph_error(1366046, f"bad image for {TOKEN}")),
        ]
    )
    mock.post(INIT).respond(400, json={"status": 400, "message": f"no: Bearer {TOKEN}"})

    staged = facebook.stage(fb_request(images), images[0])
    with pytest.raises(Permanent) as fb_info:
        facebook.stage(fb_request(images), images[1])
    with pytest.raises(Permanent) as li_info:
        linkedin.stage(li_request(images), images[0])

    assert_no_token(staged, fb_info.value, li_info.value)
    assert "[REDACTED]" in staged.summary["calls"][0]["answer"]
    assert "Facebook refused image 2 (photo-2.png)" in str(fb_info.value)
    assert "LinkedIn refused image 1 (photo-1.png)" in str(li_info.value)


# --- a file changed or gone: refused before anything is sent ----------------------------------


@pytest.mark.parametrize("change", ["rewritten", "deleted"])
def test_changed_file_is_refused_before_any_request(
    facebook: FacebookConnector, linkedin: LinkedInConnector, tmp_path: Path, change: str
) -> None:
    images = (make_image(tmp_path, 1), make_image(tmp_path, 2))
    if change == "rewritten":
        Image.new("RGB", (30, 30), (0, 0, 0)).save(images[1].path, "PNG")
    else:
        images[1].path.unlink()
    attempts = [
        lambda: facebook.stage(fb_request(images), images[1]),
        lambda: facebook.publish(fb_request((images[1],))),
        lambda: linkedin.stage(li_request(images), images[1]),
    ]
    with respx.mock(assert_all_called=False) as router:
        routes = [
            router.post(PHOTOS).respond(200, json={"id": "1", "post_id": "1_1"}),
            router.post(INIT).respond(200, json={}),
        ]
        for attempt in attempts:
            with pytest.raises(Permanent) as info:
                attempt()
            assert info.value.request_sent is False
            assert "image 2 (photo-2.png)" in str(info.value)
            assert "attach it again" in str(info.value)
    assert [route.called for route in routes] == [False, False]
    assert router.calls.call_count == 0


# --- LinkedIn: initialize, PUT, poll ----------------------------------------------------------


def urn(n: int) -> str:
    return f"urn:li:image:C4D22AQ{n}"


def image_path(n: int) -> str:
    return f"{API}/rest/images/urn%3Ali%3Aimage%3AC4D22AQ{n}"


def mock_linkedin_upload(
    mock: respx.MockRouter, n: int, statuses: list[str]
) -> tuple[respx.Route, respx.Route]:
    """Routes for image n's PUT and for its status polls, which answer ``statuses`` in turn."""
    put = mock.put(f"{UPLOAD_HOST}/upload/{n}").respond(201)
    poll = mock.get(image_path(n))
    poll.side_effect = [
        httpx.Response(200, json={"id": urn(n), "status": status, "owner": AUTHOR})
        for status in statuses
    ]
    return put, poll


def initialize_answers(mock: respx.MockRouter, numbers: list[int]) -> respx.Route:
    """initializeUpload answering for images ``numbers`` in turn (a signed upload URL each)."""
    route = mock.post(INIT)
    route.side_effect = [
        httpx.Response(
            200,
            json={
                "value": {
                    "uploadUrlExpiresAt": 1_798_000_000_000,
                    "uploadUrl": f"{UPLOAD_HOST}/upload/{n}?sig=s3cr3t-signature",
                    "image": urn(n),
                }
            },
        )
        for n in numbers
    ]
    return route


def test_linkedin_stage_uploads_then_waits_until_available(
    mock: respx.MockRouter,
    linkedin: LinkedInConnector,
    tmp_path: Path,
    fake_clock: FakeClock,
) -> None:
    image = make_image(tmp_path, 1, alt="Team photo")
    init = initialize_answers(mock, [1])
    put, poll = mock_linkedin_upload(mock, 1, ["PROCESSING", "PROCESSING", "AVAILABLE"])
    request = li_request((image,))

    assert linkedin.to_stage(request) == (image,)
    staged = linkedin.stage(request, image)

    assert staged == StagedImage(1, image.sha256, urn(1))
    sent = init.calls.last.request
    assert json.loads(sent.content) == {"initializeUploadRequest": {"owner": AUTHOR}}
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["linkedin-version"] == VERSION
    assert sent.headers["x-restli-protocol-version"] == "2.0.0"
    uploaded = put.calls.last.request
    assert uploaded.content == image.path.read_bytes()
    assert uploaded.headers["content-type"] == "application/octet-stream"
    assert uploaded.headers["authorization"] == f"Bearer {TOKEN}"
    assert poll.call_count == 3
    assert poll.calls.last.request.headers["linkedin-version"] == VERSION
    assert fake_clock.slept == [0.25, 0.5]  # no real waiting; the polls space out

    summary = staged.summary
    assert summary["media_id"] == urn(1)
    assert (summary["size"], summary["sha256"]) == (image.size, image.sha256)
    shown = [(c["method"], c["url"], c["http_status"]) for c in summary["calls"]]
    assert shown == [
        ("POST", INIT, 200),
        ("PUT", f"{UPLOAD_HOST}/upload/1?…", 201),  # the signature stays out of the log
        ("GET", image_path(1), 200),
        ("GET", image_path(1), 200),
        ("GET", image_path(1), 200),
    ]
    assert (
        summary["calls"][1]["body"]
        == f"<photo-1.png, {image.size} bytes, sha256 {image.sha256[:12]}…>"
    )
    assert json.loads(summary["calls"][-1]["answer"])["status"] == "AVAILABLE"
    assert "s3cr3t-signature" not in json.dumps(summary)
    assert_no_image_bytes(summary, image)
    assert_no_token(staged)


def test_linkedin_one_image_post_carries_content_media_and_the_link_in_the_text(
    mock: respx.MockRouter, linkedin: LinkedInConnector, tmp_path: Path
) -> None:
    image = make_image(tmp_path, 1, alt="Team photo")
    route = mock.post(f"{API}/rest/posts").respond(201, headers={"x-restli-id": POST_URN})
    request = li_request(
        (image,), (StagedImage(1, image.sha256, urn(1)),), link="https://example.com/a_b"
    )

    result = linkedin.publish(request)

    assert result.external_post_id == POST_URN
    body = json.loads(route.calls.last.request.content)
    assert body["content"] == {"media": {"id": urn(1), "altText": "Team photo"}}
    assert body["commentary"] == "Hello LinkedIn\nhttps://example.com/a_b"
    assert body["author"] == AUTHOR
    assert body["lifecycleState"] == "PUBLISHED"
    assert_no_token(result, result.request_summary)


def test_linkedin_five_images_go_out_as_multi_image_in_order(
    mock: respx.MockRouter,
    linkedin: LinkedInConnector,
    tmp_path: Path,
    fake_clock: FakeClock,
) -> None:
    images = tuple(make_image(tmp_path, n, alt=f"alt {n}" if n % 2 else "") for n in range(1, 6))
    initialize_answers(mock, [1, 2, 3, 4, 5])
    for n in range(1, 6):
        mock_linkedin_upload(mock, n, ["AVAILABLE"])
    posts = mock.post(f"{API}/rest/posts").respond(201, headers={"x-restli-id": POST_URN})
    request = li_request(images)

    staged = tuple(linkedin.stage(request, image) for image in linkedin.to_stage(request))
    linkedin.publish(replace(request, staged=tuple(reversed(staged))))

    assert fake_clock.slept == []  # available at once: no wait
    body = json.loads(posts.calls.last.request.content)
    assert body["content"] == {
        "multiImage": {
            "images": [
                {"id": urn(1), "altText": "alt 1"},
                {"id": urn(2)},
                {"id": urn(3), "altText": "alt 3"},
                {"id": urn(4)},
                {"id": urn(5), "altText": "alt 5"},
            ]
        }
    }
    assert "article" not in json.dumps(body)


def test_linkedin_processing_failed_is_permanent(
    mock: respx.MockRouter,
    linkedin: LinkedInConnector,
    tmp_path: Path,
    fake_clock: FakeClock,
) -> None:
    images = (make_image(tmp_path, 1), make_image(tmp_path, 2))
    initialize_answers(mock, [2])
    mock_linkedin_upload(mock, 2, ["PROCESSING", "PROCESSING_FAILED"])

    with pytest.raises(Permanent) as info:
        linkedin.stage(li_request(images), images[1])

    assert str(info.value).startswith("LinkedIn could not process image 2 (photo-2.png)")
    assert info.value.request_sent is False
    assert_no_token(info.value)


def test_linkedin_still_processing_at_the_deadline_is_transient(
    mock: respx.MockRouter, tmp_path: Path, fake_clock: FakeClock
) -> None:
    image = make_image(tmp_path, 1)
    initialize_answers(mock, [1])
    _, poll = mock_linkedin_upload(mock, 1, ["PROCESSING"] * 20)
    conn = LinkedInConnector(API, VERSION, timeout=30, image_ready_timeout=5)
    try:
        with pytest.raises(PlatformError) as info:
            conn.stage(li_request((image,)), image)
    finally:
        conn.close()

    assert type(info.value) is Transient
    assert info.value.request_sent is False
    assert str(info.value) == "LinkedIn was still processing image 1 (photo-1.png) after 5s"
    # Every 0.25 s at first, then less often, never more than 2 s; the last poll at 5 s.
    assert fake_clock.slept == [0.25, 0.5, 1.0, 2.0, 1.25]
    assert poll.call_count == 6
    assert_no_token(info.value)


def test_factory_passes_the_image_ready_timeout(
    mock: respx.MockRouter, tmp_path: Path, fake_clock: FakeClock
) -> None:
    image = make_image(tmp_path, 1)
    initialize_answers(mock, [1])
    mock_linkedin_upload(mock, 1, ["PROCESSING"] * 20)
    settings = load_settings(
        {
            "OMNIPOST_LINKEDIN_API_URL": API,
            "OMNIPOST_IMAGE_READY_TIMEOUT": "3",
            "OMNIPOST_HOME": "/nonexistent",
        }
    )
    conn = connector_for("linkedin", settings)
    try:
        with pytest.raises(Transient, match=r"after 3s$"):
            conn.stage(li_request((image,)), image)
    finally:
        conn.close()
    assert sum(fake_clock.slept) == 3


@pytest.mark.parametrize(
    ("step", "answer", "expected", "starts"),
    [
        ("init", httpx.Response(400, json={"status": 400, "message": "bad owner"}), Permanent,
         "LinkedIn refused image 1 (photo-1.png): "),
        ("init", httpx.Response(401, json={"status": 401, "message": "expired"}), TokenExpired,
         "could not upload image 1 (photo-1.png): "),
        ("init", httpx.Response(200, json={"value": {}}), Transient,
         "LinkedIn did not say where to upload image 1 (photo-1.png)"),
        ("put", httpx.Response(500, text="<html>oops</html>"), Transient,
         "could not upload image 1 (photo-1.png): "),
        ("put", httpx.ReadTimeout("timed out"), Transient,
         "could not upload image 1 (photo-1.png): "),
        ("poll", httpx.Response(404, json={"status": 404, "message": "no such image"}), Permanent,
         "could not upload image 1 (photo-1.png): "),
    ],
    ids=["init-400", "init-401", "init-no-url", "put-500", "put-timeout", "poll-404"],
)  # fmt: skip
def test_linkedin_upload_failures_publish_nothing(
    mock: respx.MockRouter,
    linkedin: LinkedInConnector,
    tmp_path: Path,
    fake_clock: FakeClock,
    step: str,
    answer: Any,
    expected: type[PlatformError],
    starts: str,
) -> None:
    image = make_image(tmp_path, 1)
    if step == "init":
        mock.post(INIT).mock(side_effect=[answer])
    else:
        initialize_answers(mock, [1])
        if step == "put":
            mock.put(f"{UPLOAD_HOST}/upload/1").mock(side_effect=[answer])
        else:
            mock.put(f"{UPLOAD_HOST}/upload/1").respond(201)
            mock.get(image_path(1)).mock(side_effect=[answer])

    with pytest.raises(expected) as info:
        linkedin.stage(li_request((image,)), image)

    assert not isinstance(info.value, MaybePublished)
    assert info.value.request_sent is False
    assert str(info.value).startswith(starts)
    assert_no_token(info.value)


# --- LinkedIn: still there, discard, the legacy API -------------------------------------------


@pytest.mark.parametrize(
    ("answer", "there"),
    [
        (httpx.Response(200, json={"id": urn(1), "status": "AVAILABLE"}), True),
        (httpx.Response(200, json={"id": urn(1), "status": "PROCESSING"}), False),
        (httpx.Response(404, json={"status": 404, "message": "Not found"}), False),
        (httpx.ConnectError("refused"), False),
    ],
    ids=["available", "processing", "unknown", "unreachable"],
)
def test_linkedin_still_there_only_when_available(
    mock: respx.MockRouter, linkedin: LinkedInConnector, answer: Any, there: bool
) -> None:
    route = mock.get(image_path(1)).mock(side_effect=[answer])
    assert linkedin.still_there(li_request(), StagedImage(1, "ab", urn(1))) is there
    assert route.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"


def test_linkedin_discard_sends_nothing(linkedin: LinkedInConnector) -> None:
    with respx.mock(assert_all_mocked=True) as router:
        linkedin.discard(li_request(), StagedImage(1, "ab", urn(1)))
    assert router.calls.call_count == 0


def test_legacy_ugc_api_refuses_images_before_sending(tmp_path: Path) -> None:
    image = make_image(tmp_path, 1)
    request = li_request((image,))
    conn = LinkedInConnector(API, VERSION, timeout=30, api="ugc")
    try:
        with respx.mock(assert_all_mocked=True) as router:
            for attempt in (
                lambda: conn.to_stage(request),
                lambda: conn.stage(request, image),
                lambda: conn.publish(
                    replace(request, staged=(StagedImage(1, image.sha256, urn(1)),))
                ),
            ):
                with pytest.raises(Permanent) as info:
                    attempt()
                assert info.value.request_sent is False
                assert 'linkedin_api = "rest"' in str(info.value)
        assert router.calls.call_count == 0
        assert conn.to_stage(li_request()) == ()  # text posts are unaffected
    finally:
        conn.close()
